import Domain
import Foundation
@testable import LocalAPI
import Replication
import Synchronization
import Testing

/// The money endpoints over HTTP (issue 16): checkout with split tender, approvals, problems,
/// the drawer with X and Z reports, the open receipt link, idempotent retries, a crash between
/// the payment and its reply.
@Suite("Money API")
struct MoneyAPITests {
    /// A confirmed haircut (8 000.00 ₸) for the fixture's client on Thursday at `time`.
    func visit(_ fixture: APIFixture, _ time: String = "11:00") throws -> AppointmentID {
        try fixture.shop.book(BookingRequest(branchID: fixture.branch, parts: [VisitPart(offeringID: fixture.haircut, staffID: fixture.aigerim)],
                                             start: Instant(iso8601: "2026-03-05T\(time):00+05:00")!, clientID: fixture.client)).appointment.id
    }

    @Test("checkout with cash (tendered, change) and card; the sale is paid; its receipt link opens without a token and hides approval codes")
    func checkoutSplitTender() async throws {
        let fixture = try APIFixture()
        let appointment = try visit(fixture)
        try await fixture.test { client in
            let closed = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body([
                "appointments": [appointment.rawValue], "payments": [["method": "cash", "amount_minor": 300_000, "tendered_minor": 500_000]]]))
            #expect(closed.status == 409 && (closed["type"] as? String)?.hasSuffix("drawer_closed") == true, "\(closed.text)")
            let opened = try await client.send(.post, "/v1/drawer/open", as: .frontDesk, json: body(["float_minor": 1_000_000]))
            #expect(opened.status == 201)
            let sale = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body([
                "appointments": [appointment.rawValue], "tips": [["staff": fixture.aigerim.rawValue, "amount_minor": 50_000]],
                "payments": [["method": "cash", "amount_minor": 300_000, "tendered_minor": 500_000],
                             ["method": "card", "amount_minor": 550_000, "card_last4": "4242", "approval_code": "AB12"]]]))
            #expect(sale.status == 201, "\(sale.text)")
            #expect(sale["total_minor"] as? Int == 850_000 && sale["state"] as? String == "paid" && sale["balance_minor"] as? Int == 0)
            let payments = sale["payments"] as? [[String: Any]] ?? []
            #expect(payments.first?["change_minor"] as? Int == 200_000)
            #expect(sale["client"] as? String == fixture.client.rawValue)
            let token = sale["receipt_token"] as? String ?? ""
            let receipt = try await client.send(.get, "/v1/receipts/\(token)", as: nil)
            #expect(receipt.status == 200, "\(receipt.text)")
            #expect(receipt.text.contains("4242") && !receipt.text.contains("AB12") && !receipt.text.contains(fixture.client.rawValue))
            #expect((receipt["not_fiscal"] as? Bool) == true)
            let unknown = try await client.send(.get, "/v1/receipts/aaaaaaaaaaaaaaaaaaaaaaaaaa", as: nil)
            #expect(unknown.status == 404 && unknown["title"] as? String == "No receipt has this link")
            let again = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body(["appointments": [appointment.rawValue]]))
            #expect(again.status == 409 && (again["type"] as? String)?.hasSuffix("already_checked_out") == true)
            let listed = try await client.send(.get, "/v1/sales?date=2026-03-02", as: .staff)
            #expect(listed.items.count == 1)
            let history = try await client.send(.get, "/v1/clients/\(fixture.client)/history", as: .frontDesk)
            #expect((history["lifetime_spend"] as? [[String: Any]])?.first?["amount_minor"] as? Int == 850_000)
        }
    }

    @Test("a front desk's discount needs a manager's PIN: refused without, accepted with, a wrong PIN or a staff member's refused and counted")
    func approvals() async throws {
        let fixture = try APIFixture()
        let appointment = try visit(fixture)
        let manager = try fixture.shop.createPerson(name: "Madina", role: .manager, pin: "4321")
        let stylist = try fixture.shop.createPerson(name: "Aru", role: .staff, pin: "1111")
        @Sendable func checkout(_ approval: [String: String]?) -> String {
            var request: [String: Any] = ["appointments": [appointment.rawValue], "discount": ["percent": 10, "reason": "birthday"]]
            if let approval { request["approval"] = approval }
            return body(request)
        }
        try await fixture.test { client in
            let refused = try await client.send(.post, "/v1/sales", as: .frontDesk, json: checkout(nil))
            #expect(refused.status == 403 && (refused["type"] as? String)?.hasSuffix("approval_required") == true, "\(refused.text)")
            let wrong = try await client.send(.post, "/v1/sales", as: .frontDesk, json: checkout(["person": manager.id.rawValue, "pin": "0000"]))
            #expect(wrong.status == 403 && (wrong["type"] as? String)?.hasSuffix("approval_failed") == true, "\(wrong.text)")
            let staff = try await client.send(.post, "/v1/sales", as: .frontDesk, json: checkout(["person": stylist.id.rawValue, "pin": "1111"]))
            #expect(staff.status == 403 && (staff["type"] as? String)?.hasSuffix("approval_failed") == true)
            let approved = try await client.send(.post, "/v1/sales", as: .frontDesk, json: checkout(["person": manager.id.rawValue, "pin": "4321"]))
            #expect(approved.status == 201, "\(approved.text)")
            #expect((approved["discount"] as? [String: Any])?["approved_by"] as? String == "Madina")
            #expect(approved["total_minor"] as? Int == 720_000)
            // Wrong approval PINs count towards the person's lock-out like wrong sign-ins.
            let attempts = fixture.api.configuration.access.pinAttempts
            var statuses: [Int] = []
            for _ in 0...attempts {
                let other = try visit(fixture, "1\(statuses.count + 2):00")
                statuses.append(try await client.send(.post, "/v1/sales", as: .frontDesk, json: body([
                    "appointments": [other.rawValue], "discount": ["percent": 10, "reason": "x"], "approval": ["person": manager.id.rawValue, "pin": "9999"]])).status)
            }
            #expect(statuses == Array(repeating: 403, count: attempts) + [429], "\(statuses)")
        }
    }

    @Test("a retried checkout with the same Idempotency-Key is the same sale; the drawer: paid out, X, close with a count, Z numbered, listed")
    func idempotentCheckoutAndDrawer() async throws {
        let fixture = try APIFixture()
        let appointment = try visit(fixture)
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/drawer/open", as: .frontDesk, json: body(["float_minor": 500_000]))
            let request = body(["appointments": [appointment.rawValue], "payments": [["method": "cash", "amount_minor": 800_000]]])
            let first = try await client.send(.post, "/v1/sales", as: .frontDesk, json: request, headers: ["Idempotency-Key": "pay-1"])
            let retry = try await client.send(.post, "/v1/sales", as: .frontDesk, json: request, headers: ["Idempotency-Key": "pay-1"])
            #expect(first.status == 201 && retry.text == first.text && retry.header("Idempotent-Replayed") == "true")
            let out = try await client.send(.post, "/v1/drawer/movements", as: .frontDesk, json: body(["kind": "paid_out", "amount_minor": 100_000, "reason": "flowers"]))
            #expect(out.status == 201 && out["expected_cash_minor"] as? Int == 1_200_000, "\(out.text)")
            let tooMuch = try await client.send(.post, "/v1/drawer/movements", as: .frontDesk, json: body(["kind": "paid_out", "amount_minor": 5_000_000, "reason": "x"]))
            #expect(tooMuch.status == 422)
            let x = try await client.send(.get, "/v1/drawer/x-report", as: .frontDesk)
            #expect(x["kind"] as? String == "x" && x["sales_count"] as? Int == 1)
            let badCount = try await client.send(.post, "/v1/drawer/close", as: .frontDesk, json: body(["counted": ["1000000": 1, "abc": 2]]))
            #expect(badCount.status == 422 && badCount.text.contains("counted.abc"), "\(badCount.text)")
            let z = try await client.send(.post, "/v1/drawer/close", as: .frontDesk, json: body(["counted": ["1000000": 1, "100000": 1, "50000": 1]]))
            #expect(z.status == 201 && z["number"] as? Int == 1 && z["variance_minor"] as? Int == -50_000, "\(z.text)")
            let list = try await client.send(.get, "/v1/z-reports", as: .manager)
            #expect(list.items.map { $0["number"] as? Int } == [1])
            let box = (list.items.first?["box"] as? String) ?? ""
            #expect(try await client.send(.get, "/v1/z-reports?box=\(box)", as: .manager).items.count == 1)
            #expect(try await client.send(.get, "/v1/z-reports", as: .frontDesk).status == 403)
            let drawer = try await client.send(.get, "/v1/drawer", as: .staff)
            #expect(drawer["session"] == nil && (drawer["denominations"] as? [Int])?.first == 2_000_000)
        }
        #expect(try fixture.shop.sales(where: "1", []).count == 1)
    }

    @Test("bad input changes nothing: an unknown method, a payment above what is due, a deadline beyond 72 hours, settings by a manager")
    func badInput() async throws {
        let fixture = try APIFixture()
        let appointment = try visit(fixture)
        try await fixture.test { client in
            let unknown = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body([
                "appointments": [appointment.rawValue], "payments": [["method": "cheque", "amount_minor": 1]]]))
            #expect(unknown.status == 422 && unknown.text.contains("payments[0].method"), "\(unknown.text)")
            let kaspi = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body([
                "appointments": [appointment.rawValue], "payments": [["method": "kaspi_qr", "amount_minor": 1]]]))
            #expect(kaspi.status == 422 && kaspi.text.contains("kaspi_qr is not set up"))
            let sale = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body(["appointments": [appointment.rawValue]]))
            let id = sale["id"] as? String ?? ""
            let over = try await client.send(.post, "/v1/sales/\(id)/payments", as: .frontDesk, json: body(["method": "card", "amount_minor": 800_001]))
            #expect(over.status == 422 && (over["type"] as? String)?.hasSuffix("overpayment") == true)
            let settings = try await client.send(.put, "/v1/money/settings", as: .owner, json: body(["unverified_deadline_hours": 73]))
            #expect(settings.status == 422)
            #expect(try await client.send(.put, "/v1/money/settings", as: .manager, json: body(["vat_registered": false])).status == 403)
            let saved = try await client.send(.put, "/v1/money/settings", as: .owner, json: body([
                "tax_rates": [["id": "vat16", "name": "VAT 16%", "rate_bp": 1600, "included": true]], "default_tax_rate": "vat16",
                "vat_registered": true, "vat_number": "123456789012"]))
            #expect(saved.status == 200 && saved["default_tax_rate"] as? String == "vat16", "\(saved.text)")
            let taxed = try await client.send(.post, "/v1/sales", as: .frontDesk, json: body(["lines": [["name": "Shampoo", "quantity": 2, "unit_price_minor": 580_000]]]))
            // 11 600.00 incl. 16 % VAT: 1 600.00 tax.
            #expect(taxed["total_minor"] as? Int == 1_160_000 && taxed["tax_minor"] as? Int == 160_000, "\(taxed.text)")
        }
        #expect(try fixture.shop.sales(where: "1", []).count == 2)
    }

    @Test("a crash between the payment and the storing of its reply leaves neither; the retry pays once")
    func crashBetweenPaymentAndReply() async throws {
        let fixture = try APIFixture()
        let appointment = try visit(fixture)
        let crashed = Mutex(false)
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/drawer/open", as: .frontDesk, json: body(["float_minor": 0]))
            fixture.api.beforeStoringReply.withLock {
                $0 = { if crashed.withLock({ c in defer { c = true }; return !c }) { throw CancellationError() } }
            }
            let request = body(["appointments": [appointment.rawValue], "payments": [["method": "cash", "amount_minor": 800_000]]])
            let first = try await client.send(.post, "/v1/sales", as: .frontDesk, json: request, headers: ["Idempotency-Key": "k-1"])
            #expect(first.status == 500)
            #expect(try fixture.shop.sales(where: "1", []).isEmpty)
            let retry = try await client.send(.post, "/v1/sales", as: .frontDesk, json: request, headers: ["Idempotency-Key": "k-1"])
            #expect(retry.status == 201, "\(retry.text)")
        }
        let sales = try fixture.shop.sales(where: "1", [])
        #expect(sales.count == 1 && sales[0].payments.count == 1 && sales[0].state == .paid)
    }
}
