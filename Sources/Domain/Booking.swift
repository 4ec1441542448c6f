import Replication

extension Shop {
    // MARK: Availability

    /// Bookable starts of a visit on the given local dates (rules in docs/domain.md), earliest first.
    /// - Parameters:
    ///   - parts: the services in order; a part without staff means any qualified staff member.
    package func availability(branch: BranchID, parts: [VisitPart], dates: [LocalDate]) throws -> [Slot] {
        guard dates.count <= 92 else { throw DomainError(.invalidArgument, "ask for at most 92 dates at a time") }
        return try read { transaction in
            var engine = try AvailabilityEngine(context: transaction, branch: try Loader.branch(branch, in: transaction), now: now)
            try engine.validate(parts)
            return try Set(dates).sorted().flatMap { try engine.slots(for: parts, on: $0) }
        }
    }

    /// Bookable starts of one service on one date, for one staff member or any.
    package func availability(branch: BranchID, offering: OfferingID, staff: StaffID? = nil, date: LocalDate) throws -> [Slot] {
        try availability(branch: branch, parts: [VisitPart(offeringID: offering, staffID: staff)], dates: [date])
    }

    // MARK: Booking

    /// Books a visit at an offered start, checking availability and writing in one transaction.
    ///
    /// On the home branch's replica the appointment is `confirmed` (or `held` when asked to hold);
    /// on any other replica it is `requested` until the home replica confirms or rejects it.
    /// - Returns: the appointment and, for a guest, the secret tracking token (shown once).
    /// - Throws: `DomainError(.slotTaken)` if someone else took the time, `.notAvailable` if it is not
    ///   a bookable start, `.invalidArgument` / `.invalidPhone` / `.notFound` for bad input.
    package func book(_ request: BookingRequest) throws -> Booking {
        try write(.appointmentCreate) { transaction in try book(request, seriesID: nil, in: transaction) }
    }

    func book(_ request: BookingRequest, seriesID: SeriesID?, in transaction: WriteTransaction) throws -> Booking {
        guard Instant.supportedRange.contains(request.start) else {
            throw DomainError(.invalidArgument, "bookings must start between 1970 and 2200")
        }
        let branch = try Loader.branch(request.branchID, in: transaction)
        var guest = request.guest
        if let clientID = request.clientID {
            guard try transaction.row("SELECT 1 FROM clients WHERE id = ?", [.text(clientID.rawValue)]) != nil else {
                throw DomainError(.notFound, "no client \(clientID)")
            }
            guest = nil
        } else {
            guard var details = guest else { throw DomainError(.invalidArgument, "a booking needs a client or a guest's name") }
            try requireName(details.name, "guest name")
            if !details.phone.isEmpty { details.phone = try PhoneNumber.normalise(details.phone, region: branch.region) }
            if !details.email.isEmpty { details.email = try Shop.validateEmail(details.email) }
            guest = details
        }
        guard request.specialRequests.count <= 2000 else { throw DomainError(.invalidArgument, "special requests are longer than 2000 characters") }
        var engine = try AvailabilityEngine(context: transaction, branch: branch, now: now)
        try engine.validate(request.parts)
        guard let slot = try engine.slot(for: request.parts, at: request.start) else {
            throw try unavailable(request.parts, at: request.start, branch: branch, in: transaction)
        }
        let status: AppointmentStatus = request.hold ? .held : (homeBranch == branch.id ? .confirmed : .requested)
        let id = AppointmentID.generate(at: now)
        var token: String?
        if guest != nil { token = Shop.makeTrackingToken() }
        let appointment = Appointment(
            id: id, branchID: branch.id, clientID: request.clientID, guest: guest, items: slot.items, status: status, statusReason: "",
            cancelledBy: nil, isLateCancellation: false, source: request.source, specialRequests: request.specialRequests,
            price: Money(amountMinor: slot.items.reduce(0) { $0 + $1.priceMinor }, currency: branch.currency),
            orderNumber: try nextOrderNumber(in: transaction), seriesID: seriesID,
            holdExpiresAt: request.hold ? now.adding(minutes: branch.policy.slotHoldMinutes) : nil, createdAt: now)
        try transaction.insert("appointments", [
            "id": .text(id.rawValue), "branch_id": .text(branch.id.rawValue), "client_id": .text(request.clientID?.rawValue ?? ""),
            "guest_name": .text(guest?.name ?? ""), "guest_phone": .text(guest?.phone ?? ""), "guest_email": .text(guest?.email ?? ""),
            "items": .text(JSONColumn.encode(slot.items)), "starts_at": .instant(slot.start), "ends_at": .instant(slot.end),
            "status": .text(status.rawValue), "source": .text(request.source.rawValue), "special_requests": .text(request.specialRequests),
            "price_minor": .integer(appointment.price.amountMinor), "currency": .text(branch.currency),
            "order_number": .text(appointment.orderNumber), "token_hash": .text(token.map(Shop.tokenHash) ?? ""),
            "series_id": .text(seriesID?.rawValue ?? ""), "hold_expires_at": .integer(appointment.holdExpiresAt?.milliseconds ?? 0),
            "created_at": .instant(now),
        ])
        try recordEvent(id, action: "created", from: nil, to: status, actor: request.actor, detail: "\(slot.localStart) via \(request.source.rawValue)", in: transaction)
        return Booking(appointment: appointment, trackingToken: token)
    }

