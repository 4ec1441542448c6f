import EdgeNodeApp
import Foundation
import Testing
import TestSupport

/// The owner's commands beside a running daemon (issue 14, item 2): `invite`, `status`, `certify`
/// and `revoke` while `edgenode serve` holds the replica, each a real process.
@Suite("Owner commands while the daemon runs", .serialized)
struct InviteWhileServingTests {
    @Test("invite (for another branch by name, and for the box's own), status, certify and revoke work while serve runs on a port of its own choosing; the invited box joins through the running daemon and syncs, and so does a third box invited while both run")
    func inviteWhileServing() async throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let processes = ChildProcesses()
        defer { processes.stopAll() }
        let aDirectory = root + "/a"
        try run(Binaries.edgenode, ["init", "--data-dir", aDirectory, "--branch", "Atyrau Central", "--time-zone", "Asia/Atyrau", "--owner-name", "Aigerim"])
        try FileManager.default.createDirectory(atPath: root + "/relay", withIntermediateDirectories: true)
        let relay = RelayProcess(dataDirectory: root + "/relay", storage: nil, processes: processes)
        try await relay.start()
        // The daemon's configuration says port 0: it listens wherever the system puts it.
        let a = try await BoxProcess.start("a", directory: aDirectory, relayURL: relay.url, processes: processes)
        let config = root + "/a.toml"
        let week: [String: Any] = Dictionary(uniqueKeysWithValues: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map { ($0, [["09:00", "21:00"]]) })
        let riverside = try #require(try a.call("POST", "/v1/branches", ["name": "Atyrau Riverside", "time_zone": "Asia/Atyrau", "currency": "KZT",
                                                                         "region": "KZ", "opening_hours": week], expect: 201)["id"] as? String)

        // status finds the running daemon (not the locked replica), also given only the data directory.
        let status = try await offPool { try run(Binaries.edgenode, ["status", "--data-dir", aDirectory], check: false) }
        #expect(status.status == 0, "\(status.error)")
        #expect(status.output.contains("source      running daemon on port \(a.port)"), "\(status.output)\(status.error)")

        // invite, by branch name, while the daemon holds the replica.
        let invited = try await offPool { try run(Binaries.edgenode, ["invite", "--config", config, "--branch", "atyrau riverside"], check: false) }
        #expect(invited.status == 0, "\(invited.error)")
        #expect(invited.output.contains("branch Atyrau Riverside (\(riverside))"), "\(invited.output)\(invited.error)")
        let token = try #require(invited.output.firstMatch(of: /edgenode-invite-1:[A-Za-z0-9_-]+/).map { String($0.0) }, "no token in: \(invited.output)\(invited.error)")
        // And for the box's own branch (the default).
        let own = try await offPool { try run(Binaries.edgenode, ["invite", "--config", config], check: false) }
        #expect(own.status == 0, "\(own.error)")
        #expect(own.output.contains("edgenode-invite-1:"), "\(own.output)\(own.error)")
        #expect(own.error.contains("serves this box's own branch"))

        // certify and revoke queue their records for the daemon (as before).
        let cDirectory = root + "/c"
        let cKey = try await offPool { try run(Binaries.edgenode, ["keygen", "--data-dir", cDirectory], check: false) }.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let certified = try await offPool {
            try run(Binaries.edgenode, ["certify", "--data-dir", aDirectory, "--public-key", cKey, "--branch", riverside, "--out", root + "/c.certificate"],
                    check: false)
        }
        #expect(certified.status == 0, "\(certified.error)")
        #expect(certified.output.contains("The daemon is running"), "\(certified.output)")
        let revoked = try await offPool { try run(Binaries.edgenode, ["revoke", "--data-dir", aDirectory, "--public-key", cKey], check: false) }
        #expect(revoked.status == 0, "\(revoked.error)")
        #expect(revoked.output.contains("The daemon is running"), "\(revoked.output)")

        // The invited box joins: the running daemon approves it, and it syncs through the relay.
        let bDirectory = root + "/b"
        let joined = try await offPool { try run(Binaries.edgenode, ["join", "--invitation", token, "--data-dir", bDirectory, "--wait", "120"], check: false) }
        #expect(joined.status == 0, "\(joined.output)\(joined.error)")
        let b = try await BoxProcess.start("b", directory: bDirectory, relayURL: nil, processes: processes)
        #expect(try b.status["branch_id"] as? String == riverside)
        try await RelayEndToEndTests.eventually("the invited box gets the data key and A's branches", boxes: [a, b]) {
            try b.uplink["state"] as? String == "connected" && b.items("/v1/branches").count == 2
        }
        // The clocks agree: the offset is measured, nothing is refused (relay-protocol §4.1).
        let (_, metrics) = try ConsoleClient(host: "127.0.0.1", port: a.port, token: a.token).request("GET", "/metrics", body: nil)
        #expect(metrics.contains("edgenode_relay_clock_refused 0"), "\(metrics)")
        #expect(metrics.contains("edgenode_relay_clock_offset_seconds "), "\(metrics)")
        let uplinkA = try a.uplink
        #expect(uplinkA["clock_warning"] is NSNull && (uplinkA["clock_offset_seconds"] as? Int).map { abs($0) <= 5 } == true, "\(uplinkA)")

        // A third box joins while A and B both run: both seal the data key to it at the relay in
        // the same moment, and it must still get the seal it can check (the owner's).
        let third = try await offPool { try run(Binaries.edgenode, ["invite", "--config", config, "--branch", riverside], check: false) }
        #expect(third.status == 0, "\(third.error)")
        let thirdToken = try #require(third.output.firstMatch(of: /edgenode-invite-1:[A-Za-z0-9_-]+/).map { String($0.0) }, "no token in: \(third.output)")
        let dDirectory = root + "/d"
        let joinedD = try await offPool { try run(Binaries.edgenode, ["join", "--invitation", thirdToken, "--data-dir", dDirectory, "--wait", "120"],
                                                  check: false) }
        #expect(joinedD.status == 0, "\(joinedD.output)\(joinedD.error)")
        let d = try await BoxProcess.start("d", directory: dDirectory, relayURL: nil, processes: processes)
        try await RelayEndToEndTests.eventually("the third box gets the data key and all three boxes converge", boxes: [a, b, d]) {
            let vectors = try [a.vector, b.vector, d.vector]
            return try d.uplink["state"] as? String == "connected" && vectors.allSatisfy { $0 == vectors[0] } && vectors[0].count == 3
        }
        // It holds the key: what it writes reaches the owner's box.
        try d.call("POST", "/v1/clients", ["name": "Written on the third box"], expect: 201)
        try await RelayEndToEndTests.eventually("A receives the third box's write", boxes: [a, d]) {
            try a.items("/v1/clients?q=third").count == 1
        }
        relay.stop()

        // A daemon that stopped takes its address with it; one that was killed leaves it behind,
        // and the commands then fall back on the data directory.
        #expect(a.child.stop() == 0, "box a did not stop cleanly:\n\(a.child.tail)")
        #expect(!FileManager.default.fileExists(atPath: aDirectory + "/daemon.url"))
        try "http://127.0.0.1:9\n".write(toFile: aDirectory + "/daemon.url", atomically: true, encoding: .utf8)
        let offline = try await offPool { try run(Binaries.edgenode, ["status", "--data-dir", aDirectory], check: false) }
        #expect(offline.status == 0, "\(offline.error)")
        #expect(offline.output.contains("source      data directory (the daemon is not running)"), "\(offline.output)")
    }
}
