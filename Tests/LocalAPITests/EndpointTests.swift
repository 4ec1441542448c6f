import Domain
import Foundation
import HTTPTypes
import LocalAPI
import Replication
import Testing

/// Behaviour of every endpoint not covered by APITests/AccessTests, through the router.
@Suite("Endpoints")
struct EndpointTests {
    static var week: [String: Any] { ["mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]], "wed": [["09:00", "13:00"], ["14:00", "18:00"]],
                                      "thu": [["09:00", "18:00"]], "fri": [["09:00", "18:00"]]] }

    @Test("catalogue: branches, overrides, categories, services, staff with services, overrides and time off, resources")
    func catalogue() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let branch = try await client.send(.post, "/v1/branches", as: .manager, json: body([
                "name": "Almaty Mall", "time_zone": "Asia/Almaty", "currency": "KZT", "region": "KZ", "opening_hours": Self.week,
                "policy": ["minimum_notice_minutes": 30, "slot_hold_minutes": 5]]))
            #expect(branch.status == 201)
            let branchID = branch["id"] as? String ?? ""
            #expect(branch.header("Location") == "/v1/branches/\(branchID)")
            #expect((branch["opening_hours"] as? [String: Any])?["wed"] as? [[String]] == [["09:00", "13:00"], ["14:00", "18:00"]])
            #expect((branch["policy"] as? [String: Any])?["slot_hold_minutes"] as? Int == 5)
            let badZone = try await client.send(.put, "/v1/branches/\(branchID)", as: .manager, json: body([
                "name": "Almaty Mall", "time_zone": "Mars/Olympus", "currency": "KZT", "opening_hours": Self.week]))
            #expect(badZone.status == 422)
            #expect(badZone["type"] as? String == "urn:edgenode:problem:invalid_time_zone")
            let renamed = try await client.send(.put, "/v1/branches/\(branchID)", as: .owner, json: body([
                "name": "Almaty Mega", "time_zone": "Asia/Almaty", "currency": "KZT", "region": "KZ", "opening_hours": Self.week]))
            #expect(renamed["name"] as? String == "Almaty Mega")
            #expect(try await client.send(.get, "/v1/branches/\(branchID)", as: .kiosk)["name"] as? String == "Almaty Mega")
            #expect(try await client.send(.get, "/v1/branches", as: .kiosk).items.count == 2)

            let closed = try await client.send(.put, "/v1/branches/\(branchID)/overrides/2026-03-08", as: .manager, json: body(["intervals": [], "note": "8 March"]))
            #expect(closed.status == 200)
            let overrides = try await client.send(.get, "/v1/branches/\(branchID)/overrides?from=2026-03-01", as: .frontDesk)
            #expect(overrides.items.map { $0["date"] as? String } == ["2026-03-08"])
            #expect(try await client.send(.delete, "/v1/branches/\(branchID)/overrides/2026-03-08", as: .manager).status == 204)
            #expect(try await client.send(.get, "/v1/branches/\(branchID)/overrides?from=2026-03-01", as: .frontDesk).items.isEmpty)
            #expect(try await client.send(.put, "/v1/branches/\(branchID)/overrides/2026-02-30", as: .manager, json: body(["intervals": []])).status == 400)

            let room = try await client.send(.post, "/v1/resources", as: .manager, json: body(["branch": branchID, "name": "Massage room", "kind": "room", "units": 1]))
            #expect(room.status == 201)
            let roomID = room["id"] as? String ?? ""
            #expect(try await client.send(.put, "/v1/resources/\(roomID)", as: .manager, json: body(["branch": branchID, "name": "Massage room", "units": 2]))["units"] as? Int == 2)
            #expect(try await client.send(.get, "/v1/resources/\(roomID)", as: .staff)["units"] as? Int == 2)
            #expect(try await client.send(.get, "/v1/resources?branch=\(branchID)", as: .staff).items.count == 1)

