import Foundation
import Logging
import Replication

/// The booking domain on one replica, as per-area components over one store:
///
/// - `catalogue` (`Catalogue`), `calendar` (`BookingCalendar`: availability, appointments,
///   series, waitlist, conflicts), `clients` (`ClientBook`), `access` (`AccessControl`: devices,
///   pairing, people, sessions), `audit` (`AuditTrail`), `events` (`EventLog`), and local
///   records (`records(in:)`).
/// - Each component's methods are `async`: the shop runs their SQLite work on the store's own
///   threads (`perform(as:_:)`, over `ReplicaStore.perform`), never on Swift's cooperative pool,
///   and inline inside a unit of work (`unitOfWork(_:)`), whose thread holds the store.
/// - Every write of a component takes who acts (`as: Acting`); its audited transaction records
///   that principal and the domain operation (`AuditOperation`) in `audit_events`.
/// - The synchronous methods in the `extension Shop` files are the areas' blocking cores, which
///   the components call on those threads. They are `package`, not `public`: synchronous code of
///   this package (provisioning at `init`, benchmarks, test fixtures) may call them; async code
///   calls the components.
///
/// Where the next features go: payments and refunds (append-only, in minor units) in a
/// `Payments` component with its own tables and migrations; stock movements in a `Stock`
/// component (append-only movements, levels derived); client messages (confirmations, reminders)
/// in a `Messages` component that queues outgoing messages in replicated rows and leaves sending
/// to provider adapters; owner reports in `Reports`, whose queries read on the store's read-only
/// reader connections (`readSnapshot(_:)`, as the audit trail's listing does) so that a long
/// report never blocks a write. Each is a small struct over `Shop` like the ones above, reached
/// as a property of `Shop`.
///
/// Every write goes through the replica store's one write path; every booking is checked and
/// written in the same transaction.
public final class Shop: Sendable {
    /// The replica store under the domain. Not public: sync and the node's wiring in this package use it for
    /// replication itself (changesets, version vectors); domain data is read and written through the components.
    package let store: ReplicaStore
    let logger: Logger
    /// The branch this replica is the authority for (its certificate's branch), if any.
    public let homeBranch: BranchID?
    /// The per-replica prefix of guest order numbers.
    public let orderPrefix: String
    /// Every committed change, for live updates.
    public let changeFeed = ChangeFeed()
    /// Paired devices, people and their PIN sessions.
    let accessCache = AccessCache()
    /// Wakes its readers when credentials may have stopped working (a device revoked, a person's
    /// sessions ended): open event streams re-check theirs and end (issue 15: a revoked tablet is
    /// logged out at once).
    public let credentialFeed = ChangeFeed()

    /// The catalogue: branches, offerings, staff, resources, overrides, time off.
    public var catalogue: Catalogue { Catalogue(shop: self) }
    /// The calendar: availability, appointments, guests, series, waitlist, conflicts.
    public var calendar: BookingCalendar { BookingCalendar(shop: self) }
    /// The client book: clients, notes, duplicates, history.
    public var clients: ClientBook { ClientBook(shop: self) }
    /// Devices, pairing, people and their PIN sessions.
    public var access: AccessControl { AccessControl(shop: self) }
    /// Money: sales, payments, the drawer, reports, the fiscal queue.
    public var money: Payments { Payments(shop: self) }
    public var retail: Retail { Retail(shop: self) }
    public var reports: Reports { Reports(shop: self) }
    /// Calendar feeds (RFC 5545) per staff member and per branch, at secret, revocable URLs.
    public var calendarFeeds: CalendarFeeds { CalendarFeeds(shop: self) }
    /// The audit trail.
    public var audit: AuditTrail { AuditTrail(shop: self) }
    /// The live-event log.
    public var events: EventLog { EventLog(shop: self) }

    /// Opens the domain on a replica: runs the domain's migrations, registers its replicated
    /// tables and keeps the derived local tables current.
    /// - Parameters:
    ///   - homeBranch: the branch this replica confirms bookings for; by default the branch named
    ///     in the replica's certificate when it is a UUIDv7.
    public init(store: ReplicaStore, homeBranch: BranchID? = nil, logger: Logger) throws {
        self.store = store
        self.logger = logger
        let certified = store.trustStore.certificates[store.site]?.last.flatMap { BranchID($0.branch) }
        self.homeBranch = homeBranch ?? certified
        self.orderPrefix = Shop.orderPrefix(for: store.site)
        try store.migrate(DomainSchema.migrations)
        let clock = store.configuration.physicalClock
        let site = store.site.hex
        store.observeChanges { changes, transaction in
            try DerivedState.update(changes, in: transaction, at: Int64(clock.now()), site: site)
        }
        for (table, kind) in DomainSchema.replicated { try store.register(table, as: kind) }
        try rebuildDerivedStateIfNeeded()
    }

