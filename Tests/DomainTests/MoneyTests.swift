import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

let desk = Shop.MoneyActor(name: "Desk", deviceID: "", rights: MoneyRights(mayDiscount: false, mayRefund: false, mayExceedCaps: false))
let manager = Shop.MoneyActor(name: "Manager", deviceID: "", rights: .all)

/// A branch with two staff members, a cut (10 000.00 ₸) and a colour (25 000.50 ₸), and helpers for visits.
final class MoneyFixture: @unchecked Sendable {
    let f: ShopFixture
    let anna: StaffID
    let bella: StaffID
    let cut: OfferingID
    let colour: OfferingID
    var shop: Shop { f.shop }
    private var minute = 0

    init() throws {
        f = try ShopFixture()
        anna = try f.addStaff("Anna")
        bella = try f.addStaff("Bella")
        cut = try f.addOffering("Cut", minutes: 30, price: 1_000_000, staff: [anna, bella])
        colour = try f.addOffering("Colour", minutes: 30, price: 2_500_050, staff: [anna, bella])
    }

    /// A confirmed visit at the next free half hour.
    func visit(_ offering: OfferingID? = nil, on shop: Shop? = nil) throws -> AppointmentID {
        let start = f.at("2024-05-07", "09:00").adding(minutes: 30 * minute)
        minute += 1
        return try (shop ?? self.shop).book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: offering ?? cut, staffID: anna)],
                                                           start: start, guest: Guest(name: "Guest"))).appointment.id
    }

    func checkout(_ appointments: [AppointmentID], payments: [PaymentRequest] = [], on shop: Shop? = nil, actor: Shop.MoneyActor = manager,
                  discount: CheckoutRequest.Discount? = nil, lines: [CheckoutRequest.CustomLine] = [], tips: [Tip] = []) throws -> Sale {
        try (shop ?? self.shop).checkout(CheckoutRequest(branchID: f.branchID, appointmentIDs: appointments, lines: lines, discount: discount, tips: tips,
                                                         payments: payments), actor: actor, fiscalRequired: false)
    }
}

@Suite("Money: pricing, ledger, drawer, anomalies")
struct MoneyTests {
    @Test("rounding is half away from zero; included and added tax; a discount's shares add up to it exactly")
    func pricing() throws {
        #expect(Pricing.divideRounded(5, 2) == 3)
        #expect(Pricing.divideRounded(-5, 2) == -3)
        #expect(Pricing.divideRounded(4, 3) == 1)
        let included = TaxRate(id: "vat", name: "VAT", rateBasisPoints: 1200, included: true)
        let added = TaxRate(id: "vat", name: "VAT", rateBasisPoints: 2000, included: false)
        // 11 200 incl. 12 % → 1 200 tax; 10 000 + 20 % → 2 000.
        #expect(Pricing.tax(net: 11_200, rate: included) == 1_200)
        #expect(Pricing.tax(net: 10_000, rate: added) == 2_000)
        #expect(Pricing.tax(net: 10_001, rate: nil) == 0)
        var random = SeededGenerator(seed: 16)
        for _ in 0..<500 {
            let weights = (0..<Int.random(in: 1...6, using: &random)).map { _ in Int64.random(in: 0...50_000, using: &random) }
            let amount = Int64.random(in: 0...max(0, weights.reduce(0, +)), using: &random)
            let shares = Pricing.allocate(amount, over: weights)
            #expect(weights.reduce(0, +) == 0 ? shares.allSatisfy { $0 == 0 } : shares.reduce(0, +) == amount)
            #expect(zip(shares, weights).allSatisfy { $0.0 <= max($0.1, 0) })
        }
    }

