/// The replicated rows one transaction touched, by table. Keys are the rows' primary keys.
///
/// A row is listed when a local write changed it or when a merge (changeset, snapshot or
/// parked change) may have changed it; a merge that lost every cell still lists the row.
public struct ChangedRows: Sendable {
    public internal(set) var keys: [String: Set<SQLValue>] = [:]

    public init() {}

    public var isEmpty: Bool { keys.isEmpty }

    /// The keys of `table` that changed (empty if none).
    public subscript(table: String) -> Set<SQLValue> { keys[table] ?? [] }

    mutating func insert(table: String, key: SQLValue) {
        keys[table, default: []].insert(key)
    }
}

/// Local (not replicated) state derived from replicated tables — a search index, an
/// occupancy index, a list of detected conflicts — is kept current by an observer that runs
/// inside the very transaction that changed the replicated rows, local write or merge alike.
/// It may read every table and write local tables; a write to a replicated table is refused.
public struct DerivedStateTransaction {
    let connection: SQLiteConnection

    public func rows(_ sql: String, _ arguments: [SQLValue] = []) throws -> [[SQLValue]] { try connection.rows(sql, arguments, scope: 1) }
    public func row(_ sql: String, _ arguments: [SQLValue] = []) throws -> [SQLValue]? { try connection.row(sql, arguments, scope: 1) }
    public func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue? { try connection.scalar(sql, arguments, scope: 1) }
    public func execute(_ sql: String, _ arguments: [SQLValue] = []) throws { try connection.execute(sql, arguments, scope: 1) }
}

/// Called with the rows a transaction changed, before it commits. Throwing rolls the whole
/// transaction back (for a merge: the whole batch), so an observer must only throw for
/// storage failures.
public typealias ChangeObserver = @Sendable (ChangedRows, DerivedStateTransaction) throws -> Void

extension ReplicaStore {
    /// Installs the observer that maintains derived local state (one per store; a second call replaces it).
    public func observeChanges(_ observer: @escaping ChangeObserver) {
        lock.withLock { changeObserver = observer }
    }

    /// Runs the observer on what changed since the last call, inside the current transaction.
    func flushChanges() throws {
        guard !changed.isEmpty else { return }
        let changes = changed
        changed = ChangedRows()
        guard let changeObserver else { return }
        let transaction = DerivedStateTransaction(connection: connection)
        try authorizer.with(.application) { try changeObserver(changes, transaction) }
    }
}
