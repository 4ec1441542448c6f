import Domain
import Foundation
import HTTPTypes
import LocalAPI
import Testing
import TestSupport

/// The box serving the web app (issue 15): its files, their caching and security headers, the
/// browser's cookie credentials and their CSRF rule, and logging a revoked tablet out at once.
@Suite("Web app")
struct WebAppTests {
    static let csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    @Test("/, /b/{token} and /r/{token} answer index.html with no-cache, an ETag, the security headers; 304 on If-None-Match; gzip when accepted")
    func pages() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let page = try await client.send(.get, "/", as: nil)
            #expect(page.status == 200)
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            #expect(page.header("Cache-Control") == "no-cache")
            #expect(page.header("Vary") == "Accept-Encoding")
            #expect(page.header("Content-Security-Policy") == Self.csp)
            #expect(page.header("X-Frame-Options") == "DENY")
            #expect(page.header("X-Content-Type-Options") == "nosniff")
            #expect(page.header("Referrer-Policy") == "no-referrer")
            #expect(page.header("Content-Encoding") == nil)
            #expect(page.text.contains("<div id=\"app\""))
            let etag = try #require(page.header("ETag"))
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\""))

            let guest = try await client.send(.get, "/b/abcdefghijklmnopqrstuvwxyz", as: nil)
            #expect(guest.status == 200)
            #expect(guest.text == page.text)
            #expect(guest.header("Content-Security-Policy") == Self.csp)
            // The client's receipt page (issue 16) is the same app.
            let receipt = try await client.send(.get, "/r/abcdefghijklmnopqrstuvwxyz", as: nil)
            #expect(receipt.status == 200 && receipt.text == page.text)

            let again = try await client.send(.get, "/", as: nil, headers: ["If-None-Match": etag])
            #expect(again.status == 304)
            #expect(again.text.isEmpty)
            #expect(again.header("ETag") == etag)
            #expect(try await client.send(.get, "/", as: nil, headers: ["If-None-Match": "\"other\""]).status == 200)

            let compressed = try await client.send(.get, "/", as: nil, headers: ["Accept-Encoding": "gzip, deflate, br"])
            #expect(compressed.status == 200)
            #expect(compressed.header("Content-Encoding") == "gzip")
            #expect(compressed.header("Vary") == "Accept-Encoding")
            #expect(!compressed.text.contains("<div id=\"app\""))
            #expect(try await client.send(.get, "/", as: nil, headers: ["Accept-Encoding": "gzip;q=0, identity"]).header("Content-Encoding") == nil)

            let head = try await client.send(.head, "/", as: nil)
            #expect(head.status == 200)
            #expect(head.text.isEmpty)
            #expect(head.header("ETag") == etag)
        }
    }

    @Test("the hashed assets index.html names are served immutable with their ETag; an unknown one is 404")
    func assets() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let page = try await client.send(.get, "/", as: nil)
            let paths = page.text.matches(of: /"(\/assets\/app\.[0-9a-f]{12}\.(js|css))"/).map { String($0.output.1) }
            #expect(paths.count == 2)
            for path in paths {
                let asset = try await client.send(.get, path, as: nil)
                #expect(asset.status == 200, "\(path)")
                #expect(asset.header("Cache-Control") == "public, max-age=31536000, immutable")
                #expect(asset.header("Content-Type") == (path.hasSuffix(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8"))
                #expect(asset.header("X-Content-Type-Options") == "nosniff")
                let etag = try #require(asset.header("ETag"))
                #expect(try await client.send(.get, path, as: nil, headers: ["If-None-Match": "W/\(etag)"]).status == 304)
                #expect(try await client.send(.get, path, as: nil, headers: ["Accept-Encoding": "gzip"]).header("Content-Encoding") == "gzip")
            }
            let missing = try await client.send(.get, "/assets/app.000000000000.js", as: nil)
            #expect(missing.status == 404)
            #expect(missing.header("Content-Type") == "application/problem+json")
        }
    }

    @Test("every /v1 answer, errors included, says no-store, nosniff and DENY")
    func apiHeaders() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            for response in [try await client.send(.get, "/v1/me", as: .frontDesk), try await client.send(.get, "/v1/me", as: nil),
                             try await client.send(.get, "/v1/nothing-here", as: .owner)] {
                #expect(response.header("Cache-Control") == "no-store")
                #expect(response.header("X-Content-Type-Options") == "nosniff")
                #expect(response.header("X-Frame-Options") == "DENY")
            }
        }
    }

    /// Pairs a browser with `credential: cookie`; returns the device cookie's value.
    static func pairBrowser(_ client: APIClient, role: String = "front_desk") async throws -> (cookie: String, claim: APIResponse) {
        let requested = try await client.send(.post, "/v1/pairing-requests", as: nil, json: body(["device_name": "Reception browser"]))
        let secret = requested["secret"] as? String ?? ""
        let approve = try await client.send(.post, "/v1/pairing-requests/approve", as: .owner, json: body(["code": requested["code"] as? String ?? "", "role": role]))
        #expect(approve.status == 200)
        let claim = try await client.send(.post, "/v1/pairing-requests/claim", as: nil, json: body(["secret": secret, "credential": "cookie"]))
        let setCookie = claim.headers[values: .setCookie].first ?? ""
        let value = setCookie.split(separator: ";").first.map { String($0.dropFirst("edgenode_device=".count)) } ?? ""
        return (value, claim)
    }

    @Test("claiming with credential cookie sets an HttpOnly SameSite=Strict device cookie and no token in the body; the cookie authenticates")
    func claimAsCookie() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let (cookie, claim) = try await Self.pairBrowser(client)
            #expect(claim.status == 200)
            #expect(claim["status"] as? String == "paired")
            #expect(claim["token"] == nil)
            let setCookie = try #require(claim.headers[values: .setCookie].first)
            #expect(setCookie.hasPrefix("edgenode_device=\(cookie);"))
            #expect(cookie.count == 43)
            for attribute in ["Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=315360000"] { #expect(setCookie.contains(attribute), "\(attribute)") }
            let me = try await client.send(.get, "/v1/me", as: nil, headers: ["Cookie": "theme=dark; edgenode_device=\(cookie)"])
            #expect(me.status == 200)
            #expect(me["role"] as? String == "front_desk")
            // A bad credential value is refused like an unknown token.
            #expect(try await client.send(.post, "/v1/pairing-requests/claim", as: nil, json: body(["secret": "x", "credential": "jar"])).status == 422)
        }
    }

    @Test("a cookie-authenticated POST needs Edgenode-CSRF: 1 and, with an Origin, this box's; otherwise 403 csrf and nothing changes")
    func csrf() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let (cookie, _) = try await Self.pairBrowser(client)
            let newClient = body(["name": "Айгуль Ким", "phone": "8 701 555 12 12"])
            let clientsBefore = try await client.send(.get, "/v1/clients", as: .owner).items.count
            let refusals: [[String: String]] = [
                ["Cookie": "edgenode_device=\(cookie)"],
                ["Cookie": "edgenode_device=\(cookie)", "Edgenode-CSRF": "0"],
                ["Cookie": "edgenode_device=\(cookie)", "Edgenode-CSRF": "1", "Origin": "http://evil.example", "Host": "box.local:8470"],
                ["Cookie": "edgenode_device=\(cookie)", "Edgenode-CSRF": "1", "Origin": "null", "Host": "box.local:8470"],
            ]
            for headers in refusals {
                let refused = try await client.send(.post, "/v1/clients", as: nil, json: newClient, headers: headers)
                #expect(refused.status == 403, "\(headers)")
                #expect(refused["type"] as? String == "urn:edgenode:problem:csrf")
            }
            #expect(try await client.send(.get, "/v1/clients", as: .owner).items.count == clientsBefore)
            // A GET needs neither; a bearer token needs neither.
            #expect(try await client.send(.get, "/v1/clients", as: nil, headers: ["Cookie": "edgenode_device=\(cookie)"]).status == 200)
            let created = try await client.send(.post, "/v1/clients", as: nil, json: newClient,
                                                headers: ["Cookie": "edgenode_device=\(cookie)", "Edgenode-CSRF": "1", "Origin": "http://box.local:8470", "Host": "box.local:8470"])
            #expect(created.status == 201, "\(created.text)")
            #expect(try await client.send(.get, "/v1/clients", as: .owner).items.count == clientsBefore + 1)
        }
    }

    @Test("PIN session as a cookie: signs in, acts as the person, signs out clearing it; an ended session is 401 session_ended")
    func sessionCookie() async throws {
        let fixture = try APIFixture()
        let person = try fixture.shop.createPerson(name: "Madina", role: .manager, pin: "4821")
        try await fixture.test { client in
            let (device, _) = try await Self.pairBrowser(client)
            let unsafe = ["Cookie": "edgenode_device=\(device)", "Edgenode-CSRF": "1"]
            let signedIn = try await client.send(.post, "/v1/sessions", as: nil, json: body(["person": person.id.rawValue, "pin": "4821", "credential": "cookie"]),
                                                 headers: unsafe)
            #expect(signedIn.status == 201, "\(signedIn.text)")
            #expect(signedIn["token"] == nil)
            #expect(signedIn["role"] as? String == "manager")
            let setCookie = try #require(signedIn.headers[values: .setCookie].first)
            #expect(setCookie.hasPrefix("edgenode_session="))
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Max-Age=43200"))
            let session = String(setCookie.split(separator: ";")[0].dropFirst("edgenode_session=".count))
            let both = "edgenode_device=\(device); edgenode_session=\(session)"
            let me = try await client.send(.get, "/v1/me", as: nil, headers: ["Cookie": both])
            #expect(me["role"] as? String == "manager")

            let signedOut = try await client.send(.delete, "/v1/sessions/current", as: nil, headers: ["Cookie": both, "Edgenode-CSRF": "1"])
            #expect(signedOut.status == 204)
            #expect(signedOut.headers[values: .setCookie] == ["edgenode_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"])

            let ended = try await client.send(.get, "/v1/me", as: nil, headers: ["Cookie": both])
            #expect(ended.status == 401)
            #expect(ended["type"] as? String == "urn:edgenode:problem:session_ended")
            #expect(ended.headers[values: .setCookie] == ["edgenode_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"])
            // The device alone still works.
            #expect(try await client.send(.get, "/v1/me", as: nil, headers: ["Cookie": "edgenode_device=\(device)"]).status == 200)
        }
    }

    @Test("a revoked device cookie is 401 unauthenticated and clears both cookies; forget revokes the device itself and clears them")
    func revokedAndForgotten() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let (revoked, claim) = try await Self.pairBrowser(client)
            let id = (claim["device"] as? [String: Any])?["id"] as? String ?? ""
            #expect(try await client.send(.post, "/v1/devices/\(id)/revoke", as: .owner).status == 200)
            let refused = try await client.send(.get, "/v1/me", as: nil, headers: ["Cookie": "edgenode_device=\(revoked); edgenode_session=whatever"])
            #expect(refused.status == 401)
            #expect(refused["type"] as? String == "urn:edgenode:problem:unauthenticated")
            #expect(Set(refused.headers[values: .setCookie]) == ["edgenode_device=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict",
                                                                 "edgenode_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"])

            let (forgetful, _) = try await Self.pairBrowser(client)
            #expect(try await client.send(.post, "/v1/device/forget", as: nil, headers: ["Cookie": "edgenode_device=\(forgetful)"]).status == 403)
            let forgot = try await client.send(.post, "/v1/device/forget", as: nil, headers: ["Cookie": "edgenode_device=\(forgetful)", "Edgenode-CSRF": "1"])
            #expect(forgot.status == 204)
            #expect(forgot.headers[values: .setCookie].count == 2)
            #expect(try await client.send(.get, "/v1/me", as: nil, headers: ["Cookie": "edgenode_device=\(forgetful)"]).status == 401)
        }
    }

    @Test("revoking a device ends its open event stream at once; signing out ends the person's; reconnecting is 401")
    func revocationEndsStreams() async throws {
        let fixture = try APIFixture()
        let person = try fixture.shop.createPerson(name: "Madina", role: .manager, pin: "4821")
        try await fixture.test { client in
            // A device's stream ends when the device is revoked.
            let (cookie, claim) = try await Self.pairBrowser(client)
            let id = (claim["device"] as? [String: Any])?["id"] as? String ?? ""
            let text = try await Self.streamUntilItEnds(client, fixture: fixture, cookie: "edgenode_device=\(cookie)") {
                let revoked = try await client.send(.post, "/v1/devices/\(id)/revoke", as: .owner)
                #expect(revoked.status == 200)
            }
            #expect(text.contains(": connected"))
            #expect(try await client.send(.get, "/v1/events", as: nil, headers: ["Cookie": "edgenode_device=\(cookie)"]).status == 401)

            // A person's stream ends when their session ends (here: their PIN changes).
            let (device, _) = try await Self.pairBrowser(client)
            let signedIn = try await client.send(.post, "/v1/sessions", as: nil, json: body(["person": person.id.rawValue, "pin": "4821", "credential": "cookie"]),
                                                 headers: ["Cookie": "edgenode_device=\(device)", "Edgenode-CSRF": "1"])
            let session = String((signedIn.headers[values: .setCookie].first ?? "").split(separator: ";")[0].dropFirst("edgenode_session=".count))
            let both = "edgenode_device=\(device); edgenode_session=\(session)"
            _ = try await Self.streamUntilItEnds(client, fixture: fixture, cookie: both) {
                let changed = try await client.send(.patch, "/v1/people/\(person.id.rawValue)", as: .owner, json: body(["pin": "9999"]))
                #expect(changed.status == 200)
            }
            #expect(try await client.send(.get, "/v1/events", as: nil, headers: ["Cookie": both])["type"] as? String == "urn:edgenode:problem:session_ended")

            // A session that simply expires ends its stream at the next keep-alive.
            let again = try await client.send(.post, "/v1/sessions", as: nil, json: body(["person": person.id.rawValue, "pin": "9999", "credential": "cookie"]),
                                              headers: ["Cookie": "edgenode_device=\(device)", "Edgenode-CSRF": "1"])
            let expiring = String((again.headers[values: .setCookie].first ?? "").split(separator: ";")[0].dropFirst("edgenode_session=".count))
            _ = try await Self.streamUntilItEnds(client, fixture: fixture, cookie: "edgenode_device=\(device); edgenode_session=\(expiring)") {
                fixture.clock.advance(minutes: 12 * 60 + 1)
            }
        }
    }

    /// Opens `GET /v1/events` with `cookie`, runs `end` once the stream listens, and returns what
    /// the stream sent once it has ended (failing, not hanging, if it never does).
    static func streamUntilItEnds(_ client: APIClient, fixture: APIFixture, cookie: String, end: @Sendable () async throws -> Void) async throws -> String {
        let listeners = fixture.shop.credentialFeed.readerCount
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask { try await client.send(.get, "/v1/events", as: nil, headers: ["Cookie": cookie]).text }
            try await eventually("the stream listens for credential changes") { fixture.shop.credentialFeed.readerCount > listeners }
            try await end()
            group.addTask {
                try await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return try #require(first, "the event stream did not end after its credential stopped working")
        }
    }

    @Test("GET /v1/sessions/people lists the active people for a lock screen without PIN hashes; a kiosk is refused")
    func signInPeople() async throws {
        let fixture = try APIFixture()
        let madina = try fixture.shop.createPerson(name: "Madina", role: .manager, pin: "4821", staff: fixture.aigerim)
        let gone = try fixture.shop.createPerson(name: "Gone", role: .staff, pin: "1234")
        _ = try fixture.shop.updatePerson(gone.id, isActive: false)
        try await fixture.test { client in
            let listed = try await client.send(.get, "/v1/sessions/people", as: .staff)
            #expect(listed.status == 200)
            #expect(listed.items.count == 1)
            let first = try #require(listed.items.first)
            #expect(first["id"] as? String == madina.id.rawValue)
            #expect(first["name"] as? String == "Madina")
            #expect(first["role"] as? String == "manager")
            #expect(first["staff"] as? String == fixture.aigerim.rawValue)
            #expect(Set(first.keys) == ["id", "name", "role", "staff"])
            #expect(!listed.text.contains("argon") && !listed.text.contains("pin"))
            let kiosk = try await client.send(.get, "/v1/sessions/people", as: .kiosk)
            #expect(kiosk.status == 403)
        }
    }

    @Test("GET /v1/me carries the signed-in person's staff id and the home branch's zone, currency and locale")
    func meForTheApp() async throws {
        let fixture = try APIFixture()
        let madina = try fixture.shop.createPerson(name: "Madina", role: .staff, pin: "4821", staff: fixture.aigerim)
        try await fixture.test { client in
            let session = try await client.send(.post, "/v1/sessions", as: .frontDesk, json: body(["person": madina.id.rawValue, "pin": "4821"]))
            let token = session["token"] as? String ?? ""
            let me = try await client.send(.get, "/v1/me", as: .frontDesk, headers: ["Edgenode-Session": token])
            #expect(me["staff"] as? String == fixture.aigerim.rawValue)
            let branch = try #require(me["branch"] as? [String: Any])
            #expect(branch["id"] as? String == fixture.branch.rawValue)
            #expect(branch["name"] as? String == "Almaty Central")
            #expect(branch["time_zone"] as? String == "Asia/Almaty")
            #expect(branch["currency"] as? String == "KZT")
            #expect(branch["locale"] as? String == "en")
            #expect(try await client.send(.get, "/v1/me", as: .frontDesk)["staff"] == nil)
        }
    }

    @Test("GET /v1/connectivity: box time, the relay and each other box from the status provider, without keys, addresses or errors; a kiosk may read it")
    func connectivity() async throws {
        let fixture = try APIFixture { configuration in
            configuration.status = {
                ["site": .string("ab12"), "public_key": .string("SECRET-KEY"), "data_directory": .string("/var/lib/edgenode"),
                 "uplink": .object(["url": .string("https://relay.example/?key=SECRET"), "state": .string("unreachable"), "connected": .bool(false),
                                    "state_since": .string("2026-03-02T02:55:00Z"), "last_push": .string("2026-03-02T02:50:00Z"), "last_pull": .null,
                                    "last_error": .string("SECRET error"), "pending_push": .integer(3), "pending_pull": .null, "clock_warning": .null]),
                 "peers": .array([.object(["name": .string("Atyrau box"), "address": .string("10.0.0.7:8470"), "branch": .string("Atyrau"),
                                           "state": .string("current"), "last_sync": .string("2026-03-02T02:59:00Z"), "last_error": .null,
                                           "pending_to_peer": .integer(0), "pending_from_peer": .integer(2)])])]
            }
        }
        try await fixture.test { client in
            let answer = try await client.send(.get, "/v1/connectivity", as: .kiosk)
            #expect(answer.status == 200)
            #expect(answer["box_time"] as? String == "2026-03-02T08:00:00+05:00")
            let relay = try #require(answer["relay"] as? [String: Any])
            #expect(relay["configured"] as? Bool == true)
            #expect(relay["reachable"] as? Bool == false)
            #expect(relay["state"] as? String == "unreachable")
            #expect(relay["since"] as? String == "2026-03-02T02:55:00Z")
            #expect(relay["pending_push"] as? Int == 3)
            let boxes = try #require(answer["boxes"] as? [[String: Any]])
            #expect(boxes.count == 1)
            #expect(boxes.first?["name"] as? String == "Atyrau box")
            #expect(boxes.first?["last_synced_at"] as? String == "2026-03-02T02:59:00Z")
            #expect(boxes.first?["pending_from_peer"] as? Int == 2)
            for secret in ["SECRET", "10.0.0.7", "/var/lib"] { #expect(!answer.text.contains(secret), "\(secret)") }
            #expect(try await client.send(.get, "/v1/connectivity", as: nil).status == 401)
        }
    }
}
