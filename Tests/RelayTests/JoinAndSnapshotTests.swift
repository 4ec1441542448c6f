import Foundation
import HTTPTypes
import Testing
@testable import Relay
@testable import Replication
import TestSupport

extension TestBusiness {
    /// An owner-signed invitation with a fresh invitation key, valid for `hours` from `now`.
    func invitation(now: Int64, hours: Int64 = 24, branch: String = "Satpayev St") -> (Invitation, SigningKey) {
        let key = SigningKey.generate()
        let invitation = try! Invitation.issue(by: owner, invitationKey: key.publicKey, role: "box", branch: branch, relayURL: "http://127.0.0.1:1",
                                               issuedAt: now, notAfter: now + hours * 3_600_000)
        return (invitation, key)
    }
}

/// A sealed snapshot of `box` claiming `vector` (the content is opaque to the relay).
func sealedSnapshot(of box: TestBox, business: TestBusiness, vector: VersionVector, size: Int = 64, at: Int64 = 1_790_000_000_000) -> SealedSnapshot {
    var plain = Array("EDSN".utf8) + [1] + business.id.bytes + box.site.bytes
    plain += [UInt8](repeating: 7, count: size)
    return try! SealedSnapshot.seal(plain, business: business.id, vector: vector, producer: box.key, dataKey: DataKey(id: DataKeyID(1), bytes: [UInt8](repeating: 4, count: 32))!,
                                    createdAt: at)
}

/// The relay's storage of invitations, join requests and snapshots: one suite for SQLite and PostgreSQL.
@Suite("Relay storage conformance: invitations and snapshots")
struct JoinStorageConformanceTests {
    private func run<S: RelayStorage>(_ storage: S, _ scenario: @escaping @Sendable (any RelayStorage) async throws -> Void) async throws {
        try await withRunningStorage(storage) { try await scenario($0) }
    }

    func check(_ kind: StorageKind, _ scenario: @escaping @Sendable (any RelayStorage) async throws -> Void) async throws {
        try await run(try makeStorage(kind), scenario)
    }

    @Test("an invitation takes one join request; a retry of the same box is a duplicate, another box is refused; the owner's answer is kept",
          arguments: StorageKind.available)
    func invitations(kind: StorageKind) async throws {
        try await check(kind) { (storage: any RelayStorage) async throws in
            let business = TestBusiness(), other = TestBusiness()
            // Long before the other tests' clocks: pruning below is global (it is housekeeping), and
            // the PostgreSQL database is shared by tests running at once.
            let now: Int64 = 1_000_000_000_000
            let (invitation, key) = business.invitation(now: now)
            #expect(try await storage.invitation(invitation.id, business: business.id) == nil)
            #expect(try await storage.addInvitation(invitation, business: business.id, at: now))
            #expect(try await !storage.addInvitation(invitation, business: business.id, at: now + 1))
            #expect(try await storage.invitation(invitation.id, business: other.id) == nil)
            let stored = try #require(try await storage.invitation(invitation.id, business: business.id))
            #expect(stored.invitation == invitation && stored.state == .open && stored.registeredAt == now && stored.joinRequest == nil)
            #expect(try await storage.pendingJoinRequestCount(of: business.id, at: now) == 0)

            let box = SigningKey.generate(), rival = SigningKey.generate()
            let request = try JoinRequest.make(business: business.id, invitation: key, box: box, label: "box 2", requestedAt: now)
            let retry = try JoinRequest.make(business: business.id, invitation: key, box: box, label: "box 2", requestedAt: now + 5)
            let rivalRequest = try JoinRequest.make(business: business.id, invitation: key, box: rival, label: "rival", requestedAt: now)
            #expect(try await storage.recordJoinRequest(request, business: business.id, at: now + 10) == .stored)
            #expect(try await storage.recordJoinRequest(retry, business: business.id, at: now + 11) == .duplicate(.pending))
            #expect(try await storage.recordJoinRequest(rivalRequest, business: business.id, at: now + 12) == .taken)
            #expect(try await storage.recordJoinRequest(request, business: other.id, at: now) == .unknown)
            let pending = try await storage.pendingJoinRequests(of: business.id, at: now + 20)
            #expect(pending.map(\.invitation) == [invitation])
            #expect(pending.first?.joinRequest == request && pending.first?.requestedAt == now + 10 && pending.first?.state == .pending)
            #expect(try await storage.pendingJoinRequestCount(of: business.id, at: now + 20) == 1)
            // An expired invitation's request is no longer pending for the owner.
            #expect(try await storage.pendingJoinRequests(of: business.id, at: invitation.notAfter + 1).isEmpty)
            #expect(try await storage.pendingJoinRequestCount(of: business.id, at: invitation.notAfter + 1) == 0)

            let certificate = business.box().certificate.encoded
            #expect(try await storage.decideJoinRequest(invitation.id, business: business.id, certificate: certificate, refusal: nil, at: now + 30))
            #expect(try await !storage.decideJoinRequest(invitation.id, business: business.id, certificate: nil, refusal: "again", at: now + 31))
            let decided = try #require(try await storage.invitation(invitation.id, business: business.id))
            #expect(decided.state == .approved && decided.certificate == certificate && decided.decidedAt == now + 30 && decided.refusal == nil)
            #expect(try await storage.recordJoinRequest(retry, business: business.id, at: now + 40) == .duplicate(.approved))
            #expect(try await storage.pendingJoinRequestCount(of: business.id, at: now + 40) == 0)

            // A refusal.
            let (second, secondKey) = business.invitation(now: now)
            _ = try await storage.addInvitation(second, business: business.id, at: now)
            _ = try await storage.recordJoinRequest(try JoinRequest.make(business: business.id, invitation: secondKey, box: box, label: "", requestedAt: now),
                                                    business: business.id, at: now)
            #expect(try await storage.decideJoinRequest(second.id, business: business.id, certificate: nil, refusal: "not ours", at: now + 50))
            let refused = try #require(try await storage.invitation(second.id, business: business.id))
            #expect(refused.state == .refused && refused.refusal == "not ours" && refused.certificate == nil)

            // Pruning forgets invitations that expired before the mark.
            try await storage.pruneInvitations(before: invitation.notAfter + 1)
            #expect(try await storage.invitation(invitation.id, business: business.id) == nil)
        }
    }

