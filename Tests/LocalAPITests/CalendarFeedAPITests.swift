import Domain
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LocalAPI
import Testing
import TestSupport

@Suite("Calendar feeds API")
struct CalendarFeedAPITests {
    static let feedKeys: Set<String> = ["id", "scope", "subject", "name", "content", "created_at", "revoked"]

    /// The secret of a feed's URL (`http://host/feeds/<secret>.ics`).
    static func path(of url: String) -> String? {
        guard let range = url.range(of: "/feeds/") else { return nil }
        return String(url[range.lowerBound...])
    }

    @Test("an owner makes a feed (the URL shown once, on the request's host), lists it without its secret, revokes it; the URL then answers 404")
    func lifecycle() async throws {
        let fixture = try APIFixture()
        _ = try fixture.shop.book(BookingRequest(branchID: fixture.branch, parts: [VisitPart(offeringID: fixture.haircut, staffID: fixture.aigerim)],
                                                 start: Instant(iso8601: "2026-03-03T10:00:00+05:00")!, clientID: fixture.client))
        try await fixture.test { client in
            let made = try await client.send(.post, "/v1/calendar-feeds", json: body(["scope": "staff", "subject": fixture.aigerim.rawValue, "content": "details"]))
            #expect(made.status == 201, "\(made.text)")
            #expect(Set(made.json.keys) == Self.feedKeys.union(["url"]))
            #expect(made["scope"] as? String == "staff" && made["subject"] as? String == fixture.aigerim.rawValue)
            #expect(made["name"] as? String == "Aigerim" && made["content"] as? String == "details" && made["revoked"] as? Bool == false)
            #expect(made["created_at"] as? String == "2026-03-02T08:00:00+05:00")
            let url = try #require(made["url"] as? String)
            #expect(url.wholeMatch(of: /http:\/\/localhost\/feeds\/[A-Za-z0-9_-]{43}\.ics/) != nil, "\(url)")
            let path = try #require(Self.path(of: url))

            let calendar = try await client.send(.get, path, as: nil)
            #expect(calendar.status == 200)
            #expect(calendar.header("Content-Type") == "text/calendar; charset=utf-8")
            #expect(calendar.header("Cache-Control") == "no-cache")
            #expect(calendar.text.hasPrefix("BEGIN:VCALENDAR\r\n") && calendar.text.contains("SUMMARY:Ерлан — Haircut\r\n"))

            let listed = try await client.send(.get, "/v1/calendar-feeds", as: .manager)
            #expect(listed.status == 200)
            #expect(listed.items.count == 1)
            #expect(listed.items.allSatisfy { Set($0.keys) == Self.feedKeys })
            #expect(!listed.text.contains(String(path.dropFirst("/feeds/".count).dropLast(4))), "the secret is never listed")

            let id = try #require(made["id"] as? String)
            let revoked = try await client.send(.delete, "/v1/calendar-feeds/\(id)", as: .manager)
            #expect(revoked.status == 204)
            let gone = try await client.send(.get, path, as: nil)
            #expect(gone.status == 404)
            #expect(gone["type"] as? String == "urn:edgenode:problem:not_found")
            #expect(try await client.send(.get, "/v1/calendar-feeds").items.first?["revoked"] as? Bool == true)
            #expect(try await client.send(.delete, "/v1/calendar-feeds/\(id)").status == 204, "revoking again changes nothing")
            #expect(try await client.send(.get, path, as: nil).status == 404)
        }
    }

