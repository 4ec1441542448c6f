import CSQLite

/// The one write path to replicated tables. Created by `ReplicaStore.write(_:)`; every insert,
/// update and delete made through it lands in the transaction's single changeset.
public final class WriteTransaction {
    unowned let store: ReplicaStore
    /// The hybrid logical clock timestamp of this transaction.
    public let timestamp: HLCTimestamp
    let siteIndex: Int
    var rows: [RowChange] = []
    /// Built on first need: a transaction that only inserts new rows never hashes their keys.
    var rowPosition: [RowReference: Int]?

    struct RowReference: Hashable {
        let table: String
        let key: SQLValue
    }

    init(store: ReplicaStore, timestamp: HLCTimestamp, siteIndex: Int) {
        self.store = store
        self.timestamp = timestamp
        self.siteIndex = siteIndex
    }

    /// Inserts a new row. `values` must contain the key column (a UUIDv7); columns left out get their defaults.
    /// - Throws: `ReplicationError` (`.notRegistered`, `.invalidKey`, `.unknownColumn`, `.alreadyExists`).
    public func insert(_ table: String, _ values: [String: SQLValue]) throws {
        try store.authorizer.with(.internal) { try store.localInsert(self, table, values) }
    }

    /// Sets columns of an existing row.
    /// - Throws: `ReplicationError` (`.notFound`, `.appendOnly`, `.unknownColumn`, …).
    public func update(_ table: String, key: SQLValue, _ values: [String: SQLValue]) throws {
        try store.authorizer.with(.internal) { try store.localUpdate(self, table, key, values) }
    }

    /// Deletes a row (it leaves a tombstone that replicates).
    public func delete(_ table: String, key: SQLValue) throws {
        try store.authorizer.with(.internal) { try store.localDelete(self, table, key) }
    }

    /// All rows of a query (any table).
    public func rows(_ sql: String, _ arguments: [SQLValue] = []) throws -> [[SQLValue]] {
        try store.connection.rows(sql, arguments, scope: 1)
    }

    public func row(_ sql: String, _ arguments: [SQLValue] = []) throws -> [SQLValue]? {
        try store.connection.row(sql, arguments, scope: 1)
    }

    public func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue? {
        try store.connection.scalar(sql, arguments, scope: 1)
    }

    /// Runs a statement against local (not replicated) tables, in this transaction.
    /// - Throws: `ReplicationError(.directWriteRefused)` for a replicated table.
    public func execute(_ sql: String, _ arguments: [SQLValue] = []) throws {
        do {
            try store.connection.execute(sql, arguments, scope: 1)
        } catch {
            throw store.refusal(error, context: "execute")
        }
    }

    /// Brings derived local state (see `observeChanges`) up to date with what this transaction
    /// wrote so far, so later reads in the same transaction see it. Commit does it anyway.
    public func refreshDerivedState() throws {
        for row in rows { store.changed.insert(table: row.table, key: row.key) }
        try store.authorizer.with(.internal) { try store.flushChanges() }
    }

    /// Records a brand-new row (an insert that found no tombstone): it cannot be in this transaction yet.
    func recordNewRow(table: String, key: SQLValue, cells: [CellChange]) {
        rowPosition?[RowReference(table: table, key: key)] = rows.count
        rows.append(RowChange(table: table, key: key, causalLength: 1, cells: cells))
    }

    func record(table: String, key: SQLValue, causalLength: UInt64, cells: [CellChange]) {
        if rowPosition == nil {
            var index: [RowReference: Int] = [:]
            for (position, row) in rows.enumerated() { index[RowReference(table: row.table, key: row.key)] = position }
            rowPosition = index
        }
        let reference = RowReference(table: table, key: key)
        guard let position = rowPosition![reference] else {
            rowPosition![reference] = rows.count
            rows.append(RowChange(table: table, key: key, causalLength: causalLength, cells: cells))
            return
        }
        if rows[position].causalLength != causalLength {
            rows[position] = RowChange(table: table, key: key, causalLength: causalLength, cells: cells)
            return
        }
        for cell in cells {
            if let index = rows[position].cells.firstIndex(where: { $0.column == cell.column }) {
                rows[position].cells[index] = cell
            } else {
                rows[position].cells.append(cell)
            }
        }
    }
}