    /// The store's physical clock, as an instant.
    public var now: Instant { Instant(milliseconds: Int64(store.configuration.physicalClock.now())) }

    /// Four Crockford base-32 characters from the site id: order numbers need no coordination.
    static func orderPrefix(for site: SiteID) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        let bytes = site.bytes
        let bits = UInt32(bytes[0]) << 16 | UInt32(bytes[1]) << 8 | UInt32(bytes[2])
        return String((0..<4).map { alphabet[Int(bits >> (19 - 5 * $0) & 31)] })
    }

    /// The order-number prefix of the replica whose site id is `hex` (receipts name the box that made them).
    static func orderPrefix(hex: String) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        let digits = Array(hex.utf8.prefix(6))
        guard digits.count == 6, let bits = UInt32(String(decoding: digits, as: UTF8.self), radix: 16) else { return "XXXX" }
        return String((0..<4).map { alphabet[Int(bits >> (19 - 5 * $0) & 31)] })
    }

    func rebuildDerivedStateIfNeeded() throws {
        try store.write { transaction in
            let version = try transaction.scalar("SELECT value FROM local_domain_state WHERE key = 'derived_version'", [])?.integerValue
            if version != DerivedState.version {
                try DerivedState.rebuild(in: transaction, site: store.site.hex)
                try transaction.execute("INSERT OR REPLACE INTO local_domain_state (key, value) VALUES ('derived_version', ?)", [.integer(DerivedState.version)])
            }
        }
    }

    /// Whether the replica holds any offering, staff member, resource, client or appointment (of
    /// any branch): the demo seeds, and provisioning fills, only a replica that holds none.
    public func holdsBusinessRecords() async throws -> Bool {
        try await perform { shop in
            try shop.read { transaction in
                try ["offerings", "staff", "resources", "clients", "appointments"].contains { table in
                    try transaction.scalar("SELECT EXISTS (SELECT 1 FROM \(table))")?.integerValue == 1
                }
            }
        }
    }

    /// Rebuilds every derived local table from the replicated ones (search index, occupancy, conflicts).
    public func rebuildDerivedState() throws {
        try store.write { transaction in try DerivedState.rebuild(in: transaction, site: store.site.hex) }
    }

    // MARK: Reading and writing

    func read<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        do { return try store.read(body) } catch let error as DomainError { throw error } catch { throw storageError(error) }
    }

    /// Runs a long read (a report, a listing of history) on one of the store's read-only reader
    /// connections (`ReplicaStore.snapshotRead`): it reads the state committed when it began and
    /// never holds up the front desk's writes. Inside a unit of work it reads in the unit.
    func readSnapshot<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        do { return try store.snapshotRead(body) } catch let error as DomainError { throw error } catch { throw storageError(error) }
    }

    /// Runs an audited write transaction: when the component call that runs it acts for a request
    /// (`Acting.principal` or `.guest`, bound by `perform(as:_:)`), the transaction also appends
    /// who did it and the domain `operation` to `audit_events`, so the record replicates with the change.
    func write<T>(_ operation: AuditOperation, _ body: (WriteTransaction) throws -> T) throws -> T {
        defer { store.afterCommit { [changeFeed] in changeFeed.signal() } }
        do {
            return try store.write { transaction in
                let result = try body(transaction)
                if let context = AuditContext.current { try context.record(operation, in: transaction, site: store.site.hex, at: now) }
                return result
            }
        } catch let error as DomainError { throw error } catch { throw storageError(error) }
    }

    /// Runs `body` as one unit of work (see `Replication.UnitOfWork`): every domain write and read
    /// it makes joins one transaction that commits once, when `body` returns, and is undone
    /// entirely when `body` throws; live-event wake-ups go out after the commit. The local API
    /// runs an idempotent request and the reply it keeps for it in one unit.
    /// - Throws: what `body` throws; `.storage` when the transaction cannot begin or commit.
    public func unitOfWork<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do { return try await store.unitOfWork(body) } catch let error as ReplicationError { throw storageError(error) }
    }

    /// Whether the calling task runs inside `unitOfWork(_:)` (the components then run their
    /// SQLite work inline on the unit's thread, which holds the store).
    public var isInUnitOfWork: Bool { store.isInUnitOfWork }

    /// Runs blocking domain work off Swift's cooperative pool (see `ReplicaStore.perform`);
    /// inline inside a unit of work. Every async method of the components goes through here, so
    /// no caller hops to a thread pool by hand. Reads pass no `acting`; writes pass who acts, and
    /// their audited transactions record it.
    func perform<T: Sendable>(as acting: Acting? = nil, _ body: @escaping @Sendable (Shop) throws -> T) async throws -> T {
        let audit = acting?.audit
        do {
            return try await store.perform { [self] in try AuditContext.$current.withValue(audit) { try body(self) } }
        } catch let error as DomainError { throw error } catch let error as CancellationError { throw error } catch { throw storageError(error) }
    }

    private func storageError(_ error: any Error) -> DomainError {
        logger.error("replica store failed", metadata: ["error": "\(error)"])
        return DomainError(.storage, "\(error)")
    }
}

