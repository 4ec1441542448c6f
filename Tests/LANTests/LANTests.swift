import Foundation
import Replication
import Testing
@testable import EdgeNodeApp
import TestSupport

/// Real `edgenode` processes in network namespaces, each host with its own D-Bus and
/// avahi-daemon (limited to the test links), joined by veth pairs: discovery and LAN sync as
/// the boxes in a shop would do them.
@Suite("LAN discovery and sync between boxes in network namespaces", .serialized)
struct LANTests {
    static func business(_ box: Box) throws -> BusinessID {
        let status = try box.status()
        return BusinessID(bytes: Array(hex: status["business"] as! String))!
    }

    @Test("a box announces _edgenode._tcp with its business's subtype and TXT; an independent browser (avahi-browse) sees exactly that")
    func announcement() async throws {
        try await offPool {
            let lab = try NetLab()
            defer { lab.tearDown() }
            let boxHost = try lab.addHost("shop")
            let observer = try lab.addHost("observer")
            _ = try lab.segment([boxHost, observer])
            let box = try Box.initialise(boxHost, branch: "Atyrau Central", root: lab.root)
            for host in [boxHost, observer] {
                try host.startDBus()
                try host.startAvahi()
            }
            try box.serve()
            let business = try Self.business(box)
            let subtype = LANAnnouncement.subtype(for: business)
            let status = try box.status()
            let fingerprint = LANAnnouncement.fingerprint(of: PublicKey(hex: status["public_key"] as! String)!)

            var lines: [String] = []
            let heard = try holdsWithin(.seconds(30), every: .milliseconds(1000)) {
                lines = try observer.browse("\(subtype)._sub._edgenode._tcp")
                return !lines.isEmpty
            }
            #expect(heard, "the observer did not hear the box; box log: \(box.log)")
            let fields = lines.first?.split(separator: ";", omittingEmptySubsequences: false).map(String.init) ?? []
            // =;interface;protocol;name;type;domain;host;address;port;txt
            #expect(fields.count == 10)
            if fields.count == 10 {
                #expect(fields[3] == "Atyrau\\032Central")
                #expect(fields[4] == "_edgenode._tcp")
                #expect(fields[7] == "10.77.1.1")
                #expect(fields[8] == "8470")
                #expect(fields[9].contains("\"txtvers=1\""))
                #expect(fields[9].contains("\"proto=\(PeerHandshake.protocolVersion)\""))
                #expect(fields[9].contains("\"fp=\(fingerprint)\""))
                #expect(fields[9].contains("\"path=/v1\""))
                // The business id itself is not broadcast.
                #expect(!fields[9].contains(business.hex))
            }
            // Tablets browse the plain type; another business's subtype hears nothing of ours.
            #expect(try observer.browse("_edgenode._tcp").contains { $0.contains("Atyrau\\032Central") })
            let otherSubtype = LANAnnouncement.subtype(for: BusinessID(bytes: Array(repeating: 7, count: 16))!)
            #expect(try observer.browse("\(otherSubtype)._sub._edgenode._tcp").isEmpty)
            #expect(box.discoveryState == "announced")
        }
    }

