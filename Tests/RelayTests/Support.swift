import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import Prometheus
import Testing
@testable import Relay
@testable import Replication
import TestSupport

let quietLogger: Logger = {
    var logger = Logger(label: "relay-test")
    logger.logLevel = .critical
    return logger
}()

/// The stores the conformance suite runs against. PostgreSQL is included whenever
/// `EDGENODE_TEST_POSTGRES_URL` is set (scripts/test.sh always sets it, starting a throw-away
/// cluster); then an unreachable server fails the tests rather than skipping them.
enum StorageKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["EDGENODE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    static var available: [StorageKind] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }
}

/// Makes a store of `kind` (a real SQLite file in a new directory, or the test PostgreSQL).
func makeStorage(_ kind: StorageKind, directory: String = temporaryDirectory()) throws -> any RelayStorage {
    switch kind {
    case .sqlite:
        return try SQLiteRelayStorage(path: directory + "/relay.sqlite", logger: quietLogger)
    case .postgres:
        let url = try #require(StorageKind.postgresURL, "EDGENODE_TEST_POSTGRES_URL is not set")
        return PostgresRelayStorage(configuration: try PostgresRelayStorage.configuration(url: url), logger: quietLogger)
    }
}

/// Runs the store's service (PostgreSQL's pool needs it), migrates, runs `body`, stops.
func withRunningStorage<S: RelayStorage, T: Sendable>(_ storage: S, _ body: @escaping @Sendable (S) async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await storage.run() }
        defer { group.cancelAll() }
        try await withTimeout(.seconds(30), "migrating the \(S.self) (is the database reachable?)") { try await storage.migrate() }
        return try await body(storage)
    }
}

/// A business: its owner key and boxes with certificates.
struct TestBusiness: Sendable {
    let owner = SigningKey.generate()
    var id: BusinessID { BusinessID(ownerKey: owner.publicKey) }
    var ownerSite: SiteID { SiteID(publicKey: owner.publicKey) }

    func box(branch: String = "Satpayev St", notBefore: Int64 = 0, notAfter: Int64 = Int64.max / 2) -> TestBox {
        let key = SigningKey.generate()
        let certificate = try! Certificate.issue(by: owner, for: key.publicKey, role: "box", branch: branch, notBefore: notBefore, notAfter: notAfter)
        return TestBox(key: key, certificate: certificate)
    }

    func revocation(of box: TestBox, from: Int64 = 0) -> Revocation {
        try! Revocation.issue(by: owner, revoking: box.key.publicKey, effectiveFrom: from, reason: "lost")
    }
}

/// A box: its identity key, its certificate and its chain of envelopes.
final class TestBox: @unchecked Sendable {
    let key: SigningKey
    let certificate: Certificate
    var site: SiteID { certificate.subjectSite }
    private let lock = NSLock()
    private var sequence: UInt64 = 0
    private var lastHash = RelayEnvelope.noPreviousHash

    init(key: SigningKey, certificate: Certificate) {
        self.key = key
        self.certificate = certificate
    }

    /// A real changeset of this box, with a client's name and phone number in it.
    func changeset(sequence: UInt64, previousHash: [UInt8], name: String, phone: String) -> SignedChangeset {
        let clock = HLCTimestamp(rawValue: UInt64(1_790_000_000_000 + Int64(sequence)) << 16)
        let row = RowChange(table: "clients", key: .text(UUIDv7.generate()), causalLength: 1,
                            cells: [CellChange(column: "name", value: .text(name), timestamp: clock),
                                    CellChange(column: "phone", value: .text(phone), timestamp: clock)])
        return Changeset(business: certificate.business, author: site, sequence: sequence, previousHash: previousHash,
                         clockMin: clock, clockMax: clock, rows: [row]).signed(with: key)
    }

    /// The next envelope of this box's chain.
    func nextEnvelope(dataKey: DataKey, name: String = "Aigerim Sultanova", phone: String = "+77011234567", sealedAt: Int64 = 1_790_000_000_000,
                      padding: Int = 0) -> RelayEnvelope {
        lock.withLock {
            sequence += 1
            let changeset = changeset(sequence: sequence, previousHash: Sodium.blake2b(lastHash, length: 32), name: name + String(repeating: " ", count: padding), phone: phone)
            let envelope = try! RelayEnvelope.seal(changeset, author: key, previousHash: lastHash, dataKey: dataKey, sealedAt: sealedAt)
            lastHash = envelope.hash
            return envelope
        }
    }
}

