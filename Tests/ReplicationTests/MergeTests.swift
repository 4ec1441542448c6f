import Foundation
import Testing
@testable import Replication
import TestSupport

/// Delivers everything `from` has that `to` lacks, as one batch.
@discardableResult
func sync(_ from: ReplicaStore, to: ReplicaStore) throws -> ApplyReport {
    try to.apply(try from.changesets(missingFrom: to.versionVector, limit: .max).map(\.bytes))
}

func syncAll(_ replicas: [ReplicaStore]) throws {
    for _ in 0..<2 {
        for a in replicas { for b in replicas where a !== b { try sync(a, to: b) } }
    }
}

@Suite("Merge semantics")
struct MergeTests {
    @Test("concurrent edits of different columns of one row both survive")
    func differentColumns() throws {
        let business = TestBusiness()
        let a = try business.makeReplica(), b = try business.makeReplica()
        let key = newKey()
        try a.write { try $0.insert("clients", ["id": .text(key), "name": "Aigerim", "phone": "+77010000000"]) }
        try sync(a, to: b)
        try a.write { try $0.update("clients", key: .text(key), ["name": "Aigerim N."]) }
        try b.write { try $0.update("clients", key: .text(key), ["phone": "+77019999999"]) }
        try syncAll([a, b])
        for replica in [a, b] {
            #expect(try replica.value("clients", key, "name") == .text("Aigerim N."))
            #expect(try replica.value("clients", key, "phone") == .text("+77019999999"))
        }
        #expect(try a.canonicalDump() == b.canonicalDump())
    }

