// edgenode-lan-bench: two boxes that were apart meet over a veth link; how long until they
// converge, next to copying the same changeset bytes raw over a plain TCP socket on the same
// link in the same run. Needs root (network namespaces) and a release build of `edgenode`:
//
//   swift build -c release --product edgenode --product edgenode-lan-bench
//   .build/release/edgenode-lan-bench --appointments 2000 --changes 10000
//
// Each box, apart, books `--appointments` appointments and makes `--changes` other changes
// (new clients, then renames), each its own transaction and so its own signed changeset. Then
// both daemons start in their namespaces, each with the other as a static peer (no mDNS, so
// discovery timing is not part of it), and the clock runs until their version vectors match.
import Domain
import EdgeNodeApp
import Foundation
import Logging
import Replication

struct Options {
    var appointments = 2_000
    var changes = 10_000
    var binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/edgenode"

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--appointments": appointments = Int(iterator.next() ?? "") ?? appointments
            case "--changes": changes = Int(iterator.next() ?? "") ?? changes
            case "--edgenode": binary = iterator.next() ?? binary
            default:
                FileHandle.standardError.write(Data("usage: edgenode-lan-bench [--appointments N] [--changes N] [--edgenode PATH]\n".utf8))
                exit(2)
            }
        }
    }
}

struct Failure: Error, CustomStringConvertible { let description: String }

@discardableResult
func sh(_ program: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let output = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else { throw Failure(description: "\(program) \(arguments.joined(separator: " ")): \(output)") }
    return output
}

func spawn(_ arguments: [String], log: String) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
    process.arguments = arguments
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    return process
}

let options = Options(arguments: CommandLine.arguments)
guard getuid() == 0 else { print("edgenode-lan-bench needs root (network namespaces)"); exit(1) }
let logger: Logger = {
    var logger = Logger(label: "lan-bench")
    logger.logLevel = .error
    return logger
}()
let tag = String(UUID().uuidString.lowercased().prefix(4))
let root = NSTemporaryDirectory() + "edgenode-lan-bench-" + tag
try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
let aDirectory = ReplicaDirectory(path: root + "/a")
let bDirectory = ReplicaDirectory(path: root + "/b")
let namespaces = ["enbench\(tag)a", "enbench\(tag)b"]
var processes: [Process] = []
@MainActor func cleanUp() {
    for process in processes where process.isRunning { process.terminate(); process.waitUntilExit() }
    for namespace in namespaces { _ = try? sh("/usr/sbin/ip", ["netns", "del", namespace]) }
    try? FileManager.default.removeItem(atPath: root)
}
defer { cleanUp() }

// The link: a veth pair between the two namespaces (10.88.0.1 and .2), and a management veth
// from here to each (10.251.N.1 ↔ .2) to read their status.
for (index, namespace) in namespaces.enumerated() {
    try sh("/usr/sbin/ip", ["netns", "add", namespace])
    try sh("/usr/sbin/ip", ["-n", namespace, "link", "set", "lo", "up"])
    try sh("/usr/sbin/ip", ["link", "add", "enbm\(tag)\(index)", "type", "veth", "peer", "name", "mgmt0", "netns", namespace])
    try sh("/usr/sbin/ip", ["addr", "add", "10.251.\(index + 1).1/30", "dev", "enbm\(tag)\(index)"])
    try sh("/usr/sbin/ip", ["link", "set", "enbm\(tag)\(index)", "up"])
    try sh("/usr/sbin/ip", ["-n", namespace, "addr", "add", "10.251.\(index + 1).2/30", "dev", "mgmt0"])
    try sh("/usr/sbin/ip", ["-n", namespace, "link", "set", "mgmt0", "up"])
}
try sh("/usr/sbin/ip", ["link", "add", "lan0", "netns", namespaces[0], "type", "veth", "peer", "name", "lan0", "netns", namespaces[1]])
for (index, namespace) in namespaces.enumerated() {
    try sh("/usr/sbin/ip", ["-n", namespace, "addr", "add", "10.88.0.\(index + 1)/24", "dev", "lan0"])
    try sh("/usr/sbin/ip", ["-n", namespace, "link", "set", "lan0", "up"])
}