    @Test("checkout with split tender: cash with change and card; the balance is derived; more than due is refused")
    func splitTender() throws {
        let m = try MoneyFixture()
        _ = try m.shop.openDrawer(branch: m.f.branchID, floatMinor: 500_000, actor: manager)
        let visits = [try m.visit(m.cut), try m.visit(m.colour)]
        var sale = try m.checkout(visits, payments: [PaymentRequest(method: .cash, amountMinor: 1_500_000, tenderedMinor: 2_000_000)],
                                  tips: [Tip(staffID: m.anna, amountMinor: 100_000)])
        #expect(sale.totalMinor == 3_600_050)
        #expect(sale.balanceMinor == 2_100_050)
        #expect(sale.state == .due)
        #expect(sale.payments.first?.changeMinor == 500_000)
        #expect(throws: DomainError.self) { try m.shop.takePayment(sale.id, PaymentRequest(method: .card, amountMinor: 2_100_051), actor: desk) }
        _ = try m.shop.takePayment(sale.id, PaymentRequest(method: .card, amountMinor: 2_100_050, cardLast4: "4242", approvalCode: "A1"), actor: desk)
        sale = try m.shop.sale(sale.id)
        #expect(sale.state == .paid && sale.balanceMinor == 0 && sale.paidMinor == 3_600_050)
        // The same appointment cannot be checked out twice on one box.
        #expect { try m.checkout([visits[0]]) } throws: { ($0 as? DomainError)?.code == .alreadyCheckedOut }
    }

