import CSQLite
import Foundation
import Logging

/// How the store opens its database.
public struct ReplicaConfiguration: Sendable {
    /// Path of the SQLite file.
    public var path: String
    /// `PRAGMA synchronous`: FULL (default) makes every acknowledged write survive a power cut.
    public var synchronous: String = "FULL"
    /// SQLite page cache of the store's connection, in KiB (`PRAGMA cache_size = -N`).
    public var cacheSizeKiB: Int = 16 * 1024
    public var limits: ChangesetLimits = .standard
    /// How far ahead of this box's clock a received timestamp may pull its hybrid logical clock.
    public var maxForwardDriftMilliseconds: UInt64 = 5 * 60 * 1000
    public var physicalClock: PhysicalClock = .system
    /// How many read-only reader connections `snapshotRead` may keep open at once.
    public var readerConnections: Int = 2

    public init(path: String) { self.path = path }
}

/// A warning about the replica's health, for `edgenode status`, the log and `/ready`.
public struct HealthWarning: Hashable, Sendable, CustomStringConvertible {
    public let kind: String
    public let site: SiteID?
    public let message: String
    public var description: String { message }
}

/// The replicated store: one SQLite file holding the business's replicated tables, their
/// replication metadata, the changeset log and the sync state. One writer; every write to a
/// replicated table goes through `write(_:)` and yields exactly one signed changeset.
public final class ReplicaStore: @unchecked Sendable {
    public let identity: SigningKey
    public let site: SiteID
    public let ownerKey: PublicKey
    public let business: BusinessID
    public let configuration: ReplicaConfiguration
    public let clock: HybridLogicalClock
    let logger: Logger

    // Everything below is guarded by `lock`. It is recursive so that a unit of work (see
    // `UnitOfWork`) can hold it across the writes and reads that join it, on its one thread.
    let lock = NSRecursiveLock()
    let connection: SQLiteConnection
    let authorizer = Authorizer()
    /// An exclusive flock on `<path>.lock`: one process owns a replica file at a time.
    private let lockDescriptor: Int32
    var tables: [String: TableSchema] = [:]
    var sites: [SiteID?] = [nil]          // index 0: "never written"
    var siteIndex: [SiteID: Int] = [:]
    var vector: [Int: UInt64] = [:]
    var heads: [Int: [UInt8]] = [:]
    var trust: TrustStore
    var statements: [StatementKey: SQLiteStatement] = [:]
    /// Rows changed by the current transaction, handed to `changeObserver` before it commits.
    var changed = ChangedRows()
    var changeObserver: ChangeObserver?
    /// The unit of work whose transaction is open, if any.
    var openUnit: OpenUnit?
    /// Read-only connections for `snapshotRead` (not guarded by `lock`: they have their own).
    let readers: ReaderPool

    static let systemTables: [(String, ReplicatedTableKind, String)] = [
        ("edgenode_certificates", .appendOnly,
         "CREATE TABLE IF NOT EXISTS edgenode_certificates (id TEXT PRIMARY KEY NOT NULL, certificate BLOB NOT NULL DEFAULT x'')"),
        ("edgenode_revocations", .appendOnly,
         "CREATE TABLE IF NOT EXISTS edgenode_revocations (id TEXT PRIMARY KEY NOT NULL, revocation BLOB NOT NULL DEFAULT x'')"),
    ]

