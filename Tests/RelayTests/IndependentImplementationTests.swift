import Foundation
import Testing
@testable import Relay
@testable import Replication
import TestSupport

/// Tests/python/verify_relay.py implements envelopes, sealed keys and request signatures from
/// docs/relay-protocol.md alone (PyNaCl). Swift and Python must understand each other.
@Suite("Relay formats against an independent implementation")
struct IndependentImplementationTests {
    static let script = RelayProcessTests.packageRoot + "/Tests/python/verify_relay.py"

    struct Output {
        let status: Int32
        let json: [String: Any]
    }

    func python(_ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        #expect(!json.isEmpty, "verify_relay.py printed no JSON (is PyNaCl installed? scripts/test.sh installs it): \(errors)")
        return Output(status: process.terminationStatus, json: json)
    }

    @Test("Python opens a Swift envelope, and refuses it tampered or with another key")
    func envelopeSwiftToPython() throws {
        let directory = temporaryDirectory()
        let business = TestBusiness()
        let box = business.box()
        let key = DataKey.generate(id: DataKeyID(3))
        let first = box.nextEnvelope(dataKey: key)
        let second = box.nextEnvelope(dataKey: key)
        let file = directory + "/envelope"
        try Data(second.bytes).write(to: URL(fileURLWithPath: file))
        let opened = try python(["open-envelope", file, box.key.publicKey.hex, key.bytes.hexString])
        #expect(opened.status == 0, "\(opened.json)")
        #expect(opened.json["sequence"] as? Int == 2)
        #expect(opened.json["key_id"] as? Int == 3)
        #expect(opened.json["previous_hash"] as? String == first.hash.hexString)
        #expect(opened.json["hash"] as? String == second.hash.hexString)
        #expect(opened.json["business"] as? String == business.id.hex)
        #expect(opened.json["payload"] as? String == (try second.open(with: key)).hexString)

        var tampered = second.bytes
        tampered[40] ^= 0x01
        try Data(tampered).write(to: URL(fileURLWithPath: file + ".bad"))
        #expect(try python(["open-envelope", file + ".bad", box.key.publicKey.hex, key.bytes.hexString]).json["error"] as? String == "bad signature")
        #expect(try python(["open-envelope", file, box.key.publicKey.hex, DataKey.generate(id: DataKeyID(3)).bytes.hexString]).json["error"] as? String == "decryption failed")
    }

    @Test("Python opens a data key that Swift sealed to a box")
    func sealedKeySwiftToPython() throws {
        let directory = temporaryDirectory()
        let business = TestBusiness()
        let box = business.box()
        let key = DataKey.generate(id: DataKeyID(7))
        let sealed = try SealedDataKey.seal(key, business: business.id, to: box.key.publicKey, sealer: business.owner)
        try Data(sealed.bytes).write(to: URL(fileURLWithPath: directory + "/sealed"))
        let opened = try python(["open-sealed-key", directory + "/sealed", box.key.seed.hexString])
        #expect(opened.status == 0, "\(opened.json)")
        #expect(opened.json["key"] as? String == key.bytes.hexString)
        #expect(opened.json["key_id"] as? Int == 7)
        #expect(opened.json["sealer"] as? String == business.owner.publicKey.hex)
        #expect(try python(["open-sealed-key", directory + "/sealed", SigningKey.generate().seed.hexString]).status == 1)
    }

