import Replication

/// One appointment item's hold on a staff member or resource (a row of `local_occupancy`).
struct Occupancy: Hashable, Sendable {
    var appointment: String
    var offering: String
    /// The item's start (group sessions are identified by offering, staff and start).
    var sessionStart: Instant
    /// start − buffer before … end + buffer after.
    var range: TimeRange
    var units: Int
    var capacity: Int
    var bookedMinutes: Int
}

/// Computes bookable starts by the rules in docs/domain.md. It reads the catalogue and the
/// occupancy index through a query context, so the same code answers "what is free" in a read
/// and checks a booking inside the write transaction that records it.
struct AvailabilityEngine {
    let context: any QueryContext
    let branch: Branch
    let zone: ZoneRules
    let now: Instant
    /// An appointment to ignore (the one being moved or confirmed).
    let excluding: String?
    /// Ignore every appointment (used to tell "taken" from "never bookable").
    var ignoresOccupancy = false
    /// Ignore requests still waiting for the home replica (its review decides them oldest first).
    var ignoresRequests = false

    private var occupancyCache: [String: [Occupancy]] = [:]
    private var occupancyWindow: [String: TimeRange] = [:]
    private var workingCache: [String: RangeSet] = [:]
    private var freeCache: [String: RangeSet] = [:]
    private var dayRangeCache: [LocalDate: TimeRange] = [:]
    private var bookedCache: [String: Int] = [:]
    private var branchHoursCache: [LocalDate: RangeSet] = [:]
    private var offeringCache: [String: Offering] = [:]
    private var resourceCache: [String: Resource?] = [:]
    private var qualifiedCache: [String: [StaffID]] = [:]
    private var assignmentCache: [String: StaffOffering?] = [:]
    private var staffCache: [String: StaffMember] = [:]

    init(context: any QueryContext, branch: Branch, now: Instant, excluding: String? = nil) throws {
        self.context = context
        self.branch = branch
        self.zone = try ZoneRules.named(branch.timeZone)
        self.now = now
        self.excluding = excluding
    }

    // MARK: Public entry points

    /// Every bookable start of the visit on `date`, one per start (rules 1–11).
    mutating func slots(for parts: [VisitPart], on date: LocalDate) throws -> [Slot] {
        let today = zone.localDate(of: now)
        guard date >= today, date.daysSinceEpoch - today.daysSinceEpoch <= branch.policy.horizonDays else { return [] }
        let earliest = now.adding(minutes: branch.policy.minimumNoticeMinutes)
        var candidates = Set<Instant>()
        let first = parts[0]
        let offering = try self.offering(first.offeringID)
        for staff in try staffFor(first) {
            let duration = try durationMinutes(offering, staff: staff)
            for free in try freeTime(staff: staff, date: date).ranges {
                var start = free.start.adding(minutes: offering.bufferBeforeMinutes)
                while start.adding(minutes: duration + offering.bufferAfterMinutes) <= free.end {
                    candidates.insert(start)
                    start = start.adding(minutes: offering.slotStepMinutes)
                }
            }
            if offering.capacity > 1 {
                for start in try openSessions(offering: offering, staff: staff, date: date) { candidates.insert(start) }
            }
        }
        var slots: [Slot] = []
        for start in candidates.sorted() where start >= earliest && zone.localDate(of: start) == date {
            if let slot = try fit(parts, at: start, date: date) { slots.append(slot) }
        }
        return slots
    }

    /// The visit as it would be booked at exactly `start`, or nil if that start is not offered.
    mutating func slot(for parts: [VisitPart], at start: Instant) throws -> Slot? {
        let date = zone.localDate(of: start)
        return try slots(for: parts, on: date).first { $0.start == start }
    }

    /// Minutes a staff member is booked on a local date (for "any staff" assignment).
    mutating func bookedMinutes(staff: StaffID, date: LocalDate) throws -> Int {
        let key = staff.rawValue + date.description
        if let cached = bookedCache[key] { return cached }
        let day = dayRange(date)
        let minutes = try occupancy(subject: staff.rawValue, around: day)
            .filter { day.contains($0.sessionStart) }
            .reduce(0) { $0 + $1.bookedMinutes }
        bookedCache[key] = minutes
        return minutes
    }

    // MARK: Rules

