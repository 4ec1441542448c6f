/// How a replicated table merges.
public enum ReplicatedTableKind: String, Sendable, Codable {
    /// Each non-key column is its own last-writer-wins register.
    case lastWriterWins = "lww"
    /// Rows are immutable once written; merge is the union; a key with different content is a tamper.
    case appendOnly = "append_only"
}

/// Why a table cannot be registered as replicated.
public struct SchemaLintError: Error, Sendable, CustomStringConvertible, Equatable {
    public let table: String
    public let problems: [String]
    public var description: String {
        "table \(table) cannot be replicated: " + problems.joined(separator: "; ")
    }
}

/// The registered shape of one replicated table.
struct TableSchema {
    let name: String
    let kind: ReplicatedTableKind
    let keyColumn: String
    let keyIsBlob: Bool
    let hasRowID: Bool
    /// Non-key columns in their stable local order; the index is the column id used in `RowMeta`.
    var columns: [String]
    var columnIndex: [String: Int]
    var tombstoneCount: Int = 0
    /// A small integer naming the table in statement caches (assigned at registration).
    var id: Int = 0

    static let metaColumn = "crdt_meta"

    init(name: String, kind: ReplicatedTableKind, keyColumn: String, keyIsBlob: Bool, hasRowID: Bool, columns: [String]) {
        self.name = name
        self.kind = kind
        self.keyColumn = keyColumn
        self.keyIsBlob = keyIsBlob
        self.hasRowID = hasRowID
        self.columns = columns
        self.columnIndex = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
    }

    /// Whether `key` is a well-formed UUIDv7 of this table's key type.
    func isValidKey(_ key: SQLValue) -> Bool {
        switch key {
        case .text(let text): !keyIsBlob && UUIDv7.isValid(text)
        case .blob(let bytes): keyIsBlob && UUIDv7.isValid(bytes)
        default: false
        }
    }
}

/// Quotes an SQL identifier.
func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

enum SchemaLinter {
    /// Reads the table's schema and checks the rules for replicated tables.
    /// - Throws: `SchemaLintError` listing every rule the table breaks.
    static func lint(table: String, kind: ReplicatedTableKind, connection: SQLiteConnection) throws -> TableSchema {
        guard let sqlRow = try connection.row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(table)]),
              let createSQL = sqlRow[0].textValue else {
            throw SchemaLintError(table: table, problems: ["no such table"])
        }
        var problems: [String] = []
        let upper = createSQL.uppercased()
        if table.hasPrefix("sqlite_") { problems.append("SQLite's internal tables cannot be replicated") }
        if upper.contains("AUTOINCREMENT") { problems.append("AUTOINCREMENT is not allowed (keys are UUIDv7 generated locally)") }
        if containsWord("CHECK", in: upper) {
            problems.append("CHECK constraints are not allowed (a merge of valid writes could violate them); enforce the rule in the domain")
        }

        struct Column { let name: String; let type: String; let notNull: Bool; let defaultValue: SQLValue; let pk: Int64 }
        let columns = try connection.rows("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_xinfo(?) WHERE hidden = 0", [.text(table)]).map {
            Column(name: $0[0].textValue ?? "", type: ($0[1].textValue ?? "").uppercased(), notNull: $0[2].integerValue == 1, defaultValue: $0[3], pk: $0[4].integerValue ?? 0)
        }
        let keyColumns = columns.filter { $0.pk > 0 }
        var keyIsBlob = false
        if keyColumns.count != 1 {
            problems.append(keyColumns.isEmpty ? "a single-column primary key (UUIDv7, TEXT or BLOB) is required" : "composite primary keys are not allowed; use one UUIDv7 column")
        } else {
            let type = keyColumns[0].type
            if type == "TEXT" { keyIsBlob = false } else if type == "BLOB" { keyIsBlob = true } else {
                problems.append("primary key \(keyColumns[0].name) must be declared TEXT or BLOB (a UUIDv7), not \(type.isEmpty ? "untyped" : type)")
            }
        }
        for column in columns where column.pk == 0 && column.notNull && column.defaultValue.isNull && column.name != TableSchema.metaColumn {
            problems.append("column \(column.name) is NOT NULL without a DEFAULT (a row created by a merge needs one)")
        }
        let indexes = try connection.rows("SELECT name, \"unique\", origin FROM pragma_index_list(?)", [.text(table)])
        for index in indexes where index[1].integerValue == 1 && index[2].textValue != "pk" {
            problems.append("unique index or constraint \(index[0].textValue ?? "?") is not allowed (uniqueness is a domain invariant checked on the write path)")
        }
        let foreignKeys = try connection.rows("SELECT \"table\" FROM pragma_foreign_key_list(?)", [.text(table)])
        if !foreignKeys.isEmpty {
            problems.append("foreign keys are not allowed (references to \(Set(foreignKeys.compactMap { $0[0].textValue }).sorted().joined(separator: ", "))); rows may arrive in any order")
        }
        if columns.filter({ $0.pk == 0 && $0.name != TableSchema.metaColumn }).count > 63 {
            problems.append("a replicated table has at most 63 columns besides its key")
        }
        let hasRowID = !upper.replacingOccurrences(of: " ", with: "").contains("WITHOUTROWID")
        if !problems.isEmpty { throw SchemaLintError(table: table, problems: problems) }
        let dataColumns = columns.filter { $0.pk == 0 && $0.name != TableSchema.metaColumn }.map(\.name)
        return TableSchema(name: table, kind: kind, keyColumn: keyColumns[0].name, keyIsBlob: keyIsBlob, hasRowID: hasRowID, columns: dataColumns)
    }

    private static func containsWord(_ word: String, in text: String) -> Bool {
        var searchRange = text.startIndex..<text.endIndex
        while let range = text.range(of: word, range: searchRange) {
            let before = range.lowerBound == text.startIndex ? " " : text[text.index(before: range.lowerBound)]
            let after = range.upperBound == text.endIndex ? " " : text[range.upperBound]
            if !(before.isLetter || before.isNumber || before == "_") && !(after.isLetter || after.isNumber || after == "_") { return true }
            searchRange = range.upperBound..<text.endIndex
        }
        return false
    }
}