    @Test("Python reads a Swift invitation token and refuses it altered; Swift reads a Python token and the join request Python signs under it")
    func invitations() throws {
        let directory = temporaryDirectory()
        let business = TestBusiness()
        let (invitation, key) = business.invitation(now: 1_790_000_000_000)
        let token = InvitationToken(invitation: invitation, key: key)
        let read = try python(["verify-token", token.text])
        #expect(read.status == 0, "\(read.json)")
        #expect(read.json["invitation"] as? String == invitation.id.hex)
        #expect(read.json["business"] as? String == business.id.hex)
        #expect(read.json["branch"] as? String == invitation.branch && read.json["role"] as? String == "box")
        #expect(read.json["not_after"] as? Int == Int(invitation.notAfter))
        var altered = Array(token.text)
        altered[InvitationToken.prefix.count + 130] = altered[InvitationToken.prefix.count + 130] == "A" ? "B" : "A"
        #expect(try python(["verify-token", String(altered)]).status == 1)

        let ownerSeed = Sodium.randomBytes(32), invitationSeed = Sodium.randomBytes(32)
        let made = try python(["make-token", ownerSeed.hexString, invitationSeed.hexString, "box", "Сатпаева", "http://relay.example:8480",
                               "1790000000000", "1790086400000"])
        let parsed = try InvitationToken.parse(try #require(made.json["token"] as? String))
        #expect(parsed.invitation.ownerKey == SigningKey(seed: ownerSeed)!.publicKey)
        #expect(parsed.key.seed == invitationSeed && parsed.invitation.branch == "Сатпаева" && parsed.invitation.notAfter == 1_790_086_400_000)

        let boxSeed = Sodium.randomBytes(32)
        let requested = try python(["make-join-request", token.text, boxSeed.hexString, "1790000000001", "box 2", directory + "/join"])
        #expect(requested.status == 0, "\(requested.json)")
        let request = try JoinRequest.decode(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/join"))))
        #expect(request.boxKey == SigningKey(seed: boxSeed)!.publicKey && request.invitationKey == key.publicKey)
        #expect(request.business == business.id && request.label == "box 2" && request.requestedAt == 1_790_000_000_001)
        // Byte for byte what Swift makes from the same inputs (Ed25519 is deterministic).
        let swift = try JoinRequest.make(business: business.id, invitation: key, box: SigningKey(seed: boxSeed)!, label: "box 2", requestedAt: 1_790_000_000_001)
        #expect(swift.encoded == request.encoded)
    }

    @Test("Python opens a snapshot Swift sealed, and refuses it with another key or producer")
    func sealedSnapshotSwiftToPython() throws {
        let directory = temporaryDirectory()
        let business = TestBusiness()
        let box = business.box()
        let key = DataKey.generate(id: DataKeyID(2))
        let other = business.box()
        let vector = VersionVector([box.site: 12, other.site: 3])
        let plain = Array("EDSN".utf8) + [1] + business.id.bytes + box.site.bytes + Array("the replica".utf8)
        let sealed = try SealedSnapshot.seal(plain, business: business.id, vector: vector, producer: box.key, dataKey: key, createdAt: 1_790_000_000_000)
        try Data(sealed.bytes).write(to: URL(fileURLWithPath: directory + "/snapshot"))
        let opened = try python(["open-snapshot", directory + "/snapshot", box.key.publicKey.hex, key.bytes.hexString])
        #expect(opened.status == 0, "\(opened.json)")
        #expect(opened.json["snapshot"] as? String == plain.hexString)
        #expect(opened.json["key_id"] as? Int == 2 && opened.json["producer"] as? String == box.site.hex)
        #expect(opened.json["vector"] as? [String: Int] == [box.site.hex: 12, other.site.hex: 3])
        #expect(try python(["open-snapshot", directory + "/snapshot", box.key.publicKey.hex, DataKey.generate(id: DataKeyID(2)).bytes.hexString]).json["error"] as? String == "decryption failed")
        #expect(try python(["open-snapshot", directory + "/snapshot", other.key.publicKey.hex, key.bytes.hexString]).status == 1)
    }

    @Test("the relay accepts a request signed and an envelope sealed by Python")
    func pythonToRelay() async throws {
        let storage = try SQLiteRelayStorage(path: temporaryDirectory() + "/relay.sqlite", logger: quietLogger)
        try await start(storage)
    }

    private func start<S: RelayStorage>(_ storage: S) async throws {
        let script = self
        try await LiveRelay.with(storage) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let box = business.box()
            try await client.setUp(business, boxes: [box])
            let directory = temporaryDirectory()
            let key = DataKey.generate(id: DataKeyID(1))
            let payload = box.changeset(sequence: 1, previousHash: RelayEnvelope.noPreviousHash, name: "Python", phone: "+44").bytes
            try Data(payload).write(to: URL(fileURLWithPath: directory + "/payload"))
            let sealed = try script.python(["seal-envelope", box.key.seed.hexString, business.id.hex, "1", RelayEnvelope.noPreviousHash.hexString, "1",
                                            key.bytes.hexString, String(relay.clock.milliseconds), directory + "/payload", directory + "/envelope"])
            #expect(sealed.status == 0)
            let envelope = try RelayEnvelope.decode(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/envelope"))))
            #expect(try envelope.openChangeset(authorKey: box.key.publicKey, keyring: DataKeyring([key])).bytes == payload)

            // The push request itself is signed by Python.
            let body = try JSONSerialization.data(withJSONObject: API.push([envelope]), options: [.sortedKeys])
            try body.write(to: URL(fileURLWithPath: directory + "/body"))
            let target = API.base(business.id) + "/envelopes"
            let signed = try script.python(["sign-request", box.key.seed.hexString, business.id.hex, "POST", target, directory + "/body",
                                            String(relay.clock.milliseconds), Sodium.randomBytes(16).hexString])
            let authorization = try #require(signed.json["authorization"] as? String)
            let reply = try await client.send(.post, target, rawBody: Array(body), authorization: authorization)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.statuses == ["stored"])
            #expect(reply.results.first?["hash"] as? String == sealed.json["hash"] as? String)
        }
    }
}
