import Foundation
import Testing
@testable import Replication
import CSQLite

@Suite("Local write path")
struct WritePathTests {
    @Test("every write transaction yields exactly one signed changeset with a gap-free sequence")
    func oneChangesetPerTransaction() throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let before = store.versionVector[store.site]
        let a = newKey(), b = newKey()
        try store.write { tx in
            try tx.insert("clients", ["id": .text(a), "name": "Aigerim", "phone": "+77011234567"])
            try tx.insert("clients", ["id": .text(b), "name": "Dana"])
        }
        try store.write { tx in try tx.update("clients", key: .text(a), ["visits": 3]) }
        try store.write { _ in }   // no change, no changeset
        #expect(store.versionVector[store.site] == before + 2)
        let log = try store.changesets(missingFrom: VersionVector())
        let own = log.filter { $0.changeset.author == store.site }
        #expect(own.map(\.changeset.sequence) == Array(1...(before + 2)))
        for (previous, next) in zip(own, own.dropFirst()) {
            #expect(next.changeset.previousHash == previous.hash)
        }
        let last = own.last!
        #expect(last.verifySignature(with: store.identity.publicKey))
        #expect(last.changeset.rows.count == 1)
        #expect(last.changeset.rows[0].cells.map(\.column) == ["visits"])
        #expect(try store.value("clients", a, "visits") == .integer(3))
    }

    @Test("a failed transaction writes nothing and issues no sequence number")
    func rollback() throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let before = store.versionVector
        let key = newKey()
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try store.write { tx in
                try tx.insert("clients", ["id": .text(key), "name": "Never"])
                throw Abort()
            }
        }
        #expect(store.versionVector == before)
        #expect(try store.value("clients", key, "name") == nil)
        try store.write { tx in try tx.insert("clients", ["id": .text(key), "name": "Now"]) }
        #expect(store.versionVector[store.site] == before[store.site] + 1)
    }

    @Test("application SQL cannot write a replicated table inside a transaction")
    func directWriteRefusedInProcess() throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let key = newKey()
        try store.write { tx in try tx.insert("clients", ["id": .text(key), "name": "A"]) }
        let before = store.versionVector
        for sql in ["UPDATE clients SET name = 'B'", "DELETE FROM clients", "INSERT INTO clients (id, name) VALUES ('\(newKey())', 'C')", "DROP TABLE clients"] {
            let error = #expect(throws: ReplicationError.self) { try store.write { tx in try tx.execute(sql) } }
            #expect(error?.code == .directWriteRefused)
        }
        #expect(try store.value("clients", key, "name") == .text("A"))
        #expect(store.versionVector == before)
        // Local tables are the application's to write.
        try store.write { tx in try tx.execute("INSERT INTO local_cache (v) VALUES ('x')") }
        #expect(try store.read { try $0.scalar("SELECT count(*) FROM local_cache") } == .integer(1))
        // Reads refuse every write.
        #expect(throws: (any Error).self) { try store.read { try $0.rows("INSERT INTO local_cache (v) VALUES ('y')") } }
    }

    @Test("another connection to the file cannot write a replicated table")
    func directWriteRefusedFromOtherConnection() throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let key = newKey()
        try store.write { tx in try tx.insert("clients", ["id": .text(key), "name": "A"]) }
        let other = try SQLiteConnection(path: store.configuration.path)
        for sql in ["UPDATE clients SET name = 'B'", "DELETE FROM clients", "INSERT INTO clients (id, name) VALUES ('\(newKey())', 'C')"] {
            let error = #expect(throws: SQLiteError.self) { try other.execute(sql) }
            #expect(error?.message.contains("replicated table") == true)
        }
        #expect(try store.value("clients", key, "name") == .text("A"))
    }

    @Test("bad writes fail with specific errors", arguments: [
        ("not registered", ReplicationError.Code.notRegistered),
        ("bad key", .invalidKey),
        ("unknown column", .unknownColumn),
        ("meta column", .unknownColumn),
        ("duplicate", .alreadyExists),
        ("missing row", .notFound),
        ("append-only update", .appendOnly),
        ("append-only delete", .appendOnly),
    ])
    func badWrites(name: String, code: ReplicationError.Code) throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let existing = newKey(), note = newKey()
        try store.write { tx in
            try tx.insert("clients", ["id": .text(existing)])
            try tx.insert("notes", ["id": .text(note), "body": "hello"])
        }
        let error = #expect(throws: ReplicationError.self) {
            try store.write { tx in
                switch name {
                case "not registered": try tx.insert("local_cache", ["k": 1])
                case "bad key": try tx.insert("clients", ["id": "42", "name": "x"])
                case "unknown column": try tx.insert("clients", ["id": .text(newKey()), "nmae": "x"])
                case "meta column": try tx.update("clients", key: .text(existing), ["crdt_meta": .blob([1])])
                case "duplicate": try tx.insert("clients", ["id": .text(existing)])
                case "missing row": try tx.update("clients", key: .text(newKey()), ["name": "x"])
                case "append-only update": try tx.update("notes", key: .text(note), ["body": "changed"])
                default: try tx.delete("notes", key: .text(note))
                }
            }
        }
        #expect(error?.code == code)
    }

    @Test("registration refuses tables that break the replication rules", arguments: [
        ("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)", "AUTOINCREMENT"),
        ("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "must be declared TEXT or BLOB"),
        ("CREATE TABLE t (id TEXT PRIMARY KEY, phone TEXT UNIQUE)", "unique"),
        ("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT); CREATE UNIQUE INDEX t_v ON t (v)", "unique"),
        ("CREATE TABLE p (id TEXT PRIMARY KEY); CREATE TABLE t (id TEXT PRIMARY KEY, p TEXT REFERENCES p (id))", "foreign keys"),
        ("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT NOT NULL)", "NOT NULL without a DEFAULT"),
        ("CREATE TABLE t (a TEXT, b TEXT, PRIMARY KEY (a, b))", "composite"),
        ("CREATE TABLE t (v TEXT)", "single-column primary key"),
        ("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER CHECK (v > 0))", "CHECK"),
    ])
    func lint(sql: String, expected: String) throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        try store.migrate([("lint", sql)])
        let error = #expect(throws: SchemaLintError.self) { try store.register("t", as: .lastWriterWins) }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
        #expect(!store.replicatedTables.contains("t"))
    }

    @Test("a new row's metadata is small compared to its data")
    func metadataSize() throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let key = newKey()
        try store.write { tx in try tx.insert("clients", ["id": .text(key), "name": "Aigerim Nurlanovna", "phone": "+77011234567", "visits": 3, "balance": .real(0), "photo": .null, "email": "a@example.kz"]) }
        let metaBytes = try store.read { try $0.scalar("SELECT length(crdt_meta) FROM clients")!.integerValue! }
        #expect(metaBytes <= 16)
    }
}
