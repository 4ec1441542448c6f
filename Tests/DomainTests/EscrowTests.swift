import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

/// A branch (the money fixture's cut and colour) with a client, and helpers to sell and to make coupons.
final class EscrowFixture: @unchecked Sendable {
    let m: MoneyFixture
    let client: ClientID
    var f: ShopFixture { m.f }
    var shop: Shop { m.shop }

    init() throws {
        m = try MoneyFixture()
        client = try m.shop.createClient(ClientDraft(name: "Aigerim", phone: "87011234567"), branch: m.f.branchID).id
    }

    /// A sale of one custom line of `amount` (none when 0), plus visits, gift cards, a coupon, payments.
    func sell(_ amount: Int64 = 100_000, on shop: Shop? = nil, client: ClientID? = nil, visits: [AppointmentID] = [], giftCards: [GiftCardSaleLine] = [],
              coupon: String? = nil, payments: [PaymentRequest] = []) throws -> Sale {
        try (shop ?? self.shop).checkout(CheckoutRequest(branchID: f.branchID, clientID: client, appointmentIDs: visits,
                                                         lines: amount > 0 ? [.init(name: "Item", quantity: 1, unitPriceMinor: amount)] : [],
                                                         payments: payments, giftCards: giftCards, coupon: coupon), actor: manager, fiscalRequired: false)
    }

    func makeCoupon(_ code: String, kind: Coupon.Kind = .percent, value: Int64 = 10, currency: String = "", services: [OfferingID] = [], products: [ProductID] = [],
                    categories: [String] = [], from: Instant? = nil, until: Instant? = nil, minSpend: Int64 = 0, perClient: Int = 0, limit: Int64 = 0,
                    active: Bool = true) -> Coupon {
        Coupon(id: .generate(at: shop.now), code: code, name: code, kind: kind, value: value, currency: currency, services: services, products: products,
               categories: categories, validFrom: from, validUntil: until, minSpendMinor: minSpend, perClientLimit: perClient, totalLimit: limit, active: active,
               usesKnown: 0, createdAt: shop.now, createdBy: "")
    }

    func count(_ table: String, on shop: Shop? = nil) throws -> Int64 {
        try (shop ?? self.shop).read { try $0.fetchOne("SELECT count(*) AS n FROM \(table)", [])!["n"].int64 }
    }

    func card(of sale: Sale, on shop: Shop? = nil) throws -> GiftCard {
        let line = try #require(sale.lines.first { $0.kind == .giftCard })
        return try (shop ?? self.shop).giftCard(GiftCardID(line.reference)!)
    }
}

/// The error a throwing call throws, as a `DomainError` (nil when it does not throw).
func domainError(_ body: () throws -> Void) -> DomainError? {
    do { try body() } catch let error as DomainError { return error } catch { return DomainError(.storage, "\(error)") }
    return nil
}