    @Test("cash needs an open drawer; a discount needs the right; a refund is at most what was paid, and card refunds need the internet")
    func rules() throws {
        let m = try MoneyFixture()
        let visit = try m.visit()
        #expect { try m.checkout([visit], payments: [PaymentRequest(method: .cash, amountMinor: 1_000_000)]) } throws: { ($0 as? DomainError)?.code == .drawerClosed }
        #expect { try m.checkout([visit], actor: desk, discount: .init(percent: 10, reason: "regular")) } throws: { ($0 as? DomainError)?.code == .approvalRequired }
        let sale = try m.checkout([visit], payments: [PaymentRequest(method: .card, amountMinor: 900_000)], discount: .init(percent: 10, reason: "regular"))
        #expect(sale.discountMinor == 100_000 && sale.totalMinor == 900_000 && sale.state == .paid)
        let card = sale.payments[0].id
        #expect { try m.shop.refund(card, amountMinor: 100, reason: "r", refundID: .generate(at: m.shop.now), online: true, actor: desk) } throws: {
            ($0 as? DomainError)?.code == .approvalRequired
        }
        #expect { try m.shop.refund(card, amountMinor: 100, reason: "r", refundID: .generate(at: m.shop.now), online: false, actor: manager) } throws: {
            ($0 as? DomainError)?.code == .offlineNotAllowed
        }
        _ = try m.shop.refund(card, amountMinor: 400_000, reason: "unhappy", refundID: .generate(at: m.shop.now), online: true, actor: manager)
        #expect { try m.shop.refund(card, amountMinor: 500_001, reason: "again", refundID: .generate(at: m.shop.now), online: true, actor: manager) } throws: {
            ($0 as? DomainError)?.code == .refundExceedsPaid
        }
        let after = try m.shop.sale(sale.id)
        #expect(after.paidMinor == 500_000 && after.refundedMinor == 400_000 && after.balanceMinor == 400_000)
        #expect(after.payments.first { $0.id == card }?.refundableMinor == 500_000)
    }

    @Test("unverified static-QR payments: per-payment and per-box caps, a manager above them, a deadline, then verified or failed")
    func unverifiedCaps() throws {
        let m = try MoneyFixture()
        var settings = try m.shop.moneySettings(branch: m.f.branchID)
        settings.unverifiedPaymentCapMinor = 1_500_000
        settings.unverifiedBoxCapMinor = 2_000_000
        settings.unverifiedDeadlineHours = 24
        _ = try m.shop.saveMoneySettings(settings)
        let big = try m.checkout([try m.visit(m.colour)], actor: desk)
        #expect { try m.shop.takePayment(big.id, PaymentRequest(method: .kaspiStatic, amountMinor: 2_500_050), actor: desk) } throws: { ($0 as? DomainError)?.code == .aboveCap }
        let first = try m.checkout([try m.visit()], payments: [PaymentRequest(method: .kaspiStatic, amountMinor: 1_000_000)], actor: desk)
        let unverified = first.payments[0]
        #expect(unverified.status == .unverified)
        #expect(unverified.deadline == m.shop.now.adding(minutes: 24 * 60))
        #expect(first.state == .paid)
        // A second one would make 2 000 000.01 unverified on this box: above the box's cap.
        let second = try m.checkout([try m.visit(m.colour)], actor: desk)
        #expect { try m.shop.takePayment(second.id, PaymentRequest(method: .kaspiStatic, amountMinor: 1_000_001), actor: desk) } throws: { ($0 as? DomainError)?.code == .aboveCap }
        _ = try m.shop.takePayment(second.id, PaymentRequest(method: .kaspiStatic, amountMinor: 1_000_000), actor: manager)
        #expect(try m.shop.unverifiedPayments(branch: nil).count == 2)
        _ = try m.shop.verify(unverified.id, verified: true, note: "seen in the Kaspi app", actor: manager)
        #expect(try m.shop.payment(unverified.id).status == .verified)
        #expect { try m.shop.verify(unverified.id, verified: false, note: "", actor: manager) } throws: { ($0 as? DomainError)?.code == .illegalTransition }
        #expect(try m.shop.unverifiedPayments(branch: nil).count == 1)
    }

    @Test("the drawer: float, cash sales and refunds, paid in and out, X report, Z report numbered without gaps with the count by denomination")
    func drawer() throws {
        let m = try MoneyFixture()
        let session = try m.shop.openDrawer(branch: m.f.branchID, floatMinor: 1_000_000, actor: manager)
        #expect(throws: DomainError.self) { try m.shop.openDrawer(branch: m.f.branchID, floatMinor: 0, actor: manager) }
        let sale = try m.checkout([try m.visit()], payments: [PaymentRequest(method: .cash, amountMinor: 1_000_000, tenderedMinor: 2_000_000)])
        _ = try m.checkout([try m.visit()], payments: [PaymentRequest(method: .card, amountMinor: 1_000_000)], tips: [])
        _ = try m.shop.refund(sale.payments[0].id, amountMinor: 200_000, reason: "late", refundID: .generate(at: m.shop.now), online: false, actor: manager)
        _ = try m.shop.drawerMovement(paidIn: false, amountMinor: 50_000, reason: "milk", actor: desk)
        _ = try m.shop.drawerMovement(paidIn: true, amountMinor: 10_000, reason: "change", actor: desk)
        let x = try m.shop.xReport()
        #expect(x.session.id == session.id)
        #expect(x.expectedCashMinor == 1_000_000 + 1_000_000 - 200_000 - 50_000 + 10_000)
        #expect(x.methods.first { $0.method == .card }?.netMinor == 1_000_000)
        #expect(x.salesCount == 2 && x.visitsCount == 2 && x.refundsMinor == 200_000)
        let z = try m.shop.closeDrawer(counted: [1_000_000: 1, 500_000: 1, 200_000: 1, 50_000: 1, 10_000: 1], note: "", actor: desk)
        #expect(z.number == 1)
        #expect(z.counted?.totalMinor == 1_760_000)
        #expect(z.varianceMinor == 1_760_000 - x.expectedCashMinor)
        #expect(try m.shop.drawerSession() == nil)
        #expect { try m.shop.closeDrawer(counted: [:], note: "", actor: desk) } throws: { ($0 as? DomainError)?.code == .drawerClosed }
        #expect { try m.shop.closeDrawer(counted: [7: 1], note: "", actor: desk) } throws: { ($0 as? DomainError)?.code == .drawerClosed }
        _ = try m.shop.openDrawer(branch: m.f.branchID, floatMinor: 0, actor: manager)
        #expect { try m.shop.closeDrawer(counted: [7: 1], note: "", actor: desk) } throws: { ($0 as? DomainError)?.code == .invalidArgument }
        let second = try m.shop.closeDrawer(counted: [:], note: "", actor: desk)
        #expect(second.number == 2)
        #expect(try m.shop.zReports(branch: m.f.branchID, site: nil).map(\.number) == [2, 1])
    }

    @Test("apart, two boxes refund one payment and check out one visit twice: after the merge both are flagged with the same ids on every box")
    func anomaliesAfterPartition() throws {
        let m = try MoneyFixture()
        let other = try m.f.world.makeShop(home: nil)
        try syncAll([m.shop, other])
        _ = try m.shop.openDrawer(branch: m.f.branchID, floatMinor: 0, actor: manager)
        _ = try other.openDrawer(branch: m.f.branchID, floatMinor: 0, actor: manager)
        let paid = try m.checkout([try m.visit()], payments: [PaymentRequest(method: .cash, amountMinor: 1_000_000)])
        let visit = try m.visit()
        try syncAll([m.shop, other])
        // Partition: each box refunds 700 000 of the same 1 000 000, and each checks the same visit out.
        _ = try m.shop.refund(paid.payments[0].id, amountMinor: 700_000, reason: "a", refundID: .generate(at: m.shop.now), online: true, actor: manager)
        _ = try other.refund(paid.payments[0].id, amountMinor: 700_000, reason: "b", refundID: .generate(at: m.shop.now.adding(milliseconds: 1)), online: true, actor: manager)
        _ = try m.checkout([visit], payments: [PaymentRequest(method: .card, amountMinor: 1_000_000)])
        _ = try m.checkout([visit], payments: [PaymentRequest(method: .cash, amountMinor: 1_000_000)], on: other)
        #expect(try m.shop.moneyAnomalies().isEmpty)
        try syncAll([m.shop, other])
        let found = try m.shop.moneyAnomalies()
        #expect(Set(found.map(\.kind)) == [.doubleRefund, .doubleCheckout])
        #expect(found.first { $0.kind == .doubleRefund }?.amount.amountMinor == 400_000)
        #expect(try other.moneyAnomalies() == found)
        // Resolved on one box, resolved on both; nothing is netted away.
        _ = try other.resolveAnomaly(found[0].id, note: "refunded 400 000 in cash by mistake; client returned it", actor: manager)
        try syncAll([m.shop, other])
        #expect(try m.shop.moneyAnomalies().first { $0.id == found[0].id }?.resolution?.by == "Manager")
        #expect(try m.shop.sale(paid.id).refundedMinor == 1_400_000)
    }

    @Test("a drawer left open over the branch's midnight is flagged, not split; a Z report replicates to the owner's box")
    func overMidnightAndReplication() throws {
        let m = try MoneyFixture()
        let owner = try m.f.world.makeShop(home: nil)
        try syncAll([m.shop, owner])
        m.f.clock.set(m.f.at("2024-05-07", "20:00"))
        _ = try m.shop.openDrawer(branch: m.f.branchID, floatMinor: 0, actor: manager)
        #expect(try m.shop.xReport().overMidnight == false)
        m.f.clock.set(m.f.at("2024-05-08", "00:30"))
        #expect(try m.shop.xReport().overMidnight == true)
        let z = try m.shop.closeDrawer(counted: [:], note: "forgot to close", actor: manager)
        #expect(z.overMidnight && z.number == 1)
        try syncAll([m.shop, owner])
        #expect(try owner.zReports(branch: m.f.branchID, site: nil) == [z])
    }

    @Test("the derived state after a rebuild equals the state kept current on every write and merge")
    func rebuildMatches() throws {
        let m = try MoneyFixture()
        _ = try m.shop.openDrawer(branch: m.f.branchID, floatMinor: 0, actor: manager)
        let sale = try m.checkout([try m.visit()], payments: [PaymentRequest(method: .cash, amountMinor: 400_000), PaymentRequest(method: .kaspiStatic, amountMinor: 600_000)])
        _ = try m.shop.voidPayment(sale.payments[0].id, reason: "typo", actor: manager)
        let before = try m.shop.sale(sale.id)
        #expect(before.payments.first { $0.id == sale.payments[0].id }?.status == .voided)
        #expect(before.paidMinor == 600_000)
        try m.shop.rebuildDerivedState()
        #expect(try m.shop.sale(sale.id) == before)
    }
}
