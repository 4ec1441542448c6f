import Foundation
import Logging
import PostgresNIO
import Replication
import ServiceLifecycle
import Synchronization

final class RunningFlag: Sendable {
    let value = Atomic<Bool>(false)
}

/// The relay's store on PostgreSQL (postgres-nio's connection pool). Several relay processes
/// may share one database: chain extension locks the author's head row (`SELECT … FOR UPDATE`,
/// authors in a fixed order), nonces are a primary key, so replays and forks are caught across
/// processes too.
public final class PostgresRelayStorage: RelayStorage {
    public let client: PostgresClient
    let logger: Logger

    /// Several relay processes share one PostgreSQL.
    public var isShared: Bool { true }

    public init(configuration: PostgresClient.Configuration, logger: Logger) {
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    /// Runs the connection pool until the service group shuts it down: the storage is the first
    /// service started, so it is told last, after the HTTP server has stopped.
    public func run() async throws {
        isRunning.value.store(true, ordering: .releasing)
        // PostgresClient.run() itself ends on graceful shutdown or cancellation.
        await client.run()
    }

    private let isRunning = RunningFlag()

    /// Waits (up to 30 s) until `run()` has started the pool, so that the first queries do not
    /// race the service group starting it.
    private func waitUntilRunning() async {
        for _ in 0..<3000 where !isRunning.value.load(ordering: .acquiring) && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    static let migrations: [(id: String, statements: [String])] = [
        ("1-relay", [
            "CREATE TABLE relay_businesses (business BYTEA PRIMARY KEY, owner_key BYTEA NOT NULL, registered_at BIGINT NOT NULL)",
            """
            CREATE TABLE relay_certificates (business BYTEA NOT NULL, site BYTEA NOT NULL, hash BYTEA NOT NULL, certificate BYTEA NOT NULL,
                position BIGSERIAL, PRIMARY KEY (business, site, hash))
            """,
            """
            CREATE TABLE relay_revocations (business BYTEA NOT NULL, hash BYTEA NOT NULL, site BYTEA NOT NULL, revocation BYTEA NOT NULL,
                position BIGSERIAL, PRIMARY KEY (business, hash))
            """,
            """
            CREATE TABLE relay_heads (business BYTEA NOT NULL, author BYTEA NOT NULL, sequence BIGINT NOT NULL, hash BYTEA NOT NULL,
                compacted_through BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (business, author))
            """,
            """
            CREATE TABLE relay_envelopes (business BYTEA NOT NULL, author BYTEA NOT NULL, sequence BIGINT NOT NULL, hash BYTEA NOT NULL,
                key_id BIGINT NOT NULL, received_at BIGINT NOT NULL, envelope BYTEA NOT NULL, PRIMARY KEY (business, author, sequence))
            """,
            """
            CREATE TABLE relay_acknowledgements (business BYTEA NOT NULL, site BYTEA NOT NULL, author BYTEA NOT NULL, sequence BIGINT NOT NULL,
                PRIMARY KEY (business, site, author))
            """,
            """
            CREATE TABLE relay_sealed_keys (business BYTEA NOT NULL, recipient BYTEA NOT NULL, key_id BIGINT NOT NULL, sealed BYTEA NOT NULL,
                PRIMARY KEY (business, recipient, key_id))
            """,
            """
            CREATE TABLE relay_nonces (business BYTEA NOT NULL, site BYTEA NOT NULL, nonce BYTEA NOT NULL, expires_at BIGINT NOT NULL,
                PRIMARY KEY (business, site, nonce))
            """,
            "CREATE INDEX relay_nonces_expiry ON relay_nonces (expires_at)",
        ]),
        ("2-invitations-snapshots", [
            """
            CREATE TABLE relay_invitations (business BYTEA NOT NULL, invitation BYTEA NOT NULL, record BYTEA NOT NULL, not_after BIGINT NOT NULL,
                registered_at BIGINT NOT NULL, state TEXT NOT NULL, join_request BYTEA, box_site BYTEA, requested_at BIGINT,
                certificate BYTEA, refusal TEXT, decided_at BIGINT, PRIMARY KEY (business, invitation))
            """,
            "CREATE INDEX relay_invitations_state ON relay_invitations (business, state, requested_at)",
            "CREATE INDEX relay_invitations_expiry ON relay_invitations (not_after)",
            """
            CREATE TABLE relay_snapshots (business BYTEA PRIMARY KEY, producer BYTEA NOT NULL, created_at BIGINT NOT NULL, key_id BIGINT NOT NULL,
                vector BYTEA NOT NULL, byte_count BIGINT NOT NULL, stored_at BIGINT NOT NULL, snapshot BYTEA NOT NULL)
            """,
        ]),
        ("3-kaspi", [
            """
            CREATE TABLE relay_kaspi_access (business BYTEA PRIMARY KEY, scheme TEXT NOT NULL, sealed BYTEA NOT NULL, device_token BYTEA,
                updated_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE relay_kaspi_operations (business BYTEA NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, qr_payment_id TEXT NOT NULL,
                state TEXT NOT NULL, claimed_at BIGINT NOT NULL, record BYTEA NOT NULL, PRIMARY KEY (business, kind, id))
            """,
            "CREATE INDEX relay_kaspi_operations_qr ON relay_kaspi_operations (business, kind, qr_payment_id)",
        ]),
    ]

    public func migrate() async throws {
        await waitUntilRunning()
        // One migrator at a time across relay processes, under a transaction-scoped advisory lock:
        // it is released by the COMMIT or ROLLBACK whatever happens, so a migrator that fails (or
        // a connection given back to the pool mid-way) can never leave it held. A migrator that
        // cannot get the lock within `lock_timeout` fails and tries again.
        var attempt = 0
        while true {
            // A relay stopped while it waits must not go on asking a pool that no longer runs.
            try Task.checkCancellation()
            attempt += 1
            do {
                try await client.withConnection { connection in
                    try await connection.withTransaction(logger: logger) { transaction in
                        _ = try await transaction.query("SET LOCAL lock_timeout = '10s'", logger: logger).collect()
                        _ = try await transaction.query("SELECT pg_advisory_xact_lock(7226071)", logger: logger).collect()
                        _ = try await transaction.query("CREATE TABLE IF NOT EXISTS relay_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                                                        logger: logger).collect()
                        for migration in Self.migrations {
                            let id = migration.id
                            guard try await transaction.query("SELECT 1 FROM relay_migrations WHERE id = \(id)", logger: logger).collect().isEmpty else { continue }
                            for statement in migration.statements {
                                _ = try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
                            }
                            let now = RelayClock.system.now()
                            _ = try await transaction.query("INSERT INTO relay_migrations (id, applied_at) VALUES (\(id), \(now))", logger: logger).collect()
                        }
                    }
                }
                return
            } catch where Self.isLockTimeout(error) && attempt < 6 {
                // lock_not_available: another migrator holds the lock; try again.
                logger.notice("waiting for another relay process to finish migrating", metadata: ["attempt": "\(attempt)"])
            }
        }
    }

    /// `lock_not_available` (SQLSTATE 55P03), also inside a transaction's error.
    static func isLockTimeout(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] == "55P03" }
        if let error = error as? PostgresTransactionError, let inner = error.closureError { return isLockTimeout(inner) }
        return false
    }

    public func registerBusiness(_ business: BusinessID, ownerKey: PublicKey, at milliseconds: Int64) async throws -> Bool {
        let rows = try await client.query("""
            INSERT INTO relay_businesses (business, owner_key, registered_at) VALUES (\(Data(business.bytes)), \(Data(ownerKey.bytes)), \(milliseconds))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        return try await rows.collect().count > 0
    }

    public func ownerKey(of business: BusinessID) async throws -> PublicKey? {
        let rows = try await client.query("SELECT owner_key FROM relay_businesses WHERE business = \(Data(business.bytes))", logger: logger)
        for try await data in rows.decode(Data.self) { return PublicKey(bytes: Array(data)) }
        return nil
    }

    public func businesses() async throws -> [BusinessID] {
        let rows = try await client.query("SELECT business FROM relay_businesses ORDER BY business", logger: logger)
        var result: [BusinessID] = []
        for try await data in rows.decode(Data.self) { if let id = BusinessID(bytes: Array(data)) { result.append(id) } }
        return result
    }

    public func addCertificate(_ certificate: Certificate, business: BusinessID) async throws -> Bool {
        let hash = Data(Sodium.blake2b(certificate.encoded, length: 32))
        let rows = try await client.query("""
            INSERT INTO relay_certificates (business, site, hash, certificate)
            VALUES (\(Data(business.bytes)), \(Data(certificate.subjectSite.bytes)), \(hash), \(Data(certificate.encoded)))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        return try await rows.collect().count > 0
    }

    public func certificates(of business: BusinessID) async throws -> [Certificate] {
        let rows = try await client.query("SELECT certificate FROM relay_certificates WHERE business = \(Data(business.bytes)) ORDER BY position", logger: logger)
        var result: [Certificate] = []
        for try await data in rows.decode(Data.self) { if let certificate = TrustDecoding.certificate(Array(data)) { result.append(certificate) } }
        return result
    }

    public func certificates(of business: BusinessID, site: SiteID) async throws -> [Certificate] {
        let rows = try await client.query("""
            SELECT certificate FROM relay_certificates WHERE business = \(Data(business.bytes)) AND site = \(Data(site.bytes)) ORDER BY position
            """, logger: logger)
        var result: [Certificate] = []
        for try await data in rows.decode(Data.self) { if let certificate = TrustDecoding.certificate(Array(data)) { result.append(certificate) } }
        return result
    }

    public func addRevocation(_ revocation: Revocation, business: BusinessID) async throws -> Bool {
        let hash = Data(Sodium.blake2b(revocation.encoded, length: 32))
        let rows = try await client.query("""
            INSERT INTO relay_revocations (business, hash, site, revocation)
            VALUES (\(Data(business.bytes)), \(hash), \(Data(revocation.subjectSite.bytes)), \(Data(revocation.encoded)))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        return try await rows.collect().count > 0
    }

    public func revocations(of business: BusinessID) async throws -> [Revocation] {
        let rows = try await client.query("SELECT revocation FROM relay_revocations WHERE business = \(Data(business.bytes)) ORDER BY position", logger: logger)
        var result: [Revocation] = []
        for try await data in rows.decode(Data.self) { if let revocation = TrustDecoding.revocation(Array(data)) { result.append(revocation) } }
        return result
    }

    public func append(_ envelopes: [RelayEnvelope], business: BusinessID, receivedAt milliseconds: Int64) async throws -> [AppendOutcome] {
        let businessData = Data(business.bytes)
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in
            // Lock every author's head row, in one order, so concurrent pushes neither interleave
            // within a chain nor deadlock.
            var heads: [SiteID: AuthorHead] = [:]
            for author in Set(envelopes.map(\.author)).sorted() {
                let authorData = Data(author.bytes)
                let zero = Data(RelayEnvelope.noPreviousHash)
                try await connection.query("""
                    INSERT INTO relay_heads (business, author, sequence, hash, compacted_through) VALUES (\(businessData), \(authorData), 0, \(zero), 0)
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
                let rows = try await connection.query("""
                    SELECT sequence, hash, compacted_through FROM relay_heads WHERE business = \(businessData) AND author = \(authorData) FOR UPDATE
                    """, logger: logger)
                for try await (sequence, hash, compacted) in rows.decode((Int64, Data, Int64).self) {
                    heads[author] = AuthorHead(author: author, sequence: UInt64(sequence), hash: Array(hash), compactedThrough: UInt64(compacted))
                }
            }
            var outcomes: [AppendOutcome] = []
            outcomes.reserveCapacity(envelopes.count)
            var changed: Set<SiteID> = []
            for envelope in envelopes {
                let authorData = Data(envelope.author.bytes)
                let head = heads[envelope.author].flatMap { $0.sequence == 0 ? nil : $0 }
                var stored: [UInt8]?
                if envelope.sequence <= head?.sequence ?? 0 {
                    let sequence = Int64(envelope.sequence)
                    let rows = try await connection.query("""
                        SELECT hash FROM relay_envelopes WHERE business = \(businessData) AND author = \(authorData) AND sequence = \(sequence)
                        """, logger: logger)
                    for try await hash in rows.decode(Data.self) { stored = Array(hash) }
                }
                if let outcome = chainOutcome(of: envelope, head: head, storedHashAtSequence: stored) {
                    outcomes.append(outcome)
                    continue
                }
                let sequence = Int64(envelope.sequence)
                let hash = Data(envelope.hash)
                let keyID = Int64(envelope.keyID.rawValue)
                try await connection.query("""
                    INSERT INTO relay_envelopes (business, author, sequence, hash, key_id, received_at, envelope)
                    VALUES (\(businessData), \(authorData), \(sequence), \(hash), \(keyID), \(milliseconds), \(Data(envelope.bytes)))
                    """, logger: logger)
                changed.insert(envelope.author)
                heads[envelope.author] = AuthorHead(author: envelope.author, sequence: envelope.sequence, hash: envelope.hash,
                                                    compactedThrough: heads[envelope.author]?.compactedThrough ?? 0)
                outcomes.append(.stored)
            }
            // Each moved head is written once, while its row is still locked.
            for author in changed.sorted() {
                guard let head = heads[author] else { continue }
                let sequence = Int64(head.sequence), hash = Data(head.hash), authorData = Data(author.bytes)
                try await connection.query("""
                    UPDATE relay_heads SET sequence = \(sequence), hash = \(hash) WHERE business = \(businessData) AND author = \(authorData)
                    """, logger: logger)
            }
            return outcomes
        }
    }

    public func heads(of business: BusinessID) async throws -> [AuthorHead] {
        let rows = try await client.query("""
            SELECT author, sequence, hash, compacted_through FROM relay_heads WHERE business = \(Data(business.bytes)) AND sequence > 0 ORDER BY author
            """, logger: logger)
        var result: [AuthorHead] = []
        for try await (author, sequence, hash, compacted) in rows.decode((Data, Int64, Data, Int64).self) {
            guard let site = SiteID(bytes: Array(author)) else { continue }
            result.append(AuthorHead(author: site, sequence: UInt64(sequence), hash: Array(hash), compactedThrough: UInt64(compacted)))
        }
        return result
    }

    public func envelopes(of business: BusinessID, author: SiteID, after sequence: UInt64, limit: Int) async throws -> [[UInt8]] {
        let after = Int64(min(sequence, UInt64(Int64.max)))
        let limit = Int64(limit)
        let rows = try await client.query("""
            SELECT envelope FROM relay_envelopes WHERE business = \(Data(business.bytes)) AND author = \(Data(author.bytes)) AND sequence > \(after)
            ORDER BY sequence LIMIT \(limit)
            """, logger: logger)
        var result: [[UInt8]] = []
        for try await data in rows.decode(Data.self) { result.append(Array(data)) }
        return result
    }

    public func recordAcknowledgement(_ vector: VersionVector, site: SiteID, business: BusinessID) async throws {
        let businessData = Data(business.bytes), siteData = Data(site.bytes)
        let entries = vector.entries.sorted { $0.key < $1.key }
        guard !entries.isEmpty else { return }
        try await client.withTransaction(logger: logger) { connection in
            for (author, sequence) in entries {
                let value = Int64(min(sequence, UInt64(Int64.max)))
                try await connection.query("""
                    INSERT INTO relay_acknowledgements (business, site, author, sequence) VALUES (\(businessData), \(siteData), \(Data(author.bytes)), \(value))
                    ON CONFLICT (business, site, author) DO UPDATE SET sequence = GREATEST(relay_acknowledgements.sequence, excluded.sequence)
                    """, logger: self.logger)
            }
        }
    }

    public func acknowledgements(of business: BusinessID) async throws -> [SiteID: VersionVector] {
        let rows = try await client.query("SELECT site, author, sequence FROM relay_acknowledgements WHERE business = \(Data(business.bytes))", logger: logger)
        var result: [SiteID: VersionVector] = [:]
        for try await (site, author, sequence) in rows.decode((Data, Data, Int64).self) {
            guard let site = SiteID(bytes: Array(site)), let author = SiteID(bytes: Array(author)) else { continue }
            result[site, default: VersionVector()][author] = UInt64(max(0, sequence))
        }
        return result
    }

    public func compact(_ business: BusinessID, through: [SiteID: UInt64]) async throws -> Int {
        let businessData = Data(business.bytes)
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in
            var deleted = 0
            for (author, sequence) in through.sorted(by: { $0.key < $1.key }) where sequence > 0 {
                let authorData = Data(author.bytes)
                let rows = try await connection.query("""
                    SELECT sequence, compacted_through FROM relay_heads WHERE business = \(businessData) AND author = \(authorData) FOR UPDATE
                    """, logger: logger)
                var head: (Int64, Int64)?
                for try await row in rows.decode((Int64, Int64).self) { head = row }
                guard let head else { continue }
                let mark = min(Int64(min(sequence, UInt64(Int64.max))), head.0)
                guard mark > head.1 else { continue }
                let removed = try await connection.query("""
                    DELETE FROM relay_envelopes WHERE business = \(businessData) AND author = \(authorData) AND sequence <= \(mark) RETURNING 1
                    """, logger: logger)
                deleted += try await removed.collect().count
                try await connection.query("""
                    UPDATE relay_heads SET compacted_through = \(mark) WHERE business = \(businessData) AND author = \(authorData)
                    """, logger: logger)
            }
            return deleted
        }
    }