    @Test("of many boxes asking under one invitation at once, exactly one is stored", arguments: StorageKind.available)
    func concurrentJoinRequests(kind: StorageKind) async throws {
        try await check(kind) { (storage: any RelayStorage) async throws in
            let business = TestBusiness()
            let now: Int64 = 1_790_000_000_000
            let (invitation, key) = business.invitation(now: now)
            _ = try await storage.addInvitation(invitation, business: business.id, at: now)
            let requests = try (0..<8).map { _ in try JoinRequest.make(business: business.id, invitation: key, box: .generate(), label: "", requestedAt: now) }
            let outcomes = try await withThrowingTaskGroup(of: JoinRequestOutcome.self) { group in
                for request in requests { group.addTask { try await storage.recordJoinRequest(request, business: business.id, at: now) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .stored }.count == 1)
            #expect(outcomes.filter { $0 == .taken }.count == 7)
        }
    }

    @Test("the business keeps its latest snapshot; one that the stored one covers is refused as stale", arguments: StorageKind.available)
    func snapshots(kind: StorageKind) async throws {
        try await check(kind) { (storage: any RelayStorage) async throws in
            let business = TestBusiness(), other = TestBusiness()
            let a = business.box(), b = business.box()
            #expect(try await storage.snapshotInfo(of: business.id) == nil)
            #expect(try await storage.snapshot(of: business.id) == nil)
            let first = sealedSnapshot(of: a, business: business, vector: VersionVector([a.site: 5, b.site: 2]))
            #expect(try await storage.storeSnapshot(first, business: business.id, at: 100) == .stored)
            let info = try #require(try await storage.snapshotInfo(of: business.id))
            #expect(info == SnapshotInfo(producer: a.site, createdAt: first.createdAt, keyID: DataKeyID(1), vector: first.vector, byteCount: first.bytes.count, storedAt: 100))
            #expect(try await storage.snapshot(of: business.id) == first.bytes)
            #expect(try await storage.snapshotInfo(of: other.id) == nil)

            let older = sealedSnapshot(of: b, business: business, vector: VersionVector([a.site: 4, b.site: 2]))
            #expect(try await storage.storeSnapshot(older, business: business.id, at: 200) == .stale(stored: first.vector))
            #expect(try await storage.snapshot(of: business.id) == first.bytes)
            // Equal vectors replace (a newer key, say); a vector the stored one does not cover replaces.
            let same = sealedSnapshot(of: b, business: business, vector: first.vector, size: 10)
            #expect(try await storage.storeSnapshot(same, business: business.id, at: 300) == .stored)
            let sideways = sealedSnapshot(of: b, business: business, vector: VersionVector([a.site: 4, b.site: 9]), size: 100_000)
            #expect(try await storage.storeSnapshot(sideways, business: business.id, at: 400) == .stored)
            #expect(try await storage.snapshot(of: business.id) == sideways.bytes)
            #expect(try await storage.snapshotInfo(of: business.id)?.byteCount == sideways.bytes.count)
            #expect(try await storage.snapshotInfo(of: business.id)?.producer == b.site)
        }
    }
}

/// Invitations, join requests and snapshots over HTTP on loopback, against SQLite and PostgreSQL.
@Suite("Relay join and snapshot endpoints")
struct JoinEndpointTests {
    static func b64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    @Test("a box joins under an invitation: request, the owner's box sees it (a waiting pull wakes), approves; the box reads its certificate",
          arguments: StorageKind.available)
    func joinFlow(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box()
            try await client.setUp(business, boxes: [a])
            let base = API.base(business.id)
            let (invitation, invitationKey) = business.invitation(now: relay.clock.milliseconds)
            let registered = try await client.send(.post, base + "/invitations", json: ["invitation": Self.b64(invitation.encoded)], key: business.owner, business: business.id)
            #expect(registered.status == 201, "\(registered.text)")
            #expect(registered.json["invitation"] as? String == invitation.id.hex)
            let again = try await client.send(.post, base + "/invitations", json: ["invitation": Self.b64(invitation.encoded)], key: business.owner, business: business.id)
            #expect(again.status == 200 && again.json["created"] as? Bool == false)

            let joinPath = base + "/invitations/\(invitation.id.hex)/join-request"
            let open = try await client.send(.get, joinPath, key: invitationKey, business: business.id)
            #expect(open.status == 200 && open.json["state"] as? String == "open", "\(open.text)")

            // A's pull waits; the join request wakes it and it says so.
            let box = SigningKey.generate()
            let request = try JoinRequest.make(business: business.id, invitation: invitationKey, box: box, label: "new box", requestedAt: relay.clock.milliseconds)
            async let waiting = client.pull(as: a, business: business.id, wait: 20)
            try await RelayHTTPTests.untilParked(relay, business.id)
            let asked = try await client.send(.post, joinPath, json: ["join_request": Self.b64(request.encoded)], key: invitationKey, business: business.id)
            #expect(asked.status == 201, "\(asked.text)")
            #expect(asked.json["state"] as? String == "pending")
            let woken = try await waiting
            #expect(woken.status == 200)
            #expect(woken.json["join_requests"] as? Int == 1)
            #expect(woken.envelopes.isEmpty)

            // The same box asking again is answered with the state; another box is refused.
            let retry = try await client.send(.post, joinPath, json: ["join_request": Self.b64(request.encoded)], key: invitationKey, business: business.id)
            #expect(retry.status == 200 && retry.json["created"] as? Bool == false)
            let rival = try JoinRequest.make(business: business.id, invitation: invitationKey, box: .generate(), label: "rival", requestedAt: relay.clock.milliseconds)
            let taken = try await client.send(.post, joinPath, json: ["join_request": Self.b64(rival.encoded)], key: invitationKey, business: business.id)
            #expect(taken.status == 409 && taken.problemKind == "invitation_used", "\(taken.text)")

            // The owner lists it; a box may not.
            let listed = try await client.send(.get, base + "/join-requests", key: business.owner, business: business.id)
            let items = listed.json["join_requests"] as? [[String: Any]] ?? []
            #expect(items.count == 1)
            #expect(items.first?["join_request"] as? String == Self.b64(request.encoded))
            #expect(items.first?["invitation_record"] as? String == Self.b64(invitation.encoded))
            #expect(items.first?["box"] as? String == SiteID(publicKey: box.publicKey).hex)
            #expect(try await client.send(.get, base + "/join-requests", key: a.key, business: business.id).problemKind == "forbidden")

            // The box waits for the answer; the owner approves with a certificate for that box.
            async let answer = client.send(.get, joinPath + "?wait_seconds=20", key: invitationKey, business: business.id)
            try await RelayHTTPTests.untilParked(relay, business.id)   // the status request waits on the business's notifications too
            let certificate = try Certificate.issue(by: business.owner, for: box.publicKey, role: "box", branch: invitation.branch,
                                                    notBefore: relay.clock.milliseconds - 60_000, notAfter: relay.clock.milliseconds + 86_400_000)
            let wrongBox = try Certificate.issue(by: business.owner, for: SigningKey.generate().publicKey, role: "box", branch: "x",
                                                 notBefore: relay.clock.milliseconds - 60_000, notAfter: relay.clock.milliseconds + 86_400_000)
            let decisionPath = base + "/invitations/\(invitation.id.hex)/decision"
            let misdirected = try await client.send(.post, decisionPath, json: ["certificate": Self.b64(wrongBox.encoded)], key: business.owner, business: business.id)
            #expect(misdirected.status == 422 && misdirected.problemKind == "invalid_certificate", "\(misdirected.text)")
            let byBox = try await client.send(.post, decisionPath, json: ["certificate": Self.b64(certificate.encoded)], key: a.key, business: business.id)
            #expect(byBox.problemKind == "forbidden")
            let both = try await client.send(.post, decisionPath, json: ["certificate": Self.b64(certificate.encoded), "refusal": "x"], key: business.owner, business: business.id)
            #expect(both.problemKind == "malformed_body")
            #expect(try await client.send(.post, decisionPath, json: ["refusal": "no\u{0}pe"], key: business.owner, business: business.id).problemKind == "malformed_body")
            let approved = try await client.send(.post, decisionPath, json: ["certificate": Self.b64(certificate.encoded)], key: business.owner, business: business.id)
            #expect(approved.status == 200 && approved.json["state"] as? String == "approved", "\(approved.text)")
            let status = try await answer
            #expect(status.json["state"] as? String == "approved")
            #expect(status.json["certificate"] as? String == Self.b64(certificate.encoded))
            // Approving again with the same certificate is harmless; refusing now is not.
            #expect(try await client.send(.post, decisionPath, json: ["certificate": Self.b64(certificate.encoded)], key: business.owner, business: business.id).status == 200)
            let late = try await client.send(.post, decisionPath, json: ["refusal": "changed my mind"], key: business.owner, business: business.id)
            #expect(late.status == 409 && late.problemKind == "invitation_used")
            // The new box is enrolled: it may pull with its own key.
            let pulled = try await client.send(.post, base + "/pull", json: API.pull(), key: box, business: business.id)
            #expect(pulled.status == 200, "\(pulled.text)")
            // The invitation key opens no other door.
            let sneaky = try await client.send(.post, base + "/pull", json: API.pull(), key: invitationKey, business: business.id)
            #expect(sneaky.status == 401 && sneaky.problemKind == "unknown_principal")
            #expect(try await client.send(.get, base + "/join-requests", key: invitationKey, business: business.id).problemKind == "unknown_principal")
        }
    }

