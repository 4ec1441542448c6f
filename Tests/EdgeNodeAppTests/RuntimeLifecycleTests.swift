import Domain
import Foundation
import Replication
import Synchronization
import Testing
@testable import EdgeNodeApp
@testable import LANSync
@testable import OutboundHTTP
@testable import RelayUplink
import TestSupport

final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

@Suite("Box lifecycle")
struct RuntimeLifecycleTests {
    /// Whether `task` ends within `seconds`. Awaiting a task's result cannot be cancelled, so the
    /// waiting happens in a detached task and this only watches a flag: it returns even if `task` never ends.
    static func ends(_ task: Task<Void, Error>, within seconds: Int) async throws -> Bool {
        let ended = Flag()
        Task.detached { _ = await task.result; ended.value.store(true, ordering: .releasing) }
        return (try? await eventually("the task ends", timeout: .seconds(seconds)) { ended.value.load(ordering: .acquiring) }) != nil
    }

    // A service that only watched for graceful shutdown kept looping after cancellation (its
    // `try? await Task.sleep` returned at once), so `run()` never returned: CI hung for 90 minutes.
    @Test("cancelling a running box (serving, housekeeping, a static peer in backoff) makes run() return")
    func cancellationEndsRun() async throws {
        let root = NSTemporaryDirectory() + "edgenode-cancel-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = ReplicaDirectory(path: root + "/a")
        _ = try Provisioning(branchName: "Leeds", timeZone: "Europe/London", currency: "GBP", region: "GB", locale: "en-GB", ownerName: "Owner")
            .run(in: directory, logger: PeerSyncTests.logger)
        // Port 9 on loopback: nothing listens, so the peer worker is backing off.
        let box = try PeerSyncTests.runtime(directory, peers: ["127.0.0.1:9"])
        let server = Task { try await box.run() }
        _ = try await box.waitUntilListening()
        try await eventually("the peer at port 9 is unreachable", timeout: .seconds(120)) { box.peers.all.first?.state == "unreachable" }
        server.cancel()
        #expect(try await Self.ends(server, within: 60), "run() did not return after its task was cancelled")
    }
}