@Suite("Escrow: coupons, gift cards and points")
struct EscrowTests {
    @Test("a coupon is refused for each reason with a specific message, and a refused sale writes nothing")
    func couponRefusals() throws {
        let e = try EscrowFixture()
        let now = e.shop.now
        _ = try e.shop.saveCoupon(e.makeCoupon("OFF"), allotments: [:], actor: manager)
        _ = try e.shop.saveCoupon(e.makeCoupon("OLD", active: false), allotments: [:], actor: manager)
        _ = try e.shop.saveCoupon(e.makeCoupon("SOON", from: now.adding(minutes: 60)), allotments: [:], actor: manager)
        _ = try e.shop.saveCoupon(e.makeCoupon("PAST", from: now.adding(minutes: -120), until: now.adding(minutes: -60)), allotments: [:], actor: manager)
        _ = try e.shop.saveCoupon(e.makeCoupon("BIG", minSpend: 200_000), allotments: [:], actor: manager)
        _ = try e.shop.saveCoupon(e.makeCoupon("CUTS", services: [e.m.cut]), allotments: [:], actor: manager)
        _ = try e.shop.saveCoupon(e.makeCoupon("ONCE", perClient: 1), allotments: [:], actor: manager)
        _ = try e.shop.saveCoupon(e.makeCoupon("USD", kind: .amount, value: 500, currency: "USD"), allotments: [:], actor: manager)
        _ = try e.shop.saveCoupon(e.makeCoupon("ONE", limit: 1), allotments: [:], actor: manager)
        _ = try e.sell(client: e.client, coupon: "once")
        _ = try e.sell(coupon: "ONE")
        let sales = try e.count("sales"), entries = try e.count("escrow_entries")
        let cases: [(String, ClientID?, String)] = [
            ("NOPE", nil, "no coupon has the code NOPE"), ("OLD", nil, "no longer active"), ("SOON", nil, "is valid from"), ("PAST", nil, "expired"),
            ("BIG", nil, "below its minimum spend of 200000"), ("CUTS", nil, "nothing in this sale"), ("ONCE", e.client, "used coupon ONCE 1 times"),
            ("ONCE", nil, "name the client"), ("USD", nil, "in USD"), ("ONE", nil, "reached its limit of 1 uses"),
        ]
        for (code, client, message) in cases {
            let error = domainError { _ = try e.sell(client: client, coupon: code) }
            #expect(error?.code == .couponRefused, "\(code)")
            #expect(error?.message.contains(message) == true, "\(code): \(error?.message ?? "")")
        }
        #expect(try e.count("sales") == sales)
        #expect(try e.count("escrow_entries") == entries)
        #expect(try e.shop.coupon(code: "once").usesKnown == 1)
    }

    @Test("percent (rounded half away from zero) and amount (capped) discounts over the lines a coupon applies to: services, categories, products; never gift cards")
    func couponDiscounts() throws {
        let e = try EscrowFixture()
        try e.shop.save(Offering(id: e.m.colour, branchID: e.f.branchID, category: "Hair", names: ["en": "Colour"], durationMinutes: 30,
                                 price: Money(amountMinor: 2_500_050, currency: "KZT")))
        let hair = try e.shop.read { try Loader.offering(e.m.colour, in: $0) }
        #expect(hair.category == "Hair")
        _ = try e.shop.saveCoupon(e.makeCoupon("P15", value: 15), allotments: [:], actor: manager)
        _ = try e.shop.saveCoupon(e.makeCoupon("CUT10", value: 10, services: [e.m.cut]), allotments: [:], actor: manager)
        _ = try e.shop.saveCoupon(e.makeCoupon("HAIR", kind: .amount, value: 5_000_000, currency: "KZT", categories: ["hair"]), allotments: [:], actor: manager)

        // 15 % of 3 333 = 499.95 → 500; a gift card line in the same sale is not discounted.
        var sale = try e.sell(3_333, giftCards: [GiftCardSaleLine(amountMinor: 10_000)], coupon: "p15")
        #expect(sale.discountMinor == 500)
        #expect(sale.lines.first { $0.kind == .giftCard }?.discountMinor == 0)
        #expect(sale.totalMinor == 3_333 - 500 + 10_000)
        #expect(sale.discount?.coupon == "P15")

        // Only the cut: 10 % of 1 000 000.
        sale = try e.sell(0, visits: [try e.m.visit(e.m.cut), try e.m.visit(e.m.colour)], coupon: "CUT10")
        #expect(sale.lines.map(\.discountMinor) == [100_000, 0])
        // An amount takes at most the matching lines (the colour, by its category): 2 500 050, not 5 000 000.
        sale = try e.sell(1_000, visits: [try e.m.visit(e.m.cut), try e.m.visit(e.m.colour)], coupon: "HAIR")
        #expect(sale.lines.map(\.discountMinor) == [0, 2_500_050, 0])
        #expect(sale.discountMinor == 2_500_050)

        // Products: by id and by category (a product row as the stock side writes it).
        let oil = ProductID.generate(at: e.shop.now)
        try e.shop.write(.couponSave) { try $0.insert("products", ["id": .text(oil.rawValue), "category": .text("Oils"), "price_minor": .integer(5_000)]) }
        _ = try e.shop.saveCoupon(e.makeCoupon("OIL", value: 10, products: [oil]), allotments: [:], actor: manager)
        _ = try e.shop.saveCoupon(e.makeCoupon("OILS", value: 20, categories: ["OILS"]), allotments: [:], actor: manager)
        let lines = [
            SaleLine(kind: .product, reference: oil.rawValue, staffID: nil, appointmentID: nil, names: ["en": "Oil"], quantity: 2, unitPriceMinor: 5_000,
                     discountMinor: 0, netMinor: 0, taxRate: nil, taxMinor: 0, totalMinor: 0),
            SaleLine(kind: .custom, reference: "", staffID: nil, appointmentID: nil, names: ["": "Other"], quantity: 1, unitPriceMinor: 3_000,
                     discountMinor: 0, netMinor: 0, taxRate: nil, taxMinor: 0, totalMinor: 0),
        ]
        let byID = try e.shop.write(.saleCreate) { try e.shop.applyCoupon(code: "oil", lines: lines, clientID: nil, branch: e.f.branchID, currency: "KZT", in: $0) }
        let byCategory = try e.shop.write(.saleCreate) { try e.shop.applyCoupon(code: "OILS", lines: lines, clientID: nil, branch: e.f.branchID, currency: "KZT", in: $0) }
        #expect(byID.shares == [1_000, 0])
        #expect(byCategory.shares == [2_000, 0])
    }

