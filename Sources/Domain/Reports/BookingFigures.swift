import Replication

/// Booking figures from `appointments` and `appointment_events` (docs/reports.md, "Bookings").
enum BookingFacts {
    /// Statuses a booking never reached: a hold (not yet a booking) and a rejected request.
    static let notBookings = "('held', 'rejected')"

    /// Appointments whose visit starts in the period, by branch, status, late cancellation and local day.
    struct VisitGroup {
        var branch: String
        var status: String
        var late: Bool
        var day: LocalDate
        var count: Int
    }

    static func visits(_ scope: ReportScope, in context: some QueryContext) throws -> [VisitGroup] {
        let seg = scope.segmentTable, range = scope.rollupRange
        let rows = scope.rollups ? try context.fetchAll("""
            SELECT branch_id AS branch, status, late, day, n FROM local_report_visit_days WHERE \(range.sql)
            """, range.arguments) : try context.fetchAll("""
            WITH \(seg.sql)
            SELECT a.branch_id AS branch, a.status AS status, a.late_cancellation AS late, \(ReportScope.localDay("a.starts_at")) AS day, count(*) AS n
            FROM seg JOIN appointments a ON a.branch_id = seg.branch_id AND a.starts_at >= seg.s AND a.starts_at < seg.e
            WHERE a.status NOT IN \(notBookings)
            GROUP BY branch, status, late, day
            """, seg.arguments)
        return rows.map {
            VisitGroup(branch: $0["branch"].string, status: $0["status"].string, late: $0["late"].bool, day: LocalDate(daysSinceEpoch: $0["day"].int),
                       count: $0["n"].int)
        }
    }

    static func add(status: String, late: Bool, count: Int, to counts: inout BookingCounts) {
        counts.scheduled += count
        switch AppointmentStatus(rawValue: status) {
        case .completed: counts.completed += count
        case .cancelled:
            counts.cancelled += count
            if late { counts.lateCancelled += count }
        case .noShow: counts.noShows += count
        default: counts.open += count
        }
    }

    static func counts(_ groups: [VisitGroup]) -> BookingCounts {
        var counts = BookingCounts()
        for group in groups { add(status: group.status, late: group.late, count: group.count, to: &counts) }
        return counts
    }

    /// Per service or staff member (`column`: `offering_id` or `staff_id` of the items in
    /// `local_appointment_items`): an appointment counts once for each distinct service (or staff member) among its items.
    static func byItem(_ column: String, _ scope: ReportScope, in context: some QueryContext) throws -> [String: BookingCounts] {
        let seg = scope.segmentTable, range = scope.rollupRange
        var result: [String: BookingCounts] = [:]
        if scope.rollups {
            for row in try context.fetchAll("""
                SELECT subject, status, late, sum(n) AS n FROM local_report_subject_days WHERE \(range.sql) AND kind = ? GROUP BY subject, status, late
                """, range.arguments + [.text(column == "offering_id" ? "offering" : "staff")]) {
                add(status: row["status"].string, late: row["late"].bool, count: row["n"].int, to: &result[row["subject"].string, default: BookingCounts()])
            }
            return result
        }
        for row in try context.fetchAll("""
            WITH \(seg.sql)
            SELECT i.\(column) AS subject, a.status AS status, a.late_cancellation AS late, count(DISTINCT a.id) AS n
            FROM seg JOIN appointments a ON a.branch_id = seg.branch_id AND a.starts_at >= seg.s AND a.starts_at < seg.e
            JOIN local_appointment_items i ON i.appointment_id = a.id
            WHERE a.status NOT IN \(notBookings)
            GROUP BY subject, status, late
            """, seg.arguments) {
            add(status: row["status"].string, late: row["late"].bool, count: row["n"].int, to: &result[row["subject"].string, default: BookingCounts()])
        }
        return result
    }
}

enum BookingsReportBuilder {
    static func figures(_ scope: ReportScope, in context: some QueryContext) throws -> BookingsFigures {
        let seg = scope.segmentTable, range = scope.rollupRange
        let visits = try BookingFacts.visits(scope, in: context)
        var names = MoneyFacts.Names(context)
        var bySource: [String: Int] = [:]
        var created = 0, elsewhere = 0
        let createdRows = scope.rollups ? try context.fetchAll("""
            SELECT source, sum(n) AS n, sum(elsewhere) AS elsewhere FROM local_report_created_days WHERE \(range.sql) GROUP BY source
            """, range.arguments) : try context.fetchAll("""
            WITH \(seg.sql)
            SELECT a.source AS source, count(*) AS n,
                   sum(EXISTS (SELECT 1 FROM appointment_events e WHERE e.appointment_id = a.id AND e.to_status = 'requested'
                                 AND (e.action = 'created' OR e.from_status = 'held'))) AS elsewhere
            FROM seg JOIN appointments a ON a.branch_id = seg.branch_id AND a.created_at >= seg.s AND a.created_at < seg.e
            WHERE a.status NOT IN \(BookingFacts.notBookings)
            GROUP BY a.source
            """, seg.arguments)
        for row in createdRows {
            bySource[row["source"].string, default: 0] += row["n"].int
            created += row["n"].int
            elsewhere += row["elsewhere"].int
        }
        var lead: [String: Int] = [:]
        let leadRows = scope.rollups ? try context.fetchAll("""
            SELECT lead AS bucket, sum(n) AS n FROM local_report_lead_days WHERE \(range.sql) GROUP BY lead
            """, range.arguments) : try context.fetchAll("""
            WITH \(seg.sql)
            SELECT CASE WHEN a.starts_at - a.created_at < 3600000 THEN 'same_hour'
                        WHEN a.starts_at - a.created_at < 86400000 THEN 'same_day'
                        WHEN a.starts_at - a.created_at < 3 * 86400000 THEN 'days_1_3'
                        WHEN a.starts_at - a.created_at < 7 * 86400000 THEN 'days_3_7'
                        WHEN a.starts_at - a.created_at < 30 * 86400000 THEN 'days_7_30'
                        ELSE 'days_30_plus' END AS bucket, count(*) AS n
            FROM seg JOIN appointments a ON a.branch_id = seg.branch_id AND a.starts_at >= seg.s AND a.starts_at < seg.e
            WHERE a.status NOT IN \(BookingFacts.notBookings)
            GROUP BY bucket
            """, seg.arguments)
        for row in leadRows {
            lead[row["bucket"].string] = row["n"].int
        }
        let services = try BookingFacts.byItem("offering_id", scope, in: context).map {
            BookingsRow(key: $0.key, name: try names.lookup("offerings", $0.key).name, counts: $0.value)
        }
        let staff = try BookingFacts.byItem("staff_id", scope, in: context).map {
            BookingsRow(key: $0.key, name: try names.lookup("staff", $0.key).name, counts: $0.value)
        }
        let branches = scope.branches.map { info in
            BookingsRow(key: info.branch.id.rawValue, name: info.branch.name, counts: BookingFacts.counts(visits.filter { $0.branch == info.branch.id.rawValue }))
        }
        let order: (BookingsRow, BookingsRow) -> Bool = { ($1.counts.scheduled, $0.key) < ($0.counts.scheduled, $1.key) }
        return BookingsFigures(created: created, counts: BookingFacts.counts(visits), byService: services.sorted(by: order), byStaff: staff.sorted(by: order),
                               byBranch: branches, bySource: bySource, bookedElsewhere: elsewhere, leadTime: lead)
    }
}