extension UUIDv7 {
    static func generate() -> String { UUIDv7.derived(from: Sodium.randomBytes(16), milliseconds: 1_790_000_000_000) }
}

extension TestClock {
    /// This clock as the relay's clock.
    var relayClock: RelayClock { RelayClock { [self] in milliseconds } }
}

// MARK: A relay over real HTTP on loopback

/// A relay started in-process on 127.0.0.1, port 0, with real HTTP clients.
struct LiveRelay<Storage: RelayStorage>: Sendable {
    let runtime: RelayRuntime<Storage>
    let port: Int
    let clock: TestClock
    var core: RelayCore<Storage> { runtime.core }

    /// Starts a relay over `storage`, runs `body` against it, stops it.
    static func with<T: Sendable>(_ storage: Storage, limits: RelayLimits = RelayLimits(), clock: TestClock = TestClock(),
                                  metrics: PrometheusCollectorRegistry? = nil,
                                  _ body: @escaping @Sendable (LiveRelay) async throws -> T) async throws -> T {
        var configuration = RelayConfiguration()
        configuration.bind = "127.0.0.1"
        configuration.port = 0
        configuration.limits = limits
        configuration.housekeepingInterval = .seconds(3600)
        configuration.metrics = metrics != nil
        let registry = metrics ?? PrometheusCollectorRegistry()
        let core = RelayCore(storage: storage, limits: limits, clock: clock.relayClock, logger: quietLogger,
                             metricsFactory: PrometheusMetricsFactory(registry: registry))
        let runtime = RelayRuntime(core: core, configuration: configuration, logger: quietLogger, metricsText: { registry.emitToString() })
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run(handleSignals: false) }
            defer { group.cancelAll() }
            let port = try await withTimeout(.seconds(30), "starting the relay") { try await runtime.waitUntilListening() }
            return try await body(LiveRelay(runtime: runtime, port: port, clock: clock))
        }
    }

    /// A new HTTP connection to the relay.
    func client() -> RelayTestClient { RelayTestClient(port: port, clock: clock) }
}

/// Signs and sends requests to a live relay, one connection per request.
struct RelayTestClient: Sendable {
    let port: Int
    let clock: TestClock

    struct Reply: Sendable {
        let status: Int
        let headers: HTTPFields
        let body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var problemKind: String? { (json["type"] as? String).map { String($0.dropFirst("urn:edgenode:problem:".count)) } }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends a request; signs it with `key` for `business` unless `key` is nil.
    func send(_ method: HTTPRequest.Method, _ target: String, json: Any? = nil, rawBody: [UInt8]? = nil, key: SigningKey? = nil,
              business: BusinessID? = nil, timestamp: Int64? = nil, nonce: [UInt8]? = nil,
              tamper: (@Sendable (inout [UInt8]) -> Void)? = nil, authorization: String? = nil, timeout: Duration = .seconds(60)) async throws -> Reply {
        var body = rawBody ?? []
        if let json { body = Array(try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])) }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let key, let business {
            let (path, query) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
            let signature = RelayRequestSignature.sign(method: method.rawValue, path: path, query: query, body: body, business: business, key: key,
                                                       timestamp: timestamp ?? clock.milliseconds, nonce: nonce ?? Sodium.randomBytes(16))
            headers[.authorization] = signature.headerValue
        }
        if let authorization { headers[.authorization] = authorization }
        tamper?(&body)
        let request = TestClient.Request(target, method: method, headers: headers, body: method == .get && body.isEmpty ? nil : ByteBuffer(bytes: body))
        let port = self.port
        return try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: timeout)) { client in
            let response = try await client.execute(request)
            return Reply(status: response.status.code, headers: response.head.headerFields, body: response.body.map { Array($0.readableBytesView) } ?? [])
        }
    }
}

