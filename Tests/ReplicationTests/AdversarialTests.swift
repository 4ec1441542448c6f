import Foundation
import Testing
@testable import Replication
import TestSupport

/// Forged, tampered, replayed and malformed changesets: each is refused with its specific
/// reason, changes nothing, and never crashes the replica.
@Suite("Adversarial changesets")
struct AdversarialTests {
    struct Fixture {
        let business: TestBusiness
        let author: ReplicaStore
        let receiver: ReplicaStore
        /// The author's changesets: 1 (certificate), 2 and 3 (client rows).
        let log: [SignedChangeset]

        init() throws {
            business = TestBusiness()
            author = try business.makeReplica()
            receiver = try business.makeReplica()
            for name in ["Aigerim", "Dana"] {
                try author.write { try $0.insert("clients", ["id": .text(newKey()), "name": .text(name), "phone": "+77011234567"]) }
            }
            log = try author.changesets(missingFrom: VersionVector())
        }

        /// Applies `bytes`, and checks the single rejection and that the receiver did not change.
        func expectRefused(_ batch: [[UInt8]], reason: RejectionReason, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let before = try receiver.canonicalDump()
            let vectorBefore = receiver.versionVector
            let report = try receiver.apply(batch)
            #expect(report.applied.isEmpty, sourceLocation: sourceLocation)
            #expect(report.rejected.map(\.reason) == [reason], "\(report.rejected)", sourceLocation: sourceLocation)
            #expect(try receiver.canonicalDump() == before, sourceLocation: sourceLocation)
            #expect(receiver.versionVector == vectorBefore, sourceLocation: sourceLocation)
            #expect(try receiver.recentRejections(limit: 1).first?.reason == reason, sourceLocation: sourceLocation)
        }
    }

    @Test("a tampered payload fails the signature check")
    func tamperedPayload() throws {
        let fixture = try Fixture()
        var bytes = fixture.log[1].bytes
        let index = bytes.lastIndex(of: UInt8(ascii: "A"))!   // inside "Aigerim"
        bytes[index] = UInt8(ascii: "B")
        _ = try fixture.receiver.apply([fixture.log[0].bytes])
        try fixture.expectRefused([bytes], reason: .badSignature)
    }

    @Test("a tampered signature is refused")
    func tamperedSignature() throws {
        let fixture = try Fixture()
        _ = try fixture.receiver.apply([fixture.log[0].bytes])
        var bytes = fixture.log[1].bytes
        bytes[bytes.count - 1] ^= 0x01
        try fixture.expectRefused([bytes], reason: .badSignature)
    }

    @Test("a changeset re-signed by another key that claims the author's site id is refused")
    func impostor() throws {
        let fixture = try Fixture()
        _ = try fixture.receiver.apply([fixture.log[0].bytes])
        let impostor = SigningKey.generate()
        let forged = fixture.log[1].changeset.signed(with: impostor)
        try fixture.expectRefused([forged.bytes], reason: .badSignature)
        // Even with a certificate of its own (for its own site id), it cannot speak for the author.
        let impostorStore = try fixture.business.makeReplica(key: impostor)
        _ = try fixture.receiver.apply(try impostorStore.allChangesets())
        try fixture.expectRefused([forged.bytes], reason: .badSignature)
    }

    @Test("a replayed old changeset is acknowledged as a duplicate and changes nothing")
    func replay() throws {
        let fixture = try Fixture()
        _ = try fixture.receiver.apply(fixture.log.map(\.bytes))
        let before = try fixture.receiver.canonicalDump()
        let report = try fixture.receiver.apply([fixture.log[1].bytes])
        #expect(report.applied.isEmpty && report.rejected.isEmpty)
        #expect(report.duplicates == [ChangesetID(author: fixture.author.site, sequence: 2)])
        #expect(try fixture.receiver.canonicalDump() == before)
    }

    @Test("a different changeset for an already applied sequence number is refused as equivocation")
    func equivocation() throws {
        let fixture = try Fixture()
        _ = try fixture.receiver.apply(fixture.log.map(\.bytes))
        var changeset = fixture.log[2].changeset
        changeset.rows[0].cells[0].value = .text("rewritten history")
        try fixture.expectRefused([changeset.signed(with: fixture.author.identity).bytes], reason: .equivocation)
    }

    @Test("a changeset whose previous hash names another changeset breaks the chain")
    func brokenChain() throws {
        let fixture = try Fixture()
        _ = try fixture.receiver.apply([fixture.log[0].bytes])
        var changeset = fixture.log[1].changeset
        changeset.previousHash = [UInt8](repeating: 7, count: 32)
        try fixture.expectRefused([changeset.signed(with: fixture.author.identity).bytes], reason: .brokenChain)
    }