    @Test("allotments: each box redeems only its own; with none left here but some elsewhere the answer is held_elsewhere; limits rise, never fall")
    func couponAllotments() throws {
        let e = try EscrowFixture()
        let a = e.shop, b = try e.f.world.makeShop(home: nil)
        #expect(domainError { _ = try a.saveCoupon(e.makeCoupon("TOO", limit: 2), allotments: [b.siteHex: 3], actor: manager) }?.code == .invalidArgument)
        let coupon = try a.saveCoupon(e.makeCoupon("SPRING", limit: 3), allotments: [b.siteHex: 1], actor: manager)
        #expect(try a.escrowBalance(.coupon(coupon.id)).here == 2)
        try syncAll([a, b])
        #expect(try b.escrowBalance(.coupon(coupon.id)).here == 1)
        _ = try e.sell(on: b, coupon: "SPRING")
        let elsewhere = domainError { _ = try e.sell(on: b, coupon: "SPRING") }
        #expect(elsewhere?.code == .heldElsewhere)
        #expect(elsewhere?.message.contains("2 are held by other boxes") == true, "\(elsewhere?.message ?? "")")
        _ = try e.sell(on: a, coupon: "SPRING")
        _ = try e.sell(on: a, coupon: "SPRING")
        // A does not know of B's use yet: B still holds one as far as A can tell.
        #expect(domainError { _ = try e.sell(on: a, coupon: "SPRING") }?.code == .heldElsewhere)
        try syncAll([a, b])
        let reached = domainError { _ = try e.sell(on: a, coupon: "SPRING") }
        #expect(reached?.code == .couponRefused && reached?.message.contains("reached its limit of 3") == true)
        #expect(try a.coupon(coupon.id).usesKnown == 3)
        var raised = try a.coupon(coupon.id)
        raised.totalLimit = 4
        _ = try a.saveCoupon(raised, allotments: [:], actor: manager)
        _ = try e.sell(on: a, coupon: "SPRING")
        raised.totalLimit = 3
        #expect(domainError { _ = try a.saveCoupon(raised, allotments: [:], actor: manager) }?.code == .invalidArgument)
        #expect(try a.coupon(coupon.id).totalLimit == 4)
    }

    @Test("a voided sale gives its coupon use back to the box that held it, once, even when two boxes apart both void it")
    func voidedSaleRestoresUse() throws {
        let e = try EscrowFixture()
        let a = e.shop, b = try e.f.world.makeShop(home: nil)
        let coupon = try a.saveCoupon(e.makeCoupon("ONLY", limit: 1), allotments: [:], actor: manager)
        let sale = try e.sell(on: a, coupon: "ONLY")
        #expect(try a.escrowBalance(.coupon(coupon.id)).here == 0)
        try syncAll([a, b])
        _ = try a.voidSale(sale.id, reason: "mistake", actor: manager)
        _ = try b.voidSale(sale.id, reason: "mistake", actor: manager)
        try syncAll([a, b])
        for shop in [a, b] {
            let restores = try shop.read { try $0.fetchAll("SELECT holder FROM escrow_entries WHERE kind = 'restore'", []).map { $0["holder"].string } }
            #expect(restores == [a.siteHex, a.siteHex])
            #expect(try shop.coupon(coupon.id).usesKnown == 0)
            #expect(try shop.escrowBalance(.coupon(coupon.id)).total == 1)
        }
        #expect(try a.escrowBalance(.coupon(coupon.id)).here == 1)
        _ = try e.sell(on: a, coupon: "ONLY")
        #expect(domainError { _ = try e.sell(on: a, coupon: "ONLY") }?.code == .couponRefused)
    }