    /// Rules 4, 7, 8, 9, 10: whether the whole chain fits at `start`, with staff chosen.
    private mutating func fit(_ parts: [VisitPart], at start: Instant, date: LocalDate) throws -> Slot? {
        var items: [AppointmentItem] = []
        var cursor = start
        for (index, part) in parts.enumerated() {
            let offering = try self.offering(part.offeringID)
            if index > 0 {
                cursor = cursor.adding(minutes: items[index - 1].bufferAfterMinutes + offering.bufferBeforeMinutes)
            }
            var best: (staff: StaffID, booked: Int, item: AppointmentItem)?
            for staff in try staffFor(part) {
                guard let item = try fit(offering, staff: staff, at: cursor, date: date) else { continue }
                let booked = part.staffID != nil ? 0 : try bookedMinutes(staff: staff, date: date)
                if best == nil || booked < best!.booked || (booked == best!.booked && staff < best!.staff) {
                    best = (staff, booked, item)
                }
            }
            guard let chosen = best else { return nil }
            items.append(chosen.item)
            cursor = chosen.item.end
        }
        return Slot(start: start, end: items.last!.end, offsetSeconds: zone.offsetSeconds(at: start), items: items)
    }

    /// One service by one staff member at `start`: inside one free interval with its buffers and
    /// with enough resource units (rules 4 and 8), or joining an open group session (rule 7).
    private mutating func fit(_ offering: Offering, staff: StaffID, at start: Instant, date: LocalDate) throws -> AppointmentItem? {
        let duration = try durationMinutes(offering, staff: staff)
        let price = try assignment(staff: staff, offering: offering.id)?.priceMinor ?? offering.price.amountMinor
        let item = AppointmentItem(offeringID: offering.id, staffID: staff, start: start, end: start.adding(minutes: duration),
                                   bufferBeforeMinutes: offering.bufferBeforeMinutes, bufferAfterMinutes: offering.bufferAfterMinutes,
                                   priceMinor: price, resources: offering.resources, capacity: offering.capacity)
        if offering.capacity > 1, try openSessions(offering: offering, staff: staff, date: date).contains(start) {
            return item
        }
        guard try freeTime(staff: staff, date: date).range(containing: item.occupied) != nil else { return nil }
        for requirement in offering.resources {
            guard try freeUnits(requirement.resource, over: item.occupied) >= requirement.quantity else { return nil }
        }
        return item
    }

    /// Rule 7: starts of sessions of this offering and staff member with room for one more.
    private mutating func openSessions(offering: Offering, staff: StaffID, date: LocalDate) throws -> [Instant] {
        try openSessions(offering: offering.id.rawValue, capacity: offering.capacity, staff: staff, date: date)
    }

    private mutating func openSessions(offering: String, capacity: Int, staff: StaffID, date: LocalDate) throws -> [Instant] {
        var counts: [Instant: Int] = [:]
        for entry in try occupancy(subject: staff.rawValue, around: dayRange(date)) where entry.offering == offering {
            counts[entry.sessionStart, default: 0] += 1
        }
        return counts.filter { $0.value < capacity && zone.localDate(of: $0.key) == date }.map(\.key).sorted()
    }

    /// Why one booked item does not fit now, or nil if it does (rules 1–4, 7, 8 without the grid).
    mutating func problem(with item: AppointmentItem) throws -> String? {
        let date = zone.localDate(of: item.start)
        let name = (try? staff(item.staffID).name) ?? item.staffID.rawValue
        if item.capacity > 1, try openSessions(offering: item.offeringID.rawValue, capacity: item.capacity, staff: item.staffID, date: date).contains(item.start) {
            return nil
        }
        guard try workingTime(staff: item.staffID, date: date).range(containing: item.occupied) != nil else {
            return "\(name) does not work all of \(item.occupied.start.iso8601(offsetSeconds: zone.offsetSeconds(at: item.start)))–\(item.occupied.end.iso8601(offsetSeconds: zone.offsetSeconds(at: item.end)))"
        }
        guard try freeTime(staff: item.staffID, date: date).range(containing: item.occupied) != nil else {
            let other = try occupancy(subject: item.staffID.rawValue, around: dayRange(date)).first { $0.range.overlaps(item.occupied) }
            return "\(name) is already booked then\(other.map { " (appointment \($0.appointment))" } ?? "")"
        }
        for requirement in item.resources {
            guard try freeUnits(requirement.resource, over: item.occupied) >= requirement.quantity else {
                let resourceName = (try? resource(requirement.resource))??.name ?? requirement.resource.rawValue
                return "not enough of \(resourceName) free then"
            }
        }
        return nil
    }