struct StatementKey: Hashable {
    let operation: UInt8
    let table: Int
    let mask: UInt64
}

extension ReplicaStore {
    /// Runs `body` as one transaction and commits it together with its signed changeset.
    /// The write is acknowledged (durable) when this returns.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws (nothing is written then), or a storage error.
    ///
    /// Inside a unit of work (`unitOfWork(_:)`) it joins the unit's transaction as a savepoint
    /// instead: its changeset is made as usual, and it becomes durable when the unit commits.
    @discardableResult
    public func write<T>(_ body: (WriteTransaction) throws -> T) throws -> T {
        try lock.withLock {
            let saved = saveState()
            let joined = try joinedUnit() != nil
            do {
                try authorizer.with(.internal) { try connection.execute(joined ? "SAVEPOINT edgenode_write" : "BEGIN IMMEDIATE") }
                let selfIndex = try authorizer.with(.internal) { try index(of: site) }
                let transaction = WriteTransaction(store: self, timestamp: clock.now(), siteIndex: selfIndex)
                let result = try authorizer.with(.application) { try body(transaction) }
                if !transaction.rows.isEmpty {
                    for row in transaction.rows { changed.insert(table: row.table, key: row.key) }
                    try authorizer.with(.internal) {
                        try flushChanges()
                        try commitChangeset(of: transaction)
                    }
                }
                try authorizer.with(.internal) { try connection.execute(joined ? "RELEASE edgenode_write" : "COMMIT") }
                return result
            } catch {
                if joined {
                    try? authorizer.with(.internal) {
                        try connection.execute("ROLLBACK TO edgenode_write")
                        try connection.execute("RELEASE edgenode_write")
                    }
                } else if connection.isInTransaction {
                    try? connection.execute("ROLLBACK")
                }
                restoreState(saved)
                throw refusal(error, context: "write")
            }
        }
    }

    struct SavedState {
        let tables: [String: TableSchema]
        let sites: [SiteID?]
        let siteIndex: [SiteID: Int]
        let vector: [Int: UInt64]
        let heads: [Int: [UInt8]]
        let trust: TrustStore
        let replicated: Set<String>
    }

    func saveState() -> SavedState {
        SavedState(tables: tables, sites: sites, siteIndex: siteIndex, vector: vector, heads: heads, trust: trust, replicated: authorizer.replicated)
    }

    func restoreState(_ saved: SavedState) {
        tables = saved.tables
        sites = saved.sites
        siteIndex = saved.siteIndex
        vector = saved.vector
        heads = saved.heads
        trust = saved.trust
        authorizer.replicated = saved.replicated
        changed = ChangedRows()
    }

    private func commitChangeset(of transaction: WriteTransaction) throws {
        let selfIndex = transaction.siteIndex
        let sequence = (vector[selfIndex] ?? 0) + 1
        var clockMin = transaction.timestamp
        var clockMax = transaction.timestamp
        for row in transaction.rows {
            for cell in row.cells {
                clockMin = min(clockMin, cell.timestamp)
                clockMax = max(clockMax, cell.timestamp)
            }
        }
        let changeset = Changeset(business: business, author: site, sequence: sequence,
                                  previousHash: heads[selfIndex] ?? [UInt8](repeating: 0, count: 32),
                                  clockMin: clockMin, clockMax: clockMax, rows: transaction.rows)
        let signed = changeset.signed(with: identity)
        let hash = signed.hash
        try appendToLog(signed, hash: hash, siteIndex: selfIndex)
        // Bounded: overwriting a cell stamped far in the future must not drag this clock along.
        clock.observe(clockMax)
        try persistClock()
    }

