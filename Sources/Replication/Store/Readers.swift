import CSQLite
import Foundation

/// Read-only connections to the replica's file, for long reads (owner reports, exports) that must
/// never hold up the front desk's writes.
///
/// The store's own connection serialises every `read` and `write` behind one lock. A reader
/// connection does not take that lock: in WAL mode a reader sees the database as of the moment
/// its transaction began and neither waits for the writer nor makes the writer wait. Connections
/// are opened on first use (read-only, `SQLITE_OPEN_READONLY`) and kept, at most `limit` at once;
/// a caller that finds all of them busy waits for one.
final class ReaderPool: @unchecked Sendable {
    private let path: String
    private let limit: Int
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var idle: [SQLiteConnection] = []
    private var opened = 0

    init(path: String, limit: Int) {
        self.path = path
        self.limit = limit
    }

    /// Runs `body` with a connection of its own for the duration, then returns it to the pool.
    func with<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        let connection = try take()
        defer { give(connection) }
        return try body(connection)
    }

    private func take() throws -> SQLiteConnection {
        condition.lock()
        while idle.isEmpty && opened >= limit { condition.wait() }
        if let connection = idle.popLast() {
            condition.unlock()
            return connection
        }
        opened += 1
        condition.unlock()
        do {
            let connection = try SQLiteConnection(path: path, readOnly: true)
            // Writes are refused by the open flags already; the authorizer says which statement was refused.
            return connection
        } catch {
            condition.lock()
            opened -= 1
            condition.signal()
            condition.unlock()
            throw error
        }
    }

    private func give(_ connection: SQLiteConnection) {
        condition.lock()
        idle.append(connection)
        condition.signal()
        condition.unlock()
    }
}

extension ReplicaStore {
    /// Runs `body` in a read transaction on one of the store's read-only reader connections (see
    /// `ReaderPool`): it does not take the store's lock, so a long read never blocks a write, and
    /// a write never blocks it. It reads the last state committed when its transaction began; what
    /// commits later is not visible to it.
    ///
    /// Inside a unit of work of this store it reads in the unit's own transaction instead (as
    /// `read(_:)` does), so that the unit sees its own uncommitted writes.
    /// - Throws: what `body` throws; an SQLite error if the reader cannot be opened or the read fails.
    public func snapshotRead<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        if isInUnitOfWork { return try read(body) }
        return try readers.with { connection in
            try connection.execute("BEGIN DEFERRED")
            defer { try? connection.execute("COMMIT") }
            return try body(ReadTransaction(connection: connection, authorizer: Authorizer()))
        }
    }
}
