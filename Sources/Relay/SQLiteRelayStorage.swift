import Foundation
import Logging
import NIOPosix
import Replication
import ServiceLifecycle
import Synchronization

/// The relay's default store: one SQLite file (WAL, `synchronous=FULL`, so an acknowledged push
/// survives a power cut), one connection, all work on NIO's blocking thread pool so that SQLite
/// never holds Swift's cooperative threads.
public final class SQLiteRelayStorage: RelayStorage {
    public let path: String
    let logger: Logger
    private let connection: Mutex<SQLiteConnection?>

    /// Opens (creating if needed) the database at `path`; its directory must exist.
    /// - Throws: `SQLiteError` when the file cannot be opened.
    public init(path: String, logger: Logger) throws {
        self.path = path
        self.logger = logger
        let connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;")
        self.connection = Mutex(connection)
    }

    /// Runs until graceful shutdown, then checkpoints and closes the database.
    public func run() async throws {
        try? await gracefulShutdown()
        connection.withLock { connection in
            do {
                try connection?.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            } catch {
                logger.warning("checkpoint at shutdown failed; SQLite recovers from the WAL at the next start", metadata: ["error": "\(error)"])
            }
            connection = nil
        }
        logger.info("relay store closed", metadata: ["relay.storage": "sqlite"])
    }

