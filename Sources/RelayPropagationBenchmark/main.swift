// `edgenode-relay-propagation-bench`: how long a write on one box takes to reach another box
// through the relay, against a baseline measured in the same run (docs/benchmarks.md).
//
// Three real processes on loopback, started from the folder of this executable: a relay
// (`edgenode-relay serve`, SQLite and then PostgreSQL storage), box A and box B (`edgenode serve`,
// mDNS and LAN sync off, `relay.url` set, `relay.pull_wait_seconds` at its default). Each round:
//
// - **box to box**: a client created on A (`POST /v1/clients`); the clock runs from just before the
//   request until B's event stream (`GET /v1/events`, server-sent events) announces it;
// - **baseline**: a bare relay client pushes one envelope (a signed one-row changeset, sealed) as
//   one box of another business while a second bare client waits in a long-poll pull for it; the
//   clock runs from just before the push until the pull's answer has been read.
//
// Both receivers are parked in a long-poll when the write starts (rounds are `--pause` apart), so
// the ratio is what the boxes add to the relay's own push → wake → answer: A's API write, its
// uplink ending its own pull, sealing, the push, B's opening, applying and announcing.
//
//   for product in edgenode edgenode-relay edgenode-relay-propagation-bench; do swift build -c release --product $product; done
//   .build/release/edgenode-relay-propagation-bench --writes 50 [--pause 0.2]
//       [--postgres postgres://postgres@localhost:5433/db?host=/tmp/dir]   (or $EDGENODE_TEST_POSTGRES_URL)
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Replication

struct Options {
    var writes = 50
    var pause = 0.2
    var directory = NSTemporaryDirectory()
    var postgres: String? = ProcessInfo.processInfo.environment["EDGENODE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    var sqlite = true

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--writes": writes = Int(iterator.next() ?? "") ?? writes
            case "--pause": pause = Double(iterator.next() ?? "") ?? pause
            case "--dir": directory = iterator.next() ?? directory
            case "--postgres": postgres = iterator.next()
            case "--no-postgres": postgres = nil
            case "--no-sqlite": sqlite = false
            default:
                FileHandle.standardError.write(Data("unknown option \(argument)\n".utf8))
                exit(2)
            }
        }
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

let options = Options(CommandLine.arguments)
let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path

func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }
func milliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

// MARK: Processes

/// A child process with its output collected.
final class Child: @unchecked Sendable {
    let name: String
    let process = Process()
    private let lock = NSLock()
    private var output = Data()

    init(_ name: String, _ program: String, _ arguments: [String]) throws {
        self.name = name
        guard FileManager.default.isExecutableFile(atPath: program) else {
            throw BenchmarkError("\(program) is missing: swift build -c release --product \(URL(fileURLWithPath: program).lastPathComponent)")
        }
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("EDGENODE_") && $0.key != "NOTIFY_SOCKET" }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                return
            }
            self?.lock.withLock { self?.output.append(data) }
        }
        try process.run()
    }

    var log: String { lock.withLock { String(decoding: output, as: UTF8.self) } }

    /// Runs a command to completion and returns its standard output (throws on a non-zero exit).
    static func run(_ program: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("EDGENODE_") && $0.key != "NOTIFY_SOCKET" }
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchmarkError("\(program) \(arguments.joined(separator: " ")) failed:\n\(problems)\(text)") }
        return text
    }

    /// The first capture group of `pattern` once it appears in the output.
    func wait(for pattern: String, seconds: Double = 120) throws -> String {
        let expression = try NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let text = log
            if let match = expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), let range = Range(match.range(at: 1), in: text) {
                return String(text[range])
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw BenchmarkError("\(name) did not log /\(pattern)/:\n\(log.suffix(3000))")
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Every process a run started, so that none is left behind whatever fails.
final class Children {
    private var started: [Child] = []

    func start(_ name: String, _ program: String, _ arguments: [String]) throws -> Child {
        let child = try Child(name, program, arguments)
        started.append(child)
        return child
    }

    func stopAll() {
        for child in started where child.process.isRunning { child.process.terminate() }
        for child in started { child.stop() }
    }
}

// MARK: HTTP on loopback

/// A blocking HTTP/1.1 client on one keep-alive connection to 127.0.0.1 (bodies with
/// Content-Length or chunked).
final class HTTPConnection: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard result == 0 else {
            close(fd)
            throw BenchmarkError("cannot connect to 127.0.0.1:\(port)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw BenchmarkError("write failed") }
            sent += count
        }
    }

    func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { throw BenchmarkError("the server closed the connection") }
        buffer += chunk[0..<count]
    }

    func line() throws -> String {
        while true {
            if let end = buffer.indices.dropLast().first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 }) {
                let text = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 2)
                return text
            }
            try fill()
        }
    }

    func bytes(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        let result = Array(buffer[..<count])
        buffer.removeFirst(count)
        return result
    }

    func send(_ method: String, _ target: String, body: [UInt8] = [], headers: [(String, String)] = []) throws -> (status: Int, body: [UInt8]) {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n"
        if !body.isEmpty { head += "Content-Type: application/json\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try write(Array((head + "\r\n").utf8) + body)
        let status = Int(try line().split(separator: " ").dropFirst().first ?? "") ?? 0
        var length = 0
        var chunked = false
        while true {
            let header = try line().lowercased()
            if header.isEmpty { break }
            if header.hasPrefix("content-length:") { length = Int(header.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0 }
            if header.hasPrefix("transfer-encoding:") && header.contains("chunked") { chunked = true }
        }
        guard chunked else { return (status, try bytes(length)) }
        var result: [UInt8] = []
        while true {
            let size = Int(try line().split(separator: ";").first ?? "", radix: 16) ?? 0
            if size == 0 {
                _ = try line()
                return (status, result)
            }
            result += try bytes(size)
            _ = try line()
        }
    }
}

func object(_ bytes: [UInt8]) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:] }
func json(_ object: [String: Any]) -> [UInt8] { Array(try! JSONSerialization.data(withJSONObject: object)) }