    @Test("a gift card sold in checkout: unpaid until paid, pays in part by its code, a refund gives back, expiry and a voided sale stop it")
    func giftCards() throws {
        let e = try EscrowFixture()
        let shop = e.shop
        var sale = try e.sell(0, client: e.client, giftCards: [GiftCardSaleLine(amountMinor: 50_000, clientID: e.client)])
        #expect(sale.lines.count == 1 && sale.lines[0].kind == .giftCard && sale.lines[0].taxRate == nil && sale.totalMinor == 50_000)
        var card = try e.card(of: sale)
        #expect(card.state == .unpaid)
        #expect(card.code.count == 16 && card.code.allSatisfy { Shop.giftCardAlphabet.contains($0) })
        #expect(card.balance.here == 0)
        let other = try e.sell(80_000)
        #expect(domainError { _ = try shop.takePayment(other.id, PaymentRequest(method: .giftCard, amountMinor: 1_000, giftCardCode: card.code), actor: manager) }?.code == .illegalTransition)
        _ = try shop.takePayment(sale.id, PaymentRequest(method: .card, amountMinor: 50_000), actor: manager)
        card = try e.card(of: sale)
        #expect(card.state == .active && card.balance.here == 50_000)
        #expect(try shop.giftCards(client: e.client).map(\.id) == [card.id])

        // By its code as typed: lower case, in groups with dashes.
        let typed = stride(from: 0, to: 16, by: 4).map { String(Array(card.code.lowercased())[$0..<$0 + 4]) }.joined(separator: "-")
        let paid = try shop.takePayment(other.id, PaymentRequest(method: .giftCard, amountMinor: 30_000, giftCardCode: typed), actor: manager)
        #expect(paid.reference == "card:\(card.id)")
        #expect(try shop.giftCard(code: typed).balance.here == 20_000)
        let short = domainError { _ = try shop.takePayment(other.id, PaymentRequest(method: .giftCard, amountMinor: 30_000, reference: "card:\(card.id)"), actor: manager) }
        #expect(short?.code == .insufficientBalance)
        _ = try shop.refund(paid.id, amountMinor: 10_000, reason: "returned", refundID: .generate(at: shop.now), online: false, actor: manager)
        #expect(try shop.giftCard(card.id).balance.here == 30_000)

        // A pre-printed code, normalised; no other card may have it.
        sale = try e.sell(0, giftCards: [GiftCardSaleLine(amountMinor: 5_000, code: "abcd 2345-efgh", expiresAt: shop.now.adding(minutes: 24 * 60))])
        #expect(try e.card(of: sale).code == "ABCD2345EFGH")
        #expect(domainError { _ = try e.sell(0, giftCards: [GiftCardSaleLine(amountMinor: 5_000, code: "ABCD2345EFGH")]) }?.code == .invalidArgument)
        _ = try shop.takePayment(sale.id, PaymentRequest(method: .card, amountMinor: 5_000), actor: manager)
        #expect(try e.card(of: sale).balance.here == 5_000)
        e.f.clock.advance(milliseconds: 2 * 86_400_000)
        let expired = try e.card(of: sale)
        #expect(expired.state == .expired && expired.balance.here == 0)
        #expect(domainError { _ = try shop.takePayment(other.id, PaymentRequest(method: .giftCard, amountMinor: 1_000, giftCardCode: "ABCD2345EFGH"), actor: manager) }?.code == .expired)

        // A voided sale voids its card.
        sale = try e.sell(0, giftCards: [GiftCardSaleLine(amountMinor: 7_000)])
        _ = try shop.voidSale(sale.id, reason: "mistake", actor: manager)
        let voided = try e.card(of: sale)
        #expect(voided.state == .voided && voided.balance.here == 0)
    }