// MARK: JSON columns

enum JSONColumn {
    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    /// The value a JSON column holds, or nil when it holds none or something else. (Not
    /// `decode(T?.self, …, default: nil)`: an optional `T` would find a "cached" nil in `DecodeCache`.)
    static func decodeIfPresent<T: Decodable & Sendable>(_ type: T.Type, _ value: SQLValue) -> T? {
        guard let text = value.textValue, let data = text.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }

    static func decode<T: Decodable & Sendable>(_ type: T.Type, _ value: SQLValue, default fallback: T) -> T {
        guard let text = value.textValue else { return fallback }
        let key = DecodeCache.Key(type: ObjectIdentifier(type), text: text)
        if let cached = DecodeCache.shared.get(key) as? T { return cached }
        guard let data = text.data(using: .utf8), let decoded = try? JSONDecoder().decode(type, from: data) else { return fallback }
        DecodeCache.shared.put(key, decoded)
        return decoded
    }
}

/// Decoded JSON columns by their text: schedules, names and items repeat across rows and
/// queries, and Foundation's decoder dominated an availability query without it.
final class DecodeCache: @unchecked Sendable {
    struct Key: Hashable {
        let type: ObjectIdentifier
        let text: String
    }

    static let shared = DecodeCache()
    private let lock = NSLock()
    private var values: [Key: any Sendable] = [:]
    private let limit = 8192

    func get(_ key: Key) -> (any Sendable)? { lock.withLock { values[key] } }

    func put(_ key: Key, _ value: any Sendable) {
        lock.withLock {
            if values.count >= limit { values.removeAll(keepingCapacity: true) }
            values[key] = value
        }
    }
}

extension SQLValue {
    var string: String { textValue ?? "" }
    var int: Int { Int(integerValue ?? 0) }
    var int64: Int64 { integerValue ?? 0 }
    var bool: Bool { (integerValue ?? 0) != 0 }
    static func bool(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }
    static func int(_ value: Int) -> SQLValue { .integer(Int64(value)) }
    static func instant(_ value: Instant) -> SQLValue { .integer(value.milliseconds) }
}

/// A key derived from its natural key, so two replicas that create "the override of branch B
/// on 2024-03-08" write the same row and last-writer-wins merges them.
func derivedKey(_ parts: String...) -> String { derivedKey(parts) }

func derivedKey(_ parts: [String], milliseconds: UInt64 = 1) -> String {
    UUIDv7.derived(from: Sodium.blake2b(Array(parts.joined(separator: "\u{1F}").utf8), length: 16), milliseconds: milliseconds)
}

extension Shop {
    /// Applies changesets from another replica (see `ReplicaStore.apply`), then — on a home
    /// replica — confirms or rejects the requested bookings they brought.
    @discardableResult
    public func apply(_ batch: [[UInt8]]) throws -> ApplyReport {
        let before = store.versionVector
        let report = try store.apply(batch)
        try recordHeard(since: before)
        changeFeed.signal()
        if !report.applied.isEmpty { try reviewRequests() }
        return report
    }

    /// Merges a snapshot made by another replica of this business (see
    /// `ReplicaStore.applySnapshot`), then — on a home replica — reviews the requested bookings it brought.
    /// - Returns: the version vector after the merge.
    @discardableResult
    public func applySnapshot(_ bytes: [UInt8]) throws -> VersionVector {
        let before = store.versionVector
        let vector = try store.applySnapshot(bytes)
        try recordHeard(since: before)
        changeFeed.signal()
        try reviewRequests()
        return vector
    }
}
