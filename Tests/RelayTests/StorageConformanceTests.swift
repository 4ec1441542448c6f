import Foundation
import Testing
@testable import Relay
@testable import Replication
import TestSupport

/// One suite for every `RelayStorage`: SQLite (a real file) and PostgreSQL (a real server).
@Suite("Relay storage conformance")
struct StorageConformanceTests {
    static let dataKey = DataKey(id: DataKeyID(1), bytes: [UInt8](repeating: 4, count: 32))!

    /// Runs `scenario` against a fresh store of `kind`.
    func check(_ kind: StorageKind, _ scenario: @escaping @Sendable (any RelayStorage) async throws -> Void) async throws {
        let storage = try makeStorage(kind)
        try await run(storage, scenario)
    }

    private func run<S: RelayStorage>(_ storage: S, _ scenario: @escaping @Sendable (any RelayStorage) async throws -> Void) async throws {
        try await withRunningStorage(storage) { try await scenario($0) }
    }

    @Test("PostgreSQL is configured whenever CI runs", .enabled(if: ProcessInfo.processInfo.environment["CI"] != nil))
    func postgresInCI() {
        #expect(StorageKind.postgresURL != nil, "CI must run the suite against PostgreSQL too (scripts/test.sh starts one)")
    }

    @Test("businesses register once and keep their owner key", arguments: StorageKind.available)
    func businesses(kind: StorageKind) async throws {
        try await check(kind) { (storage: any RelayStorage) async throws in
            let business = TestBusiness()
            #expect(try await storage.ownerKey(of: business.id) == nil)
            #expect(try await storage.registerBusiness(business.id, ownerKey: business.owner.publicKey, at: 1))
            #expect(try await !storage.registerBusiness(business.id, ownerKey: business.owner.publicKey, at: 2))
            #expect(try await storage.ownerKey(of: business.id) == business.owner.publicKey)
            #expect(try await storage.businesses().contains(business.id))
        }
    }

    @Test("certificates and revocations are stored once, per business and site, in order", arguments: StorageKind.available)
    func trust(kind: StorageKind) async throws {
        try await check(kind) { (storage: any RelayStorage) async throws in
            let business = TestBusiness(), other = TestBusiness()
            let a = business.box(), b = business.box(), renewed = try Certificate.issue(by: business.owner, for: a.key.publicKey, role: "box", branch: "renewed",
                                                                                       notBefore: 0, notAfter: 10)
            #expect(try await storage.addCertificate(a.certificate, business: business.id))
            #expect(try await !storage.addCertificate(a.certificate, business: business.id))
            #expect(try await storage.addCertificate(b.certificate, business: business.id))
            #expect(try await storage.addCertificate(renewed, business: business.id))
            #expect(try await storage.certificates(of: business.id) == [a.certificate, b.certificate, renewed])
            #expect(try await storage.certificates(of: business.id, site: a.site) == [a.certificate, renewed])
            #expect(try await storage.certificates(of: other.id).isEmpty)
            let revocation = business.revocation(of: b)
            #expect(try await storage.addRevocation(revocation, business: business.id))
            #expect(try await !storage.addRevocation(revocation, business: business.id))
            #expect(try await storage.revocations(of: business.id) == [revocation])
            #expect(try await storage.revocations(of: other.id).isEmpty)
            #expect(try await storage.membershipCount(of: business.id) == 4)
            #expect(try await storage.membershipCount(of: other.id) == 0)
        }
    }

    @Test("append extends each author's chain and says why it refuses", arguments: StorageKind.available)
    func chain(kind: StorageKind) async throws {
        try await check(kind) { (storage: any RelayStorage) async throws in
            let business = TestBusiness()
            let box = business.box()
            let e1 = box.nextEnvelope(dataKey: Self.dataKey), e2 = box.nextEnvelope(dataKey: Self.dataKey), e3 = box.nextEnvelope(dataKey: Self.dataKey)
            #expect(try await storage.append([e1], business: business.id, receivedAt: 1) == [.stored])
            #expect(try await storage.append([e1], business: business.id, receivedAt: 1) == [.duplicate])
            #expect(try await storage.append([e3], business: business.id, receivedAt: 1) == [.gap(expected: 2)])
            // The right sequence with the wrong previous hash.
            let wrongLink = try RelayEnvelope.seal([1], business: business.id, author: box.key, sequence: 2, previousHash: [UInt8](repeating: 9, count: 32),
                                                   dataKey: Self.dataKey, sealedAt: 0)
            #expect(try await storage.append([wrongLink], business: business.id, receivedAt: 1) == [.chainMismatch])
            #expect(try await storage.append([e2, e3, e2], business: business.id, receivedAt: 2) == [.stored, .stored, .duplicate])
            // A second, different envelope for a stored sequence: the author forked.
            let fork = try RelayEnvelope.seal([2], business: business.id, author: box.key, sequence: 2, previousHash: e1.hash, dataKey: Self.dataKey, sealedAt: 0)
            #expect(try await storage.append([fork], business: business.id, receivedAt: 3) == [.conflict])
            let heads = try await storage.heads(of: business.id)
            #expect(heads == [AuthorHead(author: box.site, sequence: 3, hash: e3.hash, compactedThrough: 0)])
            #expect(try await storage.envelopes(of: business.id, author: box.site, after: 0, limit: 10) == [e1.bytes, e2.bytes, e3.bytes])
            #expect(try await storage.envelopes(of: business.id, author: box.site, after: 1, limit: 1) == [e2.bytes])
            // Another business sees nothing of it.
            #expect(try await storage.heads(of: TestBusiness().id).isEmpty)
            #expect(try await storage.envelopes(of: TestBusiness().id, author: box.site, after: 0, limit: 10).isEmpty)
        }
    }

