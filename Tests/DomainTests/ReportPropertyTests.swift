import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

/// Random histories over two branches in two zones (one crossing a DST change): every report's
/// totals equal sums the test computes itself from the raw rows, with its own local-date logic;
/// the reports read from the rollups equal the direct computation (more in `ReportRollupTests`).
@Suite("Reports: totals equal direct sums over random histories")
struct ReportPropertyTests {
    let atyrau = BranchID(trusted: "01900000-0000-7000-8000-00000000a001")
    let london = BranchID(trusted: "01900000-0000-7000-8000-00000000b001")

    @Test("random appointments, sales, payments, refunds and voids", arguments: [1, 19, 2026, 777] as [UInt64])
    func totals(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let h = try ReportHistory(now: "2026-06-01T00:00:00Z", home: atyrau)
        try h.branch(atyrau, "Atyrau", zone: "Asia/Atyrau", currency: "KZT", hours: hours("09:00", "18:00"))
        try h.branch(london, "London", zone: "Europe/London", currency: "GBP", hours: hours("09:00", "18:00"))
        let branches = [atyrau, london], currencies = [atyrau: "KZT", london: "GBP"]
        var staff: [BranchID: [StaffID]] = [:], offerings: [BranchID: OfferingID] = [:]
        for branch in branches {
            staff[branch] = [try h.staff(branch, "A"), try h.staff(branch, "B")]
            offerings[branch] = try h.offering(branch, "S", category: "c", minutes: 30, price: 1000, currency: currencies[branch]!)
        }
        let base = instant("2026-03-15T00:00:00Z")
        func randomInstant() -> Instant { base.adding(minutes: Int.random(in: 0..<(30 * 1440), using: &random) / 15 * 15) }
        for _ in 0..<60 {
            let branch = branches.randomElement(using: &random)!
            let start = randomInstant()
            try h.appointment(branch, client: nil, [ReportHistory.Item(offering: offerings[branch]!, staff: staff[branch]!.randomElement(using: &random)!,
                                                                        start: start, minutes: [30, 60, 90].randomElement(using: &random)!)],
                              status: AppointmentStatus.allCases.randomElement(using: &random)!, late: Bool.random(using: &random),
                              source: BookingSource.allCases.randomElement(using: &random)!,
                              created: start.adding(minutes: -Int.random(in: 0..<(10 * 1440), using: &random)), currency: currencies[branch]!)
        }
        for _ in 0..<40 {
            let branch = branches.randomElement(using: &random)!, currency = currencies[branch]!
            let at = randomInstant()
            let line = ReportHistory.line(.service, offerings[branch]!.rawValue, staff: staff[branch]![0], quantity: Int.random(in: 1...2, using: &random),
                                          unit: Int64.random(in: 1...5000, using: &random))
            let sale = try h.sale(branch, currency: currency, client: nil, lines: [line],
                                  tips: Bool.random(using: &random) ? [Tip(staffID: staff[branch]![1], amountMinor: 100)] : [], at: at)
            if Int.random(in: 0..<10, using: &random) == 0 { try h.voidSale(sale, at: at) }
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                let paidAt = at.adding(minutes: Int.random(in: 0..<(3 * 1440), using: &random))
                let status: PaymentStatus = [.settled, .settled, .unverified, .pending, .failed].randomElement(using: &random)!
                let payment = try h.pay(sale, PaymentMethod.allCases.randomElement(using: &random)!, Int64.random(in: 1...10_000, using: &random), at: paidAt,
                                        currency: currency, status: status)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: try h.pay(sale, .cash, Int64.random(in: 1...500, using: &random), at: paidAt.adding(minutes: Int.random(in: 1...2000, using: &random)),
                                  currency: currency, kind: .refund, reverses: payment)
                case 1: try h.pay(sale, .cash, 0, at: paidAt.adding(minutes: 1), currency: currency, kind: .void, reverses: payment)
                default: break
                }
            }
        }
        let from = date("2026-03-20"), to = date("2026-04-05")
        let query = ReportQuery(from: from, to: to)
        let shop = h.shop
        let zones = h.zones
        func local(_ branch: String, _ t: Int64) -> LocalDate { zones[BranchID(trusted: branch)]!.localDate(of: Instant(milliseconds: t)) }
        func inRange(_ branch: String, _ t: Int64) -> Bool { (from...to).contains(local(branch, t)) }

        // Raw rows, read directly.
        let raw = try shop.store.read { t in
            (payments: try t.fetchAll("SELECT p.id, p.kind, p.reverses, p.method, p.amount_minor, p.initial_status, p.created_at, s.branch_id, s.currency FROM payments p JOIN sales s ON s.id = p.sale_id", []),
             sales: try t.fetchAll("SELECT id, branch_id, currency, total_minor, discount_minor, tips_minor, created_at FROM sales", []),
             voids: Set(try t.fetchAll("SELECT sale_id FROM sale_voids", []).map { $0["sale_id"].string }),
             appointments: try t.fetchAll("SELECT branch_id, status, late_cancellation, starts_at, created_at, items FROM appointments", []))
        }
        let voidedPayments = Set(raw.payments.filter { $0["kind"].string == "void" }.map { $0["reverses"].string })
        var paid: [String: Int64] = [:], refunded: [String: Int64] = [:]
        for p in raw.payments where ["settled", "unverified", "verified"].contains(p["initial_status"].string) && !voidedPayments.contains(p["id"].string)
            && inRange(p["branch_id"].string, p["created_at"].int64) {
            switch p["kind"].string {
            case "payment": paid[p["currency"].string, default: 0] += p["amount_minor"].int64
            case "refund": refunded[p["currency"].string, default: 0] += p["amount_minor"].int64
            default: break
            }
        }
        var sales: [String: (count: Int, total: Int64, discount: Int64, tips: Int64)] = [:]
        for s in raw.sales where !raw.voids.contains(s["id"].string) && inRange(s["branch_id"].string, s["created_at"].int64) {
            var entry = sales[s["currency"].string] ?? (0, 0, 0, 0)
            entry.count += 1; entry.total += s["total_minor"].int64; entry.discount += s["discount_minor"].int64; entry.tips += s["tips_minor"].int64
            sales[s["currency"].string] = entry
        }
        var expected = BookingCounts()
        var created = 0
        var booked: Int64 = 0
        for a in raw.appointments {
            let branch = a["branch_id"].string, status = a["status"].string
            guard !["held", "rejected"].contains(status) else { continue }
            if inRange(branch, a["created_at"].int64) { created += 1 }
            if ["requested", "confirmed", "checked_in", "completed", "no_show"].contains(status) {
                let zone = zones[BranchID(trusted: branch)]!
                let window = (zone.startOfDay(from).milliseconds, zone.startOfDay(to.adding(days: 1)).milliseconds)
                for item in JSONColumn.decode([AppointmentItem].self, a["items"], default: []) {
                    booked += max(0, min(item.end.milliseconds, window.1) - max(item.start.milliseconds, window.0)) / 60_000
                }
            }
            guard inRange(branch, a["starts_at"].int64) else { continue }
            expected.scheduled += 1
            switch status {
            case "completed": expected.completed += 1
            case "cancelled": expected.cancelled += 1; if a["late_cancellation"].bool { expected.lateCancelled += 1 }
            case "no_show": expected.noShows += 1
            default: expected.open += 1
            }
        }

        let revenue = try await shop.reports.revenue(query).figures
        for currency in ["KZT", "GBP"] {
            let figures = revenue.currencies.first { $0.currency == currency }
            #expect(figures?.paidMinor ?? 0 == paid[currency] ?? 0, "\(currency) paid")
            #expect(figures?.refundedMinor ?? 0 == refunded[currency] ?? 0, "\(currency) refunded")
            #expect(figures?.byDay.reduce(0) { $0 + $1.netMinor } ?? 0 == (paid[currency] ?? 0) - (refunded[currency] ?? 0))
            #expect(figures?.byMonth.reduce(0) { $0 + $1.paidMinor } ?? 0 == paid[currency] ?? 0)
            #expect(figures?.byMethod.reduce(0) { $0 + $1.paidMinor - $1.refundedMinor } ?? 0 == (paid[currency] ?? 0) - (refunded[currency] ?? 0))
            #expect(figures?.byBranch.reduce(0) { $0 + $1.paidMinor } ?? 0 == paid[currency] ?? 0)
            #expect(figures?.sales ?? 0 == sales[currency]?.count ?? 0)
            #expect(figures?.salesMinor ?? 0 == sales[currency]?.total ?? 0)
            #expect(figures?.tipsMinor ?? 0 == sales[currency]?.tips ?? 0)
            #expect(figures?.tipsByStaff.reduce(0) { $0 + $1.amountMinor } ?? 0 == sales[currency]?.tips ?? 0)
            #expect(figures?.byService.reduce(0) { $0 + $1.amountMinor } ?? 0 == (sales[currency]?.total ?? 0) - (sales[currency]?.tips ?? 0))
        }
        let bookings = try await shop.reports.bookings(query).figures
        #expect(bookings.counts == expected)
        #expect(bookings.created == created)
        #expect(bookings.bySource.values.reduce(0, +) == created)
        #expect(bookings.leadTime.values.reduce(0, +) == expected.scheduled)
        let utilisation = try await shop.reports.utilisation(query).figures
        #expect(utilisation.bookedMinutes == Int(booked))
        #expect(utilisation.byDay.values.reduce(0) { $0 + $1.bookedMinutes } == Int(booked))
        #expect(utilisation.byHour.reduce(0) { $0 + $1.bookedMinutes } == Int(booked))
        #expect(utilisation.availableMinutes == 4 * 540 * query.days)
        #expect(utilisation.bookingsHeat.joined().reduce(0, +) == expected.scheduled)
        for currency in ["KZT", "GBP"] {
            #expect(utilisation.revenueHeat[currency]?.joined().reduce(0, +) ?? 0 == paid[currency] ?? 0)
        }
        let staffReport = try await shop.reports.staff(query).figures
        #expect(staffReport.staff.reduce(0) { $0 + $1.bookedMinutes } == Int(booked))
        // The dashboard's week is the same numbers as the reports over that week.
        let today = date("2026-03-29")
        let dashboard = try await shop.reports.dashboard(today: today)
        let week = ReportQuery(from: today.weekStart, to: today, compare: false)
        #expect(dashboard.week.bookings == (try await shop.reports.bookings(week)).figures.counts)
        let weekRevenue = try await shop.reports.revenue(week).figures
        #expect(dashboard.week.netMinor == Dictionary(uniqueKeysWithValues: weekRevenue.currencies.filter { $0.payments + $0.refunds > 0 }.map { ($0.currency, $0.netMinor) }))
        #expect(dashboard.week.bookedMinutes == (try await shop.reports.utilisation(week)).figures.bookedMinutes)
        // The rollups (above) and the direct computation from the facts give the same results.
        let direct = shop.reports.direct
        for q in [query, week] {
            #expect(try await shop.reports.revenue(q) == direct.revenue(q))
            #expect(try await shop.reports.bookings(q) == direct.bookings(q))
            #expect(try await shop.reports.utilisation(q) == direct.utilisation(q))
            #expect(try await shop.reports.staff(q) == direct.staff(q))
            #expect(try await shop.reports.stock(q) == direct.stock(q))
        }
        #expect(dashboard == (try await direct.dashboard(today: today)))
    }
}
