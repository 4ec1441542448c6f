import Foundation
import Testing
@testable import Replication
import TestSupport

@Suite("Clocks")
struct ClockTests {
    @Test("UUIDv7 ids made in one millisecond increase in the order they were made; a new millisecond starts afresh")
    func monotonicWithinAMillisecond() {
        // Calls for other milliseconds in between (another thread's clock) do not break the order.
        let ids = (0..<1000).map { index in
            if index % 10 == 0 { _ = UUIDv7.generate(milliseconds: 1_770_000_000_000 + UInt64(index % 3) + 1) }
            return UUIDv7.generate(milliseconds: 1_770_000_000_000)
        }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy(UUIDv7.isValid))
        let next = UUIDv7.generate(milliseconds: 1_770_000_000_001)
        #expect(next > ids.last!)
        #expect(UUIDv7.increment(Array(repeating: 0xFF, count: 16)) == nil)
        var carry = [UInt8](repeating: 0, count: 16)
        carry[8] = 0x80
        carry[15] = 0xFF
        #expect(UUIDv7.increment(carry)?[14] == 1)
    }

    @Test("the hybrid logical clock never goes back and orders events after what it observed")
    func monotonic() {
        let physical = TestClock(milliseconds: 1_000)
        let clock = HybridLogicalClock(physical: physical.physical)
        let a = clock.now()
        let b = clock.now()
        #expect(a < b)
        #expect(b.milliseconds == 1_000 && b.counter == 1)
        physical.set(milliseconds: 500)   // the wall clock jumps back
        let c = clock.now()
        #expect(c > b)
        clock.observe(HLCTimestamp(milliseconds: 1_200, counter: 7))
        #expect(clock.now() > HLCTimestamp(milliseconds: 1_200, counter: 7))
    }

    @Test("a remote timestamp far ahead pulls the clock only up to the drift bound")
    func boundedDrift() {
        let physical = TestClock(milliseconds: 1_000_000)
        let clock = HybridLogicalClock(physical: physical.physical, maxForwardDriftMilliseconds: 60_000)
        let yearAhead = HLCTimestamp(milliseconds: 1_000_000 + 365 * 86_400_000, counter: 0)
        let excess = clock.observe(yearAhead)
        #expect(excess == 365 * 86_400_000 - 60_000)
        #expect(clock.now().milliseconds <= 1_000_000 + 60_000)
    }

    @Test("a box whose clock is a year ahead still converges, its site is named in a health warning, and later local edits still win")
    func clockFarAhead() throws {
        let business = TestBusiness()
        let normalTime = TestClock()
        let wrongTime = TestClock(milliseconds: normalTime.milliseconds + 365 * 86_400_000)
        let sane = try business.makeReplica(clock: normalTime.physical)
        let skewed = try business.makeReplica(clock: wrongTime.physical)
        let key = newKey()
        try sane.write { try $0.insert("clients", ["id": .text(key), "name": "Dana", "phone": "+77010000001"]) }
        try syncAll([sane, skewed])
        try skewed.write { try $0.update("clients", key: .text(key), ["name": "typo from the skewed box"]) }
        try syncAll([sane, skewed])
        #expect(try sane.canonicalDump() == skewed.canonicalDump())
        let warnings = try sane.health()
        #expect(warnings.contains { $0.kind == "remote_clock_ahead" && $0.site == skewed.site && $0.message.contains(skewed.site.hex) })
        // The sane box's clock was not dragged a year ahead.
        #expect(sane.clock.current.milliseconds < normalTime.physical.now() + sane.configuration.maxForwardDriftMilliseconds + 1)
        // The front desk corrects the name after seeing the typo: the correction wins everywhere.
        normalTime.advance(milliseconds: 1_000)
        try sane.write { try $0.update("clients", key: .text(key), ["name": "Dana (corrected)"]) }
        try syncAll([sane, skewed])
        for replica in [sane, skewed] { #expect(try replica.value("clients", key, "name") == .text("Dana (corrected)")) }
        // Overwriting the future-stamped cell did not drag the sane box's clock a year ahead either.
        #expect(sane.clock.current.milliseconds <= normalTime.physical.now() + sane.configuration.maxForwardDriftMilliseconds)
        // A concurrent edit of another column by the sane box is not affected by the skew.
        try sane.write { try $0.update("clients", key: .text(key), ["phone": "+77010000002"]) }
        try syncAll([sane, skewed])
        #expect(try skewed.value("clients", key, "phone") == .text("+77010000002"))
        #expect(try sane.canonicalDump() == skewed.canonicalDump())
    }

    @Test("a replica whose own clock went back reports it")
    func localClockBehind() throws {
        let business = TestBusiness()
        let time = TestClock()
        let store = try business.makeReplica(clock: time.physical)
        try store.write { try $0.insert("clients", ["id": .text(newKey())]) }
        time.set(milliseconds: time.milliseconds - 2 * 3600 * 1000)   // corrected back by two hours
        #expect(try store.health().contains { $0.kind == "local_clock_behind" && $0.site == store.site })
    }
}