    public func storeSealedKey(_ sealed: SealedDataKey, business: BusinessID) async throws -> Bool {
        // The owner's seal stays: a box's seal of the same generation does not replace it (§5.8);
        // the sealer's key is bytes 57..<89 (SQL counts from 1).
        let keyID = Int64(sealed.keyID.rawValue)
        let bytes = Data(sealed.bytes)
        let rows = try await client.query("""
            INSERT INTO relay_sealed_keys (business, recipient, key_id, sealed) VALUES (\(Data(business.bytes)), \(Data(sealed.recipientSite.bytes)), \(keyID), \(bytes))
            ON CONFLICT (business, recipient, key_id) DO UPDATE SET sealed = excluded.sealed WHERE relay_sealed_keys.sealed <> excluded.sealed
                AND (substring(relay_sealed_keys.sealed FROM 58 FOR 32) IS DISTINCT FROM (SELECT owner_key FROM relay_businesses WHERE business = excluded.business)
                     OR substring(excluded.sealed FROM 58 FOR 32) = (SELECT owner_key FROM relay_businesses WHERE business = excluded.business))
            RETURNING 1
            """, logger: logger)
        return try await rows.collect().count > 0
    }

    public func sealedKeys(of business: BusinessID, recipient: SiteID, keyID: DataKeyID?) async throws -> [[UInt8]] {
        let rows: PostgresRowSequence
        if let keyID {
            let id = Int64(keyID.rawValue)
            rows = try await client.query("""
                SELECT sealed FROM relay_sealed_keys WHERE business = \(Data(business.bytes)) AND recipient = \(Data(recipient.bytes)) AND key_id = \(id)
                """, logger: logger)
        } else {
            rows = try await client.query("""
                SELECT sealed FROM relay_sealed_keys WHERE business = \(Data(business.bytes)) AND recipient = \(Data(recipient.bytes)) ORDER BY key_id
                """, logger: logger)
        }
        var result: [[UInt8]] = []
        for try await data in rows.decode(Data.self) { result.append(Array(data)) }
        return result
    }

