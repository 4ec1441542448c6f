import Foundation
import Replication

/// Participants of one group session (same offering and start, capacity > 1) or a single item.
struct Session {
    var range: TimeRange
    var units: Int
    var capacity: Int
    var appointments: [String]

    /// Groups occupancy entries into sessions: entries of a group offering with the same start are one session.
    static func group(_ entries: [Occupancy]) -> [Session] {
        var sessions: [Session] = []
        var index: [String: Int] = [:]
        for entry in entries {
            guard entry.capacity > 1 else {
                sessions.append(Session(range: entry.range, units: entry.units, capacity: 1, appointments: [entry.appointment]))
                continue
            }
            let key = "\(entry.offering)@\(entry.sessionStart.milliseconds)"
            if let position = index[key] {
                sessions[position].range = TimeRange(start: min(sessions[position].range.start, entry.range.start),
                                                     end: max(sessions[position].range.end, entry.range.end))
                sessions[position].units = max(sessions[position].units, entry.units)
                sessions[position].appointments.append(entry.appointment)
            } else {
                index[key] = sessions.count
                sessions.append(Session(range: entry.range, units: entry.units, capacity: entry.capacity, appointments: [entry.appointment]))
            }
        }
        return sessions
    }
}

/// Local tables derived from the replicated ones, kept current inside every transaction that
/// changes them (local writes and merges alike), and rebuildable from scratch:
/// - `local_occupancy`: one row per appointment item per staff member or resource it holds;
/// - `local_client_index` + `local_client_search` (FTS5 trigram): client search;
/// - `local_conflicts` + `local_conflict_members`: overlaps beyond capacity (see `ConflictDetector`);
/// - the reports' derived tables: `ReportLedger` (sale lines, appointment items) and `ReportRollups`
///   (per-fact memos and per-day rollups).
enum DerivedState {
    static let version: Int64 = 7

    static func update(_ changes: ChangedRows, in transaction: DerivedStateTransaction, at milliseconds: Int64, site: String) throws {
        try ChangeFeed.record(changes, in: transaction, at: milliseconds)
        for key in changes["clients"] { try reindexClient(key.string, in: transaction) }
        try Ledger.update(changes, in: transaction)
        try MessageLedger.update(changes, in: transaction, at: milliseconds, site: site)
        try StockLedger.update(changes, in: transaction)
        try StockTransit.update(changes, in: transaction)
        try EscrowLedger.update(changes, in: transaction)
        try ReportLedger.update(changes, in: transaction)
        try ReportRollups.update(changes, in: transaction)
        var windows: [String: [TimeRange]] = [:]
        for key in changes["appointments"] {
            try reindexAppointment(key.string, in: transaction, windows: &windows)
        }
        for key in changes["resources"] {
            // A change of units can create or clear conflicts at any time.
            windows[key.string, default: []].append(TimeRange(start: Instant(milliseconds: Int64.min / 4), end: Instant(milliseconds: Int64.max / 4)))
        }
        for (subject, ranges) in windows.sorted(by: { $0.key < $1.key }) {
            for range in RangeSet(ranges.map { TimeRange(start: $0.start, end: $0.end.adding(milliseconds: 1)) }).ranges {
                try ConflictDetector.refresh(subject: subject, around: range, in: transaction)
            }
        }
    }

    static func rebuild(in transaction: some QueryContext & LocalWriter, site: String) throws {
        try transaction.execute("DELETE FROM local_occupancy", [])
        try transaction.execute("DELETE FROM local_conflicts", [])
        try transaction.execute("DELETE FROM local_conflict_members", [])
        try transaction.execute("INSERT INTO local_client_search (local_client_search) VALUES ('delete-all')", [])
        try transaction.execute("DELETE FROM local_client_index", [])
        for row in try transaction.fetchAll("SELECT id FROM clients", []) { try reindexClient(row["id"].string, in: transaction) }
        try Ledger.rebuild(in: transaction)
        try MessageLedger.rebuild(in: transaction, at: Int64(Date().timeIntervalSince1970 * 1000), site: site)
        try StockLedger.rebuild(in: transaction)
        try StockTransit.rebuild(in: transaction)
        try EscrowLedger.rebuild(in: transaction)
        try ReportLedger.rebuild(in: transaction)
        try ReportRollups.rebuild(in: transaction)
        var windows: [String: [TimeRange]] = [:]
        for row in try transaction.fetchAll("SELECT id FROM appointments", []) {
            try reindexAppointment(row["id"].string, in: transaction, windows: &windows)
        }
        for subject in windows.keys.sorted() {
            try ConflictDetector.refresh(subject: subject, around: TimeRange(start: Instant(milliseconds: Int64.min / 4), end: Instant(milliseconds: Int64.max / 4)), in: transaction)
        }
    }