    @Test("points: earned by the rules when a sale is paid (once), paid with up to the maximum share, given back on refund, expired after the days")
    func points() throws {
        let e = try EscrowFixture()
        let shop = e.shop
        _ = try shop.saveLoyaltyRules(LoyaltyRules(enabled: true, earnPoints: 1, earnPerMinor: 100, visitPoints: 10, serviceBonus: [e.m.cut: 5], pointValueMinor: 100,
                                                   expiryDays: 30, maxRedeemPercent: 50))
        // 1 000 000 paid by card: 10 000 points, 10 for the visit, 5 for the cut.
        let visit = try e.sell(0, client: e.client, visits: [try e.m.visit(e.m.cut)], payments: [PaymentRequest(method: .card, amountMinor: 1_000_000)])
        #expect(visit.state == .paid)
        #expect(try shop.clientLoyalty(e.client).points.here == 10_015)
        let sale = try e.sell(1_000_000, client: e.client)
        let tooMuch = domainError { _ = try shop.takePayment(sale.id, PaymentRequest(method: .points, amountMinor: 600_000), actor: manager) }
        #expect(tooMuch?.code == .invalidArgument && tooMuch?.message.contains("at most 500000") == true)
        #expect(domainError { _ = try shop.takePayment(sale.id, PaymentRequest(method: .points, amountMinor: 500_050), actor: manager) }?.code == .invalidArgument)
        let byPoints = try shop.takePayment(sale.id, PaymentRequest(method: .points, amountMinor: 500_000), actor: manager)
        #expect(byPoints.reference == "points:\(e.client)")
        #expect(try shop.clientLoyalty(e.client).points.here == 5_015)
        // The rest by card: earns on the 500 000 paid by money only.
        _ = try shop.takePayment(sale.id, PaymentRequest(method: .card, amountMinor: 500_000), actor: manager)
        #expect(try shop.clientLoyalty(e.client).points.here == 10_015)
        _ = try shop.refund(byPoints.id, amountMinor: 100_000, reason: "returned", refundID: .generate(at: shop.now), online: false, actor: manager)
        let loyalty = try shop.clientLoyalty(e.client)
        #expect(loyalty.points.here == 11_015)
        #expect(loyalty.ledger.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.earn, .earn, .restore, .spend])
        // Paid in full again after a refund, on another box that knows the sale's earning: it earned once already.
        let other = try e.f.world.makeShop(home: nil)
        try syncAll([shop, other])
        _ = try other.refund(visit.payments[0].id, amountMinor: 1_000, reason: "adjusted", refundID: .generate(at: other.now), online: true, actor: manager)
        _ = try other.takePayment(visit.id, PaymentRequest(method: .card, amountMinor: 1_000), actor: manager)
        #expect(try other.sale(visit.id).state == .paid)
        try syncAll([shop, other])
        #expect(try shop.clientLoyalty(e.client).points.total == 11_015)
        let anonymous = try e.sell(10_000)
        #expect(domainError { _ = try shop.takePayment(anonymous.id, PaymentRequest(method: .points, amountMinor: 100), actor: manager) }?.code == .invalidArgument)

        // 30 days after the last earning they expire.
        #expect(loyalty.pointsExpireAt != nil)
        e.f.clock.advance(milliseconds: 31 * 86_400_000)
        #expect(try shop.clientLoyalty(e.client).points.here == 0)
        let later = try e.sell(10_000, client: e.client)
        #expect(domainError { _ = try shop.takePayment(later.id, PaymentRequest(method: .points, amountMinor: 100), actor: manager) }?.code == .expired)
    }

