import Replication

/// Finds appointments that occupy one staff member or resource beyond its capacity. A pure
/// function of the replicated state: every replica that holds the same rows computes the same
/// conflicts with the same ids, whatever order the changes arrived in.
///
/// Over the timeline of one subject, each maximal interval with the same set of occupying
/// sessions is a segment; a segment is a conflict when its sessions need more than the subject's
/// capacity (1 for staff; the number of units for a resource) or when a group session has more
/// participants than its capacity. `held` appointments are not counted (their expiry depends on
/// each replica's clock); cancelled, rejected and no-show ones occupy nothing.
enum ConflictDetector {
    /// The conflicts among `entries` of one subject with the given capacity, sorted by start.
    static func detect(kind: Conflict.Subject, subject: String, capacity: Int, entries: [Occupancy]) -> [Conflict] {
        var points = Set<Instant>()
        for entry in entries where !entry.range.isEmpty {
            points.insert(entry.range.start)
            points.insert(entry.range.end)
        }
        let boundaries = points.sorted()
        var conflicts: [Conflict] = []
        var previous: (set: [String], range: TimeRange, capacity: Int)?
        func flush() {
            guard let segment = previous else { return }
            let id = ConflictID(trusted: derivedKey("conflict", kind.rawValue, subject, String(segment.range.start.milliseconds),
                                                     String(segment.range.end.milliseconds), segment.set.joined(separator: ",")))
            conflicts.append(Conflict(id: id, subject: kind, subjectID: subject, range: segment.range,
                                      appointments: segment.set.compactMap { AppointmentID($0) }, capacity: segment.capacity, resolution: nil))
            previous = nil
        }
        let sorted = entries.filter { !$0.range.isEmpty }.sorted { ($0.range.start, $0.appointment) < ($1.range.start, $1.appointment) }
        var next = 0
        var active: [Occupancy] = []
        for index in 0..<max(0, boundaries.count - 1) {
            let range = TimeRange(start: boundaries[index], end: boundaries[index + 1])
            active.removeAll { $0.range.end <= range.start }
            while next < sorted.count, sorted[next].range.start <= range.start {
                active.append(sorted[next])
                next += 1
            }
            let sessions = Session.group(active)
            let used = sessions.reduce(0) { $0 + $1.units }
            let overfull = sessions.contains { $0.appointments.count > $0.capacity }
            guard used > capacity || overfull else {
                flush()
                continue
            }
            let set = Array(Set(active.map(\.appointment))).sorted()
            if let segment = previous, segment.set == set, segment.range.end == range.start {
                previous!.range.end = range.end
            } else {
                flush()
                previous = (set, range, capacity)
            }
        }
        flush()
        return conflicts
    }

    /// Recomputes the stored conflicts of one subject around `range`: the whole run of
    /// overlapping or touching occupancy that reaches into it, so stale conflicts are removed.
    static func refresh(subject: String, around range: TimeRange, in transaction: some QueryContext & LocalWriter) throws {
        var window = range
        var entries: [Occupancy] = []
        var kind = "staff"
        while true {
            let rows = try transaction.fetchAll("""
                SELECT appointment_id, offering_id, session_start, occupied_start, occupied_end, units, capacity, booked_minutes, kind
                FROM local_occupancy WHERE subject = ? AND status <> 'held' AND occupied_start <= ? AND occupied_end >= ?
                  AND occupied_start >= ?
                ORDER BY occupied_start
                """, [.text(subject), .instant(window.end), .instant(window.start),
                      // An item occupies less than three days (1440 minutes plus two 720-minute buffers), so
                      // this bound keeps the index scan short without missing any entry that reaches in.
                      .instant(window.start.adding(minutes: -3 * 1440))])
            entries = rows.map { row in
                Occupancy(appointment: row["appointment_id"].string, offering: row["offering_id"].string, sessionStart: Instant(milliseconds: row["session_start"].int64),
                          range: TimeRange(start: Instant(milliseconds: row["occupied_start"].int64), end: Instant(milliseconds: row["occupied_end"].int64)),
                          units: row["units"].int, capacity: row["capacity"].int, bookedMinutes: row["booked_minutes"].int)
            }
            if let first = rows.first { kind = first["kind"].string }
            let hull = entries.reduce(window) { TimeRange(start: min($0.start, $1.range.start), end: max($0.end, $1.range.end)) }
            if hull == window { break }
            window = hull
        }
        try transaction.execute("DELETE FROM local_conflict_members WHERE conflict_id IN (SELECT id FROM local_conflicts WHERE subject = ? AND starts_at <= ? AND ends_at >= ?)",
                                [.text(subject), .instant(window.end), .instant(window.start)])
        try transaction.execute("DELETE FROM local_conflicts WHERE subject = ? AND starts_at <= ? AND ends_at >= ?",
                                [.text(subject), .instant(window.end), .instant(window.start)])
        guard entries.count > 1 || entries.contains(where: { $0.capacity > 1 }) else { return }
        let subjectKind: Conflict.Subject = kind == "resource" ? .resource : .staff
        var capacity = 1
        if subjectKind == .resource {
            capacity = Int(try transaction.fetchOne("SELECT units FROM resources WHERE id = ?", [.text(subject)])?["units"].integerValue ?? 0)
        }
        for conflict in detect(kind: subjectKind, subject: subject, capacity: capacity, entries: entries) {
            try transaction.execute("INSERT OR REPLACE INTO local_conflicts (id, kind, subject, starts_at, ends_at, appointments, capacity) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                    [.text(conflict.id.rawValue), .text(subjectKind.rawValue), .text(subject), .instant(conflict.range.start),
                                     .instant(conflict.range.end), .text(conflict.appointments.map(\.rawValue).joined(separator: ",")), .int(capacity)])
            for appointment in conflict.appointments {
                try transaction.execute("INSERT OR IGNORE INTO local_conflict_members (conflict_id, appointment_id) VALUES (?, ?)",
                                        [.text(conflict.id.rawValue), .text(appointment.rawValue)])
            }
        }
    }
}

