import Foundation
import Logging

@testable import Replication
import TestSupport

/// A business (owner key) and a factory for its replicas on real SQLite files, with the test
/// schema registered.
final class TestBusiness: @unchecked Sendable {
    let fixture: TestFixture
    var owner: SigningKey { fixture.owner }
    var directory: String { fixture.directory }

    init(owner: SigningKey = .generate()) { fixture = TestFixture(owner: owner) }

    static var logger: Logger { testLogger }

    func certificate(for key: SigningKey, notBefore: Int64 = 0, notAfter: Int64 = Int64.max / 2) -> Certificate {
        fixture.certificate(for: key, notBefore: notBefore, notAfter: notAfter)
    }

    /// A new replica with the test schema registered (on the system's clock unless given one).
    func makeReplica(key: SigningKey = .generate(), clock: PhysicalClock = .system, schemaVersion: Int = 2,
                     name: String? = nil, certificate: Certificate? = nil) throws -> ReplicaStore {
        let store = try fixture.makeStore(key: key, physicalClock: clock, name: name, certificate: certificate)
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