    @Test("a branch feed, busy: only Busy, no client data")
    func branchBusy() async throws {
        let fixture = try APIFixture()
        _ = try fixture.shop.book(BookingRequest(branchID: fixture.branch, parts: [VisitPart(offeringID: fixture.haircut, staffID: fixture.dana)],
                                                 start: Instant(iso8601: "2026-03-03T10:00:00+05:00")!, clientID: fixture.client))
        try await fixture.test { client in
            let made = try await client.send(.post, "/v1/calendar-feeds", json: body(["scope": "branch", "subject": fixture.branch.rawValue, "content": "busy"]))
            #expect(made.status == 201)
            #expect(made["name"] as? String == "Almaty Central")
            let calendar = try await client.send(.get, try #require(Self.path(of: made["url"] as? String ?? "")), as: nil)
            #expect(calendar.status == 200)
            #expect(calendar.text.contains("SUMMARY:Busy\r\n"))
            #expect(!calendar.text.contains("Ерлан") && !calendar.text.contains("Haircut") && !calendar.text.contains("DESCRIPTION"))
        }
    }

    @Test("unknown secrets, malformed or well-formed, are 404 not_found")
    func unknownSecrets() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            for path in ["/feeds/\(String(repeating: "A", count: 43)).ics", "/feeds/x.ics", "/feeds/%E2%9C%93.ics"] {
                let response = try await client.send(.get, path, as: nil)
                #expect(response.status == 404, "\(path)")
                #expect(response["type"] as? String == "urn:edgenode:problem:not_found", "\(path): \(response.text)")
            }
        }
    }

    @Test("an unknown subject is 404; bad input is 422 and makes nothing", arguments: [
        (["scope": "staff", "subject": "0190f5a0-0000-7000-8000-000000000000", "content": "busy"], 404, "not_found"),
        (["scope": "branch", "subject": "0190f5a0-0000-7000-8000-000000000000", "content": "details"], 404, "not_found"),
        (["scope": "room", "subject": "0190f5a0-0000-7000-8000-000000000000", "content": "busy"], 422, "validation_failed"),
        (["scope": "staff", "subject": "aigerim", "content": "busy"], 422, "validation_failed"),
        (["scope": "staff", "content": "busy"], 422, "validation_failed"),
        (["scope": "staff", "subject": "0190f5a0-0000-7000-8000-000000000000", "content": "everything"], 422, "validation_failed"),
        (["scope": "staff", "subject": "0190f5a0-0000-7000-8000-000000000000", "content": "busy", "publish": true], 422, "validation_failed"),
    ] as [([String: any Sendable], Int, String)])
    func refused(input: [String: any Sendable], status: Int, kind: String) async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let response = try await client.send(.post, "/v1/calendar-feeds", json: body(input))
            #expect(response.status == status, "\(response.text)")
            #expect(response["type"] as? String == "urn:edgenode:problem:\(kind)")
            #expect(try await client.send(.get, "/v1/calendar-feeds").items.isEmpty)
        }
    }

    @Test("revoking an unknown feed is 404")
    func revokeUnknown() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let response = try await client.send(.delete, "/v1/calendar-feeds/0190f5a0-0000-7000-8000-000000000000")
            #expect(response.status == 404)
            #expect(response["type"] as? String == "urn:edgenode:problem:not_found")
        }
    }

    @Test("only owners and managers make, list and revoke feeds: front desk, staff and kiosk get 403, no token 401")
    func permissions() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let input = body(["scope": "staff", "subject": fixture.aigerim.rawValue, "content": "busy"])
            let made = try await client.send(.post, "/v1/calendar-feeds", as: .manager, json: input)
            #expect(made.status == 201)
            let id = made["id"] as? String ?? ""
            for role in [Role.frontDesk, .staff, .kiosk] {
                #expect(try await client.send(.post, "/v1/calendar-feeds", as: role, json: input).status == 403, "\(role)")
                #expect(try await client.send(.get, "/v1/calendar-feeds", as: role).status == 403, "\(role)")
                #expect(try await client.send(.delete, "/v1/calendar-feeds/\(id)", as: role).status == 403, "\(role)")
            }
            #expect(try await client.send(.get, "/v1/calendar-feeds", as: nil).status == 401)
            #expect(try await client.send(.get, "/v1/calendar-feeds").items.first?["revoked"] as? Bool == false)
            // The calendar itself needs no token: its secret is the credential.
            #expect(try await client.send(.get, Self.path(of: made["url"] as? String ?? "") ?? "", as: nil).status == 200)
        }
    }

    @Test("end to end over real HTTP: a moved appointment keeps its UID with a higher SEQUENCE, a cancelled one is gone, and Python's icalendar validates the feed")
    func endToEnd() async throws {
        let fixture = try APIFixture()
        let book = { (staff: StaffID, start: String) throws -> Appointment in
            try fixture.shop.book(BookingRequest(branchID: fixture.branch, parts: [VisitPart(offeringID: fixture.haircut, staffID: staff)],
                                                 start: Instant(iso8601: start)!, clientID: fixture.client)).appointment
        }
        // A busy week for Aigerim: five days, several visits a day, with a long Cyrillic name to fold.
        let firstName = "Айгерим-Жұлдызай-Сапаргалиевна-Нурмухамбетова;ВИП,постоянная\\клиентка"
        let vip = try fixture.shop.createClient(ClientDraft(name: firstName + " Кенжебаева", phone: "8 701 765 43 21"), branch: fixture.branch).id
        var week: [Appointment] = []
        for day in 3...7 {
            for hour in [9, 11, 13, 15] {
                week.append(try fixture.shop.book(BookingRequest(branchID: fixture.branch, parts: [VisitPart(offeringID: fixture.haircut, staffID: fixture.aigerim)],
                                                                 start: Instant(iso8601: "2026-03-0\(day)T\(hour < 10 ? "0" : "")\(hour):00:00+05:00")!,
                                                                 clientID: vip)).appointment)
            }
        }
        let busyWeek = week
        let moved = try book(fixture.aigerim, "2026-03-03T10:00:00+05:00")
        let cancelled = try book(fixture.aigerim, "2026-03-04T10:00:00+05:00")
        let others = try book(fixture.dana, "2026-03-03T10:00:00+05:00")
        let script = packageRoot + "/Tests/python/verify_ics.py"
        let application = Application(router: fixture.api.makeRouter(), logger: quietLogger)
        try await application.test(.live) { live in
            let made = try await live.execute(uri: "/v1/calendar-feeds", method: .post,
                                              headers: [.authorization: "Bearer \(fixture.tokens[.owner]!)", .contentType: "application/json"],
                                              body: ByteBuffer(string: body(["scope": "staff", "subject": fixture.aigerim.rawValue, "content": "details"]))) { response in
                (try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any]) ?? [:]
            }
            let path = try #require(Self.path(of: made["url"] as? String ?? ""))
            let url = "http://localhost:\(try #require(live.port))\(path)"
            @Sendable func verify(_ expectations: [String: Any]) async throws -> ProcessResult {
                let json = String(decoding: try JSONSerialization.data(withJSONObject: expectations), as: UTF8.self)
                return try await offPool { try run("/usr/bin/env", ["python3", script, url, json], timeout: .seconds(120), check: false) }
            }

            let uid = "\(moved.id.rawValue)-0@edgenode"
            let first = try await verify([
                "calname": "Aigerim", "count": busyWeek.count + 2,
                "events": [["uid": uid, "sequence": 0, "summary": "Ерлан — Haircut", "dtstart": "2026-03-03T05:00:00Z", "status": "CONFIRMED"],
                           ["uid": "\(busyWeek[0].id.rawValue)-0@edgenode", "summary": firstName + " — Haircut"]],
                "absent_uids": ["\(others.id.rawValue)-0@edgenode"],
            ])
            #expect(first.status == 0, "verify_ics.py: \(first.error)\n\(first.output)")

            fixture.clock.advance(minutes: 10)
            _ = try fixture.shop.reschedule(moved.id, to: Instant(iso8601: "2026-03-03T17:00:00+05:00")!, actor: "front desk")
            try fixture.shop.cancel(cancelled.id, by: .client, reason: "", actor: "front desk")
            let second = try await verify([
                "count": busyWeek.count + 1,
                "events": [["uid": uid, "sequence": 1, "dtstart": "2026-03-03T12:00:00Z", "dtend": "2026-03-03T13:00:00Z"]],
                "absent_uids": ["\(cancelled.id.rawValue)-0@edgenode"],
            ])
            #expect(second.status == 0, "verify_ics.py: \(second.error)\n\(second.output)")

            try await fixture.shop.calendarFeeds.revoke(CalendarFeedID(made["id"] as? String ?? "")!, as: .system("test"))
            let revoked = try await offPool { try run("/usr/bin/env", ["python3", "-c", "import sys, urllib.request, urllib.error\ntry:\n    urllib.request.urlopen(sys.argv[1])\nexcept urllib.error.HTTPError as e:\n    print(e.code)", url], check: false) }
            #expect(revoked.output.trimmingCharacters(in: .whitespacesAndNewlines) == "404")
        }
    }
}
