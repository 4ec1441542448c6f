import Foundation
import Testing
@testable import Replication

@Suite("SQLite text binding")
struct TextBindingTests {
    @Test("text is bound and read by its byte length: U+0000 and what follows it are stored and returned whole")
    func textWithNULIsStoredWhole() throws {
        let path = NSTemporaryDirectory() + "edgenode-text-" + UUID().uuidString + ".sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let connection = try SQLiteConnection(path: path)
        try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, value TEXT NOT NULL DEFAULT '')")
        let values = ["before\u{0}after", "\u{0}", "", "Ерлан\u{0}Сапаров 👩🏽‍🔧", "plain"]
        for (index, value) in values.enumerated() {
            try connection.execute("INSERT INTO t (id, value) VALUES (?, ?)", [.integer(Int64(index)), .text(value)])
        }
        for (index, value) in values.enumerated() {
            let row = try #require(try connection.row("SELECT value, length(CAST(value AS BLOB)), value = ? FROM t WHERE id = ?", [.text(value), .integer(Int64(index))]))
            #expect(row[0] == .text(value))
            #expect(row[1] == .integer(Int64(value.utf8.count)))
            #expect(row[2] == .integer(1))
        }
        #expect(try connection.row("SELECT count(*) FROM t WHERE instr(value, ?) > 0", [.text("after")])?.first == .integer(1))
    }
}