    /// Why a start cannot be booked: taken by someone else, or never bookable (and why).
    func unavailable(_ parts: [VisitPart], at start: Instant, branch: Branch, in transaction: WriteTransaction, excluding: String? = nil) throws -> DomainError {
        var empty = try AvailabilityEngine(context: transaction, branch: branch, now: now, excluding: excluding)
        empty.ignoresOccupancy = true
        let zone = try ZoneRules.named(branch.timeZone)
        let local = start.iso8601(offsetSeconds: zone.offsetSeconds(at: start))
        if let ideal = try empty.slot(for: parts, at: start) {
            var engine = try AvailabilityEngine(context: transaction, branch: branch, now: now, excluding: excluding)
            if try engine.problem(with: ideal.items) == nil {
                // Free, but not where the grid restarts after the neighbouring bookings.
                let offered = try engine.slots(for: parts, on: zone.localDate(of: start))
                let before = offered.last { $0.start < start }, after = offered.first { $0.start > start }
                let nearest = [before, after].compactMap { $0?.localStart }
                return DomainError(.notAvailable, "\(local) is not on the slot grid\(nearest.isEmpty ? "" : "; nearest offered starts: \(nearest.joined(separator: ", "))")")
            }
            return DomainError(.slotTaken, "\(local) was just taken; choose another time")
        }
        if start < now.adding(minutes: branch.policy.minimumNoticeMinutes) {
            return DomainError(.notAvailable, "\(local) is less than \(branch.policy.minimumNoticeMinutes) minutes from now (minimum notice)")
        }
        let today = zone.localDate(of: now)
        if zone.localDate(of: start).daysSinceEpoch - today.daysSinceEpoch > branch.policy.horizonDays {
            return DomainError(.notAvailable, "\(local) is more than \(branch.policy.horizonDays) days ahead (booking horizon)")
        }
        return DomainError(.notAvailable, "\(local) is not a bookable start (outside working hours, not on the slot grid, or no qualified staff or resources)")
    }

    // MARK: Reading appointments

    package func appointment(_ id: AppointmentID) throws -> Appointment {
        try read { try Loader.appointment(id, in: $0) }
    }