    @Test("moves: from this box at once; a request to another box is done by it after a merge; one it cannot serve is declined")
    func moves() throws {
        let e = try EscrowFixture()
        let a = e.shop, b = try e.f.world.makeShop(home: nil)
        let sold = try e.sell(0, on: a, giftCards: [GiftCardSaleLine(amountMinor: 50_000)], payments: [PaymentRequest(method: .card, amountMinor: 50_000)])
        let card = try e.card(of: sold)
        try syncAll([a, b])
        let sale = try e.sell(30_000, on: b)
        let balance = try b.escrowBalance(.giftCard(card.id))
        #expect(balance.here == 0 && balance.elsewhere.map(\.site) == [a.siteHex] && balance.total == 50_000)
        let held = domainError { _ = try b.takePayment(sale.id, PaymentRequest(method: .giftCard, amountMinor: 20_000, giftCardCode: card.code), actor: manager) }
        #expect(held?.code == .heldElsewhere && held?.message.contains("50000 at box") == true, "\(held?.message ?? "")")

        let request = try b.requestEscrowMove(.giftCard(card.id), from: a.siteHex, to: b.siteHex, amount: 20_000, reason: "client here", actor: manager)
        #expect(request.state == .open)
        #expect(try b.escrowBalance(.giftCard(card.id)).openRequests.map(\.id) == [request.id])
        #expect(try b.fulfilEscrowRequests(actor: manager) == 0)
        try sync(b, to: a)
        #expect(try a.fulfilEscrowRequests(actor: manager) == 1)
        #expect(try a.fulfilEscrowRequests(actor: manager) == 0)
        try sync(a, to: b)
        #expect(try b.escrowRequests(openOnly: false, limit: 10).first { $0.id == request.id }.map { ($0.state, $0.movedAmount) }! == (.done, 20_000))
        #expect(try b.escrowBalance(.giftCard(card.id)).here == 20_000)
        _ = try b.takePayment(sale.id, PaymentRequest(method: .giftCard, amountMinor: 20_000, giftCardCode: card.code), actor: manager)

        // From this box: at once, at most what it holds.
        let own = try a.requestEscrowMove(.giftCard(card.id), from: a.siteHex, to: b.siteHex, amount: 100_000, reason: "", actor: manager)
        #expect(own.state == .done && own.movedAmount == 30_000)
        #expect(try a.escrowBalance(.giftCard(card.id)).here == 0)
        #expect(domainError { _ = try a.requestEscrowMove(.giftCard(card.id), from: a.siteHex, to: b.siteHex, amount: 1, reason: "", actor: manager) }?.code == .insufficientBalance)
        let unserved = try b.requestEscrowMove(.giftCard(card.id), from: a.siteHex, to: b.siteHex, amount: 5, reason: "", actor: manager)
        try syncAll([a, b])
        #expect(try a.fulfilEscrowRequests(actor: manager) == 1)
        try syncAll([a, b])
        #expect(try b.escrowRequests(openOnly: false, limit: 10).first { $0.id == unserved.id }?.state == .declined)
        #expect(try b.escrowRequests(openOnly: true, limit: 10).isEmpty)
    }

