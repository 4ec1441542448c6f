import Replication

/// Owner reports (docs/reports.md): revenue, utilisation, bookings, clients, staff, stock and the
/// dashboard, per branch or for several together, in each branch's time zone, with per-currency
/// subtotals (never converted), the previous period for comparison, and how fresh each branch's
/// data is on this replica.
///
/// One of the shop's per-area components (`Shop.reports`): async, read-only. Every report reads
/// one snapshot on the store's reader connections (`readSnapshot`), never holding the write lock.
///
/// - Throws: `DomainError(.invalidArgument)` for a backwards range or one longer than three years,
///   `.notFound` for an unknown branch.
public struct Reports: Sendable {
    let shop: Shop
    /// Where the figures come from: the rollups (the default; the direct computation for dates they do not cover), or always directly from the facts.
    var source: ReportSource = .rollups

    /// The same reports computed directly from the facts, without the rollups (the reference the tests compare them with).
    package var direct: Reports { Reports(shop: shop, source: .direct) }

    public func revenue(_ query: ReportQuery) async throws -> ReportResult<RevenueFigures> {
        try await shop.perform { try $0.report(query, source: source) { scope, context in try RevenueReportBuilder.figures(scope, in: context) } }
    }

    public func utilisation(_ query: ReportQuery) async throws -> ReportResult<UtilisationFigures> {
        try await shop.perform { try $0.report(query, source: source) { scope, context in try UtilisationReportBuilder.figures(scope, in: context) } }
    }

    public func bookings(_ query: ReportQuery) async throws -> ReportResult<BookingsFigures> {
        try await shop.perform { try $0.report(query, source: source) { scope, context in try BookingsReportBuilder.figures(scope, in: context) } }
    }

    /// - Parameter notSeenForDays: the "not seen for N days" list's N (1…3650).
    public func clients(_ query: ReportQuery, notSeenForDays: Int = 90) async throws -> ReportResult<ClientsFigures> {
        try await shop.perform { try $0.clientsReport(query, notSeenForDays: notSeenForDays, source: source) }
    }

    public func staff(_ query: ReportQuery) async throws -> ReportResult<StaffFigures> {
        try await shop.perform { try $0.report(query, source: source) { scope, context in try StaffReportBuilder.figures(scope, in: context) } }
    }

    /// - Parameter slowMoverMaximum: a product in stock that sold at most this many units in the period is a slow mover (0…1,000,000).
    public func stock(_ query: ReportQuery, slowMoverMaximum: Int = 0) async throws -> ReportResult<StockFigures> {
        try await shop.perform { try $0.stockReport(query, slowMoverMaximum: slowMoverMaximum, source: source) }
    }

    /// Today and this week (Monday…today) and the last 14 days, for `branches` (nil: all).
    /// - Parameter today: the local date; by default today in the home branch's zone (else the first branch's, else UTC).
    public func dashboard(branches: [BranchID]? = nil, today: LocalDate? = nil) async throws -> DashboardFigures {
        try await shop.perform { try $0.dashboard(branches: branches, today: today, source: source) }
    }
}

extension Shop {
    /// Shop.reports: see `Reports`.
    func report<F>(_ query: ReportQuery, source: ReportSource, _ build: (ReportScope, ReadTransaction) throws -> F) throws -> ReportResult<F> {
        try query.validate()
        let boxes = boxesByBranch()
        return try readSnapshot { transaction in
            let scope = try ReportScope(query, source: source, in: transaction)
            let figures = try build(scope, transaction)
            var previous: F?
            var previousPeriod: ReportPeriod?
            if query.compare {
                let earlier = query.previous
                previous = try build(try ReportScope(earlier, source: source, in: transaction), transaction)
                previousPeriod = ReportPeriod(from: earlier.from, to: earlier.to, days: earlier.days)
            }
            return ReportResult(period: ReportPeriod(from: query.from, to: query.to, days: query.days), branches: scope.branchIDs, figures: figures,
                                previousPeriod: previousPeriod, previous: previous,
                                freshness: try FreshnessBuilder.freshness(scope.branches.map(\.branch), boxes: boxes, in: transaction))
        }
    }

    package func clientsReport(_ query: ReportQuery, notSeenForDays: Int, source: ReportSource = .rollups) throws -> ReportResult<ClientsFigures> {
        guard (1...3650).contains(notSeenForDays) else {
            throw DomainError(.invalidArgument, "not seen for \(notSeenForDays) days: the number of days must be 1…3650")
        }
        let now = self.now
        return try report(query, source: source) { scope, context in try ClientsReportBuilder.figures(scope, now: now, notSeenForDays: notSeenForDays, in: context) }
    }

    package func stockReport(_ query: ReportQuery, slowMoverMaximum: Int, source: ReportSource = .rollups) throws -> ReportResult<StockFigures> {
        guard (0...1_000_000).contains(slowMoverMaximum) else {
            throw DomainError(.invalidArgument, "slow movers sold at most \(slowMoverMaximum) units: the number must be 0…1000000")
        }
        return try report(query, source: source) { scope, context in try StockReportBuilder.figures(scope, slowMoverMaximum: slowMoverMaximum, in: context) }
    }

    package func dashboard(branches: [BranchID]?, today: LocalDate?, source: ReportSource = .rollups) throws -> DashboardFigures {
        let boxes = boxesByBranch()
        let now = self.now
        return try readSnapshot { transaction in
            let date: LocalDate
            if let today {
                date = today
            } else {
                var zoneBranch = homeBranch.flatMap { home in branches == nil || branches!.contains(home) ? home : nil } ?? branches?.first
                if zoneBranch == nil {
                    zoneBranch = try transaction.fetchOne("SELECT id FROM branches ORDER BY name, id", []).flatMap { BranchID($0["id"].string) }
                }
                let zone = try zoneBranch.map { try ZoneRules.named(try Loader.branch($0, in: transaction).timeZone) } ?? ZoneRules.named("UTC")
                date = zone.localDate(of: now)
            }
            let scope = try ReportScope(ReportQuery(from: date, to: date, branches: branches, compare: false), source: source, in: transaction)
            let freshness = try FreshnessBuilder.freshness(scope.branches.map(\.branch), boxes: boxes, in: transaction)
            return try DashboardBuilder.figures(today: date, branches: branches, freshness: freshness, source: source, in: transaction)
        }
    }

    /// Rebuilds the report rollups (`ReportRollups`) from scratch (the benchmark times it; a rebuild of all derived state does it too).
    package func rebuildReportRollups() throws {
        try store.write { transaction in try ReportRollups.rebuild(in: transaction) }
    }

    /// The boxes whose newest certificate names each branch, with the newest changeset of each this replica holds.
    func boxesByBranch() -> [String: [BranchFreshness.Box]] {
        let vector = store.versionVector
        var result: [String: [BranchFreshness.Box]] = [:]
        for (site, certificates) in store.trustStore.certificates {
            guard let branch = certificates.last?.branch, !branch.isEmpty else { continue }
            result[branch, default: []].append(BranchFreshness.Box(site: site.hex, sequence: vector[site]))
        }
        return result.mapValues { $0.sorted { $0.site < $1.site } }
    }
}