    @Test("a sequence gap waits and is reported; nothing is applied until it is filled")
    func sequenceGap() throws {
        let fixture = try Fixture()
        _ = try fixture.receiver.apply([fixture.log[0].bytes])
        let before = try fixture.receiver.canonicalDump()
        let report = try fixture.receiver.apply([fixture.log[2].bytes])
        #expect(report.waiting == [ChangesetID(author: fixture.author.site, sequence: 3)])
        #expect(report.gaps == [SequenceGap(author: fixture.author.site, missing: 2...2)])
        #expect(try fixture.receiver.canonicalDump() == before)
        #expect(try fixture.receiver.health().contains { $0.kind == "gap" })
    }

    @Test("a revoked replica's later changesets are refused; earlier ones stay valid")
    func revoked() throws {
        let fixture = try Fixture()
        _ = try fixture.receiver.apply(fixture.log.map(\.bytes))
        let revocation = try Revocation.issue(by: fixture.business.owner, revoking: fixture.author.identity.publicKey,
                                              effectiveFrom: Int64(PhysicalClock.system.now()), reason: "box stolen")
        try fixture.receiver.record(revocation: revocation)
        Thread.sleep(forTimeInterval: 0.005)
        try fixture.author.write { try $0.insert("clients", ["id": .text(newKey()), "name": "after revocation"]) }
        let late = try fixture.author.changesets(missingFrom: fixture.receiver.versionVector)
        try fixture.expectRefused(late.map(\.bytes), reason: .revoked)
    }

    @Test("a changeset of another business is refused")
    func otherBusiness() throws {
        let fixture = try Fixture()
        let stranger = try TestBusiness().makeReplica()
        try stranger.write { try $0.insert("clients", ["id": .text(newKey()), "name": "not ours"]) }
        try fixture.expectRefused([try stranger.allChangesets()[1]], reason: .wrongBusiness)
        // Relabelled as ours, its certificate is still signed by the other owner.
        var relabelled = try stranger.changesets(missingFrom: VersionVector())[0].changeset
        relabelled.business = fixture.author.business
        try fixture.expectRefused([relabelled.signed(with: stranger.identity).bytes], reason: .wrongBusiness)
    }

    @Test("an expired certificate does not authorise changesets")
    func expiredCertificate() throws {
        let fixture = try Fixture()
        let key = SigningKey.generate()
        let expired = fixture.business.certificate(for: key, notBefore: 0, notAfter: 1_000)
        let store = try fixture.business.makeReplica(key: key, certificate: expired)
        try fixture.expectRefused([try store.allChangesets()[0]], reason: .certificateNotValid)
    }

    @Test("a certificate row not signed by the owner makes the changeset invalid")
    func forgedCertificateRow() throws {
        let fixture = try Fixture()
        _ = try fixture.receiver.apply(fixture.log.map(\.bytes))
        var forged = try Certificate.issue(by: SigningKey.generate(), for: SigningKey.generate().publicKey, role: "owner", branch: "x", notBefore: 0, notAfter: 1 << 50).encoded
        forged[forged.count - 1] ^= 1
        let changeset = Changeset(business: fixture.author.business, author: fixture.author.site, sequence: 4, previousHash: fixture.log[2].hash,
                                  clockMin: fixture.log[2].changeset.clockMax, clockMax: fixture.log[2].changeset.clockMax,
                                  rows: [RowChange(table: "edgenode_certificates", key: .text(newKey()), causalLength: 1,
                                                   cells: [CellChange(column: "certificate", value: .blob(forged), timestamp: fixture.log[2].changeset.clockMax)])])
        try fixture.expectRefused([changeset.signed(with: fixture.author.identity).bytes], reason: .invalidContent)
    }

    @Test("an append-only row arriving again with other content is a tamper")
    func appendOnlyTamper() throws {
        let fixture = try Fixture()
        let note = newKey()
        try fixture.author.write { try $0.insert("notes", ["id": .text(note), "body": "paid 5000 KZT"]) }
        _ = try fixture.receiver.apply(try fixture.author.allChangesets())
        let other = try fixture.business.makeReplica()
        _ = try other.apply(try fixture.author.allChangesets())
        let last = try other.changesets(missingFrom: VersionVector()).last { $0.changeset.author == other.site }!
        let changeset = Changeset(business: other.business, author: other.site, sequence: last.changeset.sequence + 1, previousHash: last.hash,
                                  clockMin: other.clock.now(), clockMax: other.clock.now(),
                                  rows: [RowChange(table: "notes", key: .text(note), causalLength: 1,
                                                   cells: [CellChange(column: "body", value: "paid 500 KZT", timestamp: other.clock.current)])])
        _ = try fixture.receiver.apply(try other.changesets(missingFrom: fixture.receiver.versionVector).map(\.bytes))
        try fixture.expectRefused([changeset.signed(with: other.identity).bytes], reason: .appendOnlyTamper)
    }