    public func deleteSealedKeys(of business: BusinessID, recipient: SiteID) async throws {
        try await client.query("DELETE FROM relay_sealed_keys WHERE business = \(Data(business.bytes)) AND recipient = \(Data(recipient.bytes))", logger: logger)
    }

    // MARK: Invitations

    typealias InvitationRow = (Data, String, Int64, Data?, Int64?, Data?, String?, Int64?)

    static func storedInvitation(_ row: InvitationRow) -> StoredInvitation? {
        guard let invitation = try? Invitation.decode(Array(row.0)), let state = InvitationState(rawValue: row.1) else { return nil }
        return StoredInvitation(invitation: invitation, state: state, registeredAt: row.2, joinRequest: row.3.flatMap { try? JoinRequest.decode(Array($0)) },
                                requestedAt: row.4, certificate: row.5.map { Array($0) }, refusal: row.6, decidedAt: row.7)
    }

    public func addInvitation(_ invitation: Invitation, business: BusinessID, at milliseconds: Int64) async throws -> Bool {
        let rows = try await client.query("""
            INSERT INTO relay_invitations (business, invitation, record, not_after, registered_at, state)
            VALUES (\(Data(business.bytes)), \(Data(invitation.id.bytes)), \(Data(invitation.encoded)), \(invitation.notAfter), \(milliseconds), 'open')
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        return try await rows.collect().count > 0
    }

    public func invitation(_ id: SiteID, business: BusinessID) async throws -> StoredInvitation? {
        let rows = try await client.query("""
            SELECT record, state, registered_at, join_request, requested_at, certificate, refusal, decided_at FROM relay_invitations
            WHERE business = \(Data(business.bytes)) AND invitation = \(Data(id.bytes))
            """, logger: logger)
        for try await row in rows.decode(InvitationRow.self) { return Self.storedInvitation(row) }
        return nil
    }

    public func recordJoinRequest(_ request: JoinRequest, business: BusinessID, at milliseconds: Int64) async throws -> JoinRequestOutcome {
        let businessData = Data(business.bytes), invitation = Data(request.invitationID.bytes), boxSite = Data(request.boxSite.bytes)
        let updated = try await client.query("""
            UPDATE relay_invitations SET state = 'pending', join_request = \(Data(request.encoded)), box_site = \(boxSite), requested_at = \(milliseconds)
            WHERE business = \(businessData) AND invitation = \(invitation) AND state = 'open' RETURNING 1
            """, logger: logger)
        if try await updated.collect().count > 0 { return .stored }
        let rows = try await client.query("""
            SELECT state, box_site FROM relay_invitations WHERE business = \(businessData) AND invitation = \(invitation)
            """, logger: logger)
        for try await (state, site) in rows.decode((String, Data?).self) {
            return site == boxSite ? .duplicate(InvitationState(rawValue: state) ?? .open) : .taken
        }
        return .unknown
    }

    public func pendingJoinRequests(of business: BusinessID, at milliseconds: Int64) async throws -> [StoredInvitation] {
        let rows = try await client.query("""
            SELECT record, state, registered_at, join_request, requested_at, certificate, refusal, decided_at FROM relay_invitations
            WHERE business = \(Data(business.bytes)) AND state = 'pending' AND not_after >= \(milliseconds) ORDER BY requested_at, invitation
            """, logger: logger)
        var result: [StoredInvitation] = []
        for try await row in rows.decode(InvitationRow.self) { if let stored = Self.storedInvitation(row) { result.append(stored) } }
        return result
    }

    public func membershipCount(of business: BusinessID) async throws -> Int {
        let rows = try await client.query("""
            SELECT (SELECT count(*) FROM relay_certificates WHERE business = \(Data(business.bytes)))
                 + (SELECT count(*) FROM relay_revocations WHERE business = \(Data(business.bytes)))
            """, logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    public func pendingJoinRequestCount(of business: BusinessID, at milliseconds: Int64) async throws -> Int {
        let rows = try await client.query("""
            SELECT count(*) FROM relay_invitations WHERE business = \(Data(business.bytes)) AND state = 'pending' AND not_after >= \(milliseconds)
            """, logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    public func decideJoinRequest(_ id: SiteID, business: BusinessID, certificate: [UInt8]?, refusal: String?, at milliseconds: Int64) async throws -> Bool {
        let state = certificate == nil ? InvitationState.refused.rawValue : InvitationState.approved.rawValue
        let rows = try await client.query("""
            UPDATE relay_invitations SET state = \(state), certificate = \(certificate.map { Data($0) }), refusal = \(refusal), decided_at = \(milliseconds)
            WHERE business = \(Data(business.bytes)) AND invitation = \(Data(id.bytes)) AND state = 'pending' RETURNING 1
            """, logger: logger)
        return try await rows.collect().count > 0
    }

    public func pruneInvitations(before milliseconds: Int64) async throws {
        try await client.query("DELETE FROM relay_invitations WHERE not_after < \(milliseconds)", logger: logger)
    }

    // MARK: Snapshots

    public func storeSnapshot(_ snapshot: SealedSnapshot, business: BusinessID, at milliseconds: Int64) async throws -> SnapshotStoreOutcome {
        let businessData = Data(business.bytes), producer = Data(snapshot.producer.bytes), vector = Data(snapshot.vector.encode())
        let keyID = Int64(snapshot.keyID.rawValue), byteCount = Int64(snapshot.bytes.count), bytes = Data(snapshot.bytes)
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in
            // The first snapshot of a business is inserted; later ones lock the row and compare.
            let inserted = try await connection.query("""
                INSERT INTO relay_snapshots (business, producer, created_at, key_id, vector, byte_count, stored_at, snapshot)
                VALUES (\(businessData), \(producer), \(snapshot.createdAt), \(keyID), \(vector), \(byteCount), \(milliseconds), \(bytes))
                ON CONFLICT DO NOTHING RETURNING 1
                """, logger: logger)
            if try await inserted.collect().count > 0 { return .stored }
            let rows = try await connection.query("SELECT vector FROM relay_snapshots WHERE business = \(businessData) FOR UPDATE", logger: logger)
            for try await stored in rows.decode(Data.self) {
                if let storedVector = try? VersionVector.decode(Array(stored)), !snapshotReplaces(snapshot.vector, stored: storedVector) {
                    return .stale(stored: storedVector)
                }
            }
            try await connection.query("""
                UPDATE relay_snapshots SET producer = \(producer), created_at = \(snapshot.createdAt), key_id = \(keyID), vector = \(vector),
                    byte_count = \(byteCount), stored_at = \(milliseconds), snapshot = \(bytes)
                WHERE business = \(businessData)
                """, logger: logger)
            return .stored
        }
    }

    public func snapshotInfo(of business: BusinessID) async throws -> SnapshotInfo? {
        let rows = try await client.query("""
            SELECT producer, created_at, key_id, vector, byte_count, stored_at FROM relay_snapshots WHERE business = \(Data(business.bytes))
            """, logger: logger)
        for try await (producer, createdAt, keyID, vector, byteCount, storedAt) in rows.decode((Data, Int64, Int64, Data, Int64, Int64).self) {
            guard let site = SiteID(bytes: Array(producer)), let decoded = try? VersionVector.decode(Array(vector)) else { return nil }
            return SnapshotInfo(producer: site, createdAt: createdAt, keyID: DataKeyID(UInt32(clamping: keyID)), vector: decoded,
                                byteCount: Int(byteCount), storedAt: storedAt)
        }
        return nil
    }

    public func snapshot(of business: BusinessID) async throws -> [UInt8]? {
        let rows = try await client.query("SELECT snapshot FROM relay_snapshots WHERE business = \(Data(business.bytes))", logger: logger)
        for try await data in rows.decode(Data.self) { return Array(data) }
        return nil
    }

    // MARK: Nonces

    public func recordNonce(_ nonce: [UInt8], site: SiteID, business: BusinessID, expiresAt: Int64) async throws -> Bool {
        let rows = try await client.query("""
            INSERT INTO relay_nonces (business, site, nonce, expires_at) VALUES (\(Data(business.bytes)), \(Data(site.bytes)), \(Data(nonce)), \(expiresAt))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        return try await rows.collect().count > 0
    }

    public func pruneNonces(before milliseconds: Int64) async throws {
        try await client.query("DELETE FROM relay_nonces WHERE expires_at < \(milliseconds)", logger: logger)
    }
}

extension PostgresRelayStorage {
    /// Parses `postgres://user[:password]@host[:port]/database` (also `postgresql://`). A
    /// `host=/path` query parameter (or a host that starts with `%2F`) selects a Unix socket
    /// directory, where the socket is `.s.PGSQL.<port>`.
    /// - Throws: `RelayStorageError.invalidLocation` naming what is wrong.
    public static func configuration(url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw RelayStorageError.invalidLocation("expected postgres://user@host:port/database, got \(url)")
        }
        let user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.password.flatMap { $0.removingPercentEncoding }
        let database = components.path.hasPrefix("/") && components.path.count > 1 ? String(components.path.dropFirst()) : user
        let port = components.port ?? 5432
        let socketDirectory = components.queryItems?.first { $0.name == "host" }?.value
            ?? (components.percentEncodedHost?.hasPrefix("%2F") == true ? components.host : nil)
        var configuration: PostgresClient.Configuration
        if let socketDirectory, socketDirectory.hasPrefix("/") {
            configuration = .init(unixSocketPath: socketDirectory + "/.s.PGSQL.\(port)", username: user, password: password, database: database)
        } else {
            guard let host = components.host, !host.isEmpty else { throw RelayStorageError.invalidLocation("no host in \(url)") }
            configuration = .init(host: host, port: port, username: user, password: password, database: database, tls: .disable)
        }
        configuration.options.maximumConnections = 20
        return configuration
    }
}