/// A box's local API with its console token.
struct BoxAPI {
    let port: Int
    let token: String

    func call(_ method: String, _ path: String, _ body: [String: Any]? = nil, on connection: HTTPConnection? = nil) throws -> (Int, [String: Any]) {
        let connection = try connection ?? HTTPConnection(port: port)
        let reply = try connection.send(method, path, body: body.map(json) ?? [], headers: [("Authorization", "Bearer \(token)")])
        return (reply.status, object(reply.body))
    }

    var status: [String: Any] { get throws { try call("GET", "/v1/status").1 } }
}

/// B's event stream, read by a thread; answers when (by the monotonic clock) a text first arrived.
final class EventStream: @unchecked Sendable {
    private let condition = NSCondition()
    private var text: [UInt8] = []
    /// Arrival time of each chunk and the length of the text after it.
    private var arrivals: [(at: ContinuousClock.Instant, end: Int)] = []
    private var closed = false
    private let fd: Int32

    init(port: Int, token: String) throws {
        let connection = try HTTPConnection(port: port)
        fd = dup(connection.fd)
        try connection.write(Array("GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nAuthorization: Bearer \(token)\r\n\r\n".utf8))
        Thread { [self] in
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                let now = ContinuousClock.now
                condition.lock()
                if count <= 0 {
                    closed = true
                } else {
                    text += chunk[0..<count]
                    arrivals.append((now, text.count))
                }
                condition.broadcast()
                condition.unlock()
                if count <= 0 { return }
            }
        }.start()
    }

    deinit { close(fd) }

    /// When `needle` arrived (the chunk that completed it), waiting up to `seconds`.
    func arrival(of needle: String, seconds: Double = 120) throws -> ContinuousClock.Instant {
        let bytes = Array(needle.utf8)
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        var searched = 0
        while true {
            if text.count >= bytes.count {
                var index = max(0, searched - bytes.count)
                while index + bytes.count <= text.count {
                    if text[index] == bytes[0] && Array(text[index..<(index + bytes.count)]) == bytes {
                        let end = index + bytes.count
                        return arrivals.first { $0.end >= end }!.at
                    }
                    index += 1
                }
                searched = text.count
            }
            guard !closed else { throw BenchmarkError("B's event stream closed") }
            guard condition.wait(until: deadline) else { throw BenchmarkError("\(needle) did not reach B within \(Int(seconds)) s") }
        }
    }
}

// MARK: The setting

/// A relay and two boxes of one business that meet only through it.
final class Setting {
    let relay: Child
    let relayPort: Int
    let a: Child, b: Child
    let aAPI: BoxAPI, bAPI: BoxAPI