            let massage = try await client.send(.post, "/v1/services", as: .manager, json: body([
                "branch": branchID, "category": "Massage", "names": ["en": "Back massage", "ru": "Массаж спины"], "duration_minutes": 50,
                "price": ["amount_minor": 1_200_000, "currency": "KZT"], "buffer_after_minutes": 10, "resources": [["resource": roomID]]]))
            #expect(massage.status == 201, "\(massage.text)")
            let massageID = massage["id"] as? String ?? ""
            let replaced = try await client.send(.put, "/v1/services/\(massageID)", as: .manager, json: body([
                "branch": branchID, "category": "Massage", "names": ["en": "Back massage"], "duration_minutes": 60,
                "price": ["amount_minor": 1_300_000, "currency": "KZT"], "resources": [["resource": roomID, "quantity": 1]]]))
            #expect(replaced["duration_minutes"] as? Int == 60)
            #expect(try await client.send(.get, "/v1/services/\(massageID)", as: .kiosk)["duration_minutes"] as? Int == 60)
            #expect(try await client.send(.get, "/v1/services?branch=\(branchID)&category=Massage", as: .kiosk).items.count == 1)
            let categories = try await client.send(.get, "/v1/categories?branch=\(branchID)", as: .kiosk)
            #expect(categories.items.map { $0["name"] as? String } == ["Massage"])
            #expect(categories.items.first?["services"] as? Int == 1)

