import EdgeNodeApp
import Foundation
import Testing
import TestSupport

struct EndToEndFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A running `edgenode serve`, driven through its JSON API with the box console's token.
struct BoxProcess {
    let name: String
    let child: ChildProcess
    let port: Int
    let token: String

    static func start(_ name: String, directory: String, relayURL: String?, processes: ChildProcesses) async throws -> BoxProcess {
        // mDNS and LAN sync off: the boxes meet only through the relay.
        var toml = """
            data_dir = '\(directory)'
            [http]
            bind = "127.0.0.1"
            port = 0
            [discovery]
            enabled = false
            [sync]
            lan = false

            """
        if let relayURL { toml += "[relay]\nurl = \"\(relayURL)\"\n" }
        let config = URL(fileURLWithPath: directory).deletingLastPathComponent().path + "/\(name).toml"
        try toml.write(toFile: config, atomically: true, encoding: .utf8)
        let child = try processes.start("box \(name)", Binaries.edgenode, ["serve", "--config", config])
        guard let port = try await child.waitForLog(#"listening on http://127\.0\.0\.1:(\d+)"#).flatMap({ Int($0) }) else {
            throw EndToEndFailure("box \(name) did not start:\n\(child.tail)")
        }
        let token = try String(contentsOfFile: directory + "/console.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return BoxProcess(name: name, child: child, port: port, token: token)
    }

    /// One API request; the body parsed as a JSON object (empty when it is not one).
    @discardableResult
    func call(_ method: String, _ path: String, _ body: [String: Any]? = nil, expect: Int? = nil,
              sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let (status, text) = try ConsoleClient(host: "127.0.0.1", port: port, token: token)
            .request(method, path, body: try body.map { try JSONSerialization.data(withJSONObject: $0) })
        if let expect {
            #expect(status == expect, "box \(name): \(method) \(path) answered \(status): \(text)", sourceLocation: sourceLocation)
        }
        return json(text)
    }

    func items(_ path: String) throws -> [[String: Any]] { try call("GET", path, expect: 200)["items"] as? [[String: Any]] ?? [] }

    var status: [String: Any] { get throws { try call("GET", "/v1/status", expect: 200) } }
    var uplink: [String: Any] { get throws { try status["uplink"] as? [String: Any] ?? [:] } }
    var vector: [String: Int] { get throws { try status["vector"] as? [String: Int] ?? [:] } }
}

/// `edgenode-relay serve` on 127.0.0.1 with fixed storage, which a test stops ("the internet is
/// down") and starts again on the same port.
final class RelayProcess: @unchecked Sendable {
    let dataDirectory: String
    let storage: String?
    let processes: ChildProcesses
    private(set) var port = 0
    private(set) var child: ChildProcess?

    init(dataDirectory: String, storage: String?, processes: ChildProcesses) {
        self.dataDirectory = dataDirectory
        self.storage = storage
        self.processes = processes
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func start() async throws {
        // A port below Linux's ephemeral range (32768–60999): while the relay is down, no outgoing
        // connection can take it as its source port, so the restart binds it again. A first start
        // tries other ports when one is taken; a restart retries its own. 26000–31999: the
        // in-process relays of EdgeNodeAppTests (same test process) take 20000–25999, so that
        // neither takes the other's port while it is down.
        let restart = port != 0
        var lastLog = "no attempt"
        for _ in 0..<40 {
            let candidate = restart ? port : Int.random(in: 26_000..<32_000)
            let child = try processes.start("relay", Binaries.relay, ["serve", "--data-dir", dataDirectory, "--bind", "127.0.0.1",
                                                                       "--port", String(candidate), "--log-level", "info"]
                                                + (storage.map { ["--storage", $0] } ?? []))
            if try await child.waitForLog(#"relay\.port=(\d+)"#) != nil {
                port = candidate
                self.child = child
                return
            }
            lastLog = child.tail
            try await Task.sleep(for: .milliseconds(250))
        }
        throw EndToEndFailure("the relay did not start on \(restart ? "port \(port)" : "a free port"):\n\(lastLog)")
    }

    /// SIGTERM; the relay exits cleanly.
    func stop(sourceLocation: SourceLocation = #_sourceLocation) {
        guard let child else { return }
        let status = child.stop()
        #expect(status == 0, "the relay exited with \(status):\n\(child.tail)", sourceLocation: sourceLocation)
        self.child = nil
    }
}

/// Which branch the second box (B) serves.
enum SecondBox: String, Sendable, CustomTestStringConvertible {
    /// B is the box of the business's second branch: each box is the authority for its own
    /// branch's calendar, so a booking B makes for A's stylist is a request that A decides.
    case otherBranch
    /// B is a second box of A's branch: both confirm bookings for the stylist on their own, so
    /// an overlap made while they were apart survives the merge and both list it as a conflict.
    case sameBranch

