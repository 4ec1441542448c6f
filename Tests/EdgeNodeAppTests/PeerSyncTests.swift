import Domain
import Foundation
import Logging
import Prometheus
import Replication
import Testing
@testable import EdgeNodeApp
@testable import LANSync
@testable import OutboundHTTP
@testable import RelayUplink
import TestSupport


@Suite("Peer sync over HTTP (loopback)", .serialized)
struct PeerSyncTests {
    static let logger: Logger = {
        var logger = Logger(label: "peer-sync-test")
        logger.logLevel = .critical
        return logger
    }()

    /// A second box of the business whose first box is in `first`.
    static func joinSecondBox(_ first: ReplicaDirectory, at path: String) throws -> ReplicaDirectory {
        let second = ReplicaDirectory(path: path)
        try second.create()
        let owner = try first.loadOwnerKey()
        let identity = try second.loadOrCreateIdentity()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let certificate = try Certificate.issue(by: owner, for: identity.publicKey, role: "box", branch: "spare", notBefore: now - 60_000, notAfter: now + 86_400_000)
        try second.writeFile(certificate.encoded, to: second.certificatePath)
        return second
    }

    @Test("two boxes edited apart authenticate each other and converge in one sync; a box of another business is refused")
    func converge() async throws {
        let root = NSTemporaryDirectory() + "edgenode-peers-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let firstDirectory = ReplicaDirectory(path: root + "/a")
        let result = try Provisioning(branchName: "Atyrau Central", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Owner")
            .run(in: firstDirectory, logger: Self.logger)
        let secondDirectory = try Self.joinSecondBox(firstDirectory, at: root + "/b")
        let first = try Self.runtime(firstDirectory)
        let secondStore = try secondDirectory.openStore(logger: Self.logger)
        let second = try Shop(store: secondStore, logger: Self.logger)
        // Edited apart: clients on both.
        for index in 0..<30 { _ = try first.shop.createClient(ClientDraft(name: "Клиент A\(index)"), branch: result.branchID) }
        let server = Task { try await first.run() }
        defer { server.cancel() }
        _ = try await first.waitUntilListening()
        // Bad requests get specific problems, not a 500.
        let raw = ConsoleClient(host: "127.0.0.1", port: first.port, token: "")
        let noSession = try await offPool { try raw.request("POST", "/sync/v1/exchange", body: Data(#"{"vector":"","changesets":[]}"#.utf8)) }
        #expect(noSession.0 == 403 && noSession.1.contains("peer_refused"))
        let version = try await offPool { try raw.request("POST", "/sync/v1/hello", body: Data(#"{"protocol_version":2,"certificate":"","nonce":""}"#.utf8)) }
        #expect(version.0 == 403 && version.1.contains("unsupported_version"))
        let garbage = try await offPool { try raw.request("POST", "/sync/v1/hello", body: Data("{not json".utf8)) }
        #expect(garbage.0 == 400 && garbage.1.contains("malformed_body"))
        let client = PeerSyncClient(shop: second, host: "127.0.0.1", port: first.port, batchLimit: 7)
        let initial = try await client.sync()
        #expect(initial.received > 30)
        for index in 0..<12 { _ = try second.createClient(ClientDraft(name: "Client B\(index)"), branch: result.branchID) }
        for index in 0..<5 { _ = try first.shop.createClient(ClientDraft(name: "Client A2-\(index)"), branch: result.branchID) }
        let again = try await client.sync()
        #expect(again.sent == 12)
        #expect(again.received == 5)
        #expect(first.store.versionVector == second.store.versionVector)
        #expect(try first.store.canonicalDump(includeClocks: false) == second.store.canonicalDump(includeClocks: false))
        #expect(try first.shop.searchClients("Client B").count == 12)

        // A box of another business is refused, and nothing is applied.
        let strangerDirectory = ReplicaDirectory(path: root + "/c")
        _ = try Provisioning(branchName: "Elsewhere", timeZone: "Europe/London", currency: "GBP", region: "GB", locale: "en-GB", ownerName: "Other")
            .run(in: strangerDirectory, logger: Self.logger)
        let stranger = try Shop(store: try strangerDirectory.openStore(logger: Self.logger), logger: Self.logger)
        let before = first.store.versionVector
        await #expect(throws: PeerAuthError.self) { try await PeerSyncClient(shop: stranger, host: "127.0.0.1", port: first.port).sync() }
        #expect(first.store.versionVector == before)
    }

    @Test("gossip: A sees B and B sees C, never A and C; all three converge. A transfer cut short resumes without resending")
    func gossipAndResume() async throws {
        let root = NSTemporaryDirectory() + "edgenode-gossip-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let aDirectory = ReplicaDirectory(path: root + "/a")
        let result = try Provisioning(branchName: "Leeds", timeZone: "Europe/London", currency: "GBP", region: "GB", locale: "en-GB", ownerName: "Owner")
            .run(in: aDirectory, logger: Self.logger)
        let bDirectory = try Self.joinSecondBox(aDirectory, at: root + "/b")
        let cDirectory = try Self.joinSecondBox(aDirectory, at: root + "/c")
        let a = try Self.runtime(aDirectory)
        let b = try Self.runtime(bDirectory)
        let c = try Shop(store: try cDirectory.openStore(logger: Self.logger), logger: Self.logger)
        let servers = [Task { try await a.run() }, Task { try await b.run() }]
        defer { servers.forEach { $0.cancel() } }
        _ = try await a.waitUntilListening()
        _ = try await b.waitUntilListening()

        // Bootstrap: B from A, C from B (C never talks to A). Then all three are edited apart.
        _ = try await PeerSyncClient(shop: b.shop, host: "127.0.0.1", port: a.port).sync()
        _ = try await PeerSyncClient(shop: c, host: "127.0.0.1", port: b.port).sync()
        for index in 0..<40 { _ = try a.shop.createClient(ClientDraft(name: "A \(index)"), branch: result.branchID) }
        for index in 0..<7 { _ = try b.shop.createClient(ClientDraft(name: "B \(index)"), branch: result.branchID) }
        for index in 0..<9 { _ = try c.createClient(ClientDraft(name: "C \(index)"), branch: result.branchID) }

        // B pulls from A, cut short after one round of batches of 5: it resumes later.
        // B also forwards what it got from C (C's first changeset, from the bootstrap): gossip.
        let bHasForA = try b.store.changesets(missingFrom: a.store.versionVector, limit: .max).count
        #expect(bHasForA == 7 + 1)
        let cut = try await PeerSyncClient(shop: b.shop, host: "127.0.0.1", port: a.port, batchLimit: 5).sync(maxRounds: 1)
        #expect(cut.received == 5)
        let resumed = try await PeerSyncClient(shop: b.shop, host: "127.0.0.1", port: a.port, batchLimit: 5).sync()
        // A's 40 new changesets arrived exactly once across the two runs; B's went to A once.
        #expect(cut.received + resumed.received == 40)
        #expect(cut.sent + resumed.sent == bHasForA)
        _ = try await PeerSyncClient(shop: c, host: "127.0.0.1", port: b.port).sync()
        _ = try await PeerSyncClient(shop: b.shop, host: "127.0.0.1", port: a.port).sync()
        #expect(a.store.versionVector == b.store.versionVector)
        #expect(b.store.versionVector == c.store.versionVector)
        #expect(try a.store.canonicalDump(includeClocks: false) == c.store.canonicalDump(includeClocks: false))
        #expect(try a.shop.searchClients("C").filter { $0.name.hasPrefix("C ") }.count == 9)
    }

    /// A box served on 127.0.0.1 (any port), never announced over mDNS, syncing only with `peers`.
    static func runtime(_ directory: ReplicaDirectory, peers: [String] = []) throws -> EdgeNodeRuntime {
        var configuration = NodeConfiguration.loopback(directory, lanSync: true)
        configuration.sync.peers = peers
        return try EdgeNodeRuntime(configuration: configuration, logger: logger, registry: PrometheusCollectorRegistry())
    }

    @Test("a static peer keeps both boxes current: edits on either side arrive within seconds (long-poll one way, push the other), and status shows the peer")
    func staticPeerKeepsCurrent() async throws {
        let root = NSTemporaryDirectory() + "edgenode-live-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let aDirectory = ReplicaDirectory(path: root + "/a")
        let result = try Provisioning(branchName: "Dhaka Gulshan", timeZone: "Asia/Dhaka", currency: "BDT", region: "BD", locale: "en", ownerName: "Owner")
            .run(in: aDirectory, logger: Self.logger)
        let bDirectory = try Self.joinSecondBox(aDirectory, at: root + "/b")
        let b = try Self.runtime(bDirectory)
        let bServer = Task { try await b.run() }
        defer { bServer.cancel() }
        _ = try await b.waitUntilListening()
        // Only a knows b (b never connects to a): b's edits reach a by a's long-poll, a's by a's push.
        let a = try Self.runtime(aDirectory, peers: ["127.0.0.1:\(b.port)"])
        let aServer = Task { try await a.run() }
        defer { aServer.cancel() }
        try await eventually("a and b are current with each other", timeout: .seconds(20)) { a.store.versionVector == b.store.versionVector && a.peers.all.first?.state == "current" }

        _ = try b.shop.createClient(ClientDraft(name: "Made on b"), branch: result.branchID)
        try await eventually("b's client reaches a", timeout: .seconds(10)) { try a.shop.searchClients("Made on b").count == 1 }
        _ = try a.shop.createClient(ClientDraft(name: "Made on a"), branch: result.branchID)
        try await eventually("a's client reaches b", timeout: .seconds(10)) { try b.shop.searchClients("Made on a").count == 1 }
        try await eventually("a and b have the same vector", timeout: .seconds(10)) { a.store.versionVector == b.store.versionVector }

        let status = try NodeStatus.document(store: a.store, shop: a.shop, dataDirectory: aDirectory.path, startedAt: nil, peers: a.peers)
        guard case .array(let peers)? = status["peers"], case .object(let peer)? = peers.first else {
            Issue.record("no peers in a's status: \(String(describing: status["peers"]))")
            return
        }
        #expect(peer["source"] == .string("static"))
        #expect(peer["address"] == .string("127.0.0.1:\(b.port)"))
        #expect(peer["site"] == .string(b.store.site.hex))
        #expect(peer["received"].map { if case .integer(let n) = $0 { n >= 1 } else { false } } == true)
        try await eventually("nothing pending either way", timeout: .seconds(10)) {
            let pending = a.peers.all.first.flatMap(\.theirVector).map { PeerDirectory.pending(ours: a.store.versionVector, theirs: $0) }
            return pending.map { $0.toPeer == 0 && $0.fromPeer == 0 } ?? false
        }
        // b saw a as an inbound peer.
        #expect(b.peers.all.contains { $0.source == "inbound" && $0.site == a.store.site })
        // Stop a (whose worker keeps connecting to b) before b, so b never tears down its server
        // under a connection that is just arriving.
        aServer.cancel()
        _ = await aServer.result
    }

    @Test("a revoked box is refused at the handshake, and forged or tampered changesets from an authenticated peer are refused with a reason; nothing is applied")
    func revokedAndForged() async throws {
        let root = NSTemporaryDirectory() + "edgenode-refuse-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let aDirectory = ReplicaDirectory(path: root + "/a")
        let result = try Provisioning(branchName: "Leeds", timeZone: "Europe/London", currency: "GBP", region: "GB", locale: "en-GB", ownerName: "Owner")
            .run(in: aDirectory, logger: Self.logger)
        let bDirectory = try Self.joinSecondBox(aDirectory, at: root + "/b")
        let cDirectory = try Self.joinSecondBox(aDirectory, at: root + "/c")
        let a = try Self.runtime(aDirectory)
        // A box whose first read of the search index comes before any write (a pre-existing bug: 503).
        #expect(try a.shop.searchClients("Only on c").isEmpty)
        let server = Task { try await a.run() }
        defer { server.cancel() }
        _ = try await a.waitUntilListening()
        let b = try Shop(store: try bDirectory.openStore(logger: Self.logger), logger: Self.logger)
        let c = try Shop(store: try cDirectory.openStore(logger: Self.logger), logger: Self.logger)
        _ = try await PeerSyncClient(shop: b, host: "127.0.0.1", port: a.port).sync()
        _ = try await PeerSyncClient(shop: c, host: "127.0.0.1", port: a.port).sync()

        // Forged: b is a genuine peer, but sends c's changeset with a flipped byte, and a
        // changeset signed by b's key claiming to be c's (wrong author). Both refused, nothing applied.
        _ = try c.createClient(ClientDraft(name: "Only on c"), branch: result.branchID)
        let genuine = try c.store.changesets(missingFrom: a.store.versionVector, limit: 10).map(\.bytes)
        #expect(genuine.count == 1)
        var tampered = genuine[0]
        tampered[tampered.count / 2] ^= 0x40
        let session = try await PeerSession.open(shop: b, host: "127.0.0.1", port: a.port, logger: Self.logger)
        var round = PeerSession.Round()
        let before = a.store.versionVector
        _ = try await session.exchange([tampered, Array(genuine[0].prefix(40))], wait: nil, into: &round)
        #expect(round.sent == 0)
        #expect(round.refused.count == 2, "\(round.refused)")
        #expect(a.store.versionVector == before)
        #expect(try a.shop.searchClients("Only on c").isEmpty)
        #expect(try a.store.recentRejections(limit: 5).count >= 1)

        // Revoked: the owner revokes c; a refuses c's handshake, logs why, applies nothing.
        let owner = try aDirectory.loadOwnerKey()
        let revocation = try Revocation.issue(by: owner, revoking: c.store.identity.publicKey, effectiveFrom: Int64(Date().timeIntervalSince1970 * 1000) - 1000, reason: "box stolen")
        try a.store.record(revocation: revocation)
        let afterRevocation = a.store.versionVector
        await #expect {
            _ = try await PeerSyncClient(shop: c, host: "127.0.0.1", port: a.port).sync()
        } throws: { error in
            "\(error)".contains("revoked") && "\(error)".contains("box stolen")
        }
        #expect(a.store.versionVector == afterRevocation)
        #expect(try a.shop.searchClients("Only on c").isEmpty)
        #expect(a.peers.all.contains { $0.state == "refused" && $0.site == c.store.site && ($0.lastError ?? "").contains("revoked") })
    }

    @Test("a waiting exchange (long-poll) is answered with the change made on the server while it waited")
    func longPoll() async throws {
        let root = NSTemporaryDirectory() + "edgenode-poll-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let aDirectory = ReplicaDirectory(path: root + "/a")
        let result = try Provisioning(branchName: "Atyrau", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Owner")
            .run(in: aDirectory, logger: Self.logger)
        let b = try Shop(store: try Self.joinSecondBox(aDirectory, at: root + "/b").openStore(logger: Self.logger), logger: Self.logger)
        let a = try Self.runtime(aDirectory)
        let server = Task { try await a.run() }
        defer { server.cancel() }
        _ = try await a.waitUntilListening()
        let session = try await PeerSession.open(shop: b, host: "127.0.0.1", port: a.port, logger: Self.logger)
        _ = try await session.exchangeUntilEqual()
        let waiting = Task { try await session.waitForChanges(seconds: 20) }
        // Only once a holds the exchange open does the change below prove the wake-up.
        try await eventually("a holds b's exchange open", timeout: .seconds(20)) { a.peers.parkedExchanges == 1 }
        _ = try a.shop.createClient(ClientDraft(name: "Walk-in"), branch: result.branchID)
        // Had the server not woken on the change, the wait would have ended empty after 20 s.
        let round = try await waiting.value
        #expect(round.received == 1)
        #expect(try b.searchClients("Walk-in").count == 1)
    }
}
