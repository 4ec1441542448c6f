import Replication

enum DashboardBuilder {
    /// Today and this week at a glance, with the last 14 days as a sparkline: one computation of
    /// the same facts the reports use (payments, visits, utilisation) over the 14 days, summed
    /// into the windows.
    static func figures(today: LocalDate, branches: [BranchID]?, freshness: [BranchFreshness], source: ReportSource,
                        in context: some QueryContext) throws -> DashboardFigures {
        let scope = try ReportScope(ReportQuery(from: today.adding(days: -13), to: today, branches: branches, compare: false), source: source, in: context)
        let payments = try MoneyFacts.payments(scope, in: context)
        let visits = try BookingFacts.visits(scope, in: context)
        let utilisation = try UtilisationFacts.compute(scope, in: context)
        func window(_ from: LocalDate, _ to: LocalDate) -> DashboardFigures.Window {
            let inside: (LocalDate) -> Bool = { $0 >= from && $0 <= to }
            let available = utilisation.dayAvailable.filter { inside($0.key) }.values.reduce(0, +)
            let booked = utilisation.dayBooked.filter { inside($0.key) }.values.reduce(0, +)
            return DashboardFigures.Window(from: from, to: to, netMinor: MoneyFacts.net(payments.filter { inside($0.day) }),
                                           bookings: BookingFacts.counts(visits.filter { inside($0.day) }),
                                           availableMinutes: Int(available / 60_000), bookedMinutes: Int(booked / 60_000))
        }
        let days = scope.dates.map { date in
            let day = window(date, date)
            return DashboardFigures.Day(date: date, netMinor: day.netMinor, scheduled: day.bookings.scheduled, noShows: day.bookings.noShows,
                                        availableMinutes: day.availableMinutes, bookedMinutes: day.bookedMinutes)
        }
        return DashboardFigures(today: window(today, today), week: window(today.weekStart, today), sparkline: days, freshness: freshness)
    }
}

enum FreshnessBuilder {
    /// Per branch of the scope: the boxes certified for it (each one's newest changeset held here)
    /// and the newest fact about it this replica holds.
    static func freshness(_ branches: [Branch], boxes: [String: [BranchFreshness.Box]], in context: some QueryContext) throws -> [BranchFreshness] {
        try branches.map { branch in
            let id = SQLValue.text(branch.id.rawValue)
            let newest = try context.fetchOne("""
                SELECT max(coalesce((SELECT max(created_at) FROM appointments WHERE branch_id = ?1), 0),
                           coalesce((SELECT max(created_at) FROM sales WHERE branch_id = ?1), 0),
                           coalesce((SELECT max(at) FROM stock_movements WHERE branch_id = ?1), 0)) AS newest
                """, [id])?["newest"].int64 ?? 0
            return BranchFreshness(branchID: branch.id, name: branch.name, timeZone: branch.timeZone, currency: branch.currency,
                                   boxes: boxes[branch.id.rawValue] ?? [], newestFactAt: newest > 0 ? Instant(milliseconds: newest) : nil)
        }
    }
}