    /// Appointments of a branch that start on a local date, by start.
    package func appointments(branch: BranchID, date: LocalDate) throws -> [Appointment] {
        try read { transaction in
            let zone = try ZoneRules.named(try Loader.branch(branch, in: transaction).timeZone)
            return try transaction.fetchAll("SELECT id FROM appointments WHERE branch_id = ? AND starts_at >= ? AND starts_at < ? ORDER BY starts_at, id",
                                        [.text(branch.rawValue), .instant(zone.startOfDay(date)), .instant(zone.startOfDay(date.adding(days: 1)))])
                .compactMap { AppointmentID($0["id"].string) }.map { try Loader.appointment($0, in: transaction) }
        }
    }

    /// The status history and other changes of an appointment, oldest first.
    package func history(of id: AppointmentID) throws -> [AppointmentEvent] {
        try read { transaction in
            try transaction.fetchAll("SELECT id, at, actor, action, from_status, to_status, detail FROM appointment_events WHERE appointment_id = ? ORDER BY hlc, id",
                                 [.text(id.rawValue)]).map { row in
                AppointmentEvent(id: row["id"].string, appointmentID: id, at: Instant(milliseconds: row["at"].int64), actor: row["actor"].string,
                                 action: row["action"].string, fromStatus: AppointmentStatus(rawValue: row["from_status"].string),
                                 toStatus: AppointmentStatus(rawValue: row["to_status"].string), detail: row["detail"].string)
            }
        }
    }

    // MARK: Status changes

    /// Confirms a held or requested appointment (only the home branch's replica confirms a
    /// request); the time is checked again in the same transaction.
    package func confirm(_ id: AppointmentID, actor: String) throws {
        try write(.appointmentConfirm) { transaction in try changeStatus(id, to: .confirmed, actor: actor, reason: "", cancelledBy: nil, in: transaction) }
    }

    /// Turns a hold into a booking: `confirmed` on the home replica, else `requested`.
    package func completeHold(_ id: AppointmentID, actor: String) throws {
        try write(.appointmentCompleteHold) { transaction in
            let appointment = try Loader.appointment(id, in: transaction)
            try changeStatus(id, to: homeBranch == appointment.branchID ? .confirmed : .requested, actor: actor, reason: "", cancelledBy: nil, in: transaction)
        }
    }

    package func reject(_ id: AppointmentID, reason: String, actor: String) throws {
        try write(.appointmentReject) { transaction in try changeStatus(id, to: .rejected, actor: actor, reason: reason, cancelledBy: nil, in: transaction) }
    }

    package func checkIn(_ id: AppointmentID, actor: String) throws {
        try write(.appointmentCheckIn) { transaction in try changeStatus(id, to: .checkedIn, actor: actor, reason: "", cancelledBy: nil, in: transaction) }
    }

    package func complete(_ id: AppointmentID, actor: String) throws {
        try write(.appointmentComplete) { transaction in try changeStatus(id, to: .completed, actor: actor, reason: "", cancelledBy: nil, in: transaction) }
    }

    package func markNoShow(_ id: AppointmentID, actor: String) throws {
        try write(.appointmentNoShow) { transaction in try changeStatus(id, to: .noShow, actor: actor, reason: "", cancelledBy: nil, in: transaction) }
    }

    /// Cancels; inside the branch's cancellation cut-off the cancellation is recorded as late.
    package func cancel(_ id: AppointmentID, by party: CancellingParty, reason: String, actor: String) throws {
        try write(.appointmentCancel) { transaction in try changeStatus(id, to: .cancelled, actor: actor, reason: reason, cancelledBy: party, in: transaction) }
    }

    /// Any status change, by the transition table of `AppointmentStatus`.
    package func transition(_ id: AppointmentID, to status: AppointmentStatus, actor: String, reason: String = "", cancelledBy: CancellingParty? = nil) throws {
        try write(.appointmentTransition) { transaction in try changeStatus(id, to: status, actor: actor, reason: reason, cancelledBy: cancelledBy, in: transaction) }
    }

