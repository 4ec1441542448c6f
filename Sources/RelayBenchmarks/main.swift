// `edgenode-relay-bench`: relay ingest (envelopes per second) against a baseline measured in the
// same run — raw inserts of the same envelope bytes, with the same columns, batches and
// durability settings, into a plain table of the same database (docs/benchmarks.md).
//
//   swift build -c release --product edgenode-relay-bench
//   .build/release/edgenode-relay-bench --envelopes 20000 --batch 100 --repeat 3 \
//       [--postgres postgres://postgres@localhost:5433/db?host=/tmp/dir]   (or $EDGENODE_TEST_POSTGRES_URL)
//       [--http]   also through a real edgenode-relay process (build it: swift build -c release --product edgenode-relay)
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Relay
import Replication

struct Options {
    var envelopes = 20_000
    var batch = 100
    var repeats = 3
    var authors = 4
    var directory = NSTemporaryDirectory()
    var postgres: String? = ProcessInfo.processInfo.environment["EDGENODE_TEST_POSTGRES_URL"]
    /// Also push through a real `edgenode-relay` process over HTTP on loopback.
    var http = false

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--envelopes": envelopes = Int(iterator.next() ?? "") ?? envelopes
            case "--batch": batch = Int(iterator.next() ?? "") ?? batch
            case "--repeat": repeats = Int(iterator.next() ?? "") ?? repeats
            case "--authors": authors = Int(iterator.next() ?? "") ?? authors
            case "--dir": directory = iterator.next() ?? directory
            case "--postgres": postgres = iterator.next()
            case "--no-postgres": postgres = nil
            case "--http": http = true
            default:
                FileHandle.standardError.write(Data("unknown option \(argument)\n".utf8))
                exit(2)
            }
        }
    }
}

let options = Options(CommandLine.arguments)
let logger: Logger = {
    var logger = Logger(label: "relay-bench")
    logger.logLevel = .error
    return logger
}()

/// One business with `authors` enrolled boxes and their envelopes, sealed in advance.
struct Workload {
    let owner = SigningKey.generate()
    let boxes: [(key: SigningKey, certificate: Certificate)]
    /// Batches of envelopes: every batch holds consecutive envelopes of the authors, round-robin.
    let batches: [[RelayEnvelope]]
    var business: BusinessID { BusinessID(ownerKey: owner.publicKey) }
    var totalBytes: Int { batches.joined().reduce(0) { $0 + $1.bytes.count } }

    init(envelopes: Int, batch: Int, authors: Int) {
        let owner = self.owner
        let boxes: [(key: SigningKey, certificate: Certificate)] = (0..<authors).map { _ in
            let key = SigningKey.generate()
            return (key, try! Certificate.issue(by: owner, for: key.publicKey, role: "box", branch: "bench", notBefore: 0, notAfter: Int64.max / 2))
        }
        self.boxes = boxes
        let dataKey = DataKey.generate(id: DataKeyID(1))
        let business = BusinessID(ownerKey: owner.publicKey)
        var previous = [[UInt8]](repeating: RelayEnvelope.noPreviousHash, count: authors)
        var all: [RelayEnvelope] = []
        all.reserveCapacity(envelopes)
        for index in 0..<envelopes {
            let author = index % authors
            let sequence = UInt64(index / authors + 1)
            let clock = HLCTimestamp(rawValue: UInt64(1_790_000_000_000 + index) << 16)
            let row = RowChange(table: "appointments", key: .text("018bcfe5-6800-7000-8000-\(String(format: "%012d", index))"), causalLength: 1, cells: [
                CellChange(column: "client_name", value: .text("Client \(index)"), timestamp: clock),
                CellChange(column: "client_phone", value: .text("+7701\(String(format: "%07d", index))"), timestamp: clock),
                CellChange(column: "starts_at", value: .integer(1_790_000_000 + Int64(index) * 900), timestamp: clock),
                CellChange(column: "status", value: .text("confirmed"), timestamp: clock),
                CellChange(column: "price_minor", value: .integer(850_000), timestamp: clock),
            ])
            let changeset = Changeset(business: business, author: SiteID(publicKey: boxes[author].key.publicKey), sequence: sequence,
                                      previousHash: RelayEnvelope.noPreviousHash, clockMin: clock, clockMax: clock, rows: [row]).signed(with: boxes[author].key)
            let envelope = try! RelayEnvelope.seal(changeset.bytes, business: business, author: boxes[author].key, sequence: sequence,
                                                   previousHash: previous[author], dataKey: dataKey, sealedAt: 1_790_000_000_000)
            previous[author] = envelope.hash
            all.append(envelope)
        }
        batches = stride(from: 0, to: all.count, by: batch).map { Array(all[$0..<min($0 + batch, all.count)]) }
    }
}