    /// Opens the replica at `configuration.path`, creating it if it does not exist.
    ///
    /// - Parameters:
    ///   - identity: this replica's signing key; its site id must match the one recorded in an existing file.
    ///   - ownerKey: the business owner's root public key.
    ///   - certificate: this replica's certificate; recorded (and replicated) if it is new.
    /// - Throws: `ReplicationError` if the file belongs to another identity or business, or SQLite fails.
    public init(configuration: ReplicaConfiguration, identity: SigningKey, ownerKey: PublicKey, certificate: Certificate?, logger: Logger) throws {
        self.configuration = configuration
        self.identity = identity
        self.site = SiteID(publicKey: identity.publicKey)
        self.ownerKey = ownerKey
        self.business = BusinessID(ownerKey: ownerKey)
        self.logger = logger
        self.trust = TrustStore(ownerKey: ownerKey)
        let descriptor = open(configuration.path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ReplicationError(.storage, "cannot create \(configuration.path).lock: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw ReplicationError(.inUse, "the replica \(configuration.path) is in use by another process (is edgenode already running?)")
        }
        self.lockDescriptor = descriptor
        do {
            self.connection = try SQLiteConnection(path: configuration.path)
        } catch {
            close(descriptor)
            throw error
        }
        self.readers = ReaderPool(path: configuration.path, limit: max(1, configuration.readerConnections))
        self.clock = HybridLogicalClock(physical: configuration.physicalClock, maxForwardDriftMilliseconds: configuration.maxForwardDriftMilliseconds)

        let authorizerContext = Unmanaged.passUnretained(authorizer).toOpaque()
        sqlite3_set_authorizer(connection.handle, authorizerCallback, authorizerContext)
        // Guard triggers refuse writes to replicated tables from every other connection;
        // this connection is the store's own and does not run them.
        guard edgenode_sqlite_disable_triggers(connection.handle) == SQLITE_OK else {
            throw ReplicationError(.storage, "could not disable triggers on the store's connection")
        }
        try authorizer.with(.internal) {
            try connection.execute("PRAGMA journal_mode = WAL")
            try connection.execute("PRAGMA synchronous = \(configuration.synchronous)")
            try connection.execute("PRAGMA cache_size = -\(configuration.cacheSizeKiB)")
            try connection.execute("PRAGMA foreign_keys = OFF")
            try createSystemSchema()
            try checkIdentity()
            try loadState()
        }
        if let certificate { try record(certificate: certificate) }
    }

    deinit {
        close(lockDescriptor)
    }

    /// Folds the write-ahead log into the database file (before a clean shutdown or a backup).
    public func checkpoint() throws {
        try lock.withLock { try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    private func createSystemSchema() throws {
        try connection.transaction {
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS edgenode_state (key TEXT PRIMARY KEY NOT NULL, value ANY) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS edgenode_sites (idx INTEGER PRIMARY KEY, site BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS edgenode_tables (name TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS edgenode_columns (tbl TEXT NOT NULL, name TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (tbl, name)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS edgenode_vector (site INTEGER PRIMARY KEY, seq INTEGER NOT NULL, head BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS edgenode_changesets (site INTEGER NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL,
                    clock_max INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (site, seq));
                CREATE TABLE IF NOT EXISTS edgenode_pending (site INTEGER NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, bytes BLOB NOT NULL,
                    verified INTEGER NOT NULL, PRIMARY KEY (site, seq, hash));
                CREATE TABLE IF NOT EXISTS edgenode_tombstones (tbl TEXT NOT NULL, key NOT NULL, cl INTEGER NOT NULL, PRIMARY KEY (tbl, key)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS edgenode_parked (id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, key NOT NULL, cl INTEGER NOT NULL,
                    col TEXT, value, ts INTEGER NOT NULL, site INTEGER NOT NULL);
                CREATE INDEX IF NOT EXISTS edgenode_parked_tbl ON edgenode_parked (tbl);
                CREATE TABLE IF NOT EXISTS edgenode_rejections (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, author BLOB, seq INTEGER,
                    reason TEXT NOT NULL, message TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS edgenode_clock_skew (site INTEGER PRIMARY KEY, max_ahead_ms INTEGER NOT NULL,
                    max_timestamp INTEGER NOT NULL, last_seen INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS edgenode_acknowledgements (site BLOB PRIMARY KEY NOT NULL, vector BLOB NOT NULL, at INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS edgenode_migrations (id TEXT PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL) WITHOUT ROWID;
                """)
            for (_, _, sql) in Self.systemTables { try connection.execute(sql) }
        }
    }

    private func checkIdentity() throws {
        let stored = try connection.rows("SELECT key, value FROM edgenode_state WHERE key IN ('site', 'owner_key')")
        let values = Dictionary(uniqueKeysWithValues: stored.map { ($0[0].textValue ?? "", $0[1]) })
        if let storedSite = values["site"]?.blobValue {
            guard storedSite == site.bytes else {
                throw ReplicationError(.identityMismatch, "the replica file \(configuration.path) belongs to site \(storedSite.hexString), not to this key's site \(site.hex)")
            }
            guard values["owner_key"]?.blobValue == ownerKey.bytes else {
                throw ReplicationError(.identityMismatch, "the replica file \(configuration.path) belongs to another business")
            }
        } else {
            try connection.transaction {
                try connection.execute("INSERT INTO edgenode_state (key, value) VALUES ('site', ?), ('owner_key', ?), ('format', 1), ('hlc', 0)",
                                       [.blob(site.bytes), .blob(ownerKey.bytes)])
            }
        }
    }

    private func loadState() throws {
        for row in try connection.rows("SELECT idx, site FROM edgenode_sites ORDER BY idx") {
            let index = Int(row[0].integerValue!)
            let id = SiteID(bytes: row[1].blobValue ?? [])!
            while sites.count <= index { sites.append(nil) }
            sites[index] = id
            siteIndex[id] = index
        }
        for row in try connection.rows("SELECT site, seq, head FROM edgenode_vector") {
            let index = Int(row[0].integerValue!)
            vector[index] = UInt64(row[1].integerValue!)
            heads[index] = row[2].blobValue
        }
        let hlc = try connection.scalar("SELECT value FROM edgenode_state WHERE key = 'hlc'")?.integerValue ?? 0
        clock.observeUnbounded(HLCTimestamp(rawValue: UInt64(bitPattern: hlc)))
        for row in try connection.rows("SELECT certificate FROM edgenode_certificates") {
            if let bytes = row[0].blobValue, let certificate = try? Certificate.decode(bytes) { try? trust.add(certificate) }
        }
        for row in try connection.rows("SELECT revocation FROM edgenode_revocations") {
            if let bytes = row[0].blobValue, let revocation = try? Revocation.decode(bytes) { try? trust.add(revocation) }
        }
        // System tables first, then the application's, re-linted so added columns are picked up.
        for (name, kind, _) in Self.systemTables { try registerLocked(name, as: kind) }
        for row in try connection.rows("SELECT name, kind FROM edgenode_tables ORDER BY name") {
            guard let name = row[0].textValue, tables[name] == nil, let kind = ReplicatedTableKind(rawValue: row[1].textValue ?? "") else { continue }
            try registerLocked(name, as: kind)
        }
    }

    /// Records a certificate (replicated) if it is not known yet.
    public func record(certificate: Certificate) throws {
        do { try lock.withLock { try trust.add(certificate) } } catch { throw ReplicationError(.invalidArgument, "\(error)") }
        let exists = try read { try $0.scalar("SELECT 1 FROM edgenode_certificates WHERE id = ?", [.text(certificate.rowKey)]) != nil }
        if !exists {
            try write { try $0.insert("edgenode_certificates", ["id": .text(certificate.rowKey), "certificate": .blob(certificate.encoded)]) }
        }
    }

    /// Records an owner-signed revocation (replicated).
    public func record(revocation: Revocation) throws {
        do { try lock.withLock { try trust.add(revocation) } } catch { throw ReplicationError(.invalidArgument, "\(error)") }
        let exists = try read { try $0.scalar("SELECT 1 FROM edgenode_revocations WHERE id = ?", [.text(revocation.rowKey)]) != nil }
        if !exists {
            try write { try $0.insert("edgenode_revocations", ["id": .text(revocation.rowKey), "revocation": .blob(revocation.encoded)]) }
        }
    }

    // MARK: Sites

    func index(of site: SiteID) throws -> Int {
        if let index = siteIndex[site] { return index }
        let index = sites.count
        try connection.execute("INSERT INTO edgenode_sites (idx, site) VALUES (?, ?)", [.integer(Int64(index)), .blob(site.bytes)])
        sites.append(site)
        siteIndex[site] = index
        return index
    }

    /// Orders two cell clocks: timestamp first, then site id bytes.
    func isGreater(_ lhs: CellClock, than rhs: CellClock) -> Bool {
        if lhs.timestamp != rhs.timestamp { return lhs.timestamp > rhs.timestamp }
        guard lhs.site != rhs.site else { return false }
        guard let l = sites[lhs.site] else { return false }
        guard let r = sites[rhs.site] else { return true }
        return r < l
    }

    // MARK: Schema

    /// Applies the application's migrations (append-only raw SQL), each once and in order.
    /// Migrations may create tables and add columns; they may not write replicated tables.
    public func migrate(_ migrations: [(id: String, sql: String)]) throws {
        try lock.withLock {
            var applied = false
            for migration in migrations {
                let done = try authorizer.with(.internal) {
                    try connection.scalar("SELECT 1 FROM edgenode_migrations WHERE id = ?", [.text(migration.id)]) != nil
                }
                if done { continue }
                try connection.execute("BEGIN IMMEDIATE")
                do {
                    try authorizer.with(.schema) { try connection.execute(migration.sql) }
                    try authorizer.with(.internal) {
                        // Replicated tables must still pass the lint and keep every column (changes are additive).
                        for (name, schema) in tables {
                            guard try connection.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(name)]) != nil else {
                                throw ReplicationError(.schema, "migration \(migration.id) removes or renames the replicated table \(name); replicated schema changes must be additive")
                            }
                            let linted = try SchemaLinter.lint(table: name, kind: schema.kind, connection: connection)
                            let lost = ([schema.keyColumn] + schema.columns).filter { $0 != linted.keyColumn && linted.columnIndex[$0] == nil }
                            if !lost.isEmpty {
                                throw ReplicationError(.schema, "migration \(migration.id) removes or renames column(s) \(lost.joined(separator: ", ")) of the replicated table \(name); replicated schema changes must be additive")
                            }
                        }
                        try connection.execute("INSERT INTO edgenode_migrations (id, applied_at) VALUES (?, ?)",
                                               [.text(migration.id), .integer(Int64(configuration.physicalClock.now()))])
                    }
                    try connection.execute("COMMIT")
                    applied = true
                    connection.clearStatementCache()
                    statements.removeAll()
                } catch {
                    try? connection.execute("ROLLBACK")
                    throw refusal(error, context: "migration \(migration.id)")
                }
            }
            // Re-read registered tables once if a migration ran: it may have added columns.
            if applied {
                for (name, schema) in tables { try authorizer.with(.internal) { try registerLocked(name, as: schema.kind) } }
            }
        }
    }

    /// Registers `table` as replicated, after checking the rules for replicated tables.
    /// Idempotent; a later call picks up columns added since, and applies changes that were
    /// received for them before this replica knew them.
    /// - Throws: `SchemaLintError` naming every rule the table breaks.
    public func register(_ table: String, as kind: ReplicatedTableKind) throws {
        try lock.withLock { try authorizer.with(.internal) { try registerLocked(table, as: kind) } }
    }

    func registerLocked(_ table: String, as kind: ReplicatedTableKind) throws {
        var schema = try SchemaLinter.lint(table: table, kind: kind, connection: connection)
        if let existing = try connection.scalar("SELECT kind FROM edgenode_tables WHERE name = ?", [.text(table)])?.textValue,
           existing != kind.rawValue {
            throw ReplicationError(.schema, "table \(table) is registered as \(existing) and cannot become \(kind.rawValue)")
        }
        try connection.transaction {
            let hasMeta = try connection.scalar("SELECT 1 FROM pragma_table_info(?) WHERE name = ?", [.text(table), .text(TableSchema.metaColumn)]) != nil
            if !hasMeta {
                try connection.execute("ALTER TABLE \(quoteIdentifier(table)) ADD COLUMN \(TableSchema.metaColumn) BLOB")
            }
            for (operation, timing) in [("insert", "INSERT"), ("update", "UPDATE"), ("delete", "DELETE")] {
                try connection.execute("""
                    CREATE TRIGGER IF NOT EXISTS \(quoteIdentifier("edgenode_guard_\(table)_\(operation)")) BEFORE \(timing) ON \(quoteIdentifier(table))
                    BEGIN SELECT RAISE(ABORT, 'edgenode: \(table.replacingOccurrences(of: "'", with: "''")) is a replicated table; write it through the replica store'); END
                    """)
            }
            // Stable column ids: known columns keep theirs, new ones are appended.
            var known: [String: Int] = [:]
            for row in try connection.rows("SELECT name, id FROM edgenode_columns WHERE tbl = ?", [.text(table)]) {
                known[row[0].textValue!] = Int(row[1].integerValue!)
            }
            let missing = known.keys.filter { schema.columnIndex[$0] == nil }
            if !missing.isEmpty {
                throw ReplicationError(.schema, "table \(table) lost column(s) \(missing.sorted().joined(separator: ", ")); replicated schema changes must be additive")
            }
            var ordered = known.sorted { $0.value < $1.value }.map(\.key)
            for column in schema.columns where known[column] == nil {
                try connection.execute("INSERT INTO edgenode_columns (tbl, name, id) VALUES (?, ?, ?)", [.text(table), .text(column), .integer(Int64(ordered.count))])
                ordered.append(column)
            }
            schema = TableSchema(name: table, kind: kind, keyColumn: schema.keyColumn, keyIsBlob: schema.keyIsBlob, hasRowID: schema.hasRowID, columns: ordered)
            schema.id = tables[table]?.id ?? (tables.values.map(\.id).max() ?? 0) + 1
            schema.tombstoneCount = Int(try connection.scalar("SELECT count(*) FROM edgenode_tombstones WHERE tbl = ?", [.text(table)])?.integerValue ?? 0)
            try connection.execute("INSERT OR IGNORE INTO edgenode_tables (name, kind) VALUES (?, ?)", [.text(table), .text(kind.rawValue)])
            tables[table] = schema
            authorizer.replicated.insert(table)
            try applyParked(table: table)
            try flushChanges()
        }
        connection.clearStatementCache()
        statements.removeAll()
    }

    /// The names of the replicated tables.
    public var replicatedTables: [String] { lock.withLock { tables.keys.sorted() } }

    // MARK: Reads

    /// Runs `body` in a read transaction. Writes of any kind are refused inside it.
    public func read<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        try lock.withLock {
            if try joinedUnit() != nil {
                return try authorizer.with(.readOnly) { try body(ReadTransaction(connection: connection, authorizer: authorizer)) }
            }
            try connection.execute("BEGIN DEFERRED")
            defer { try? connection.execute("COMMIT") }
            let transaction = ReadTransaction(connection: connection, authorizer: authorizer)
            return try authorizer.with(.readOnly) { try body(transaction) }
        }
    }

    /// This replica's version vector.
    public var versionVector: VersionVector {
        lock.withLock { versionVectorLocked() }
    }

    func versionVectorLocked() -> VersionVector {
        var result = VersionVector()
        for (index, sequence) in vector { if let site = sites[index] { result[site] = sequence } }
        return result
    }

    /// Known gaps: authors for which later changesets are held while earlier ones are missing.
    public var gaps: [SequenceGap] {
        (try? lock.withLock { try authorizer.with(.internal) { try gapsLocked() } }) ?? []
    }

    func gapsLocked() throws -> [SequenceGap] {
        try connection.rows("SELECT site, min(seq) FROM edgenode_pending GROUP BY site").compactMap { row in
            let index = Int(row[0].integerValue!)
            guard let site = sites[index] else { return nil }
            let first = (vector[index] ?? 0) + 1
            let next = UInt64(row[1].integerValue!)
            return next > first ? SequenceGap(author: site, missing: first...(next - 1)) : nil
        }
    }

    /// The trust store (certificates and revocations known to this replica).
    public var trustStore: TrustStore { lock.withLock { trust } }

    /// Counts for status displays.
    public func statistics() throws -> ReplicaStatistics {
        try lock.withLock {
            try authorizer.with(.internal) {
                let own = try siteIndex[site].map { index in
                    try connection.scalar("SELECT count(*) FROM edgenode_changesets WHERE site = ?", [.integer(Int64(index))])?.integerValue ?? 0
                } ?? 0
                let logged = try connection.scalar("SELECT count(*) FROM edgenode_changesets")?.integerValue ?? 0
                let pending = try connection.scalar("SELECT count(*) FROM edgenode_pending")?.integerValue ?? 0
                let rejected = try connection.scalar("SELECT count(*) FROM edgenode_rejections")?.integerValue ?? 0
                let parked = try connection.scalar("SELECT count(*) FROM edgenode_parked")?.integerValue ?? 0
                return ReplicaStatistics(ownChangesets: Int(own), loggedChangesets: Int(logged), waitingChangesets: Int(pending),
                                         rejectedChangesets: Int(rejected), parkedChanges: Int(parked))
            }
        }
    }

    /// The most recent rejections, newest first.
    public func recentRejections(limit: Int = 20) throws -> [Rejection] {
        try lock.withLock {
            try authorizer.with(.internal) {
                try connection.rows("SELECT author, seq, reason, message FROM edgenode_rejections ORDER BY id DESC LIMIT ?", [.integer(Int64(limit))]).map { row in
                    let id: ChangesetID? = row[0].blobValue.flatMap(SiteID.init(bytes:)).map { ChangesetID(author: $0, sequence: UInt64(row[1].integerValue ?? 0)) }
                    return Rejection(id: id, reason: RejectionReason(rawValue: row[2].textValue ?? ""), message: row[3].textValue ?? "")
                }
            }
        }
    }

    func refusal(_ error: any Error, context: String) -> any Error {
        if let sqliteError = error as? SQLiteError, sqliteError.code == SQLITE_AUTH, let table = authorizer.lastDenied {
            return ReplicationError(.directWriteRefused, "\(context): \(table) is a replicated table; write it with the store transaction's insert, update and delete", cause: error)
        }
        return error
    }
}

public struct ReplicaStatistics: Sendable, Hashable {
    public let ownChangesets: Int
    public let loggedChangesets: Int
    public let waitingChangesets: Int
    public let rejectedChangesets: Int
    public let parkedChanges: Int
}
