import CSQLite

/// The store connection's SQLite authorizer: it refuses, at prepare time, any statement of
/// application code that would write a replicated table behind the store's back.
final class Authorizer: @unchecked Sendable {
    enum Mode {
        /// The store's own statements: everything allowed.
        case `internal`
        /// Application migrations: DDL allowed, no writes to replicated tables, no dropping them.
        case schema
        /// Application code inside a write transaction: local tables only.
        case application
        /// Inside `read`: no writes at all.
        case readOnly
    }

    var mode: Mode = .application
    var replicated: Set<String> = []
    var lastDenied: String?

    func with<T>(_ mode: Mode, _ body: () throws -> T) rethrows -> T {
        let previous = self.mode
        self.mode = mode
        defer { self.mode = previous }
        return try body()
    }

    func authorize(action: Int32, _ first: UnsafePointer<CChar>?, _ second: UnsafePointer<CChar>?) -> Int32 {
        switch mode {
        case .internal:
            return SQLITE_OK
        case .readOnly:
            switch action {
            case SQLITE_READ, SQLITE_SELECT, SQLITE_FUNCTION, SQLITE_RECURSIVE, SQLITE_PRAGMA:
                return SQLITE_OK
            case SQLITE_UPDATE where first.map({ String(cString: $0) }) == "sqlite_master":
                // SQLite asks this when a virtual table (an FTS5 index) is first connected on the
                // connection; no statement can really write sqlite_master here.
                return SQLITE_OK
            default:
                lastDenied = first.map { String(cString: $0) } ?? "the database"
                return SQLITE_DENY
            }
        case .schema, .application:
            let table: UnsafePointer<CChar>?
            switch action {
            case SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE, SQLITE_DROP_TABLE: table = first
            case SQLITE_ALTER_TABLE: table = mode == .schema ? nil : second
            case SQLITE_DROP_TRIGGER, SQLITE_CREATE_TRIGGER: table = second
            default: table = nil
            }
            guard let table else { return SQLITE_OK }
            let name = String(cString: table)
            if replicated.contains(name) || name.hasPrefix("edgenode_") {
                lastDenied = name
                return SQLITE_DENY
            }
            return SQLITE_OK
        }
    }
}

let authorizerCallback: @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32 = { context, action, first, second, _, _ in
    guard let context else { return SQLITE_OK }
    return Unmanaged<Authorizer>.fromOpaque(context).takeUnretainedValue().authorize(action: action, first, second)
}

/// Read access inside `ReplicaStore.read`.
public struct ReadTransaction {
    let connection: SQLiteConnection
    let authorizer: Authorizer

    /// All rows of a query.
    public func rows(_ sql: String, _ arguments: [SQLValue] = []) throws -> [[SQLValue]] { try connection.rows(sql, arguments, scope: 2) }
    /// The first row of a query, or nil.
    public func row(_ sql: String, _ arguments: [SQLValue] = []) throws -> [SQLValue]? { try connection.row(sql, arguments, scope: 2) }
    /// The first column of the first row, or nil.
    public func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue? { try connection.scalar(sql, arguments, scope: 2) }
}
