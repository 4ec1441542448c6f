import Foundation
import Testing
@testable import Replication

@Suite("Change observer")
struct ChangeObserverTests {
    @Test("the observer sees local writes and merged rows inside their transaction and may write local tables only")
    func observes() throws {
        let business = TestBusiness()
        let a = try business.makeReplica(), b = try business.makeReplica()
        for store in [a, b] {
            try store.migrate([("derived", "CREATE TABLE local_names (id TEXT PRIMARY KEY, name TEXT)")])
            store.observeChanges { changes, transaction in
                for key in changes["clients"] {
                    try transaction.execute("INSERT OR REPLACE INTO local_names (id, name) SELECT id, name FROM clients WHERE id = ?", [key])
                }
            }
        }
        let key = UUIDv7.generate()
        try a.write { try $0.insert("clients", ["id": .text(key), "name": .text("Dana")]) }
        #expect(try a.read { try $0.scalar("SELECT name FROM local_names WHERE id = ?", [.text(key)]) } == .text("Dana"))
        _ = try b.apply(try a.allChangesets())
        #expect(try b.read { try $0.scalar("SELECT name FROM local_names WHERE id = ?", [.text(key)]) } == .text("Dana"))
        // Within one transaction, refreshDerivedState makes earlier writes visible to later reads.
        let seen = try a.write { transaction -> SQLValue? in
            try transaction.update("clients", key: .text(key), ["name": .text("Dana K")])
            try transaction.refreshDerivedState()
            return try transaction.scalar("SELECT name FROM local_names WHERE id = ?", [.text(key)])
        }
        #expect(seen == .text("Dana K"))
    }

    @Test("an observer that throws rolls the whole transaction back; one that writes a replicated table is refused")
    func failures() throws {
        let business = TestBusiness()
        let a = try business.makeReplica()
        struct Boom: Error {}
        a.observeChanges { _, _ in throw Boom() }
        let before = try a.statistics().ownChangesets
        #expect(throws: Boom.self) { try a.write { try $0.insert("clients", ["id": .text(UUIDv7.generate()), "name": .text("X")]) } }
        #expect(try a.statistics().ownChangesets == before)
        #expect(try a.read { try $0.scalar("SELECT count(*) FROM clients") } == .integer(0))
        a.observeChanges { _, transaction in try transaction.execute("UPDATE clients SET name = 'sneaky'") }
        #expect(throws: (any Error).self) { try a.write { try $0.insert("clients", ["id": .text(UUIDv7.generate()), "name": .text("Y")]) } }
        #expect(try a.read { try $0.scalar("SELECT count(*) FROM clients") } == .integer(0))
    }
}
