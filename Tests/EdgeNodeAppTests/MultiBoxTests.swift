import Domain
import Foundation
import Logging
import Prometheus
import Relay
import Replication
import Synchronization
import Testing
import TestSupport
@testable import EdgeNodeApp
@testable import LANSync
@testable import OutboundHTTP
@testable import RelayUplink

/// More than two boxes through one relay, and a box whose clock is off (issue 14, items 1 and 3).
@Suite("Several boxes and skewed clocks (loopback relay)", .serialized)
struct MultiBoxTests {
    static func converged(_ boxes: [EdgeNodeRuntime]) throws -> Bool {
        guard let first = boxes.first else { return true }
        return try boxes.dropFirst().allSatisfy { try InvitationTests.converged(first, $0) }
    }

    @Test("a third and a fourth box that join by invitation while the owner's box and the others run each get the data key and converge (the relay keeps the owner's seal)")
    func joinWhileOthersRun() async throws {
        let root = NSTemporaryDirectory() + "edgenode-multibox-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (relay, _) = try InvitationTests.relay(root: root)
        try await relay.start()
        let (a, branch) = try InvitationTests.ownerBox(root: root, relayURL: relay.url, clients: 5, pullWait: 2)
        var boxes = [a]
        var servers = [Task { try await a.run() }]
        defer { servers.forEach { $0.cancel() } }
        for name in ["b", "c", "d"] {
            // Every box already in the business runs while this one joins: each of them seals the
            // data key to it as soon as it hears of its certificate.
            let directory = try await RelaySnapshotTests.join(name, root: root, relayURL: relay.url, branch: branch)
            let box = try InvitationTests.runtime(directory, relayURL: relay.url, pullWait: 2)
            servers.append(Task { try await box.run() })
            boxes.append(box)
            let running = boxes
            try await eventually("box \(name) gets the data key and converges with the \(running.count - 1) boxes that ran while it joined") {
                try box.uplink?.current.connected == true && Self.converged(running)
            }
            // It holds the key: what it writes reaches every other box through the relay.
            _ = try box.shop.createClient(ClientDraft(name: "Written on \(name)"), branch: branch)
            try await eventually("every box receives \(name)'s write") {
                try running.allSatisfy { try $0.shop.searchClients("Written on \(name)").count == 1 } && Self.converged(running)
            }
        }
        #expect(boxes.count == 4)
        await InvitationTests.stop(servers.reversed(), relay: relay)
    }

    @Test("a box whose clock is two hours ahead of the relay's still syncs through it (signing with the relay's time), and its status, health and log say the relay refuses its clock")
    func skewedClock() async throws {
        let root = NSTemporaryDirectory() + "edgenode-skew-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (relay, _) = try InvitationTests.relay(root: root)
        try await relay.start()
        let (a, branch) = try InvitationTests.ownerBox(root: root, relayURL: relay.url, clients: 5, pullWait: 2)
        let serverA = Task { try await a.run() }
        defer { serverA.cancel() }
        let bDirectory = try await RelaySnapshotTests.join("b", root: root, relayURL: relay.url, branch: branch)

        // B's clock (all of it: its replica's and its uplink's) runs two hours ahead.
        let skew: UInt64 = 2 * 3_600_000
        var configuration = NodeConfiguration.loopback(bDirectory)
        configuration.relay.url = relay.url
        configuration.relay.pullWaitSeconds = 2
        let lines = LogRecorder(minimumLevel: .info)
        var logger = lines.logger(label: "skewed-box")
        logger.logLevel = .info
        let b = try EdgeNodeRuntime(configuration: configuration, logger: logger, registry: PrometheusCollectorRegistry(),
                                    physicalClock: PhysicalClock { PhysicalClock.system.now() + skew })
        let serverB = Task { try await b.run() }
        defer { serverB.cancel() }

        try await eventually("B converges with A through the relay despite its clock") { try InvitationTests.converged(a, b) }
        _ = try b.shop.createClient(ClientDraft(name: "Written on the skewed box"), branch: branch)
        try await eventually("A receives B's write") {
            try a.shop.searchClients("Written on the skewed box").count == 1 && InvitationTests.converged(a, b)
        }
        let uplink = try #require(b.uplink)
        #expect(uplink.current.connected)
        // The relay's clock minus B's: about −7200 s (the Date header counts whole seconds).
        let offset = try #require(uplink.time.offset)
        #expect(abs(offset + Int64(skew)) <= 5_000, "measured \(offset) ms")
        let status = try NodeStatus.document(store: b.store, shop: b.shop, dataDirectory: bDirectory.path, startedAt: nil, uplink: b.uplink)
        guard case .object(let section)? = status["uplink"], case .integer(let seconds)? = section["clock_offset_seconds"],
              case .string(let warning)? = section["clock_warning"], case .array(let health)? = status["health"] else {
            Issue.record("no clock_offset_seconds, clock_warning or health in B's status: \(status)")
            return
        }
        #expect(abs(seconds + 7200) <= 5)
        #expect(warning.hasPrefix("the relay refuses this box's clock: off by 7"))
        #expect(health.contains(.object(["kind": .string("relay_clock"), "message": .string(warning)])))
        #expect(lines.recorded.contains { $0.hasPrefix("warning the relay refuses this box's clock: off by 7") })
        // A's clock is right: no warning there.
        let statusA = try NodeStatus.document(store: a.store, shop: a.shop, dataDirectory: root + "/a", startedAt: nil, uplink: a.uplink)
        guard case .object(let sectionA)? = statusA["uplink"] else { Issue.record("no uplink in A's status"); return }
        #expect(sectionA["clock_warning"] == .null)
        #expect(a.uplink?.time.correction == 0)
        await InvitationTests.stop([serverB, serverA], relay: relay)
    }

    @Test("the relay's Date header parses as RFC 9110 requires; anything else is ignored")
    func httpDate() {
        #expect(RelayTime.parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(RelayTime.parseHTTPDate("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(RelayTime.parseHTTPDate("Tue, 29 Feb 2028 12:00:00 GMT") == 1_835_438_400)
        for bad in ["", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
                    "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT"] {
            #expect(RelayTime.parseHTTPDate(bad) == nil, "\(bad)")
        }
        let time = RelayTime(local: { 1_000_000_000_000 })
        #expect(time.offset == nil && time.correction == 0 && !time.isBeyondWindow)
        #expect(!time.observe(dateHeader: "garbage", receivedAt: 1_000_000_000_000))
        // Ten seconds apart: measured, but within the tolerance the box signs with its own clock.
        #expect(time.observe(dateHeader: "Sun, 09 Sep 2001 01:46:49 GMT", receivedAt: 1_000_000_000_000))
        #expect(time.offset == 10_000 && time.correction == 0 && time.now() == 1_000_000_000_000)
        // An hour apart: the box signs with the relay's time and says its clock is beyond the window.
        #expect(time.observe(dateHeader: "Sun, 09 Sep 2001 02:46:39 GMT", receivedAt: 1_000_000_000_000))
        #expect(time.correction == 3_600_000 && time.now() == 1_000_003_600_000 && time.isBeyondWindow)
        // A refusal of the clock says so, with the offset when it is known.
        let stale = PeerHTTP.Reply(status: 401, body: Array(#"{"type":"urn:edgenode:problem:stale_request","detail":"too far"}"#.utf8))
        #expect(RelayClient.problem(from: stale, time: time).detail.hasPrefix("the relay refuses this box's clock: off by 3600 s (this box's clock is behind the relay's)"))
        #expect(RelayClient.problem(from: stale).detail.hasPrefix("the relay refuses this box's clock: off by an unknown amount"))
    }
}
