import Replication
import Synchronization
import ServiceLifecycle

/// Where the relay keeps businesses, certificates, revocations, envelopes, acknowledgements,
/// sealed data keys, invitations with their join requests, snapshots and request nonces. Every
/// table is partitioned by business (the business id is the first column of every key and
/// index), so that businesses can be spread over database shards later without changing a query.
///
/// Implementations: `SQLiteRelayStorage` (the default; one file, no set-up) and
/// `PostgresRelayStorage` (stateless relay processes behind a load balancer share one
/// PostgreSQL). Both pass the same conformance suite (Tests/RelayTests/StorageConformance.swift).
///
/// As a `Service`, the storage runs first in the relay's service group and stops last.
public protocol RelayStorage: Service {
    /// Whether other relay processes may write to the same store (PostgreSQL). Then a waiting
    /// pull also re-reads the store every `RelayLimits.pollInterval`; otherwise the process's own
    /// notifications are complete and it waits for them alone.
    var isShared: Bool { get }

    /// Creates or upgrades the schema (append-only migrations). Idempotent.
    func migrate() async throws

    /// Records a business and its owner key.
    /// - Returns: false when it was already registered (with this key: the id is derived from it).
    func registerBusiness(_ business: BusinessID, ownerKey: PublicKey, at milliseconds: Int64) async throws -> Bool
    /// The owner key of a registered business; nil for an unknown business.
    func ownerKey(of business: BusinessID) async throws -> PublicKey?
    /// Every registered business (for housekeeping).
    func businesses() async throws -> [BusinessID]

    /// Stores a certificate (already verified against the business's owner key).
    /// - Returns: false when it was stored before.
    func addCertificate(_ certificate: Certificate, business: BusinessID) async throws -> Bool
    /// The certificates of a business, in the order they were stored.
    func certificates(of business: BusinessID) async throws -> [Certificate]
    /// The certificates of one site of a business, in the order they were stored.
    func certificates(of business: BusinessID, site: SiteID) async throws -> [Certificate]

    /// Stores a revocation (already verified against the business's owner key).
    /// - Returns: false when it was stored before.
    func addRevocation(_ revocation: Revocation, business: BusinessID) async throws -> Bool
    func revocations(of business: BusinessID) async throws -> [Revocation]
    /// How many certificates and revocations the business has: it grows whenever its membership
    /// changes (a waiting pull answers then, so a box holding the data key acts at once).
    func membershipCount(of business: BusinessID) async throws -> Int

    /// Appends verified envelopes (their signatures were checked against their authors'
    /// certificates) in the given order, atomically: each either extends its author's chain
    /// (sequence = head + 1 and previous hash = head hash), is a duplicate, or is refused
    /// with the outcome saying why. Concurrent appends for one author are serialised.
    func append(_ envelopes: [RelayEnvelope], business: BusinessID, receivedAt milliseconds: Int64) async throws -> [AppendOutcome]
    /// Every author's head (authors without envelopes may be absent).
    func heads(of business: BusinessID) async throws -> [AuthorHead]
    /// Envelopes of one author with a sequence above `sequence`, in sequence order, at most
    /// `limit` of them.
    func envelopes(of business: BusinessID, author: SiteID, after sequence: UInt64, limit: Int) async throws -> [[UInt8]]

    /// Records what a site reports to have (its version vector); entries only move forward.
    func recordAcknowledgement(_ vector: VersionVector, site: SiteID, business: BusinessID) async throws
    func acknowledgements(of business: BusinessID) async throws -> [SiteID: VersionVector]
    /// Deletes each author's envelopes up to `through[author]` (capped at its head) and moves its
    /// compaction mark there. Returns how many envelopes were deleted.
    func compact(_ business: BusinessID, through: [SiteID: UInt64]) async throws -> Int

    /// Stores a sealed data key for its recipient, replacing one of the same generation — except
    /// that a key sealed by a box never replaces one sealed by the business's owner key (a new box
    /// trusts the owner's seal before it has heard of any other box; relay-protocol §5.8). Atomic:
    /// of two seals stored at once, the owner's stays whatever their order.
    /// - Returns: false when the same bytes were stored before, or the owner's seal was kept.
    func storeSealedKey(_ sealed: SealedDataKey, business: BusinessID) async throws -> Bool
    /// The sealed keys addressed to `recipient`, by generation; only `keyID`'s when given.
    func sealedKeys(of business: BusinessID, recipient: SiteID, keyID: DataKeyID?) async throws -> [[UInt8]]
    /// Forgets every sealed key addressed to `recipient` (after its revocation).
    func deleteSealedKeys(of business: BusinessID, recipient: SiteID) async throws

