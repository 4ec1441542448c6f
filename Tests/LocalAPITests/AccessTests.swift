import Domain
import Foundation
import LocalAPI
import Replication
import Testing

@Suite("Pairing, PINs and audit")
struct AccessTests {
    @Test("pairing: request → code → approve by a manager → the tablet claims its token once; wrong codes lock the approver out")
    func pairing() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let requested = try await client.send(.post, "/v1/pairing-requests", as: nil, json: body(["device_name": "Front desk iPad"]))
            #expect(requested.status == 201)
            let secret = requested["secret"] as? String ?? ""
            let code = requested["code"] as? String ?? ""
            #expect(secret.count == 43)
            #expect(code.count == 6 && code.allSatisfy(\.isNumber))
            let pending = try await client.send(.post, "/v1/pairing-requests/claim", as: nil, json: body(["secret": secret]))
            #expect(pending.status == 202)
            let listed = try await client.send(.get, "/v1/pairing-requests", as: .manager)
            #expect(listed.items.map { $0["code"] as? String } == [code])
            // A manager may not create an owner device; front desk may not approve at all.
            #expect(try await client.send(.post, "/v1/pairing-requests/approve", as: .manager, json: body(["code": code, "role": "owner"])).status == 403)
            #expect(try await client.send(.post, "/v1/pairing-requests/approve", as: .frontDesk, json: body(["code": code, "role": "kiosk"])).status == 403)
            let approved = try await client.send(.post, "/v1/pairing-requests/approve", as: .manager, json: body(["code": code, "role": "front_desk"]))
            #expect(approved.status == 200)
            let claimed = try await client.send(.post, "/v1/pairing-requests/claim", as: nil, json: body(["secret": secret]))
            #expect(claimed.status == 200)
            let token = claimed["token"] as? String ?? ""
            #expect(token.count == 43)
            let me = try await client.send(.get, "/v1/me", as: nil, token: token)
            #expect(me["role"] as? String == "front_desk")
            #expect((me["device"] as? [String: Any])?["name"] as? String == "Front desk iPad")
            #expect(try await client.send(.post, "/v1/pairing-requests/claim", as: nil, json: body(["secret": secret])).status == 410)
            // The token is stored only as a hash.
            let stored = try fixture.shop.store.read { try $0.rows("SELECT token_hash FROM local_devices", []) }.map { $0[0].textValue ?? "" }
            #expect(!stored.contains(token))

            for attempt in 1...5 {
                let wrong = try await client.send(.post, "/v1/pairing-requests/approve", as: .owner, json: body(["code": "000000", "role": "kiosk"]))
                #expect(wrong.status == 404, "attempt \(attempt)")
            }
            let locked = try await client.send(.post, "/v1/pairing-requests/approve", as: .owner, json: body(["code": "000000", "role": "kiosk"]))
            #expect(locked.status == 429)
            #expect(Int(locked.header("Retry-After") ?? "") ?? 0 > 0)
        }
    }

    @Test("pairing codes expire")
    func expiry() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let requested = try await client.send(.post, "/v1/pairing-requests", as: nil, json: body(["device_name": "Old tablet"]))
            fixture.clock.advance(minutes: 11)
            let approve = try await client.send(.post, "/v1/pairing-requests/approve", as: .owner, json: body(["code": requested["code"] as? String ?? "", "role": "kiosk"]))
            #expect(approve.status == 404)
            let claim = try await client.send(.post, "/v1/pairing-requests/claim", as: nil, json: body(["secret": requested["secret"] as? String ?? ""]))
            #expect(claim.status == 410)
        }
    }

    @Test("PIN sessions: a person signs in on the front desk tablet and acts with their role; wrong PINs lock them out; kiosks never elevate")
    func sessions() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let created = try await client.send(.post, "/v1/people", as: .owner, json: body(["name": "Dana", "role": "manager", "pin": "4821", "staff": fixture.dana.rawValue]))
            #expect(created.status == 201)
            let person = created["id"] as? String ?? ""
            #expect(try await client.send(.post, "/v1/people", as: .manager, json: body(["name": "X", "role": "owner", "pin": "1111"])).status == 403)
            #expect(try await client.send(.post, "/v1/people", as: .owner, json: body(["name": "X", "role": "staff", "pin": "12"])).status == 422)

            let session = try await client.send(.post, "/v1/sessions", as: .frontDesk, json: body(["person": person, "pin": "4821"]))
            #expect(session.status == 201)
            let sessionToken = session["token"] as? String ?? ""
            let me = try await client.send(.get, "/v1/me", as: .frontDesk, headers: ["Edgenode-Session": sessionToken])
            #expect(me["role"] as? String == "manager")
            // Front desk alone may not list devices; the signed-in manager may.
            #expect(try await client.send(.get, "/v1/devices", as: .frontDesk).status == 403)
            #expect(try await client.send(.get, "/v1/devices", as: .frontDesk, headers: ["Edgenode-Session": sessionToken]).status == 200)
            // The session belongs to that tablet only.
            #expect(try await client.send(.get, "/v1/me", as: .staff, headers: ["Edgenode-Session": sessionToken]).status == 401)
            // A kiosk cannot start a session.
            #expect(try await client.send(.post, "/v1/sessions", as: .kiosk, json: body(["person": person, "pin": "4821"])).status == 403)

            // The audit trail names device and person, and it is a replicated table.
            let note = try await client.send(.post, "/v1/clients/\(fixture.client)/notes", as: .frontDesk, json: body(["body": "prefers short cuts"]),
                                             headers: ["Edgenode-Session": sessionToken])
            #expect(note.status == 201)
            #expect(note["author"] as? String == "Dana (front_desk tablet)")
            let audit = try await client.send(.get, "/v1/audit", as: .owner)
            let last = audit.items.first
            #expect(last?["operation"] as? String == "client.note.add")
            #expect(last?["person"] as? String == person)
            #expect(last?["device"] as? String == fixture.devices[.frontDesk]?.id.rawValue)
            let changes = try fixture.shop.store.changesets(missingFrom: VersionVector(), limit: .max)
            #expect(fixture.shop.store.replicatedTables.contains("audit_events"))
            #expect(!changes.isEmpty)

            for _ in 1...4 {
                #expect(try await client.send(.post, "/v1/sessions", as: .frontDesk, json: body(["person": person, "pin": "0000"])).status == 401)
            }
            #expect(try await client.send(.post, "/v1/sessions", as: .frontDesk, json: body(["person": person, "pin": "0000"])).status == 401)
            let locked = try await client.send(.post, "/v1/sessions", as: .frontDesk, json: body(["person": person, "pin": "4821"]))
            #expect(locked.status == 429)
            fixture.clock.advance(minutes: 16)
            #expect(try await client.send(.post, "/v1/sessions", as: .frontDesk, json: body(["person": person, "pin": "4821"])).status == 201)
        }
    }
}
