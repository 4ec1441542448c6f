import Domain
import Foundation

extension GuestHandlers {
    /// A guest's own booking, by tracking token.
    static let endpoints: [Endpoint] = [
        Endpoint(.get, "/v1/bookings/{token}", .open,
                 answers: [200: .json("Appointment")],
                 GuestHandlers.get),
        Endpoint(.get, "/v1/bookings/{token}/shop", .open,
                 answers: [200: .json("GuestShop")],
                 GuestHandlers.shop),
        Endpoint(.get, "/v1/bookings/{token}/availability", .open,
                 query: [.required("date"), "days"], answers: [200: .json("GuestAvailability")],
                 GuestHandlers.availability),
        Endpoint(.post, "/v1/bookings/{token}/cancel", .open,
                 body: .inline(required: false), answers: [200: .json("Appointment")],
                 GuestHandlers.cancel),
        Endpoint(.post, "/v1/bookings/{token}/reschedule", .open,
                 body: .inline(required: true), answers: [200: .json("Appointment")],
                 GuestHandlers.reschedule),
    ]
}

/// What a guest can do with the tracking token from their confirmation — and nothing else.
enum GuestHandlers {
    static func get(_ call: Call) async throws -> Reply {
        let token = call.parameter("token")
        let appointment = try await call.shop.calendar.guestBooking(token: token)
        return .json(AppointmentBody(appointment, zones: call.zones))
    }

    /// The branch, services and staff of the booking, as a guest without a device token reads them.
    struct ShopBody: Encodable {
        var branch: BranchInfo
        var services: [ServiceInfo]
        var staff: [StaffInfo]

        struct BranchInfo: Encodable {
            var id: String
            var name: String
            var address: String
            var phone: String
            var timeZone: String
            var currency: String
            var locale: String
            var region: String
            var cancellationCutoffHours: Int
        }
        struct ServiceInfo: Encodable {
            var id: String
            var names: [String: String]
            var durationMinutes: Int
        }
        struct StaffInfo: Encodable {
            var id: String
            var name: String
        }
    }

    static func shop(_ call: Call) async throws -> Reply {
        let token = call.parameter("token")
        let appointment = try await call.shop.calendar.guestBooking(token: token)
        let branch = try await call.shop.catalogue.branch(appointment.branchID)
        var services: [ShopBody.ServiceInfo] = []
        var staff: [ShopBody.StaffInfo] = []
        for item in appointment.items {
            if !services.contains(where: { $0.id == item.offeringID.rawValue }),
               let offering = try? await call.shop.catalogue.offering(item.offeringID) {
                services.append(.init(id: offering.id.rawValue, names: offering.names, durationMinutes: offering.durationMinutes))
            }
            if !staff.contains(where: { $0.id == item.staffID.rawValue }),
               let member = try? await call.shop.catalogue.staffMember(item.staffID) {
                staff.append(.init(id: member.id.rawValue, name: member.name))
            }
        }
        return .json(ShopBody(
            branch: .init(id: branch.id.rawValue, name: branch.name, address: branch.address, phone: branch.phone,
                          timeZone: branch.timeZone, currency: branch.currency, locale: branch.locale, region: branch.region,
                          cancellationCutoffHours: branch.policy.cancellationCutoffHours),
            services: services, staff: staff))
    }

    struct AvailabilityBody: Encodable {
        var timeZone: String
        var dates: [String]
        var starts: [String]
        /// The asked dates that offer nothing by rule, and why (as `GET /v1/availability`).
        var unavailable: [BookingHandlers.UnavailableDate]
    }

    /// The starts the booking could move to: its services with the same staff, as `reschedule` takes them.
    static func availability(_ call: Call) async throws -> Reply {
        let token = call.parameter("token")
        let query = call.query()
        let date = query.date("date", required: true)
        let days = query.int("days", range: 1...31) ?? 1
        try query.validate()
        guard let date else { throw APIError.invalidParameters([FieldError(field: "date", message: "is required")]) }
        let appointment = try await call.shop.calendar.guestBooking(token: token)
        let branch = try await call.shop.catalogue.branch(appointment.branchID)
        let dates = (0..<days).map { date.adding(days: $0) }
        let parts = appointment.items.map { VisitPart(offeringID: $0.offeringID, staffID: $0.staffID) }
        let slots = try await call.shop.calendar.availability(branch: appointment.branchID, parts: parts, dates: dates)
        return .json(AvailabilityBody(timeZone: branch.timeZone, dates: dates.map(\.description),
                                      starts: slots.filter { $0.start != appointment.start }.map(\.localStart),
                                      unavailable: dates.compactMap { BookingHandlers.unavailability(of: $0, branch: branch, now: call.shop.now) }))
    }

    static func cancel(_ call: Call) async throws -> Reply {
        let token = call.parameter("token")
        let body = call.body.isEmpty ? BodyReader(object: [:], errors: FieldErrors()) : try call.bodyReader()
        let reason = body.string("reason", maxLength: 500, multiline: true) ?? ""
        try body.validate()
        try await call.shop.calendar.cancelGuestBooking(token: token, reason: reason, as: call.acting)
        let appointment = try await call.shop.calendar.guestBooking(token: token)
        return .json(AppointmentBody(appointment, zones: call.zones))
    }

    static func reschedule(_ call: Call) async throws -> Reply {
        let token = call.parameter("token")
        let body = try call.bodyReader()
        let start = body.instant("start", required: true)
        try body.validate()
        guard let start else { throw APIError.validation([]) }
        let appointment = try await call.shop.calendar.rescheduleGuestBooking(token: token, to: start, as: call.acting)
        return .json(AppointmentBody(appointment, zones: call.zones))
    }
}
