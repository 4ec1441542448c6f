import Domain
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import LocalAPI
import Replication
import Testing
import TestSupport

/// The retail endpoints over real HTTP on loopback (issue 18): products and barcodes, stock
/// receipts, adjustments, transfers and stocktakes, checkout with products and a coupon, paying with
/// points and a gift card, held_elsewhere, returns, idempotent retries, the role matrix's refusals,
/// and the `stock_low` live event.
@Suite("Retail API")
struct RetailAPITests {
    /// Runs `body` against the box's router served on a loopback port.
    func live(_ fixture: APIFixture, _ body: @Sendable @escaping (APIClient) async throws -> Void) async throws {
        let application = Application(router: fixture.api.makeRouter(), logger: quietLogger)
        try await application.test(.live) { client in try await body(APIClient(client: client, fixture: fixture)) }
    }

    /// Creates a product (as a manager) and answers its id.
    func product(_ client: APIClient, _ name: String, price: Int, barcode: String = "", threshold: Int? = nil, category: String = "Hair care") async throws -> String {
        var fields: [String: Any] = ["names": ["en": name, "ru": name + " (ru)"], "price_minor": price, "barcode": barcode, "category": category]
        if let threshold { fields["low_stock_threshold"] = threshold }
        let created = try await client.send(.post, "/v1/products", as: .manager, json: body(fields))
        #expect(created.status == 201, "\(created.text)")
        return created["id"] as? String ?? ""
    }

    func receive(_ client: APIClient, _ product: String, _ quantity: Int, branch: BranchID? = nil) async throws {
        var fields: [String: Any] = ["supplier": "Loreal KZ", "lines": [["product": product, "quantity": quantity, "unit_cost_minor": 200_000]]]
        if let branch { fields["branch"] = branch.rawValue }
        let received = try await client.send(.post, "/v1/stock/receipts", as: .frontDesk, json: body(fields))
        #expect(received.status == 201, "\(received.text)")
    }

    func level(_ client: APIClient, _ product: String, branch: BranchID? = nil) async throws -> [String: Any] {
        let query = branch.map { "?branch=\($0.rawValue)" } ?? ""
        return try await client.send(.get, "/v1/stock\(query)", as: .staff).items.first { $0["product"] as? String == product } ?? [:]
    }

