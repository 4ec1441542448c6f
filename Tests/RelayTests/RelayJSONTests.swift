import Foundation
import RelayWire
import Testing

/// The relay's JSON bodies (RelayWire) as they travel: the relay's replies byte for byte, the
/// box's requests key for key, and the box still reading a pull answer from a relay that sends
/// only the first keys (§5.5 before snapshots and join requests).
@Suite("Relay wire JSON")
struct RelayJSONTests {
    func reply<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try RelayJSON.replyEncoder.encode(value), as: UTF8.self)
    }

    func request<T: Encodable>(_ value: T) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: RelayJSON.requestEncoder.encode(value)) as? [String: Any])
    }

    @Test("a pull answer sends every key, snapshot as null when there is none, slashes unescaped")
    func pullReply() throws {
        let empty = RelayJSON.PullReply(envelopes: ["a/b="], more: false, available: "AQ==", compacted: [], compaction: "AA==", snapshot: nil,
                                        joinRequests: 0, membership: 2)
        #expect(try reply(empty)
            == #"{"available":"AQ==","compacted":[],"compaction":"AA==","envelopes":["a/b="],"join_requests":0,"membership":2,"more":false,"snapshot":null}"#)
        let snapshot = RelayJSON.SnapshotMeta(producer: "ab", createdAt: 5, keyId: 1, vector: "AA==", bytes: 10, storedAt: 6)
        let full = RelayJSON.PullReply(envelopes: [], more: true, available: "AQ==", compacted: [.init(author: "cd", through: 3)], compaction: "AA==",
                                       snapshot: snapshot, joinRequests: 1, membership: 0)
        #expect(try reply(full) == #"{"available":"AQ==","compacted":[{"author":"cd","through":3}],"compaction":"AA==","envelopes":[],"join_requests":1,"#
            + #""membership":0,"more":true,"snapshot":{"bytes":10,"created_at":5,"key_id":1,"producer":"ab","stored_at":6,"vector":"AA=="}}"#)
    }

    @Test("the other replies: snake_case keys, absent optionals left out, snapshot info with a null snapshot")
    func replies() throws {
        #expect(try reply(RelayJSON.PushReply(results: [.init(index: 0, hash: "ff", status: "stored", reason: nil, detail: nil, expectedSequence: nil),
                                                        .init(index: 1, hash: nil, status: "refused", reason: "gap", detail: "d", expectedSequence: 4)],
                                              stored: 1, duplicates: 0, refused: 1))
            == #"{"duplicates":0,"refused":1,"results":[{"hash":"ff","index":0,"status":"stored"},"#
            + #"{"detail":"d","expected_sequence":4,"index":1,"reason":"gap","status":"refused"}],"stored":1}"#)
        #expect(try reply(RelayJSON.SnapshotInfoReply(snapshot: nil, available: "AQ==", compaction: "AA=="))
            == #"{"available":"AQ==","compaction":"AA==","snapshot":null}"#)
        #expect(try reply(RelayJSON.JoinStatusReply(invitation: "ab", state: "open", notAfter: 9, certificate: nil, refusal: nil, created: nil))
            == #"{"invitation":"ab","not_after":9,"state":"open"}"#)
        #expect(try reply(RelayJSON.SealedKeyReply(recipient: "ab", keyId: 2, created: true)) == #"{"created":true,"key_id":2,"recipient":"ab"}"#)
        #expect(try reply(RelayJSON.PendingJoinRequestsReply(joinRequests: [.init(invitation: "ab", invitationRecord: "AA==", joinRequest: "AQ==", box: "cd",
                                                                                  label: "till", receivedAt: 7)]))
            == #"{"join_requests":[{"box":"cd","invitation":"ab","invitation_record":"AA==","join_request":"AQ==","label":"till","received_at":7}]}"#)
        #expect(try reply(RelayJSON.SnapshotStoredReply(producer: "ab", createdAt: 1, keyId: 2, vector: "AA==", bytes: 3))
            == #"{"bytes":3,"created_at":1,"key_id":2,"producer":"ab","vector":"AA=="}"#)
    }

    @Test("the box's requests: the documented keys, nil optionals left out")
    func requests() throws {
        let pull = try request(RelayJSON.PullRequest(vector: "AA==", limit: 200, waitSeconds: 25, membership: nil, joinRequests: 3))
        #expect(Set(pull.keys) == ["vector", "limit", "wait_seconds", "join_requests"])
        #expect(pull["wait_seconds"] as? Int == 25 && pull["join_requests"] as? Int == 3)
        let registration = try request(RelayJSON.RegisterRequest(ownerKey: "ab", timestamp: 5, signature: "cd"))
        #expect(Set(registration.keys) == ["owner_key", "timestamp", "signature"])
        #expect(Set(try request(RelayJSON.DecisionRequest(refusal: "no")).keys) == ["refusal"])
        #expect(Set(try request(RelayJSON.SealedKeyRequest(sealedKey: "AA==")).keys) == ["sealed_key"])
        #expect(Set(try request(RelayJSON.JoinRequestBody(joinRequest: "AA==")).keys) == ["join_request"])
    }

    @Test("the box reads a pull answer without the keys added for snapshots and join requests")
    func olderPullReply() throws {
        let reply = try RelayJSON.decoder.decode(RelayJSON.PullReply.self, from: Data(#"{"envelopes":[],"more":false,"available":"AA=="}"#.utf8))
        #expect(reply.compacted == nil && reply.compaction == nil && reply.snapshot == nil && reply.joinRequests == nil && reply.membership == nil)
        let null = try RelayJSON.decoder.decode(RelayJSON.SnapshotInfoReply.self, from: Data(#"{"snapshot":null,"available":"AQ==","compaction":"AA=="}"#.utf8))
        #expect(null.snapshot == nil && null.available == "AQ==")
    }
}
