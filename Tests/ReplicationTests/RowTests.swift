@testable import Replication
import Testing
import TestSupport

/// `Row`: result rows read by column name.
@Suite("Rows by name")
struct RowTests {
    @Test("a row is read by column name or alias, whatever the order of the columns, in every kind of transaction")
    func byName() throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let key = newKey()
        try store.write { transaction in
            try transaction.insert("clients", ["id": .text(key), "name": .text("Aigerim"), "phone": .text("+77011234567")])
            // Inside a write transaction too.
            let row = try #require(try transaction.fetchOne("SELECT phone, name FROM clients WHERE id = ?", [.text(key)]))
            #expect(row["name"] == .text("Aigerim") && row["phone"] == .text("+77011234567"))
        }
        try store.read { transaction in
            let first = try #require(try transaction.fetchOne("SELECT name, phone, visits FROM clients WHERE id = ?", [.text(key)]))
            let reordered = try #require(try transaction.fetchOne("SELECT visits, phone, name FROM clients WHERE id = ?", [.text(key)]))
            for column in ["name", "phone", "visits"] { #expect(first[column] == reordered[column]) }
            #expect(first.values == [.text("Aigerim"), .text("+77011234567"), .integer(0)])
            let counted = try transaction.fetchAll("SELECT count(*) AS total, max(name) AS last FROM clients")
            #expect(counted.count == 1 && counted[0]["total"] == .integer(1) && counted[0]["last"] == .text("Aigerim"))
            #expect(try transaction.fetchAll("SELECT id FROM clients WHERE name = 'nobody'").isEmpty)
        }
        #expect(try store.snapshotRead { try $0.fetchOne("SELECT name FROM clients")?["name"] } == .text("Aigerim"))
    }
}