    var testDescription: String { self == .otherBranch ? "B serves another branch" : "B serves the same branch" }
}

/// Two boxes of a business and a relay, each a real process on loopback: `edgenode init`, the
/// second box joined with `keygen` / `certify` / `join`, the relay `edgenode-relay serve`; the
/// boxes driven through their JSON API only.
@Suite("Boxes and relay as processes, end to end", .serialized)
struct RelayEndToEndTests {
    static let clientName = "Гульнара Жумабаева"
    static let clientPhone = "+77015550142"
    static let guestName = "Phone caller Ерлан"

    static var postgresURL: String? { ProcessInfo.processInfo.environment["EDGENODE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    /// Waits until `condition` holds; after a generous deadline fails with `what` and the boxes' state.
    static func eventually(_ what: String, seconds: Double = 120, boxes: [BoxProcess], scope: Scope? = nil,
                           _ condition: () throws -> Bool) async throws {
        try await TestSupport.eventually(what, timeout: .seconds(seconds), every: .milliseconds(100), report: {
            var report = ""
            for box in boxes {
                let status = (try? box.status).flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) }
                report += "\n--- box \(box.name) status: \(status.map { String(decoding: $0, as: UTF8.self) } ?? "unavailable")\n\(box.child.tail)"
            }
            if let scope {
                for box in boxes { report += "\n--- box \(box.name) shows: \((try? view(of: box, scope: scope)) ?? "unavailable")" }
            }
            return report
        }, condition)
    }