    func changeStatus(_ id: AppointmentID, to status: AppointmentStatus, actor: String, reason: String, cancelledBy: CancellingParty?,
                      in transaction: WriteTransaction) throws {
        let appointment = try Loader.appointment(id, in: transaction)
        let from = appointment.status
        guard from.allowedNext.contains(status) else {
            throw DomainError(.illegalTransition, "an appointment that is \(from.rawValue) cannot become \(status.rawValue)"
                              + (from.allowedNext.isEmpty ? "" : " (it can become \(from.allowedNext.map(\.rawValue).sorted().joined(separator: ", ")))"))
        }
        guard reason.count <= 500 else { throw DomainError(.invalidArgument, "the reason is longer than 500 characters") }
        let branch = try Loader.branch(appointment.branchID, in: transaction)
        if status == .rejected || (status == .confirmed && from == .requested) || (status == .confirmed && homeBranch != appointment.branchID) {
            guard homeBranch == appointment.branchID else {
                throw DomainError(.notAuthority, "only the replica of branch \(branch.name) confirms or rejects its bookings")
            }
        }
        if status == .confirmed || status == .requested {
            var engine = try AvailabilityEngine(context: transaction, branch: branch, now: now, excluding: id.rawValue)
            // Confirming on the home replica decides between pending requests; they do not block each other.
            engine.ignoresRequests = status == .confirmed && homeBranch == appointment.branchID
            if let problem = try engine.problem(with: appointment.items) {
                throw DomainError(.slotTaken, "cannot \(status == .confirmed ? "confirm" : "request") \(appointment.orderNumber): \(problem)")
            }
        }
        var values: [String: SQLValue] = ["status": .text(status.rawValue)]
        if !reason.isEmpty || status == .cancelled || status == .rejected { values["status_reason"] = .text(reason) }
        var detail = reason
        if status == .cancelled {
            let isLate = now >= appointment.start.adding(minutes: -60 * branch.policy.cancellationCutoffHours)
            values["cancelled_by"] = .text((cancelledBy ?? .shop).rawValue)
            values["late_cancellation"] = .bool(isLate)
            detail = "by \((cancelledBy ?? .shop).rawValue)\(isLate ? ", late" : "")\(reason.isEmpty ? "" : ": \(reason)")"
        }
        try transaction.update("appointments", key: .text(id.rawValue), values)
        try recordEvent(id, action: "status", from: from, to: status, actor: actor, detail: detail, in: transaction)
        if from.isBlocking && !status.isBlocking {
            try offerFreedTime(of: appointment, in: transaction)
        }
    }

    /// Cancels holds that expired (their slots are free already; this tidies their status).
    @discardableResult
    package func expireHolds(actor: String = "system") throws -> Int {
        try write(.appointmentExpireHolds) { transaction in
            let expired = try transaction.fetchAll("SELECT id FROM appointments WHERE status = 'held' AND hold_expires_at <= ?", [.instant(now)])
            for row in expired {
                guard let id = AppointmentID(row["id"].string) else { continue }
                try changeStatus(id, to: .cancelled, actor: actor, reason: "hold expired", cancelledBy: .client, in: transaction)
            }
            return expired.count
        }
    }

    // MARK: Rescheduling

    /// Moves an appointment to another offered start, keeping its id and history. Its services
    /// and staff stay unless `staff` names new ones (one per service, nil = keep). Off the home
    /// replica a confirmed appointment becomes `requested` again.
    package func reschedule(_ id: AppointmentID, to start: Instant, staff: [StaffID?]? = nil, actor: String) throws -> Appointment {
        try write(.appointmentReschedule) { transaction in
            try reschedule(id, to: start, staff: staff, actor: actor, in: transaction)
            return try Loader.appointment(id, in: transaction)
        }
    }