@Suite("Trust")
struct TrustTests {
    @Test("certificates round-trip, verify, and refuse tampering and foreign owners")
    func certificates() throws {
        let owner = SigningKey.generate(), replica = SigningKey.generate()
        let certificate = try Certificate.issue(by: owner, for: replica.publicKey, role: "box", branch: "atyrau-1", notBefore: 10, notAfter: 20)
        let decoded = try Certificate.decode(certificate.encoded)
        #expect(decoded == certificate)
        #expect(decoded.subjectSite == SiteID(publicKey: replica.publicKey))
        #expect(decoded.isValid(at: 10) && decoded.isValid(at: 20) && !decoded.isValid(at: 21))
        var tampered = certificate.encoded
        tampered[40] ^= 1
        #expect(throws: TrustError.self) { try Certificate.decode(tampered) }
        var trust = TrustStore(ownerKey: SigningKey.generate().publicKey)
        let error = #expect(throws: TrustError.self) { try trust.add(certificate) }
        #expect(error?.code == .wrongBusiness)
        #expect(throws: TrustError.self) { try Certificate.issue(by: owner, for: replica.publicKey, role: "", branch: "x", notBefore: 0, notAfter: 1) }
        #expect(throws: TrustError.self) { try Certificate.issue(by: owner, for: replica.publicKey, role: "box", branch: "x", notBefore: 2, notAfter: 1) }
    }

    @Test("site ids derive from keys")
    func siteID() {
        let key = SigningKey(seed: [UInt8](repeating: 1, count: 32))!
        #expect(SiteID(publicKey: key.publicKey).bytes == Sodium.blake2b(Array("edgenode.site.v1".utf8) + key.publicKey.bytes, length: 16))
        #expect(SiteID(publicKey: key.publicKey) != SiteID(publicKey: SigningKey.generate().publicKey))
    }

    @Test("recovery phrases follow BIP-39", arguments: [
        (String(repeating: "00", count: 32), "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art"),
        (String(repeating: "7f", count: 32), "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title"),
        (String(repeating: "ff", count: 32), "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote"),
    ])
    func recoveryPhraseVectors(entropy: String, phrase: String) throws {
        let seed = [UInt8](hex: entropy)!
        #expect(RecoveryPhrase.encode(seed: seed).joined(separator: " ") == phrase)
        #expect(try RecoveryPhrase.decode(phrase) == seed)
    }

    @Test("a wrong or mistyped recovery phrase is refused with the reason")
    func recoveryPhraseErrors() throws {
        let seed = Sodium.randomBytes(32)
        var words = RecoveryPhrase.encode(seed: seed)
        #expect(try RecoveryPhrase.decode(words.joined(separator: " ").uppercased()) == seed)
        words.swapAt(0, 1)
        if words[0] != words[1] {
            #expect(throws: RecoveryPhraseError.self) { try RecoveryPhrase.decode(words.joined(separator: " ")) }
        }
        let unknown = #expect(throws: RecoveryPhraseError.self) { try RecoveryPhrase.decode("abandon " + String(repeating: "notaword ", count: 23)) }
        #expect(unknown?.message.contains("word 2") == true)
        #expect(throws: RecoveryPhraseError.self) { try RecoveryPhrase.decode("abandon abandon") }
    }

    @Test("a replica file opened with another identity or business is refused")
    func identityMismatch() throws {
        let business = TestBusiness()
        let path = try business.makeReplica(name: "owned").configuration.path   // closed again at once
        let stranger = SigningKey.generate()
        func open() -> ReplicationError? {
            do {
                _ = try ReplicaStore(configuration: ReplicaConfiguration(path: path), identity: stranger, ownerKey: business.owner.publicKey,
                                     certificate: business.certificate(for: stranger), logger: TestBusiness.logger)
                return nil
            } catch {
                return error as? ReplicationError
            }
        }
        // The file lock is released when the first store is closed; a process another test forks
        // at that moment holds a copy of the descriptor until it execs, so "in use" may be seen
        // for an instant. Only that answer is retried.
        var error = open()
        for _ in 0..<100 where error?.code == .inUse {
            Thread.sleep(forTimeInterval: 0.05)
            error = open()
        }
        #expect(error?.code == .identityMismatch, "\(String(describing: error))")
    }

    @Test("a replica file is used by one process at a time")
    func exclusiveLock() throws {
        let business = TestBusiness()
        let key = SigningKey.generate()
        let store = try business.makeReplica(key: key, name: "locked")
        let error = #expect(throws: ReplicationError.self) {
            try ReplicaStore(configuration: ReplicaConfiguration(path: store.configuration.path), identity: key, ownerKey: business.owner.publicKey,
                             certificate: nil, logger: TestBusiness.logger)
        }
        #expect(error?.message.contains("in use") == true)
    }
}