    init(storage: String?, root: String, children: Children) throws {
        let edgenode = binaries + "/edgenode"
        try FileManager.default.createDirectory(atPath: root + "/relay", withIntermediateDirectories: true)
        relay = try children.start("relay", binaries + "/edgenode-relay", ["serve", "--data-dir", root + "/relay", "--bind", "127.0.0.1", "--port", "0"]
                                       + (storage.map { ["--storage", $0] } ?? []))
        let relayPort = Int(try relay.wait(for: #"relay\.port=(\d+)"#))!
        self.relayPort = relayPort
        // Box A: a new business. Box B: a second box of A's branch, joined with keygen / certify / join
        // (certify records B's certificate in A's replica, so A seals the data key to it).
        let aDirectory = root + "/a", bDirectory = root + "/b"
        _ = try Child.run(edgenode, ["init", "--data-dir", aDirectory, "--branch", "Bench", "--time-zone", "Asia/Atyrau"])
        let status = object(Array(try Child.run(edgenode, ["status", "--data-dir", aDirectory, "--json"]).utf8))
        guard let branch = status["branch_id"] as? String else { throw BenchmarkError("edgenode status names no branch: \(status)") }
        let key = try Child.run(edgenode, ["keygen", "--data-dir", bDirectory]).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try Child.run(edgenode, ["certify", "--data-dir", aDirectory, "--public-key", key, "--branch", branch, "--out", root + "/b.certificate"])
        _ = try Child.run(edgenode, ["join", "--data-dir", bDirectory, "--certificate", root + "/b.certificate"])
        func serve(_ name: String, _ directory: String) throws -> (Child, BoxAPI) {
            let config = root + "/\(name).toml"
            try """
                data_dir = '\(directory)'
                [http]
                bind = "127.0.0.1"
                port = 0
                [discovery]
                enabled = false
                [sync]
                lan = false
                [relay]
                url = "http://127.0.0.1:\(relayPort)"

                """.write(toFile: config, atomically: true, encoding: .utf8)
            let child = try children.start("box \(name)", edgenode, ["serve", "--config", config])
            let port = Int(try child.wait(for: #"listening on http://127\.0\.0\.1:(\d+)"#))!
            let token = try String(contentsOfFile: directory + "/console.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            return (child, BoxAPI(port: port, token: token))
        }
        (a, aAPI) = try serve("a", aDirectory)
        (b, bAPI) = try serve("b", bDirectory)
    }

    /// Waits until B has enrolled at the relay, then writes once on A: a box that holds the key seals
    /// it to a newly enrolled box on its next round, which a write starts at once (otherwise its
    /// long-poll, up to relay.pull_wait_seconds, ends the round).
    func waitUntilBEnrolled(seconds: Double = 120) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let state = (try bAPI.status["uplink"] as? [String: Any])?["state"] as? String
            if state == "waiting_for_key" || state == "connected" {
                let (status, _) = try aAPI.call("POST", "/v1/clients", ["name": "Warm-up"])
                guard status == 201 else { throw BenchmarkError("A refused the warm-up write: \(status)") }
                return
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw BenchmarkError("B did not enrol at the relay:\n\(b.log.suffix(2000))")
    }

    /// Waits until both uplinks are connected and the replicas hold the same vector.
    func waitUntilInStep(seconds: Double = 120) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let (sa, sb) = (try aAPI.status, try bAPI.status)
            let connected = [sa, sb].allSatisfy { ($0["uplink"] as? [String: Any])?["connected"] as? Bool == true }
            if connected, let va = sa["vector"] as? [String: Int], va == sb["vector"] as? [String: Int] { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw BenchmarkError("the boxes did not get in step through the relay:\nA: \(try aAPI.status)\nB: \(try bAPI.status)\n\(a.log.suffix(2000))\n\(b.log.suffix(2000))")
    }
}

/// Another business at the same relay with two bare clients: a writer that pushes pre-sealed
/// envelopes and a reader that long-polls for them.
final class BareClients: @unchecked Sendable {
    let owner = SigningKey.generate()
    let writer = SigningKey.generate()
    let reader = SigningKey.generate()
    let envelopes: [RelayEnvelope]
    let push: HTTPConnection
    let pull: HTTPConnection
    var business: BusinessID { BusinessID(ownerKey: owner.publicKey) }

    init(relayPort: Int, count: Int) throws {
        let business = BusinessID(ownerKey: owner.publicKey)
        let dataKey = DataKey.generate(id: DataKeyID(1))
        var previous = RelayEnvelope.noPreviousHash
        var envelopes: [RelayEnvelope] = []
        let author = SiteID(publicKey: writer.publicKey)
        for index in 0..<count {
            let clock = HLCTimestamp(rawValue: UInt64(milliseconds() + Int64(index)) << 16)
            let row = RowChange(table: "clients", key: .text(UUID().uuidString.lowercased()), causalLength: 1, cells: [
                CellChange(column: "name", value: .text("Client \(index)"), timestamp: clock),
                CellChange(column: "phone", value: .text("+7701\(String(format: "%07d", index))"), timestamp: clock),
                CellChange(column: "email", value: .text(""), timestamp: clock),
                CellChange(column: "tags", value: .text("[]"), timestamp: clock),
                CellChange(column: "created_at", value: .integer(milliseconds()), timestamp: clock),
            ])
            let changeset = Changeset(business: business, author: author, sequence: UInt64(index + 1), previousHash: RelayEnvelope.noPreviousHash,
                                      clockMin: clock, clockMax: clock, rows: [row]).signed(with: writer)
            let envelope = try RelayEnvelope.seal(changeset.bytes, business: business, author: writer, sequence: UInt64(index + 1),
                                                  previousHash: previous, dataKey: dataKey, sealedAt: milliseconds())
            previous = envelope.hash
            envelopes.append(envelope)
        }
        self.envelopes = envelopes
        push = try HTTPConnection(port: relayPort)
        pull = try HTTPConnection(port: relayPort)
        let now = milliseconds()
        let registration = json(["owner_key": owner.publicKey.hex, "timestamp": now, "signature": RelayRegistrationProof.sign(owner: owner, timestamp: now).hexString])
        guard try push.send("POST", "/v1/businesses", body: registration).status == 201 else { throw BenchmarkError("registering the bare business failed") }
        for box in [writer, reader] {
            let certificate = try Certificate.issue(by: owner, for: box.publicKey, role: "box", branch: "bare", notBefore: now - 60_000, notAfter: now + 86_400_000)
            let (status, body) = try signed(push, "/certificates", ["certificate": Data(certificate.encoded).base64EncodedString()], key: owner)
            guard status == 201 else { throw BenchmarkError("enrolling a bare box failed: \(status) \(String(decoding: body, as: UTF8.self))") }
        }
    }

    func signed(_ connection: HTTPConnection, _ relative: String, _ body: [String: Any], key: SigningKey) throws -> (Int, [UInt8]) {
        let path = "/v1/businesses/\(business.hex)" + relative
        let bytes = json(body)
        let signature = RelayRequestSignature.sign(method: "POST", path: path, body: bytes, business: business, key: key, timestamp: milliseconds())
        let reply = try connection.send("POST", path, body: bytes, headers: [("Authorization", signature.headerValue)])
        return (reply.status, reply.body)
    }

    /// One round: the reader waits in a pull, then the writer pushes envelope `index`; the time
    /// from the push until the reader has the answer.
    func round(_ index: Int, pause: Double) throws -> Double {
        let vector = VersionVector([SiteID(publicKey: writer.publicKey): UInt64(index)])
        let answer = Answer()
        Thread { [self] in
            answer.set(Result {
                let (status, body) = try signed(pull, "/pull", ["vector": Data(vector.encode()).base64EncodedString(), "limit": 500, "wait_seconds": 25], key: reader)
                let at = ContinuousClock.now
                guard status == 200 else { throw BenchmarkError("pull answered \(status): \(String(decoding: body, as: UTF8.self))") }
                return (at, (object(body)["envelopes"] as? [Any])?.count ?? 0)
            })
        }.start()
        // The reader is parked in its long-poll by now, as B is when A writes.
        Thread.sleep(forTimeInterval: pause)
        let start = ContinuousClock.now
        let (status, body) = try signed(push, "/envelopes", ["envelopes": [Data(envelopes[index].bytes).base64EncodedString()]], key: writer)
        guard status == 200, object(body)["stored"] as? Int == 1 else { throw BenchmarkError("push answered \(status): \(String(decoding: body, as: UTF8.self))") }
        let (at, count) = try answer.get()
        guard count == 1 else { throw BenchmarkError("the pull returned \(count) envelopes, not 1") }
        return seconds(at - start)
    }
}

/// The outcome of the reader's pull, handed from its thread.
final class Answer: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<(ContinuousClock.Instant, Int), any Error>?

    func set(_ value: Result<(ContinuousClock.Instant, Int), any Error>) {
        condition.lock()
        result = value
        condition.broadcast()
        condition.unlock()
    }

    func get() throws -> (ContinuousClock.Instant, Int) {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return try result!.get()
    }
}

// MARK: Measuring

struct Figures {
    var name: String
    var envelopeBytes = 0
    var propagation: [Double] = []
    var acknowledged: [Double] = []
    var baseline: [Double] = []
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    return sorted[max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1)]
}

func measure(name: String, storage: String?) throws -> Figures {
    let root = options.directory + "/edgenode-propagation-bench-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    let children = Children()
    defer { children.stopAll() }
    let setting = try Setting(storage: storage, root: root, children: children)
    try setting.waitUntilBEnrolled()
    try setting.waitUntilInStep()
    // One round of each first, not counted: the first request on a connection, cold caches.
    let bare = try BareClients(relayPort: setting.relayPort, count: options.writes + 1)
    let events = try EventStream(port: setting.bAPI.port, token: setting.bAPI.token)
    _ = try events.arrival(of: ": connected")
    let writes = try HTTPConnection(port: setting.aAPI.port)
    var figures = Figures(name: name, envelopeBytes: bare.envelopes[0].bytes.count)
    for index in 0...options.writes {
        // Alternate which goes first, so neither always follows the other's work.
        if index % 2 == 0 { figures.baseline.append(try bare.round(index, pause: options.pause)) }
        Thread.sleep(forTimeInterval: options.pause)
        let start = ContinuousClock.now
        let (status, body) = try setting.aAPI.call("POST", "/v1/clients", ["name": "Propagation \(index) \(UUID().uuidString.prefix(8))"], on: writes)
        let acknowledged = ContinuousClock.now
        guard status == 201, let id = body["id"] as? String else { throw BenchmarkError("A refused the write: \(status) \(body)") }
        let arrived = try events.arrival(of: id)
        figures.propagation.append(seconds(arrived - start))
        figures.acknowledged.append(seconds(acknowledged - start))
        if index % 2 == 1 { figures.baseline.append(try bare.round(index, pause: options.pause)) }
    }
    for series in [\Figures.propagation, \.acknowledged, \.baseline] { figures[keyPath: series].removeFirst() }
    try setting.waitUntilInStep()
    let refused = try [setting.aAPI.status, setting.bAPI.status].map { $0["rejected_changesets"] as? Int ?? -1 }
    guard refused == [0, 0] else { throw BenchmarkError("the boxes refused changesets: \(refused)") }
    return figures
}

func report(_ rows: [Figures]) {
    func ms(_ value: Double) -> String { String(format: "%.1f ms", value * 1000) }
    print("")
    print("propagation through the relay: \(options.writes) single writes on A, one at a time, \(options.pause) s apart (milliseconds); " +
          "the baseline's envelopes are \(rows.first?.envelopeBytes ?? 0) bytes")
    print("| relay storage | A → B through the relay: median / p90 / max | A's API write alone: median | baseline (bare push → waiting pull): median / p90 / max | ratio median / p90 |")
    print("|---|---|---|---|---|")
    for row in rows {
        let (p50, p90) = (percentile(row.propagation, 0.5), percentile(row.propagation, 0.9))
        let (b50, b90) = (percentile(row.baseline, 0.5), percentile(row.baseline, 0.9))
        print("| \(row.name) | \(ms(p50)) / \(ms(p90)) / \(ms(row.propagation.max()!)) | \(ms(percentile(row.acknowledged, 0.5))) | " +
              "\(ms(b50)) / \(ms(b90)) / \(ms(row.baseline.max()!)) | " + String(format: "%.1f× / %.1f×", p50 / b50, p90 / b90) + " |")
    }
}

do {
    var rows: [Figures] = []
    if options.sqlite {
        rows.append(try measure(name: "SQLite", storage: nil))
        print("SQLite: done")
    }
    if let url = options.postgres {
        rows.append(try measure(name: "PostgreSQL", storage: url))
        print("PostgreSQL: done")
    }
    report(rows)
} catch {
    FileHandle.standardError.write(Data("edgenode-relay-propagation-bench: \(error)\n".utf8))
    exit(1)
}
