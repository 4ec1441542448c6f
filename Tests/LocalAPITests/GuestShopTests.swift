import Domain
import Foundation
import HTTPTypes
import LocalAPI
import Testing

@Suite("Local API guests")
struct GuestShopTests {
    @Test("guests: with only the tracking token, the shop's names and the starts the booking may move to (same staff), each one reschedulable")
    func guestShopAndAvailability() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let created = try await client.send(.post, "/v1/appointments", as: .kiosk, json: body([
                "services": [["service": fixture.haircut.rawValue, "staff": fixture.aigerim.rawValue]],
                "start": "2026-03-10T10:00:00+05:00", "guest": ["name": "Айгуль", "phone": "87075554433"]]))
            #expect(created.status == 201)
            let token = created["tracking_token"] as? String ?? ""
            // Aigerim is busy at 14:00 with someone else; Dana is free then.
            let other = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: body([
                "services": [["service": fixture.haircut.rawValue, "staff": fixture.aigerim.rawValue]],
                "start": "2026-03-10T14:00:00+05:00", "client": fixture.client.rawValue]))
            #expect(other.status == 201)

            let shop = try await client.send(.get, "/v1/bookings/\(token)/shop", as: nil)
            #expect(shop.status == 200, "\(shop.text)")
            let branch = shop["branch"] as? [String: Any] ?? [:]
            #expect(branch["name"] as? String == "Almaty Central")
            #expect(branch["time_zone"] as? String == "Asia/Almaty")
            #expect(branch["cancellation_cutoff_hours"] as? Int == 24)
            let services = shop["services"] as? [[String: Any]] ?? []
            #expect(services.count == 1)
            #expect((services.first?["names"] as? [String: String])?["ru"] == "Стрижка")
            #expect(services.first?["duration_minutes"] as? Int == 60)
            #expect((shop["staff"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["Aigerim"])

            let offered = try await client.send(.get, "/v1/bookings/\(token)/availability?date=2026-03-10&days=2", as: nil)
            #expect(offered.status == 200, "\(offered.text)")
            #expect(offered["dates"] as? [String] == ["2026-03-10", "2026-03-11"])
            let starts = offered["starts"] as? [String] ?? []
            #expect(starts.contains("2026-03-10T09:00:00+05:00"))
            #expect(starts.contains("2026-03-10T11:00:00+05:00"))
            #expect(!starts.contains("2026-03-10T10:00:00+05:00"))   // its own start
            #expect(!starts.contains("2026-03-10T14:00:00+05:00"))   // Aigerim is busy (Dana is not: the staff is kept)
            #expect(starts.contains("2026-03-11T14:00:00+05:00"))
            // The public availability offers 14:00 (Dana), the guest's does not.
            let publicStarts = try await client.send(.get, "/v1/availability?service=\(fixture.haircut)&date=2026-03-10", as: .kiosk)
            #expect((publicStarts["slots"] as? [[String: Any]])?.contains { $0["start"] as? String == "2026-03-10T14:00:00+05:00" } == true)

            let moved = try await client.send(.post, "/v1/bookings/\(token)/reschedule", as: nil, json: body(["start": "2026-03-11T14:00:00+05:00"]))
            #expect(moved.status == 200, "\(moved.text)")
            #expect(moved["start"] as? String == "2026-03-11T14:00:00+05:00")

            let unknown = try await client.send(.get, "/v1/bookings/zzzzzzzzzzzzzzzzzzzzzzzzzz/availability?date=2026-03-10", as: nil)
            #expect(unknown.status == 404)
            #expect(unknown["type"] as? String == "urn:edgenode:problem:invalid_token")
            #expect(try await client.send(.get, "/v1/bookings/zzzzzzzzzzzzzzzzzzzzzzzzzz/shop", as: nil).status == 404)
            #expect(try await client.send(.get, "/v1/bookings/\(token)/availability", as: nil).status == 400)
            #expect(try await client.send(.get, "/v1/bookings/\(token)/availability?date=2026-03-10&staff=\(fixture.dana)", as: nil).status == 400)
        }
    }
}