    // MARK: Occupancy

    /// Replaces an appointment's occupancy rows; records the old and new ranges per subject.
    static func reindexAppointment(_ id: String, in transaction: some QueryContext & LocalWriter, windows: inout [String: [TimeRange]]) throws {
        for row in try transaction.fetchAll("SELECT subject, occupied_start, occupied_end FROM local_occupancy WHERE appointment_id = ?", [.text(id)]) {
            windows[row["subject"].string, default: []].append(TimeRange(start: Instant(milliseconds: row["occupied_start"].int64), end: Instant(milliseconds: row["occupied_end"].int64)))
        }
        try transaction.execute("DELETE FROM local_occupancy WHERE appointment_id = ?", [.text(id)])
        guard let row = try transaction.fetchOne("SELECT items, status, hold_expires_at FROM appointments WHERE id = ?", [.text(id)]) else { return }
        let status = row["status"].string
        guard AppointmentStatus(rawValue: status)?.isBlocking == true else { return }
        for item in JSONColumn.decode([AppointmentItem].self, row["items"], default: []) {
            let occupied = item.occupied
            guard !occupied.isEmpty else { continue }
            var holds: [(String, String, Int)] = [("staff", item.staffID.rawValue, 1)]
            holds += item.resources.map { ("resource", $0.resource.rawValue, $0.quantity) }
            for (kind, subject, units) in holds {
                try transaction.execute("""
                    INSERT INTO local_occupancy (appointment_id, kind, subject, offering_id, session_start, occupied_start, occupied_end,
                        units, capacity, status, hold_expires_at, booked_minutes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [.text(id), .text(kind), .text(subject), .text(item.offeringID.rawValue), .instant(item.start),
                          .instant(occupied.start), .instant(occupied.end), .int(units), .int(max(1, item.capacity)), .text(status),
                          row["hold_expires_at"], .int(item.end.minutes(since: item.start))])
                windows[subject, default: []].append(occupied)
            }
        }
    }

    // MARK: Client search

    /// Text folded for search: lowercase, without diacritics (ё → е, é → e), single spaces.
    static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func reindexClient(_ id: String, in transaction: some QueryContext & LocalWriter) throws {
        if let old = try transaction.fetchOne("SELECT rowid AS rowid, body FROM local_client_index WHERE client_id = ?", [.text(id)]) {
            try transaction.execute("INSERT INTO local_client_search (local_client_search, rowid, body) VALUES ('delete', ?, ?)", [old["rowid"], old["body"]])
            try transaction.execute("DELETE FROM local_client_index WHERE client_id = ?", [.text(id)])
        }
        guard let row = try transaction.fetchOne("SELECT name, phone, email FROM clients WHERE id = ? AND merged_into = ''", [.text(id)]) else { return }
        let phone = row["phone"].string
        let body = [fold(row["name"].string), fold(row["email"].string), phone, String(phone.filter(\.isNumber))].filter { !$0.isEmpty }.joined(separator: " | ")
        try transaction.execute("INSERT INTO local_client_index (client_id, body) VALUES (?, ?)", [.text(id), .text(body)])
        try transaction.execute("INSERT INTO local_client_search (rowid, body) SELECT rowid, body FROM local_client_index WHERE client_id = ?", [.text(id)])
    }
}

/// Writes to local tables (derived-state maintenance runs in write and merge transactions).
protocol LocalWriter {
    func execute(_ sql: String, _ arguments: [SQLValue]) throws
}

extension WriteTransaction: LocalWriter {}
extension DerivedStateTransaction: LocalWriter {}
