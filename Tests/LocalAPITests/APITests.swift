import Domain
import Foundation
import HTTPTypes
import LocalAPI
import Testing

@Suite("Local API")
struct APITests {
    @Test("booking flow: availability per staff → hold → confirm → check in → complete, with RFC 3339 offsets and history")
    func bookingFlow() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let availability = try await client.send(.get, "/v1/availability?service=\(fixture.haircut)&date=2026-03-03", as: .frontDesk)
            #expect(availability.status == 200)
            let staff = availability["staff"] as? [[String: Any]] ?? []
            #expect(staff.map { $0["name"] as? String } == ["Aigerim", "Dana"])
            let starts = staff.first?["starts"] as? [String] ?? []
            #expect(starts.first == "2026-03-03T09:00:00+05:00")
            #expect(starts.last == "2026-03-03T17:00:00+05:00")

            let created = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: body([
                "services": [["service": fixture.haircut.rawValue, "staff": fixture.aigerim.rawValue]],
                "start": "2026-03-03T10:00:00+05:00", "client": fixture.client.rawValue, "hold": true,
            ]))
            #expect(created.status == 201)
            let id = created["id"] as? String ?? ""
            #expect(created.header("Location") == "/v1/appointments/\(id)")
            #expect(created["status"] as? String == "held")
            #expect(created["start"] as? String == "2026-03-03T10:00:00+05:00")
            #expect((created["price"] as? [String: Any])?["amount_minor"] as? Int == 800_000)

            // The held slot is gone for Aigerim.
            let after = try await client.send(.get, "/v1/availability?service=\(fixture.haircut)&date=2026-03-03&staff=\(fixture.aigerim)", as: .kiosk)
            let remaining = ((after["staff"] as? [[String: Any]])?.first?["starts"] as? [String]) ?? []
            #expect(remaining.contains("2026-03-03T09:00:00+05:00"))
            #expect(!remaining.contains("2026-03-03T10:00:00+05:00"))

            for (action, status) in [("confirm", "confirmed"), ("check-in", "checked_in"), ("complete", "completed")] {
                let changed = try await client.send(.post, "/v1/appointments/\(id)/\(action)", as: .frontDesk)
                #expect(changed.status == 200, "\(action): \(changed.text)")
                #expect(changed["status"] as? String == status)
            }
            let illegal = try await client.send(.post, "/v1/appointments/\(id)/cancel", as: .frontDesk)
            #expect(illegal.status == 409)
            #expect(illegal["type"] as? String == "urn:edgenode:problem:illegal_transition")
            let history = try await client.send(.get, "/v1/appointments/\(id)/events", as: .staff)
            #expect(history.items.compactMap { $0["to_status"] as? String } == ["held", "confirmed", "checked_in", "completed"])
            #expect(history.items.last?["actor"] as? String == "front_desk tablet")
        }
    }

    @Test("the last slot: one booking wins, the other gets 409 slot_taken; an off-grid start gets 422 not_available")
    func doubleBooking() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let request = body(["services": [["service": fixture.haircut.rawValue, "staff": fixture.dana.rawValue]],
                                "start": "2026-03-04T09:00:00+05:00", "guest": ["name": "Walk-in", "phone": "+77017654321"]])
            let first = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: request)
            #expect(first.status == 201)
            #expect((first["tracking_token"] as? String)?.count == 26)
            let second = try await client.send(.post, "/v1/appointments", as: .kiosk, json: request)
            #expect(second.status == 409)
            #expect(second["type"] as? String == "urn:edgenode:problem:slot_taken")
            let offGrid = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: body([
                "services": [["service": fixture.haircut.rawValue]], "start": "2026-03-04T09:10:00+05:00", "client": fixture.client.rawValue]))
            #expect(offGrid.status == 422)
            #expect(offGrid["type"] as? String == "urn:edgenode:problem:not_available")
            let listed = try await client.send(.get, "/v1/appointments?from=2026-03-04T00:00:00%2B05:00&to=2026-03-05T00:00:00%2B05:00", as: .frontDesk)
            #expect(listed.items.count == 1)
        }
    }

    @Test("bad input: malformed JSON, unknown and mistyped fields, bad parameters, media type, size, routes and methods — all 4xx problem+json, nothing written")
    func badInput() async throws {
        let fixture = try APIFixture { $0.maxBodyBytes = 4096 }
        try await fixture.test { client in
            let before = fixture.shop.store.versionVector
            let malformed = try await client.send(.post, "/v1/clients", as: .frontDesk, json: "{\"name\": ")
            #expect(malformed.status == 400)
            #expect(malformed.header("Content-Type") == "application/problem+json")
            #expect(malformed["type"] as? String == "urn:edgenode:problem:malformed_body")

            let invalid = try await client.send(.post, "/v1/clients", as: .frontDesk, json: body(["name": 42, "nickname": "x", "tags": "vip"]))
            #expect(invalid.status == 422)
            let errors = (invalid["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            #expect(Set(errors) == ["name", "nickname", "tags"])

            let nested = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: body([
                "services": [["service": "not-an-id", "colour": "red"]], "start": "tomorrow at ten", "client": fixture.client.rawValue]))
            #expect(nested.status == 422)
            let nestedFields = (nested["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            #expect(Set(nestedFields).isSuperset(of: ["services[0].service", "services[0].colour", "start"]))

            let phone = try await client.send(.post, "/v1/clients", as: .frontDesk, json: body(["name": "Ольга", "phone": "12"]))
            #expect(phone.status == 422)
            #expect(phone["type"] as? String == "urn:edgenode:problem:invalid_phone")
            let duplicate = try await client.send(.post, "/v1/clients", as: .frontDesk, json: body(["name": "Другой", "phone": "+77011234567"]))
            #expect(duplicate.status == 409)
            #expect(duplicate["type"] as? String == "urn:edgenode:problem:duplicate_phone")

            let parameters = try await client.send(.get, "/v1/appointments?from=yesterday&limit=9000&colour=red", as: .frontDesk)
            #expect(parameters.status == 400)
            #expect(Set((parameters["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }) == ["from", "to", "limit", "colour"])

            let notJSON = try await client.send(.post, "/v1/clients", as: .frontDesk, json: nil, headers: ["Content-Type": "text/plain"])
            #expect(notJSON.status == 400)
            let wrongType = try await client.send(.post, "/v1/clients", as: .frontDesk, json: "{}", headers: ["Content-Type": "text/plain"])
            #expect(wrongType.status == 415)
            let large = try await client.send(.post, "/v1/clients", as: .frontDesk, json: body(["name": String(repeating: "я", count: 5000)]))
            #expect(large.status == 413)
            #expect(large["type"] as? String == "urn:edgenode:problem:body_too_large")

            let noRoute = try await client.send(.get, "/v1/nothing-here", as: .frontDesk)
            #expect(noRoute.status == 404)
            #expect(noRoute["type"] as? String == "urn:edgenode:problem:no_route")
            let method = try await client.send(.delete, "/v1/clients", as: .frontDesk)
            #expect(method.status == 405)
            #expect(method.header("Allow") == "GET, POST")
            let badID = try await client.send(.get, "/v1/appointments/42", as: .frontDesk)
            #expect(badID.status == 400)
            let missing = try await client.send(.get, "/v1/appointments/0190f5a0-0000-7000-8000-000000000000", as: .frontDesk)
            #expect(missing.status == 404)
            #expect(missing.header("X-Request-Id") != nil)
            #expect(fixture.shop.store.versionVector == before)
        }
    }

    @Test("authentication: missing, malformed, unknown and revoked tokens are 401; a revoked tablet stops at once")
    func authentication() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            #expect(try await client.send(.get, "/v1/me", as: nil).status == 401)
            #expect(try await client.send(.get, "/v1/me", as: nil, headers: ["Authorization": "Basic abc"]).status == 401)
            #expect(try await client.send(.get, "/v1/me", as: nil, token: "made-up").status == 401)
            let me = try await client.send(.get, "/v1/me", as: .staff)
            #expect(me["role"] as? String == "staff")
            let staffDevice = fixture.devices[.staff]!.id
            let revoked = try await client.send(.post, "/v1/devices/\(staffDevice)/revoke", as: .manager)
            #expect(revoked.status == 200)
            #expect(revoked["revoked_at"] != nil)
            let after = try await client.send(.get, "/v1/me", as: .staff)
            #expect(after.status == 401)
            let listed = try await client.send(.get, "/v1/devices", as: .owner)
            let row = listed.items.first { $0["id"] as? String == staffDevice.rawValue }
            #expect(row?["last_used_at"] != nil)
        }
    }

    @Test("idempotency: a retried booking gets the first response and books once; the key with another body is refused")
    func idempotency() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let request = body(["services": [["service": fixture.haircut.rawValue]], "start": "2026-03-05T11:00:00+05:00", "client": fixture.client.rawValue])
            let first = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: request, headers: ["Idempotency-Key": "tablet-1-0001"])
            let retry = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: request, headers: ["Idempotency-Key": "tablet-1-0001"])
            #expect(first.status == 201)
            #expect(retry.status == 201)
            #expect(retry.text == first.text)
            #expect(retry.header("Location") == first.header("Location"))
            #expect(retry.header("Idempotent-Replayed") == "true")
            let other = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: body(["services": [["service": fixture.haircut.rawValue]],
                                                                                                     "start": "2026-03-05T12:00:00+05:00", "client": fixture.client.rawValue]),
                                              headers: ["Idempotency-Key": "tablet-1-0001"])
            #expect(other.status == 422)
            #expect(other["type"] as? String == "urn:edgenode:problem:idempotency_key_reused")
            // Another device may use the same key for its own request.
            let otherDevice = try await client.send(.post, "/v1/appointments", as: .manager, json: body(["services": [["service": fixture.haircut.rawValue]],
                                                                                                        "start": "2026-03-05T13:00:00+05:00", "client": fixture.client.rawValue]),
                                                    headers: ["Idempotency-Key": "tablet-1-0001"])
            #expect(otherDevice.status == 201)
            // A failed request is replayed as the same failure.
            let taken = try await client.send(.post, "/v1/appointments", as: .kiosk, json: body(["services": [["service": fixture.haircut.rawValue, "staff": (first["items"] as? [[String: Any]])?.first?["staff"] as? String ?? ""]],
                                                                                             "start": "2026-03-05T11:00:00+05:00", "guest": ["name": "Guest"]]),
                                              headers: ["Idempotency-Key": "k-2"])
            #expect(taken.status == 409)
            let takenAgain = try await client.send(.post, "/v1/appointments", as: .kiosk, json: body(["services": [["service": fixture.haircut.rawValue, "staff": (first["items"] as? [[String: Any]])?.first?["staff"] as? String ?? ""]],
                                                                                                  "start": "2026-03-05T11:00:00+05:00", "guest": ["name": "Guest"]]),
                                                   headers: ["Idempotency-Key": "k-2"])
            #expect(takenAgain.status == 409 && takenAgain.header("Idempotent-Replayed") == "true")
        }
        let booked = try fixture.shop.appointments(matching: .init(from: Instant(iso8601: "2026-03-05T00:00:00+05:00")!, to: Instant(iso8601: "2026-03-06T00:00:00+05:00")!))
        #expect(booked.count == 2)
    }

    @Test("pagination: clients by name and appointments by start follow next_cursor without gaps or repeats; search pages by rank")
    func pagination() async throws {
        let fixture = try APIFixture()
        for index in 0..<11 {
            _ = try fixture.shop.createClient(ClientDraft(name: "Клиент \(String(format: "%02d", 10 - index))", phone: "+7701555\(String(format: "%04d", index))"), branch: fixture.branch)
            _ = try fixture.shop.book(BookingRequest(branchID: fixture.branch, parts: [VisitPart(offeringID: fixture.haircut)],
                                                     start: Instant(iso8601: "2026-03-06T09:00:00+05:00")!.adding(minutes: 30 * index), clientID: fixture.client))
        }
        try await fixture.test { client in
            var names: [String] = []
            var cursor: String?
            repeat {
                let page = try await client.send(.get, "/v1/clients?limit=4" + (cursor.map { "&cursor=\($0)" } ?? ""), as: .frontDesk)
                #expect(page.status == 200)
                #expect(page.items.count <= 4)
                names += page.items.compactMap { $0["name"] as? String }
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            #expect(names.count == 12)
            #expect(names == names.sorted())
            var starts: [String] = []
            repeat {
                let page = try await client.send(.get, "/v1/appointments?from=2026-03-06T00:00:00Z&to=2026-03-07T00:00:00Z&limit=5" + (cursor.map { "&cursor=\($0)" } ?? ""), as: .frontDesk)
                starts += page.items.compactMap { $0["start"] as? String }
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            #expect(starts.count == 11)
            #expect(Set(starts).count == 11)
            #expect(starts == starts.sorted())
            var found: [String] = []
            repeat {
                let page = try await client.send(.get, "/v1/clients?q=%D0%BA%D0%BB%D0%B8%D0%B5%D0%BD&limit=5" + (cursor.map { "&cursor=\($0)" } ?? ""), as: .frontDesk)
                found += page.items.compactMap { $0["id"] as? String }
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            #expect(found.count == 11 && Set(found).count == 11)
            let bad = try await client.send(.get, "/v1/clients?cursor=garbage!", as: .frontDesk)
            #expect(bad.status == 400)
        }
    }

    @Test("clients by ids: exactly those, in the order asked, unknown ids left out, one page; more than 200, a bad id, or with q or cursor is 400")
    func clientsByIDs() async throws {
        let fixture = try APIFixture()
        let first = try fixture.shop.createClient(ClientDraft(name: "Алия Серікова", phone: "+77015550001"), branch: fixture.branch)
        let second = try fixture.shop.createClient(ClientDraft(name: "Ербол Нұрланов", phone: "+77015550002"), branch: fixture.branch)
        let unknown = ClientID.generate(at: Instant(milliseconds: 1_790_000_000_000))
        try await fixture.test { client in
            let page = try await client.send(.get, "/v1/clients?ids=\(second.id.rawValue),\(unknown.rawValue),\(first.id.rawValue)", as: .frontDesk)
            #expect(page.status == 200)
            #expect(page.items.compactMap { $0["name"] as? String } == ["Ербол Нұрланов", "Алия Серікова"])
            #expect(page["next_cursor"] == nil || page["next_cursor"] is NSNull)
            let many = (0...200).map { _ in ClientID.generate(at: Instant(milliseconds: 1_790_000_000_000)).rawValue }.joined(separator: ",")
            #expect(try await client.send(.get, "/v1/clients?ids=\(many)", as: .frontDesk).status == 400)
            #expect(try await client.send(.get, "/v1/clients?ids=nope", as: .frontDesk).status == 400)
            #expect(try await client.send(.get, "/v1/clients?ids=\(first.id.rawValue)&q=%D0%B0", as: .frontDesk).status == 400)
            #expect(try await client.send(.get, "/v1/clients?ids=\(first.id.rawValue)", as: .kiosk).status == 403)
        }
    }

    @Test("guests: the tracking token shows, moves and cancels its own booking with no device token, and opens nothing else")
    func guestAccess() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let created = try await client.send(.post, "/v1/appointments", as: .kiosk, json: body([
                "services": [["service": fixture.haircut.rawValue]], "start": "2026-03-10T10:00:00+05:00", "guest": ["name": "Айгуль", "phone": "87075554433"]]))
            #expect(created.status == 201)
            #expect(created["source"] as? String == "kiosk")
            let token = created["tracking_token"] as? String ?? ""
            let seen = try await client.send(.get, "/v1/bookings/\(token)", as: nil)
            #expect(seen.status == 200)
            #expect((seen["guest"] as? [String: Any])?["phone"] as? String == "+77075554433")
            let moved = try await client.send(.post, "/v1/bookings/\(token)/reschedule", as: nil, json: body(["start": "2026-03-10T14:00:00+05:00"]))
            #expect(moved.status == 200)
            #expect(moved["start"] as? String == "2026-03-10T14:00:00+05:00")
            #expect(try await client.send(.get, "/v1/appointments", as: nil, token: token).status == 401)
            #expect(try await client.send(.get, "/v1/bookings/zzzzzzzzzzzzzzzzzzzzzzzzzz", as: nil).status == 404)
            let cancelled = try await client.send(.post, "/v1/bookings/\(token)/cancel", as: nil, json: body(["reason": "sick"]))
            #expect(cancelled["status"] as? String == "cancelled")
            #expect(cancelled["cancelled_by"] as? String == "client")
        }
    }
}