    @Test("concurrent appends of the same next sequence store exactly one", arguments: StorageKind.available)
    func concurrentAppends(kind: StorageKind) async throws {
        try await check(kind) { (storage: any RelayStorage) async throws in
            let business = TestBusiness()
            let box = business.box()
            let first = box.nextEnvelope(dataKey: Self.dataKey)
            let rivals = try (0..<8).map {
                try RelayEnvelope.seal([UInt8($0)], business: business.id, author: box.key, sequence: 2, previousHash: first.hash,
                                       dataKey: Self.dataKey, sealedAt: 0)
            }
            _ = try await storage.append([first], business: business.id, receivedAt: 1)
            let outcomes = try await withThrowingTaskGroup(of: [AppendOutcome].self) { group in
                for rival in rivals { group.addTask { try await storage.append([rival], business: business.id, receivedAt: 2) } }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(outcomes.filter { $0 == .stored }.count == 1)
            #expect(outcomes.filter { $0 == .conflict }.count == 7)
        }
    }

    @Test("acknowledgements only move forward; compaction deletes up to the mark and keeps the head", arguments: StorageKind.available)
    func compaction(kind: StorageKind) async throws {
        try await check(kind) { (storage: any RelayStorage) async throws in
            let business = TestBusiness()
            let author = business.box(), reader = business.box()
            let envelopes = (0..<4).map { _ in author.nextEnvelope(dataKey: Self.dataKey) }
            _ = try await storage.append(envelopes, business: business.id, receivedAt: 1)
            try await storage.recordAcknowledgement(VersionVector([author.site: 3]), site: reader.site, business: business.id)
            try await storage.recordAcknowledgement(VersionVector([author.site: 2]), site: reader.site, business: business.id)
            #expect(try await storage.acknowledgements(of: business.id) == [reader.site: VersionVector([author.site: 3])])
            #expect(try await storage.compact(business.id, through: [author.site: 3]) == 3)
            #expect(try await storage.compact(business.id, through: [author.site: 2]) == 0)
            #expect(try await storage.envelopes(of: business.id, author: author.site, after: 0, limit: 10) == [envelopes[3].bytes])
            #expect(try await storage.heads(of: business.id).first?.compactedThrough == 3)
            // A mark beyond the head stops at the head.
            #expect(try await storage.compact(business.id, through: [author.site: 99]) == 1)
            #expect(try await storage.heads(of: business.id) == [AuthorHead(author: author.site, sequence: 4, hash: envelopes[3].hash, compactedThrough: 4)])
            // Compacted envelopes pushed again are acknowledged, not stored; the chain goes on.
            #expect(try await storage.append([envelopes[1]], business: business.id, receivedAt: 2) == [.alreadyCompacted])
            #expect(try await storage.append([author.nextEnvelope(dataKey: Self.dataKey)], business: business.id, receivedAt: 2) == [.stored])
        }
    }

    @Test("sealed keys are kept per recipient and generation, replaced, and forgotten", arguments: StorageKind.available)
    func sealedKeys(kind: StorageKind) async throws {
        try await check(kind) { (storage: any RelayStorage) async throws in
            let business = TestBusiness()
            let box = business.box(), other = business.box()
            let k1 = try SealedDataKey.seal(DataKey.generate(id: DataKeyID(1)), business: business.id, to: box.key.publicKey, sealer: business.owner)
            let k2 = try SealedDataKey.seal(DataKey.generate(id: DataKeyID(2)), business: business.id, to: box.key.publicKey, sealer: business.owner)
            let k1again = try SealedDataKey.seal(DataKey.generate(id: DataKeyID(1)), business: business.id, to: box.key.publicKey, sealer: business.owner)
            #expect(try await storage.storeSealedKey(k1, business: business.id))
            #expect(try await !storage.storeSealedKey(k1, business: business.id))
            #expect(try await storage.storeSealedKey(k2, business: business.id))
            #expect(try await storage.sealedKeys(of: business.id, recipient: box.site, keyID: nil) == [k1.bytes, k2.bytes])
            #expect(try await storage.storeSealedKey(k1again, business: business.id))
            #expect(try await storage.sealedKeys(of: business.id, recipient: box.site, keyID: DataKeyID(1)) == [k1again.bytes])
            #expect(try await storage.sealedKeys(of: business.id, recipient: other.site, keyID: nil).isEmpty)
            #expect(try await storage.sealedKeys(of: TestBusiness().id, recipient: box.site, keyID: nil).isEmpty)
            try await storage.deleteSealedKeys(of: business.id, recipient: box.site)
            #expect(try await storage.sealedKeys(of: business.id, recipient: box.site, keyID: nil).isEmpty)
        }
    }

    @Test("a box's seal never replaces the owner's seal of the same recipient and generation; the owner's replaces a box's", arguments: StorageKind.available)
    func ownerSealStays(kind: StorageKind) async throws {
        try await check(kind) { (storage: any RelayStorage) async throws in
            let business = TestBusiness()
            #expect(try await storage.registerBusiness(business.id, ownerKey: business.owner.publicKey, at: 1))
            let recipient = business.box(), sealerB = business.box(), sealerC = business.box()
            let key = DataKey.generate(id: DataKeyID(1))
            func seal(by sealer: SigningKey) throws -> SealedDataKey {
                try SealedDataKey.seal(key, business: business.id, to: recipient.key.publicKey, sealer: sealer)
            }
            func stored() async throws -> [[UInt8]] { try await storage.sealedKeys(of: business.id, recipient: recipient.site, keyID: DataKeyID(1)) }
            // A box first, then the owner: the owner's replaces it.
            let byB = try seal(by: sealerB.key)
            #expect(try await storage.storeSealedKey(byB, business: business.id))
            let byC = try seal(by: sealerC.key)
            #expect(try await storage.storeSealedKey(byC, business: business.id))
            #expect(try await stored() == [byC.bytes])
            let byOwner = try seal(by: business.owner)
            #expect(try await storage.storeSealedKey(byOwner, business: business.id))
            #expect(try await stored() == [byOwner.bytes])
            // Boxes after the owner: the owner's stays (the race of relay-protocol §5.8).
            #expect(try await !storage.storeSealedKey(try seal(by: sealerB.key), business: business.id))
            #expect(try await !storage.storeSealedKey(try seal(by: sealerC.key), business: business.id))
            #expect(try await stored() == [byOwner.bytes])
            // The owner may seal again (a new seal of the same generation replaces its own).
            let again = try seal(by: business.owner)
            #expect(try await storage.storeSealedKey(again, business: business.id))
            #expect(try await stored() == [again.bytes])
            // Another generation is its own slot.
            let second = try SealedDataKey.seal(DataKey.generate(id: DataKeyID(2)), business: business.id, to: recipient.key.publicKey, sealer: sealerB.key)
            #expect(try await storage.storeSealedKey(second, business: business.id))
            #expect(try await storage.sealedKeys(of: business.id, recipient: recipient.site, keyID: nil) == [again.bytes, second.bytes])
        }
    }

    @Test("a nonce is accepted once per site until it is pruned", arguments: StorageKind.available)
    func nonces(kind: StorageKind) async throws {
        try await check(kind) { (storage: any RelayStorage) async throws in
            let business = TestBusiness()
            let box = business.box(), other = business.box()
            let nonce = Sodium.randomBytes(16)
            #expect(try await storage.recordNonce(nonce, site: box.site, business: business.id, expiresAt: 100))
            #expect(try await !storage.recordNonce(nonce, site: box.site, business: business.id, expiresAt: 100))
            #expect(try await storage.recordNonce(nonce, site: other.site, business: business.id, expiresAt: 100))
            try await storage.pruneNonces(before: 101)
            #expect(try await storage.recordNonce(nonce, site: box.site, business: business.id, expiresAt: 200))
        }
    }

    @Test("migrating twice changes nothing: what was stored is still there and the store keeps working", arguments: StorageKind.available)
    func migrateTwice(kind: StorageKind) async throws {
        try await check(kind) { (storage: any RelayStorage) async throws in
            let business = TestBusiness()
            let box = business.box()
            #expect(try await storage.registerBusiness(business.id, ownerKey: business.owner.publicKey, at: 1))
            #expect(try await storage.addCertificate(box.certificate, business: business.id))
            let first = box.nextEnvelope(dataKey: Self.dataKey)
            #expect(try await storage.append([first], business: business.id, receivedAt: 2) == [.stored])
            try await storage.migrate()
            try await storage.migrate()
            #expect(try await storage.ownerKey(of: business.id) == business.owner.publicKey)
            #expect(try await storage.certificates(of: business.id).map(\.encoded) == [box.certificate.encoded])
            #expect(try await storage.envelopes(of: business.id, author: box.site, after: 0, limit: 10) == [first.bytes])
            // The chain continues where it was: the next envelope links to the stored one.
            let second = box.nextEnvelope(dataKey: Self.dataKey)
            #expect(try await storage.append([second], business: business.id, receivedAt: 3) == [.stored])
            #expect(try await storage.heads(of: business.id).first?.sequence == 2)
        }
    }
}