    static func canonical(_ value: Any) -> String {
        (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }

    /// What a view of a box covers: appointments from `from` to `to`, the catalogue of `branches`.
    struct Scope {
        var from: String
        var to: String
        var branches: [String]
    }

    /// What a box shows through its API: its vector, and the business's data.
    static func view(of box: BoxProcess, scope: Scope) throws -> String {
        try canonical([
            "vector": box.vector,
            "branches": box.items("/v1/branches"),
            // Staff and services are listed per branch (the box's home branch by default).
            "staff": scope.branches.map { try box.items("/v1/staff?branch=\($0)") },
            "services": scope.branches.map { try box.items("/v1/services?branch=\($0)") },
            "clients": box.items("/v1/clients?limit=200"),
            "appointments": box.items("/v1/appointments?from=\(scope.from)&to=\(scope.to)&limit=500"),
            "conflicts": box.items("/v1/conflicts"),
        ] as [String: Any])
    }

    /// The day of `date` in Asia/Atyrau at `hour`:`minute` there, as RFC 3339 with the offset.
    static func atyrau(_ date: Date, _ hour: Int, _ minute: Int = 0) -> String {
        let zone = TimeZone(identifier: "Asia/Atyrau")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let instant = calendar.date(bySettingHour: hour, minute: minute, second: 0, of: date)!
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = zone
        return formatter.string(from: instant)
    }

    /// The scenario, for a relay with `storage` (nil: SQLite in its data directory).
    /// - Returns: the id of A's branch, which A's certificate names.
    @discardableResult
    static func scenario(root: String, storage: String?, secondBox: SecondBox) async throws -> String {
        let processes = ChildProcesses()
        defer { processes.stopAll() }
        let aDirectory = root + "/a", bDirectory = root + "/b"
        let week: [String: Any] = Dictionary(uniqueKeysWithValues: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map { ($0, [["09:00", "21:00"]]) })
        let policy: [String: Any] = ["minimum_notice_minutes": 0, "horizon_days": 60]

        // The owner sets up the business on box A, with no relay yet.
        try run(Binaries.edgenode, ["init", "--data-dir", aDirectory, "--branch", "Atyrau Central", "--time-zone", "Asia/Atyrau", "--owner-name", "Aigerim"])
        var a = try await BoxProcess.start("a", directory: aDirectory, relayURL: nil, processes: processes)
        let central = try #require(try a.status["branch_id"] as? String)
        try a.call("PUT", "/v1/branches/\(central)", ["name": "Atyrau Central", "time_zone": "Asia/Atyrau", "currency": "KZT", "region": "KZ",
                                                  "opening_hours": week, "policy": policy], expect: 200)
        let anna = try #require(try a.call("POST", "/v1/staff", ["name": "Anna", "schedule": week], expect: 201)["id"] as? String)
        let cut = try #require(try a.call("POST", "/v1/services", ["names": ["en": "Cut"], "duration_minutes": 60, "slot_step_minutes": 15,
                                                                    "price": ["amount_minor": 500_000, "currency": "KZT"]], expect: 201)["id"] as? String)
        try a.call("PUT", "/v1/staff/\(anna)/services/\(cut)", expect: 200)
        // B's certificate names the branch it is the authority for (by id, as `init` does for A).
        var bBranch = central
        if secondBox == .otherBranch {
            bBranch = try #require(try a.call("POST", "/v1/branches", ["name": "Atyrau Riverside", "time_zone": "Asia/Atyrau", "currency": "KZT",
                                                                        "region": "KZ", "opening_hours": week, "policy": policy], expect: 201)["id"] as? String)
        }

        // Box B joins with the existing command-line flow: a key on B, a certificate signed with the
        // owner key on A, `join` on B. A is running, so `certify` queues the certificate for A's
        // daemon, which records it (A seals the relay's data key only to boxes it knows).
        let bKey = try run(Binaries.edgenode, ["keygen", "--data-dir", bDirectory]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let certified = try run(Binaries.edgenode, ["certify", "--data-dir", aDirectory, "--public-key", bKey, "--branch", bBranch, "--out", root + "/b.certificate"])
        #expect(certified.output.contains("The daemon is running"), "\(certified.output)")
        try run(Binaries.edgenode, ["join", "--data-dir", bDirectory, "--certificate", root + "/b.certificate"])
        #expect(a.child.stop() == 0, "box a did not stop cleanly:\n\(a.child.tail)")

        // The relay is up; B starts first and waits, because nobody registered the business yet.
        try FileManager.default.createDirectory(atPath: root + "/relay", withIntermediateDirectories: true)
        let relay = RelayProcess(dataDirectory: root + "/relay", storage: storage, processes: processes)
        try await relay.start()
        let b = try await BoxProcess.start("b", directory: bDirectory, relayURL: relay.url, processes: processes)
        try await eventually("B reports not_registered", boxes: [b]) { try b.uplink["state"] as? String == "not_registered" }
        // A, which holds the owner key, registers the business by itself; B then enrols itself and
        // waits for the data key.
        a = try await BoxProcess.start("a", directory: aDirectory, relayURL: relay.url, processes: processes)
        let boxes = [a, b]
        try await eventually("A connects to the relay", boxes: boxes) { try a.uplink["state"] as? String == "connected" }
        try await eventually("B enrols and waits for its data key, or has it", boxes: boxes) {
            try ["waiting_for_key", "connected"].contains(b.uplink["state"] as? String ?? "")
        }

        // Both branches work online: B receives the business from A, then both write.
        let day = Date().addingTimeInterval(7 * 86_400)
        let scope = Scope(from: ISO8601DateFormatter().string(from: Date().addingTimeInterval(-86_400)),
                           to: ISO8601DateFormatter().string(from: Date().addingTimeInterval(30 * 86_400)), branches: Array(Set([central, bBranch])).sorted())
        let client = try #require(try a.call("POST", "/v1/clients", ["name": clientName, "phone": clientPhone], expect: 201)["id"] as? String)
        try a.call("POST", "/v1/appointments", ["services": [["service": cut, "staff": anna]], "start": atyrau(day, 9), "client": client,
                                                "branch": central], expect: 201)
        try await eventually("B receives the business from A through the relay", boxes: boxes, scope: scope) {
            try b.uplink["state"] as? String == "connected" && view(of: a, scope: scope) == view(of: b, scope: scope)
        }
        for index in 0..<3 { try a.call("POST", "/v1/clients", ["name": "A online \(index)"], expect: 201) }
        for index in 0..<3 { try b.call("POST", "/v1/clients", ["name": "B online \(index)"], expect: 201) }
        try await eventually("both boxes converge through the relay", boxes: boxes, scope: scope) {
            try view(of: a, scope: scope) == view(of: b, scope: scope)
        }
        let query = clientName.split(separator: " ")[0].addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "0123456789abcdefghijklmnopqrstuvwxyz"))!
        let found = try b.items("/v1/clients?q=" + query)
        #expect(found.map { $0["phone"] as? String } == [clientPhone])

        // The internet is down.
        relay.stop()
        try await eventually("both uplinks notice the relay is gone", boxes: boxes) {
            try a.uplink["connected"] as? Bool == false && b.uplink["connected"] as? Bool == false
        }
        // Both branches keep booking; both book Anna (branch Atyrau Central) for overlapping times.
        for index in 0..<3 { try a.call("POST", "/v1/clients", ["name": "A offline \(index)"], expect: 201) }
        for index in 0..<3 { try b.call("POST", "/v1/clients", ["name": "B offline \(index)"], expect: 201) }
        let desk = try a.call("POST", "/v1/appointments", ["services": [["service": cut, "staff": anna]], "start": atyrau(day, 12),
                                                           "guest": ["name": "Walk-in"], "branch": central], expect: 201)
        let phone = try b.call("POST", "/v1/appointments", ["services": [["service": cut, "staff": anna]], "start": atyrau(day, 12, 30),
                                                            "guest": ["name": guestName, "phone": "8 701 555 0199"], "branch": central], expect: 201)
        let deskID = try #require(desk["id"] as? String), phoneID = try #require(phone["id"] as? String)
        #expect(desk["status"] as? String == "confirmed")
        // On a box of another branch a booking for Anna is a request until her home box decides.
        #expect(phone["status"] as? String == (secondBox == .otherBranch ? "requested" : "confirmed"))
        #expect(try a.vector != b.vector)
        let pendingOffline = try a.uplink["pending_push"] as? Int ?? 0
        #expect(pendingOffline >= 4, "A's own changesets the relay lacks")

        // The internet is back: the same relay, on the same port, with the same storage.
        try await relay.start()
        try await eventually("both boxes converge after the relay returns", boxes: boxes, scope: scope) {
            let statuses = try [a, b].map { try ($0.uplink["connected"] as? Bool, $0.uplink["pending_push"] as? Int) }
            guard statuses.allSatisfy({ $0 == (true, 0) }) else { return false }
            return try view(of: a, scope: scope) == view(of: b, scope: scope)
        }
        for box in boxes {
            let appointments = try box.items("/v1/appointments?from=\(scope.from)&to=\(scope.to)&limit=500")
            let statuses = Dictionary(uniqueKeysWithValues: appointments.map { ($0["id"] as? String ?? "", $0["status"] as? String ?? "") })
            let reasons = Dictionary(uniqueKeysWithValues: appointments.map { ($0["id"] as? String ?? "", $0["status_reason"] as? String ?? "") })
            #expect(statuses[deskID] == "confirmed", "box \(box.name)")
            let conflicts = try box.items("/v1/conflicts")
            switch secondBox {
            case .otherBranch:
                // A, Anna's home box, kept its booking and refused B's overlapping request; nothing is left to resolve.
                #expect(statuses[phoneID] == "rejected", "box \(box.name)")
                #expect(reasons[phoneID]?.contains(deskID) == true, "box \(box.name): \(reasons[phoneID] ?? "")")
                #expect(conflicts.isEmpty, "box \(box.name): \(conflicts)")
            case .sameBranch:
                // Both boxes confirmed Anna for overlapping times: after the merge both list the same conflict.
                #expect(statuses[phoneID] == "confirmed", "box \(box.name)")
                #expect(conflicts.count == 1, "box \(box.name): \(conflicts)")
                #expect(conflicts.first?["subject"] as? String == "staff" && conflicts.first?["subject_id"] as? String == anna)
                #expect(Set(conflicts.first?["appointments"] as? [String] ?? []) == [deskID, phoneID], "box \(box.name)")
            }
            #expect(try box.status["rejected_changesets"] as? Int == 0, "box \(box.name) refused changesets")
            #expect(try box.items("/v1/clients?q=offline").count == 6, "box \(box.name)")
        }
        #expect(canonical(try a.items("/v1/conflicts")) == canonical(try b.items("/v1/conflicts")))
        if storage == nil {
            // While the relay runs, its database is the file and its write-ahead log.
            let scanned = try expectRelayFilesHoldNoPersonalData(root + "/relay", visible: central)
            #expect(scanned.contains("relay.sqlite") && scanned.contains("relay.sqlite-wal"), "\(scanned)")
        }

        for box in boxes { #expect(box.child.stop() == 0, "box \(box.name) did not stop cleanly:\n\(box.child.tail)") }
        relay.stop()
        return central
    }

    /// Nothing booked through the boxes is readable in the relay's SQLite files, although the
    /// relay does hold what it may see (certificates, which name branches).
    /// - Returns: the names of the files scanned.
    @discardableResult
    static func expectRelayFilesHoldNoPersonalData(_ directory: String, visible: String) throws -> [String] {
        var scanned = 0
        var sawVisible = false
        var files: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasPrefix("relay.sqlite") {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))
            files.append(file)
            scanned += bytes.count
            sawVisible = sawVisible || bytes.range(of: Data(visible.utf8)) != nil
            for needle in [clientName, clientPhone, guestName, "B offline", "Walk-in"] {
                #expect(bytes.range(of: Data(needle.utf8)) == nil, "found \(needle) in the relay's \(file)")
            }
        }
        #expect(scanned > 0)
        #expect(sawVisible, "the relay's files do not hold the boxes' certificates: the scan looked at the wrong files")
        return files
    }

    @Test("two branches' boxes converge through a real edgenode-relay (SQLite), keep booking while it is down, converge again after it restarts on the same port; the relay's files hold no client's name",
          arguments: [SecondBox.otherBranch, .sameBranch])
    func sqliteRelay(secondBox: SecondBox) async throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let central = try await Self.scenario(root: root, storage: nil, secondBox: secondBox)
        try Self.expectRelayFilesHoldNoPersonalData(root + "/relay", visible: central)
    }

    @Test("the same with the relay on PostgreSQL", .enabled(if: RelayEndToEndTests.postgresURL != nil),
          arguments: [SecondBox.otherBranch, .sameBranch])
    func postgresRelay(secondBox: SecondBox) async throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // The relay's tables are shared with the other PostgreSQL tests; every key starts with the
        // business id, and this business is new, so nothing collides.
        let url = try #require(Self.postgresURL)
        try await Self.scenario(root: root, storage: url, secondBox: secondBox)
    }
}
