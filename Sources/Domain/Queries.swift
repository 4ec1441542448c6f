import Replication

/// Read models for lists: filtered, deterministically ordered, with keyset pagination.
extension Shop {
    /// What `appointments(matching:)` filters on.
    public struct AppointmentQuery: Hashable, Sendable {
        public var branch: BranchID?
        /// Appointments that start at or after `from` and before `to`.
        public var from: Instant
        public var to: Instant
        public var staff: StaffID?
        public var client: ClientID?
        public var statuses: Set<AppointmentStatus> = []
        /// Resume after this (start, id) — the last item of the previous page.
        public var after: (start: Instant, id: AppointmentID)?
        public var limit: Int = 50

        public init(branch: BranchID? = nil, from: Instant, to: Instant, staff: StaffID? = nil, client: ClientID? = nil,
                    statuses: Set<AppointmentStatus> = [], after: (start: Instant, id: AppointmentID)? = nil, limit: Int = 50) {
            self.branch = branch
            self.from = from
            self.to = to
            self.staff = staff
            self.client = client
            self.statuses = statuses
            self.after = after
            self.limit = limit
        }

        public static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.branch == rhs.branch && lhs.from == rhs.from && lhs.to == rhs.to && lhs.staff == rhs.staff && lhs.client == rhs.client
                && lhs.statuses == rhs.statuses && lhs.after?.start == rhs.after?.start && lhs.after?.id == rhs.after?.id && lhs.limit == rhs.limit
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(from)
            hasher.combine(to)
        }
    }

    /// Appointments by start, then id.
    package func appointments(matching query: AppointmentQuery) throws -> [Appointment] {
        guard query.from < query.to else { throw DomainError(.invalidArgument, "`from` must be before `to`") }
        guard query.to.milliseconds - query.from.milliseconds <= 366 * 86_400_000 else { throw DomainError(.invalidArgument, "ask for at most 366 days at a time") }
        guard (1...1000).contains(query.limit) else { throw DomainError(.invalidArgument, "limit must be 1…1000") }
        var sql = "SELECT \(Loader.appointmentColumns) FROM appointments WHERE starts_at >= ? AND starts_at < ?"
        var arguments: [SQLValue] = [.instant(query.from), .instant(query.to)]
        if let branch = query.branch {
            sql += " AND branch_id = ?"
            arguments.append(.text(branch.rawValue))
        }
        if let client = query.client {
            sql += " AND client_id = ?"
            arguments.append(.text(client.rawValue))
        }
        if let staff = query.staff {
            // From the items, not the occupancy index: cancelled and no-show appointments occupy nothing but are still that person's.
            sql += " AND instr(items, ?) > 0"
            arguments.append(.text("\"staffID\":\"\(staff.rawValue)\""))
        }
        if !query.statuses.isEmpty {
            sql += " AND status IN (\(query.statuses.map { _ in "?" }.joined(separator: ", ")))"
            arguments += query.statuses.map(\.rawValue).sorted().map { .text($0) }
        }
        if let after = query.after {
            sql += " AND (starts_at > ? OR (starts_at = ? AND id > ?))"
            arguments += [.instant(after.start), .instant(after.start), .text(after.id.rawValue)]
        }
        sql += " ORDER BY starts_at, id LIMIT ?"
        arguments.append(.int(query.limit))
        return try read { transaction in try transaction.fetchAll(sql, arguments).map(Loader.appointment) }
    }

    /// Clients (not merged away) by name, then id, after `after` (the last name and id of the previous page).
    package func clients(after: (name: String, id: ClientID)? = nil, limit: Int = 50) throws -> [Client] {
        guard (1...1000).contains(limit) else { throw DomainError(.invalidArgument, "limit must be 1…1000") }
        return try read { transaction in
            var sql = "SELECT id FROM clients WHERE merged_into = ''"
            var arguments: [SQLValue] = []
            if let after {
                sql += " AND (name COLLATE BINARY > ? OR (name COLLATE BINARY = ? AND id > ?))"
                arguments += [.text(after.name), .text(after.name), .text(after.id.rawValue)]
            }
            sql += " ORDER BY name COLLATE BINARY, id LIMIT ?"
            arguments.append(.int(limit))
            return try transaction.fetchAll(sql, arguments).compactMap { ClientID($0["id"].string) }.map { try Loader.client($0, in: transaction) }
        }
    }

    /// A branch's resources by name.
    package func resources(branch: BranchID, includeInactive: Bool = false) throws -> [Resource] {
        try read { transaction in
            try transaction.fetchAll("SELECT id FROM resources WHERE branch_id = ? AND (active = 1 OR ?) ORDER BY name, id", [.text(branch.rawValue), .bool(includeInactive)])
                .compactMap { ResourceID($0["id"].string) }.map { try Loader.resource($0, in: transaction) }
        }
    }

    /// The offerings a staff member performs, with their own duration and price if set.
    package func assignments(staff: StaffID) throws -> [StaffOffering] {
        try read { transaction in
            _ = try Loader.staff(staff, in: transaction)
            return try transaction.fetchAll("SELECT offering_id, duration_minutes, price_minor FROM staff_offerings WHERE staff_id = ? AND active = 1 ORDER BY offering_id",
                                        [.text(staff.rawValue)]).compactMap { row in
                OfferingID(row["offering_id"].string).map { StaffOffering(staffID: staff, offeringID: $0, durationMinutes: row["duration_minutes"].integerValue.map { Int($0) }, priceMinor: row["price_minor"].integerValue) }
            }
        }
    }

    /// A staff member's time off that ends after `from`, by start.
    package func timeOff(staff: StaffID, from: Instant) throws -> [TimeOff] {
        try read { transaction in
            _ = try Loader.staff(staff, in: transaction)
            return try transaction.fetchAll("SELECT id, starts_at, ends_at, reason FROM staff_time_off WHERE staff_id = ? AND ends_at > ? ORDER BY starts_at, id",
                                        [.text(staff.rawValue), .instant(from)]).compactMap { row in
                TimeOffID(row["id"].string).map {
                    TimeOff(id: $0, staffID: staff, range: TimeRange(start: Instant(milliseconds: row["starts_at"].int64), end: Instant(milliseconds: row["ends_at"].int64)),
                            reason: row["reason"].string)
                }
            }
        }
    }

    /// Date overrides of a branch (or, with `staff`, of a staff member) from `from` on, by date.
    package func overrides(branch: BranchID? = nil, staff: StaffID? = nil, from: LocalDate) throws -> [DateOverride] {
        try read { transaction in
            let (table, column, owner): (String, String, String)
            if let staff {
                _ = try Loader.staff(staff, in: transaction)
                (table, column, owner) = ("staff_overrides", "staff_id", staff.rawValue)
            } else if let branch {
                _ = try Loader.branch(branch, in: transaction)
                (table, column, owner) = ("branch_overrides", "branch_id", branch.rawValue)
            } else {
                throw DomainError(.invalidArgument, "name a branch or a staff member")
            }
            return try transaction.fetchAll("SELECT date, intervals, note FROM \(table) WHERE \(column) = ? AND date >= ? AND active = 1 ORDER BY date",
                                        [.text(owner), .text(from.description)]).compactMap { row in
                LocalDate(row["date"].string).map { DateOverride(date: $0, intervals: JSONColumn.decode([WallInterval].self, row["intervals"], default: []), note: row["note"].string) }
            }
        }
    }

    /// The categories of a branch's active offerings with how many each has, in display order of their first offering.
    package func categories(branch: BranchID) throws -> [(name: String, offerings: Int)] {
        var order: [String] = []
        var counts: [String: Int] = [:]
        for offering in try offerings(branch: branch) {
            if counts[offering.category] == nil { order.append(offering.category) }
            counts[offering.category, default: 0] += 1
        }
        return order.map { ($0, counts[$0] ?? 0) }
    }

    /// Bookable starts of one offering on consecutive dates, per qualified staff member (or only
    /// `staff`), computed in one pass over the calendar.
    package func availabilityByStaff(branch: BranchID, offering: OfferingID, staff: StaffID? = nil, dates: [LocalDate]) throws -> [(staff: StaffID, slots: [Slot])] {
        guard dates.count <= 92 else { throw DomainError(.invalidArgument, "ask for at most 92 dates at a time") }
        return try read { transaction in
            var engine = try AvailabilityEngine(context: transaction, branch: try Loader.branch(branch, in: transaction), now: now)
            try engine.validate([VisitPart(offeringID: offering, staffID: staff)])
            let candidates: [StaffID]
            if let staff {
                candidates = [staff]
            } else {
                candidates = try transaction.fetchAll("""
                    SELECT so.staff_id AS staff_id FROM staff_offerings so JOIN staff s ON s.id = so.staff_id
                    WHERE so.offering_id = ? AND so.active = 1 AND s.active = 1 ORDER BY s.display_order, s.id
                    """, [.text(offering.rawValue)]).compactMap { StaffID($0["staff_id"].string) }
            }
            let days = Set(dates).sorted()
            return try candidates.map { member in
                (member, try days.flatMap { try engine.slots(for: [VisitPart(offeringID: offering, staffID: member)], on: $0) })
            }
        }
    }
}