func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }

func time(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return seconds(ContinuousClock.now - start)
}

/// Relay ingest through `RelayCore.push` (decode, trust lookup, Ed25519 verification, chain
/// check and insert per batch, as the HTTP endpoint does after parsing).
func relayIngest<S: RelayStorage>(_ storage: S, workload: Workload) async throws -> Double {
    let core = RelayCore(storage: storage, logger: logger)
    _ = try await storage.registerBusiness(workload.business, ownerKey: workload.owner.publicKey, at: 0)
    for box in workload.boxes { _ = try await storage.addCertificate(box.certificate, business: workload.business) }
    return try await time {
        for batch in workload.batches {
            let results = try await core.push(batch.map(\.bytes), business: workload.business)
            precondition(results.allSatisfy { $0.status == .stored }, "the benchmark's envelopes were refused: \(results.first { $0.status != .stored }!)")
        }
    }
}

/// Baseline on SQLite: the same rows into a plain table with the same primary key, pragmas and batches.
func sqliteBaseline(path: String, workload: Workload) throws -> Double {
    let db = try SQLiteConnection(path: path)
    try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
    try db.execute("""
        CREATE TABLE plain (business BLOB NOT NULL, author BLOB NOT NULL, sequence INTEGER NOT NULL, hash BLOB NOT NULL, key_id INTEGER NOT NULL,
            received_at INTEGER NOT NULL, envelope BLOB NOT NULL, PRIMARY KEY (business, author, sequence))
        """)
    let start = ContinuousClock.now
    for batch in workload.batches {
        try db.transaction {
            for envelope in batch {
                try db.execute("INSERT INTO plain VALUES (?, ?, ?, ?, ?, ?, ?)", [.blob(envelope.business.bytes), .blob(envelope.author.bytes),
                    .integer(Int64(envelope.sequence)), .blob(envelope.hash), .integer(Int64(envelope.keyID.rawValue)), .integer(0), .blob(envelope.bytes)])
            }
        }
    }
    return seconds(ContinuousClock.now - start)
}

