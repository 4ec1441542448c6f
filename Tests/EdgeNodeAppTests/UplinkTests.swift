import Domain
import Foundation
import Logging
import Prometheus
import Relay
import Replication
import RelayWire
import Synchronization
import Testing
@testable import EdgeNodeApp
@testable import LocalAPI
@testable import LANSync
@testable import OutboundHTTP
@testable import RelayUplink
import TestSupport

/// Ports handed to in-process relays, never handed out twice: while one relay is down for its
/// test, another test's relay must not take its port (a CI run saw the restart fail with
/// "Address already in use").
enum RelayPorts {
    private static let reserved = Mutex<Set<Int>>([])
    static func reserve() -> Int {
        reserved.withLock { reserved in
            var port: Int
            // 20000–25999; RelayEndToEndTests' relay processes take 26000–31999.
            repeat { port = Int.random(in: 20_000..<26_000) } while reserved.contains(port)
            reserved.insert(port)
            return port
        }
    }
}

/// A relay in this process on 127.0.0.1 over real HTTP, which a test can stop ("the internet is
/// down") and start again on the same port and storage.
final class InProcessRelay<Storage: RelayStorage>: @unchecked Sendable {
    let makeStorage: @Sendable () throws -> Storage
    let limits: RelayLimits
    /// Serve HTTPS with these files (set before `start`).
    var tls: RelayConfiguration.TLSFiles?
    private(set) var port = 0
    /// The storage of the running relay, for tests that look at what it holds.
    private(set) var storage: Storage?
    private var task: Task<Void, any Error>?
    private var runtime: RelayRuntime<Storage>?

    init(limits: RelayLimits = RelayLimits(), makeStorage: @escaping @Sendable () throws -> Storage) {
        self.limits = limits
        self.makeStorage = makeStorage
    }

    func start() async throws {
        // The port is picked below Linux's ephemeral range (32768–60999), so that while the relay
        // is down no other test's outgoing connection can take it as its source port and the
        // restart can bind it again. A first start tries other ports if one is taken.
        let restart = port != 0
        var lastError = "no attempt"
        // A restart may find its port held for a while (the old server's accepted connections
        // closing after the boxes' pooled keep-alive connections go idle): it keeps trying its own
        // port until a generous deadline. A first start tries other ports.
        let deadline = ContinuousClock.now + .seconds(restart ? 120 : 30)
        while ContinuousClock.now < deadline {
            let storage = try makeStorage()
            var configuration = RelayConfiguration()
            configuration.bind = "127.0.0.1"
            configuration.port = restart ? port : RelayPorts.reserve()
            configuration.housekeepingInterval = .seconds(3600)
            configuration.shutdownGraceSeconds = 2
            configuration.tls = tls
            let core = RelayCore(storage: storage, limits: limits, logger: UplinkTests.logger)
            let runtime = RelayRuntime(core: core, configuration: configuration, logger: UplinkTests.logger)
            let outcome = Mutex<String?>(nil)
            task = Task {
                do {
                    try await runtime.run(handleSignals: false)
                    outcome.withLock { $0 = "stopped" }
                } catch {
                    outcome.withLock { $0 = "\(error)" }
                    throw error
                }
            }
            // Listening, or run() ended first (the port was taken): then NotListening, and another try.
            if (try? await withTimeout(.seconds(60), "the relay starting") { try await runtime.waitUntilListening() }) != nil {
                self.runtime = runtime
                try await storage.migrate()
                self.storage = storage
                port = runtime.port
                return
            }
            _ = await task?.result
            lastError = outcome.withLock { $0 } ?? "unknown"
            task = nil
            try await Task.sleep(for: .milliseconds(250))
        }
        throw UplinkError("the relay did not start: \(lastError)")
    }

    /// Stops the relay as SIGTERM would (graceful shutdown, the storage closed last).
    func stop() async {
        await runtime?.shutDown()
        if let task, !((try? await RuntimeLifecycleTests.ends(task, within: 60)) ?? false) {
            Issue.record("the relay did not stop within 60 s of a graceful shutdown")
            task.cancel()
        }
        task = nil
        runtime = nil
    }