    func reschedule(_ id: AppointmentID, to start: Instant, staff: [StaffID?]?, actor: String, in transaction: WriteTransaction) throws {
        let appointment = try Loader.appointment(id, in: transaction)
        guard [.held, .requested, .confirmed].contains(appointment.status) else {
            throw DomainError(.illegalTransition, "an appointment that is \(appointment.status.rawValue) cannot be moved")
        }
        if let staff, staff.count != appointment.items.count {
            throw DomainError(.invalidArgument, "name one staff member (or none) per service: \(appointment.items.count)")
        }
        let parts = appointment.items.enumerated().map { index, item in
            VisitPart(offeringID: item.offeringID, staffID: staff?[index] ?? item.staffID)
        }
        let branch = try Loader.branch(appointment.branchID, in: transaction)
        var engine = try AvailabilityEngine(context: transaction, branch: branch, now: now, excluding: id.rawValue)
        try engine.validate(parts)
        guard var slot = try engine.slot(for: parts, at: start) else {
            throw try unavailable(parts, at: start, branch: branch, in: transaction, excluding: id.rawValue)
        }
        // The price agreed at booking stays.
        for index in slot.items.indices where index < appointment.items.count { slot.items[index].priceMinor = appointment.items[index].priceMinor }
        var values: [String: SQLValue] = ["items": .text(JSONColumn.encode(slot.items)), "starts_at": .instant(slot.start), "ends_at": .instant(slot.end)]
        var newStatus = appointment.status
        if appointment.status == .confirmed && homeBranch != branch.id {
            newStatus = .requested
            values["status"] = .text(newStatus.rawValue)
        }
        try transaction.update("appointments", key: .text(id.rawValue), values)
        let zone = try ZoneRules.named(branch.timeZone)
        try recordEvent(id, action: "rescheduled", from: appointment.status, to: newStatus, actor: actor,
                        detail: "\(appointment.start.iso8601(offsetSeconds: zone.offsetSeconds(at: appointment.start))) → \(slot.localStart)", in: transaction)
        try offerFreedTime(of: appointment, in: transaction)
    }

    // MARK: The home replica's review

    /// What the home replica decided about a requested booking.
    public struct ReviewOutcome: Hashable, Sendable {
        public var appointment: AppointmentID
        public var status: AppointmentStatus
        public var reason: String
    }

    /// On the home branch's replica: confirms every `requested` booking of the branch whose time
    /// is still free and rejects the others with the reason, oldest request first. Run it after
    /// every merge.
    @discardableResult
    package func reviewRequests(actor: String = "home-replica") throws -> [ReviewOutcome] {
        guard let homeBranch else { return [] }
        return try write(.appointmentReviewRequests) { transaction in
            // A box that just joined holds no row of its branch until sync brings it: nothing to review.
            guard try transaction.row("SELECT 1 FROM branches WHERE id = ?", [.text(homeBranch.rawValue)]) != nil else { return [] }
            let branch = try Loader.branch(homeBranch, in: transaction)
            var outcomes: [ReviewOutcome] = []
            for row in try transaction.fetchAll("SELECT id FROM appointments WHERE status = 'requested' AND branch_id = ? ORDER BY created_at, id",
                                            [.text(homeBranch.rawValue)]) {
                guard let id = AppointmentID(row["id"].string) else { continue }
                let appointment = try Loader.appointment(id, in: transaction)
                var engine = try AvailabilityEngine(context: transaction, branch: branch, now: now, excluding: id.rawValue)
                // Requests not reviewed yet do not count against this one: the oldest request wins.
                engine.ignoresRequests = true
                if let problem = try engine.problem(with: appointment.items) {
                    try changeStatus(id, to: .rejected, actor: actor, reason: problem, cancelledBy: nil, in: transaction)
                    outcomes.append(ReviewOutcome(appointment: id, status: .rejected, reason: problem))
                } else {
                    try changeStatus(id, to: .confirmed, actor: actor, reason: "", cancelledBy: nil, in: transaction)
                    outcomes.append(ReviewOutcome(appointment: id, status: .confirmed, reason: ""))
                }
            }
            return outcomes
        }
    }