    /// Rule 8: units of a resource free during all of `range`.
    private mutating func freeUnits(_ id: ResourceID, over range: TimeRange) throws -> Int {
        guard let resource = try resource(id), resource.isActive else { return 0 }
        let overlapping = try occupancy(subject: id.rawValue, around: range).filter { $0.range.overlaps(range) }
        // The most units in use at any moment of the range: a sweep over starts and ends.
        // A group session uses its resources once, however many clients joined it.
        var events: [(Instant, Int)] = []
        for session in Session.group(overlapping) {
            events.append((max(session.range.start, range.start), session.units))
            events.append((min(session.range.end, range.end), -session.units))
        }
        events.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        var inUse = 0, peak = 0
        for event in events {
            inUse += event.1
            peak = max(peak, inUse)
        }
        return resource.units - peak
    }

    /// Rules 1–3: working time minus occupied time.
    private mutating func freeTime(staff: StaffID, date: LocalDate) throws -> RangeSet {
        let key = staff.rawValue + date.description
        if let cached = freeCache[key] { return cached }
        let working = try workingTime(staff: staff, date: date)
        guard !working.isEmpty else { return working }
        let busy = try occupancy(subject: staff.rawValue, around: dayRange(date)).map(\.range)
        let free = working.subtracting(RangeSet(busy))
        freeCache[key] = free
        return free
    }

    /// Rule 1: the staff member's hours for the date (an override replaces the weekday's hours and
    /// breaks) ∩ the branch's hours (an override replaces them) − breaks − time off.
    mutating func workingTime(staff: StaffID, date: LocalDate) throws -> RangeSet {
        let key = staff.rawValue + date.description
        if let cached = workingCache[key] { return cached }
        let member = try self.staff(staff)
        var hours: RangeSet
        if let override = try context.fetchOne("SELECT intervals FROM staff_overrides WHERE id = ? AND active = 1",
                                               [.text(derivedKey("staff-override", staff.rawValue, date.description))]) {
            hours = ranges(JSONColumn.decode([WallInterval].self, override["intervals"], default: []), on: date)
        } else {
            hours = ranges(member.schedule[date.weekday], on: date).subtracting(ranges(member.breaks[date.weekday], on: date))
        }
        hours = hours.intersection(try branchHours(date))
        let day = dayRange(date)
        let timeOff = try context.fetchAll("SELECT starts_at, ends_at FROM staff_time_off WHERE staff_id = ? AND ends_at > ? AND starts_at < ?",
                                           [.text(staff.rawValue), .instant(day.start), .instant(day.end)])
            .map { TimeRange(start: Instant(milliseconds: $0["starts_at"].int64), end: Instant(milliseconds: $0["ends_at"].int64)) }
        hours = hours.subtracting(RangeSet(timeOff))
        workingCache[key] = hours
        return hours
    }

    private mutating func branchHours(_ date: LocalDate) throws -> RangeSet {
        if let cached = branchHoursCache[date] { return cached }
        let hours: RangeSet
        if let override = try context.fetchOne("SELECT intervals FROM branch_overrides WHERE id = ? AND active = 1",
                                               [.text(derivedKey("branch-override", branch.id.rawValue, date.description))]) {
            hours = ranges(JSONColumn.decode([WallInterval].self, override["intervals"], default: []), on: date)
        } else {
            hours = ranges(branch.openingHours[date.weekday], on: date)
        }
        branchHoursCache[date] = hours
        return hours
    }

    /// Rule 11: wall-clock intervals of a local date as instants in the branch's zone.
    func ranges(_ intervals: [WallInterval], on date: LocalDate) -> RangeSet {
        RangeSet(intervals.map { TimeRange(start: zone.resolve(date, minutes: $0.start.minutes).instant,
                                           end: zone.resolve(date, minutes: $0.end.minutes).instant) })
    }

    mutating func dayRange(_ date: LocalDate) -> TimeRange {
        if let cached = dayRangeCache[date] { return cached }
        let range = TimeRange(start: zone.startOfDay(date), end: zone.startOfDay(date.adding(days: 1)))
        dayRangeCache[date] = range
        return range
    }

    // MARK: Loading, cached for one computation

