import CSQLite

/// One result row whose columns are read by name: `row["starts_at"]`, never by position, so a
/// query can gain or reorder columns without silently shifting what its readers decode.
public struct Row: Sendable {
    /// The values in column order.
    public let values: [SQLValue]
    let columns: ColumnNames

    /// The value of the column named `name` (as the query names it: the column, or its `AS` alias).
    ///
    /// A name the query does not select is a programming error (every query's readers are covered
    /// by tests): it stops with the names the query does have.
    public subscript(_ name: String) -> SQLValue {
        // A scan, not a hash lookup: queries select a few short names (most fit in a String's
        // inline storage, where == compares two words), and this runs for every column of every
        // row the availability engine reads.
        let names = columns.names
        for position in names.indices where names[position] == name { return values[position] }
        preconditionFailure("the query selects no column `\(name)`; it has \(names.joined(separator: ", "))")
    }
}

/// The column names of a prepared statement, in order, read once per statement.
final class ColumnNames: Sendable {
    let names: [String]

    init(_ names: [String]) { self.names = names }
}

extension SQLiteConnection {
    /// All rows of a query, read by column name.
    public func namedRows(_ sql: String, _ arguments: [SQLValue] = [], scope: UInt8 = 0) throws -> [Row] {
        let statement = try cachedStatement(sql, scope: scope)
        try statement.bind(arguments)
        defer { statement.reset() }
        let columns = statement.columnNames
        var result: [Row] = []
        while try statement.step() {
            result.append(Row(values: statement.row(), columns: columns))
        }
        return result
    }

    /// The first row of a query, read by column name, or nil.
    public func namedRow(_ sql: String, _ arguments: [SQLValue] = [], scope: UInt8 = 0) throws -> Row? {
        let statement = try cachedStatement(sql, scope: scope)
        try statement.bind(arguments)
        defer { statement.reset() }
        return try statement.step() ? Row(values: statement.row(), columns: statement.columnNames) : nil
    }
}

extension ReadTransaction {
    /// All rows of a query, read by column name.
    public func fetchAll(_ sql: String, _ arguments: [SQLValue] = []) throws -> [Row] { try connection.namedRows(sql, arguments, scope: 2) }
    /// The first row of a query, read by column name, or nil.
    public func fetchOne(_ sql: String, _ arguments: [SQLValue] = []) throws -> Row? { try connection.namedRow(sql, arguments, scope: 2) }
}

extension WriteTransaction {
    /// All rows of a query (any table), read by column name.
    public func fetchAll(_ sql: String, _ arguments: [SQLValue] = []) throws -> [Row] { try store.connection.namedRows(sql, arguments, scope: 1) }
    /// The first row of a query (any table), read by column name, or nil.
    public func fetchOne(_ sql: String, _ arguments: [SQLValue] = []) throws -> Row? { try store.connection.namedRow(sql, arguments, scope: 1) }
}

extension DerivedStateTransaction {
    /// All rows of a query, read by column name.
    public func fetchAll(_ sql: String, _ arguments: [SQLValue] = []) throws -> [Row] { try connection.namedRows(sql, arguments, scope: 1) }
    /// The first row of a query, read by column name, or nil.
    public func fetchOne(_ sql: String, _ arguments: [SQLValue] = []) throws -> Row? { try connection.namedRow(sql, arguments, scope: 1) }
}