    // MARK: Guests

    /// The booking a guest's tracking token names.
    package func guestBooking(token: String) throws -> Appointment {
        try read { try Loader.appointment(token: token, in: $0) }
    }

    /// A guest cancels with their token; refused inside the cancellation cut-off (call the shop).
    package func cancelGuestBooking(token: String, reason: String = "") throws {
        try write(.guestBookingCancel) { transaction in
            let appointment = try Loader.appointment(token: token, in: transaction)
            try requireOutsideCutoff(appointment, in: transaction)
            try changeStatus(appointment.id, to: .cancelled, actor: "guest", reason: reason, cancelledBy: .client, in: transaction)
        }
    }

    /// A guest moves their booking with their token; refused inside the cancellation cut-off.
    package func rescheduleGuestBooking(token: String, to start: Instant) throws -> Appointment {
        try write(.guestBookingReschedule) { transaction in
            let appointment = try Loader.appointment(token: token, in: transaction)
            try requireOutsideCutoff(appointment, in: transaction)
            try reschedule(appointment.id, to: start, staff: nil, actor: "guest", in: transaction)
            return try Loader.appointment(appointment.id, in: transaction)
        }
    }

    /// Links a guest booking to a client account (e.g. after the guest signs up).
    package func linkGuestBooking(token: String, to client: ClientID) throws {
        try write(.guestBookingLink) { transaction in
            let appointment = try Loader.appointment(token: token, in: transaction)
            guard try transaction.row("SELECT 1 FROM clients WHERE id = ?", [.text(client.rawValue)]) != nil else {
                throw DomainError(.notFound, "no client \(client)")
            }
            try transaction.update("appointments", key: .text(appointment.id.rawValue), ["client_id": .text(client.rawValue)])
            try recordEvent(appointment.id, action: "linked", from: nil, to: nil, actor: "guest", detail: "client \(client)", in: transaction)
        }
    }

    private func requireOutsideCutoff(_ appointment: Appointment, in transaction: WriteTransaction) throws {
        let branch = try Loader.branch(appointment.branchID, in: transaction)
        if now >= appointment.start.adding(minutes: -60 * branch.policy.cancellationCutoffHours) {
            throw DomainError(.insideCancellationCutoff, "bookings can be changed online until \(branch.policy.cancellationCutoffHours) hours before the start; please call the shop")
        }
    }

    /// 128 random bits as 26 lowercase base-32 characters.
    static func makeTrackingToken() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        let bytes = Sodium.randomBytes(17)
        var bits = 0, value = 0
        var token = ""
        for byte in bytes {
            value = value << 8 | Int(byte)
            bits += 8
            while bits >= 5, token.count < 26 {
                bits -= 5
                token.append(alphabet[(value >> bits) & 31])
            }
        }
        return token
    }

    static func tokenHash(_ token: String) -> String { secretHash("guest-token", token) }

    /// `PREFIX-NNNNN`: the per-replica prefix and the next number after this replica's highest.
    func nextOrderNumber(in transaction: WriteTransaction) throws -> String {
        let highest = try transaction.fetchOne("""
            SELECT max(CAST(substr(order_number, 6) AS INTEGER)) AS highest FROM appointments WHERE order_number >= ? AND order_number < ?
            """, [.text(orderPrefix + "-"), .text(orderPrefix + ".")])?["highest"].integerValue ?? 0
        let number = String(highest + 1)
        return orderPrefix + "-" + String(repeating: "0", count: max(0, 5 - number.count)) + number
    }

    func recordEvent(_ id: AppointmentID, action: String, from: AppointmentStatus?, to: AppointmentStatus?, actor: String, detail: String,
                     in transaction: WriteTransaction) throws {
        try transaction.insert("appointment_events", [
            "id": .text(UUIDv7.generate(milliseconds: UInt64(max(0, now.milliseconds)))), "appointment_id": .text(id.rawValue),
            "at": .instant(now), "actor": .text(actor), "action": .text(action), "from_status": .text(from?.rawValue ?? ""),
            "to_status": .text(to?.rawValue ?? ""), "detail": .text(detail),
            // The transaction's hybrid logical clock orders events causally, also within one millisecond.
            "hlc": .integer(Int64(bitPattern: transaction.timestamp.rawValue)),
        ])
        // Later checks in this transaction (a series, a review, a waitlist offer) must see this change.
        try transaction.refreshDerivedState()
    }

    static func validateEmail(_ email: String) throws(DomainError) -> String {
        let trimmed = email.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              trimmed.count <= 254, !trimmed.contains(where: \.isWhitespace) else {
            throw DomainError(.invalidArgument, "\"\(email)\" is not an email address")
        }
        return String(parts[0]) + "@" + parts[1].lowercased()
    }
}