    @Test("bad input is refused with a specific error and changes nothing")
    func badInput() throws {
        let e = try EscrowFixture()
        let shop = e.shop
        let now = shop.now
        let bad: [(Coupon, [String: Int64])] = [
            (e.makeCoupon("AB"), [:]), (e.makeCoupon("NO SPACE"), [:]), (e.makeCoupon("ZERO", value: 0), [:]), (e.makeCoupon("MORE", value: 101), [:]),
            (e.makeCoupon("CASH", kind: .amount, value: 100, currency: ""), [:]), (e.makeCoupon("NEG", kind: .amount, value: -1, currency: "KZT"), [:]),
            (e.makeCoupon("WINDOW", from: now, until: now), [:]), (e.makeCoupon("SPEND", minSpend: -1), [:]), (e.makeCoupon("CLIENT", perClient: -1), [:]),
            (e.makeCoupon("LIMIT", limit: -1), [:]), (e.makeCoupon("SITE", limit: 5), ["nothex": 1]), (e.makeCoupon("ALLOT", limit: 5), [shop.siteHex: -1]),
            (e.makeCoupon("NOLIMIT"), [shop.siteHex: 1]), (e.makeCoupon("GHOST", services: [OfferingID.generate(at: now)]), [:]),
        ]
        for (coupon, allotments) in bad {
            let error = domainError { _ = try shop.saveCoupon(coupon, allotments: allotments, actor: manager) }
            #expect(error?.code == .invalidArgument || error?.code == .notFound, "\(coupon.code): \(String(describing: error))")
        }
        _ = try shop.saveCoupon(e.makeCoupon("TAKEN"), allotments: [:], actor: manager)
        #expect(domainError { _ = try shop.saveCoupon(e.makeCoupon("taken"), allotments: [:], actor: manager) }?.code == .invalidArgument)
        #expect(try shop.coupons(includeInactive: true).map(\.code) == ["TAKEN"])
        #expect(domainError { _ = try shop.saveLoyaltyRules(LoyaltyRules(enabled: true, earnPoints: 1, earnPerMinor: 0)) }?.code == .invalidArgument)
        #expect(domainError { _ = try shop.saveLoyaltyRules(LoyaltyRules(maxRedeemPercent: 0)) }?.code == .invalidArgument)
        #expect(try e.count("loyalty_rules") == 0)
        for card in [GiftCardSaleLine(amountMinor: 0), GiftCardSaleLine(amountMinor: 1_000_000_001), GiftCardSaleLine(amountMinor: 100, code: "SHORT"),
                     GiftCardSaleLine(amountMinor: 100, expiresAt: now.adding(minutes: -1))] {
            #expect(domainError { _ = try e.sell(0, giftCards: [card]) }?.code == .invalidArgument)
        }
        #expect(try e.count("sales") == 0)
        #expect(try e.count("gift_cards") == 0)
        let account = EscrowAccount.points(e.client)
        for (from, to, amount) in [(shop.siteHex, shop.siteHex, Int64(1)), (shop.siteHex, "zz", 1), ("", shop.siteHex, 1), (String(repeating: "a", count: 32), shop.siteHex, 0)] {
            #expect(domainError { _ = try shop.requestEscrowMove(account, from: from, to: to, amount: amount, reason: "", actor: manager) }?.code == .invalidArgument)
        }
        #expect(domainError { _ = try shop.requestEscrowMove(.points(ClientID.generate(at: now)), from: String(repeating: "a", count: 32), to: shop.siteHex, amount: 1, reason: "", actor: manager) }?.code == .notFound)
        let stranger = domainError { _ = try shop.requestEscrowMove(account, from: String(repeating: "a", count: 32), to: shop.siteHex, amount: 1, reason: "", actor: manager) }
        #expect(stranger?.code == .invalidArgument && stranger?.message.contains("no box") == true)
        #expect(try e.count("escrow_requests") == 0)
        #expect(try e.count("escrow_entries") == 0)
    }

    @Test("after a merge: a client over a coupon's per-client limit and a debit forged by another box are flagged alike on every box")
    func flags() throws {
        let e = try EscrowFixture()
        let a = e.shop, b = try e.f.world.makeShop(home: nil)
        let coupon = try a.saveCoupon(e.makeCoupon("WELCOME", perClient: 1), allotments: [:], actor: manager)
        try syncAll([a, b])
        _ = try e.sell(on: a, client: e.client, coupon: "WELCOME")
        _ = try e.sell(on: b, client: e.client, coupon: "WELCOME")
        #expect(try a.retailFlags().isEmpty)
        try syncAll([a, b])
        let flags = try a.retailFlags()
        #expect(flags.map(\.kind) == [.couponClientLimit] && flags.first?.account == .coupon(coupon.id))
        #expect(try b.retailFlags() == flags)

        // B writes a spend of a card held by A: not counted, flagged.
        let sold = try e.sell(0, on: a, giftCards: [GiftCardSaleLine(amountMinor: 9_000)], payments: [PaymentRequest(method: .card, amountMinor: 9_000)])
        let card = try e.card(of: sold)
        try syncAll([a, b])
        _ = try b.write(.paymentTake) { try b.writeEscrowEntry(.giftCard(card.id), kind: .spend, holder: a.siteHex, amount: -9_000, actor: manager, in: $0) }
        try syncAll([a, b])
        for shop in [a, b] {
            #expect(try shop.escrowBalance(.giftCard(card.id)).total == 9_000)
            #expect(try shop.retailFlags().filter { $0.kind == .escrowInvalid }.map(\.account) == [.giftCard(card.id)])
        }
        #expect(try a.retailFlags() == b.retailFlags())
    }
}