    /// Stores an owner-signed invitation (already verified against the business's owner key) as `open`.
    /// - Returns: false when it was stored before.
    func addInvitation(_ invitation: Invitation, business: BusinessID, at milliseconds: Int64) async throws -> Bool
    /// The invitation with this id (its key's site id) and what became of it; nil when unknown.
    func invitation(_ id: SiteID, business: BusinessID) async throws -> StoredInvitation?
    /// Records a (verified) join request under its invitation, atomically: only an `open`
    /// invitation takes one, and then becomes `pending`.
    func recordJoinRequest(_ request: JoinRequest, business: BusinessID, at milliseconds: Int64) async throws -> JoinRequestOutcome
    /// The `pending` invitations (a join request waits for the owner) that are valid at `milliseconds`, oldest first.
    func pendingJoinRequests(of business: BusinessID, at milliseconds: Int64) async throws -> [StoredInvitation]
    /// How many `pendingJoinRequests` there are.
    func pendingJoinRequestCount(of business: BusinessID, at milliseconds: Int64) async throws -> Int
    /// The owner's answer to a `pending` join request: a certificate (`approved`) or a refusal.
    /// - Returns: false when the invitation is not `pending` (nothing changed).
    func decideJoinRequest(_ id: SiteID, business: BusinessID, certificate: [UInt8]?, refusal: String?, at milliseconds: Int64) async throws -> Bool
    /// Forgets invitations that expired before `milliseconds`.
    func pruneInvitations(before milliseconds: Int64) async throws

    /// Keeps `snapshot` as the business's snapshot, atomically: refused as `stale` when the stored
    /// one's vector covers the new one's and differs from it (a snapshot with an equal vector
    /// replaces the stored one).
    func storeSnapshot(_ snapshot: SealedSnapshot, business: BusinessID, at milliseconds: Int64) async throws -> SnapshotStoreOutcome
    /// What the stored snapshot is (without its bytes); nil when there is none.
    func snapshotInfo(of business: BusinessID) async throws -> SnapshotInfo?
    /// The stored snapshot's bytes; nil when there is none.
    func snapshot(of business: BusinessID) async throws -> [UInt8]?

    /// Records a request nonce until `expiresAt`.
    /// - Returns: false when this site already used it (a replay).
    func recordNonce(_ nonce: [UInt8], site: SiteID, business: BusinessID, expiresAt: Int64) async throws -> Bool
    /// Forgets nonces that expired before `milliseconds`.
    func pruneNonces(before milliseconds: Int64) async throws

    // MARK: Kaspi gateway (docs/kaspi.md)

    /// Stores a business's sealed Kaspi access, replacing any before it and forgetting its device token.
    func storeKaspiAccess(_ access: StoredKaspiAccess, business: BusinessID) async throws
    /// The business's sealed Kaspi access; nil when none is stored.
    func kaspiAccess(of business: BusinessID) async throws -> StoredKaspiAccess?
    /// Stores (nil: forgets) the sealed device token of the business's access.
    func storeKaspiDeviceToken(_ sealed: [UInt8]?, business: BusinessID) async throws
    /// The operation of `kind` with our id `id`; nil when unknown.
    func kaspiOperation(_ kind: KaspiOperation.Kind, id: String, business: BusinessID) async throws -> KaspiOperation?
    /// The payment with Kaspi's `QrPaymentId`; nil when this business has none.
    func kaspiPayment(qrPaymentID: String, business: BusinessID) async throws -> KaspiOperation?
    /// Claims an operation for one attempt at Kaspi, atomically (also across relay processes):
    /// stores `operation` when its id is new, or moves the claim of a stored one that is not
    /// `done` and was claimed before `staleBefore`.
    /// - Returns: whether this caller holds the claim, and the operation as stored (for a claim of
    ///   a stored one: its earlier `record` and `state`, with the new `claimedAt`).
    func claimKaspiOperation(_ operation: KaspiOperation, staleBefore: Int64, business: BusinessID) async throws -> (claimed: Bool, stored: KaspiOperation)
    /// Replaces a stored operation's `qrPaymentID`, `state` and `record`.
    func saveKaspiOperation(_ operation: KaspiOperation, business: BusinessID) async throws
    /// Forgets an operation (Kaspi refused it, so a retry may try afresh).
    func deleteKaspiOperation(_ kind: KaspiOperation.Kind, id: String, business: BusinessID) async throws
}

extension RelayStorage {
    public var isShared: Bool { false }
}

/// What became of one envelope offered to `RelayStorage.append`.
public enum AppendOutcome: Hashable, Sendable {
    /// Stored: it extended its author's chain.
    case stored
    /// The same envelope (same hash) was stored before; nothing changed.
    case duplicate
    /// Its sequence is at or below a compaction mark: delivered to everyone and deleted; nothing changed.
    case alreadyCompacted
    /// Its sequence is not the next one of its author.
    case gap(expected: UInt64)
    /// It is the next sequence but does not name the previous envelope's hash.
    case chainMismatch
    /// Another envelope with the same author and sequence is stored (the author forked its chain).
    case conflict
}

/// Where an invitation stands at the relay.
public enum InvitationState: String, Sendable, Hashable {
    /// Registered by the owner; no join request yet.
    case open
    /// A join request waits for the owner's box.
    case pending
    /// The owner's box issued a certificate (the invitation is used).
    case approved
    /// The owner's box refused the join request (the invitation is used).
    case refused
}

