/// The calendar: availability, appointments and their lifecycle, guest bookings, series, the
/// waitlist, the home replica's review of requested bookings, and merge conflicts.
///
/// One of the shop's per-area components (`Shop.calendar`): async, over the shop's one store,
/// which runs the SQLite work off Swift's cooperative pool by itself (inline inside a unit of
/// work). Every booking is checked and written in one transaction (docs/domain.md). Every write
/// names who acts (`as: Acting`): the history records its name, the audit trail the principal.
public struct BookingCalendar: Sendable {
    let shop: Shop

    // MARK: Availability

    /// What an availability screen shows, read in one go (one hop to the store's threads: under
    /// load each hop waits for a core, so a request that made one per lookup was measurably slower).
    public struct AvailabilityOverview: Sendable {
        public var branch: Branch
        /// For one offering: each qualified staff member (or only the one asked for), their name
        /// and offered starts. Empty for several offerings.
        public var staff: [(staff: StaffID, name: String, slots: [Slot])]
        /// Bookable starts, earliest first (for one offering: the union over the staff).
        public var slots: [Slot]
    }

    /// The availability of `offerings` (in order, one visit) on `dates`, at `branch` (by default
    /// the first offering's branch), for `staff` or anyone qualified.
    public func overview(branch named: BranchID?, offerings: [OfferingID], staff: StaffID?, dates: [LocalDate]) async throws -> AvailabilityOverview {
        try await shop.perform { shop in
            guard let first = offerings.first else { throw DomainError(.invalidArgument, "name at least one service") }
            let branchID = try named ?? shop.offering(first).branchID
            let branch = try shop.branch(branchID)
            guard offerings.count == 1 else {
                let parts = offerings.map { VisitPart(offeringID: $0, staffID: staff) }
                return AvailabilityOverview(branch: branch, staff: [], slots: try shop.availability(branch: branchID, parts: parts, dates: dates))
            }
            let byStaff = try shop.availabilityByStaff(branch: branchID, offering: first, staff: staff, dates: dates)
            var names: [StaffID: String] = [:]
            for entry in byStaff where names[entry.staff] == nil { names[entry.staff] = try shop.staffMember(entry.staff).name }
            var seen: Set<Instant> = []
            var union: [Slot] = []
            for (_, slots) in byStaff { for slot in slots where seen.insert(slot.start).inserted { union.append(slot) } }
            union.sort { $0.start < $1.start }
            return AvailabilityOverview(branch: branch, staff: byStaff.map { ($0.staff, names[$0.staff] ?? "", $0.slots) }, slots: union)
        }
    }

    /// Bookable starts of a visit on the given local dates, earliest first.
    public func availability(branch: BranchID, parts: [VisitPart], dates: [LocalDate]) async throws -> [Slot] {
        try await shop.perform { try $0.availability(branch: branch, parts: parts, dates: dates) }
    }

    /// Bookable starts of one service on one date, for one staff member or any.
    public func availability(branch: BranchID, offering: OfferingID, staff: StaffID? = nil, date: LocalDate) async throws -> [Slot] {
        try await shop.perform { try $0.availability(branch: branch, offering: offering, staff: staff, date: date) }
    }

    /// Bookable starts of one offering on consecutive dates, per qualified staff member (or only `staff`).
    public func availabilityByStaff(branch: BranchID, offering: OfferingID, staff: StaffID? = nil,
                                    dates: [LocalDate]) async throws -> [(staff: StaffID, slots: [Slot])] {
        try await shop.perform { try $0.availabilityByStaff(branch: branch, offering: offering, staff: staff, dates: dates) }
    }

    // MARK: Appointments

    /// Books a visit at an offered start (see `Shop.book(_:)` for the rules and errors); the
    /// history names `acting` (whatever `request.actor` says).
    public func book(_ request: BookingRequest, as acting: Acting) async throws -> Booking {
        var request = request
        request.actor = acting.name
        return try await shop.perform(as: acting) { [request] in try $0.book(request) }
    }

    /// The appointment with `id`.
    public func appointment(_ id: AppointmentID) async throws -> Appointment { try await shop.perform { try $0.appointment(id) } }

    /// A branch's appointments on one local date.
    public func appointments(branch: BranchID, date: LocalDate) async throws -> [Appointment] {
        try await shop.perform { try $0.appointments(branch: branch, date: date) }
    }