    @Test("products: created by a manager, a wrong check digit is 422 naming barcode, looked up by barcode, changed, priced per branch; staff and kiosks refused")
    func products() async throws {
        let fixture = try APIFixture()
        try await live(fixture) { client in
            let bad = try await client.send(.post, "/v1/products", as: .manager, json: body(["names": ["en": "Shampoo"], "price_minor": 450_000, "barcode": "4006381333932"]))
            #expect(bad.status == 422 && bad["type"] as? String == "urn:edgenode:problem:validation_failed", "\(bad.text)")
            #expect((bad["errors"] as? [[String: Any]])?.map { $0["field"] as? String } == ["barcode"], "\(bad.text)")
            let noName = try await client.send(.post, "/v1/products", as: .manager, json: body(["names": ["de": "Shampoo"], "price_minor": 1]))
            #expect(noName.status == 422 && noName.text.contains("names.de"), "\(noName.text)")
            #expect(try await client.send(.post, "/v1/products", as: .staff, json: body(["names": ["en": "x"], "price_minor": 1])).status == 403)
            #expect(try await client.send(.get, "/v1/products", as: .kiosk).status == 403)

            let shampoo = try await product(client, "Shampoo", price: 450_000, barcode: "4006381333931")
            let found = try await client.send(.get, "/v1/products?barcode=4006381333931", as: .staff)
            #expect(found.items.map { $0["id"] as? String } == [shampoo], "\(found.text)")
            #expect(found.items.first?["duplicates"] as? [String] == [])
            let wrongDigit = try await client.send(.get, "/v1/products?barcode=4006381333932", as: .staff)
            #expect(wrongDigit.status == 400 && wrongDigit.text.contains("barcode"), "\(wrongDigit.text)")
            #expect(try await client.send(.get, "/v1/products?barcode=036000291452", as: .staff).items.isEmpty)
            #expect(try await client.send(.get, "/v1/products?q=sham", as: .staff).items.count == 1)

            let patched = try await client.send(.patch, "/v1/products/\(shampoo)", as: .manager, json: body(["price_minor": 500_000, "low_stock_threshold": 3, "sku": "SH-1"]))
            #expect(patched.status == 200 && patched["price_minor"] as? Int == 500_000 && patched["low_stock_threshold"] as? Int == 3, "\(patched.text)")
            let cleared = try await client.send(.patch, "/v1/products/\(shampoo)", as: .manager, json: "{\"low_stock_threshold\": null}")
            #expect(cleared.status == 200 && cleared["low_stock_threshold"] == nil, "\(cleared.text)")
            let branch = fixture.branch.rawValue
            let priced = try await client.send(.put, "/v1/products/\(shampoo)/branches/\(branch)", as: .manager, json: body(["price_minor": 480_000, "low_stock_threshold": 2]))
            #expect(priced.status == 200 && priced["price_minor"] as? Int == 480_000 && priced["business_price_minor"] as? Int == 500_000, "\(priced.text)")
            let one = try await client.send(.get, "/v1/products/\(shampoo)?branch=\(branch)", as: .frontDesk, headers: ["Accept-Language": "ru"])
            #expect(one["name"] as? String == "Shampoo (ru)" && one["price_minor"] as? Int == 480_000, "\(one.text)")
            #expect(try await client.send(.get, "/v1/products/\(shampoo)", as: .frontDesk)["price_minor"] as? Int == 500_000)
            #expect((one["stock"] as? [String: Any])?["threshold"] as? Int == 2)
            let unknown = try await client.send(.get, "/v1/products/0190f5a0-0000-7000-8000-000000000000", as: .staff)
            #expect(unknown.status == 404, "\(unknown.text)")
            let unknownBranch = try await client.send(.get, "/v1/stock?branch=0190f5a0-0000-7000-8000-000000000000", as: .staff)
            #expect(unknownBranch.status == 404, "\(unknownBranch.text)")
        }
    }