extension AvailabilityEngine {
    /// Why these booked items no longer fit (outside working time, overlapping, short of a
    /// resource), or nil if they do. Used when confirming; the slot grid and notice do not apply.
    mutating func problem(with items: [AppointmentItem]) throws -> String? {
        for item in items {
            if let problem = try problem(with: item) { return problem }
        }
        return nil
    }
}

extension Loader {
    static let appointmentColumns = """
        branch_id, client_id, guest_name, guest_phone, guest_email, items, status, status_reason, cancelled_by, late_cancellation,
        source, special_requests, price_minor, currency, order_number, series_id, hold_expires_at, created_at, id
        """

    static func appointment(_ id: AppointmentID, in context: some QueryContext) throws -> Appointment {
        guard let row = try context.fetchOne("SELECT \(appointmentColumns) FROM appointments WHERE id = ?", [.text(id.rawValue)]) else {
            throw DomainError(.notFound, "no appointment \(id)")
        }
        return try appointment(row)
    }

    static func appointment(token: String, in context: some QueryContext) throws -> Appointment {
        guard token.utf8.count == 26, token.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 50 && $0 <= 55) }),
              let row = try context.fetchOne("SELECT \(appointmentColumns) FROM appointments WHERE token_hash = ?", [.text(Shop.tokenHash(token))]) else {
            throw DomainError(.invalidToken, "no booking has this tracking token")
        }
        return try appointment(row)
    }

    static func appointment(_ row: Row) throws -> Appointment {
        guard let id = AppointmentID(row["id"].string), let branch = BranchID(row["branch_id"].string) else {
            throw DomainError(.storage, "appointment row with a malformed id")
        }
        let guest = row["guest_name"].string.isEmpty && row["guest_phone"].string.isEmpty ? nil : Guest(name: row["guest_name"].string, phone: row["guest_phone"].string, email: row["guest_email"].string)
        return Appointment(id: id, branchID: branch, clientID: ClientID(row["client_id"].string), guest: guest,
                           items: JSONColumn.decode([AppointmentItem].self, row["items"], default: []),
                           status: AppointmentStatus(rawValue: row["status"].string) ?? .requested, statusReason: row["status_reason"].string,
                           cancelledBy: CancellingParty(rawValue: row["cancelled_by"].string), isLateCancellation: row["late_cancellation"].bool,
                           source: BookingSource(rawValue: row["source"].string) ?? .frontDesk, specialRequests: row["special_requests"].string,
                           price: Money(amountMinor: row["price_minor"].int64, currency: row["currency"].string), orderNumber: row["order_number"].string,
                           seriesID: SeriesID(row["series_id"].string), holdExpiresAt: row["hold_expires_at"].int64 == 0 ? nil : Instant(milliseconds: row["hold_expires_at"].int64),
                           createdAt: Instant(milliseconds: row["created_at"].int64))
    }
}