    func appendToLog(_ signed: SignedChangeset, hash: [UInt8], siteIndex: Int) throws {
        let sequence = signed.changeset.sequence
        try connection.execute("INSERT INTO edgenode_changesets (site, seq, hash, clock_max, bytes) VALUES (?, ?, ?, ?, ?)",
                               [.integer(Int64(siteIndex)), .integer(Int64(sequence)), .blob(hash),
                                .integer(Int64(bitPattern: signed.changeset.clockMax.rawValue)), .blob(signed.bytes)])
        try connection.execute("INSERT OR REPLACE INTO edgenode_vector (site, seq, head) VALUES (?, ?, ?)",
                               [.integer(Int64(siteIndex)), .integer(Int64(sequence)), .blob(hash)])
        vector[siteIndex] = sequence
        heads[siteIndex] = hash
    }

    func persistClock() throws {
        try connection.execute("UPDATE edgenode_state SET value = ? WHERE key = 'hlc'", [.integer(Int64(bitPattern: clock.current.rawValue))])
    }

    func schema(_ table: String) throws -> TableSchema {
        guard let schema = tables[table] else {
            throw ReplicationError(.notRegistered, "\(table) is not a replicated table (register it, or write local tables with execute)")
        }
        return schema
    }

    /// The column ids and values of `values`, in schema order, with the mask of present columns.
    private func columns(of values: [String: SQLValue], in schema: TableSchema, allowingKey: Bool) throws -> (ids: [Int], values: [SQLValue], mask: UInt64) {
        var ids: [Int] = []
        var ordered: [SQLValue] = []
        var mask: UInt64 = 0
        ids.reserveCapacity(values.count)
        ordered.reserveCapacity(values.count + 2)
        for (id, column) in schema.columns.enumerated() {
            if let value = values[column] {
                ids.append(id)
                ordered.append(value)
                mask |= 1 << UInt64(id)
            }
        }
        let expected = ids.count + (values[schema.keyColumn] != nil ? 1 : 0)
        if expected != values.count {
            let unknown = values.keys.filter { schema.columnIndex[$0] == nil && $0 != schema.keyColumn }.sorted()
            if unknown.contains(TableSchema.metaColumn) {
                throw ReplicationError(.unknownColumn, "\(TableSchema.metaColumn) of \(schema.name) is replication metadata and cannot be written")
            }
            throw ReplicationError(.unknownColumn, "table \(schema.name) has no column \(unknown.joined(separator: ", "))")
        }
        if !allowingKey && values[schema.keyColumn] != nil {
            throw ReplicationError(.invalidArgument, "the key column \(schema.keyColumn) of \(schema.name) cannot be changed")
        }
        return (ids, ordered, mask)
    }

    func checkKey(_ key: SQLValue, of schema: TableSchema) throws {
        guard schema.isValidKey(key) else {
            throw ReplicationError(.invalidKey, "key \(key) of \(schema.name) is not a UUIDv7 \(schema.keyIsBlob ? "blob" : "text")")
        }
    }

    func statement(_ key: StatementKey, _ makeSQL: () -> String) throws -> SQLiteStatement {
        if let cached = statements[key] {
            cached.reset()
            return cached
        }
        let statement = try connection.prepare(makeSQL())
        statements[key] = statement
        return statement
    }

    func insertStatement(_ schema: TableSchema, ids: [Int], mask: UInt64, conflictDoNothing: Bool) throws -> SQLiteStatement {
        try statement(StatementKey(operation: conflictDoNothing ? 1 : 0, table: schema.id, mask: mask)) {
            let names = [schema.keyColumn] + ids.map { schema.columns[$0] } + [TableSchema.metaColumn]
            let placeholders = Array(repeating: "?", count: names.count).joined(separator: ", ")
            return "INSERT INTO \(quoteIdentifier(schema.name)) (\(names.map(quoteIdentifier).joined(separator: ", "))) VALUES (\(placeholders))"
                + (conflictDoNothing ? " ON CONFLICT DO NOTHING" : "")
        }
    }

