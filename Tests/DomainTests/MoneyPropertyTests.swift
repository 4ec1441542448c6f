import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

/// The ledger property test of issue 16: random sales, split payments, refunds, voids and drawer
/// operations on three replicas that are apart, merged by random pairwise syncs. Every replica
/// derives the same balances, drawer figures and anomalies; the sums hold; and every double
/// refund or double payment made across a partition is flagged, with the same id everywhere.
@Suite("Money: the ledger under partitions")
struct MoneyPropertyTests {
    @Test("random ledger operations on partitioned replicas converge to the same figures; sums hold; every double is flagged",
          arguments: [7, 16, 2026, 20261207] as [UInt64])
    func partitions(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let m = try MoneyFixture()
        let shops = [m.shop, try m.f.world.makeShop(home: nil), try m.f.world.makeShop(home: nil)]
        var visits: [AppointmentID] = []
        for _ in 0..<18 { visits.append(try m.visit(Bool.random(using: &random) ? m.cut : m.colour)) }
        try syncAll(shops)
        for shop in shops { _ = try shop.openDrawer(branch: m.f.branchID, floatMinor: 100_000, actor: manager) }
        let methods: [PaymentMethod] = [.cash, .card, .kaspiStatic, .bankTransfer]
        for _ in 0..<4 {
            for shop in shops {
                for _ in 0..<8 {
                    m.f.clock.advance(milliseconds: 1000)
                    switch Int.random(in: 0..<8, using: &random) {
                    case 0, 1:
                        // Checkout one or two visits, paying some now (split tender).
                        let chosen = Array(visits.shuffled(using: &random).prefix(Int.random(in: 1...2, using: &random)))
                        guard let sale = try? m.checkout(chosen, on: shop) else { continue }
                        var left = sale.balanceMinor
                        for _ in 0..<Int.random(in: 0...2, using: &random) where left > 0 {
                            let amount = Int64.random(in: 1...left, using: &random)
                            if (try? shop.takePayment(sale.id, PaymentRequest(method: methods.randomElement(using: &random)!, amountMinor: amount), actor: manager)) != nil {
                                left -= amount
                            }
                        }
                    case 2:
                        // Pay what is due on a known sale (maybe already paid elsewhere: a double payment).
                        if let sale = try allSales(shop).randomElement(using: &random), sale.balanceMinor > 0 {
                            _ = try? shop.takePayment(sale.id, PaymentRequest(method: methods.randomElement(using: &random)!, amountMinor: sale.balanceMinor), actor: manager)
                        }
                    case 3, 4:
                        // Refund part of a payment this replica knows.
                        let payments = try allSales(shop).flatMap(\.payments).filter { $0.kind == .payment && $0.refundableMinor > 0 }
                        if let payment = payments.randomElement(using: &random) {
                            let amount = Int64.random(in: 1...payment.refundableMinor, using: &random)
                            _ = try? shop.refund(payment.id, amountMinor: amount, reason: "random", refundID: .generate(at: shop.now), online: true, actor: manager)
                        }
                    case 5:
                        let payments = try allSales(shop).flatMap(\.payments).filter { $0.kind == .payment && $0.status == .settled }
                        if let payment = payments.randomElement(using: &random) { _ = try? shop.voidPayment(payment.id, reason: "mistake", actor: manager) }
                    case 6:
                        let unverified = try shop.unverifiedPayments(branch: nil)
                        if let payment = unverified.randomElement(using: &random)?.payment {
                            _ = try shop.verify(payment.id, verified: Bool.random(using: &random), note: "", actor: manager)
                        }
                    default:
                        if Bool.random(using: &random) {
                            _ = try? shop.drawerMovement(paidIn: Bool.random(using: &random), amountMinor: Int64.random(in: 1...50_000, using: &random), reason: "random", actor: manager)
                        } else if let open = try shop.drawerSession() {
                            let x = try shop.xReport()
                            _ = try shop.closeDrawer(counted: [100: Int(max(0, x.expectedCashMinor) / 100)], note: "", actor: manager)
                            _ = try shop.openDrawer(branch: open.branchID, floatMinor: 50_000, actor: manager)
                        }
                    }
                }
            }
            // Random delivery: pairwise syncs in a random order, not all of them.
            for _ in 0..<3 {
                let a = shops.randomElement(using: &random)!, b = shops.randomElement(using: &random)!
                if a !== b { try sync(a, to: b) }
            }
        }
        for _ in 0..<3 { try syncAll(shops) }
        #expect(Set(shops.map { $0.store.versionVector }).count == 1)

        // Every replica derives the same sales, balances, drawer figures and anomalies.
        let reference = try allSales(shops[0])
        let anomalies = try shops[0].moneyAnomalies()
        let sessions = try drawerSessions(shops[0])
        let end = shops[0].now
        let figures = try sessions.map { session in try shops[0].read { try Ledger.figures(of: session, until: end, in: $0, zone: nil) } }
        for shop in shops.dropFirst() {
            #expect(try allSales(shop) == reference)
            #expect(try shop.moneyAnomalies() == anomalies)
            #expect(try sessions.map { session in try shop.read { try Ledger.figures(of: session, until: end, in: $0, zone: nil) } } == figures)
        }

        // Sums: what sales say was paid = Σ the drawer sessions' method nets + what was taken with no drawer open.
        let paid = reference.reduce(0) { $0 + $1.paidMinor }
        let inSessions = figures.reduce(0) { $0 + $1.methods.reduce(0) { $0 + $1.netMinor } }
        let outside = reference.flatMap(\.payments).filter { $0.drawerSessionID == nil && $0.status.counts }
            .reduce(0) { $0 + ($1.kind == .refund ? -$1.amount.amountMinor : $1.kind == .payment ? $1.amount.amountMinor : 0) }
        #expect(paid == inSessions + outside)
        for (session, report) in zip(sessions, figures) {
            let cash = reference.flatMap(\.payments).filter { $0.drawerSessionID == session.id && $0.method == .cash && $0.status.counts }
            let sales = cash.filter { $0.kind == .payment }.reduce(0) { $0 + $1.amount.amountMinor }
            let refunds = cash.filter { $0.kind == .refund }.reduce(0) { $0 + $1.amount.amountMinor }
            #expect(report.cashSalesMinor == sales && report.cashRefundsMinor == refunds)
            #expect(report.expectedCashMinor == session.floatMinor + sales - refunds + report.paidInMinor - report.paidOutMinor)
        }

        // Every double is flagged (an independent check over the sales as every replica sees them).
        let payments = reference.flatMap(\.payments)
        for payment in payments where payment.kind == .payment {
            let reversals = payments.filter { $0.reverses == payment.id && ($0.kind == .void || ($0.kind == .refund && $0.status.counts)) }
            let reversed = reversals.reduce(0) { $0 + ($1.kind == .void ? payment.amount.amountMinor : $1.amount.amountMinor) }
            if reversed > payment.amount.amountMinor {
                #expect(anomalies.contains { $0.kind == .doubleRefund && $0.paymentIDs.contains(payment.id) }, "unflagged double refund of \(payment.id)")
            }
        }
        var salesByVisit: [AppointmentID: [SaleID]] = [:]
        for sale in reference where sale.state != .voided { for visit in sale.appointmentIDs { salesByVisit[visit, default: []].append(sale.id) } }
        for (visit, sales) in salesByVisit where sales.count > 1 {
            #expect(anomalies.contains { $0.kind == .doubleCheckout && $0.appointmentID == visit && Set($0.saleIDs) == Set(sales) }, "unflagged double checkout of \(visit)")
        }
        for sale in reference where sale.paidMinor > sale.totalMinor {
            #expect(anomalies.contains { $0.kind == .overpaid && $0.saleIDs == [sale.id] }, "unflagged overpaid sale \(sale.number)")
        }
        // And nothing is flagged that is not one of those.
        #expect(anomalies.allSatisfy { anomaly in
            switch anomaly.kind {
            case .doubleCheckout: (salesByVisit[anomaly.appointmentID!]?.count ?? 0) > 1
            case .overpaid: reference.contains { $0.id == anomaly.saleIDs[0] && $0.paidMinor > $0.totalMinor }
            case .doubleRefund, .contradictoryVerification: true
            }
        })
        print("money seed \(seed): \(reference.count) sales, \(payments.count) ledger rows, \(sessions.count) drawer sessions, anomalies \(anomalies.map(\.kind.rawValue))")
    }

    func allSales(_ shop: Shop) throws -> [Sale] { try shop.sales(where: "1", [], limit: 10_000).sorted { $0.id < $1.id } }

    func drawerSessions(_ shop: Shop) throws -> [DrawerSession] {
        try shop.read { transaction in
            try transaction.fetchAll("SELECT id, site, till, branch_id, currency, float_minor, opened_at, opened_by FROM drawer_sessions ORDER BY id", []).map(Ledger.session)
        }
    }
}
