// Over 600 lines on purpose: the relay's HTTP contract (relay-protocol §5–§10) as one suite of
// scenarios over real HTTP on both storages, in the order the protocol document tells them.
import Foundation
import HTTPTypes
import PostgresNIO
import Prometheus
import Testing
@testable import Relay
@testable import Replication
import TestSupport

/// The relay over real HTTP on loopback, against SQLite and PostgreSQL.
@Suite("Relay over HTTP")
struct RelayHTTPTests {
    static let dataKey = DataKey(id: DataKeyID(1), bytes: [UInt8](repeating: 8, count: 32))!

    /// Starts a relay over a fresh store of `kind` and runs `body`.
    @Test("two boxes of a business exchange encrypted changesets through the relay", arguments: StorageKind.available)
    func exchange(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box(branch: "Satpayev St"), b = business.box(branch: "Azattyk Ave")
            try await client.setUp(business, boxes: [a])
            // B enrols itself: the request is signed with the key of the certificate it brings.
            let selfEnrolled = try await client.send(.post, API.base(business.id) + "/certificates",
                                                     json: ["certificate": Data(b.certificate.encoded).base64EncodedString()], key: b.key, business: business.id)
            #expect(selfEnrolled.status == 201)
            #expect(selfEnrolled.json["branch"] as? String == "Azattyk Ave")

            // The owner seals the data key to B; B fetches and opens it.
            let sealed = try SealedDataKey.seal(Self.dataKey, business: business.id, to: b.key.publicKey, sealer: business.owner)
            let uploaded = try await client.send(.post, API.base(business.id) + "/data-keys", json: ["sealed_key": Data(sealed.bytes).base64EncodedString()],
                                                 key: business.owner, business: business.id)
            #expect(uploaded.status == 201, "\(uploaded.text)")
            let fetched = try await client.send(.get, API.base(business.id) + "/data-keys?key_id=1", key: b.key, business: business.id)
            #expect(fetched.status == 200, "\(fetched.text)")
            let fetchedKey = try #require((fetched.json["sealed_keys"] as? [String])?.first.flatMap { Data(base64Encoded: $0) })
            let keyring = DataKeyring([try SealedDataKey.decode(Array(fetchedKey)).open(with: b.key)])

            let envelopes = (0..<3).map { _ in a.nextEnvelope(dataKey: Self.dataKey) }
            let pushed = try await client.push(envelopes, as: a, business: business.id)
            #expect(pushed.status == 200, "\(pushed.text)")
            #expect(pushed.statuses == ["stored", "stored", "stored"])
            #expect(pushed.json["stored"] as? Int == 3)

            let pulled = try await client.pull(as: b, business: business.id)
            #expect(pulled.status == 200)
            #expect(pulled.envelopes == envelopes.map(\.bytes))
            #expect(pulled.json["more"] as? Bool == false)
            for bytes in pulled.envelopes {
                let changeset = try RelayEnvelope.decode(bytes).openChangeset(authorKey: a.key.publicKey, keyring: keyring)
                #expect(changeset.changeset.rows.first?.cells.first?.value == .text("Aigerim Sultanova"))
            }
            // In bounded batches: two, then the rest.
            let first = try await client.pull(as: b, business: business.id, limit: 2)
            #expect(first.envelopes.count == 2)
            #expect(first.json["more"] as? Bool == true)
            let rest = try await client.pull(as: b, business: business.id, vector: VersionVector([a.site: 2]), limit: 2)
            #expect(rest.envelopes == [envelopes[2].bytes])
            #expect(rest.json["more"] as? Bool == false)
            let available = try VersionVector.decode(Array(try #require(Data(base64Encoded: rest.json["available"] as? String ?? ""))))
            #expect(available == VersionVector([a.site: 3]))

            // A duplicate push is acknowledged and ignored; another box may forward A's envelopes.
            let again = try await client.push(envelopes, as: b, business: business.id)
            #expect(again.statuses == ["duplicate", "duplicate", "duplicate"])
        }
    }

    @Test("a waiting pull hears of a push", arguments: StorageKind.available)
    func longPoll(kind: StorageKind) async throws {
        try await live(kind, limits: Self.wakeLimits) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box(), b = business.box()
            try await client.setUp(business, boxes: [a, b])
            let envelope = a.nextEnvelope(dataKey: Self.dataKey)
            let waiting = Task { try await client.pull(as: b, business: business.id, wait: 300) }
            // Only a push after the pull parked proves the wake-up.
            try await Self.untilParked(relay, business.id)
            let pushed = try await client.push([envelope], as: a, business: business.id)
            #expect(pushed.statuses == ["stored"])
            let reply = try await Self.woken(waiting)
            #expect(reply.envelopes == [envelope.bytes])
        }
    }

    /// Waits until a pull of `business` is parked in its long-poll.
    static func untilParked(_ relay: any RelayHandle, _ business: BusinessID) async throws {
        try await eventually("a pull parked at the relay", timeout: .seconds(120), every: .milliseconds(5)) { relay.waitingPulls(business) > 0 }
    }

    /// Limits that let a pull wait 300 s, so that one still unanswered after `woken`'s deadline
    /// was certainly not woken.
    static let wakeLimits: RelayLimits = {
        var limits = RelayLimits()
        limits.maxWaitSeconds = 300
        return limits
    }()