    func metaStatement(_ schema: TableSchema) throws -> SQLiteStatement {
        try statement(StatementKey(operation: 2, table: schema.id, mask: 0)) {
            "SELECT \(schema.hasRowID ? "rowid" : "NULL"), \(TableSchema.metaColumn) FROM \(quoteIdentifier(schema.name)) WHERE \(quoteIdentifier(schema.keyColumn)) = ?"
        }
    }

    func updateStatement(_ schema: TableSchema, ids: [Int], mask: UInt64) throws -> SQLiteStatement {
        try statement(StatementKey(operation: 3, table: schema.id, mask: mask)) {
            let sets = (ids.map { schema.columns[$0] } + [TableSchema.metaColumn]).map { "\(quoteIdentifier($0)) = ?" }.joined(separator: ", ")
            let target = schema.hasRowID ? "rowid" : quoteIdentifier(schema.keyColumn)
            return "UPDATE \(quoteIdentifier(schema.name)) SET \(sets) WHERE \(target) = ?"
        }
    }

    func deleteStatement(_ schema: TableSchema) throws -> SQLiteStatement {
        try statement(StatementKey(operation: 4, table: schema.id, mask: 0)) {
            "DELETE FROM \(quoteIdentifier(schema.name)) WHERE \(quoteIdentifier(schema.keyColumn)) = ?"
        }
    }

    /// The row's rowid (or key) and metadata, or nil when it does not exist.
    func existingRow(_ schema: TableSchema, key: SQLValue) throws -> (target: SQLValue, meta: RowMeta)? {
        let statement = try metaStatement(schema)
        try statement.bind(key, at: 1)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        let target = schema.hasRowID ? statement.value(at: 0) : key
        let meta = try statement.blob(at: 1).map { bytes in
            do { return try RowMeta.decode(bytes) } catch {
                throw ReplicationError(.storage, "corrupt replication metadata in \(schema.name) row \(key): \(error)")
            }
        } ?? RowMeta(causalLength: 1)
        return (target, meta)
    }

    func tombstone(_ schema: TableSchema, key: SQLValue) throws -> UInt64? {
        guard schema.tombstoneCount > 0 else { return nil }
        return try connection.scalar("SELECT cl FROM edgenode_tombstones WHERE tbl = ? AND key = ?", [.text(schema.name), key])?.integerValue.map { UInt64($0) }
    }

    func removeTombstone(_ schema: inout TableSchema, key: SQLValue) throws {
        try connection.execute("DELETE FROM edgenode_tombstones WHERE tbl = ? AND key = ?", [.text(schema.name), key])
        if connection.changes > 0 { schema.tombstoneCount -= 1 }
    }

    func writeTombstone(_ schema: inout TableSchema, key: SQLValue, causalLength: UInt64) throws {
        let existed = try connection.scalar("SELECT 1 FROM edgenode_tombstones WHERE tbl = ? AND key = ?", [.text(schema.name), key]) != nil
        try connection.execute("INSERT OR REPLACE INTO edgenode_tombstones (tbl, key, cl) VALUES (?, ?, ?)", [.text(schema.name), key, .integer(Int64(causalLength))])
        if !existed { schema.tombstoneCount += 1 }
    }