    /// Appointments by start, then id, filtered and paged.
    public func appointments(matching query: Shop.AppointmentQuery) async throws -> [Appointment] {
        try await shop.perform { try $0.appointments(matching: query) }
    }

    /// What happened to an appointment, oldest first.
    public func history(of id: AppointmentID) async throws -> [AppointmentEvent] { try await shop.perform { try $0.history(of: id) } }

    /// Moves an appointment to a new `status` (checked against the lifecycle).
    public func transition(_ id: AppointmentID, to status: AppointmentStatus, reason: String = "",
                           cancelledBy: CancellingParty? = nil, as acting: Acting) async throws {
        try await shop.perform(as: acting) { try $0.transition(id, to: status, actor: acting.name, reason: reason, cancelledBy: cancelledBy) }
    }

    /// Confirms a requested appointment.
    @discardableResult
    public func confirm(_ id: AppointmentID, as acting: Acting) async throws -> Appointment {
        try await shop.perform(as: acting) { shop in try shop.confirm(id, actor: acting.name); return try shop.appointment(id) }
    }

    /// Checks the client in.
    @discardableResult
    public func checkIn(_ id: AppointmentID, as acting: Acting) async throws -> Appointment {
        try await shop.perform(as: acting) { shop in try shop.checkIn(id, actor: acting.name); return try shop.appointment(id) }
    }

    /// Marks the visit done. Like every status change here, it answers the appointment as it is
    /// afterwards, read in the same trip to the store's thread as the change.
    @discardableResult
    public func complete(_ id: AppointmentID, as acting: Acting) async throws -> Appointment {
        try await shop.perform(as: acting) { shop in try shop.complete(id, actor: acting.name); return try shop.appointment(id) }
    }

    /// Marks that the client did not come.
    @discardableResult
    public func markNoShow(_ id: AppointmentID, as acting: Acting) async throws -> Appointment {
        try await shop.perform(as: acting) { shop in try shop.markNoShow(id, actor: acting.name); return try shop.appointment(id) }
    }

    /// Turns a held appointment into a booking (confirmed at home, requested elsewhere).
    @discardableResult
    public func completeHold(_ id: AppointmentID, as acting: Acting) async throws -> Appointment {
        try await shop.perform(as: acting) { shop in try shop.completeHold(id, actor: acting.name); return try shop.appointment(id) }
    }

    /// Rejects a requested appointment.
    @discardableResult
    public func reject(_ id: AppointmentID, reason: String, as acting: Acting) async throws -> Appointment {
        try await shop.perform(as: acting) { shop in try shop.reject(id, reason: reason, actor: acting.name); return try shop.appointment(id) }
    }

    /// Cancels an appointment.
    @discardableResult
    public func cancel(_ id: AppointmentID, by party: CancellingParty, reason: String, as acting: Acting) async throws -> Appointment {
        try await shop.perform(as: acting) { shop in try shop.cancel(id, by: party, reason: reason, actor: acting.name); return try shop.appointment(id) }
    }

    /// Moves an appointment to another start (and optionally other staff), checked like a booking.
    public func reschedule(_ id: AppointmentID, to start: Instant, staff: [StaffID?]? = nil, as acting: Acting) async throws -> Appointment {
        try await shop.perform(as: acting) { try $0.reschedule(id, to: start, staff: staff, actor: acting.name) }
    }

    /// Cancels the holds that expired.
    /// - Returns: how many.
    @discardableResult
    public func expireHolds(as acting: Acting = .system("system")) async throws -> Int {
        try await shop.perform(as: acting) { try $0.expireHolds(actor: acting.name) }
    }

    /// On the home replica: confirms or rejects the requested bookings (oldest request first).
    @discardableResult
    public func reviewRequests(as acting: Acting = .system("home-replica")) async throws -> [Shop.ReviewOutcome] {
        try await shop.perform(as: acting) { try $0.reviewRequests(actor: acting.name) }
    }

    // MARK: Guests

    /// The booking a guest's tracking token names.
    public func guestBooking(token: String) async throws -> Appointment { try await shop.perform { try $0.guestBooking(token: token) } }

    /// A guest cancels with their token; refused inside the cancellation cut-off.
    public func cancelGuestBooking(token: String, reason: String = "", as acting: Acting) async throws {
        try await shop.perform(as: acting) { try $0.cancelGuestBooking(token: token, reason: reason) }
    }

