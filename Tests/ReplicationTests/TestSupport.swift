import Foundation
import Logging
@testable import Replication

/// A business (owner key) and a factory for its replicas on real SQLite files.
final class TestBusiness: @unchecked Sendable {
    let owner: SigningKey
    let directory: String
    private var counter = 0

    init(owner: SigningKey = .generate()) {
        self.owner = owner
        directory = NSTemporaryDirectory() + "edgenode-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    func certificate(for key: SigningKey, notBefore: Int64 = 0, notAfter: Int64 = Int64.max / 2) -> Certificate {
        try! Certificate.issue(by: owner, for: key.publicKey, role: "box", branch: "test", notBefore: notBefore, notAfter: notAfter)
    }

    /// A new replica with the test schema registered.
    func makeReplica(key: SigningKey = .generate(), clock: PhysicalClock = .system, schemaVersion: Int = 2,
                     name: String? = nil, certificate: Certificate? = nil) throws -> ReplicaStore {
        counter += 1
        var configuration = ReplicaConfiguration(path: directory + "/\(name ?? "replica\(counter)").sqlite")
        configuration.synchronous = "OFF"
        configuration.physicalClock = clock
        let store = try ReplicaStore(configuration: configuration, identity: key, ownerKey: owner.publicKey,
                                     certificate: certificate ?? self.certificate(for: key), logger: Self.logger)
        try TestSchema.install(on: store, version: schemaVersion)
        return store
    }
}

enum TestSchema {
    static let migrations: [(id: String, sql: String)] = [
        ("1-clients", """
            CREATE TABLE clients (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '',
                visits INTEGER NOT NULL DEFAULT 0, balance REAL, photo BLOB);
            CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, client TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '');
            CREATE TABLE local_cache (k INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
            """),
        ("2-clients-email", "ALTER TABLE clients ADD COLUMN email TEXT NOT NULL DEFAULT ''"),
    ]

    static func install(on store: ReplicaStore, version: Int) throws {
        try store.migrate(Array(migrations.prefix(version)))
        try store.register("clients", as: .lastWriterWins)
        try store.register("notes", as: .appendOnly)
    }
}

/// A deterministic random number generator (SplitMix64) so that failures replay from their seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A physical clock that tests move by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: UInt64
    init(_ start: UInt64 = 1_790_000_000_000) { value = start }
    func advance(_ milliseconds: UInt64) { lock.withLock { value += milliseconds } }
    func set(_ milliseconds: UInt64) { lock.withLock { value = milliseconds } }
    var physical: PhysicalClock { PhysicalClock { [self] in lock.withLock { value } } }
}

extension ReplicaStore {
    /// Every changeset this replica holds, as raw bytes.
    func allChangesets() throws -> [[UInt8]] {
        try changesets(missingFrom: VersionVector(), limit: .max).map(\.bytes)
    }

    func value(_ table: String, _ key: String, _ column: String) throws -> SQLValue? {
        try read { try $0.scalar("SELECT \(column) FROM \(table) WHERE id = ?", [.text(key)]) }
    }

    func count(_ table: String) throws -> Int {
        try read { Int(try $0.scalar("SELECT count(*) FROM \(table)")!.integerValue!) }
    }
}

func newKey() -> String { UUIDv7.generate() }
