import Domain
import Foundation

// Availability, appointments, series, waitlist and conflicts.

extension BookingHandlers {
    /// Availability, appointments, series, waitlist and conflicts.
    static let endpoints: [Endpoint] = [
        Endpoint(.get, "/v1/availability", .catalogueRead,
                 query: [.required("service"), .required("date"), "staff", "days", "branch"], answers: [200: .json("Availability")],
                 BookingHandlers.availability),
        Endpoint(.post, "/v1/appointments", .book,
                 body: .json("BookingInput"), answers: [201: .json("Appointment")],
                 BookingHandlers.create),
        Endpoint(.get, "/v1/appointments", .appointmentsRead,
                 query: [.required("from"), .required("to"), "staff", "client", "branch", "status", "limit", "cursor"], answers: [200: .json("AppointmentPage")],
                 BookingHandlers.list),
        Endpoint(.get, "/v1/appointments/{id}", .appointmentsRead,
                 answers: [200: .json("Appointment")],
                 BookingHandlers.get),
        Endpoint(.patch, "/v1/appointments/{id}", .appointmentsManage,
                 body: .json("AppointmentPatch"), answers: [200: .json("Appointment")],
                 BookingHandlers.patch),
        Endpoint(.get, "/v1/appointments/{id}/events", .appointmentsRead,
                 answers: [200: .json("AppointmentEventPage")],
                 BookingHandlers.history),
        Endpoint(.post, "/v1/appointments/{id}/{action}", .appointmentsManage,
                 body: .optionalJSON("AppointmentActionInput"), answers: [200: .json("Appointment")],
                 BookingHandlers.action),
        Endpoint(.post, "/v1/series", .appointmentsManage,
                 body: .json("SeriesInput"), answers: [201: .json("SeriesReport")],
                 BookingHandlers.createSeries),
        Endpoint(.get, "/v1/series/{id}", .appointmentsRead,
                 answers: [200: .json("AppointmentPage")],
                 BookingHandlers.getSeries),
        Endpoint(.post, "/v1/series/{id}/cancel", .appointmentsManage,
                 body: .json("SeriesCancelInput"), answers: [200: .json("SeriesCancelled")],
                 BookingHandlers.cancelSeries),
        Endpoint(.post, "/v1/series/{id}/move", .appointmentsManage,
                 body: .json("SeriesMoveInput"), answers: [200: .json("SeriesReport")],
                 BookingHandlers.moveSeries),
        Endpoint(.get, "/v1/waitlist", .appointmentsRead,
                 query: ["branch"], answers: [200: .json("WaitlistPage")],
                 BookingHandlers.listWaitlist),
        Endpoint(.post, "/v1/waitlist", .appointmentsManage,
                 body: .json("WaitlistInput"), answers: [201: .json("WaitlistEntry")],
                 BookingHandlers.joinWaitlist),
        Endpoint(.get, "/v1/waitlist/{id}", .appointmentsRead,
                 answers: [200: .json("WaitlistEntry")],
                 BookingHandlers.getWaitlistEntry),
        Endpoint(.post, "/v1/waitlist/{id}/{action}", .appointmentsManage,
                 body: .optionalJSON("EmptyInput"), answers: [200: .json("WaitlistEntry"), 201: .json("Appointment")],
                 BookingHandlers.waitlistAction),
        Endpoint(.get, "/v1/conflicts", .conflictsRead,
                 query: ["include_accepted"], answers: [200: .json("ConflictPage")],
                 BookingHandlers.listConflicts),
        Endpoint(.post, "/v1/conflicts/{id}/resolve", .conflictsResolve,
                 body: .json("ConflictResolveInput"), answers: [200: .json("ConflictPage")],
                 BookingHandlers.resolveConflict),
    ]
}

enum BookingHandlers {
    // MARK: Availability

    struct AvailabilityBody: Encodable {
        var branch: String
        var timeZone: String
        var services: [String]
        var dates: [String]
        /// For one service: each qualified staff member's offered starts.
        var staff: [StaffSlots]
        /// Bookable visits (one entry per start; for several services, the chain's items).
        var slots: [SlotBody]
        /// The asked dates that offer nothing by rule, and why: `past` (before today in the branch's
        /// zone) or `beyond_horizon` (more than the branch's `horizon_days` ahead). A date not listed
        /// may still have no slots (closed, fully booked, nobody qualified).
        var unavailable: [UnavailableDate]
    }