/// Baseline on PostgreSQL: the same rows into a plain table, one transaction per batch, one INSERT per row.
func postgresBaseline(_ client: PostgresClient, table: String, workload: Workload) async throws -> Double {
    try await client.query(PostgresQuery(unsafeSQL: """
        CREATE TABLE \(table) (business BYTEA NOT NULL, author BYTEA NOT NULL, sequence BIGINT NOT NULL, hash BYTEA NOT NULL, key_id BIGINT NOT NULL,
            received_at BIGINT NOT NULL, envelope BYTEA NOT NULL, PRIMARY KEY (business, author, sequence))
        """), logger: logger)
    return try await time {
        for batch in workload.batches {
            try await client.withTransaction(logger: logger) { connection in
                for envelope in batch {
                    var query = PostgresQuery(unsafeSQL: "INSERT INTO \(table) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    try query.binds.append(Data(envelope.business.bytes))
                    try query.binds.append(Data(envelope.author.bytes))
                    query.binds.append(Int64(envelope.sequence))
                    try query.binds.append(Data(envelope.hash))
                    query.binds.append(Int64(envelope.keyID.rawValue))
                    query.binds.append(Int64(0))
                    try query.binds.append(Data(envelope.bytes))
                    try await connection.query(query, logger: logger)
                }
            }
        }
    }
}

struct Row {
    var name: String
    var relay: [Double] = []
    var baseline: [Double] = []
}

func median(_ values: [Double]) -> Double { let sorted = values.sorted(); return sorted[sorted.count / 2] }

func report(_ rows: [Row], workload: Workload) {
    let count = Double(options.envelopes)
    print("")
    print("relay ingest: \(options.envelopes) envelopes from \(options.authors) authors in batches of \(options.batch), " +
          "\(workload.totalBytes / options.envelopes) bytes each on average, \(options.repeats) runs (median; spread of per-run ratios)")
    print("| store | relay ingest | baseline (raw inserts) | ratio |")
    print("|---|---|---|---|")
    for row in rows where !row.relay.isEmpty {
        let ratios = zip(row.relay, row.baseline).map { $0 / $1 }
        let relay = median(row.relay), baseline = median(row.baseline)
        print(String(format: "| %@ | %.3f s (%.0f/s) | %.3f s (%.0f/s) | %.2f× (%.2f–%.2f) |", row.name as NSString, relay, count / relay, baseline, count / baseline,
                     median(ratios), ratios.min()!, ratios.max()!))
    }
}

// MARK: Over HTTP, through a real relay process

/// A blocking HTTP/1.1 client on one keep-alive connection to 127.0.0.1 (enough for a benchmark:
/// requests with Content-Length, responses with Content-Length).
final class HTTPConnection {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard result == 0 else { throw BenchmarkError("cannot connect to 127.0.0.1:\(port)") }
    }

    deinit { close(fd) }

    func send(_ method: String, _ target: String, body: [UInt8], authorization: String?) throws -> (status: Int, body: [UInt8]) {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        if let authorization { head += "Authorization: \(authorization)\r\n" }
        head += "\r\n"
        let request = Array(head.utf8) + body
        var sent = 0
        while sent < request.count {
            let count = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw BenchmarkError("write failed") }
            sent += count
        }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        func fill() throws {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw BenchmarkError("the relay closed the connection") }
            buffer += chunk[0..<count]
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while headerEnd == nil {
            try fill()
            headerEnd = buffer.indices.dropLast(3).first { Array(buffer[$0..<($0 + 4)]) == separator }
        }
        let headers = String(decoding: buffer[..<headerEnd!], as: UTF8.self).lowercased()
        let status = Int(headers.split(separator: " ").dropFirst().first ?? "") ?? 0
        let length = headers.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        while buffer.count < headerEnd! + 4 + length { try fill() }
        return (status, Array(buffer[(headerEnd! + 4)..<(headerEnd! + 4 + length)]))
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Starts `edgenode-relay serve` on a free port with `storage`; returns the process and port.
func startRelay(storage: String) throws -> (Process, Int) {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("edgenode-relay").path
    guard FileManager.default.isExecutableFile(atPath: binary) else { throw BenchmarkError("build \(binary) first: swift build -c release --product edgenode-relay") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = ["serve", "--storage", storage, "--bind", "127.0.0.1", "--port", "0", "--log-level", "notice"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    var seen = ""
    while true {
        let chunk = output.fileHandleForReading.availableData
        guard !chunk.isEmpty else { throw BenchmarkError("the relay exited: \(seen)") }
        seen += String(decoding: chunk, as: UTF8.self)
        if let range = seen.range(of: #"relay\.port=(\d+)"#, options: .regularExpression) {
            return (process, Int(seen[range].dropFirst("relay.port=".count))!)
        }
    }
}

/// Pushes the workload through a relay process over HTTP, one keep-alive connection, signed
/// requests, JSON bodies prepared before timing (the relay parses them inside the timing).
func httpIngest(storage: String, workload: Workload) throws -> Double {
    let (process, port) = try startRelay(storage: storage)
    defer { process.terminate(); process.waitUntilExit() }
    let connection = try HTTPConnection(port: port)
    let business = workload.business
    func signed(_ method: String, _ target: String, _ body: [UInt8], key: SigningKey) throws -> (Int, [UInt8]) {
        let signature = RelayRequestSignature.sign(method: method, path: target, body: body, business: business, key: key, timestamp: RelayClock.system.now())
        return try connection.send(method, target, body: body, authorization: signature.headerValue)
    }
    let now = RelayClock.system.now()
    let registration = try JSONSerialization.data(withJSONObject: ["owner_key": workload.owner.publicKey.hex, "timestamp": now,
                                                                   "signature": RelayRegistrationProof.sign(owner: workload.owner, timestamp: now).hexString])
    guard try connection.send("POST", "/v1/businesses", body: Array(registration), authorization: nil).status == 201 else { throw BenchmarkError("registration failed") }
    for box in workload.boxes {
        let body = try JSONSerialization.data(withJSONObject: ["certificate": Data(box.certificate.encoded).base64EncodedString()])
        guard try signed("POST", "/v1/businesses/\(business.hex)/certificates", Array(body), key: workload.owner).0 == 201 else { throw BenchmarkError("enrolment failed") }
    }
    let bodies = try workload.batches.map { batch in
        Array(try JSONSerialization.data(withJSONObject: ["envelopes": batch.map { Data($0.bytes).base64EncodedString() }]))
    }
    let target = "/v1/businesses/\(business.hex)/envelopes"
    let start = ContinuousClock.now
    for (index, body) in bodies.enumerated() {
        let (status, reply) = try signed("POST", target, body, key: workload.boxes[index % workload.boxes.count].key)
        guard status == 200, let json = try? JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any],
              json["stored"] as? Int == workload.batches[index].count else {
            throw BenchmarkError("push \(index) was not stored: \(status) \(String(decoding: reply, as: UTF8.self).prefix(300))")
        }
    }
    return seconds(ContinuousClock.now - start)
}

func run() async throws {
    var sqlite = Row(name: "SQLite (file, WAL, synchronous=FULL)")
    var postgres = Row(name: "PostgreSQL (Unix socket)")
    var sqliteHTTP = Row(name: "SQLite, over HTTP (relay process)")
    var postgresHTTP = Row(name: "PostgreSQL, over HTTP (relay process)")
    var workloads: [Workload] = []
    for run in 1...options.repeats {
        let workload = Workload(envelopes: options.envelopes, batch: options.batch, authors: options.authors)
        workloads.append(workload)
        let directory = options.directory + "/edgenode-relay-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Alternate which goes first, so neither always gets the warm cache.
        let baselineFirst = run % 2 == 0
        if baselineFirst { sqlite.baseline.append(try sqliteBaseline(path: directory + "/plain.sqlite", workload: workload)) }
        let storage = try SQLiteRelayStorage(path: directory + "/relay.sqlite", logger: logger)
        try await storage.migrate()
        sqlite.relay.append(try await relayIngest(storage, workload: workload))
        if !baselineFirst { sqlite.baseline.append(try sqliteBaseline(path: directory + "/plain.sqlite", workload: workload)) }
        print("run \(run): SQLite relay \(String(format: "%.3f", sqlite.relay.last!)) s, baseline \(String(format: "%.3f", sqlite.baseline.last!)) s")
        if options.http {
            let fresh = Workload(envelopes: options.envelopes, batch: options.batch, authors: options.authors)
            sqliteHTTP.relay.append(try httpIngest(storage: "sqlite:" + directory + "/http.sqlite", workload: fresh))
            sqliteHTTP.baseline.append(sqlite.baseline.last!)
            print("run \(run): SQLite over HTTP \(String(format: "%.3f", sqliteHTTP.relay.last!)) s")
        }

        if let url = options.postgres {
            let storage = PostgresRelayStorage(configuration: try PostgresRelayStorage.configuration(url: url), logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await storage.run() }
                defer { group.cancelAll() }
                try await storage.migrate()
                let table = "bench_plain_\(run)_\(UInt32.random(in: 0...UInt32.max))"
                if baselineFirst { postgres.baseline.append(try await postgresBaseline(storage.client, table: table, workload: workload)) }
                postgres.relay.append(try await relayIngest(storage, workload: workload))
                if !baselineFirst { postgres.baseline.append(try await postgresBaseline(storage.client, table: table, workload: workload)) }
                try await storage.client.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(table)"), logger: logger)
            }
            print("run \(run): PostgreSQL relay \(String(format: "%.3f", postgres.relay.last!)) s, baseline \(String(format: "%.3f", postgres.baseline.last!)) s")
            if options.http {
                let fresh = Workload(envelopes: options.envelopes, batch: options.batch, authors: options.authors)
                postgresHTTP.relay.append(try httpIngest(storage: url, workload: fresh))
                postgresHTTP.baseline.append(postgres.baseline.last!)
                print("run \(run): PostgreSQL over HTTP \(String(format: "%.3f", postgresHTTP.relay.last!)) s")
            }
        }
    }
    // Fixed costs per envelope in the same process.
    let sample = workloads[0].batches[0][0]
    let key = workloads[0].boxes[0].key.publicKey
    let verifications = 2000
    let verify = await time { for _ in 0..<verifications { precondition(sample.verifySignature(with: key)) } } / Double(verifications)
    let decode = await time { for _ in 0..<verifications { _ = try! RelayEnvelope.decode(sample.bytes) } } / Double(verifications)
    report([sqlite, sqliteHTTP, postgres, postgresHTTP], workload: workloads[0])
    print(String(format: "per envelope (%d bytes): decode with BLAKE2b-256 hash %.1f µs, Ed25519 verify %.1f µs", sample.bytes.count, decode * 1e6, verify * 1e6))
}

try await run()