    /// A guest moves their booking with their token; refused inside the cancellation cut-off.
    public func rescheduleGuestBooking(token: String, to start: Instant, as acting: Acting) async throws -> Appointment {
        try await shop.perform(as: acting) { try $0.rescheduleGuestBooking(token: token, to: start) }
    }

    /// Links a guest booking to a client.
    public func linkGuestBooking(token: String, to client: ClientID, as acting: Acting) async throws {
        try await shop.perform(as: acting) { try $0.linkGuestBooking(token: token, to: client) }
    }

    // MARK: Series

    /// Books a repeating visit; occurrences that cannot be booked are reported, not fatal.
    public func bookSeries(_ request: BookingRequest, frequency: SeriesFrequency, count: Int? = nil, until: LocalDate? = nil,
                           as acting: Acting) async throws -> SeriesReport {
        var request = request
        request.actor = acting.name
        return try await shop.perform(as: acting) { [request] in try $0.bookSeries(request, frequency: frequency, count: count, until: until) }
    }

    /// The occurrences of a series, by start.
    public func occurrences(of series: SeriesID) async throws -> [Appointment] { try await shop.perform { try $0.occurrences(of: series) } }

    /// Cancels every occurrence on or after a local date that can still be cancelled.
    @discardableResult
    public func cancelSeries(_ series: SeriesID, from date: LocalDate, by party: CancellingParty, reason: String, as acting: Acting) async throws -> [AppointmentID] {
        try await shop.perform(as: acting) { try $0.cancelSeries(series, from: date, by: party, reason: reason, actor: acting.name) }
    }

    /// Moves every occurrence on or after a local date to another wall-clock time.
    public func moveSeries(_ series: SeriesID, from date: LocalDate, to time: WallTime, shiftingDays days: Int = 0, as acting: Acting) async throws -> SeriesReport {
        try await shop.perform(as: acting) { try $0.moveSeries(series, from: date, to: time, shiftingDays: days, actor: acting.name) }
    }

    // MARK: Waitlist

    /// Puts a client on the waitlist.
    @discardableResult
    public func joinWaitlist(client: ClientID, branch: BranchID, offering: OfferingID, staff: StaffID? = nil,
                             from: LocalDate, to: LocalDate, as acting: Acting) async throws -> WaitlistEntry {
        try await shop.perform(as: acting) { try $0.joinWaitlist(client: client, branch: branch, offering: offering, staff: staff, from: from, to: to) }
    }

    /// A branch's waitlist.
    public func waitlist(branch: BranchID) async throws -> [WaitlistEntry] { try await shop.perform { try $0.waitlist(branch: branch) } }

    /// One waitlist entry.
    public func waitlistEntry(_ id: WaitlistEntryID) async throws -> WaitlistEntry { try await shop.perform { try $0.waitlistEntry(id) } }

    /// Books the time offered to a waitlist entry.
    public func acceptWaitlistOffer(_ id: WaitlistEntryID, as acting: Acting) async throws -> Booking {
        try await shop.perform(as: acting) { try $0.acceptWaitlistOffer(id, actor: acting.name) }
    }

    /// Declines an offer; the time goes to the next entry in line.
    public func declineWaitlistOffer(_ id: WaitlistEntryID, as acting: Acting) async throws { try await shop.perform(as: acting) { try $0.declineWaitlistOffer(id) } }

    /// Takes an entry off the waitlist.
    public func leaveWaitlist(_ id: WaitlistEntryID, as acting: Acting) async throws { try await shop.perform(as: acting) { try $0.leaveWaitlist(id) } }

    // MARK: Conflicts

    /// Current merge conflicts (overlaps beyond capacity), optionally with the accepted ones.
    public func conflicts(includeAccepted: Bool = true) async throws -> [Conflict] {
        try await shop.perform { try $0.conflicts(includeAccepted: includeAccepted) }
    }

    /// Resolves a conflict: accept the overlap, cancel one appointment, or move it.
    public func resolveConflict(_ id: ConflictID, action: ConflictResolution.Action, appointment: AppointmentID? = nil,
                                newStart: Instant? = nil, note: String = "", as acting: Acting) async throws {
        try await shop.perform(as: acting) {
            try $0.resolveConflict(id, action: action, appointment: appointment, newStart: newStart, actor: acting.name, note: note)
        }
    }
}