            let staff = try await client.send(.post, "/v1/staff", as: .manager, json: body([
                "branch": branchID, "name": "Madina", "schedule": Self.week, "breaks": ["mon": [["13:00", "14:00"]]]]))
            #expect(staff.status == 201)
            let staffID = staff["id"] as? String ?? ""
            let replacedStaff = try await client.send(.put, "/v1/staff/\(staffID)", as: .manager, json: body(["branch": branchID, "name": "Madina K.", "schedule": Self.week]))
            #expect(replacedStaff["name"] as? String == "Madina K.")
            #expect(try await client.send(.get, "/v1/staff/\(staffID)", as: .kiosk)["name"] as? String == "Madina K.")
            #expect(try await client.send(.get, "/v1/staff?branch=\(branchID)", as: .kiosk).items.count == 1)
            #expect(try await client.send(.put, "/v1/staff/\(staffID)/services/\(massageID)", as: .manager, json: body(["price_minor": 1_400_000])).status == 200)
            let assigned = try await client.send(.get, "/v1/staff/\(staffID)/services", as: .frontDesk)
            #expect(assigned.items.first?["price_minor"] as? Int == 1_400_000)
            let slots = try await client.send(.get, "/v1/availability?service=\(massageID)&date=2026-03-09&branch=\(branchID)", as: .kiosk)
            #expect((slots["staff"] as? [[String: Any]])?.first?["starts"] as? [String] != [])
            #expect(try await client.send(.put, "/v1/staff/\(staffID)/overrides/2026-03-09", as: .manager, json: body(["intervals": [["10:00", "12:00"]]])).status == 200)
            #expect(try await client.send(.get, "/v1/staff/\(staffID)/overrides?from=2026-03-01", as: .staff).items.count == 1)
            #expect(try await client.send(.delete, "/v1/staff/\(staffID)/overrides/2026-03-09", as: .manager).status == 204)
            let timeOff = try await client.send(.post, "/v1/staff/\(staffID)/time-off", as: .manager, json: body([
                "start": "2026-03-10T00:00:00+05:00", "end": "2026-03-12T00:00:00+05:00", "reason": "vacation"]))
            #expect(timeOff.status == 201)
            #expect(try await client.send(.get, "/v1/staff/\(staffID)/time-off?from=2026-03-01T00:00:00Z", as: .frontDesk).items.count == 1)
            let during = try await client.send(.get, "/v1/availability?service=\(massageID)&date=2026-03-10&staff=\(staffID)", as: .kiosk)
            #expect((during["staff"] as? [[String: Any]])?.first?["starts"] as? [String] == [])
            #expect(try await client.send(.delete, "/v1/time-off/\(timeOff["id"] as? String ?? "")", as: .manager).status == 204)
            #expect(try await client.send(.delete, "/v1/staff/\(staffID)/services/\(massageID)", as: .manager).status == 204)
            #expect(try await client.send(.get, "/v1/staff/\(staffID)/services", as: .frontDesk).items.isEmpty)
        }
    }

    @Test("appointments: move by PATCH and reschedule, reject a request, no-show; series create, read, move, cancel")
    func appointmentsAndSeries() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let created = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: body([
                "services": [["service": fixture.haircut.rawValue, "staff": fixture.aigerim.rawValue]], "start": "2026-03-03T10:00:00+05:00",
                "client": fixture.client.rawValue, "special_requests": "short"]))
            let id = created["id"] as? String ?? ""
            let moved = try await client.send(.patch, "/v1/appointments/\(id)", as: .frontDesk, json: body(["start": "2026-03-03T12:00:00+05:00", "staff": [fixture.dana.rawValue]]))
            #expect(moved.status == 200, "\(moved.text)")
            #expect(moved["start"] as? String == "2026-03-03T12:00:00+05:00")
            #expect((moved["items"] as? [[String: Any]])?.first?["staff"] as? String == fixture.dana.rawValue)
            #expect(moved["id"] as? String == id)
            let rescheduled = try await client.send(.post, "/v1/appointments/\(id)/reschedule", as: .staff, json: body(["start": "2026-03-03T13:00:00+05:00"]))
            #expect(rescheduled["start"] as? String == "2026-03-03T13:00:00+05:00")
            #expect(try await client.send(.post, "/v1/appointments/\(id)/dance", as: .staff).status == 404)
            #expect(try await client.send(.post, "/v1/appointments/\(id)/reject", as: .staff, json: body(["reason": "no"])).status == 409)
            fixture.clock.advance(minutes: 36 * 60)
            let noShow = try await client.send(.post, "/v1/appointments/\(id)/no-show", as: .frontDesk)
            #expect(noShow["status"] as? String == "no_show")
            let list = try await client.send(.get, "/v1/appointments?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&status=no_show&staff=\(fixture.dana)&client=\(fixture.client)", as: .frontDesk)
            #expect(list.items.map { $0["id"] as? String } == [id])

            let series = try await client.send(.post, "/v1/series", as: .frontDesk, json: body([
                "services": [["service": fixture.haircut.rawValue, "staff": fixture.aigerim.rawValue]], "start": "2026-03-09T10:00:00+05:00",
                "client": fixture.client.rawValue, "frequency": "weekly", "count": 4]))
            #expect(series.status == 201, "\(series.text)")
            let seriesID = series["series"] as? String ?? ""
            #expect((series["booked"] as? [Any])?.count == 4)
            #expect(try await client.send(.get, "/v1/series/\(seriesID)", as: .staff).items.count == 4)
            let movedSeries = try await client.send(.post, "/v1/series/\(seriesID)/move", as: .frontDesk, json: body(["from": "2026-03-16", "time": "15:00"]))
            #expect(movedSeries.status == 200)
            #expect(((movedSeries["booked"] as? [[String: Any]]) ?? []).compactMap { $0["start"] as? String }.allSatisfy { $0.contains("T15:00:00") })
            let cancelled = try await client.send(.post, "/v1/series/\(seriesID)/cancel", as: .frontDesk, json: body(["from": "2026-03-23", "by": "client", "reason": "moving"]))
            #expect((cancelled["cancelled"] as? [String])?.count == 2)
            #expect(try await client.send(.post, "/v1/series/\(seriesID)/cancel", as: .frontDesk, json: body(["by": "client"])).status == 422)
        }
    }

    @Test("waitlist: join, list, get; a cancellation offers the time, decline passes it on, accept books; leave")
    func waitlist() async throws {
        let fixture = try APIFixture()
        let second = try fixture.shop.createClient(ClientDraft(name: "Асель", phone: "+77019998877"), branch: fixture.branch)
        try await fixture.test { client in
            var booked: [String] = []
            for (staff, time) in [(fixture.aigerim, "09:00"), (fixture.dana, "09:00")] {
                let response = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: body([
                    "services": [["service": fixture.haircut.rawValue, "staff": staff.rawValue]], "start": "2026-03-04T\(time):00+05:00", "guest": ["name": "G"]]))
                booked.append(response["id"] as? String ?? "")
            }
            let first = try await client.send(.post, "/v1/waitlist", as: .frontDesk, json: body([
                "client": fixture.client.rawValue, "service": fixture.haircut.rawValue, "from": "2026-03-04", "to": "2026-03-04"]))
            #expect(first.status == 201)
            // Offers go in order of joining (then id, for the same millisecond).
            fixture.clock.advance(minutes: 1)
            let next = try await client.send(.post, "/v1/waitlist", as: .frontDesk, json: body([
                "client": second.id.rawValue, "service": fixture.haircut.rawValue, "from": "2026-03-04", "to": "2026-03-05"]))
            let firstID = first["id"] as? String ?? ""
            let nextID = next["id"] as? String ?? ""
            #expect(try await client.send(.get, "/v1/waitlist", as: .staff).items.count == 2)
            #expect(try await client.send(.post, "/v1/appointments/\(booked[0])/cancel", as: .frontDesk, json: body(["by": "client"])).status == 200)
            let offered = try await client.send(.get, "/v1/waitlist/\(firstID)", as: .frontDesk)
            #expect(offered["status"] as? String == "offered", "\(offered.text)")
            let declined = try await client.send(.post, "/v1/waitlist/\(firstID)/decline", as: .frontDesk)
            #expect(declined["status"] as? String == "waiting")
            #expect(try await client.send(.get, "/v1/waitlist/\(nextID)", as: .frontDesk)["status"] as? String == "offered")
            let accepted = try await client.send(.post, "/v1/waitlist/\(nextID)/accept", as: .frontDesk)
            #expect(accepted.status == 201)
            #expect(accepted["client"] as? String == second.id.rawValue)
            let left = try await client.send(.post, "/v1/waitlist/\(firstID)/leave", as: .frontDesk)
            #expect(left["status"] as? String == "withdrawn")
            #expect(try await client.send(.post, "/v1/waitlist/\(firstID)/jump", as: .frontDesk).status == 404)
        }
    }

    @Test("clients: get, patch only what is sent, notes, history, duplicates after a merge of replicas, merge")
    func clients() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let patched = try await client.send(.patch, "/v1/clients/\(fixture.client)", as: .frontDesk, json: body(["email": "erlan@example.kz", "tags": ["vip"]]))
            #expect(patched.status == 200)
            #expect(patched["name"] as? String == "Ерлан Сапаров")
            #expect(patched["phone"] as? String == "+77011234567")
            #expect(patched["tags"] as? [String] == ["vip"])
            #expect(try await client.send(.get, "/v1/clients/\(fixture.client)", as: .staff)["email"] as? String == "erlan@example.kz")
            #expect(try await client.send(.patch, "/v1/clients/\(fixture.client)", as: .staff, json: body(["email": "x@y.kz"])).status == 403)
            #expect(try await client.send(.post, "/v1/clients/\(fixture.client)/notes", as: .staff, json: body(["body": "allergic to ammonia"])).status == 201)
            #expect(try await client.send(.get, "/v1/clients/\(fixture.client)/notes", as: .staff).items.first?["body"] as? String == "allergic to ammonia")
            _ = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: body([
                "services": [["service": fixture.haircut.rawValue]], "start": "2026-03-03T09:00:00+05:00", "client": fixture.client.rawValue]))
            let history = try await client.send(.get, "/v1/clients/\(fixture.client)/history", as: .staff)
            #expect((history["visits"] as? [Any])?.count == 1)
            #expect(history["completed_visits"] as? Int == 0)
        }
        // The same phone number created on another replica while apart: both survive the merge and are suggested as duplicates.
        let peer = try fixture.makePeer()
        try peer.apply(try fixture.shop.store.changesets(missingFrom: peer.store.versionVector, limit: .max).map(\.bytes))
        let twin = try fixture.shop.createClient(ClientDraft(name: "Ольга Смирнова", phone: "+77025550011"), branch: fixture.branch)
        let other = try peer.createClient(ClientDraft(name: "Ольга С.", phone: "+77025550011"), branch: fixture.branch)
        try fixture.shop.apply(try peer.store.changesets(missingFrom: fixture.shop.store.versionVector, limit: .max).map(\.bytes))
        try await fixture.test { client in
            let duplicates = try await client.send(.get, "/v1/clients/duplicates", as: .frontDesk)
            #expect(duplicates.items.first?["phone"] as? String == "+77025550011")
            #expect(Set(duplicates.items.first?["clients"] as? [String] ?? []) == [twin.id.rawValue, other.id.rawValue])
            #expect(try await client.send(.post, "/v1/clients/\(other.id)/merge", as: .frontDesk, json: body(["into": twin.id.rawValue])).status == 403)
            let merged = try await client.send(.post, "/v1/clients/\(other.id)/merge", as: .manager, json: body(["into": twin.id.rawValue]))
            #expect(merged.status == 200)
            #expect(merged["id"] as? String == twin.id.rawValue)
            #expect(try await client.send(.get, "/v1/clients/duplicates", as: .frontDesk).items.isEmpty)
        }
    }

    @Test("conflicts: two home boxes book the same time apart; after the merge the conflict is listed and resolved by cancelling one")
    func conflicts() async throws {
        let fixture = try APIFixture()
        // A spare box of the same branch (also its home) books while cut off.
        let key = SigningKey.generate()
        var configuration = ReplicaConfiguration(path: fixture.directory + "/spare.sqlite")
        configuration.synchronous = "OFF"
        configuration.physicalClock = fixture.clock.physical
        let certificate = try Certificate.issue(by: fixture.owner, for: key.publicKey, role: "box", branch: fixture.branch.rawValue, notBefore: 0, notAfter: Int64.max / 2)
        let spare = try Shop(store: try ReplicaStore(configuration: configuration, identity: key, ownerKey: fixture.owner.publicKey, certificate: certificate, logger: quietLogger), logger: quietLogger)
        try spare.apply(try fixture.shop.store.changesets(missingFrom: spare.store.versionVector, limit: .max).map(\.bytes))
        let start = Instant(iso8601: "2026-03-05T10:00:00+05:00")!
        let here = try fixture.shop.book(BookingRequest(branchID: fixture.branch, parts: [VisitPart(offeringID: fixture.haircut, staffID: fixture.aigerim)], start: start, guest: Guest(name: "A")))
        let there = try spare.book(BookingRequest(branchID: fixture.branch, parts: [VisitPart(offeringID: fixture.haircut, staffID: fixture.aigerim)], start: start, guest: Guest(name: "B")))
        try fixture.shop.apply(try spare.store.changesets(missingFrom: fixture.shop.store.versionVector, limit: .max).map(\.bytes))
        try await fixture.test { client in
            let listed = try await client.send(.get, "/v1/conflicts", as: .frontDesk)
            #expect(listed.items.count == 1)
            let conflict = try #require(listed.items.first)
            #expect(Set(conflict["appointments"] as? [String] ?? []) == [here.appointment.id.rawValue, there.appointment.id.rawValue])
            #expect(conflict["start"] as? String == "2026-03-05T10:00:00+05:00")
            let conflictID = conflict["id"] as? String ?? ""
            #expect(try await client.send(.post, "/v1/conflicts/\(conflictID)/resolve", as: .frontDesk, json: body(["action": "accept"])).status == 403)
            #expect(try await client.send(.post, "/v1/conflicts/\(conflictID)/resolve", as: .manager, json: body(["action": "cancel"])).status == 422)
            let resolved = try await client.send(.post, "/v1/conflicts/\(conflictID)/resolve", as: .manager, json: body([
                "action": "cancel", "appointment": there.appointment.id.rawValue, "note": "called B"]))
            #expect(resolved.status == 200)
            #expect(resolved.items.isEmpty)
            #expect(try await client.send(.get, "/v1/appointments/\(there.appointment.id)", as: .frontDesk)["status"] as? String == "cancelled")
        }
    }

    @Test("system: health, ready, metrics text, status, people list and patch, devices, sign-out")
    func system() async throws {
        let fixture = try APIFixture {
            $0.metricsText = { "# TYPE edgenode_up gauge\nedgenode_up 1\n" }
            $0.status = { ["site": .string("abc"), "peers": .array([])] }
        }
        try await fixture.test { client in
            #expect(try await client.send(.get, "/health", as: nil)["status"] as? String == "ok")
            #expect(try await client.send(.get, "/ready", as: nil).status == 200)
            let metrics = try await client.send(.get, "/metrics", as: nil)
            #expect(metrics.header("Content-Type")?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains("edgenode_up 1"))
            #expect(try await client.send(.get, "/v1/status", as: .manager)["site"] as? String == "abc")
            let person = try await client.send(.post, "/v1/people", as: .manager, json: body(["name": "Gulnaz", "role": "front_desk", "pin": "2468"]))
            let personID = person["id"] as? String ?? ""
            #expect(try await client.send(.get, "/v1/people", as: .manager).items.map { $0["name"] as? String } == ["Gulnaz"])
            let renamed = try await client.send(.patch, "/v1/people/\(personID)", as: .manager, json: body(["name": "Gulnaz A.", "pin": "13579"]))
            #expect(renamed["name"] as? String == "Gulnaz A.")
            #expect(try await client.send(.post, "/v1/sessions", as: .frontDesk, json: body(["person": personID, "pin": "2468"])).status == 401)
            let session = try await client.send(.post, "/v1/sessions", as: .frontDesk, json: body(["person": personID, "pin": "13579"]))
            let token = session["token"] as? String ?? ""
            #expect(try await client.send(.delete, "/v1/sessions/current", as: .frontDesk, headers: ["Edgenode-Session": token]).status == 204)
            #expect(try await client.send(.get, "/v1/me", as: .frontDesk, headers: ["Edgenode-Session": token]).status == 401)
            #expect(try await client.send(.delete, "/v1/sessions/current", as: .frontDesk).status == 400)
            let deactivated = try await client.send(.patch, "/v1/people/\(personID)", as: .manager, json: body(["active": false]))
            #expect(deactivated["active"] as? Bool == false)
            #expect(try await client.send(.post, "/v1/sessions", as: .frontDesk, json: body(["person": personID, "pin": "13579"])).status == 401)
            #expect(try await client.send(.get, "/v1/devices", as: .owner).items.count == Role.allCases.count)
            #expect(try await client.send(.get, "/v1/pairing-requests", as: .owner).items.isEmpty)
            let requested = try await client.send(.post, "/v1/pairing-requests", as: nil, json: body(["device_name": "Unknown tablet"]))
            let rejected = try await client.send(.post, "/v1/pairing-requests/reject", as: .owner, json: body(["code": requested["code"] as? String ?? ""]))
            #expect(rejected["status"] as? String == "rejected")
            #expect(try await client.send(.post, "/v1/pairing-requests/claim", as: nil, json: body(["secret": requested["secret"] as? String ?? ""])).status == 401)
        }
    }
}