    @Test("stock: receipts (retried with the same key counted once), adjustments, a transfer in transit then booked in, a stocktake; staff may not write stock")
    func stock() async throws {
        let fixture = try APIFixture()
        let second = BranchID.generate(at: fixture.clock.now.adding(milliseconds: 5))
        try fixture.shop.save(Branch(id: second, name: "Almaty Mega", timeZone: "Asia/Almaty", currency: "KZT", region: "KZ",
                                     openingHours: WeeklyHours.every([.monday], [WallInterval("10:00", "20:00")!])))
        try await live(fixture) { client in
            let shampoo = try await product(client, "Shampoo", price: 450_000)
            let receipt = body(["lines": [["product": shampoo, "quantity": 10, "unit_cost_minor": 200_000]], "supplier": "Loreal KZ"])
            let first = try await client.send(.post, "/v1/stock/receipts", as: .frontDesk, json: receipt, headers: ["Idempotency-Key": "receipt-1"])
            let retry = try await client.send(.post, "/v1/stock/receipts", as: .frontDesk, json: receipt, headers: ["Idempotency-Key": "receipt-1"])
            #expect(first.status == 201 && retry.text == first.text && retry.header("Idempotent-Replayed") == "true", "\(first.text)")
            #expect(try await level(client, shampoo)["quantity"] as? Int == 10)
            #expect(try await client.send(.post, "/v1/stock/receipts", as: .staff, json: receipt).status == 403)
            let noLines = try await client.send(.post, "/v1/stock/receipts", as: .frontDesk, json: body(["lines": [["product": shampoo, "quantity": 0]]]))
            #expect(noLines.status == 422 && noLines.text.contains("lines[0].quantity"), "\(noLines.text)")

            let zero = try await client.send(.post, "/v1/stock/adjustments", as: .frontDesk, json: body(["product": shampoo, "quantity": 0, "reason": "damaged"]))
            #expect(zero.status == 422 && zero.text.contains("quantity"), "\(zero.text)")
            let damaged = try await client.send(.post, "/v1/stock/adjustments", as: .frontDesk, json: body(["product": shampoo, "quantity": -1, "reason": "damaged", "note": "dropped"]))
            #expect(damaged.status == 201 && damaged["kind"] as? String == "adjusted" && damaged["reason"] as? String == "damaged", "\(damaged.text)")

            let sent = try await client.send(.post, "/v1/stock/transfers", as: .frontDesk, json: body(["to_branch": second.rawValue, "lines": [["product": shampoo, "quantity": 3]]]))
            #expect(sent.status == 201 && sent["state"] as? String == "in_transit", "\(sent.text)")
            let transfer = sent["id"] as? String ?? ""
            let tooMany = try await client.send(.post, "/v1/stock/transfers", as: .frontDesk, json: body(["to_branch": second.rawValue, "lines": [["product": shampoo, "quantity": 50]]]))
            #expect(tooMany.status == 409 && tooMany["type"] as? String == "urn:edgenode:problem:insufficient_stock", "\(tooMany.text)")
            let inTransit = try await client.send(.get, "/v1/stock/transfers?branch=\(second.rawValue)&state=in_transit", as: .staff)
            #expect(inTransit.items.map { $0["id"] as? String } == [transfer])
            #expect(try await level(client, shampoo)["quantity"] as? Int == 6)
            #expect(try await level(client, shampoo, branch: second)["in_transit_in"] as? Int == 3)
            let booked = try await client.send(.post, "/v1/stock/transfers/\(transfer)/receive", as: .frontDesk)
            #expect(booked.status == 200 && booked["state"] as? String == "received", "\(booked.text)")
            let again = try await client.send(.post, "/v1/stock/transfers/\(transfer)/receive", as: .frontDesk)
            #expect(again.status == 409 && again["type"] as? String == "urn:edgenode:problem:illegal_transition", "\(again.text)")
            #expect(try await level(client, shampoo, branch: second)["quantity"] as? Int == 3)
            #expect(try await client.send(.get, "/v1/stock/transfers/\(transfer)", as: .staff)["state"] as? String == "received")

            let counted = try await client.send(.post, "/v1/stocktakes", as: .frontDesk, json: body(["counts": [["product": shampoo, "counted": 5]], "note": "Monday count"]))
            #expect(counted.status == 201, "\(counted.text)")
            let count = (counted["counts"] as? [[String: Any]])?.first ?? [:]
            #expect(count["expected"] as? Int == 6 && count["difference"] as? Int == -1, "\(counted.text)")
            #expect(try await level(client, shampoo)["quantity"] as? Int == 5)
            #expect(try await client.send(.get, "/v1/stocktakes", as: .staff).items.count == 1)
            let twice = try await client.send(.post, "/v1/stocktakes", as: .frontDesk, json: body(["counts": [["product": shampoo, "counted": 5], ["product": shampoo, "counted": 4]]]))
            #expect(twice.status == 422 && twice.text.contains("counts[1].product"), "\(twice.text)")
            let kinds = try await client.send(.get, "/v1/stock/movements?product=\(shampoo)", as: .staff).items.compactMap { $0["kind"] as? String }
            #expect(Set(kinds) == ["received", "adjusted", "transfer_out"], "\(kinds)")
        }
    }