    struct UnavailableDate: Encodable {
        var date: String
        var reason: String
        var detail: String
    }

    /// Why `date` offers nothing whatever the bookings (the rule of `Availability.slots`), if it does not.
    static func unavailability(of date: LocalDate, branch: Branch, now: Instant) -> UnavailableDate? {
        guard let zone = try? ZoneRules.named(branch.timeZone) else { return nil }
        let today = zone.localDate(of: now)
        if date < today {
            return UnavailableDate(date: date.description, reason: "past", detail: "\(date) is before today (\(today)) in \(branch.timeZone)")
        }
        let horizon = branch.policy.horizonDays
        if date.daysSinceEpoch - today.daysSinceEpoch > horizon {
            return UnavailableDate(date: date.description, reason: "beyond_horizon",
                                   detail: "\(date) is more than \(horizon) days ahead (the branch's horizon_days); the last bookable date is \(today.adding(days: horizon))")
        }
        return nil
    }

    struct StaffSlots: Encodable {
        var staff: String
        var name: String
        var starts: [String]
    }

    struct SlotBody: Encodable {
        var start: String
        var end: String
        var items: [Item]

        struct Item: Encodable {
            var service: String
            var staff: String
            var start: String
            var end: String
        }
    }

    static func availability(_ call: Call) async throws -> Reply {
        let query = call.query()
        let services = query.ids("service", required: true, maxCount: 5, as: OfferingID.self)
        let date = query.date("date", required: true)
        let staff = query.id("staff", as: StaffID.self)
        let days = query.int("days", range: 1...31) ?? 1
        let named = query.id("branch", as: BranchID.self)
        try query.validate()
        guard let services, !services.isEmpty, let date else { throw APIError.invalidParameters([FieldError(field: "service", message: "is required")]) }
        let dates = (0..<days).map { date.adding(days: $0) }
        let overview = try await call.shop.calendar.overview(branch: named, offerings: services, staff: staff, dates: dates)
        let branch = overview.branch
        let perStaff = overview.staff.map { ($0.staff, $0.name, $0.slots) }
        let slots = overview.slots
        let body = AvailabilityBody(
            branch: branch.id.rawValue, timeZone: branch.timeZone, services: services.map(\.rawValue),
            dates: (0..<days).map { date.adding(days: $0).description },
            staff: perStaff.map { StaffSlots(staff: $0.0.rawValue, name: $0.1, starts: $0.2.map(\.localStart)) },
            slots: slots.map { slot in
                SlotBody(start: slot.localStart, end: slot.end.iso8601(offsetSeconds: slot.offsetSeconds), items: slot.items.map {
                    SlotBody.Item(service: $0.offeringID.rawValue, staff: $0.staffID.rawValue, start: call.zones.format($0.start, branch: branch.id),
                                  end: call.zones.format($0.end, branch: branch.id))
                })
            },
            unavailable: dates.compactMap { unavailability(of: $0, branch: branch, now: call.shop.now) })
        return .json(body)
    }

    // MARK: Appointments

    /// Reads the fields of a booking request shared by appointments and series.
    static func bookingRequest(_ body: BodyReader, call: Call) throws -> BookingRequest? {
        let branch = body.id("branch", as: BranchID.self)
        var parts: [VisitPart] = []
        for reader in body.objects("services", required: true, maxCount: 5) ?? [] {
            let service = reader.id("service", required: true, as: OfferingID.self)
            let staff = reader.id("staff", as: StaffID.self)
            reader.finish()
            if let service { parts.append(VisitPart(offeringID: service, staffID: staff)) }
        }
        let start = body.instant("start", required: true)
        let client = body.id("client", as: ClientID.self)
        var guest: Guest?
        if let reader = body.object("guest") {
            let name = reader.string("name", required: true, maxLength: 200, allowEmpty: false)
            let phone = reader.string("phone", maxLength: 40) ?? ""
            let email = reader.string("email", maxLength: 254) ?? ""
            reader.finish()
            if let name { guest = Guest(name: name, phone: phone, email: email) }
        }
        let kiosk = call.role == .kiosk
        let source = body.enumeration("source", as: BookingSource.self, allowed: kiosk ? [.kiosk] : BookingSource.allCases) ?? (kiosk ? .kiosk : .frontDesk)
        let requests = body.string("special_requests", maxLength: 2000, multiline: true) ?? ""
        let hold = body.bool("hold") ?? false
        if body.has("services"), parts.isEmpty, body.errors.errors.isEmpty { body.errors.add("services", "must name at least one service") }
        if kiosk, client != nil { body.errors.add("client", "a kiosk books for guests only") }
        if client == nil, guest == nil, !body.has("guest") { body.errors.add("client", "name a client or a guest") }
        guard let start, !parts.isEmpty else { return nil }
        let branchID: BranchID
        if let branch { branchID = branch } else if let home = call.shop.homeBranch { branchID = home } else {
            body.errors.add("branch", "is required: this box has no home branch")
            return nil
        }
        return BookingRequest(branchID: branchID, parts: parts, start: start, clientID: client, guest: guest, source: source,
                              specialRequests: requests, hold: hold)
    }