@Suite("Local API edges")
struct APIEdgeTests {
    @Test("dates far in the future are refused, never trap; the largest page size works; a device cannot revoke itself; router errors carry a request id and a clean Allow")
    func edges() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let series = try await client.send(.post, "/v1/series", as: .frontDesk, json: body([
                "services": [["service": fixture.haircut.rawValue]], "start": "9999-12-20T10:00:00Z", "guest": ["name": "X"], "frequency": "monthly", "count": 2]))
            #expect(series.status == 422)
            #expect((series["errors"] as? [[String: Any]])?.first?["field"] as? String == "start")
            let availability = try await client.send(.get, "/v1/availability?service=\(fixture.haircut)&date=9999-12-31&days=2", as: .frontDesk)
            #expect(availability.status == 400)
            #expect(try await client.send(.get, "/v1/appointments?from=2026-03-01T00:00:00Z&to=2026-03-31T00:00:00Z&limit=500", as: .frontDesk).status == 200)
            let unknown = try await client.send(.get, "/v1/clients/\(fixture.client)?expand=everything", as: .frontDesk)
            #expect(unknown.status == 400)
            #expect((unknown["errors"] as? [[String: Any]])?.first?["field"] as? String == "expand")
            let own = fixture.devices[.owner]!.id
            let selfRevoke = try await client.send(.post, "/v1/devices/\(own)/revoke", as: .owner)
            #expect(selfRevoke.status == 409)
            #expect(try await client.send(.get, "/v1/me", as: .owner).status == 200)
            let method = try await client.send(.delete, "/v1/clients/duplicates", as: .frontDesk)
            #expect(method.status == 405)
            #expect(method.header("Allow") == "GET, PATCH")
            #expect(method.header("X-Request-Id") != nil)
        }
    }

    @Test("docs/openapi.yaml and the document served at /openapi.json are the same (scripts/embed-openapi.py --check)")
    func openAPIEmbedded() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", packageRoot + "/scripts/embed-openapi.py", "--check"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "run scripts/embed-openapi.py after editing docs/openapi.yaml")
        let fixture = try APIFixture { $0.openAPIDocument = OpenAPIDocument.json }
        try await fixture.test { client in
            let served = try await client.send(.get, "/openapi.json", as: nil)
            #expect(served.status == 200)
            #expect(served["openapi"] as? String == "3.1.0")
            let paths = (served["paths"] as? [String: Any])?.keys.sorted() ?? []
            #expect(Set(paths) == Set(LocalAPI.endpointTable.map(\.path)))
        }
    }
}
