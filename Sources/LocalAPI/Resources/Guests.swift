import Domain
import Foundation

extension GuestHandlers {
    /// A guest's own booking, by tracking token.
    static let endpoints: [Endpoint] = [
        Endpoint(.get, "/v1/bookings/{token}", .open,
                 answers: [200: .json("Appointment")],
                 GuestHandlers.get),
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