    @Test("expired, foreign, forged and misdirected invitations and join requests are refused with specific errors and change nothing",
          arguments: StorageKind.available)
    func refusals(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let business = TestBusiness(), other = TestBusiness()
            let a = business.box()
            try await client.setUp(business, boxes: [a])
            try await client.setUp(other, boxes: [])
            let base = API.base(business.id)
            func register(_ invitation: Invitation, as key: SigningKey, in target: BusinessID = business.id) async throws -> RelayTestClient.Reply {
                try await client.send(.post, API.base(target) + "/invitations", json: ["invitation": Self.b64(invitation.encoded)], key: key, business: target)
            }
            // Only the owner registers; only this business's owner's invitations; not expired; not tampered.
            let (invitation, invitationKey) = business.invitation(now: relay.clock.milliseconds, hours: 1)
            #expect(try await register(invitation, as: a.key).problemKind == "forbidden")
            let (foreign, _) = other.invitation(now: relay.clock.milliseconds)
            let wrong = try await register(foreign, as: business.owner)
            #expect(wrong.status == 422 && wrong.problemKind == "wrong_business")
            let (stale, _) = business.invitation(now: relay.clock.milliseconds - 2 * 3_600_000, hours: 1)
            let expired = try await register(stale, as: business.owner)
            #expect(expired.status == 403 && expired.problemKind == "invitation_expired")
            var tampered = invitation.encoded
            tampered[90] ^= 0x01
            let forged = try await client.send(.post, base + "/invitations", json: ["invitation": Self.b64(tampered)], key: business.owner, business: business.id)
            #expect(forged.status == 422 && forged.problemKind == "invalid_invitation")
            #expect(try await register(invitation, as: business.owner).status == 201)

            let joinPath = base + "/invitations/\(invitation.id.hex)/join-request"
            let box = SigningKey.generate()
            let request = try JoinRequest.make(business: business.id, invitation: invitationKey, box: box, label: "", requestedAt: relay.clock.milliseconds)
            // Signed with a key that is not the invitation's (the header claims the invitation's site).
            let body = Array(try JSONSerialization.data(withJSONObject: ["join_request": Self.b64(request.encoded)], options: [.sortedKeys]))
            let impostor = RelayRequestSignature.sign(method: "POST", path: joinPath, body: body, business: business.id, key: .generate(), timestamp: relay.clock.milliseconds)
            let claimed = RelayRequestSignature(business: business.id, site: invitation.id, timestamp: impostor.timestamp, nonce: impostor.nonce, signature: impostor.signature)
            let badSignature = try await client.send(.post, joinPath, rawBody: body, authorization: claimed.headerValue)
            #expect(badSignature.status == 401 && badSignature.problemKind == "bad_signature")
            // A join request signed by another invitation key, sent under this invitation.
            let (_, otherKey) = business.invitation(now: relay.clock.milliseconds)
            let misfiled = try JoinRequest.make(business: business.id, invitation: otherKey, box: box, label: "", requestedAt: relay.clock.milliseconds)
            let mismatch = try await client.send(.post, joinPath, json: ["join_request": Self.b64(misfiled.encoded)], key: invitationKey, business: business.id)
            #expect(mismatch.status == 422 && mismatch.problemKind == "invalid_join_request")
            // A join request whose signature does not verify.
            var broken = request.encoded
            broken[broken.count - 1] ^= 0x01
            let unverified = try await client.send(.post, joinPath, json: ["join_request": Self.b64(broken)], key: invitationKey, business: business.id)
            #expect(unverified.problemKind == "invalid_join_request")
            // The invitation sent to another business's path: that business knows no such invitation.
            let elsewhere = try await client.send(.post, API.base(other.id) + "/invitations/\(invitation.id.hex)/join-request",
                                                  json: ["join_request": Self.b64(request.encoded)], key: invitationKey, business: other.id)
            #expect(elsewhere.status == 401 && elsewhere.problemKind == "unknown_principal")
            // A join request naming another business, under this invitation.
            let foreignRequest = try JoinRequest.make(business: other.id, invitation: invitationKey, box: box, label: "", requestedAt: relay.clock.milliseconds)
            let foreignReply = try await client.send(.post, joinPath, json: ["join_request": Self.b64(foreignRequest.encoded)], key: invitationKey, business: business.id)
            #expect(foreignReply.status == 422 && foreignReply.problemKind == "wrong_business")
            #expect(try await relay.invitation(invitation.id, business.id)?.state == .open, "a refused request changed the invitation")
            // The owner cannot answer a request that was never made.
            let premature = try await client.send(.post, base + "/invitations/\(invitation.id.hex)/decision", json: ["refusal": "no"], key: business.owner, business: business.id)
            #expect(premature.status == 404)
            // Bad invitation ids in the path.
            #expect(try await client.send(.get, base + "/invitations/XYZ/join-request", key: invitationKey, business: business.id).status == 404)
            // After the invitation expired, no join request is taken.
            relay.clock.advance(milliseconds: 2 * 3_600_000)
            let late = try await client.send(.post, joinPath, json: ["join_request": Self.b64(request.encoded)], key: invitationKey, business: business.id,
                                             timestamp: relay.clock.milliseconds)
            #expect(late.status == 403 && late.problemKind == "invitation_expired", "\(late.text)")
            let wrongMethod = try await client.send(.delete, joinPath, key: invitationKey, business: business.id)
            #expect(wrongMethod.status == 405)
        }
    }

    @Test("a box uploads its sealed snapshot; boxes read it and its header, also in a pull; others' or stale or oversized snapshots are refused",
          arguments: StorageKind.available)
    func snapshots(kind: StorageKind) async throws {
        var limits = RelayLimits()
        limits.maxSnapshotBytes = 4096
        try await live(kind, limits: limits) { relay in
            let client = relay.client()
            let business = TestBusiness(), other = TestBusiness()
            let a = business.box(), b = business.box(), stranger = other.box()
            try await client.setUp(business, boxes: [a, b])
            try await client.setUp(other, boxes: [stranger])
            let base = API.base(business.id)
            let missing = try await client.send(.get, base + "/snapshot", key: a.key, business: business.id)
            #expect(missing.status == 404 && missing.problemKind == "no_snapshot")
            let emptyInfo = try await client.send(.get, base + "/snapshot/info", key: a.key, business: business.id)
            #expect(emptyInfo.status == 200 && emptyInfo.json["snapshot"] is NSNull, "\(emptyInfo.text)")

            let envelopes = (0..<3).map { _ in a.nextEnvelope(dataKey: RelayHTTPTests.dataKey) }
            _ = try await client.push(envelopes, as: a, business: business.id)
            let snapshot = sealedSnapshot(of: a, business: business, vector: VersionVector([a.site: 3]))
            func upload(_ bytes: [UInt8], as key: SigningKey) async throws -> RelayTestClient.Reply {
                try await client.send(.put, base + "/snapshot", rawBody: bytes, key: key, business: business.id)
            }
            let stored = try await upload(snapshot.bytes, as: a.key)
            #expect(stored.status == 201, "\(stored.text)")
            #expect(stored.json["producer"] as? String == a.site.hex)
            let fetched = try await client.send(.get, base + "/snapshot", key: b.key, business: business.id)
            #expect(fetched.status == 200 && fetched.body == snapshot.bytes)
            #expect(fetched.headers[.contentType] == "application/octet-stream")
            let info = try await client.send(.get, base + "/snapshot/info", key: b.key, business: business.id)
            let meta = info.json["snapshot"] as? [String: Any]
            #expect(meta?["producer"] as? String == a.site.hex && meta?["bytes"] as? Int == snapshot.bytes.count)
            #expect(meta?["vector"] as? String == Self.b64(VersionVector([a.site: 3]).encode()))
            #expect(info.json["available"] as? String == Self.b64(VersionVector([a.site: 3]).encode()))
            let pulled = try await client.pull(as: b, business: business.id)
            #expect((pulled.json["snapshot"] as? [String: Any])?["producer"] as? String == a.site.hex)
            #expect(pulled.json["join_requests"] as? Int == 0)
            #expect(pulled.json["compaction"] as? String == Self.b64(VersionVector().encode()))

            // Refusals.
            let byOwner = try await upload(snapshot.bytes, as: business.owner)
            #expect(byOwner.status == 403 && byOwner.problemKind == "forbidden")
            #expect(try await client.send(.get, base + "/snapshot", key: business.owner, business: business.id).problemKind == "forbidden")
            let notOwn = try await upload(snapshot.bytes, as: b.key)
            #expect(notOwn.status == 422 && notOwn.problemKind == "invalid_snapshot", "\(notOwn.text)")
            var resigned = Array(snapshot.signedPart)
            resigned += b.key.sign(resigned)
            let forged = try await upload(resigned, as: a.key)
            #expect(forged.problemKind == "invalid_snapshot")
            let foreign = sealedSnapshot(of: a, business: other, vector: VersionVector([a.site: 9]))
            #expect(try await upload(foreign.bytes, as: a.key).problemKind == "wrong_business")
            let olderSnapshot = sealedSnapshot(of: b, business: business, vector: VersionVector([a.site: 2]))
            let older = try await upload(olderSnapshot.bytes, as: b.key)
            #expect(older.status == 409 && older.problemKind == "stale_snapshot")
            let big = sealedSnapshot(of: b, business: business, vector: VersionVector([a.site: 3, b.site: 1]), size: 5000)
            #expect(try await upload(big.bytes, as: b.key).status == 413)
            #expect(try await upload([1, 2, 3], as: b.key).problemKind == "invalid_snapshot")
            let byStranger = try await client.send(.put, base + "/snapshot", rawBody: snapshot.bytes, key: stranger.key, business: business.id)
            #expect(byStranger.status == 401)
            #expect(try await client.send(.get, base + "/snapshot", key: b.key, business: business.id).body == snapshot.bytes, "a refused upload changed the snapshot")
            #expect(try await client.send(.post, base + "/snapshot", rawBody: [], key: b.key, business: business.id).status == 405)
        }
    }
}