    @Test("a key that is not a UUIDv7 makes the changeset invalid")
    func invalidKey() throws {
        let fixture = try Fixture()
        _ = try fixture.receiver.apply(fixture.log.map(\.bytes))
        let ts = fixture.author.clock.now()
        let changeset = Changeset(business: fixture.author.business, author: fixture.author.site, sequence: 4, previousHash: fixture.log[2].hash,
                                  clockMin: ts, clockMax: ts,
                                  rows: [RowChange(table: "clients", key: .text("1"), causalLength: 1, cells: [CellChange(column: "name", value: "x", timestamp: ts)])])
        try fixture.expectRefused([changeset.signed(with: fixture.author.identity).bytes], reason: .invalidContent)
    }

    @Test("truncated, garbage and oversized blobs are refused as malformed", arguments: [
        "truncated", "garbage", "empty", "huge declared length", "bad magic", "future version", "trailing bytes", "too large",
    ])
    func malformed(kind: String) throws {
        let fixture = try Fixture()
        let good = fixture.log[1].bytes
        var bytes: [UInt8]
        var reason = RejectionReason.malformed
        switch kind {
        case "truncated": bytes = Array(good.prefix(good.count / 2))
        case "garbage":
            var random = SeededGenerator(seed: 7)
            bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &random) }
        case "empty": bytes = []
        case "huge declared length":
            // Replace the table count with the largest varint.
            var writer = ByteWriter()
            writer.append(contentsOf: good.prefix(4 + 1 + 16 + 16))
            writer.writeVarint(2 as UInt64)
            writer.append(contentsOf: [UInt8](repeating: 0, count: 32))
            writer.writeUInt64(1)
            writer.writeUInt64(2)
            writer.writeVarint(UInt64.max)
            writer.append(contentsOf: [UInt8](repeating: 0xFF, count: 64))
            bytes = writer.bytes
        case "bad magic": bytes = good; bytes[0] = UInt8(ascii: "X")
        case "future version": bytes = good; bytes[4] = 9
        case "trailing bytes":
            bytes = Array(good.dropLast(64)) + [0, 0] + Array(good.suffix(64))
        default:
            bytes = [UInt8](repeating: 0, count: ChangesetLimits.standard.maxBytes + 1)
            reason = .tooLarge
        }
        let before = try fixture.receiver.canonicalDump()
        let report = try fixture.receiver.apply([bytes])
        #expect(report.rejected.map(\.reason) == [reason])
        #expect(report.applied.isEmpty)
        #expect(try fixture.receiver.canonicalDump() == before)
    }

    @Test("a decoder fed random mutations of a valid changeset never crashes")
    func fuzzDecoder() throws {
        let fixture = try Fixture()
        var random = SeededGenerator(seed: 99)
        let good = fixture.log[1].bytes
        for _ in 0..<2000 {
            var bytes = good
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random))) }
            _ = try? SignedChangeset.decode(bytes)
        }
        let report = try fixture.receiver.apply([good])   // still works
        #expect(report.rejected.isEmpty)
    }

    @Test("impossible sequence numbers and causal lengths are refused without a crash")
    func impossibleNumbers() throws {
        let fixture = try Fixture()
        var huge = fixture.log[1].changeset
        huge.sequence = UInt64.max
        try fixture.expectRefused([huge.signed(with: SigningKey.generate()).bytes], reason: .malformed)
        var deep = fixture.log[1].changeset
        deep.rows[0].causalLength = UInt64(Int64.max) + 2
        try fixture.expectRefused([deep.signed(with: fixture.author.identity).bytes], reason: .malformed)
    }

    @Test("a forged copy waiting for a missing predecessor cannot displace the genuine changeset")
    func forgedWaitingCopy() throws {
        let fixture = try Fixture()
        var forged = fixture.log[2].changeset
        forged.rows[0].cells[0].value = .text("forged")
        let forgedBytes = forged.signed(with: SigningKey.generate()).bytes
        // Both copies of sequence 3 wait: the author's certificate (sequence 1) has not arrived.
        let early = try fixture.receiver.apply([forgedBytes, fixture.log[2].bytes])
        #expect(early.waiting.count == 2)
        let report = try fixture.receiver.apply([fixture.log[0].bytes, fixture.log[1].bytes])
        #expect(report.applied.count == 3)
        #expect(report.rejected.map(\.reason) == [.badSignature])
        #expect(fixture.receiver.versionVector[fixture.author.site] == 3)
        #expect(try !fixture.receiver.canonicalDump().contains("forged"))
    }

    @Test("overlong varints are refused: one content has exactly one encoding")
    func overlongVarint() throws {
        #expect(throws: DecodingError.self) { var reader = ByteReader([0x81, 0x00]); _ = try reader.readVarint() }
        var reader = ByteReader([0x81, 0x01])
        #expect(try reader.readVarint() == 129)
    }
}