    func withConnection<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive {
            try self.connection.withLock { connection in
                guard let connection else { throw RelayStorageError.closed }
                return try body(connection)
            }
        }
    }

    static let migrations: [(id: String, sql: String)] = [
        ("1-relay", """
            CREATE TABLE relay_businesses (business BLOB PRIMARY KEY NOT NULL, owner_key BLOB NOT NULL, registered_at INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE relay_certificates (business BLOB NOT NULL, site BLOB NOT NULL, hash BLOB NOT NULL, certificate BLOB NOT NULL,
                position INTEGER NOT NULL, PRIMARY KEY (business, site, hash)) WITHOUT ROWID;
            CREATE TABLE relay_revocations (business BLOB NOT NULL, hash BLOB NOT NULL, site BLOB NOT NULL, revocation BLOB NOT NULL,
                position INTEGER NOT NULL, PRIMARY KEY (business, hash)) WITHOUT ROWID;
            CREATE TABLE relay_heads (business BLOB NOT NULL, author BLOB NOT NULL, sequence INTEGER NOT NULL, hash BLOB NOT NULL,
                compacted_through INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (business, author)) WITHOUT ROWID;
            CREATE TABLE relay_envelopes (business BLOB NOT NULL, author BLOB NOT NULL, sequence INTEGER NOT NULL, hash BLOB NOT NULL,
                key_id INTEGER NOT NULL, received_at INTEGER NOT NULL, envelope BLOB NOT NULL, PRIMARY KEY (business, author, sequence));
            CREATE TABLE relay_acknowledgements (business BLOB NOT NULL, site BLOB NOT NULL, author BLOB NOT NULL, sequence INTEGER NOT NULL,
                PRIMARY KEY (business, site, author)) WITHOUT ROWID;
            CREATE TABLE relay_sealed_keys (business BLOB NOT NULL, recipient BLOB NOT NULL, key_id INTEGER NOT NULL, sealed BLOB NOT NULL,
                PRIMARY KEY (business, recipient, key_id)) WITHOUT ROWID;
            CREATE TABLE relay_nonces (business BLOB NOT NULL, site BLOB NOT NULL, nonce BLOB NOT NULL, expires_at INTEGER NOT NULL,
                PRIMARY KEY (business, site, nonce)) WITHOUT ROWID;
            CREATE INDEX relay_nonces_expiry ON relay_nonces (expires_at);
            """),
        ("2-invitations-snapshots", """
            CREATE TABLE relay_invitations (business BLOB NOT NULL, invitation BLOB NOT NULL, record BLOB NOT NULL, not_after INTEGER NOT NULL,
                registered_at INTEGER NOT NULL, state TEXT NOT NULL, join_request BLOB, box_site BLOB, requested_at INTEGER,
                certificate BLOB, refusal TEXT, decided_at INTEGER, PRIMARY KEY (business, invitation)) WITHOUT ROWID;
            CREATE INDEX relay_invitations_state ON relay_invitations (business, state, requested_at);
            CREATE INDEX relay_invitations_expiry ON relay_invitations (not_after);
            CREATE TABLE relay_snapshots (business BLOB PRIMARY KEY NOT NULL, producer BLOB NOT NULL, created_at INTEGER NOT NULL,
                key_id INTEGER NOT NULL, vector BLOB NOT NULL, byte_count INTEGER NOT NULL, stored_at INTEGER NOT NULL, snapshot BLOB NOT NULL);
            """),
        ("3-kaspi", """
            CREATE TABLE relay_kaspi_access (business BLOB PRIMARY KEY NOT NULL, scheme TEXT NOT NULL, sealed BLOB NOT NULL, device_token BLOB,
                updated_at INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE relay_kaspi_operations (business BLOB NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, qr_payment_id TEXT NOT NULL,
                state TEXT NOT NULL, claimed_at INTEGER NOT NULL, record BLOB NOT NULL, PRIMARY KEY (business, kind, id)) WITHOUT ROWID;
            CREATE INDEX relay_kaspi_operations_qr ON relay_kaspi_operations (business, kind, qr_payment_id);
            """),
    ]

    public func migrate() async throws {
        try await withConnection { db in
            try db.execute("CREATE TABLE IF NOT EXISTS relay_migrations (id TEXT PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)")
            for migration in Self.migrations {
                try db.transaction {
                    guard try db.scalar("SELECT 1 FROM relay_migrations WHERE id = ?", [.text(migration.id)]) == nil else { return }
                    try db.execute(migration.sql)
                    try db.execute("INSERT INTO relay_migrations (id, applied_at) VALUES (?, ?)", [.text(migration.id), .integer(RelayClock.system.now())])
                }
            }
            db.clearStatementCache()
        }
    }

    public func registerBusiness(_ business: BusinessID, ownerKey: PublicKey, at milliseconds: Int64) async throws -> Bool {
        try await withConnection { db in
            try db.execute("INSERT OR IGNORE INTO relay_businesses (business, owner_key, registered_at) VALUES (?, ?, ?)",
                           [.blob(business.bytes), .blob(ownerKey.bytes), .integer(milliseconds)])
            return db.changes > 0
        }
    }

    public func ownerKey(of business: BusinessID) async throws -> PublicKey? {
        try await withConnection { db in
            try db.scalar("SELECT owner_key FROM relay_businesses WHERE business = ?", [.blob(business.bytes)])?.blobValue.flatMap { PublicKey(bytes: $0) }
        }
    }

    public func businesses() async throws -> [BusinessID] {
        try await withConnection { db in
            try db.rows("SELECT business FROM relay_businesses ORDER BY business").compactMap { $0[0].blobValue.flatMap { BusinessID(bytes: $0) } }
        }
    }

    public func addCertificate(_ certificate: Certificate, business: BusinessID) async throws -> Bool {
        try await withConnection { db in
            try db.transaction {
                let position = try db.scalar("SELECT coalesce(max(position), 0) + 1 FROM relay_certificates WHERE business = ?", [.blob(business.bytes)])?.integerValue ?? 1
                try db.execute("INSERT OR IGNORE INTO relay_certificates (business, site, hash, certificate, position) VALUES (?, ?, ?, ?, ?)",
                               [.blob(business.bytes), .blob(certificate.subjectSite.bytes), .blob(Sodium.blake2b(certificate.encoded, length: 32)),
                                .blob(certificate.encoded), .integer(position)])
                return db.changes > 0
            }
        }
    }

    public func certificates(of business: BusinessID) async throws -> [Certificate] {
        try await withConnection { db in
            try db.rows("SELECT certificate FROM relay_certificates WHERE business = ? ORDER BY position", [.blob(business.bytes)])
                .compactMap { TrustDecoding.certificate($0[0].blobValue ?? []) }
        }
    }

    public func certificates(of business: BusinessID, site: SiteID) async throws -> [Certificate] {
        try await withConnection { db in
            try db.rows("SELECT certificate FROM relay_certificates WHERE business = ? AND site = ? ORDER BY position", [.blob(business.bytes), .blob(site.bytes)])
                .compactMap { TrustDecoding.certificate($0[0].blobValue ?? []) }
        }
    }

    public func addRevocation(_ revocation: Revocation, business: BusinessID) async throws -> Bool {
        try await withConnection { db in
            try db.transaction {
                let position = try db.scalar("SELECT coalesce(max(position), 0) + 1 FROM relay_revocations WHERE business = ?", [.blob(business.bytes)])?.integerValue ?? 1
                try db.execute("INSERT OR IGNORE INTO relay_revocations (business, hash, site, revocation, position) VALUES (?, ?, ?, ?, ?)",
                               [.blob(business.bytes), .blob(Sodium.blake2b(revocation.encoded, length: 32)), .blob(revocation.subjectSite.bytes),
                                .blob(revocation.encoded), .integer(position)])
                return db.changes > 0
            }
        }
    }

    public func revocations(of business: BusinessID) async throws -> [Revocation] {
        try await withConnection { db in
            try db.rows("SELECT revocation FROM relay_revocations WHERE business = ? ORDER BY position", [.blob(business.bytes)])
                .compactMap { TrustDecoding.revocation($0[0].blobValue ?? []) }
        }
    }

    public func append(_ envelopes: [RelayEnvelope], business: BusinessID, receivedAt milliseconds: Int64) async throws -> [AppendOutcome] {
        try await withConnection { db in
            try db.transaction {
                var outcomes: [AppendOutcome] = []
                outcomes.reserveCapacity(envelopes.count)
                // Heads are read once per author and written once per author at the end.
                var heads: [SiteID: AuthorHead?] = [:]
                var changed: Set<SiteID> = []
                for envelope in envelopes {
                    if heads[envelope.author] == nil {
                        heads[envelope.author] = .some(try db.row("SELECT sequence, hash, compacted_through FROM relay_heads WHERE business = ? AND author = ?",
                                                                  [.blob(business.bytes), .blob(envelope.author.bytes)]).map {
                            AuthorHead(author: envelope.author, sequence: UInt64($0[0].integerValue ?? 0), hash: $0[1].blobValue ?? [],
                                       compactedThrough: UInt64($0[2].integerValue ?? 0))
                        })
                    }
                    let head = heads[envelope.author] ?? nil
                    var stored: [UInt8]?
                    if envelope.sequence <= head?.sequence ?? 0 {
                        stored = try db.scalar("SELECT hash FROM relay_envelopes WHERE business = ? AND author = ? AND sequence = ?",
                                               [.blob(business.bytes), .blob(envelope.author.bytes), .integer(Int64(envelope.sequence))])?.blobValue
                    }
                    if let outcome = chainOutcome(of: envelope, head: head, storedHashAtSequence: stored) {
                        outcomes.append(outcome)
                        continue
                    }
                    try db.execute("INSERT INTO relay_envelopes (business, author, sequence, hash, key_id, received_at, envelope) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   [.blob(business.bytes), .blob(envelope.author.bytes), .integer(Int64(envelope.sequence)), .blob(envelope.hash),
                                    .integer(Int64(envelope.keyID.rawValue)), .integer(milliseconds), .blob(envelope.bytes)])
                    heads[envelope.author] = .some(AuthorHead(author: envelope.author, sequence: envelope.sequence, hash: envelope.hash,
                                                              compactedThrough: head?.compactedThrough ?? 0))
                    changed.insert(envelope.author)
                    outcomes.append(.stored)
                }
                for author in changed {
                    guard let head = heads[author] ?? nil else { continue }
                    try db.execute("""
                        INSERT INTO relay_heads (business, author, sequence, hash, compacted_through) VALUES (?, ?, ?, ?, 0)
                        ON CONFLICT (business, author) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash
                        """, [.blob(business.bytes), .blob(author.bytes), .integer(Int64(head.sequence)), .blob(head.hash)])
                }
                return outcomes
            }
        }
    }

    public func heads(of business: BusinessID) async throws -> [AuthorHead] {
        try await withConnection { db in
            try db.rows("SELECT author, sequence, hash, compacted_through FROM relay_heads WHERE business = ? AND sequence > 0 ORDER BY author",
                        [.blob(business.bytes)]).compactMap { row in
                guard let author = row[0].blobValue.flatMap({ SiteID(bytes: $0) }) else { return nil }
                return AuthorHead(author: author, sequence: UInt64(row[1].integerValue ?? 0), hash: row[2].blobValue ?? [],
                                  compactedThrough: UInt64(row[3].integerValue ?? 0))
            }
        }
    }

    public func envelopes(of business: BusinessID, author: SiteID, after sequence: UInt64, limit: Int) async throws -> [[UInt8]] {
        try await withConnection { db in
            try db.rows("SELECT envelope FROM relay_envelopes WHERE business = ? AND author = ? AND sequence > ? ORDER BY sequence LIMIT ?",
                        [.blob(business.bytes), .blob(author.bytes), .integer(Int64(min(sequence, UInt64(Int64.max)))), .integer(Int64(limit))])
                .compactMap { $0[0].blobValue }
        }
    }

    public func recordAcknowledgement(_ vector: VersionVector, site: SiteID, business: BusinessID) async throws {
        try await withConnection { db in
            try db.transaction {
                for (author, sequence) in vector.entries {
                    try db.execute("""
                        INSERT INTO relay_acknowledgements (business, site, author, sequence) VALUES (?, ?, ?, ?)
                        ON CONFLICT (business, site, author) DO UPDATE SET sequence = max(sequence, excluded.sequence)
                        """, [.blob(business.bytes), .blob(site.bytes), .blob(author.bytes), .integer(Int64(min(sequence, UInt64(Int64.max))))])
                }
            }
        }
    }

    public func acknowledgements(of business: BusinessID) async throws -> [SiteID: VersionVector] {
        try await withConnection { db in
            var result: [SiteID: VersionVector] = [:]
            for row in try db.rows("SELECT site, author, sequence FROM relay_acknowledgements WHERE business = ?", [.blob(business.bytes)]) {
                guard let site = row[0].blobValue.flatMap({ SiteID(bytes: $0) }), let author = row[1].blobValue.flatMap({ SiteID(bytes: $0) }) else { continue }
                result[site, default: VersionVector()][author] = UInt64(row[2].integerValue ?? 0)
            }
            return result
        }
    }

    public func compact(_ business: BusinessID, through: [SiteID: UInt64]) async throws -> Int {
        try await withConnection { db in
            try db.transaction {
                var deleted = 0
                for (author, sequence) in through where sequence > 0 {
                    guard let head = try db.row("SELECT sequence, compacted_through FROM relay_heads WHERE business = ? AND author = ?",
                                                [.blob(business.bytes), .blob(author.bytes)]) else { continue }
                    let mark = min(Int64(min(sequence, UInt64(Int64.max))), head[0].integerValue ?? 0)
                    guard mark > (head[1].integerValue ?? 0) else { continue }
                    try db.execute("DELETE FROM relay_envelopes WHERE business = ? AND author = ? AND sequence <= ?",
                                   [.blob(business.bytes), .blob(author.bytes), .integer(mark)])
                    deleted += db.changes
                    try db.execute("UPDATE relay_heads SET compacted_through = ? WHERE business = ? AND author = ?",
                                   [.integer(mark), .blob(business.bytes), .blob(author.bytes)])
                }
                return deleted
            }
        }
    }

    public func storeSealedKey(_ sealed: SealedDataKey, business: BusinessID) async throws -> Bool {
        try await withConnection { db in
            let existing = try db.scalar("SELECT sealed FROM relay_sealed_keys WHERE business = ? AND recipient = ? AND key_id = ?",
                                         [.blob(business.bytes), .blob(sealed.recipientSite.bytes), .integer(Int64(sealed.keyID.rawValue))])?.blobValue
            guard existing != sealed.bytes else { return false }
            // The owner's seal stays: a box's seal of the same generation does not replace it (§5.8).
            if let existing, existing.count == SealedDataKey.byteCount,
               let owner = try db.scalar("SELECT owner_key FROM relay_businesses WHERE business = ?", [.blob(business.bytes)])?.blobValue,
               Array(existing[SealedDataKey.sealerRange]) == owner, sealed.sealer.bytes != owner {
                return false
            }
            try db.execute("INSERT OR REPLACE INTO relay_sealed_keys (business, recipient, key_id, sealed) VALUES (?, ?, ?, ?)",
                           [.blob(business.bytes), .blob(sealed.recipientSite.bytes), .integer(Int64(sealed.keyID.rawValue)), .blob(sealed.bytes)])
            return true
        }
    }

    public func sealedKeys(of business: BusinessID, recipient: SiteID, keyID: DataKeyID?) async throws -> [[UInt8]] {
        try await withConnection { db in
            if let keyID {
                return try db.rows("SELECT sealed FROM relay_sealed_keys WHERE business = ? AND recipient = ? AND key_id = ?",
                                   [.blob(business.bytes), .blob(recipient.bytes), .integer(Int64(keyID.rawValue))]).compactMap { $0[0].blobValue }
            }
            return try db.rows("SELECT sealed FROM relay_sealed_keys WHERE business = ? AND recipient = ? ORDER BY key_id",
                               [.blob(business.bytes), .blob(recipient.bytes)]).compactMap { $0[0].blobValue }
        }
    }

    public func deleteSealedKeys(of business: BusinessID, recipient: SiteID) async throws {
        try await withConnection { db in
            try db.execute("DELETE FROM relay_sealed_keys WHERE business = ? AND recipient = ?", [.blob(business.bytes), .blob(recipient.bytes)])
        }
    }

    // MARK: Invitations

    static let invitationColumns = "record, state, registered_at, join_request, requested_at, certificate, refusal, decided_at"

    /// A row of `invitationColumns`; nil when the stored bytes no longer decode (never written so).
    static func storedInvitation(_ row: [SQLValue]) -> StoredInvitation? {
        guard let invitation = try? Invitation.decode(row[0].blobValue ?? []), let state = InvitationState(rawValue: row[1].textValue ?? "") else { return nil }
        return StoredInvitation(invitation: invitation, state: state, registeredAt: row[2].integerValue ?? 0,
                                joinRequest: row[3].blobValue.flatMap { try? JoinRequest.decode($0) }, requestedAt: row[4].integerValue,
                                certificate: row[5].blobValue, refusal: row[6].textValue, decidedAt: row[7].integerValue)
    }

    public func addInvitation(_ invitation: Invitation, business: BusinessID, at milliseconds: Int64) async throws -> Bool {
        try await withConnection { db in
            try db.execute("""
                INSERT OR IGNORE INTO relay_invitations (business, invitation, record, not_after, registered_at, state) VALUES (?, ?, ?, ?, ?, 'open')
                """, [.blob(business.bytes), .blob(invitation.id.bytes), .blob(invitation.encoded), .integer(invitation.notAfter), .integer(milliseconds)])
            return db.changes > 0
        }
    }

    public func invitation(_ id: SiteID, business: BusinessID) async throws -> StoredInvitation? {
        try await withConnection { db in
            try db.row("SELECT \(Self.invitationColumns) FROM relay_invitations WHERE business = ? AND invitation = ?",
                       [.blob(business.bytes), .blob(id.bytes)]).flatMap(Self.storedInvitation)
        }
    }

    public func recordJoinRequest(_ request: JoinRequest, business: BusinessID, at milliseconds: Int64) async throws -> JoinRequestOutcome {
        try await withConnection { db in
            try db.transaction {
                try db.execute("""
                    UPDATE relay_invitations SET state = 'pending', join_request = ?, box_site = ?, requested_at = ?
                    WHERE business = ? AND invitation = ? AND state = 'open'
                    """, [.blob(request.encoded), .blob(request.boxSite.bytes), .integer(milliseconds), .blob(business.bytes), .blob(request.invitationID.bytes)])
                if db.changes > 0 { return .stored }
                guard let row = try db.row("SELECT state, box_site FROM relay_invitations WHERE business = ? AND invitation = ?",
                                           [.blob(business.bytes), .blob(request.invitationID.bytes)]) else { return .unknown }
                let state = InvitationState(rawValue: row[0].textValue ?? "") ?? .open
                return row[1].blobValue == request.boxSite.bytes ? .duplicate(state) : .taken
            }
        }
    }

    public func pendingJoinRequests(of business: BusinessID, at milliseconds: Int64) async throws -> [StoredInvitation] {
        try await withConnection { db in
            try db.rows("""
                SELECT \(Self.invitationColumns) FROM relay_invitations WHERE business = ? AND state = 'pending' AND not_after >= ?
                ORDER BY requested_at, invitation
                """, [.blob(business.bytes), .integer(milliseconds)]).compactMap(Self.storedInvitation)
        }
    }

    public func membershipCount(of business: BusinessID) async throws -> Int {
        try await withConnection { db in
            Int(try db.scalar("SELECT (SELECT count(*) FROM relay_certificates WHERE business = ?1) + (SELECT count(*) FROM relay_revocations WHERE business = ?1)",
                              [.blob(business.bytes)])?.integerValue ?? 0)
        }
    }

    public func pendingJoinRequestCount(of business: BusinessID, at milliseconds: Int64) async throws -> Int {
        try await withConnection { db in
            Int(try db.scalar("SELECT count(*) FROM relay_invitations WHERE business = ? AND state = 'pending' AND not_after >= ?",
                              [.blob(business.bytes), .integer(milliseconds)])?.integerValue ?? 0)
        }
    }

    public func decideJoinRequest(_ id: SiteID, business: BusinessID, certificate: [UInt8]?, refusal: String?, at milliseconds: Int64) async throws -> Bool {
        try await withConnection { db in
            try db.execute("""
                UPDATE relay_invitations SET state = ?, certificate = ?, refusal = ?, decided_at = ? WHERE business = ? AND invitation = ? AND state = 'pending'
                """, [.text(certificate == nil ? InvitationState.refused.rawValue : InvitationState.approved.rawValue), certificate.map { .blob($0) } ?? .null,
                      refusal.map { .text($0) } ?? .null, .integer(milliseconds), .blob(business.bytes), .blob(id.bytes)])
            return db.changes > 0
        }
    }

    public func pruneInvitations(before milliseconds: Int64) async throws {
        try await withConnection { db in
            try db.execute("DELETE FROM relay_invitations WHERE not_after < ?", [.integer(milliseconds)])
        }
    }

    // MARK: Snapshots

    public func storeSnapshot(_ snapshot: SealedSnapshot, business: BusinessID, at milliseconds: Int64) async throws -> SnapshotStoreOutcome {
        try await withConnection { db in
            try db.transaction {
                if let stored = try db.scalar("SELECT vector FROM relay_snapshots WHERE business = ?", [.blob(business.bytes)])?.blobValue,
                   let vector = try? VersionVector.decode(stored), !snapshotReplaces(snapshot.vector, stored: vector) {
                    return .stale(stored: vector)
                }
                try db.execute("""
                    INSERT OR REPLACE INTO relay_snapshots (business, producer, created_at, key_id, vector, byte_count, stored_at, snapshot)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, [.blob(business.bytes), .blob(snapshot.producer.bytes), .integer(snapshot.createdAt), .integer(Int64(snapshot.keyID.rawValue)),
                          .blob(snapshot.vector.encode()), .integer(Int64(snapshot.bytes.count)), .integer(milliseconds), .blob(snapshot.bytes)])
                return .stored
            }
        }
    }

    public func snapshotInfo(of business: BusinessID) async throws -> SnapshotInfo? {
        try await withConnection { db in
            guard let row = try db.row("SELECT producer, created_at, key_id, vector, byte_count, stored_at FROM relay_snapshots WHERE business = ?",
                                       [.blob(business.bytes)]),
                  let producer = row[0].blobValue.flatMap({ SiteID(bytes: $0) }), let vector = try? VersionVector.decode(row[3].blobValue ?? []) else { return nil }
            return SnapshotInfo(producer: producer, createdAt: row[1].integerValue ?? 0, keyID: DataKeyID(UInt32(clamping: row[2].integerValue ?? 0)),
                                vector: vector, byteCount: Int(row[4].integerValue ?? 0), storedAt: row[5].integerValue ?? 0)
        }
    }

    public func snapshot(of business: BusinessID) async throws -> [UInt8]? {
        try await withConnection { db in
            try db.scalar("SELECT snapshot FROM relay_snapshots WHERE business = ?", [.blob(business.bytes)])?.blobValue
        }
    }

    // MARK: Nonces

    public func recordNonce(_ nonce: [UInt8], site: SiteID, business: BusinessID, expiresAt: Int64) async throws -> Bool {
        try await withConnection { db in
            try db.execute("INSERT OR IGNORE INTO relay_nonces (business, site, nonce, expires_at) VALUES (?, ?, ?, ?)",
                           [.blob(business.bytes), .blob(site.bytes), .blob(nonce), .integer(expiresAt)])
            return db.changes > 0
        }
    }

    public func pruneNonces(before milliseconds: Int64) async throws {
        try await withConnection { db in
            try db.execute("DELETE FROM relay_nonces WHERE expires_at < ?", [.integer(milliseconds)])
        }
    }
}

/// Why the storage could not serve a call (other than a database error).
public enum RelayStorageError: Error, Sendable, CustomStringConvertible {
    /// The store was closed at shutdown.
    case closed
    /// The storage URL or path is not usable.
    case invalidLocation(String)

    public var description: String {
        switch self {
        case .closed: "the relay store is closed"
        case .invalidLocation(let detail): "invalid storage location: \(detail)"
        }
    }
}
