import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

@Suite("Reports: local days and hours across Europe/London's DST changes; bad ranges")
struct ReportDSTTests {
    let london = BranchID(trusted: "01900000-0000-7000-8000-00000000b001")

    func history() throws -> (ReportHistory, StaffID, OfferingID) {
        let h = try ReportHistory(now: "2026-12-01T00:00:00Z", home: london)
        try h.branch(london, "London", zone: "Europe/London", currency: "GBP", hours: hours("00:00", "24:00"))
        let staff = try h.staff(london, "Ben")
        let trim = try h.offering(london, "Trim", category: "hair", minutes: 30, price: 1000, currency: "GBP")
        return (h, staff, trim)
    }

    @Test("spring forward: 29 March 2026 is one local day of 23 hours, and 01:00–02:00 does not happen")
    func springForward() async throws {
        let (h, _, _) = try history()
        let figures = try await h.shop.reports.utilisation(ReportQuery(from: date("2026-03-28"), to: date("2026-03-30"), branches: [london])).figures
        #expect(figures.byDay.count == 3)
        #expect(figures.byDay.mapValues(\.availableMinutes) == [date("2026-03-28"): 1440, date("2026-03-29"): 1380, date("2026-03-30"): 1440])
        #expect(figures.byHour[1].availableMinutes == 120)
        #expect(figures.byHour.enumerated().filter { $0.offset != 1 }.allSatisfy { $0.element.availableMinutes == 180 })
    }

    @Test("fall back: 25 October 2026 is one local day of 25 hours; both 01:30s are in hour 1 of that day; payments fall in their local day")
    func fallBack() async throws {
        let (h, staff, trim) = try history()
        let first = instant("2026-10-25T00:30:00Z"), second = instant("2026-10-25T01:30:00Z") // 01:30 BST, then 01:30 GMT
        #expect(h.zones[london]!.localMinutes(of: first) == 90 && h.zones[london]!.localMinutes(of: second) == 90)
        for start in [first, second] {
            try h.appointment(london, client: nil, [ReportHistory.Item(offering: trim, staff: staff, start: start, minutes: 30)], status: .completed,
                              created: instant("2026-10-20T12:00:00Z"), currency: "GBP")
        }
        let sale = try h.sale(london, currency: "GBP", client: nil, lines: [ReportHistory.line(.service, trim.rawValue, staff: staff, unit: 1000)],
                              at: instant("2026-10-23T22:00:00Z"))
        try h.pay(sale, .cash, 1, at: instant("2026-10-23T22:59:00Z"), currency: "GBP")   // 23:59 BST on the 23rd: outside
        try h.pay(sale, .cash, 10, at: instant("2026-10-23T23:30:00Z"), currency: "GBP")  // 00:30 BST on the 24th
        try h.pay(sale, .cash, 100, at: instant("2026-10-24T23:30:00Z"), currency: "GBP") // 00:30 BST on the 25th
        try h.pay(sale, .cash, 1000, at: instant("2026-10-25T23:30:00Z"), currency: "GBP") // 23:30 GMT on the 25th
        try h.pay(sale, .cash, 10000, at: instant("2026-10-26T00:30:00Z"), currency: "GBP") // 00:30 GMT on the 26th
        let query = ReportQuery(from: date("2026-10-24"), to: date("2026-10-26"), branches: [london], compare: false)
        let utilisation = try await h.shop.reports.utilisation(query).figures
        #expect(utilisation.byDay.mapValues(\.availableMinutes) == [date("2026-10-24"): 1440, date("2026-10-25"): 1500, date("2026-10-26"): 1440])
        #expect(utilisation.byDay[date("2026-10-25")]?.bookedMinutes == 60)
        #expect(utilisation.byHour[1] == MinutesBucket(availableMinutes: 240, bookedMinutes: 60))
        #expect(utilisation.byHour.enumerated().filter { $0.offset != 1 }.allSatisfy { $0.element.availableMinutes == 180 })
        #expect(utilisation.bookingsHeat[6][1] == 2)
        #expect(utilisation.revenueHeat["GBP"]?[6][0] == 100 && utilisation.revenueHeat["GBP"]?[6][23] == 1000)
        let revenue = try await h.shop.reports.revenue(query).figures.currencies[0]
        #expect(revenue.byDay == [MoneyBucket(start: date("2026-10-24"), paidMinor: 10, refundedMinor: 0),
                                  MoneyBucket(start: date("2026-10-25"), paidMinor: 1100, refundedMinor: 0),
                                  MoneyBucket(start: date("2026-10-26"), paidMinor: 10000, refundedMinor: 0)])
        #expect(revenue.paidMinor == 11_110)
        let bookings = try await h.shop.reports.bookings(query).figures
        #expect(bookings.counts.completed == 2)
    }

    @Test("bad ranges and arguments are refused with the problem named; nothing is written")
    func badRanges() async throws {
        let (h, _, _) = try history()
        let before = h.shop.store.versionVector
        await #expect(throws: DomainError(.invalidArgument, "the report's range is backwards: 2026-03-01 is before 2026-03-02")) {
            try await h.shop.reports.revenue(ReportQuery(from: date("2026-03-02"), to: date("2026-03-01")))
        }
        await #expect(throws: DomainError(.invalidArgument, "the report's range 2023-01-01…2026-01-01 is longer than 3 years (1097 days)")) {
            try await h.shop.reports.bookings(ReportQuery(from: date("2023-01-01"), to: date("2026-01-01")))
        }
        let longest = try await h.shop.reports.bookings(ReportQuery(from: date("2023-01-01"), to: date("2025-12-31"), compare: false))
        #expect(longest.period.days == 1096)
        // From 29 February: three years on is 1 March (no 29 February then), so up to 28 February is allowed.
        let leap = try await h.shop.reports.bookings(ReportQuery(from: date("2024-02-29"), to: date("2027-02-28"), compare: false))
        #expect(leap.period.days == 1096)
        await #expect(throws: DomainError(.invalidArgument, "the report's range 2024-02-29…2027-03-01 is longer than 3 years (1097 days)")) {
            try await h.shop.reports.bookings(ReportQuery(from: date("2024-02-29"), to: date("2027-03-01")))
        }
        await #expect(throws: DomainError.self) { try await h.shop.reports.clients(ReportQuery(from: date("2026-03-01"), to: date("2026-03-01")), notSeenForDays: 0) }
        await #expect(throws: DomainError.self) { try await h.shop.reports.stock(ReportQuery(from: date("2026-03-01"), to: date("2026-03-01")), slowMoverMaximum: -1) }
        do {
            _ = try await h.shop.reports.utilisation(ReportQuery(from: date("2026-03-01"), to: date("2026-03-01"), branches: [BranchID(trusted: "01900000-0000-7000-8000-0000000000ff")]))
            Issue.record("an unknown branch was accepted")
        } catch let error as DomainError {
            #expect(error.code == .notFound)
        }
        #expect(h.shop.store.versionVector == before)
    }
}