/// An invitation as the relay keeps it, with the join request made under it and the owner's answer.
public struct StoredInvitation: Hashable, Sendable {
    public var invitation: Invitation
    public var state: InvitationState
    public var registeredAt: Int64
    public var joinRequest: JoinRequest?
    /// When the relay received the join request.
    public var requestedAt: Int64?
    /// For `approved`: the certificate the owner's box issued.
    public var certificate: [UInt8]?
    /// For `refused`: the owner's box's reason.
    public var refusal: String?
    public var decidedAt: Int64?

    public init(invitation: Invitation, state: InvitationState, registeredAt: Int64, joinRequest: JoinRequest? = nil, requestedAt: Int64? = nil,
                certificate: [UInt8]? = nil, refusal: String? = nil, decidedAt: Int64? = nil) {
        self.invitation = invitation
        self.state = state
        self.registeredAt = registeredAt
        self.joinRequest = joinRequest
        self.requestedAt = requestedAt
        self.certificate = certificate
        self.refusal = refusal
        self.decidedAt = decidedAt
    }
}

/// What became of a join request offered to `RelayStorage.recordJoinRequest`.
public enum JoinRequestOutcome: Hashable, Sendable {
    /// Stored: the invitation was `open` and is now `pending`.
    case stored
    /// A join request for the same box key is stored already (a retry); nothing changed.
    case duplicate(InvitationState)
    /// The invitation was used by another box's request; nothing changed.
    case taken
    /// No such invitation.
    case unknown
}

/// What the relay knows of a business's stored snapshot (its cleartext header).
public struct SnapshotInfo: Hashable, Sendable {
    public var producer: SiteID
    public var createdAt: Int64
    public var keyID: DataKeyID
    public var vector: VersionVector
    public var byteCount: Int
    public var storedAt: Int64

    public init(producer: SiteID, createdAt: Int64, keyID: DataKeyID, vector: VersionVector, byteCount: Int, storedAt: Int64) {
        self.producer = producer
        self.createdAt = createdAt
        self.keyID = keyID
        self.vector = vector
        self.byteCount = byteCount
        self.storedAt = storedAt
    }
}

/// What became of a snapshot offered to `RelayStorage.storeSnapshot`.
public enum SnapshotStoreOutcome: Hashable, Sendable {
    case stored
    /// The stored snapshot reflects everything this one does and more; nothing changed.
    case stale(stored: VersionVector)
}

/// Whether `new` may replace a stored snapshot with vector `stored`.
func snapshotReplaces(_ new: VersionVector, stored: VersionVector) -> Bool {
    !(stored.dominates(new) && stored != new)
}

/// An author's newest stored envelope and compaction mark.
public struct AuthorHead: Hashable, Sendable {
    public var author: SiteID
    public var sequence: UInt64
    public var hash: [UInt8]
    /// Envelopes up to this sequence were deleted after every box acknowledged them.
    public var compactedThrough: UInt64

    public init(author: SiteID, sequence: UInt64, hash: [UInt8], compactedThrough: UInt64) {
        self.author = author
        self.sequence = sequence
        self.hash = hash
        self.compactedThrough = compactedThrough
    }
}

/// Chain rule shared by the storage implementations: what an envelope means against its
/// author's head and the envelope stored at its sequence (if any).
func chainOutcome(of envelope: RelayEnvelope, head: AuthorHead?, storedHashAtSequence: [UInt8]?) -> AppendOutcome? {
    let headSequence = head?.sequence ?? 0
    if envelope.sequence <= headSequence {
        if let stored = storedHashAtSequence { return stored == envelope.hash ? .duplicate : .conflict }
        return .alreadyCompacted
    }
    guard envelope.sequence == headSequence + 1 else { return .gap(expected: headSequence + 1) }
    guard envelope.previousHash == (head?.hash ?? RelayEnvelope.noPreviousHash) else { return .chainMismatch }
    return nil // to be stored
}

/// Certificates and revocations decoded from storage, by their bytes. Decoding verifies the
/// owner's signature (an Ed25519 verification each); the result depends only on the bytes, so it
/// is remembered (up to a bound) instead of repeated for every request and push.
enum TrustDecoding {
    private static let certificates = Mutex<[[UInt8]: Certificate]>([:])
    private static let revocations = Mutex<[[UInt8]: Revocation]>([:])
    static let bound = 20_000

    static func certificate(_ bytes: [UInt8]) -> Certificate? {
        if let cached = certificates.withLock({ $0[bytes] }) { return cached }
        guard let certificate = try? Certificate.decode(bytes) else { return nil }
        certificates.withLock { cache in
            if cache.count >= bound { cache.removeAll(keepingCapacity: true) }
            cache[bytes] = certificate
        }
        return certificate
    }

    static func revocation(_ bytes: [UInt8]) -> Revocation? {
        if let cached = revocations.withLock({ $0[bytes] }) { return cached }
        guard let revocation = try? Revocation.decode(bytes) else { return nil }
        revocations.withLock { cache in
            if cache.count >= bound { cache.removeAll(keepingCapacity: true) }
            cache[bytes] = revocation
        }
        return revocation
    }
}