    var url: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)" }
}

@Suite("Uplink to the relay (loopback)", .serialized)
struct UplinkTests {
    static let logger: Logger = {
        var logger = Logger(label: "uplink-test")
        logger.logLevel = .critical
        return logger
    }()

    static let clientName = "Гульнара Жумабаева"
    static let clientPhone = "+77015550142"

    static var postgresURL: String? { ProcessInfo.processInfo.environment["EDGENODE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    /// Two boxes of one business, configured to sync through the relay only.
    struct Boxes {
        let a: EdgeNodeRuntime
        let b: EdgeNodeRuntime
        let branch: BranchID
        let owner: SigningKey
    }

    static func makeBoxes(root: String, relayURL: String, caFile: String = "") throws -> Boxes {
        let aDirectory = ReplicaDirectory(path: root + "/a")
        let result = try Provisioning(branchName: "Atyrau Central", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Owner")
            .run(in: aDirectory, logger: logger)
        let bDirectory = try PeerSyncTests.joinSecondBox(aDirectory, at: root + "/b")
        // The owner issued B's certificate on A: A knows B (and will seal the data key to it).
        let bCertificate = try Certificate.decode(try bDirectory.readFile(bDirectory.certificatePath))
        do {
            let store = try aDirectory.openStore(logger: logger)
            try store.record(certificate: bCertificate)
            try store.checkpoint()
        }
        func runtime(_ directory: ReplicaDirectory) throws -> EdgeNodeRuntime {
            try InvitationTests.runtime(directory, relayURL: relayURL, pullWait: 5, caFile: caFile)
        }
        return Boxes(a: try runtime(aDirectory), b: try runtime(bDirectory), branch: result.branchID, owner: try aDirectory.loadOwnerKey())
    }

    static func converged(_ boxes: Boxes) throws -> Bool {
        guard boxes.a.store.versionVector == boxes.b.store.versionVector else { return false }
        return try boxes.a.store.canonicalDump(includeClocks: false) == boxes.b.store.canonicalDump(includeClocks: false)
    }

    /// The scenario: converge through the relay, lose the relay while both boxes write, get it back, converge.
    static func scenario<Storage: RelayStorage>(root: String, relay: InProcessRelay<Storage>) async throws {
        try await relay.start()
        // Nobody registers the business at the relay: the owner's box (A) does it by itself.
        let boxes = try makeBoxes(root: root, relayURL: relay.url)
        let servers = [Task { try await boxes.a.run() }, Task { try await boxes.b.run() }]
        defer { servers.forEach { $0.cancel() } }

        _ = try boxes.a.shop.createClient(ClientDraft(name: clientName, phone: clientPhone), branch: boxes.branch)
        for index in 0..<5 { _ = try boxes.a.shop.createClient(ClientDraft(name: "A \(index)"), branch: boxes.branch) }
        try await eventually("B receives A's business through the relay") { try converged(boxes) }
        for index in 0..<4 { _ = try boxes.b.shop.createClient(ClientDraft(name: "B \(index)"), branch: boxes.branch) }
        try await eventually("both boxes converge through the relay") { try converged(boxes) }
        #expect(try boxes.b.shop.searchClients("Гульнара").count == 1)
        #expect(try boxes.a.shop.searchClients("B ").filter { $0.name.hasPrefix("B ") }.count == 4)
        try await eventually("A's uplink reports it is connected with nothing pending") {
            let pending = boxes.a.uplink?.pending(ours: boxes.a.store.versionVector, site: boxes.a.store.site)
            return boxes.a.uplink?.current.connected == true && pending?.push == 0
        }
        let status = try NodeStatus.document(store: boxes.a.store, shop: boxes.a.shop, dataDirectory: root + "/a", startedAt: nil, uplink: boxes.a.uplink)
        guard case .object(let uplink)? = status["uplink"] else { Issue.record("no uplink in the status document"); return }
        #expect(uplink["url"] == .string(relay.url))
        #expect(uplink["connected"] == .bool(true))
        #expect(uplink["last_push"] != .null && uplink["last_pull"] != .null)

        // A stylist and a service, made on the home box (A) and known to both.
        let shop = boxes.a.shop
        let anna = StaffID.generate(at: shop.now)
        try shop.save(StaffMember(id: anna, branchID: boxes.branch, name: "Anna", schedule: .every(Weekday.allCases, [WallInterval("00:00", "24:00")!]),
                                  breaks: WeeklyHours()))
        let cut = OfferingID.generate(at: shop.now)
        try shop.save(Offering(id: cut, branchID: boxes.branch, names: ["en": "Cut"], durationMinutes: 60, price: Money(amountMinor: 5000, currency: "KZT"),
                               bufferBeforeMinutes: 0, bufferAfterMinutes: 0, slotStepMinutes: 15, capacity: 1, resources: []))
        try shop.assign(StaffOffering(staffID: anna, offeringID: cut))
        try await eventually("the stylist reaches B") { try converged(boxes) }

        // The status line's truth (GET /v1/connectivity) from the real status document: reachable since the uplink connected.
        let connectedSince = try #require(boxes.a.uplink?.current.stateSince)
        let online = Connectivity.document(status: status, now: "")
        #expect(online["relay"].flatMap { if case .object(let relay) = $0 { relay } else { nil } }?["reachable"] == .bool(true))

        // The internet goes down; both branches keep working.
        await relay.stop()
        for index in 0..<7 { _ = try boxes.a.shop.createClient(ClientDraft(name: "A offline \(index)"), branch: boxes.branch) }
        for index in 0..<6 { _ = try boxes.b.shop.createClient(ClientDraft(name: "B offline \(index)"), branch: boxes.branch) }
        try await eventually("the uplinks notice the relay is gone") {
            boxes.a.uplink?.current.connected == false && boxes.b.uplink?.current.connected == false
        }
        let offline = Connectivity.document(status: try NodeStatus.document(store: boxes.a.store, shop: boxes.a.shop, dataDirectory: root + "/a", startedAt: nil,
                                                                            uplink: boxes.a.uplink), now: "")
        guard case .object(let relayLine)? = offline["relay"], case .string(let since)? = relayLine["since"] else {
            Issue.record("no relay line with a since in \(offline)")
            return
        }
        #expect(relayLine["configured"] == .bool(true))
        #expect(relayLine["reachable"] == .bool(false))
        let sinceInstant = try #require(Instant(iso8601: since))
        // `since` is in whole seconds; the uplink's own record of the change is exact.
        #expect(sinceInstant.milliseconds / 1000 >= Int64(connectedSince.timeIntervalSince1970), "since moved when the relay went away")
        #expect(try #require(boxes.a.uplink?.current.stateSince) > connectedSince, "the uplink recorded when its state changed")
        #expect(!"\(offline)".contains(relay.url))
        // Both branches book Anna for the same hour, a week ahead.
        // 12:00 in Atyrau (UTC+5) on the first day from a week ahead that the branch is open.
        let day = Int64(86_400_000)
        var booked: (Instant, Booking)?
        for offset in Int64(7)..<Int64(15) where booked == nil {
            let start = Instant(milliseconds: (shop.now.milliseconds / day + offset) * day + 7 * 3_600_000)
            booked = (try? boxes.a.shop.book(BookingRequest(branchID: boxes.branch, parts: [VisitPart(offeringID: cut, staffID: anna)], start: start,
                                                             guest: Guest(name: "Walk-in")))).map { (start, $0) }
        }
        let (start, desk) = try #require(booked, "no bookable day at 12:00 in the next two weeks")
        let phone = try boxes.b.shop.book(BookingRequest(branchID: boxes.branch, parts: [VisitPart(offeringID: cut, staffID: anna)],
                                                         start: start.adding(minutes: 30), guest: Guest(name: "Phone")))
        #expect(try !converged(boxes))
        let pendingOffline = try #require(boxes.a.uplink?.pending(ours: boxes.a.store.versionVector, site: boxes.a.store.site).push)
        #expect(pendingOffline >= 7)
        // The internet is back: the same relay, the same storage.
        try await relay.start()
        try await eventually("both boxes converge after the relay returns") { try converged(boxes) }
        try await eventually("the home box decided B's overlapping booking and both agree") {
            try boxes.a.shop.appointment(phone.appointment.id).status != .requested && converged(boxes)
        }
        #expect(try boxes.a.shop.appointment(desk.appointment.id).status == boxes.b.shop.appointment(desk.appointment.id).status)
        #expect(try boxes.a.shop.appointment(phone.appointment.id).status == boxes.b.shop.appointment(phone.appointment.id).status)
        // The home box (A) kept its own booking and refused the overlapping request made at B.
        #expect(try boxes.b.shop.appointment(phone.appointment.id).status == .rejected)
        #expect(try boxes.b.shop.appointment(desk.appointment.id).status == .confirmed)
        #expect(try boxes.a.shop.conflicts() == boxes.b.shop.conflicts())
        #expect(try boxes.a.shop.searchClients("B offline").count == 6)
        #expect(try boxes.b.shop.searchClients("A offline").count == 7)
        await relay.stop()
    }

    @Test("two boxes converge through a relay (SQLite) only, also after it was down while both kept writing; the relay's files never hold a client's name")
    func convergeThroughSQLiteRelay() async throws {
        let root = NSTemporaryDirectory() + "edgenode-uplink-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/relay", withIntermediateDirectories: true)
        let relay = InProcessRelay { try SQLiteRelayStorage(path: root + "/relay/relay.sqlite", logger: Self.logger) }
        try await Self.scenario(root: root, relay: relay)
        // Nothing of what was booked through the boxes is readable at the relay.
        var scanned = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: root + "/relay") {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: root + "/relay/" + file))
            scanned += bytes.count
            for needle in [Self.clientName, Self.clientPhone, "B offline"] {
                #expect(bytes.range(of: Data(needle.utf8)) == nil, "found \(needle) in the relay's \(file)")
            }
        }
        #expect(scanned > 0)
        // The box's keyring is private.
        let attributes = try FileManager.default.attributesOfItem(atPath: root + "/a/relay-keyring")
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o077 } == 0)
    }

    @Test("the same through a relay over PostgreSQL", .enabled(if: UplinkTests.postgresURL != nil))
    func convergeThroughPostgresRelay() async throws {
        let root = NSTemporaryDirectory() + "edgenode-uplink-pg-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let url = try #require(Self.postgresURL)
        let relay = InProcessRelay { PostgresRelayStorage(configuration: try PostgresRelayStorage.configuration(url: url), logger: Self.logger) }
        try await Self.scenario(root: root, relay: relay)
    }

    @Test("an envelope the boxes cannot open (another key, garbage inside) is skipped: nothing applied, sync goes on")
    func unreadableEnvelopeIsSkipped() async throws {
        let root = NSTemporaryDirectory() + "edgenode-uplink-bad-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/relay", withIntermediateDirectories: true)
        let relay = InProcessRelay { try SQLiteRelayStorage(path: root + "/relay/relay.sqlite", logger: Self.logger) }
        try await relay.start()
        let boxes = try Self.makeBoxes(root: root, relayURL: relay.url)
        let servers = [Task { try await boxes.a.run() }, Task { try await boxes.b.run() }]
        defer { servers.forEach { $0.cancel() } }
        try await eventually("B receives A's business through the relay") { try Self.converged(boxes) }

        // A third box of the business, enrolled by the owner, pushes an envelope sealed with a key
        // of its own around bytes that are no changeset.
        let endpoint = try #require(RelayEndpoint(url: relay.url))
        let business = boxes.a.store.business
        let intruderKey = SigningKey.generate()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let certificate = try Certificate.issue(by: boxes.owner, for: intruderKey.publicKey, role: "box", branch: "x", notBefore: now - 60_000, notAfter: now + 86_400_000)
        _ = try await RelayClient(endpoint: endpoint, identity: boxes.owner, business: business)
            .send("/certificates", RelayJSON.CertificateRequest(certificate: Data(certificate.encoded).base64EncodedString()), as: RelayClient.Ignored.self)
        let envelope = try RelayEnvelope.seal(Array("not a changeset".utf8), business: business, author: intruderKey, sequence: 1,
                                              previousHash: RelayEnvelope.noPreviousHash, dataKey: DataKey.generate(id: DataKeyID(1)), sealedAt: now)
        let pushed = try await RelayClient(endpoint: endpoint, identity: intruderKey, business: business)
            .send("/envelopes", RelayJSON.PushRequest(envelopes: [Data(envelope.bytes).base64EncodedString()]), as: RelayJSON.PushReply.self)
        #expect(pushed.results.map(\.status) == ["stored"])

        // Both boxes keep syncing; neither applies anything of the intruder's.
        for index in 0..<3 { _ = try boxes.a.shop.createClient(ClientDraft(name: "After \(index)"), branch: boxes.branch) }
        try await eventually("B receives A's later writes") { try boxes.b.shop.searchClients("After").count == 3 && Self.converged(boxes) }
        let intruder = certificate.subjectSite
        #expect(boxes.a.store.versionVector[intruder] == 0 && boxes.b.store.versionVector[intruder] == 0)
        try await eventually("both uplinks pulled past it and stay connected") {
            [boxes.a, boxes.b].allSatisfy { $0.uplink?.current.connected == true && ($0.uplink?.current.pulled ?? 0) > 0 }
        }
        await relay.stop()
    }

    @Test("revoking a box rotates the data key: what is written afterwards is sealed with a generation sealed only to the boxes that remain")
    func revocationRotatesTheDataKey() async throws {
        let root = NSTemporaryDirectory() + "edgenode-uplink-rotate-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/relay", withIntermediateDirectories: true)
        let relay = InProcessRelay { try SQLiteRelayStorage(path: root + "/relay/relay.sqlite", logger: Self.logger) }
        try await relay.start()
        let boxes = try Self.makeBoxes(root: root, relayURL: relay.url)
        // A third box, C, which the owner enrolled: A seals the key to it too.
        let cDirectory = try PeerSyncTests.joinSecondBox(ReplicaDirectory(path: root + "/a"), at: root + "/c")
        let cCertificate = try Certificate.decode(try cDirectory.readFile(cDirectory.certificatePath))
        try boxes.a.store.record(certificate: cCertificate)
        let c = cCertificate.subjectSite
        let business = boxes.a.store.business
        let endpoint = try #require(RelayEndpoint(url: relay.url))
        let servers = [Task { try await boxes.a.run() }, Task { try await boxes.b.run() }]
        defer { servers.forEach { $0.cancel() } }
        try await eventually("B receives A's business through the relay") { try Self.converged(boxes) }
        _ = try await RelayClient(endpoint: endpoint, identity: boxes.owner, business: business)
            .send("/certificates", RelayJSON.CertificateRequest(certificate: Data(cCertificate.encoded).base64EncodedString()), as: RelayClient.Ignored.self)
        let storage = try #require(relay.storage)
        try await eventually("A seals generation 1 to C") { try await !storage.sealedKeys(of: business, recipient: c, keyID: DataKeyID(1)).isEmpty }

        let bSessions = boxes.b.uplink?.current.sessions
        // The owner revokes C (C's box was stolen).
        let owner = try ReplicaDirectory(path: root + "/a").loadOwnerKey()
        try boxes.a.store.record(revocation: try Revocation.issue(by: owner, revoking: cCertificate.subjectKey,
                                                                  effectiveFrom: Int64(Date().timeIntervalSince1970 * 1000) - 1000, reason: "box stolen"))
        let aFiles = UplinkFiles(directory: ReplicaDirectory(path: root + "/a"))
        let bFiles = UplinkFiles(directory: ReplicaDirectory(path: root + "/b"))
        try await eventually("A rotates to generation 2") { try aFiles.loadKeyring().current?.id == DataKeyID(2) }
        let aBefore = boxes.a.store.versionVector[boxes.a.store.site]
        let bBefore = boxes.b.store.versionVector[boxes.b.store.site]
        _ = try boxes.a.shop.createClient(ClientDraft(name: "After revocation A"), branch: boxes.branch)
        try await eventually("B receives A's write sealed with generation 2") { try boxes.b.shop.searchClients("After revocation A").count == 1 }
        try await eventually("B holds generation 2") { try bFiles.loadKeyring()[DataKeyID(2)] != nil }
        _ = try boxes.b.shop.createClient(ClientDraft(name: "After revocation B"), branch: boxes.branch)
        try await eventually("A receives B's write") { try boxes.a.shop.searchClients("After revocation B").count == 1 }

        // What each box wrote afterwards is sealed with generation 2; C was never given it.
        func generations(of site: SiteID, after sequence: UInt64) async throws -> Set<UInt32> {
            Set(try await storage.envelopes(of: business, author: site, after: sequence, limit: 100)
                .map { try RelayEnvelope.decode($0, maxBytes: .max).keyID.rawValue })
        }
        #expect(try await generations(of: boxes.a.store.site, after: aBefore) == [2])
        #expect(try await generations(of: boxes.b.store.site, after: bBefore) == [2])
        #expect(try await storage.sealedKeys(of: business, recipient: c, keyID: DataKeyID(2)).isEmpty)
        #expect(try await !storage.sealedKeys(of: business, recipient: boxes.b.store.site, keyID: DataKeyID(2)).isEmpty)
        // B fetched the new generation when it met it, without starting a new session.
        #expect(boxes.b.uplink?.current.sessions == bSessions)
        // The relay heard of the revocation: it refuses C and dropped the keys sealed to it.
        let cIdentity = try cDirectory.loadOrCreateIdentity()
        await #expect {
            _ = try await RelayClient(endpoint: endpoint, identity: cIdentity, business: business).send(.GET, "/data-keys")
        } throws: { ($0 as? RelayClient.Problem)?.kind == "revoked" }
        #expect(try await storage.sealedKeys(of: business, recipient: c, keyID: nil).isEmpty)
        // One rotation for one revocation.
        #expect(try aFiles.loadKeyring().keys.keys.map(\.rawValue).sorted() == [1, 2])
        #expect(try aFiles.loadRotations() == [c])
        await relay.stop()
    }

    @Test("relay.url: empty is off; anything but http(s)://host[:port][/path] is refused")
    func relayURLSetting() throws {
        #expect(RelayEndpoint(url: "http://relay.example:8480/base/") == RelayEndpoint(url: "http://relay.example:8480/base"))
        #expect(RelayEndpoint(url: "http://[::1]:8480")?.host == "::1")
        #expect(RelayEndpoint(url: "http://relay.example")?.port == 80)
        #expect(RelayEndpoint(url: "http://relay.example")?.isTLS == false)
        #expect(RelayEndpoint(url: "https://relay.example")?.port == 443)
        #expect(RelayEndpoint(url: "HTTPS://relay.example:8443/r")?.isTLS == true)
        #expect(RelayEndpoint(url: "https://relay.example:8443/r")?.description == "https://relay.example:8443/r")
        for bad in ["relay.example:8480", "http://", "ftp://x", "http://x:0", "http://x/?a=b", "https://user@x", "wss://x"] {
            #expect(RelayEndpoint(url: bad) == nil, "\(bad)")
        }
    }
}