    @Test("the later write of one column wins, ties broken by site id")
    func sameColumn() throws {
        let business = TestBusiness()
        let clock = TestClock()
        let a = try business.makeReplica(clock: clock.physical), b = try business.makeReplica(clock: clock.physical)
        let key = newKey()
        try a.write { try $0.insert("clients", ["id": .text(key), "name": "first"]) }
        try sync(a, to: b)
        clock.advance(milliseconds: 10)
        try a.write { try $0.update("clients", key: .text(key), ["name": "from a"]) }
        clock.advance(milliseconds: 10)
        try b.write { try $0.update("clients", key: .text(key), ["name": "from b (later)"]) }
        try syncAll([a, b])
        #expect(try a.value("clients", key, "name") == .text("from b (later)"))
        #expect(try a.canonicalDump() == b.canonicalDump())

        // Same physical time on both: the timestamps tie and the greater site id wins everywhere.
        clock.advance(milliseconds: 10)
        let c = try business.makeReplica(clock: clock.physical), d = try business.makeReplica(clock: clock.physical)
        try syncAll([a, c, d])
        let (cTime, dTime) = (c.clock.current, d.clock.current)
        #expect(cTime == dTime)
        try c.write { try $0.update("clients", key: .text(key), ["name": "from c"]) }
        try d.write { try $0.update("clients", key: .text(key), ["name": "from d"]) }
        try syncAll([a, c, d])
        let winner = max(c.site, d.site) == c.site ? "from c" : "from d"
        for replica in [a, c, d] { #expect(try replica.value("clients", key, "name") == .text(winner)) }
    }

    @Test("a delete wins over a concurrent update, in either delivery order")
    func deleteBeatsConcurrentUpdate() throws {
        for deleteFirst in [true, false] {
            let business = TestBusiness()
            let a = try business.makeReplica(), b = try business.makeReplica(), c = try business.makeReplica()
            let key = newKey()
            try a.write { try $0.insert("clients", ["id": .text(key), "name": "x"]) }
            try syncAll([a, b, c])
            try a.write { try $0.delete("clients", key: .text(key)) }
            try b.write { try $0.update("clients", key: .text(key), ["name": "updated meanwhile"]) }
            if deleteFirst { try sync(a, to: c); try sync(b, to: c) } else { try sync(b, to: c); try sync(a, to: c) }
            try syncAll([a, b, c])
            for replica in [a, b, c] { #expect(try replica.value("clients", key, "name") == nil) }
            #expect(try a.canonicalDump() == c.canonicalDump())
            #expect(try b.canonicalDump() == c.canonicalDump())
        }
    }

    @Test("a re-insert after a delete brings the row back; stale updates of the old row do not")
    func reinsertAfterDelete() throws {
        let business = TestBusiness()
        let a = try business.makeReplica(), b = try business.makeReplica(), c = try business.makeReplica()
        let key = newKey()
        try a.write { try $0.insert("clients", ["id": .text(key), "name": "old", "visits": 5]) }
        try syncAll([a, b, c])
        try b.write { try $0.update("clients", key: .text(key), ["phone": "+7 stale"]) }   // concurrent with delete + re-insert
        try a.write { try $0.delete("clients", key: .text(key)) }
        try a.write { try $0.insert("clients", ["id": .text(key), "name": "new"]) }
        // c hears of the re-insert before the stale update, b the other way round.
        try sync(a, to: c)
        try sync(b, to: c)
        try syncAll([a, b, c])
        for replica in [a, b, c] {
            #expect(try replica.value("clients", key, "name") == .text("new"))
            #expect(try replica.value("clients", key, "phone") == .text(""))
            #expect(try replica.value("clients", key, "visits") == .integer(0))
        }
        #expect(try a.canonicalDump() == b.canonicalDump())
        #expect(try a.canonicalDump() == c.canonicalDump())
        #expect(try a.canonicalDump().contains("cl=3"))
    }

    @Test("applying twice changes nothing; any order gives the same state")
    func idempotentAndCommutative() throws {
        let business = TestBusiness()
        let a = try business.makeReplica(), b = try business.makeReplica()
        var keys: [String] = []
        for i in 0..<10 {
            let key = newKey()
            keys.append(key)
            try a.write { try $0.insert("clients", ["id": .text(key), "name": .text("client \(i)")]) }
            try b.write { try $0.insert("notes", ["id": .text(newKey()), "client": .text(key), "body": .text("note \(i)")]) }
        }
        let all = try a.allChangesets() + b.allChangesets()
        let forward = try business.makeReplica(), backward = try business.makeReplica()
        _ = try forward.apply(all)
        let before = try forward.canonicalDump()
        let again = try forward.apply(all)
        #expect(again.applied.isEmpty)
        #expect(again.duplicates.count == all.count)
        #expect(try forward.canonicalDump() == before)
        for bytes in all.reversed() { _ = try backward.apply([bytes]) }
        // Each fresh replica wrote its own certificate; exchange those, then compare.
        try sync(forward, to: backward)
        try sync(backward, to: forward)
        #expect(try backward.canonicalDump() == forward.canonicalDump())
        #expect(backward.versionVector == forward.versionVector)
    }

    @Test("a changeset whose predecessor is missing waits, and the gap is reported until it is filled")
    func gapWaits() throws {
        let business = TestBusiness()
        let a = try business.makeReplica(), b = try business.makeReplica()
        var keys: [String] = []
        for _ in 0..<3 {
            let key = newKey()
            keys.append(key)
            try a.write { try $0.insert("clients", ["id": .text(key)]) }
        }
        let log = try a.changesets(missingFrom: VersionVector())   // sequences 1…4 (1 is the certificate)
        let report = try b.apply([log[3].bytes, log[2].bytes])
        #expect(report.applied.isEmpty)
        #expect(report.waiting.count == 2)
        #expect(report.gaps == [SequenceGap(author: a.site, missing: 1...2)])
        #expect(b.gaps.count == 1)
        #expect(try b.value("clients", keys[2], "id") == nil)
        let filled = try b.apply([log[0].bytes, log[1].bytes])
        #expect(filled.applied.count == 4)
        #expect(filled.gaps.isEmpty)
        #expect(b.versionVector[a.site] == 4)
        #expect(try b.value("clients", keys[2], "id") == .text(keys[2]))
    }

    @Test("changes to columns and tables this version does not know are kept and take effect after the upgrade")
    func mixedSchemaVersions() throws {
        let business = TestBusiness()
        let new = try business.makeReplica(schemaVersion: 2)
        let old = try business.makeReplica(schemaVersion: 1)
        try new.migrate([("3-visits", "CREATE TABLE visits (id TEXT PRIMARY KEY NOT NULL, client TEXT NOT NULL DEFAULT '')")])
        try new.register("visits", as: .lastWriterWins)
        let key = newKey(), visit = newKey()
        try new.write { tx in
            try tx.insert("clients", ["id": .text(key), "name": "Dana", "email": "dana@example.com"])
            try tx.insert("visits", ["id": .text(visit), "client": .text(key)])
        }
        try new.write { try $0.update("clients", key: .text(key), ["email": "dana@new.example.com"]) }
        try sync(new, to: old)
        #expect(try old.value("clients", key, "name") == .text("Dana"))
        #expect(try old.statistics().parkedChanges == 3)
        #expect(try old.health().contains { $0.kind == "parked" })
        // The old replica edits the row meanwhile; nothing is lost either way.
        try old.write { try $0.update("clients", key: .text(key), ["name": "Dana K."]) }
        try TestSchema.install(on: old, version: 2)
        try old.migrate([("3-visits", "CREATE TABLE visits (id TEXT PRIMARY KEY NOT NULL, client TEXT NOT NULL DEFAULT '')")])
        try old.register("visits", as: .lastWriterWins)
        #expect(try old.statistics().parkedChanges == 0)
        #expect(try old.value("clients", key, "email") == .text("dana@new.example.com"))
        #expect(try old.value("visits", visit, "client") == .text(key))
        try syncAll([old, new])
        #expect(try old.canonicalDump() == new.canonicalDump())
    }

    @Test("a column an old replica learns later does not inherit the clock of the insert it missed")
    func addedColumnStartsUnwritten() throws {
        let business = TestBusiness()
        let new = try business.makeReplica(schemaVersion: 2)
        let old = try business.makeReplica(schemaVersion: 1)
        let key = newKey()
        try new.write { try $0.insert("clients", ["id": .text(key), "name": "Dana", "phone": "+7", "visits": 1, "balance": .real(2), "photo": .null, "email": "dana@example.com"]) }
        try sync(new, to: old)
        try TestSchema.install(on: old, version: 2)
        #expect(try old.value("clients", key, "email") == .text("dana@example.com"))
        try syncAll([old, new])
        #expect(try old.canonicalDump() == new.canonicalDump())
    }

    @Test("a snapshot keeps values of columns the receiver does not know yet")
    func snapshotParksUnknownColumns() throws {
        let business = TestBusiness()
        let new = try business.makeReplica(schemaVersion: 2)
        let key = newKey()
        try new.write { try $0.insert("clients", ["id": .text(key), "name": "Dana", "email": "dana@example.com"]) }
        let old = try business.makeReplica(schemaVersion: 1)
        try old.applySnapshot(try new.makeSnapshot())
        #expect(try old.statistics().parkedChanges == 1)
        try TestSchema.install(on: old, version: 2)
        #expect(try old.value("clients", key, "email") == .text("dana@example.com"))
        try syncAll([old, new])
        #expect(try old.canonicalDump() == new.canonicalDump())
    }

    @Test("migrations cannot drop or rename replicated tables and columns, nor touch the store's own tables")
    func schemaGuards() throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        for sql in ["ALTER TABLE clients DROP COLUMN phone", "ALTER TABLE clients RENAME COLUMN phone TO mobile", "ALTER TABLE clients RENAME TO customers", "DROP TABLE clients",
                    "CREATE UNIQUE INDEX clients_phone ON clients (phone)"] {
            #expect(throws: (any Error).self, "\(sql)") { try store.migrate([("bad-\(sql.hashValue)", sql)]) }
        }
        #expect(try store.read { try $0.scalar("SELECT count(*) FROM pragma_table_info('clients') WHERE name = 'phone'") } == .integer(1))
        #expect(try store.read { try $0.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'clients_phone'") } == .integer(0))
        for sql in ["DELETE FROM edgenode_vector", "UPDATE edgenode_changesets SET bytes = x''", "INSERT INTO edgenode_tombstones VALUES ('clients', 'x', 2)"] {
            let error = #expect(throws: ReplicationError.self) { try store.write { try $0.execute(sql) } }
            #expect(error?.code == .directWriteRefused)
        }
        let reopened = store.versionVector
        #expect(reopened[store.site] >= 1)
    }

    @Test("a new replica starts from a snapshot and continues with changesets")
    func snapshotBootstrap() throws {
        let business = TestBusiness()
        let a = try business.makeReplica(), b = try business.makeReplica()
        for i in 0..<20 {
            let key = newKey()
            try a.write { try $0.insert("clients", ["id": .text(key), "name": .text("c\(i)")]) }
            if i % 3 == 0 { try a.write { try $0.delete("clients", key: .text(key)) } }
        }
        try b.write { try $0.insert("notes", ["id": .text(newKey()), "body": "from b"]) }
        try syncAll([a, b])
        let snapshot = try a.makeSnapshot()
        let fresh = try business.makeReplica()
        let vector = try fresh.applySnapshot(snapshot)
        #expect(vector.dominates(a.versionVector))
        try sync(fresh, to: a)   // a learns the fresh replica's certificate
        #expect(try fresh.canonicalDump() == a.canonicalDump())
        // Later changesets apply on top without replaying history.
        let later = newKey()
        try a.write { try $0.insert("clients", ["id": .text(later), "name": "after snapshot"]) }
        let report = try sync(a, to: fresh)
        #expect(report.applied.count == 1)
        #expect(try fresh.value("clients", later, "name") == .text("after snapshot"))
        // A tampered snapshot changes nothing.
        var tampered = snapshot
        tampered[tampered.count / 2] ^= 0xFF
        let other = try business.makeReplica()
        let before = try other.canonicalDump()
        #expect(throws: ReplicationError.self) { try other.applySnapshot(tampered) }
        #expect(try other.canonicalDump() == before)
    }

    @Test("compaction drops only what every known replica acknowledged; a replica behind that must use a snapshot")
    func compaction() throws {
        let clock = TestClock()
        let business = TestBusiness()
        func replica() throws -> ReplicaStore {
            let key = SigningKey.generate()
            let now = Int64(clock.physical.now())
            return try business.makeReplica(key: key, clock: clock.physical, certificate: business.certificate(for: key, notBefore: now, notAfter: now + 86_400_000 * 365))
        }
        let a = try replica(), b = try replica()
        for _ in 0..<5 { try a.write { try $0.insert("clients", ["id": .text(newKey())]) } }
        try syncAll([a, b])
        #expect(try a.compact() == 0)   // b never acknowledged
        try a.recordAcknowledgement(from: b.site, vector: b.versionVector)
        let deleted = try a.compact()
        #expect(deleted == a.versionVector.entries.values.reduce(0) { $0 + Int($1) })
        try a.write { try $0.insert("clients", ["id": .text(newKey())]) }
        let late = try replica()
        let error = #expect(throws: ReplicationError.self) { try a.changesets(missingFrom: late.versionVector) }
        #expect(error?.code == .snapshotRequired)
        try late.applySnapshot(try a.makeSnapshot())
        try sync(late, to: a)   // a learns late's certificate
        #expect(try late.canonicalDump() == a.canonicalDump())
    }
}

