import Domain
import Foundation
import Logging
import Prometheus
import Replication
import Testing
@testable import EdgeNodeApp

/// Runs blocking socket I/O on its own thread, so the in-process server keeps Swift's cooperative threads.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

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
        var configuration = NodeConfiguration()
        configuration.dataDirectory = firstDirectory.path
        configuration.http.bind = "127.0.0.1"
        configuration.http.port = 0
        let first = try EdgeNodeRuntime(configuration: configuration, logger: Self.logger, registry: PrometheusCollectorRegistry())
        let secondStore = try secondDirectory.openStore(logger: Self.logger)
        let second = try Shop(store: secondStore, logger: Self.logger)
        // Edited apart: clients on both.
        for index in 0..<30 { _ = try first.shop.createClient(ClientDraft(name: "Клиент A\(index)"), branch: result.branchID) }
        let server = Task { try await first.run() }
        defer { server.cancel() }
        while first.port == 0 { try await Task.sleep(for: .milliseconds(20)) }
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
        func runtime(_ directory: ReplicaDirectory) throws -> EdgeNodeRuntime {
            var configuration = NodeConfiguration()
            configuration.dataDirectory = directory.path
            configuration.http.bind = "127.0.0.1"
            configuration.http.port = 0
            return try EdgeNodeRuntime(configuration: configuration, logger: Self.logger, registry: PrometheusCollectorRegistry())
        }
        let a = try runtime(aDirectory)
        let b = try runtime(bDirectory)
        let c = try Shop(store: try cDirectory.openStore(logger: Self.logger), logger: Self.logger)
        let servers = [Task { try await a.run() }, Task { try await b.run() }]
        defer { servers.forEach { $0.cancel() } }
        while a.port == 0 || b.port == 0 { try await Task.sleep(for: .milliseconds(20)) }

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
}
