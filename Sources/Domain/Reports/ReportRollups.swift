import Replication
import Synchronization

/// Pre-aggregated report figures (docs/reports.md, "How the figures are computed"): local tables
/// derived from the replicated facts, kept exact by the change observer in every transaction that
/// changes their sources (local writes and merges alike) and rebuilt from scratch by a rebuild.
///
/// Two layers:
/// - a **memo** per fact (`local_report_payments`, `local_report_sales`, `local_report_lines`,
///   `local_report_tips`, `local_report_appointments`, `local_report_subjects`): the fact's
///   contribution — its branch, local day (and hour) in the branch's zone and its values — as the
///   reports count it (only counting payments, only sales that are not voided, only appointments
///   that are bookings);
/// - **rollups** (`local_report_*_days`, `*_hours`): the memo summed per branch × local day (× hour)
///   × currency × method/status/service/staff, with `n` the number of memo rows in the group.
///
/// A changed fact is maintained by exact deltas: its old memo rows are subtracted from every rollup,
/// replaced by the rows its current state gives, and those are added (a group whose `n` is 0 is
/// kept, and never read). The local day of an instant comes from `local_report_offsets`: each
/// branch's zone cut into segments of constant UTC offset from 1960 to 2100 (`coveredFrom` …
/// `coveredTo`), rebuilt with the branch's facts when its time zone changes.
package enum ReportRollups {
    /// Local dates a report may read from the rollups (outside them the direct computation runs).
    static let coveredFrom = LocalDate(year: 1970, month: 1, day: 1)!
    static let coveredTo = LocalDate(year: 2099, month: 12, day: 31)!
    /// The offsets cover a margin beyond them.
    static let offsetsFrom = LocalDate(year: 1960, month: 1, day: 1)!
    static let offsetsTo = LocalDate(year: 2100, month: 1, day: 2)!

    /// Whether the change observer maintains the rollups (the benchmark turns it off to measure what
    /// it costs, then rebuilds). Always on otherwise.
    package static let maintained = Atomic<Bool>(true)

    // MARK: Memos and rollups

    struct Rollup: Sendable {
        var table: String
        /// Rollup column ← memo expression.
        var keys: [(String, String)]
        /// Summed columns (besides `n`) ← memo expression.
        var sums: [(String, String)]
        var filter = "1"
    }

    struct Memo: Sendable {
        var table: String
        /// The memo column naming the fact (what the observer marks dirty).
        var fact: String
        var columns: String
        /// The memo rows of the facts selected by `condition` (SQL over the source, `?1` a JSON array of ids).
        var select: @Sendable (_ condition: String) -> String
        /// The source column the condition applies to.
        var source: String
        var rollups: [Rollup]
    }

    /// `(SELECT off …)`: the UTC offset (ms) of branch `branch` at instant `t`, NULL outside the offsets.
    static func offset(_ branch: String, _ t: String) -> String {
        "(SELECT z.off FROM local_report_offsets z WHERE z.branch_id = \(branch) AND z.s <= \(t) AND z.e > \(t) ORDER BY z.s DESC LIMIT 1)"
    }

    static let payments = Memo(
        table: "local_report_payments", fact: "payment_id",
        columns: "(payment_id, sale_id, branch_id, currency, kind, method, day, hour, amount_minor, client, created_at)",
        select: { condition in """
            SELECT payment_id, sale_id, branch_id, currency, kind, method, (t + off) / 86400000, ((t + off) % 86400000) / 3600000, amount_minor,
                   client, t FROM (
                SELECT p.payment_id AS payment_id, p.sale_id AS sale_id, s.branch_id AS branch_id, s.currency AS currency, p.kind AS kind,
                       p.method AS method, p.created_at AS t, p.amount_minor AS amount_minor, \(offset("s.branch_id", "p.created_at")) AS off,
                       CASE WHEN s.client_id = '' THEN '' ELSE \(resolvedClient("s.client_id")) END AS client
                FROM local_payment_state p JOIN sales s ON s.id = p.sale_id
                WHERE \(condition) AND p.counts = 1 AND p.kind IN ('payment', 'refund'))
            WHERE off IS NOT NULL
            """ },
        source: "p.payment_id",
        rollups: [
            Rollup(table: "local_report_payment_days", keys: [("branch_id", "branch_id"), ("day", "day"), ("currency", "currency"), ("kind", "kind"), ("method", "method")],
                   sums: [("amount_minor", "amount_minor")]),
            Rollup(table: "local_report_payment_hours", keys: [("branch_id", "branch_id"), ("day", "day"), ("hour", "hour"), ("currency", "currency"), ("kind", "kind")],
                   sums: [("amount_minor", "amount_minor")]),
            Rollup(table: "local_report_client_money", keys: [("client", "client"), ("currency", "currency")],
                   sums: [("net", "CASE WHEN kind = 'refund' THEN -amount_minor ELSE amount_minor END")], filter: "client != ''"),
            Rollup(table: "local_report_client_payers", keys: [("client", "client"), ("branch_id", "branch_id")], sums: [], filter: "client != ''"),
        ])

    /// The client a client id counts as: the one it was merged into, else itself.
    static func resolvedClient(_ id: String) -> String {
        "coalesce(nullif((SELECT c.merged_into FROM clients c WHERE c.id = \(id)), ''), \(id))"
    }

    /// Completed visits of client records (the clients report), by the client they count as, with
    /// the number of them per client and branch.
    static let clientVisits = Memo(
        table: "local_report_client_visits", fact: "appointment_id",
        columns: "(appointment_id, client, branch_id, start)",
        select: { condition in """
            SELECT a.id, \(resolvedClient("a.client_id")), a.branch_id, a.starts_at FROM appointments a
            WHERE \(condition) AND +a.status = 'completed' AND a.client_id != ''
            """ },
        source: "a.id",
        rollups: [
            Rollup(table: "local_report_client_branches", keys: [("client", "client"), ("branch_id", "branch_id")], sums: []),
        ])

    static let notVoided = "NOT EXISTS (SELECT 1 FROM sale_voids v WHERE v.sale_id = s.id)"

    static let sales = Memo(
        table: "local_report_sales", fact: "sale_id",
        columns: "(sale_id, branch_id, currency, day, total_minor, discount_minor, tips_minor)",
        select: { condition in """
            SELECT id, branch_id, currency, (t + off) / 86400000, total_minor, discount_minor, tips_minor FROM (
                SELECT s.id AS id, s.branch_id AS branch_id, s.currency AS currency, s.created_at AS t, s.total_minor AS total_minor,
                       s.discount_minor AS discount_minor, s.tips_minor AS tips_minor, \(offset("s.branch_id", "s.created_at")) AS off
                FROM sales s WHERE \(condition) AND \(notVoided))
            WHERE off IS NOT NULL
            """ },
        source: "s.id",
        rollups: [
            Rollup(table: "local_report_sale_days", keys: [("branch_id", "branch_id"), ("day", "day"), ("currency", "currency")],
                   sums: [("total_minor", "total_minor"), ("discount_minor", "discount_minor"), ("tips_minor", "tips_minor")]),
        ])

    static let lines = Memo(
        table: "local_report_lines", fact: "sale_id",
        columns: "(sale_id, position, branch_id, currency, day, kind, reference, staff_id, quantity, total_minor)",
        select: { condition in """
            SELECT m.sale_id, l.position, m.branch_id, m.currency, m.day, l.kind, l.reference, l.staff_id, l.quantity, l.total_minor
            FROM local_report_sales m JOIN local_sale_lines l ON l.sale_id = m.sale_id WHERE \(condition)
            """ },
        source: "m.sale_id",
        rollups: [
            Rollup(table: "local_report_line_days", keys: [("branch_id", "branch_id"), ("day", "day"), ("currency", "currency"), ("kind", "kind"), ("reference", "reference")],
                   sums: [("quantity", "quantity"), ("total_minor", "total_minor")]),
            Rollup(table: "local_report_line_staff_days", keys: [("branch_id", "branch_id"), ("day", "day"), ("currency", "currency"), ("staff_id", "staff_id")],
                   sums: [("quantity", "quantity"), ("total_minor", "total_minor")], filter: "staff_id != ''"),
        ])

    static let tips = Memo(
        table: "local_report_tips", fact: "sale_id",
        columns: "(sale_id, branch_id, currency, day, staff_id, amount_minor)",
        select: { condition in """
            SELECT m.sale_id, m.branch_id, m.currency, m.day, t.staff_id, t.amount_minor
            FROM local_report_sales m JOIN local_sale_tips t ON t.sale_id = m.sale_id WHERE \(condition)
            """ },
        source: "m.sale_id",
        rollups: [
            Rollup(table: "local_report_tip_days", keys: [("branch_id", "branch_id"), ("day", "day"), ("currency", "currency"), ("staff_id", "staff_id")],
                   sums: [("amount_minor", "amount_minor")]),
        ])

    static let appointments = Memo(
        table: "local_report_appointments", fact: "appointment_id",
        columns: "(appointment_id, branch_id, day, hour, status, late, created_day, source, elsewhere, lead, client_id, created_at)",
        select: { condition in """
            SELECT id, branch_id, (t + off) / 86400000, ((t + off) % 86400000) / 3600000, status, late, (c + coff) / 86400000, source, elsewhere,
                   CASE WHEN t - c < 3600000 THEN 'same_hour' WHEN t - c < 86400000 THEN 'same_day' WHEN t - c < 3 * 86400000 THEN 'days_1_3'
                        WHEN t - c < 7 * 86400000 THEN 'days_3_7' WHEN t - c < 30 * 86400000 THEN 'days_7_30' ELSE 'days_30_plus' END, client_id, c
            FROM (
                SELECT a.id AS id, a.branch_id AS branch_id, a.starts_at AS t, a.created_at AS c, a.status AS status, a.late_cancellation AS late,
                       a.source AS source, a.client_id AS client_id, \(offset("a.branch_id", "a.starts_at")) AS off, \(offset("a.branch_id", "a.created_at")) AS coff,
                       EXISTS (SELECT 1 FROM appointment_events e WHERE e.appointment_id = a.id AND e.to_status = 'requested'
                               AND (e.action = 'created' OR e.from_status = 'held')) AS elsewhere
                FROM appointments a WHERE \(condition) AND a.status NOT IN \(BookingFacts.notBookings))
            WHERE off IS NOT NULL
            """ },
        source: "a.id",
        rollups: [
            Rollup(table: "local_report_visit_days", keys: [("branch_id", "branch_id"), ("day", "day"), ("status", "status"), ("late", "late")], sums: []),
            Rollup(table: "local_report_visit_hours", keys: [("branch_id", "branch_id"), ("day", "day"), ("hour", "hour")], sums: []),
            Rollup(table: "local_report_created_days", keys: [("branch_id", "branch_id"), ("day", "created_day"), ("source", "source")],
                   sums: [("elsewhere", "elsewhere")], filter: "created_day IS NOT NULL"),
            Rollup(table: "local_report_lead_days", keys: [("branch_id", "branch_id"), ("day", "day"), ("lead", "lead")], sums: []),
        ])

    static let subjects = Memo(
        table: "local_report_subjects", fact: "appointment_id",
        columns: "(appointment_id, kind, subject, branch_id, day, status, late, items)",
        select: { condition in """
            SELECT m.appointment_id, 'offering', i.offering_id, m.branch_id, m.day, m.status, m.late, count(*)
            FROM local_report_appointments m JOIN local_appointment_items i ON i.appointment_id = m.appointment_id WHERE \(condition)
            GROUP BY m.appointment_id, i.offering_id
            UNION ALL
            SELECT m.appointment_id, 'staff', i.staff_id, m.branch_id, m.day, m.status, m.late, count(*)
            FROM local_report_appointments m JOIN local_appointment_items i ON i.appointment_id = m.appointment_id WHERE \(condition)
            GROUP BY m.appointment_id, i.staff_id
            """ },
        source: "m.appointment_id",
        rollups: [
            Rollup(table: "local_report_subject_days",
                   keys: [("branch_id", "branch_id"), ("day", "day"), ("kind", "kind"), ("subject", "subject"), ("status", "status"), ("late", "late")],
                   sums: [("items", "items")]),
        ])

    /// Completed visits per staff member of the visit (the staff report): whether the client booked
    /// again the same local day (another appointment, not held or rejected, starting later and created
    /// that local day by the offset at the visit's start), and the visit's ratings 1…5.
    static let staffVisits = Memo(
        table: "local_report_staff_visits", fact: "appointment_id",
        columns: "(appointment_id, staff_id, branch_id, day, rebooked, ratings, rating_sum)",
        select: { condition in """
            SELECT v.appointment_id, v.staff_id, v.branch_id, v.day,
                   CASE WHEN v.client = '' THEN 0 ELSE EXISTS (
                       SELECT 1 FROM appointments n WHERE n.client_id = v.client AND n.created_at >= v.day * 86400000 - v.off
                       AND n.created_at < (v.day + 1) * 86400000 - v.off AND n.id != v.appointment_id AND n.starts_at > v.start
                       AND n.status NOT IN \(BookingFacts.notBookings)) END,
                   (SELECT count(*) FROM visit_reviews r WHERE r.appointment_id = v.appointment_id AND r.rating BETWEEN 1 AND 5),
                   (SELECT coalesce(sum(r.rating), 0) FROM visit_reviews r WHERE r.appointment_id = v.appointment_id AND r.rating BETWEEN 1 AND 5)
            FROM (
                SELECT m.appointment_id AS appointment_id, m.subject AS staff_id, m.branch_id AS branch_id, m.day AS day, a.client_id AS client,
                       a.starts_at AS start, \(offset("m.branch_id", "a.starts_at")) AS off
                FROM local_report_subjects m JOIN appointments a ON a.id = m.appointment_id
                WHERE \(condition) AND m.kind = 'staff' AND m.status = 'completed') v
            """ },
        source: "m.appointment_id",
        rollups: [
            Rollup(table: "local_report_staff_visit_days", keys: [("branch_id", "branch_id"), ("day", "day"), ("staff_id", "staff_id")],
                   sums: [("rebooked", "rebooked"), ("ratings", "ratings"), ("rating_sum", "rating_sum")]),
        ])

    /// In dependency order: lines and tips read the sales memo, subjects the appointments memo, staff visits the subjects.
    static let all = [payments, sales, lines, tips, appointments, subjects, staffVisits, clientVisits]

    /// Booked time (utilisation): `local_report_appointment_sessions` names, per booked appointment
    /// item, the session it books for its staff member and for each resource (a group session —
    /// capacity > 1 — is the offering at that start, shared by its participants; any other item is a
    /// session of its own); `local_report_session_pieces` holds each session's time once, split at
    /// local hours (staff) or local days (resources, × the largest quantity asked); they are computed
    /// in Swift (`refreshSessions`) and summed into these rollups.
    static let booked = Memo(
        table: "local_report_session_pieces", fact: "session", columns: "", select: { _ in "" }, source: "",
        rollups: [
            Rollup(table: "local_report_booked_days", keys: [("branch_id", "branch_id"), ("day", "day"), ("kind", "kind"), ("subject", "subject")],
                   sums: [("ms", "ms")]),
            Rollup(table: "local_report_booked_hours", keys: [("branch_id", "branch_id"), ("day", "day"), ("hour", "hour")],
                   sums: [("ms", "ms")], filter: "kind = 'staff'"),
        ])

    /// Every memo (for tests comparing the observer's tables with a rebuild's).
    static let memos = all + [booked]

    // MARK: Maintenance

    /// Adds (`sign` 1) or subtracts (−1) the memo rows of `condition` (over the memo, `?1` the ids) to `rollup`.
    static func apply(_ rollup: Rollup, of memo: Memo, sign: Int, condition: String, _ arguments: [SQLValue], in transaction: some LocalWriter) throws {
        let keys = rollup.keys.map(\.0).joined(separator: ", ")
        let sums = (["n"] + rollup.sums.map(\.0)).joined(separator: ", ")
        let groups = rollup.keys.map(\.1).joined(separator: ", ")
        let values = (["\(sign) * count(*)"] + rollup.sums.map { "\(sign) * sum(\($0.1))" }).joined(separator: ", ")
        let update = (["n"] + rollup.sums.map(\.0)).map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", ")
        try transaction.execute("""
            INSERT INTO \(rollup.table) (\(keys), \(sums)) SELECT \(groups), \(values) FROM \(memo.table)
            WHERE \(condition) AND \(rollup.filter) GROUP BY \(groups)
            ON CONFLICT (\(keys)) DO UPDATE SET \(update)
            """, arguments)
    }

    /// Replaces the memo rows of the facts `ids` (and the rollups' sums) with what their current state gives.
    static func refresh(_ memo: Memo, _ ids: Set<String>, in transaction: some LocalWriter) throws {
        guard !ids.isEmpty else { return }
        let list = SQLValue.text(JSONColumn.encode(ids.sorted()))
        let mine = "\(memo.fact) IN (SELECT value FROM json_each(?1))"
        for rollup in memo.rollups { try apply(rollup, of: memo, sign: -1, condition: mine, [list], in: transaction) }
        try transaction.execute("DELETE FROM \(memo.table) WHERE \(mine)", [list])
        try transaction.execute("INSERT INTO \(memo.table) \(memo.columns) \(memo.select("\(memo.source) IN (SELECT value FROM json_each(?1))"))", [list])
        for rollup in memo.rollups { try apply(rollup, of: memo, sign: 1, condition: mine, [list], in: transaction) }
    }

    static func update(_ changes: ChangedRows, in transaction: some QueryContext & LocalWriter) throws {
        guard maintained.load(ordering: .relaxed) else { return }
        var payments = Set<String>(), sales = Set<String>(), appointments = Set<String>()
        for key in changes["branches"] {
            let branch = key.string
            guard try refreshOffsets(branch, in: transaction) else { continue }
            // The branch's zone changed (or it is new): every fact of it moves to its new local day.
            payments.formUnion(try transaction.fetchAll("SELECT p.payment_id AS id FROM local_payment_state p JOIN sales s ON s.id = p.sale_id WHERE s.branch_id = ?",
                                                        [.text(branch)]).map { $0["id"].string })
            payments.formUnion(try transaction.fetchAll("SELECT payment_id AS id FROM local_report_payments WHERE branch_id = ?", [.text(branch)]).map { $0["id"].string })
            sales.formUnion(try transaction.fetchAll("SELECT id FROM sales WHERE branch_id = ?", [.text(branch)]).map { $0["id"].string })
            sales.formUnion(try transaction.fetchAll("SELECT sale_id AS id FROM local_report_sales WHERE branch_id = ?", [.text(branch)]).map { $0["id"].string })
            appointments.formUnion(try transaction.fetchAll("SELECT id FROM appointments WHERE branch_id = ?", [.text(branch)]).map { $0["id"].string })
            appointments.formUnion(try transaction.fetchAll("SELECT appointment_id AS id FROM local_report_appointments WHERE branch_id = ?",
                                                            [.text(branch)]).map { $0["id"].string })
        }
        // Payments: the rows whose state the ledger may have changed (their own, their reversal's,
        // an event's), and every payment of a sale that changed (it may have arrived after them).
        for key in changes["payments"] {
            payments.insert(key.string)
            if let row = try transaction.fetchOne("SELECT reverses FROM payments WHERE id = ?", [key]), !row["reverses"].string.isEmpty {
                payments.insert(row["reverses"].string)
            }
        }
        for key in changes["payment_events"] {
            if let row = try transaction.fetchOne("SELECT payment_id FROM payment_events WHERE id = ?", [key]) { payments.insert(row["payment_id"].string) }
        }
        for key in changes["sales"] { sales.insert(key.string) }
        for key in changes["sale_voids"] {
            if let row = try transaction.fetchOne("SELECT sale_id FROM sale_voids WHERE id = ?", [key]) { sales.insert(row["sale_id"].string) }
        }
        if !changes["sales"].isEmpty {
            for key in changes["sales"] {
                payments.formUnion(try transaction.fetchAll("SELECT payment_id FROM local_payment_state WHERE sale_id = ?", [key]).map { $0["payment_id"].string })
            }
        }
        // A client merged into another (or back): their visits and payments count for another client.
        var clientVisits = Set<String>()
        for key in changes["clients"] {
            clientVisits.formUnion(try transaction.fetchAll("SELECT id FROM appointments WHERE client_id = ?", [key]).map { $0["id"].string })
            payments.formUnion(try transaction.fetchAll("""
                SELECT p.payment_id AS id FROM sales s JOIN local_payment_state p ON p.sale_id = s.id WHERE s.client_id = ?
                """, [key]).map { $0["id"].string })
        }
        for key in changes["appointments"] { appointments.insert(key.string) }
        for key in changes["appointment_events"] {
            if let row = try transaction.fetchOne("SELECT appointment_id FROM appointment_events WHERE id = ?", [key]) {
                appointments.insert(row["appointment_id"].string)
            }
        }
        // A visit's rebooking depends on the client's other appointments created around its day, and on its reviews.
        var visits = appointments
        for key in changes["visit_reviews"] {
            if let row = try transaction.fetchOne("SELECT appointment_id FROM visit_reviews WHERE id = ?", [key]) { visits.insert(row["appointment_id"].string) }
        }
        let changed = SQLValue.text(JSONColumn.encode(appointments.sorted()))
        func neighbours() throws -> Set<String> {
            Set(try transaction.fetchAll("""
                SELECT n.id AS id FROM local_report_appointments m JOIN appointments n ON n.client_id = m.client_id
                WHERE m.appointment_id IN (SELECT value FROM json_each(?1)) AND m.client_id != '' AND n.status = 'completed'
                  AND n.starts_at BETWEEN m.created_at - 2 * 86400000 AND m.created_at + 2 * 86400000
                """, [changed]).map { $0["id"].string })
        }
        if !appointments.isEmpty { visits.formUnion(try neighbours()) }
        try refresh(Self.payments, payments, in: transaction)
        try refresh(Self.sales, sales, in: transaction)
        try refresh(Self.lines, sales, in: transaction)
        try refresh(Self.tips, sales, in: transaction)
        try refresh(Self.appointments, appointments, in: transaction)
        try refresh(Self.subjects, appointments, in: transaction)
        if !appointments.isEmpty { visits.formUnion(try neighbours()) }
        try refresh(Self.staffVisits, visits, in: transaction)
        try refresh(Self.clientVisits, clientVisits.union(appointments), in: transaction)
        try refreshSessions(of: appointments, in: transaction)
    }

    // MARK: Booked time

    struct SessionItem {
        var appointment: String
        var session: String
        var branch: String
        var kind: String
        var subject: String
        var start: Int64
        var end: Int64
        var units: Int
    }

    /// The sessions the booked items of the appointments (`condition` over `a`, `?1` their ids) book
    /// (`+a.status`: looked up by key, not by a scan of the status index).
    static func sessionItems(_ condition: String, _ arguments: [SQLValue], in transaction: some QueryContext) throws -> [SessionItem] {
        var result: [SessionItem] = []
        for row in try transaction.fetchAll("""
            SELECT a.id AS appointment, a.branch_id AS branch, i.staff_id AS staff, i.offering_id AS offering, i.item_start AS start, i.item_end AS end,
                   i.capacity AS capacity, i.resources AS resources
            FROM appointments a JOIN local_appointment_items i ON i.appointment_id = a.id
            WHERE \(condition) AND +a.status IN \(UtilisationFacts.bookedStatuses)
            """, arguments) {
            let appointment = row["appointment"].string, branch = row["branch"].string, start = row["start"].int64, end = row["end"].int64
            let group = row["capacity"].int > 1 ? "o:\(row["offering"].string)@\(start)" : "a:\(appointment)@\(start)"
            let staff = row["staff"].string
            result.append(SessionItem(appointment: appointment, session: "\(branch)|staff|\(staff)|\(group)", branch: branch, kind: "staff", subject: staff,
                                      start: start, end: end, units: 1))
            let resources = row["resources"].string
            guard resources != "[]" else { continue }
            for requirement in JSONColumn.decode([ResourceRequirement].self, row["resources"], default: []) {
                let resource = requirement.resource.rawValue
                result.append(SessionItem(appointment: appointment, session: "\(branch)|resource|\(resource)|\(group)", branch: branch, kind: "resource",
                                          subject: resource, start: start, end: end, units: max(1, requirement.quantity)))
            }
        }
        return result
    }

    static func insertSessionItems(_ items: [SessionItem], in transaction: some LocalWriter) throws {
        for chunk in stride(from: 0, to: items.count, by: 100) {
            let part = items[chunk..<min(chunk + 100, items.count)]
            try transaction.execute("""
                INSERT OR IGNORE INTO local_report_appointment_sessions (appointment_id, session, branch_id, kind, subject, item_start, item_end, units) VALUES
                """ + part.map { _ in "(?, ?, ?, ?, ?, ?, ?, ?)" }.joined(separator: ", "),
                part.flatMap { [SQLValue.text($0.appointment), .text($0.session), .text($0.branch), .text($0.kind), .text($0.subject),
                                .integer($0.start), .integer($0.end), .int($0.units)] })
        }
    }

    /// Re-derives the sessions of the appointments `ids` and the time of every session they booked or book.
    static func refreshSessions(of ids: Set<String>, in transaction: some QueryContext & LocalWriter) throws {
        guard !ids.isEmpty else { return }
        let list = SQLValue.text(JSONColumn.encode(ids.sorted()))
        var sessions = Set(try transaction.fetchAll("""
            SELECT session FROM local_report_appointment_sessions WHERE appointment_id IN (SELECT value FROM json_each(?1))
            """, [list]).map { $0["session"].string })
        try transaction.execute("DELETE FROM local_report_appointment_sessions WHERE appointment_id IN (SELECT value FROM json_each(?1))", [list])
        let items = try sessionItems("a.id IN (SELECT value FROM json_each(?1))", [list], in: transaction)
        try insertSessionItems(items, in: transaction)
        sessions.formUnion(items.map(\.session))
        try refreshPieces(sessions, in: transaction)
    }

    /// Replaces the pieces of `sessions` (and the rollups' sums) with their participants' current time.
    static func refreshPieces(_ sessions: Set<String>, in transaction: some QueryContext & LocalWriter) throws {
        guard !sessions.isEmpty else { return }
        let list = SQLValue.text(JSONColumn.encode(sessions.sorted()))
        let mine = "session IN (SELECT value FROM json_each(?1))"
        for rollup in booked.rollups { try apply(rollup, of: booked, sign: -1, condition: mine, [list], in: transaction) }
        try transaction.execute("DELETE FROM local_report_session_pieces WHERE \(mine)", [list])
        let rows = try transaction.fetchAll("""
            SELECT session, branch_id, kind, subject, item_start, item_end, units FROM local_report_appointment_sessions WHERE \(mine)
            ORDER BY session, item_start, item_end, appointment_id
            """, [list])
        try insertPieces(rows, in: transaction)
        for rollup in booked.rollups { try apply(rollup, of: booked, sign: 1, condition: mine, [list], in: transaction) }
    }

    /// The pieces of the sessions whose participants are `rows` (ordered by session): the first
    /// participant's time, split at local hours in the branch's zone; a resource's by local day, ×
    /// the largest quantity its participants ask.
    static func insertPieces(_ rows: [Row], in transaction: some QueryContext & LocalWriter) throws {
        var zones: [String: ZoneRules?] = [:]
        var pieces: [SQLValue] = []
        func flush() throws {
            guard !pieces.isEmpty else { return }
            try transaction.execute("INSERT INTO local_report_session_pieces (session, branch_id, kind, subject, day, hour, ms) VALUES "
                                    + Array(repeating: "(?, ?, ?, ?, ?, ?, ?)", count: pieces.count / 7).joined(separator: ", "), pieces)
            pieces.removeAll(keepingCapacity: true)
        }
        var index = 0
        while index < rows.count {
            let first = rows[index]
            let session = first["session"].string
            var units = 0
            while index < rows.count, rows[index]["session"].string == session {
                units = max(units, rows[index]["units"].int)
                index += 1
            }
            let branch = first["branch_id"].string, kind = first["kind"].string
            if zones[branch] == nil {
                let name = try transaction.fetchOne("SELECT zone FROM local_report_zones WHERE branch_id = ?", [.text(branch)])?["zone"].string
                zones[branch] = name.flatMap { try? ZoneRules.named($0) }
            }
            guard let zone = zones[branch] ?? nil else { continue }
            let covered = TimeRange(start: zone.startOfDay(offsetsFrom), end: zone.startOfDay(offsetsTo))
            let range = TimeRange(start: Instant(milliseconds: first["item_start"].int64), end: Instant(milliseconds: first["item_end"].int64))
            var split: [(day: Int, hour: Int, ms: Int64)] = []
            UtilisationFacts.split(range, clippedTo: covered, zone: zone) { day, hour, ms in
                if kind == "staff" {
                    split.append((day.daysSinceEpoch, hour, ms))
                } else if let last = split.last, last.day == day.daysSinceEpoch {
                    split[split.count - 1].ms += ms * Int64(units)
                } else {
                    split.append((day.daysSinceEpoch, -1, ms * Int64(units)))
                }
            }
            for piece in split {
                pieces += [first["session"], first["branch_id"], first["kind"], first["subject"], .int(piece.day), .int(piece.hour), .integer(piece.ms)]
            }
            if pieces.count >= 700 { try flush() }
        }
        try flush()
    }

    /// Every memo and rollup from scratch.
    static func rebuild(in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("DELETE FROM local_report_zones", [])
        try transaction.execute("DELETE FROM local_report_offsets", [])
        for row in try transaction.fetchAll("SELECT id FROM branches", []) { _ = try refreshOffsets(row["id"].string, in: transaction) }
        for memo in all {
            for rollup in memo.rollups { try transaction.execute("DELETE FROM \(rollup.table)", []) }
            try transaction.execute("DELETE FROM \(memo.table)", [])
            try transaction.execute("INSERT INTO \(memo.table) \(memo.columns) \(memo.select("1"))", [])
            for rollup in memo.rollups { try apply(rollup, of: memo, sign: 1, condition: "1", [], in: transaction) }
        }
        try transaction.execute("DELETE FROM local_report_appointment_sessions", [])
        try transaction.execute("DELETE FROM local_report_session_pieces", [])
        for rollup in booked.rollups { try transaction.execute("DELETE FROM \(rollup.table)", []) }
        try insertSessionItems(try sessionItems("1", [], in: transaction), in: transaction)
        try insertPieces(try transaction.fetchAll("""
            SELECT session, branch_id, kind, subject, item_start, item_end, units FROM local_report_appointment_sessions
            ORDER BY session, item_start, item_end, appointment_id
            """, []), in: transaction)
        for rollup in booked.rollups { try apply(rollup, of: booked, sign: 1, condition: "1", [], in: transaction) }
    }

    /// Re-cuts a branch's zone into offset segments when its zone differs from the one they were cut
    /// for (or the branch is new or gone); returns whether it did. A zone the database does not know
    /// gets no segments (its facts are in no rollup; a report of that branch is refused anyway).
    static func refreshOffsets(_ branch: String, in transaction: some QueryContext & LocalWriter) throws -> Bool {
        let zone = try transaction.fetchOne("SELECT time_zone FROM branches WHERE id = ?", [.text(branch)])?["time_zone"].string
        let known = try transaction.fetchOne("SELECT zone FROM local_report_zones WHERE branch_id = ?", [.text(branch)])?["zone"].string
        guard zone != known else { return false }
        try transaction.execute("DELETE FROM local_report_offsets WHERE branch_id = ?", [.text(branch)])
        try transaction.execute("DELETE FROM local_report_zones WHERE branch_id = ?", [.text(branch)])
        guard let zone else { return true }
        try transaction.execute("INSERT INTO local_report_zones (branch_id, zone) VALUES (?, ?)", [.text(branch), .text(zone)])
        guard let rules = try? ZoneRules.named(zone) else { return true }
        let segments = ReportScope.segments(branch: branch, zone: rules, from: rules.startOfDay(offsetsFrom).milliseconds,
                                            to: rules.startOfDay(offsetsTo).milliseconds)
        for chunk in stride(from: 0, to: segments.count, by: 200) {
            let part = segments[chunk..<min(chunk + 200, segments.count)]
            try transaction.execute("INSERT INTO local_report_offsets (branch_id, s, e, off) VALUES " + part.map { _ in "(?, ?, ?, ?)" }.joined(separator: ", "),
                                    part.flatMap { [SQLValue.text(branch), .integer($0.start), .integer($0.end), .integer($0.offset)] })
        }
        return true
    }

    static let migration = """
        CREATE TABLE local_report_zones (branch_id TEXT PRIMARY KEY NOT NULL, zone TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE local_report_offsets (
            branch_id TEXT NOT NULL, s INTEGER NOT NULL, e INTEGER NOT NULL, off INTEGER NOT NULL, PRIMARY KEY (branch_id, s)) WITHOUT ROWID;
        CREATE TABLE local_report_payments (
            payment_id TEXT PRIMARY KEY NOT NULL, sale_id TEXT NOT NULL, branch_id TEXT NOT NULL, currency TEXT NOT NULL, kind TEXT NOT NULL,
            method TEXT NOT NULL, day INTEGER NOT NULL, hour INTEGER NOT NULL, amount_minor INTEGER NOT NULL, client TEXT NOT NULL,
            created_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX local_report_payments_by_branch ON local_report_payments (branch_id);
        CREATE TABLE local_report_payment_days (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, currency TEXT NOT NULL, kind TEXT NOT NULL, method TEXT NOT NULL,
            n INTEGER NOT NULL, amount_minor INTEGER NOT NULL, PRIMARY KEY (branch_id, day, currency, kind, method)) WITHOUT ROWID;
        CREATE TABLE local_report_payment_hours (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, hour INTEGER NOT NULL, currency TEXT NOT NULL, kind TEXT NOT NULL,
            n INTEGER NOT NULL, amount_minor INTEGER NOT NULL, PRIMARY KEY (branch_id, day, hour, currency, kind)) WITHOUT ROWID;
        CREATE TABLE local_report_sales (
            sale_id TEXT PRIMARY KEY NOT NULL, branch_id TEXT NOT NULL, currency TEXT NOT NULL, day INTEGER NOT NULL,
            total_minor INTEGER NOT NULL, discount_minor INTEGER NOT NULL, tips_minor INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX local_report_sales_by_branch ON local_report_sales (branch_id);
        CREATE TABLE local_report_sale_days (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, currency TEXT NOT NULL, n INTEGER NOT NULL, total_minor INTEGER NOT NULL,
            discount_minor INTEGER NOT NULL, tips_minor INTEGER NOT NULL, PRIMARY KEY (branch_id, day, currency)) WITHOUT ROWID;
        CREATE TABLE local_report_lines (
            sale_id TEXT NOT NULL, position INTEGER NOT NULL, branch_id TEXT NOT NULL, currency TEXT NOT NULL, day INTEGER NOT NULL,
            kind TEXT NOT NULL, reference TEXT NOT NULL, staff_id TEXT NOT NULL, quantity INTEGER NOT NULL, total_minor INTEGER NOT NULL,
            PRIMARY KEY (sale_id, position)) WITHOUT ROWID;
        CREATE TABLE local_report_line_days (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, currency TEXT NOT NULL, kind TEXT NOT NULL, reference TEXT NOT NULL,
            n INTEGER NOT NULL, quantity INTEGER NOT NULL, total_minor INTEGER NOT NULL,
            PRIMARY KEY (branch_id, day, currency, kind, reference)) WITHOUT ROWID;
        CREATE TABLE local_report_line_staff_days (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, currency TEXT NOT NULL, staff_id TEXT NOT NULL,
            n INTEGER NOT NULL, quantity INTEGER NOT NULL, total_minor INTEGER NOT NULL,
            PRIMARY KEY (branch_id, day, currency, staff_id)) WITHOUT ROWID;
        CREATE TABLE local_report_tips (
            sale_id TEXT NOT NULL, branch_id TEXT NOT NULL, currency TEXT NOT NULL, day INTEGER NOT NULL, staff_id TEXT NOT NULL,
            amount_minor INTEGER NOT NULL);
        CREATE INDEX local_report_tips_by_sale ON local_report_tips (sale_id);
        CREATE TABLE local_report_tip_days (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, currency TEXT NOT NULL, staff_id TEXT NOT NULL, n INTEGER NOT NULL,
            amount_minor INTEGER NOT NULL, PRIMARY KEY (branch_id, day, currency, staff_id)) WITHOUT ROWID;
        CREATE TABLE local_report_appointments (
            appointment_id TEXT PRIMARY KEY NOT NULL, branch_id TEXT NOT NULL, day INTEGER NOT NULL, hour INTEGER NOT NULL, status TEXT NOT NULL,
            late INTEGER NOT NULL, created_day INTEGER, source TEXT NOT NULL, elsewhere INTEGER NOT NULL, lead TEXT NOT NULL,
            client_id TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX local_report_appointments_by_branch ON local_report_appointments (branch_id);
        CREATE TABLE local_report_visit_days (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, status TEXT NOT NULL, late INTEGER NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (branch_id, day, status, late)) WITHOUT ROWID;
        CREATE TABLE local_report_visit_hours (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (branch_id, day, hour)) WITHOUT ROWID;
        CREATE TABLE local_report_created_days (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, source TEXT NOT NULL, n INTEGER NOT NULL, elsewhere INTEGER NOT NULL,
            PRIMARY KEY (branch_id, day, source)) WITHOUT ROWID;
        CREATE TABLE local_report_lead_days (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, lead TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (branch_id, day, lead)) WITHOUT ROWID;
        CREATE TABLE local_report_subjects (
            appointment_id TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, branch_id TEXT NOT NULL, day INTEGER NOT NULL,
            status TEXT NOT NULL, late INTEGER NOT NULL, items INTEGER NOT NULL, PRIMARY KEY (appointment_id, kind, subject)) WITHOUT ROWID;
        CREATE TABLE local_report_subject_days (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, status TEXT NOT NULL, late INTEGER NOT NULL,
            n INTEGER NOT NULL, items INTEGER NOT NULL, PRIMARY KEY (branch_id, day, kind, subject, status, late)) WITHOUT ROWID;
        CREATE TABLE local_report_staff_visits (
            appointment_id TEXT NOT NULL, staff_id TEXT NOT NULL, branch_id TEXT NOT NULL, day INTEGER NOT NULL, rebooked INTEGER NOT NULL,
            ratings INTEGER NOT NULL, rating_sum INTEGER NOT NULL, PRIMARY KEY (appointment_id, staff_id)) WITHOUT ROWID;
        CREATE TABLE local_report_staff_visit_days (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, staff_id TEXT NOT NULL, n INTEGER NOT NULL, rebooked INTEGER NOT NULL,
            ratings INTEGER NOT NULL, rating_sum INTEGER NOT NULL, PRIMARY KEY (branch_id, day, staff_id)) WITHOUT ROWID;
        CREATE INDEX appointments_by_client_created ON appointments (client_id, created_at);
        CREATE INDEX local_sale_appointments_by_sale ON local_sale_appointments (sale_id);
        CREATE INDEX local_conflict_members_by_conflict ON local_conflict_members (conflict_id);
        CREATE INDEX local_report_payments_by_client ON local_report_payments (client, branch_id, created_at, currency, kind, amount_minor);
        CREATE TABLE local_report_client_money (
            client TEXT NOT NULL, currency TEXT NOT NULL, n INTEGER NOT NULL, net INTEGER NOT NULL, PRIMARY KEY (client, currency)) WITHOUT ROWID;
        CREATE TABLE local_report_client_payers (
            client TEXT NOT NULL, branch_id TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (client, branch_id)) WITHOUT ROWID;
        CREATE TABLE local_report_client_visits (
            appointment_id TEXT PRIMARY KEY NOT NULL, client TEXT NOT NULL, branch_id TEXT NOT NULL, start INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX local_report_client_visits_by_branch ON local_report_client_visits (client, branch_id, start);
        CREATE INDEX local_report_client_visits_by_start ON local_report_client_visits (client, start);
        CREATE TABLE local_report_client_branches (
            client TEXT NOT NULL, branch_id TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (client, branch_id)) WITHOUT ROWID;
        CREATE TABLE local_report_appointment_sessions (
            appointment_id TEXT NOT NULL, session TEXT NOT NULL, branch_id TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL,
            item_start INTEGER NOT NULL, item_end INTEGER NOT NULL, units INTEGER NOT NULL, PRIMARY KEY (appointment_id, session)) WITHOUT ROWID;
        CREATE INDEX local_report_appointment_sessions_by_session ON local_report_appointment_sessions (session);
        CREATE TABLE local_report_session_pieces (
            session TEXT NOT NULL, branch_id TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, day INTEGER NOT NULL, hour INTEGER NOT NULL,
            ms INTEGER NOT NULL);
        CREATE INDEX local_report_session_pieces_by_session ON local_report_session_pieces (session);
        CREATE TABLE local_report_booked_days (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, n INTEGER NOT NULL, ms INTEGER NOT NULL,
            PRIMARY KEY (branch_id, day, kind, subject)) WITHOUT ROWID;
        CREATE TABLE local_report_booked_hours (
            branch_id TEXT NOT NULL, day INTEGER NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL, ms INTEGER NOT NULL,
            PRIMARY KEY (branch_id, day, hour)) WITHOUT ROWID;
        """
}