/// Builds both boxes' data apart; the stores close when this returns (the daemons need them).
@MainActor func prepare() throws -> (aToB: Int, bToA: Int, rawBytes: Int, bToken: String, branch: BranchID) {
    // Two boxes of one business and branch, with a shared catalogue.
    let provisioned = try Provisioning(branchName: "Atyrau Central", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Owner")
        .run(in: aDirectory, logger: logger)
    let branch = provisioned.branchID
    try bDirectory.create()
    let bKey = try bDirectory.loadOrCreateIdentity()
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    let certificate = try Certificate.issue(by: try aDirectory.loadOwnerKey(), for: bKey.publicKey, role: "box", branch: branch.rawValue,
                                            notBefore: now - 60_000, notAfter: now + 86_400_000)
    try bDirectory.writeFile(certificate.encoded, to: bDirectory.certificatePath)
    let a = try Shop(store: try aDirectory.openStore(logger: logger), logger: logger)
    let b = try Shop(store: try bDirectory.openStore(logger: logger), logger: logger)

    var home = try a.branch(branch)
    home.openingHours = WeeklyHours.every(Weekday.allCases, [WallInterval("09:00", "18:00")!])
    home.policy = BookingPolicy(minimumNoticeMinutes: 0, horizonDays: 400)
    try a.save(home)
    var staff: [StaffID] = []
    for index in 0..<20 {
        let id = StaffID.generate(at: Instant(milliseconds: now + Int64(index)))
        try a.save(StaffMember(id: id, branchID: branch, name: "Staff \(index)", schedule: home.openingHours,
                               breaks: .every(Weekday.allCases, [WallInterval("13:00", "14:00")!])))
        staff.append(id)
    }
    let offering = OfferingID.generate(at: Instant(milliseconds: now + 100))
    try a.save(Offering(id: offering, branchID: branch, names: ["en": "Cut"], durationMinutes: 45, price: Money(amountMinor: 800_000, currency: "KZT")))
    for member in staff { try a.assign(StaffOffering(staffID: member, offeringID: offering)) }
    // b starts from a's state, as if they had synced before the outage.
    _ = try b.apply(try a.store.changesets(missingFrom: b.store.versionVector, limit: .max).map(\.bytes))

    /// Apart: appointments at every free hour of every staff member from tomorrow on, then other changes.
    func edit(_ shop: Shop, label: String) throws -> TimeInterval {
        let started = Date()
        let zone = try ZoneRules.named("Asia/Atyrau")
        var booked = 0
        var day = zone.localDate(of: shop.now).adding(days: 1)
        while booked < options.appointments {
            for member in staff where booked < options.appointments {
                for hour in [9, 10, 11, 12, 14, 15, 16, 17] where booked < options.appointments {
                    let start = zone.resolve(day, minutes: hour * 60).instant
                    _ = try shop.book(BookingRequest(branchID: branch, parts: [VisitPart(offeringID: offering, staffID: member)], start: start,
                                                     guest: Guest(name: "Guest \(label) \(booked)"), source: .phone, specialRequests: "", actor: "bench"))
                    booked += 1
                }
            }
            day = day.adding(days: 1)
        }
        let newClients = options.changes * 7 / 10
        var clients: [Client] = []
        for index in 0..<newClients { clients.append(try shop.createClient(ClientDraft(name: "Client \(label) \(index)"), branch: branch)) }
        for index in 0..<(options.changes - newClients) {
            let client = clients[index % clients.count]
            _ = try shop.updateClient(client.id, ClientDraft(name: "Client \(label) \(index) renamed"), branch: branch)
        }
        return Date().timeIntervalSince(started)
    }
    print("edgenode-lan-bench: \(options.appointments) appointments + \(options.changes) other changes on each of two boxes, apart")
    let aEdit = try edit(a, label: "A")
    let bEdit = try edit(b, label: "B")
    print(String(format: "  edits: %.1f s on a, %.1f s on b", aEdit, bEdit))
    let aLacks = try b.store.changesets(missingFrom: a.store.versionVector, limit: .max).map(\.bytes)
    let bLacks = try a.store.changesets(missingFrom: b.store.versionVector, limit: .max).map(\.bytes)
    let rawBytes = aLacks.reduce(0) { $0 + $1.count } + bLacks.reduce(0) { $0 + $1.count }
    print("  to exchange: \(bLacks.count) changesets a→b, \(aLacks.count) b→a, \(rawBytes) bytes in all")
    try a.store.checkpoint()
    try b.store.checkpoint()
    try Data(bLacks.joined()).write(to: URL(fileURLWithPath: root + "/a-to-b.bin"))
    try Data(aLacks.joined()).write(to: URL(fileURLWithPath: root + "/b-to-a.bin"))

    let (_, bToken) = try b.registerDevice(name: "Box console", role: .owner, pairedBy: "bench")
    return (bLacks.count, aLacks.count, rawBytes, bToken, branch)
}
let prepared = try prepare()
let rawBytes = prepared.rawBytes

// Baseline: the same bytes each way at once over plain TCP on the same link.
let sink = "import socket,sys\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',9900));s.listen(1)\nc,_=s.accept();n=0\nwhile True:\n d=c.recv(1<<20)\n if not d: break\n n+=len(d)\nprint(n)"
let source = "import socket,sys,time\ndata=open(sys.argv[2],'rb').read()\nwhile True:\n try:\n  s=socket.create_connection((sys.argv[1],9900));break\n except OSError: time.sleep(0.005)\ns.sendall(data);s.close()"
@MainActor func rawCopy() throws -> TimeInterval {
    let sinks = try namespaces.enumerated().map { index, namespace in
        try spawn(["netns", "exec", namespace, "python3", "-c", sink], log: root + "/sink-\(index).log")
    }
    Thread.sleep(forTimeInterval: 0.3)  // both listening
    let started = Date()
    let sources = [try spawn(["netns", "exec", namespaces[0], "python3", "-c", source, "10.88.0.2", root + "/a-to-b.bin"], log: root + "/source-0.log"),
                   try spawn(["netns", "exec", namespaces[1], "python3", "-c", source, "10.88.0.1", root + "/b-to-a.bin"], log: root + "/source-1.log")]
    for process in sinks + sources { process.waitUntilExit() }
    let seconds = Date().timeIntervalSince(started) - 0
    let received = (0..<2).compactMap { Int((try? String(contentsOfFile: root + "/sink-\($0).log", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") }
    guard received.reduce(0, +) == rawBytes else { throw Failure(description: "raw copy moved \(received) bytes, expected \(rawBytes) in all") }
    return seconds
}
// Python's start-up is part of that: time it alone to subtract it.
let pythonStart = Date()
try sh("/usr/bin/python3", ["-c", "import socket,sys,time"])
let pythonSeconds = Date().timeIntervalSince(pythonStart)
let raw = try rawCopy() - pythonSeconds

// Second baseline: the same changesets applied from memory to copies of the two replicas, in
// the batches LAN sync uses (200), one box after the other, with no network or protocol at all.
@MainActor func localApply() throws -> TimeInterval {
    var total: TimeInterval = 0
    for (name, incoming) in [("a", "b-to-a"), ("b", "a-to-b")] {
        let copy = ReplicaDirectory(path: root + "/\(name)-copy")
        try FileManager.default.copyItem(atPath: root + "/\(name)", toPath: copy.path)
        try? FileManager.default.removeItem(atPath: copy.path + "/replica.sqlite.lock")
        let shop = try Shop(store: try copy.openStore(logger: logger), logger: logger)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: root + "/\(incoming).bin")))
        // The changesets themselves, from the replica that wrote them (the same bytes as the raw copy).
        let source = try ReplicaDirectory(path: root + "/\(name == "a" ? "b" : "a")").openStore(logger: logger)
        let batch = try source.changesets(missingFrom: shop.store.versionVector, limit: .max).map(\.bytes)
        precondition(batch.reduce(0) { $0 + $1.count } == bytes.count)
        let started = Date()
        for chunk in stride(from: 0, to: batch.count, by: 200) {
            let report = try shop.apply(Array(batch[chunk..<min(chunk + 200, batch.count)]))
            precondition(report.rejected.isEmpty)
        }
        total += Date().timeIntervalSince(started)
        try shop.store.checkpoint()
    }
    return total
}
let applySeconds = try localApply()

// The boxes: both daemons start, linked, each with the other as its static peer.
func status(_ index: Int, token: String) -> [String: Any]? {
    let client = ConsoleClient(host: "10.251.\(index + 1).2", port: 8470, token: token)
    guard let (code, body) = try? client.request("GET", "/v1/status", body: nil), code == 200 else { return nil }
    return (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
}
let aToken = try String(contentsOfFile: aDirectory.path + "/console.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
let bToken = prepared.bToken
let started = Date()
for (index, directory) in [aDirectory, bDirectory].enumerated() {
    processes.append(try spawn(["netns", "exec", namespaces[index], "env", "EDGENODE_DISCOVERY_ENABLED=false", "EDGENODE_SYNC_PEERS=10.88.0.\(2 - index):8470",
                                "EDGENODE_LOG_LEVEL=warning", options.binary, "serve", "--data-dir", directory.path, "--port", "8470"],
                               log: root + "/serve-\(index).log"))
}
var serving: TimeInterval?
var converged: TimeInterval?
while Date().timeIntervalSince(started) < 600 {
    let statuses = [status(0, token: aToken), status(1, token: bToken)]
    if serving == nil, statuses.allSatisfy({ $0 != nil }) { serving = Date().timeIntervalSince(started) }
    if let first = statuses[0]?["vector"] as? [String: Int], let second = statuses[1]?["vector"] as? [String: Int], first == second, first.count >= 2 {
        converged = Date().timeIntervalSince(started)
        break
    }
    Thread.sleep(forTimeInterval: 0.02)
}
guard let converged, let serving else { throw Failure(description: "the boxes did not converge in 600 s; see \(root)/serve-*.log") }
print(String(format: "  raw copy of the same bytes, both ways at once over TCP:  %.3f s", raw))
print(String(format: "  boxes: both serving after %.2f s; converged after %.2f s (%.2f s after both served)", serving, converged, converged - serving))
print(String(format: "  local apply of the same changesets from memory (batches of 200, a then b): %.2f s", applySeconds))
print(String(format: "  ratio converge/raw copy: %.1f×; converge/local apply: %.2f×", (converged - serving) / max(raw, 0.001), (converged - serving) / applySeconds))
print(String(format: "  changesets per second through LAN sync: %.0f", Double(prepared.aToB + prepared.bToA) / (converged - serving)))