    @Test("checkout with products and a coupon; the coupon refused at its limit; below zero refused without the override right, sold with a manager's approval")
    func checkoutWithCoupon() async throws {
        let fixture = try APIFixture()
        let manager = try fixture.shop.createPerson(name: "Madina", role: .manager, pin: "4321")
        try await live(fixture) { client in
            _ = try await client.send(.post, "/v1/drawer/open", as: .frontDesk, json: body(["float_minor": 0]))
            let shampoo = try await product(client, "Shampoo", price: 450_000)
            try await receive(client, shampoo, 5)
            #expect(try await client.send(.get, "/v1/coupons", as: .frontDesk).status == 403)
            let badCode = try await client.send(.post, "/v1/coupons", as: .manager, json: body(["code": "W!", "name": "x", "percent": 10]))
            #expect(badCode.status == 422 && badCode.text.contains("code"), "\(badCode.text)")
            let coupon = try await client.send(.post, "/v1/coupons", as: .manager, json: body(["code": "welcome10", "name": "Welcome", "percent": 10, "total_limit": 1]))
            #expect(coupon.status == 201 && coupon["code"] as? String == "WELCOME10", "\(coupon.text)")
            #expect((coupon["balance"] as? [String: Any])?["here"] as? Int == 1, "\(coupon.text)")

            let sale = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body([
                "client": fixture.client.rawValue, "products": [["product": shampoo, "quantity": 2]], "coupon": "WELCOME10"]))
            #expect(sale.status == 201, "\(sale.text)")
            let line = (sale["lines"] as? [[String: Any]])?.first ?? [:]
            #expect(line["kind"] as? String == "product" && line["product"] as? String == shampoo && line["quantity"] as? Int == 2, "\(sale.text)")
            #expect((sale["discount"] as? [String: Any])?["coupon"] as? String == "WELCOME10", "\(sale.text)")
            #expect(sale["discount_minor"] as? Int == 90_000 && sale["total_minor"] as? Int == 810_000, "\(sale.text)")
            #expect(try await level(client, shampoo)["quantity"] as? Int == 3)

            let spent = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body(["products": [["product": shampoo]], "coupon": "WELCOME10"]))
            #expect(spent.status == 409 && spent["type"] as? String == "urn:edgenode:problem:coupon_refused", "\(spent.text)")
            #expect(!(spent["detail"] as? String ?? "").isEmpty)
            let unknown = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body(["products": [["product": shampoo]], "coupon": "NOPE"]))
            #expect(unknown.status == 409 && unknown["type"] as? String == "urn:edgenode:problem:coupon_refused", "\(unknown.text)")
            let both = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body([
                "products": [["product": shampoo]], "coupon": "WELCOME10", "discount": ["percent": 5, "reason": "x"]]))
            #expect(both.status == 422 && both.text.contains("coupon"), "\(both.text)")
            #expect(try await level(client, shampoo)["quantity"] as? Int == 3, "refused sales took no stock")

            let short = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body(["products": [["product": shampoo, "quantity": 4]]]))
            #expect(short.status == 409 && short["type"] as? String == "urn:edgenode:problem:insufficient_stock", "\(short.text)")
            let unapproved = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body(["products": [["product": shampoo, "quantity": 4]], "stock_override": true]))
            #expect(unapproved.status == 403, "\(unapproved.text)")
            let approved = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body([
                "products": [["product": shampoo, "quantity": 4]], "stock_override": true, "approval": ["person": manager.id.rawValue, "pin": "4321"]]))
            #expect(approved.status == 201, "\(approved.text)")
            #expect(try await level(client, shampoo)["quantity"] as? Int == -1)
            let flags = try await client.send(.get, "/v1/stock/flags", as: .manager)
            #expect(flags.items.first?["product"] as? String == shampoo && (flags.items.first?["overrides"] as? [String])?.count == 1, "\(flags.text)")
        }
    }

    @Test("a coupon whose uses another box holds is refused with held_elsewhere listing that box; a move to this box needs loyalty.manage when it is for another box")
    func heldElsewhere() async throws {
        let fixture = try APIFixture()
        let peer = try fixture.makePeer()
        let other = peer.messaging.site
        // This box learns the other box's certificate from its changesets (moves name known boxes only).
        try fixture.shop.apply(try peer.store.changesets(missingFrom: fixture.shop.store.versionVector, limit: .max).map(\.bytes))
        try await live(fixture) { client in
            _ = try await client.send(.post, "/v1/drawer/open", as: .frontDesk, json: body(["float_minor": 0]))
            let shampoo = try await product(client, "Shampoo", price: 450_000)
            try await receive(client, shampoo, 5)
            let created = try await client.send(.post, "/v1/coupons", as: .owner, json: body([
                "code": "SPLIT", "name": "Split", "kind": "amount", "value": 50_000, "total_limit": 3, "allotments": [other: 3]]))
            #expect(created.status == 201 && created["amount_minor"] as? Int == 50_000 && created["currency"] as? String == "KZT", "\(created.text)")
            let coupon = created["id"] as? String ?? ""
            let refused = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body(["products": [["product": shampoo]], "coupon": "SPLIT"]))
            #expect(refused.status == 409 && refused["type"] as? String == "urn:edgenode:problem:held_elsewhere", "\(refused.text)")
            let elsewhere = refused["elsewhere"] as? [[String: Any]] ?? []
            #expect(elsewhere.count == 1 && elsewhere.first?["box"] as? String == other && elsewhere.first?["amount"] as? Int == 3, "\(refused.text)")
            #expect(elsewhere.first?.keys.contains("box_name") == true)

            let balance = try await client.send(.get, "/v1/escrow/balance?account=coupon:\(coupon)", as: .staff)
            #expect(balance["here"] as? Int == 0 && balance["total"] as? Int == 3, "\(balance.text)")
            let badAccount = try await client.send(.get, "/v1/escrow/balance?account=nothing", as: .staff)
            #expect(badAccount.status == 400 && badAccount.text.contains("account"))

            let here = fixture.shop.messaging.site
            let away = try await client.send(.post, "/v1/escrow/moves", as: .frontDesk, json: body(["account": "coupon:\(coupon)", "from": here, "to": other, "amount": 1]))
            #expect(away.status == 403, "\(away.text)")
            let asked = try await client.send(.post, "/v1/escrow/moves", as: .frontDesk, json: body(["account": "coupon:\(coupon)", "from": other, "amount": 2, "reason": "a client is waiting"]))
            #expect(asked.status == 201 && asked["state"] as? String == "open" && asked["to"] as? String == here, "\(asked.text)")
            let open = try await client.send(.get, "/v1/escrow/requests?open=true", as: .manager)
            #expect(open.items.map { $0["id"] as? String } == [asked["id"] as? String])

            // A gift card sold here, most of it moved to the other box by the owner: paying more than
            // this box holds names the other box and what it holds.
            let sold = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body([
                "gift_cards": [["amount_minor": 300_000]], "payments": [["method": "card", "amount_minor": 300_000]]]))
            let card = ((sold["lines"] as? [[String: Any]])?.first?["gift_card"] as? String) ?? ""
            let code = (try await client.send(.get, "/v1/gift-cards/\(card)", as: .frontDesk)["code"] as? String ?? "").replacingOccurrences(of: " ", with: "")
            let moved = try await client.send(.post, "/v1/escrow/moves", as: .owner, json: body(["account": "card:\(card)", "from": here, "to": other, "amount": 200_000]))
            #expect(moved.status == 201 && moved["moved_amount"] as? Int == 200_000, "\(moved.text)")
            let sale = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body(["products": [["product": shampoo]]]))
            let paid = try await client.send(.post, "/v1/sales/\(sale["id"] as? String ?? "")/payments", as: .frontDesk,
                                             json: body(["method": "gift_card", "amount_minor": 150_000, "gift_card_code": code]))
            #expect(paid.status == 409 && paid["type"] as? String == "urn:edgenode:problem:held_elsewhere", "\(paid.text)")
            let holders = paid["elsewhere"] as? [[String: Any]] ?? []
            #expect(holders.map { $0["box"] as? String } == [other] && holders.first?["amount"] as? Int == 200_000, "\(paid.text)")
        }
    }

    @Test("loyalty: a paid sale earns points, a later sale is paid with points and a gift card sold earlier; the card's balance falls; returns give back what the lines cost")
    func pointsGiftCardsAndReturns() async throws {
        let fixture = try APIFixture()
        try await live(fixture) { client in
            _ = try await client.send(.post, "/v1/drawer/open", as: .frontDesk, json: body(["float_minor": 0]))
            let rules = try await client.send(.put, "/v1/loyalty/rules", as: .manager, json: body([
                "enabled": true, "earn_points": 1, "earn_per_minor": 10_000, "point_value_minor": 100, "max_redeem_percent": 50]))
            #expect(rules.status == 200 && rules["earn_points"] as? Int == 1, "\(rules.text)")
            #expect(try await client.send(.put, "/v1/loyalty/rules", as: .frontDesk, json: body(["enabled": false])).status == 403)
            let badRules = try await client.send(.put, "/v1/loyalty/rules", as: .manager, json: body(["max_redeem_percent": 0]))
            #expect(badRules.status == 422 && badRules.text.contains("max_redeem_percent"))
            let shampoo = try await product(client, "Shampoo", price: 450_000)
            try await receive(client, shampoo, 10)

            let first = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body([
                "client": fixture.client.rawValue, "products": [["product": shampoo, "quantity": 2]],
                "gift_cards": [["amount_minor": 200_000]],
                "payments": [["method": "card", "amount_minor": 1_100_000, "card_last4": "4242"]]]))
            #expect(first.status == 201 && first["state"] as? String == "paid", "\(first.text)")
            let cardLine = (first["lines"] as? [[String: Any]])?.first { $0["kind"] as? String == "gift_card" } ?? [:]
            let cardID = cardLine["gift_card"] as? String ?? ""
            #expect(!cardID.isEmpty, "\(first.text)")
            let card = try await client.send(.get, "/v1/gift-cards/\(cardID)", as: .frontDesk)
            #expect(card["state"] as? String == "active" && (card["balance"] as? [String: Any])?["here"] as? Int == 200_000, "\(card.text)")
            let code = (card["code"] as? String ?? "").replacingOccurrences(of: " ", with: "")
            #expect(code.count == 16, "\(card.text)")

            let loyalty = try await client.send(.get, "/v1/clients/\(fixture.client)/loyalty", as: .frontDesk)
            let points = loyalty["points"] as? [String: Any] ?? [:]
            #expect(points["here"] as? Int == 110 && loyalty["point_value_minor"] as? Int == 100, "\(loyalty.text)")
            #expect(try await client.send(.get, "/v1/clients/\(fixture.client)/loyalty", as: .kiosk).status == 403)

            let second = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body(["client": fixture.client.rawValue, "products": [["product": shampoo]]]))
            let saleID = second["id"] as? String ?? ""
            let noCode = try await client.send(.post, "/v1/sales/\(saleID)/payments", as: .frontDesk, json: body(["method": "gift_card", "amount_minor": 100_000]))
            #expect(noCode.status == 422 && noCode.text.contains("gift_card_code"), "\(noCode.text)")
            let tooManyPoints = try await client.send(.post, "/v1/sales/\(saleID)/payments", as: .frontDesk, json: body(["method": "points", "amount_minor": 20_000]))
            #expect(tooManyPoints.status == 409 && tooManyPoints["type"] as? String == "urn:edgenode:problem:insufficient_balance", "\(tooManyPoints.text)")
            let byPoints = try await client.send(.post, "/v1/sales/\(saleID)/payments", as: .frontDesk, json: body(["method": "points", "amount_minor": 10_000]))
            #expect(byPoints.status == 201 && byPoints["method"] as? String == "points", "\(byPoints.text)")
            let byCard = try await client.send(.post, "/v1/sales/\(saleID)/payments", as: .frontDesk,
                                               json: body(["method": "gift_card", "amount_minor": 200_000, "gift_card_code": String(code.prefix(4)) + "-" + String(code.dropFirst(4))]))
            #expect(byCard.status == 201 && byCard["method"] as? String == "gift_card", "\(byCard.text)")
            let enquiry = try await client.send(.get, "/v1/gift-cards?code=\(code.lowercased())", as: .staff)
            #expect((enquiry.items.first?["balance"] as? [String: Any])?["here"] as? Int == 0, "\(enquiry.text)")
            #expect(try await client.send(.get, "/v1/gift-cards?code=AAAABBBBCCCCDDDD", as: .staff).items.isEmpty)
            let afterSpend = try await client.send(.get, "/v1/clients/\(fixture.client)/loyalty", as: .frontDesk)
            #expect((afterSpend["points"] as? [String: Any])?["here"] as? Int == 10, "\(afterSpend.text)")

            let firstID = first["id"] as? String ?? ""
            let tooMany = try await client.send(.post, "/v1/sales/\(firstID)/returns", as: .manager, json: body(["lines": [["product": shampoo, "quantity": 3]], "reason": "x"]))
            #expect(tooMany.status == 422, "\(tooMany.text)")
            let noReason = try await client.send(.post, "/v1/sales/\(firstID)/returns", as: .manager, json: body(["lines": [["product": shampoo, "quantity": 1]]]))
            #expect(noReason.status == 422 && noReason.text.contains("reason"))
            let returned = try await client.send(.post, "/v1/sales/\(firstID)/returns", as: .manager, json: body(["lines": [["product": shampoo, "quantity": 1]], "reason": "wrong shade"]))
            #expect(returned.status == 201 && returned["refundable_minor"] as? Int == 450_000 && returned["restock"] as? Bool == true, "\(returned.text)")
            #expect(try await level(client, shampoo)["quantity"] as? Int == 8)
            let unknownSale = try await client.send(.post, "/v1/sales/0190f5a0-0000-7000-8000-000000000000/returns", as: .manager,
                                                    json: body(["lines": [["product": shampoo, "quantity": 1]], "reason": "x"]))
            #expect(unknownSale.status == 404, "\(unknownSale.text)")
        }
    }

    @Test("stock_low: a sale here, then one merged from another replica, that take a product to its threshold each send stock_low with product, branch, quantity and threshold")
    func stockLowEvent() async throws {
        let fixture = try APIFixture()
        let script = """
        import sys, urllib.request
        request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
        event, seen = None, 0
        with urllib.request.urlopen(request, timeout=120) as stream:
            for raw in stream:
                line = raw.decode().rstrip("\\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "stock_low":
                    print(line[6:], flush=True)
                    seen += 1
                    if seen == 2:
                        sys.exit(0)
        sys.exit(1)
        """
        let application = Application(router: fixture.api.makeRouter(), logger: quietLogger)
        try await application.test(.live) { live in
            let client = APIClient(client: live, fixture: fixture)
            _ = try await client.send(.post, "/v1/drawer/open", as: .frontDesk, json: body(["float_minor": 0]))
            let shampoo = try await product(client, "Shampoo", price: 450_000, threshold: 5)
            let conditioner = try await product(client, "Conditioner", price: 300_000, threshold: 1)
            try await receive(client, shampoo, 6)
            try await receive(client, conditioner, 6)
            let url = "http://localhost:\(try #require(live.port))/v1/events"
            let token = try #require(fixture.tokens[.staff])
            let readers = fixture.shop.changeFeed.readerCount
            let data = try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask { try await offPool { try run("/usr/bin/env", ["python3", "-c", script, url, token], timeout: .seconds(120), check: false).output } }
                try await eventually("the stream listens") { fixture.shop.changeFeed.readerCount > readers }
                // Above its threshold: no event; then the shampoo to 4 (threshold 5): one.
                let above = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body(["products": [["product": conditioner, "quantity": 1]]]))
                #expect(above.status == 201, "\(above.text)")
                let low = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body(["products": [["product": shampoo, "quantity": 2]]]))
                #expect(low.status == 201, "\(low.text)")
                // Another replica (knowing all this) sells conditioners down to its threshold; the merge brings the sale here.
                let peer = try fixture.makePeer()
                try peer.apply(try fixture.shop.store.changesets(missingFrom: peer.store.versionVector, limit: .max).map(\.bytes))
                _ = try await peer.money.checkout(CheckoutRequest(branchID: fixture.branch, products: [ProductSaleLine(productID: ProductID(conditioner)!, quantity: 4)]),
                                                  rights: .all, fiscalRequired: false, as: .system("peer"))
                try fixture.shop.apply(try peer.store.changesets(missingFrom: fixture.shop.store.versionVector, limit: .max).map(\.bytes))
                let output = try await group.next() ?? nil
                group.cancelAll()
                return output
            }
            let events = (data ?? "").split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(events.count == 2, "stock_low events: \(data ?? "")")
            let event = events.first ?? [:]
            #expect(event["product"] as? String == shampoo && event["branch"] as? String == fixture.branch.rawValue, "\(event)")
            #expect(event["quantity"] as? Int == 4 && event["threshold"] as? Int == 5 && event["type"] as? String == "stock_low", "\(event)")
            let merged = events.last ?? [:]
            #expect(merged["product"] as? String == conditioner && merged["quantity"] as? Int == 1 && merged["threshold"] as? Int == 1, "\(merged)")
        }
    }
}
