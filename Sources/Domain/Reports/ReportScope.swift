import Replication

/// Where report figures come from: the rollups (`ReportRollups`), or the direct computation from
/// the facts, which is the reference the rollups are tested against.
package enum ReportSource: Sendable {
    case rollups, direct
}

/// The branches a report covers and, for each, its local days of the period as UTC segments of
/// constant offset (a local day is 23 or 25 hours across a DST change).
///
/// SQL sees them as a common table `seg(branch_id, s, e, off)` — `[s, e)` in UTC milliseconds
/// and the offset in milliseconds in force throughout — so a fact at `t` of branch `b` is in the
/// period exactly when it joins a segment of `b`, and its local day, hour and weekday are plain
/// integer arithmetic on `t + off` (see `localDay`, `localHour`, `localWeekday`).
struct ReportScope {
    struct BranchInfo {
        var branch: Branch
        var zone: ZoneRules
        /// [start of `from`, start of the day after `to`) in the branch's zone.
        var start: Instant
        var end: Instant
    }
    struct Segment {
        var branch: String
        var start: Int64
        var end: Int64
        var offset: Int64
    }

    let query: ReportQuery
    let branches: [BranchInfo]
    let segments: [Segment]
    /// Whether this scope reads the rollups: asked for, and the dates are within the ones they cover.
    let rollups: Bool

    static let dayMilliseconds: Int64 = 86_400_000

    /// - Throws: `.invalidArgument` for a bad range, `.notFound` for an unknown branch.
    init(_ query: ReportQuery, source: ReportSource, in context: some QueryContext) throws {
        try query.validate()
        self.query = query
        self.rollups = source == .rollups && query.from >= ReportRollups.coveredFrom && query.to <= ReportRollups.coveredTo
        let ids: [BranchID]
        if let chosen = query.branches {
            var seen = Set<BranchID>()
            ids = chosen.filter { seen.insert($0).inserted }
        } else {
            ids = try context.fetchAll("SELECT id FROM branches ORDER BY name, id", []).compactMap { BranchID($0["id"].string) }
        }
        var branches: [BranchInfo] = []
        var segments: [Segment] = []
        for id in ids {
            let branch = try Loader.branch(id, in: context)
            let zone = try ZoneRules.named(branch.timeZone)
            let start = zone.startOfDay(query.from), end = zone.startOfDay(query.to.adding(days: 1))
            branches.append(BranchInfo(branch: branch, zone: zone, start: start, end: end))
            segments += Self.segments(branch: id.rawValue, zone: zone, from: start.milliseconds, to: end.milliseconds)
        }
        self.branches = branches
        self.segments = segments
    }

    /// [from, to) cut where the zone's offset changes.
    static func segments(branch: String, zone: ZoneRules, from: Int64, to: Int64) -> [Segment] {
        func offset(_ t: Int64) -> Int64 { Int64(zone.offsetSeconds(at: Instant(milliseconds: t))) * 1000 }
        var result: [Segment] = []
        var start = from
        while start < to {
            let current = offset(start)
            // Walk day by day to the first day whose end has another offset, then bisect.
            var probe = start
            var end = to
            while probe < to {
                let next = min(probe + dayMilliseconds, to)
                if offset(next - 1) != current {
                    var low = max(start, probe - 1), high = next - 1 // offset(low) == current, offset(high) != current
                    while high - low > 1 {
                        let middle = low + (high - low) / 2
                        if offset(middle) == current { low = middle } else { high = middle }
                    }
                    end = high
                    break
                }
                probe = next
            }
            result.append(Segment(branch: branch, start: start, end: end, offset: current))
            start = end
        }
        return result
    }

    var branchIDs: [BranchID] { branches.map(\.branch.id) }

    /// The earliest segment start and the latest segment end: a range an index on time can scan
    /// once for every branch (facts whose branch is known only through a join, such as payments).
    var bounds: [SQLValue] {
        [.integer(segments.map(\.start).min() ?? 0), .integer(segments.map(\.end).max() ?? 0)]
    }

    /// Payments (`local_payment_state p`) of the period joined to their sale (`s`) and segment:
    /// one scan of the time index, then the sale by its key.
    static let paymentsInPeriod = """
        local_payment_state p INDEXED BY local_payment_state_by_time CROSS JOIN sales s ON s.id = p.sale_id
        CROSS JOIN seg ON seg.branch_id = s.branch_id AND p.created_at >= seg.s AND p.created_at < seg.e
        """

    /// `WITH seg(branch_id, s, e, off) AS (VALUES …)` and its arguments (one impossible row when
    /// there are no branches, so the statement still prepares).
    var segmentTable: (sql: String, arguments: [SQLValue]) {
        guard !segments.isEmpty else { return ("seg(branch_id, s, e, off) AS (SELECT '', 0, 0, 0)", []) }
        let values = segments.map { _ in "(?, ?, ?, ?)" }.joined(separator: ", ")
        return ("seg(branch_id, s, e, off) AS (VALUES \(values))",
                segments.flatMap { [SQLValue.text($0.branch), .integer($0.start), .integer($0.end), .integer($0.offset)] })
    }

    /// The local days of the period, as days since 1970-01-01 (the rollups' `day`), for `day BETWEEN ? AND ?`.
    var dayBounds: [SQLValue] { [.int(query.from.daysSinceEpoch), .int(query.to.daysSinceEpoch)] }

    /// `branch_id IN (…) AND day BETWEEN ? AND ? AND n != 0` over a rollup, and its arguments.
    var rollupRange: (sql: String, arguments: [SQLValue]) {
        let list = branchList
        return ("branch_id IN \(list.sql) AND day BETWEEN ? AND ? AND n != 0", list.arguments + dayBounds)
    }

    /// `(?, ?, …)` of the branch ids and the arguments.
    var branchList: (sql: String, arguments: [SQLValue]) {
        guard !branches.isEmpty else { return ("('')", []) }
        return ("(" + branches.map { _ in "?" }.joined(separator: ", ") + ")", branches.map { .text($0.branch.id.rawValue) })
    }

    /// SQL expressions of a local instant `t + seg.off`.
    static func localDay(_ t: String) -> String { "((\(t) + seg.off) / 86400000)" }
    static func localHour(_ t: String) -> String { "(((\(t) + seg.off) % 86400000) / 3600000)" }
    /// ISO weekday − 1 (Monday = 0): 1970-01-01 was a Thursday.
    static func localWeekdayIndex(_ t: String) -> String { "((((\(t) + seg.off) / 86400000) + 3) % 7)" }

    func info(_ id: String) -> BranchInfo? { branches.first { $0.branch.id.rawValue == id } }

    /// Every local date of the period.
    var dates: [LocalDate] { (0..<query.days).map { query.from.adding(days: $0) } }
}

/// Rounds `numerator / denominator` half away from zero (money: no floating point).
func roundedDivision(_ numerator: Int64, _ denominator: Int64) -> Int64 {
    guard denominator != 0 else { return 0 }
    let quotient = numerator / denominator, remainder = numerator % denominator
    if 2 * abs(remainder) >= abs(denominator) { return quotient + ((numerator < 0) != (denominator < 0) ? -1 : 1) }
    return quotient
}

extension LocalDate {
    /// The Monday of its ISO week.
    var weekStart: LocalDate { adding(days: -(weekday.rawValue - 1)) }
    var monthStart: LocalDate { LocalDate(year: year, month: month, day: 1)! }
}