    static func create(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let request = try bookingRequest(body, call: call)
        try body.validate()
        guard let request else { throw APIError.validation([]) }
        let booking = try await call.shop.calendar.book(request, as: call.acting)
        let id = booking.appointment.id
        return .json(AppointmentBody(booking.appointment, zones: call.zones, trackingToken: booking.trackingToken), status: 201, location: "/v1/appointments/\(id)")
    }

    static func list(_ call: Call) async throws -> Reply {
        let query = call.query()
        let from = query.instant("from", required: true)
        let to = query.instant("to", required: true)
        let staff = query.id("staff", as: StaffID.self)
        let client = query.id("client", as: ClientID.self)
        let branch = query.id("branch", as: BranchID.self)
        let statuses = query.enumeration("status", as: AppointmentStatus.self) ?? []
        let limit = query.int("limit", range: 1...500) ?? 50
        let cursor = query.string("cursor", maxLength: 512)
        try query.validate()
        guard let from, let to else { throw APIError.invalidParameters([]) }
        var after: (start: Instant, id: AppointmentID)?
        if let cursor {
            guard let fields = Cursor.decode(cursor), let start = fields["s"].flatMap({ Int64($0) }), let id = fields["i"].flatMap(AppointmentID.init) else {
                throw APIError.invalidParameters([FieldError(field: "cursor", message: "is not a cursor this endpoint returned")])
            }
            after = (Instant(milliseconds: start), id)
        }
        let resume = after
        let shopQuery = Shop.AppointmentQuery(branch: branch, from: from, to: to, staff: staff, client: client, statuses: Set(statuses), after: resume, limit: limit + 1)
        var appointments = try await call.shop.calendar.appointments(matching: shopQuery)
        var next: String?
        if appointments.count > limit {
            appointments.removeLast()
            if let last = appointments.last { next = Cursor.encode(["s": String(last.start.milliseconds), "i": last.id.rawValue]) }
        }
        return .json(Page(items: appointments.map { AppointmentBody($0, zones: call.zones) }, nextCursor: next))
    }