    @Test("a peer that does not answer its first resolution (its host name has no address yet) is asked again, and listed once it answers")
    func resolutionRetried() async throws {
        try await offPool {
            let lab = try NetLab()
            defer { lab.tearDown() }
            let boxHost = try lab.addHost("shop")
            let ghostHost = try lab.addHost("ghost")
            _ = try lab.segment([boxHost, ghostHost])
            let box = try Box.initialise(boxHost, branch: "Atyrau Central", root: lab.root)
            for host in [boxHost, ghostHost] {
                try host.startDBus()
                try host.startAvahi()
            }
            try box.serve(["EDGENODE_LOG_LEVEL": "debug"])
            let subtype = LANAnnouncement.subtype(for: try Self.business(box))
            // An instance of the business's subtype whose SRV names a host with no address yet:
            // resolving it times out.
            let ghostName = "phantom-\(lab.id).local"
            try ghostHost.start("publish-service", "/usr/bin/avahi-publish", [
                "-s", "-H", ghostName, "--subtype=\(subtype)._sub._edgenode._tcp", "Ghost box", "_edgenode._tcp", "8470",
                "txtvers=1", "proto=\(PeerHandshake.protocolVersion)", "fp=00112233445566778899aabbccddeeff", "path=/v1",
            ])
            #expect(holdsWithin(.seconds(60), every: .milliseconds(500)) { box.log.contains("mDNS: a peer did not answer") }, "box log: \(box.log)")
            #expect(!box.peers.contains { ($0["name"] as? String) == "Ghost box" })
            // The host name gets its address: the box's next attempt resolves the instance.
            try ghostHost.start("publish-address", "/usr/bin/avahi-publish", ["-a", "-R", ghostName, "10.77.1.99"])
            #expect(holdsWithin(.seconds(60), every: .milliseconds(500)) {
                box.peers.contains { ($0["name"] as? String) == "Ghost box" && ($0["source"] as? String) == "mdns" && ($0["address"] as? String)?.hasPrefix("10.77.1.99") == true }
            }, "box peers: \(box.peers)\nlog: \(box.log.suffix(3000))")
        }
    }

    @Test("three boxes edited while cut off converge when reconnected, with no configuration; with the middle box as the only bridge too; a box of another business is refused")
    func threeBoxes() async throws {
        try await offPool {
            let lab = try NetLab()
            defer { lab.tearDown() }
            let hosts = try ["a", "b", "c"].map { try lab.addHost($0) }
            let strangerHost = try lab.addHost("x")
            let segment = try lab.segment(hosts + [strangerHost])
            // Spare links for the second act: a–b and b–c only (a and c never meet).
            let ab = try lab.link(hosts[0], hosts[1])
            let bc = try lab.link(hosts[1], hosts[2])
            try ab.set(up: false)
            try bc.set(up: false)

            let a = try Box.initialise(hosts[0], branch: "Atyrau Central", root: lab.root)
            let b = try Box.join(hosts[1], owner: a, root: lab.root)
            let c = try Box.join(hosts[2], owner: a, root: lab.root)
            let stranger = try Box.initialise(strangerHost, branch: "Someone else's salon", root: lab.root)
            let boxes = [a, b, c]
            for host in hosts + [strangerHost] {
                try host.startDBus()
                try host.startAvahi()
            }
            for box in boxes { try box.serve() }
            // The stranger is told about a by address (it could never hear a: other subtype).
            try stranger.serve(["EDGENODE_SYNC_PEERS": "10.77.1.1:8470"])

            func converged() throws -> Bool {
                let vectors = boxes.map(\.vector)
                guard vectors.allSatisfy({ $0 == vectors[0] && !$0.isEmpty }) else { return false }
                let names = try boxes.map { try $0.clientNames() }
                return names.allSatisfy { $0 == names[0] }
            }
            // Bootstrap: b and c get the business's data from whoever they hear.
            #expect(holdsWithin(.seconds(60)) { (try? converged()) ?? false }, "no bootstrap: \(boxes.map(\.vector))\n\(b.log)")
            #expect(holdsWithin(.seconds(30)) { b.peers.contains { ($0["name"] as? String) == "Atyrau Central" && ($0["state"] as? String) == "current" } },
                    "b's peers: \(b.peers)")

            // Act 1: everyone unplugged, each edited apart, then plugged back in.
            try segment.set(up: false)
            for (index, box) in boxes.enumerated() {
                for n in 0..<15 { try box.createClient("Act one \(["A", "B", "C"][index]) \(n)") }
            }
            #expect(try boxes.map { try $0.clientNames().filter { $0.hasPrefix("Act one") }.count } == [15, 15, 15])
            try segment.set(up: true)
            #expect(holdsWithin(.seconds(90)) { (try? converged()) ?? false }, "act 1 did not converge: \(boxes.map(\.vector))")
            #expect(try a.clientNames().filter { $0.hasPrefix("Act one") }.count == 45)
            // Status shows the peers with nothing pending either way (once the next round reported the peer's vector).
            #expect(holdsWithin(.seconds(30)) {
                a.peers.contains { ($0["state"] as? String) == "current" && $0["pending_to_peer"] as? Int == 0 && $0["pending_from_peer"] as? Int == 0
                    && ($0["source"] as? String) == "mdns" && $0["last_sync"] is String && $0["last_seen"] is String }
            }, "a's peers: \(a.peers)")

            // The command line shows the same, from the running daemon. Boxes of one branch share
            // its name, so the instance names settle on "Atyrau Central", "… #2", "… #3" in some
            // order, and the peers' last known vectors catch up a round after convergence.
            var cli = ""
            let shown = try holdsWithin(.seconds(30), every: .milliseconds(500)) {
                cli = try hosts[1].run(Binary.edgenode, ["status", "--data-dir", b.directory, "--port", "8470"]).output
                return cli.contains("mDNS        announced as \"Atyrau Central") && cli.contains("[current]")
                    && cli.contains("via mdns") && cli.contains("pending: 0 to send, 0 to receive")
            }
            #expect(shown, "\(cli)")
            // And /metrics counts the peers by state, with nothing pending for any of them.
            var metrics = ""
            let counted = try holdsWithin(.seconds(30), every: .milliseconds(500)) {
                metrics = try ConsoleClient(host: a.host.managementAddress, port: a.port, token: "").request("GET", "/metrics", body: nil).1
                return metrics.contains("edgenode_lan_peers{state=\"current\"} 2") && metrics.contains("edgenode_lan_pending_changesets{direction=\"to_peers\"} 0")
                    && metrics.contains("edgenode_lan_pending_changesets{direction=\"from_peers\"} 0")
            }
            #expect(counted, "\(metrics)")

            // Act 2: the shared segment is gone; a–b and b–c are the only links. Edited apart first.
            try segment.set(up: false)
            for (index, box) in boxes.enumerated() {
                for n in 0..<10 { try box.createClient("Act two \(["A", "B", "C"][index]) \(n)") }
            }
            try ab.set(up: true)
            try bc.set(up: true)
            #expect(holdsWithin(.seconds(90)) { (try? converged()) ?? false }, "act 2 did not converge: \(boxes.map(\.vector))")
            #expect(try c.clientNames().filter { $0.hasPrefix("Act two A") }.count == 10)
            // a and c never talked in act 2: the only way a's edits reached c is through b.
            let identical = try boxes.map { try $0.clientNames() }
            #expect(identical[0] == identical[2])

            // The stranger was refused with a reason in a's log, and nothing of it was applied.
            #expect(a.log.contains("peer refused") && a.log.contains("wrong_business"), "a's log: \(a.log)")
            #expect(try a.clientNames().allSatisfy { !$0.contains("Someone") })
            let strangerView = stranger.peers.first { ($0["address"] as? String) == "10.77.1.1:8470" }
            #expect(strangerView?["state"] as? String == "refused", "stranger's peers: \(stranger.peers)")
            #expect(!(try a.status()["vector"] as! [String: Int]).keys.contains(try stranger.status()["site"] as! String))
        }
    }

    @Test("without D-Bus, without avahi-daemon, and when either restarts, the box keeps serving, logs one warning per outage, recovers and re-announces")
    func daemonsComeAndGo() async throws {
        try await offPool {
            let lab = try NetLab()
            defer { lab.tearDown() }
            let boxHost = try lab.addHost("shop")
            let observer = try lab.addHost("observer")
            _ = try lab.segment([boxHost, observer])
            try observer.startDBus()
            try observer.startAvahi()
            let box = try Box.initialise(boxHost, branch: "Leeds Kirkgate", root: lab.root)
            let subtype = LANAnnouncement.subtype(for: try {
                let status = try JSONSerialization.jsonObject(with: Data(try shell(Binary.edgenode, ["status", "--json", "--data-dir", box.directory, "--port", "1"]).output.utf8)) as! [String: Any]
                return BusinessID(bytes: Array(hex: status["business"] as! String))!
            }())
            func observerSees() -> Bool { ((try? observer.browse("\(subtype)._sub._edgenode._tcp")) ?? []).contains { $0.contains("Leeds\\032Kirkgate") } }
            func warnings() -> Int { box.log.split(separator: "\n").filter { $0.contains("warning") && $0.contains("mDNS") }.count }

            // 1. No D-Bus at all: serving, one warning, retrying quietly.
            try box.serve()
            #expect(holdsWithin(.seconds(10)) { box.discoveryState == "unavailable" })
            Thread.sleep(forTimeInterval: 5)  // several retries (at most 2 s apart here)
            #expect(box.isHealthy)
            #expect(warnings() == 1, "log: \(box.log)")
            #expect(box.log.contains("cannot reach the system D-Bus"))

            // 2. D-Bus appears, avahi-daemon not yet: the client waits for it.
            try boxHost.startDBus()
            #expect(holdsWithin(.seconds(20)) { box.discoveryState == "waiting_for_daemon" }, "state: \(box.discoveryState)")
            // 3. avahi-daemon starts: announced, the observer hears it, the recovery is logged.
            try boxHost.startAvahi()
            #expect(holdsWithin(.seconds(30)) { box.discoveryState == "announced" }, "state: \(box.discoveryState); log: \(box.log)")
            #expect(holdsWithin(.seconds(30), every: .milliseconds(1000)) { observerSees() })
            #expect(box.log.contains("mDNS available again"))
            #expect(warnings() == 1)

            // 4. avahi-daemon killed: still serving; one more warning; restarted: re-announced.
            boxHost.stop("avahi")
            #expect(holdsWithin(.seconds(20)) { box.discoveryState != "announced" })
            #expect(holdsWithin(.seconds(30), every: .milliseconds(1000)) { !observerSees() })
            #expect(box.isHealthy)
            Thread.sleep(forTimeInterval: 3)
            #expect(warnings() == 2, "log: \(box.log)")
            try boxHost.startAvahi()
            #expect(holdsWithin(.seconds(30)) { box.discoveryState == "announced" }, "state: \(box.discoveryState); log: \(box.log)")
            #expect(holdsWithin(.seconds(30), every: .milliseconds(1000)) { observerSees() })

            // 5. D-Bus and avahi-daemon both go (a restart of the system bus): the same again.
            boxHost.stop("avahi")
            boxHost.stopDBus()
            #expect(holdsWithin(.seconds(20)) { box.discoveryState == "unavailable" }, "state: \(box.discoveryState)")
            #expect(box.isHealthy)
            try boxHost.startDBus()
            try boxHost.startAvahi()
            #expect(holdsWithin(.seconds(30)) { box.discoveryState == "announced" }, "state: \(box.discoveryState); log: \(box.log)")
            #expect(holdsWithin(.seconds(30), every: .milliseconds(1000)) { observerSees() })
            #expect(warnings() == 3, "log: \(box.log)")
            // One request of each kind still works after all that.
            #expect(try box.createClient("Still here").contains("Still here"))
        }
    }
}

extension Array where Element == UInt8 {
    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        self = bytes
    }
}