/// The JSON helpers for the relay's API.
enum API {
    static func register(_ business: TestBusiness, timestamp: Int64) -> [String: Any] {
        ["owner_key": business.owner.publicKey.hex, "timestamp": timestamp,
         "signature": RelayRegistrationProof.sign(owner: business.owner, timestamp: timestamp).hexString]
    }
    static func push(_ envelopes: [RelayEnvelope]) -> [String: Any] { ["envelopes": envelopes.map { Data($0.bytes).base64EncodedString() }] }
    static func pull(_ vector: VersionVector = VersionVector(), limit: Int? = nil, wait: Int? = nil) -> [String: Any] {
        var body: [String: Any] = ["vector": Data(vector.encode()).base64EncodedString()]
        if let limit { body["limit"] = limit }
        if let wait { body["wait_seconds"] = wait }
        return body
    }
    static func base(_ business: BusinessID) -> String { "/v1/businesses/\(business.hex)" }
}

extension RelayTestClient {
    /// Registers `business` and enrols `boxes` (owner-signed), expecting success.
    func setUp(_ business: TestBusiness, boxes: [TestBox]) async throws {
        let registered = try await send(.post, "/v1/businesses", json: API.register(business, timestamp: clock.milliseconds))
        try #require(registered.status == 201, "\(registered.text)")
        for box in boxes {
            let enrolled = try await send(.post, API.base(business.id) + "/certificates", json: ["certificate": Data(box.certificate.encoded).base64EncodedString()],
                                          key: business.owner, business: business.id)
            try #require(enrolled.status == 201, "\(enrolled.text)")
        }
    }

    func push(_ envelopes: [RelayEnvelope], as box: TestBox, business: BusinessID) async throws -> Reply {
        try await send(.post, API.base(business) + "/envelopes", json: API.push(envelopes), key: box.key, business: business)
    }

    func pull(as box: TestBox, business: BusinessID, vector: VersionVector = VersionVector(), limit: Int? = nil, wait: Int? = nil) async throws -> Reply {
        try await send(.post, API.base(business) + "/pull", json: API.pull(vector, limit: limit, wait: wait), key: box.key, business: business)
    }
}

extension RelayTestClient.Reply {
    /// The envelopes of a pull reply.
    var envelopes: [[UInt8]] { (json["envelopes"] as? [String] ?? []).compactMap { Data(base64Encoded: $0).map(Array.init) } }
    /// The per-envelope results of a push reply.
    var results: [[String: Any]] { json["results"] as? [[String: Any]] ?? [] }
    var statuses: [String] { results.map { $0["status"] as? String ?? "?" } }
    var reasons: [String] { results.map { $0["reason"] as? String ?? "-" } }
}

/// A running relay as the HTTP tests see it (whatever its storage).
protocol RelayHandle: Sendable {
    func client() -> RelayTestClient
    /// Pulls of `business` parked in their long-poll now.
    func waitingPulls(_ business: BusinessID) -> Int
    var clock: TestClock { get }
    func heads(_ business: BusinessID) async throws -> [AuthorHead]
    func compact(_ business: BusinessID) async throws -> Int
    func sealedKeys(_ business: BusinessID, recipient: SiteID) async throws -> [[UInt8]]
    func invitation(_ id: SiteID, _ business: BusinessID) async throws -> StoredInvitation?
}

extension LiveRelay: RelayHandle {
    func waitingPulls(_ business: BusinessID) -> Int { core.notifier.waiting(for: business) }
    func heads(_ business: BusinessID) async throws -> [AuthorHead] { try await core.storage.heads(of: business) }
    func compact(_ business: BusinessID) async throws -> Int { try await core.compact(business) }
    func sealedKeys(_ business: BusinessID, recipient: SiteID) async throws -> [[UInt8]] {
        try await core.storage.sealedKeys(of: business, recipient: recipient, keyID: nil)
    }
    func invitation(_ id: SiteID, _ business: BusinessID) async throws -> StoredInvitation? { try await core.storage.invitation(id, business: business) }
}

/// Starts a relay over a fresh storage of `kind`, runs `body` against it, stops it.
func live(_ kind: StorageKind, limits: RelayLimits = RelayLimits(), clock: TestClock = TestClock(), directory: String = temporaryDirectory(),
          _ body: @escaping @Sendable (any RelayHandle) async throws -> Void) async throws {
    try await startLive(try makeStorage(kind, directory: directory), limits: limits, clock: clock, body)
}

private func startLive<S: RelayStorage>(_ storage: S, limits: RelayLimits, clock: TestClock, _ body: @escaping @Sendable (any RelayHandle) async throws -> Void) async throws {
    try await LiveRelay.with(storage, limits: limits, clock: clock) { relay in try await body(relay) }
}