    /// Rule 2: what occupies a staff member or resource near `range` (blocking statuses; holds until they expire).
    private mutating func occupancy(subject: String, around range: TimeRange) throws -> [Occupancy] {
        if ignoresOccupancy { return [] }
        if let window = occupancyWindow[subject], window.contains(range) { return occupancyCache[subject] ?? [] }
        // Items last at most a day plus buffers: look two days back for ones reaching in.
        let window = TimeRange(start: range.start.adding(minutes: -2 * 1440), end: range.end.adding(minutes: 1440))
        let rows = try context.fetchAll("""
            SELECT appointment_id, offering_id, session_start, occupied_start, occupied_end, units, capacity, booked_minutes, status
            FROM local_occupancy WHERE subject = ? AND occupied_start >= ? AND occupied_start < ?
              AND (status <> 'held' OR hold_expires_at > ?)
            """, [.text(subject), .instant(window.start), .instant(window.end), .instant(now)])
        var entries: [Occupancy] = []
        entries.reserveCapacity(rows.count)
        for row in rows where row["appointment_id"].string != excluding && !(ignoresRequests && row["status"].string == "requested") {
            entries.append(Occupancy(appointment: row["appointment_id"].string, offering: row["offering_id"].string,
                                     sessionStart: Instant(milliseconds: row["session_start"].int64),
                                     range: TimeRange(start: Instant(milliseconds: row["occupied_start"].int64), end: Instant(milliseconds: row["occupied_end"].int64)),
                                     units: row["units"].int, capacity: row["capacity"].int, bookedMinutes: row["booked_minutes"].int))
        }
        occupancyCache[subject] = entries
        occupancyWindow[subject] = TimeRange(start: window.start.adding(minutes: 2 * 1440), end: window.end)
        return entries
    }

    private mutating func offering(_ id: OfferingID) throws -> Offering {
        if let cached = offeringCache[id.rawValue] { return cached }
        let offering = try Loader.offering(id, in: context)
        offeringCache[id.rawValue] = offering
        return offering
    }

    private mutating func resource(_ id: ResourceID) throws -> Resource? {
        if let cached = resourceCache[id.rawValue] { return cached }
        let resource = try? Loader.resource(id, in: context)
        resourceCache[id.rawValue] = resource
        return resource
    }

    private mutating func staff(_ id: StaffID) throws -> StaffMember {
        if let cached = staffCache[id.rawValue] { return cached }
        let member = try Loader.staff(id, in: context)
        staffCache[id.rawValue] = member
        return member
    }

    /// The staff member's own duration and price for an offering; nil if they do not perform it.
    private mutating func assignment(staff: StaffID, offering: OfferingID) throws -> StaffOffering? {
        let key = staff.rawValue + offering.rawValue
        if let cached = assignmentCache[key] { return cached }
        let assignment = try Loader.assignment(staff: staff, offering: offering, in: context)
        assignmentCache[key] = assignment
        return assignment
    }

    private mutating func durationMinutes(_ offering: Offering, staff: StaffID) throws -> Int {
        try assignment(staff: staff, offering: offering.id)?.durationMinutes ?? offering.durationMinutes
    }

    /// Rule 9: the named staff member, or every active staff member of the branch who performs the offering.
    private mutating func staffFor(_ part: VisitPart) throws -> [StaffID] {
        if let staff = part.staffID { return [staff] }
        if let cached = qualifiedCache[part.offeringID.rawValue] { return cached }
        let staff = try context.fetchAll("""
            SELECT s.id AS id FROM staff_offerings so JOIN staff s ON s.id = so.staff_id
            WHERE so.offering_id = ? AND so.active = 1 AND s.active = 1 AND s.branch_id = ? ORDER BY s.id
            """, [.text(part.offeringID.rawValue), .text(branch.id.rawValue)]).compactMap { StaffID($0["id"].string) }
        qualifiedCache[part.offeringID.rawValue] = staff
        return staff
    }

    /// Checks that a visit names active offerings of this branch and staff who perform them.
    mutating func validate(_ parts: [VisitPart]) throws {
        guard (1...10).contains(parts.count) else { throw DomainError(.invalidArgument, "a visit has 1 to 10 services, not \(parts.count)") }
        for part in parts {
            let offering = try self.offering(part.offeringID)
            guard offering.branchID == branch.id else { throw DomainError(.invalidArgument, "offering \(offering.id) belongs to another branch") }
            guard offering.isActive else { throw DomainError(.notAvailable, "offering \(offering.name(in: "en")) is not offered any more") }
            if let staffID = part.staffID {
                let member = try staff(staffID)
                guard member.isActive, member.branchID == branch.id else {
                    throw DomainError(.notAvailable, "\(member.name) does not take bookings at this branch")
                }
                guard try assignment(staff: staffID, offering: offering.id) != nil else {
                    throw DomainError(.invalidArgument, "\(member.name) does not perform \(offering.name(in: "en"))")
                }
            }
        }
    }
}