    static func get(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: AppointmentID.self)
        return .json(AppointmentBody(try await call.shop.calendar.appointment(id), zones: call.zones))
    }

    /// PATCH moves an appointment: a new `start` and/or staff per item (`staff`: one id per item).
    static func patch(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: AppointmentID.self)
        let body = try call.bodyReader()
        let start = body.instant("start")
        let staff = body.strings("staff", maxCount: 5, maxLength: 64)
        try body.validate()
        var staffIDs: [StaffID?]?
        if let staff {
            var ids: [StaffID?] = []
            for (index, text) in staff.enumerated() {
                guard let parsed = StaffID(text) else { throw APIError.validation([FieldError(field: "staff[\(index)]", message: "\"\(text.prefix(64))\" is not a UUIDv7 id")]) }
                ids.append(parsed)
            }
            staffIDs = ids
        }
        guard start != nil || staffIDs != nil else { throw APIError.validation([FieldError(field: "start", message: "send `start` and/or `staff` to move the appointment")]) }
        let newStaff = staffIDs
        let calendar = call.shop.calendar
        let target: Instant
        if let start { target = start } else { target = try await calendar.appointment(id).start }
        let moved = try await calendar.reschedule(id, to: target, staff: newStaff, as: call.acting)
        return .json(AppointmentBody(moved, zones: call.zones))
    }

    static func history(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: AppointmentID.self)
        _ = try await call.shop.calendar.appointment(id)
        let events = try await call.shop.calendar.history(of: id)
        return .json(Page(items: events.map {
            AppointmentEventBody(id: $0.id, at: call.zones.format($0.at, branch: nil), actor: $0.actor, action: $0.action,
                                 fromStatus: $0.fromStatus?.rawValue, toStatus: $0.toStatus?.rawValue, detail: $0.detail)
        }, nextCursor: nil))
    }

    static let actions = ["confirm", "reject", "check-in", "complete", "no-show", "cancel", "reschedule"]

    /// `POST /v1/appointments/{id}/{action}`: confirm (also completes a hold), reject, check-in,
    /// complete, no-show, cancel, reschedule.
    static func action(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: AppointmentID.self)
        let action = call.parameter("action")
        guard actions.contains(action) else {
            throw APIError.notFound("\(action.prefix(40)) is not an appointment action; use one of \(actions.joined(separator: ", "))")
        }
        let body = call.body.isEmpty ? BodyReader(object: [:], errors: FieldErrors()) : try call.bodyReader()
        let updated: Appointment
        switch action {
        case "reject":
            let reason = body.string("reason", maxLength: 500, multiline: true) ?? ""
            try body.validate()
            updated = try await call.shop.calendar.reject(id, reason: reason, as: call.acting)
        case "cancel":
            let party = body.enumeration("by", as: CancellingParty.self, allowed: [.client, .shop]) ?? .client
            let reason = body.string("reason", maxLength: 500, multiline: true) ?? ""
            try body.validate()
            updated = try await call.shop.calendar.cancel(id, by: party, reason: reason, as: call.acting)
        case "reschedule":
            let start = body.instant("start", required: true)
            try body.validate()
            guard let start else { throw APIError.validation([]) }
            updated = try await call.shop.calendar.reschedule(id, to: start, as: call.acting)
        default:
            try body.validate()
            let calendar = call.shop.calendar
            // Each change answers the appointment as it is afterwards (one trip to the store).
            switch action {
            case "confirm":
                updated = try await calendar.appointment(id).status == .held
                    ? try await calendar.completeHold(id, as: call.acting) : try await calendar.confirm(id, as: call.acting)
            case "check-in": updated = try await calendar.checkIn(id, as: call.acting)
            case "complete": updated = try await calendar.complete(id, as: call.acting)
            default: updated = try await calendar.markNoShow(id, as: call.acting)
            }
        }
        return .json(AppointmentBody(updated, zones: call.zones))
    }

    // MARK: Series

    static func seriesBody(_ report: SeriesReport, call: Call) -> SeriesReportBody {
        SeriesReportBody(series: report.seriesID.rawValue,
                         booked: report.booked.map { AppointmentBody($0, zones: call.zones, trackingToken: report.trackingTokens[$0.id]) },
                         failed: report.failed.map {
                             SeriesReportBody.Failure(date: $0.date.description, start: call.zones.format(optional: $0.start, branch: nil),
                                                      problem: $0.reason.code.description, detail: $0.reason.message)
                         })
    }

    static func createSeries(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let request = try bookingRequest(body, call: call)
        let frequency = body.enumeration("frequency", required: true, as: SeriesFrequency.self, allowed: [.weekly, .everyTwoWeeks, .monthly])
        let count = body.int("count", range: 1...104)
        let until = body.date("until")
        if count == nil, until == nil, body.errors.errors.isEmpty { body.errors.add("count", "send `count` or `until`") }
        try body.validate()
        guard let request, let frequency else { throw APIError.validation([]) }
        let report = try await call.shop.calendar.bookSeries(request, frequency: frequency, count: count, until: until, as: call.acting)
        return .json(seriesBody(report, call: call), status: 201, location: "/v1/series/\(report.seriesID)")
    }

    static func getSeries(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: SeriesID.self)
        let occurrences = try await call.shop.calendar.occurrences(of: id)
        guard !occurrences.isEmpty else { throw APIError.notFound("no series \(id)") }
        return .json(Page(items: occurrences.map { AppointmentBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func cancelSeries(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: SeriesID.self)
        let body = try call.bodyReader()
        let from = body.date("from", required: true)
        let party = body.enumeration("by", as: CancellingParty.self, allowed: [.client, .shop]) ?? .client
        let reason = body.string("reason", maxLength: 500, multiline: true) ?? ""
        try body.validate()
        guard let from else { throw APIError.validation([]) }
        let cancelled = try await call.shop.calendar.cancelSeries(id, from: from, by: party, reason: reason, as: call.acting)
        return .json(["cancelled": cancelled.map(\.rawValue)])
    }

    static func moveSeries(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: SeriesID.self)
        let body = try call.bodyReader()
        let from = body.date("from", required: true)
        let time = body.wallTime("time", required: true)
        let shift = body.int("shift_days", range: -6...6) ?? 0
        try body.validate()
        guard let from, let time else { throw APIError.validation([]) }
        let report = try await call.shop.calendar.moveSeries(id, from: from, to: time, shiftingDays: shift, as: call.acting)
        return .json(seriesBody(report, call: call))
    }

    // MARK: Waitlist

    static func listWaitlist(_ call: Call) async throws -> Reply {
        let query = call.query()
        let named = query.id("branch", as: BranchID.self)
        try query.validate()
        let branch = try call.branch(named)
        let entries = try await call.shop.calendar.waitlist(branch: branch)
        return .json(Page(items: entries.map { WaitlistBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func joinWaitlist(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let client = body.id("client", required: true, as: ClientID.self)
        let service = body.id("service", required: true, as: OfferingID.self)
        let staff = body.id("staff", as: StaffID.self)
        let branch = body.id("branch", as: BranchID.self)
        let from = body.date("from", required: true)
        let to = body.date("to", required: true)
        try body.validate()
        guard let client, let service, let from, let to else { throw APIError.validation([]) }
        let branchID = try call.branch(branch)
        let entry = try await call.shop.calendar.joinWaitlist(client: client, branch: branchID, offering: service, staff: staff, from: from, to: to, as: call.acting)
        return .json(WaitlistBody(entry, zones: call.zones), status: 201, location: "/v1/waitlist/\(entry.id)")
    }

    static func getWaitlistEntry(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: WaitlistEntryID.self)
        return .json(WaitlistBody(try await call.shop.calendar.waitlistEntry(id), zones: call.zones))
    }

    static func waitlistAction(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: WaitlistEntryID.self)
        let action = call.parameter("action")
        guard ["accept", "decline", "leave"].contains(action) else {
            throw APIError.notFound("\(action.prefix(40)) is not a waitlist action; use accept, decline or leave")
        }
        if !call.body.isEmpty { try call.bodyReader().validate() }
        if action == "accept" {
            let booking = try await call.shop.calendar.acceptWaitlistOffer(id, as: call.acting)
            return .json(AppointmentBody(booking.appointment, zones: call.zones, trackingToken: booking.trackingToken), status: 201,
                         location: "/v1/appointments/\(booking.appointment.id)")
        }
        let calendar = call.shop.calendar
        if action == "decline" { try await calendar.declineWaitlistOffer(id, as: call.acting) } else { try await calendar.leaveWaitlist(id, as: call.acting) }
        let entry = try await calendar.waitlistEntry(id)
        return .json(WaitlistBody(entry, zones: call.zones))
    }

    // MARK: Conflicts

    static func listConflicts(_ call: Call) async throws -> Reply {
        let query = call.query()
        let accepted = query.bool("include_accepted") ?? true
        try query.validate()
        let conflicts = try await call.shop.calendar.conflicts(includeAccepted: accepted)
        return .json(Page(items: conflicts.map { ConflictBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func resolveConflict(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ConflictID.self)
        let body = try call.bodyReader()
        let action = body.enumeration("action", required: true, as: ConflictResolution.Action.self, allowed: [.accept, .move, .cancel])
        let appointment = body.id("appointment", as: AppointmentID.self)
        let start = body.instant("start")
        let note = body.string("note", maxLength: 500, multiline: true) ?? ""
        try body.validate()
        guard let action else { throw APIError.validation([]) }
        try await call.shop.calendar.resolveConflict(id, action: action, appointment: appointment, newStart: start, note: note, as: call.acting)
        let conflicts = try await call.shop.calendar.conflicts()
        return .json(Page(items: conflicts.map { ConflictBody($0, zones: call.zones) }, nextCursor: nil))
    }
}