    /// The answer of a parked pull (asked with a 300 s wait, under `wakeLimits`) that something
    /// should wake: one still waiting after 45 s was not woken (it would answer only at the end
    /// of its wait).
    static func woken<T: Sendable>(_ pull: Task<T, any Error>) async throws -> T {
        try await withTimeout(.seconds(45), "the parked pull waking (it would answer only at the end of its 300 s wait)") { try await pull.value }
    }

    @Test("a waiting pull wakes when a new box enrols, and when a box is revoked (the key holder acts at once)", arguments: StorageKind.available)
    func longPollWakesOnEnrolmentAndRevocation(kind: StorageKind) async throws {
        try await live(kind, limits: Self.wakeLimits) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box(), c = business.box()
            try await client.setUp(business, boxes: [a])
            let waiting = Task { try await client.pull(as: a, business: business.id, wait: 300) }
            // The pull has read the business's membership once it parks: what changes after that wakes it.
            try await Self.untilParked(relay, business.id)
            // C enrols itself.
            let enrolled = try await client.send(.post, API.base(business.id) + "/certificates", json: ["certificate": Data(c.certificate.encoded).base64EncodedString()],
                                                 key: c.key, business: business.id)
            #expect(enrolled.status == 201, "\(enrolled.text)")
            let reply = try await Self.woken(waiting)
            #expect(reply.status == 200 && reply.envelopes.isEmpty)

            let second = Task { try await client.pull(as: a, business: business.id, wait: 300) }
            try await Self.untilParked(relay, business.id)
            let revocation = business.revocation(of: c, from: relay.clock.milliseconds - 1000)
            let posted = try await client.send(.post, API.base(business.id) + "/revocations", json: ["revocation": Data(revocation.encoded).base64EncodedString()],
                                               key: business.owner, business: business.id)
            #expect(posted.status == 201, "\(posted.text)")
            #expect(try await Self.woken(second).status == 200)
        }
    }

    /// Sends a request head (POST, or PUT for the snapshot) declaring `declared` bytes of body and only the first 1,000 of them over a
    /// raw socket; returns the answer's status line if one arrives within `seconds`, else nil.
    static func answerBeforeTheBody(port: Int, path: String, authorization: String?, declared: Int, seconds: Int) throws -> String? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TimeoutError(what: "socket") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { throw TimeoutError(what: "connect to the relay") }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var head = "\(path.hasSuffix("/snapshot") ? "PUT" : "POST") \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(declared)\r\n"
        if let authorization { head += "Authorization: \(authorization)\r\n" }
        let bytes = Array((head + "\r\n").utf8) + [UInt8](repeating: UInt8(ascii: " "), count: 1000)
        guard send(descriptor, bytes, bytes.count, 0) == bytes.count else { throw TimeoutError(what: "send") }
        var answer = [UInt8](repeating: 0, count: 512)
        let received = recv(descriptor, &answer, answer.count, 0)
        guard received > 0 else { return nil }
        return String(decoding: answer[..<received], as: UTF8.self).components(separatedBy: "\r\n").first
    }

    @Test("a push or snapshot upload that cannot be authenticated is refused before its body is read; a known box's is read", arguments: [StorageKind.sqlite])
    func refusedBeforeTheBody(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let business = TestBusiness(), stranger = TestBusiness()
            let a = business.box()
            try await client.setUp(business, boxes: [a])
            let port = client.port
            let push = API.base(business.id) + "/envelopes"
            func header(_ key: SigningKey, _ signer: BusinessID, timestamp: Int64? = nil) -> String {
                RelayRequestSignature.sign(method: "POST", path: push, query: "", body: [], business: signer, key: key,
                                           timestamp: timestamp ?? relay.clock.milliseconds, nonce: Sodium.randomBytes(16)).headerValue
            }
            let refused: [(String, String?, String)] = [
                ("no signature", nil, "401"),
                ("not the signature scheme", "Basic dXNlcjpwYXNz", "401"),
                ("a box the relay does not know", header(stranger.box().key, business.id), "401"),
                ("a stale timestamp", header(a.key, business.id, timestamp: relay.clock.milliseconds - 3_600_000), "401"),
                ("another business's box", header(a.key, business.id).replacingOccurrences(of: business.id.hex, with: stranger.id.hex), "401"),
            ]
            for (what, authorization, status) in refused {
                for path in [push, API.base(business.id) + "/snapshot"] where path == push || authorization == nil {
                    let line = try await offPool { try Self.answerBeforeTheBody(port: port, path: path, authorization: authorization, declared: 10_000_000, seconds: 10) }
                    #expect(line?.hasPrefix("HTTP/1.1 \(status)") == true, "\(what) at \(path): \(line ?? "no answer before the body")")
                }
            }
            // A known box's push is read (and then judged on its signature): no answer before the body.
            let knownHeader = header(a.key, business.id)
            let known = try await offPool { try Self.answerBeforeTheBody(port: port, path: push, authorization: knownHeader, declared: 10_000_000, seconds: 2) }
            #expect(known == nil, "\(known ?? "")")
        }
    }

    @Test("a pull that names the counts it saw answers at once when the membership or the join requests changed since, even before it started; it waits when they did not")
    func pullWithSeenCounts() async throws {
        try await live(.sqlite, limits: Self.wakeLimits) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box(), c = business.box()
            try await client.setUp(business, boxes: [a])
            @Sendable func pull(_ extra: [String: Int], wait: Int) async throws -> RelayTestClient.Reply {
                var body = API.pull(wait: wait)
                body.merge(extra.mapValues { $0 as Any }) { $1 }
                return try await client.send(.post, API.base(business.id) + "/pull", json: body, key: a.key, business: business.id)
            }
            let first = try await pull([:], wait: 0)
            let seen = try #require(first.json["membership"] as? Int)
            #expect(seen == 1 && first.json["join_requests"] as? Int == 0, "\(first.text)")
            // Nothing changed since: the pull parks (and answers at the end of its wait).
            let unchanged = Task { try await pull(["membership": seen, "join_requests": 0], wait: 2) }
            try await Self.untilParked(relay, business.id)
            #expect(try await unchanged.value.status == 200)
            // C enrols before the next pull starts: the pull that names the old count answers at once.
            let enrolled = try await client.send(.post, API.base(business.id) + "/certificates", json: ["certificate": Data(c.certificate.encoded).base64EncodedString()],
                                                 key: c.key, business: business.id)
            #expect(enrolled.status == 201)
            let changed = try await Self.woken(Task { try await pull(["membership": seen, "join_requests": 0], wait: 300) })
            #expect(changed.json["membership"] as? Int == seen + 1, "\(changed.text)")
            #expect(try await pull(["membership": -1], wait: 0).problemKind == "malformed_body")
            #expect(try await pull(["join_requests": -1], wait: 0).problemKind == "malformed_body")
        }
    }

    @Test("a pull with nothing new waits and then answers empty", arguments: [StorageKind.sqlite])
    func longPollTimeout(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box()
            try await client.setUp(business, boxes: [a])
            let reply = try await client.pull(as: a, business: business.id, wait: 1)
            #expect(reply.status == 200)
            #expect(reply.envelopes.isEmpty)
        }
    }

    // MARK: Adversarial pushes

    @Test("unsigned, forged, tampered, replayed and stale requests are refused with specific errors and store nothing", arguments: StorageKind.available)
    func refusedRequests(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box(), stranger = business.box()
            try await client.setUp(business, boxes: [a])
            let envelope = a.nextEnvelope(dataKey: Self.dataKey)
            let path = API.base(business.id) + "/envelopes"

            let unsigned = try await client.send(.post, path, json: API.push([envelope]))
            #expect(unsigned.status == 401)
            #expect(unsigned.problemKind == "unauthenticated")
            #expect(unsigned.headers[.wwwAuthenticate] == "EdgenodeRelay-Ed25519")

            let garbage = try await client.send(.post, path, json: API.push([envelope]), authorization: "EdgenodeRelay-Ed25519 business=zz")
            #expect(garbage.problemKind == "unauthenticated")

            // Signed by a key that is not the site's: the stranger claims to be A.
            let forgedHeader = RelayRequestSignature.sign(method: "POST", path: path, body: Array(try JSONSerialization.data(withJSONObject: API.push([envelope]), options: [.sortedKeys])),
                                                          business: business.id, key: stranger.key, timestamp: relay.clock.milliseconds)
            let forged = RelayRequestSignature(business: business.id, site: a.site, timestamp: forgedHeader.timestamp, nonce: forgedHeader.nonce, signature: forgedHeader.signature)
            let forgedReply = try await client.send(.post, path, json: API.push([envelope]), authorization: forged.headerValue)
            #expect(forgedReply.status == 401)
            #expect(forgedReply.problemKind == "bad_signature")

            // The body changed after signing.
            let tampered = try await client.send(.post, path, json: API.push([envelope]), key: a.key, business: business.id,
                                                 tamper: { body in body[body.count - 3] ^= 0x01 })
            #expect(tampered.status == 401)
            #expect(tampered.problemKind == "bad_signature")

            // Not enrolled.
            let unknown = try await client.push([envelope], as: stranger, business: business.id)
            #expect(unknown.status == 401)
            #expect(unknown.problemKind == "unknown_principal")

            // Too old, too new.
            for skew in [-600_000, 600_000] as [Int64] {
                let stale = try await client.send(.post, path, json: API.push([envelope]), key: a.key, business: business.id, timestamp: relay.clock.milliseconds + skew)
                #expect(stale.status == 401)
                #expect(stale.problemKind == "stale_request")
            }

            #expect(try await relay.heads(business.id).isEmpty, "a refused request stored something")

            // Replayed: the same signed request (same nonce) twice.
            let nonce = Sodium.randomBytes(16), timestamp = relay.clock.milliseconds
            let first = try await client.send(.post, path, json: API.push([envelope]), key: a.key, business: business.id, timestamp: timestamp, nonce: nonce)
            #expect(first.statuses == ["stored"])
            let replay = try await client.send(.post, path, json: API.push([envelope]), key: a.key, business: business.id, timestamp: timestamp, nonce: nonce)
            #expect(replay.status == 401)
            #expect(replay.problemKind == "replayed_request")
        }
    }

    @Test("forged, tampered, out-of-order, unknown-author, wrong-business and oversized envelopes are refused one by one, nothing stored",
          arguments: StorageKind.available)
    func refusedEnvelopes(kind: StorageKind) async throws {
        var limits = RelayLimits()
        limits.maxEnvelopeBytes = 4096
        try await live(kind, limits: limits) { relay in
            let client = relay.client()
            let business = TestBusiness(), other = TestBusiness()
            let a = business.box(), unenrolled = business.box(), foreign = other.box()
            try await client.setUp(business, boxes: [a])
            try await client.setUp(other, boxes: [foreign])

            let e1 = a.nextEnvelope(dataKey: Self.dataKey), e2 = a.nextEnvelope(dataKey: Self.dataKey)
            var tamperedBytes = e1.bytes
            tamperedBytes[RelayEnvelope.headerLength + 3] ^= 0x01
            // Re-signed by someone else.
            var forgedBytes = Array(e1.signedPart)
            forgedBytes += unenrolled.key.sign(forgedBytes)
            let big = a.nextEnvelope(dataKey: Self.dataKey, padding: 5000) // sequence 3, too large
            let strangerEnvelope = unenrolled.nextEnvelope(dataKey: Self.dataKey)
            let foreignEnvelope = foreign.nextEnvelope(dataKey: Self.dataKey)
            let batch: [[UInt8]] = [tamperedBytes, forgedBytes, e2.bytes, strangerEnvelope.bytes, foreignEnvelope.bytes, big.bytes, [1, 2, 3]]
            let reply = try await client.send(.post, API.base(business.id) + "/envelopes",
                                              json: ["envelopes": batch.map { Data($0).base64EncodedString() }], key: a.key, business: business.id)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.statuses == Array(repeating: "refused", count: 7))
            #expect(reply.reasons == ["bad_signature", "bad_signature", "sequence_gap", "unknown_author", "wrong_business", "too_large", "malformed"])
            #expect(reply.results[2]["expected_sequence"] as? Int == 1)
            #expect(try await relay.heads(business.id).isEmpty)
            #expect(try await relay.heads(other.id).isEmpty)

            // Out of order within a batch is put in order; a chain that skips one is refused from the gap on.
            let ordered = try await client.push([e2, e1], as: a, business: business.id)
            #expect(ordered.statuses == ["stored", "stored"])
            let e4 = a.nextEnvelope(dataKey: Self.dataKey)
            let gap = try await client.push([e4], as: a, business: business.id)
            #expect(gap.reasons == ["sequence_gap"])
            #expect(gap.results.first?["expected_sequence"] as? Int == 3)
        }
    }

    @Test("a revoked author's later envelopes are refused, and the revoked box can no longer call the relay", arguments: StorageKind.available)
    func revokedAuthor(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box(), b = business.box()
            try await client.setUp(business, boxes: [a, b])
            let before = a.nextEnvelope(dataKey: Self.dataKey, sealedAt: relay.clock.milliseconds - 60_000)
            let revocation = business.revocation(of: a, from: relay.clock.milliseconds - 1000)
            let posted = try await client.send(.post, API.base(business.id) + "/revocations", json: ["revocation": Data(revocation.encoded).base64EncodedString()],
                                               key: business.owner, business: business.id)
            #expect(posted.status == 201, "\(posted.text)")
            let after = a.nextEnvelope(dataKey: Self.dataKey, sealedAt: relay.clock.milliseconds)

            // A itself is refused.
            let own = try await client.push([before], as: a, business: business.id)
            #expect(own.status == 403)
            #expect(own.problemKind == "revoked")
            // B forwards A's envelopes: the one sealed before the revocation is accepted, the later one refused.
            let forwarded = try await client.push([before, after], as: b, business: business.id)
            #expect(forwarded.statuses == ["stored", "refused"])
            #expect(forwarded.reasons == ["-", "author_revoked"])
            // A revoked box cannot be enrolled again, nor receive keys.
            let reenrol = try await client.send(.post, API.base(business.id) + "/certificates", json: ["certificate": Data(a.certificate.encoded).base64EncodedString()],
                                                key: business.owner, business: business.id)
            #expect(reenrol.problemKind == "revoked")
        }
    }

    @Test("a box of one business can neither read, write nor learn of another business", arguments: StorageKind.available)
    func isolation(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let mine = TestBusiness(), theirs = TestBusiness(), nobody = TestBusiness()
            let a = mine.box(), b = theirs.box()
            try await client.setUp(mine, boxes: [a])
            try await client.setUp(theirs, boxes: [b])
            let secret = b.nextEnvelope(dataKey: Self.dataKey)
            #expect(try await client.push([secret], as: b, business: theirs.id).statuses == ["stored"])

            // Signed as a member of my business, asking about theirs / nobody's: the same 404.
            for (method, suffix, body) in [(HTTPRequest.Method.post, "/pull", API.pull()), (.post, "/envelopes", API.push([a.nextEnvelope(dataKey: Self.dataKey)])),
                                           (.post, "/acknowledgements", API.pull()), (.get, "/data-keys", nil)] as [(HTTPRequest.Method, String, [String: Any]?)] {
                let existing = try await client.send(method, API.base(theirs.id) + suffix, json: body, key: a.key, business: mine.id)
                let missing = try await client.send(method, API.base(nobody.id) + suffix, json: body, key: a.key, business: mine.id)
                #expect(existing.status == 404, "\(suffix): \(existing.text)")
                #expect(existing.problemKind == "not_found")
                #expect(existing.text.replacingOccurrences(of: theirs.id.hex, with: "X") == missing.text.replacingOccurrences(of: nobody.id.hex, with: "X"))
            }
            // Claiming membership of their business: the same 401 as for a business that does not exist.
            let claimed = try await client.send(.post, API.base(theirs.id) + "/pull", json: API.pull(), key: a.key, business: theirs.id)
            let claimedNobody = try await client.send(.post, API.base(nobody.id) + "/pull", json: API.pull(), key: a.key, business: nobody.id)
            #expect(claimed.status == 401)
            #expect(claimed.problemKind == "unknown_principal")
            #expect(claimed.text.replacingOccurrences(of: theirs.id.hex, with: "X") == claimedNobody.text.replacingOccurrences(of: nobody.id.hex, with: "X"))
            // Their envelope pushed into my business is refused and nothing of theirs leaks into my pulls.
            let smuggled = try await client.push([secret], as: a, business: mine.id)
            #expect(smuggled.reasons == ["wrong_business"])
            #expect(try await client.pull(as: a, business: mine.id).envelopes.isEmpty)
            // Their certificate cannot be enrolled in my business.
            let wrongCertificate = try await client.send(.post, API.base(mine.id) + "/certificates", json: ["certificate": Data(b.certificate.encoded).base64EncodedString()],
                                                         key: mine.owner, business: mine.id)
            #expect(wrongCertificate.status == 422)
            #expect(wrongCertificate.problemKind == "wrong_business")
        }
    }

    @Test("oversized bodies and batches are refused with 413", arguments: [StorageKind.sqlite])
    func oversized(kind: StorageKind) async throws {
        var limits = RelayLimits()
        limits.maxBatchCount = 3
        limits.maxBatchBytes = 4000
        try await live(kind, limits: limits) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box()
            try await client.setUp(business, boxes: [a])
            let many = (0..<4).map { _ in a.nextEnvelope(dataKey: Self.dataKey) }
            let tooMany = try await client.push(many, as: a, business: business.id)
            #expect(tooMany.status == 413)
            #expect(tooMany.problemKind == "batch_too_large")
            let heavy = (0..<3).map { _ in a.nextEnvelope(dataKey: Self.dataKey, padding: 1500) }
            let tooHeavy = try await client.push(heavy, as: a, business: business.id)
            #expect(tooHeavy.status == 413)
            #expect(tooHeavy.problemKind == "batch_too_large")
            let body = try await client.send(.post, API.base(business.id) + "/pull", rawBody: [UInt8](repeating: 0x20, count: 100_000), key: a.key, business: business.id)
            #expect(body.status == 413)
            #expect(body.problemKind == "body_too_large")
            #expect(try await relay.heads(business.id).isEmpty)
        }
    }

    @Test("bad JSON, unknown paths and wrong methods are client errors, never 5xx", arguments: [StorageKind.sqlite])
    func badInput(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box()
            try await client.setUp(business, boxes: [a])
            let base = API.base(business.id)
            let cases: [(HTTPRequest.Method, String, [UInt8], Int, String)] = [
                (.post, base + "/pull", Array("{".utf8), 400, "malformed_body"),
                (.post, base + "/pull", Array(#"{"vector":"!!"}"#.utf8), 400, "malformed_body"),
                (.post, base + "/pull", Array(#"{"vector":"AQ=="}"#.utf8), 400, "malformed_body"),
                (.post, base + "/pull", Array(#"{"vector":"AA==","wait_seconds":99}"#.utf8), 400, "malformed_body"),
                (.post, base + "/envelopes", Array(#"{"envelopes":"x"}"#.utf8), 400, "malformed_body"),
                (.post, base + "/envelopes", Array(#"{"envelopes":["%%%"]}"#.utf8), 400, "malformed_body"),
                (.post, base + "/nothing", [], 404, "not_found"),
                (.post, "/v1/businesses/XYZ/pull", [], 404, "not_found"),
                (.delete, base + "/envelopes", [], 405, "method_not_allowed"),
            ]
            for (method, path, body, status, kind) in cases {
                let reply = try await client.send(method, path, rawBody: body, key: a.key, business: business.id)
                #expect(reply.status == status, "\(method) \(path) \(String(decoding: body, as: UTF8.self)): \(reply.text)")
                #expect(reply.problemKind == kind, "\(path): \(reply.text)")
                #expect(reply.headers[.contentType] == "application/problem+json")
            }
            let deleted = try await client.send(.delete, base + "/data-keys", key: a.key, business: business.id)
            #expect(deleted.headers[.allow] == "GET, POST")
            let getKeys = try await client.send(.get, base + "/data-keys?key_id=0", key: a.key, business: business.id)
            #expect(getKeys.problemKind == "invalid_parameter")
            let registration = try await client.send(.post, "/v1/businesses", rawBody: Array(#"{"owner_key":"00"}"#.utf8))
            #expect(registration.status == 400)
            let health = try await client.send(.get, "/v1/health")
            #expect(health.status == 200)
        }
    }

    @Test("registration needs the owner's signature over a recent time and is idempotent", arguments: [StorageKind.sqlite])
    func registration(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let business = TestBusiness(), impostor = TestBusiness()
            var forged = API.register(business, timestamp: relay.clock.milliseconds)
            forged["signature"] = RelayRegistrationProof.sign(owner: impostor.owner, timestamp: relay.clock.milliseconds).hexString
            let refused = try await client.send(.post, "/v1/businesses", json: forged)
            #expect(refused.status == 422)
            #expect(refused.problemKind == "invalid_registration")
            let stale = try await client.send(.post, "/v1/businesses", json: API.register(business, timestamp: relay.clock.milliseconds - 3_600_000))
            #expect(stale.problemKind == "stale_request")
            // Timestamps at the ends of the range are refused, not a crash.
            for extreme in [Int64.min, Int64.max] {
                let reply = try await client.send(.post, "/v1/businesses", json: API.register(business, timestamp: extreme))
                #expect(reply.problemKind == "stale_request")
            }
            let created = try await client.send(.post, "/v1/businesses", json: API.register(business, timestamp: relay.clock.milliseconds))
            #expect(created.status == 201)
            #expect(created.json["business"] as? String == business.id.hex)
            let again = try await client.send(.post, "/v1/businesses", json: API.register(business, timestamp: relay.clock.milliseconds))
            #expect(again.status == 200)
            #expect(again.json["created"] as? Bool == false)
        }
    }

    @Test("a box enrols only itself; only the owner enrols others", arguments: [StorageKind.sqlite])
    func enrolment(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box(), b = business.box(), c = business.box()
            try await client.setUp(business, boxes: [a])
            let byA = try await client.send(.post, API.base(business.id) + "/certificates", json: ["certificate": Data(b.certificate.encoded).base64EncodedString()],
                                            key: a.key, business: business.id)
            #expect(byA.status == 403)
            #expect(byA.problemKind == "forbidden")
            // C signs but brings B's certificate: C is not enrolled and is not B.
            let byC = try await client.send(.post, API.base(business.id) + "/certificates", json: ["certificate": Data(b.certificate.encoded).base64EncodedString()],
                                            key: c.key, business: business.id)
            #expect(byC.problemKind == "unknown_principal")
            let garbage = try await client.send(.post, API.base(business.id) + "/certificates", json: ["certificate": "AAAA"], key: business.owner, business: business.id)
            #expect(garbage.problemKind == "invalid_certificate")
            let expired = business.box(notBefore: 0, notAfter: 1000)
            let late = try await client.send(.post, API.base(business.id) + "/certificates", json: ["certificate": Data(expired.certificate.encoded).base64EncodedString()],
                                             key: business.owner, business: business.id)
            #expect(late.problemKind == "not_valid")
        }
    }

    @Test("sealed keys: only the owner or a box uploads them, only to enrolled boxes, and each box fetches only its own", arguments: [StorageKind.sqlite])
    func dataKeys(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box(), b = business.box(), outsider = business.box()
            try await client.setUp(business, boxes: [a, b])
            func upload(_ sealed: SealedDataKey, by key: SigningKey) async throws -> RelayTestClient.Reply {
                try await client.send(.post, API.base(business.id) + "/data-keys", json: ["sealed_key": Data(sealed.bytes).base64EncodedString()], key: key, business: business.id)
            }
            // A box that holds the key seals it to another box (rotation after a revocation, say).
            let rotated = DataKey.generate(id: DataKeyID(2))
            #expect(try await upload(try SealedDataKey.seal(rotated, business: business.id, to: b.key.publicKey, sealer: a.key), by: a.key).status == 201)
            // Signed by A but sealed by the owner: refused (the sealer must be the requester).
            let mismatched = try await upload(try SealedDataKey.seal(rotated, business: business.id, to: b.key.publicKey, sealer: business.owner), by: a.key)
            #expect(mismatched.problemKind == "invalid_sealed_key")
            // To a box that is not enrolled.
            let toOutsider = try await upload(try SealedDataKey.seal(rotated, business: business.id, to: outsider.key.publicKey, sealer: business.owner), by: business.owner)
            #expect(toOutsider.problemKind == "invalid_sealed_key")
            // A fetches: nothing is addressed to it.
            let forA = try await client.send(.get, API.base(business.id) + "/data-keys", key: a.key, business: business.id)
            #expect((forA.json["sealed_keys"] as? [String]) == [])
            let forB = try await client.send(.get, API.base(business.id) + "/data-keys", key: b.key, business: business.id)
            let sealed = try #require((forB.json["sealed_keys"] as? [String])?.first.flatMap { Data(base64Encoded: $0) })
            #expect(try SealedDataKey.decode(Array(sealed)).open(with: b.key) == rotated)
            // The owner does not fetch keys.
            let byOwner = try await client.send(.get, API.base(business.id) + "/data-keys", key: business.owner, business: business.id)
            #expect(byOwner.problemKind == "forbidden")
            // After B is revoked its keys are gone and it cannot ask.
            let revocation = business.revocation(of: b, from: relay.clock.milliseconds - 1)
            _ = try await client.send(.post, API.base(business.id) + "/revocations", json: ["revocation": Data(revocation.encoded).base64EncodedString()],
                                      key: a.key, business: business.id)
            #expect(try await relay.sealedKeys(business.id, recipient: b.site).isEmpty)
        }
    }

    @Test("acknowledgements let the relay compact what every box has", arguments: StorageKind.available)
    func compaction(kind: StorageKind) async throws {
        try await live(kind) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box(), b = business.box(), c = business.box()
            try await client.setUp(business, boxes: [a, b, c])
            let envelopes = (0..<5).map { _ in a.nextEnvelope(dataKey: Self.dataKey) }
            _ = try await client.push(envelopes, as: a, business: business.id)
            func acknowledge(_ box: TestBox, _ sequence: UInt64) async throws {
                let reply = try await client.send(.post, API.base(business.id) + "/acknowledgements",
                                                  json: ["vector": Data(VersionVector([a.site: sequence]).encode()).base64EncodedString()], key: box.key, business: business.id)
                #expect(reply.status == 200, "\(reply.text)")
            }
            try await acknowledge(a, 5)
            try await acknowledge(b, 3)
            #expect(try await relay.compact(business.id) == 0, "C has acknowledged nothing yet")
            try await acknowledge(c, 4)
            #expect(try await relay.compact(business.id) == 3)
            // Revoking C lets the relay compact up to what A and B have.
            let revocation = business.revocation(of: c, from: relay.clock.milliseconds - 1)
            _ = try await client.send(.post, API.base(business.id) + "/revocations", json: ["revocation": Data(revocation.encoded).base64EncodedString()],
                                      key: business.owner, business: business.id)
            try await acknowledge(b, 5)
            #expect(try await relay.compact(business.id) == 2)
            // A box that lacks compacted envelopes is told so, to fetch a snapshot from another box.
            let late = try await client.pull(as: b, business: business.id, vector: VersionVector([a.site: 1]))
            #expect(late.envelopes.isEmpty)
            let compacted = late.json["compacted"] as? [[String: Any]]
            #expect(compacted?.first?["author"] as? String == a.site.hex)
            #expect(compacted?.first?["through"] as? Int == 5)
            // The owner does not acknowledge.
            let byOwner = try await client.send(.post, API.base(business.id) + "/acknowledgements", json: API.pull(), key: business.owner, business: business.id)
            #expect(byOwner.problemKind == "forbidden")
        }
    }

    @Test("a box that sends too fast gets 429 with Retry-After", arguments: [StorageKind.sqlite])
    func rateLimit(kind: StorageKind) async throws {
        var limits = RelayLimits()
        limits.requestBurst = 3
        limits.requestsPerSecond = 0.01
        try await live(kind, limits: limits) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box(), b = business.box()
            try await client.setUp(business, boxes: [a, b]) // owner requests: their own bucket
            var statuses: [Int] = []
            for _ in 0..<4 { statuses.append(try await client.pull(as: a, business: business.id).status) }
            #expect(statuses == [200, 200, 200, 429])
            let limited = try await client.pull(as: a, business: business.id)
            #expect(limited.problemKind == "rate_limited")
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            // Another box is not affected.
            #expect(try await client.pull(as: b, business: business.id).status == 200)
            // Time refills the bucket.
            relay.clock.advance(milliseconds: 200_000)
            #expect(try await client.pull(as: a, business: business.id).status == 200)
        }
    }

    @Test("a flood from one business does not starve another", arguments: [StorageKind.sqlite])
    func fairness(kind: StorageKind) async throws {
        var limits = RelayLimits()
        limits.businessConcurrency = 1
        limits.businessQueue = 2
        let directory = temporaryDirectory()
        let inner = try SQLiteRelayStorage(path: directory + "/relay.sqlite", logger: quietLogger)
        let gated = GatedStorage(inner)
        try await LiveRelay.with(gated, limits: limits) { relay in
            let client = relay.client()
            let flooding = TestBusiness(), quiet = TestBusiness()
            let f = flooding.box(), q = quiet.box()
            try await client.setUp(flooding, boxes: [f])
            try await client.setUp(quiet, boxes: [q])
            gated.hold(flooding.id)
            // The flooding business's pushes block in storage: one runs, two wait, the rest are refused at once.
            let floodEnvelopes = (0..<6).map { _ in f.nextEnvelope(dataKey: Self.dataKey) }
            try await withThrowingTaskGroup(of: (Int, RelayTestClient.Reply).self) { group in
                // Whatever fails below, the held pushes must end, or the group never returns.
                defer { gated.release(flooding.id) }
                for index in 0..<3 {
                    group.addTask { (index, try await client.push([floodEnvelopes[index]], as: f, business: flooding.id)) }
                    try await eventually("the flooding requests are admitted or queued", timeout: .seconds(120), every: .milliseconds(10)) { relay.core.businessLimiter.load(of: flooding.id).running + relay.core.businessLimiter.load(of: flooding.id).waiting == index + 1 }
                }
                var refused: [String?] = []
                for index in 3..<6 {
                    let reply = try await client.push([floodEnvelopes[index]], as: f, business: flooding.id)
                    #expect(reply.status == 429)
                    #expect(reply.headers[.retryAfter] == "1")
                    refused.append(reply.problemKind)
                }
                #expect(refused == ["business_busy", "business_busy", "business_busy"])
                // Meanwhile the quiet business is served.
                let quietReply = try await client.push([q.nextEnvelope(dataKey: Self.dataKey)], as: q, business: quiet.id)
                #expect(quietReply.statuses == ["stored"])
                #expect(try await client.pull(as: q, business: quiet.id).envelopes.count == 1)
                gated.release(flooding.id)
                var flooded: [Int: RelayTestClient.Reply] = [:]
                for try await (index, reply) in group { flooded[index] = reply }
                #expect(flooded.values.allSatisfy { $0.status == 200 })
            }
        }
    }
}

extension RelayHTTPTests {
    @Test("with --metrics, GET /metrics counts envelopes by outcome and reason and problems by kind; without, it is 404")
    func metrics() async throws {
        let registry = PrometheusCollectorRegistry()
        let storage = try SQLiteRelayStorage(path: temporaryDirectory() + "/relay.sqlite", logger: quietLogger)
        try await LiveRelay.with(storage, metrics: registry) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box()
            try await client.setUp(business, boxes: [a])
            let e1 = a.nextEnvelope(dataKey: Self.dataKey), e2 = a.nextEnvelope(dataKey: Self.dataKey), e3 = a.nextEnvelope(dataKey: Self.dataKey)
            _ = try await client.push([e1, e3], as: a, business: business.id)
            _ = try await client.push([e1, e2], as: a, business: business.id)
            _ = try await client.send(.post, API.base(business.id) + "/pull", json: API.pull())
            let text = try await client.send(.get, "/metrics").text
            #expect(text.contains(#"edgenode_relay_envelopes_total{outcome="stored",reason=""} 2"#), "\(text)")
            #expect(text.contains(#"edgenode_relay_envelopes_total{outcome="duplicate",reason=""} 1"#))
            #expect(text.contains(#"edgenode_relay_envelopes_total{outcome="refused",reason="sequence_gap"} 1"#))
            #expect(text.contains(#"edgenode_relay_problems_total{kind="unauthenticated"} 1"#))
        }
        let plain = try SQLiteRelayStorage(path: temporaryDirectory() + "/relay.sqlite", logger: quietLogger)
        try await LiveRelay.with(plain) { relay in
            let reply = try await relay.client().send(.get, "/metrics")
            #expect(reply.status == 404)
            #expect(reply.problemKind == "not_found")
        }
    }
}

/// What the tests ask of a live relay, whatever its storage.

/// Two relay processes over one PostgreSQL database (relay-protocol §9), in-process here.
@Suite("Two relays over one PostgreSQL")
struct MultiRelayTests {
    static let dataKey = DataKey(id: DataKeyID(1), bytes: [UInt8](repeating: 9, count: 32))!

    @Test("a pull waiting on one relay hears of a push to the other; a request replayed to the other relay is refused; chains stay linear",
          .enabled(if: StorageKind.postgresURL != nil))
    func twoRelays() async throws {
        let url = try #require(StorageKind.postgresURL)
        let clock = TestClock()
        let first = PostgresRelayStorage(configuration: try PostgresRelayStorage.configuration(url: url), logger: quietLogger)
        let second = PostgresRelayStorage(configuration: try PostgresRelayStorage.configuration(url: url), logger: quietLogger)
        try await LiveRelay.with(first, limits: RelayHTTPTests.wakeLimits, clock: clock) { one in
            try await LiveRelay.with(second, limits: RelayHTTPTests.wakeLimits, clock: clock) { two in
                let business = TestBusiness()
                let a = business.box(), b = business.box()
                try await one.client().setUp(business, boxes: [a, b])
                let envelope = a.nextEnvelope(dataKey: Self.dataKey)
                let waiting = Task { try await two.client().pull(as: b, business: business.id, wait: 300) }
                try await eventually("a pull parked at the second relay", timeout: .seconds(120), every: .milliseconds(5)) { two.core.notifier.waiting(for: business.id) > 0 }
                #expect(try await one.client().push([envelope], as: a, business: business.id).statuses == ["stored"])
                #expect(try await RelayHTTPTests.woken(waiting).envelopes == [envelope.bytes])

                // The same signed request sent to both relays: the second refuses it.
                let nonce = Sodium.randomBytes(16), timestamp = clock.milliseconds
                let path = API.base(business.id) + "/pull"
                let once = try await one.client().send(.post, path, json: API.pull(), key: b.key, business: business.id, timestamp: timestamp, nonce: nonce)
                #expect(once.status == 200)
                let again = try await two.client().send(.post, path, json: API.pull(), key: b.key, business: business.id, timestamp: timestamp, nonce: nonce)
                #expect(again.problemKind == "replayed_request")

                // Rival second envelopes of one author pushed to both relays at once: one is stored.
                let rivals = try (0..<2).map {
                    try RelayEnvelope.seal([UInt8($0)], business: business.id, author: a.key, sequence: 2, previousHash: envelope.hash,
                                           dataKey: Self.dataKey, sealedAt: clock.milliseconds)
                }
                async let left = one.client().push([rivals[0]], as: a, business: business.id)
                async let right = two.client().push([rivals[1]], as: a, business: business.id)
                let statuses = try await (left.statuses + right.statuses).sorted()
                #expect(statuses == ["refused", "stored"])
                #expect(try await one.heads(business.id).first?.sequence == 2)
            }
        }
    }
}