extension Shop {
    /// The current conflicts, earliest first, with any recorded resolution.
    /// - Parameter includeAccepted: whether to list conflicts a person accepted as they are.
    package func conflicts(includeAccepted: Bool = true) throws -> [Conflict] {
        try read { transaction in
            try transaction.fetchAll("SELECT id, kind, subject, starts_at, ends_at, appointments, capacity FROM local_conflicts ORDER BY starts_at, id").compactMap { row in
                guard let id = ConflictID(row["id"].string) else { return nil }
                var conflict = Conflict(id: id, subject: Conflict.Subject(rawValue: row["kind"].string) ?? .staff, subjectID: row["subject"].string,
                                        range: TimeRange(start: Instant(milliseconds: row["starts_at"].int64), end: Instant(milliseconds: row["ends_at"].int64)),
                                        appointments: row["appointments"].string.split(separator: ",").compactMap { AppointmentID(String($0)) },
                                        capacity: row["capacity"].int, resolution: nil)
                if let resolution = try transaction.fetchOne("SELECT action, actor, at, note FROM conflict_resolutions WHERE conflict_id = ? ORDER BY at DESC, id DESC LIMIT 1", [.text(id.rawValue)]) {
                    conflict.resolution = ConflictResolution(action: ConflictResolution.Action(rawValue: resolution["action"].string) ?? .accept,
                                                             actor: resolution["actor"].string, at: Instant(milliseconds: resolution["at"].int64), note: resolution["note"].string)
                }
                guard includeAccepted || conflict.resolution?.action != .accept else { return nil }
                return conflict
            }
        }
    }

    /// Resolves a conflict. `accept` keeps the overlap and records that a person accepted it;
    /// `cancel` cancels `appointment` (by the shop); `move` reschedules `appointment` to `newStart`
    /// (checked like any booking). The resolution replicates with the change.
    package func resolveConflict(_ id: ConflictID, action: ConflictResolution.Action, appointment: AppointmentID? = nil,
                                newStart: Instant? = nil, actor: String, note: String = "") throws {
        try write(.conflictResolve) { transaction in
            guard let row = try transaction.fetchOne("SELECT appointments FROM local_conflicts WHERE id = ?", [.text(id.rawValue)]) else {
                throw DomainError(.notFound, "no current conflict \(id)")
            }
            let members = row["appointments"].string.split(separator: ",").map(String.init)
            switch action {
            case .accept:
                break
            case .cancel, .move:
                guard let appointment, members.contains(appointment.rawValue) else {
                    throw DomainError(.invalidArgument, "name one of the conflict's appointments to \(action.rawValue)")
                }
                if action == .cancel {
                    try changeStatus(appointment, to: .cancelled, actor: actor, reason: "conflict resolved: \(note)", cancelledBy: .shop, in: transaction)
                } else {
                    guard let newStart else { throw DomainError(.invalidArgument, "moving needs the new start") }
                    try reschedule(appointment, to: newStart, staff: nil, actor: actor, in: transaction)
                }
            }
            try transaction.insert("conflict_resolutions", ["id": .text(UUIDv7.generate(milliseconds: UInt64(now.milliseconds))),
                                                            "conflict_id": .text(id.rawValue), "action": .text(action.rawValue),
                                                            "actor": .text(actor), "at": .instant(now), "note": .text(note)])
        }
    }
}