    func localInsert(_ transaction: WriteTransaction, _ table: String, _ values: [String: SQLValue]) throws {
        var schema = try schema(table)
        guard let key = values[schema.keyColumn] else {
            throw ReplicationError(.invalidKey, "insert into \(table) needs its key column \(schema.keyColumn)")
        }
        try checkKey(key, of: schema)
        let (ids, ordered, mask) = try columns(of: values, in: schema, allowingKey: true)
        var causalLength: UInt64 = 1
        if let deleted = try tombstone(schema, key: key) {
            causalLength = deleted + 1
            try removeTombstone(&schema, key: key)
            tables[table] = schema
        }
        let clock = CellClock(timestamp: transaction.timestamp, site: transaction.siteIndex)
        let coversAll = ids.count == schema.columns.count
        let meta = coversAll
            ? RowMeta(causalLength: causalLength, base: clock, baseCount: schema.columns.count)
            : RowMeta(causalLength: causalLength, exceptions: ids.map { ($0, clock) })
        let statement = try insertStatement(schema, ids: ids, mask: mask, conflictDoNothing: false)
        do {
            try statement.bind(key, at: 1)
            for (offset, value) in ordered.enumerated() { try statement.bind(value, at: Int32(offset + 2)) }
            try statement.bind(.blob(meta.encode()), at: Int32(ordered.count + 2))
            defer { statement.reset() }
            _ = try statement.step()
        } catch let error as SQLiteError where error.code == SQLITE_CONSTRAINT | (6 << 8) || error.code == SQLITE_CONSTRAINT | (8 << 8) {  // PRIMARYKEY, UNIQUE
            throw ReplicationError(.alreadyExists, "\(table) already has a row with key \(key)", cause: error)
        }
        var cells: [CellChange] = []
        cells.reserveCapacity(ids.count)
        for (offset, id) in ids.enumerated() {
            cells.append(CellChange(column: schema.columns[id], value: ordered[offset], timestamp: transaction.timestamp))
        }
        if causalLength == 1 {
            transaction.recordNewRow(table: table, key: key, cells: cells)
        } else {
            transaction.record(table: table, key: key, causalLength: causalLength, cells: cells)
        }
    }

    func localUpdate(_ transaction: WriteTransaction, _ table: String, _ key: SQLValue, _ values: [String: SQLValue]) throws {
        let schema = try schema(table)
        guard schema.kind == .lastWriterWins else {
            throw ReplicationError(.appendOnly, "\(table) is append-only: its rows cannot be updated")
        }
        try checkKey(key, of: schema)
        let (ids, ordered, mask) = try columns(of: values, in: schema, allowingKey: false)
        guard let (target, existing) = try existingRow(schema, key: key) else {
            throw ReplicationError(.notFound, "\(table) has no row with key \(key)")
        }
        if ids.isEmpty { return }
        var meta = existing
        var cells: [CellChange] = []
        cells.reserveCapacity(ids.count)
        for (offset, id) in ids.enumerated() {
            // A local write always supersedes the value it overwrites, even one stamped by a
            // replica whose clock runs ahead (see docs/replication.md, "Clocks").
            var timestamp = transaction.timestamp
            let previous = meta.clock(of: id)
            if previous.timestamp > timestamp || (previous.timestamp == timestamp && previous.site != transaction.siteIndex) {
                timestamp = previous.timestamp.successor
            }
            meta.setClock(CellClock(timestamp: timestamp, site: transaction.siteIndex), of: id)
            cells.append(CellChange(column: schema.columns[id], value: ordered[offset], timestamp: timestamp))
        }
        let statement = try updateStatement(schema, ids: ids, mask: mask)
        for (offset, value) in ordered.enumerated() { try statement.bind(value, at: Int32(offset + 1)) }
        try statement.bind(.blob(meta.encode()), at: Int32(ordered.count + 1))
        try statement.bind(target, at: Int32(ordered.count + 2))
        defer { statement.reset() }
        _ = try statement.step()
        transaction.record(table: table, key: key, causalLength: meta.causalLength, cells: cells)
    }

    func localDelete(_ transaction: WriteTransaction, _ table: String, _ key: SQLValue) throws {
        var schema = try schema(table)
        guard schema.kind == .lastWriterWins else {
            throw ReplicationError(.appendOnly, "\(table) is append-only: its rows cannot be deleted")
        }
        try checkKey(key, of: schema)
        guard let (_, meta) = try existingRow(schema, key: key) else {
            throw ReplicationError(.notFound, "\(table) has no row with key \(key)")
        }
        let causalLength = meta.causalLength + 1
        let statement = try deleteStatement(schema)
        try statement.run([key])
        try writeTombstone(&schema, key: key, causalLength: causalLength)
        tables[table] = schema
        transaction.record(table: table, key: key, causalLength: causalLength, cells: [])
    }
}
