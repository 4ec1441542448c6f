import Domain
import Foundation
import LocalAPI
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Replication
import RelayWire
import ServiceLifecycle
import Synchronization

/// What this box knows of its uplink to the cloud relay, for `edgenode status`, `GET /v1/status`
/// and `/metrics`.
public final class UplinkStatus: Sendable {
    public struct Snapshot: Sendable {
        /// `relay.url` as configured.
        public var url: String
        /// `starting`, `connected`, `unreachable`, `refused` (the relay answered with a client
        /// error: revoked, not valid…), `not_registered` (the owner's box has not registered the
        /// business, or this box is not enrolled, yet), `waiting_for_key` (no data key has been
        /// sealed to this box yet) or `misconfigured`.
        public var state = "starting"
        public var lastPush: Date?
        public var lastPull: Date?
        public var lastError: String?
        /// The relay's vector as last heard (each author's newest envelope it stores).
        public var relayVector: VersionVector?
        /// This box's sequence the relay acknowledged storing.
        public var pushedThrough: UInt64?
        public var pushed = 0
        public var pulled = 0
        /// Counts sessions that reached the relay (the backoff starts over after one).
        public var sessions = 0
        /// Joining the business from the relay (snapshot, then changesets); nil unless this box
        /// started with a new replica while the relay held other boxes' data (Bootstrap.swift).
        public var bootstrap: BootstrapProgress?
        /// What the last pull said beyond envelopes: the relay's snapshot, its compaction marks,
        /// whether more envelopes were waiting, and join requests waiting for the owner's box.
        var relaySnapshot: RelaySnapshotHeader?
        var compaction = VersionVector()
        var pullHadMore = true
        var joinRequests = 0
        /// Whether the log has said that the relay refuses this box's clock (said once per episode).
        var clockReported = false
        public var connected: Bool { state == "connected" }
    }

    private let value: Mutex<Snapshot>
    /// The relay's clock as measured from its replies; the uplink signs with it (RelayTime).
    public let time: RelayTime

    public init(url: String, time: RelayTime = RelayTime()) {
        value = Mutex(Snapshot(url: url))
        self.time = time
    }

    /// The health warning while this box's clock is off by more than the relay's window, or nil.
    public var clockWarning: String? {
        guard time.isBeyondWindow, let offset = time.offset else { return nil }
        return "the relay refuses this box's clock: \(RelayTime.describe(offset: offset)), beyond its ±\(RelayTime.windowMilliseconds / 1000) s; "
            + "the box signs its relay requests with the relay's time meanwhile; fix the box's clock (NTP)"
    }

    public var current: Snapshot { value.withLock { $0 } }

    func update<Result>(_ body: (inout Snapshot) -> Result) -> Result { value.withLock { body(&$0) } }

    /// Changesets of this box the relay does not hold yet, and changesets the relay holds that this
    /// box lacks; nil when not known (never reached the relay).
    public func pending(ours: VersionVector, site: SiteID) -> (push: UInt64?, pull: UInt64?) {
        let snapshot = current
        guard let relay = snapshot.relayVector else { return (nil, nil) }
        let push = ours[site] > relay[site] ? ours[site] - relay[site] : 0
        var pull: UInt64 = 0
        for (author, sequence) in relay.entries where author != site && sequence > ours[author] { pull += sequence - ours[author] }
        return (push, pull)
    }

    func statusValue(ours: VersionVector, site: SiteID) -> StatusValue {
        func time(_ date: Date?) -> StatusValue {
            date.map { .string(Instant(milliseconds: Int64($0.timeIntervalSince1970 * 1000)).description) } ?? .null
        }
        let snapshot = current
        let counts = pending(ours: ours, site: site)
        // The relay's clock minus this box's, from the Date of its last reply (RelayTime).
        var offsetSeconds = StatusValue.null
        if let offset = self.time.offset {
            let rounded: Int64 = offset >= 0 ? offset + 500 : offset - 500
            offsetSeconds = .integer(rounded / 1000)
        }
        var warning = StatusValue.null
        if let text = clockWarning { warning = .string(text) }
        return .object([
            "url": .string(snapshot.url),
            "state": .string(snapshot.state),
            "connected": .bool(snapshot.connected),
            "last_push": time(snapshot.lastPush),
            "last_pull": time(snapshot.lastPull),
            "last_error": snapshot.lastError.map { .string($0) } ?? .null,
            "pending_push": counts.push.map { .integer(Int64($0)) } ?? .null,
            "pending_pull": counts.pull.map { .integer(Int64($0)) } ?? .null,
            "pushed": .integer(Int64(snapshot.pushed)),
            "pulled": .integer(Int64(snapshot.pulled)),
            "bootstrap": snapshot.bootstrap?.statusValue ?? .null,
            "clock_offset_seconds": offsetSeconds,
            "clock_warning": warning,
        ])
    }
}

/// `relay.url` split for the HTTP client: `http://host[:port][/base]` or `https://…` (TLS,
/// verified against the system's trust roots or `caFile`, a PEM file of trusted certificates).
struct RelayEndpoint: Sendable, Equatable, CustomStringConvertible {
    let host: String
    let port: Int
    let basePath: String
    let isTLS: Bool
    /// Trusted roots for `https` instead of the system's (a private CA), or nil.
    var caFile: String?

    init?(url: String, caFile: String? = nil) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty, components.query == nil, components.fragment == nil,
              components.user == nil else { return nil }
        isTLS = scheme == "https"
        let port = components.port ?? (isTLS ? 443 : 80)
        guard (1...65535).contains(port) else { return nil }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
        self.caFile = caFile
    }

    /// The configured relay (`url`, and `ca_file` when set); nil when the URL is not one.
    init?(_ relay: NodeConfiguration.Relay) {
        self.init(url: relay.url, caFile: relay.caFile.isEmpty ? nil : relay.caFile)
    }

    var description: String { "\(isTLS ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)\(basePath)" }

    /// The HTTP client for this relay (with TLS for `https`).
    /// - Throws: `PeerHTTP.Failure` when the trusted roots cannot be loaded.
    func http() throws -> PeerHTTP {
        var http = PeerHTTP(host: host, port: port)
        if isTLS { http.tls = try RelayTLS.context(caFile: caFile) }
        return http
    }
}

/// Signed requests to the relay (docs/relay-protocol.md §4, §5), one connection each.
struct RelayClient: Sendable {
    let endpoint: RelayEndpoint
    let identity: SigningKey
    let business: BusinessID
    /// The relay's clock as measured from its replies: requests are signed with it (RelayTime).
    var time = RelayTime()

    /// A problem answer from the relay (§10).
    struct Problem: Error, CustomStringConvertible {
        let status: Int
        let kind: String
        let detail: String
        var description: String { "the relay answered \(status) \(kind): \(detail)" }
        /// The relay's own trouble (or a limit): retry with backoff, not a refusal.
        var isTransient: Bool { status >= 500 || status == 429 }
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Sends a request under `/v1/businesses/{business}` and returns the body of a 2xx answer.
    func send(_ method: HTTPMethod, _ relative: String, query: String = "", json: [UInt8] = [], timeout: TimeAmount = .seconds(30)) async throws -> [UInt8] {
        try await exchange(method, relative, query: query, body: json, contentType: "application/json", timeout: timeout)
    }

    /// Signs and sends a request under `/v1/businesses/{business}`; returns the body of a 2xx
    /// answer. Each reply's `Date` updates `time`; a `stale_request` refusal is sent once more at
    /// once when the offset it measured changes the timestamp (RelayTime).
    func exchange(_ method: HTTPMethod, _ relative: String, query: String = "", body: [UInt8], contentType: String, timeout: TimeAmount,
                  maxResponseBytes: Int? = nil, progress: (@Sendable (Int) -> Void)? = nil) async throws -> [UInt8] {
        let path = endpoint.basePath + "/v1/businesses/\(business.hex)" + relative
        var http = try endpoint.http()
        if let maxResponseBytes { http.maxResponseBytes = maxResponseBytes }
        var attempt = 0
        while true {
            attempt += 1
            let correction = time.correction
            let signature = RelayRequestSignature.sign(method: method.rawValue, path: path, query: query, body: body, business: business,
                                                       key: identity, timestamp: time.now())
            let reply = try await http.send(method, query.isEmpty ? path : path + "?" + query, body: body,
                                            headers: [("Authorization", signature.headerValue)], contentType: contentType, timeout: timeout, progress: progress)
            time.observe(dateHeader: reply.date, receivedAt: time.local())
            if (200..<300).contains(reply.status) { return reply.body }
            let problem = Self.problem(from: reply, time: time)
            if problem.kind == "stale_request", attempt == 1, time.correction != correction { continue }
            throw problem
        }
    }

    /// Registers the business of `owner` (§5.1: unsigned, with a proof of possession of the
    /// owner key); registering again is harmless. Returns whether it was new. A proof refused as
    /// `stale_request` is made again once with the relay's time (RelayTime).
    static func register(at endpoint: RelayEndpoint, owner: SigningKey, time: RelayTime = RelayTime()) async throws -> Bool {
        var attempt = 0
        while true {
            attempt += 1
            let correction = time.correction
            let now = time.now()
            let body = RelayJSON.RegisterRequest(ownerKey: owner.publicKey.hex, timestamp: now,
                                    signature: RelayRegistrationProof.sign(owner: owner, timestamp: now).hexString)
            let reply = try await endpoint.http()
                .post(endpoint.basePath + "/v1/businesses", body: Array(try encoder.encode(body)), timeout: .seconds(30))
            time.observe(dateHeader: reply.date, receivedAt: time.local())
            if reply.status == 200 || reply.status == 201 { return reply.status == 201 }
            let problem = problem(from: reply, time: time)
            if problem.kind == "stale_request", attempt == 1, time.correction != correction { continue }
            throw problem
        }
    }

    /// The problem document of a refusal; a `stale_request` says how far off this box's clock is.
    static func problem(from reply: PeerHTTP.Reply, time: RelayTime? = nil) -> Problem {
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any]
        let type = object?["type"] as? String ?? ""
        let kind = type.hasPrefix("urn:edgenode:problem:") ? String(type.dropFirst(21)) : "unknown"
        var detail = object?["detail"] as? String ?? String(reply.text.prefix(200))
        if kind == "stale_request" {
            let offset = time?.offset.map { RelayTime.describe(offset: $0) } ?? "off by an unknown amount (the relay sent no Date header)"
            detail = "the relay refuses this box's clock: \(offset); fix the box's clock (NTP). \(detail)"
        }
        return Problem(status: reply.status, kind: kind, detail: detail)
    }

    func send<Body: Encodable, Reply: Decodable>(_ relative: String, _ body: Body, as: Reply.Type, timeout: TimeAmount = .seconds(30)) async throws -> Reply {
        let bytes = try await send(.POST, relative, json: Array(try Self.encoder.encode(body)), timeout: timeout)
        return try Self.decoder.decode(Reply.self, from: Data(bytes))
    }

    /// The bodies are RelayJSON's (RelayWire), the same the relay reads and writes.
    static var encoder: JSONEncoder { RelayJSON.requestEncoder }
    static var decoder: JSONDecoder { RelayJSON.decoder }

    /// A reply whose body the caller does not need.
    struct Ignored: Codable {}
}

/// The files the uplink keeps in the data directory: the data keyring (0600), this box's
/// envelope chain head, and the outbox of sealed envelopes not yet acknowledged by the relay.
struct UplinkFiles: Sendable {
    let directory: ReplicaDirectory
    var keyringPath: String { directory.path + "/relay-keyring" }
    var chainPath: String { directory.path + "/relay-chain" }
    var outboxPath: String { directory.path + "/relay-outbox" }
    static let keyringMagic = Array("EDKR".utf8)
    static let chainMagic = Array("EDCH".utf8)

    /// The keyring: "EDKR", version 1, then per generation a u32be id and the 32 key bytes.
    func loadKeyring() throws -> DataKeyring {
        guard FileManager.default.fileExists(atPath: keyringPath) else { return DataKeyring() }
        let bytes = try directory.readFile(keyringPath)
        guard bytes.count >= 5, Array(bytes[0..<4]) == Self.keyringMagic, bytes[4] == 1, (bytes.count - 5) % 36 == 0 else {
            throw UplinkError("\(keyringPath) is not a data keyring; move it away and let the box fetch its key from the relay again")
        }
        var keys: [DataKey] = []
        var offset = 5
        while offset < bytes.count {
            let id = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
            guard id >= 1, let key = DataKey(id: DataKeyID(id), bytes: Array(bytes[(offset + 4)..<(offset + 36)])) else {
                throw UplinkError("\(keyringPath) holds a key of generation 0")
            }
            keys.append(key)
            offset += 36
        }
        return DataKeyring(keys)
    }

    func save(_ keyring: DataKeyring) throws {
        var bytes = Self.keyringMagic + [1]
        for key in keyring.keys.values.sorted(by: { $0.id < $1.id }) {
            let id = key.id.rawValue
            bytes += [UInt8(id >> 24 & 0xff), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff)] + key.bytes
        }
        try directory.writeSecret(bytes, to: keyringPath)
    }

    var rotationsPath: String { directory.path + "/relay-key-rotations" }
    static let rotationsMagic = Array("EDKV".utf8)

    /// The revoked boxes the current data-key generation was made after (owner's box only):
    /// "EDKV", version 1, then 16-byte site ids.
    func loadRotations() throws -> Set<SiteID> {
        guard FileManager.default.fileExists(atPath: rotationsPath) else { return [] }
        let bytes = try directory.readFile(rotationsPath)
        guard bytes.count >= 5, Array(bytes[0..<4]) == Self.rotationsMagic, bytes[4] == 1, (bytes.count - 5) % 16 == 0 else {
            throw UplinkError("\(rotationsPath) is not a record of data-key rotations; delete it and the box rotates the key once more")
        }
        return Set(stride(from: 5, to: bytes.count, by: 16).compactMap { SiteID(bytes: Array(bytes[$0..<($0 + 16)])) })
    }

    func saveRotations(_ sites: Set<SiteID>) throws {
        try directory.writeFile(Self.rotationsMagic + [1] + sites.sorted().flatMap(\.bytes), to: rotationsPath, mode: 0o600)
    }

    /// The last envelope this box sealed: its sequence and hash ("EDCH", u64be, 32 bytes).
    func loadChain() throws -> (sequence: UInt64, hash: [UInt8]) {
        guard FileManager.default.fileExists(atPath: chainPath) else { return (0, RelayEnvelope.noPreviousHash) }
        let bytes = try directory.readFile(chainPath)
        guard bytes.count == 44, Array(bytes[0..<4]) == Self.chainMagic else { throw UplinkError("\(chainPath) is not an envelope chain head") }
        let sequence = bytes[4..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return (sequence, Array(bytes[12..<44]))
    }

    func saveChain(sequence: UInt64, hash: [UInt8]) throws {
        var bytes = Self.chainMagic
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: sequence >> UInt64(shift))) }
        try directory.writeFile(bytes + hash, to: chainPath, mode: 0o600)
    }

    func outboxFile(_ sequence: UInt64) -> String { outboxPath + "/" + String(format: "%020llu.envelope", sequence) }

    /// The sealed envelopes waiting to be pushed, oldest first.
    func outbox(limit: Int) throws -> [(sequence: UInt64, envelope: RelayEnvelope)] {
        guard FileManager.default.fileExists(atPath: outboxPath) else { return [] }
        let names = try FileManager.default.contentsOfDirectory(atPath: outboxPath).filter { $0.hasSuffix(".envelope") }.sorted().prefix(limit)
        return try names.compactMap { name in
            guard let sequence = UInt64(name.dropLast(9)) else { return nil }
            let envelope = try RelayEnvelope.decode(try directory.readFile(outboxPath + "/" + name), maxBytes: .max)
            return (sequence, envelope)
        }
    }

    func addToOutbox(_ envelope: RelayEnvelope) throws {
        try FileManager.default.createDirectory(atPath: outboxPath, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try directory.writeFile(envelope.bytes, to: outboxFile(envelope.sequence), mode: 0o600)
    }

    func removeFromOutbox(_ sequence: UInt64) { try? FileManager.default.removeItem(atPath: outboxFile(sequence)) }
}

struct UplinkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Keeps this box in step with the business's other boxes through the relay
/// (docs/relay-protocol.md §11): enrols the box, obtains the data key, pushes this box's own
/// changesets as encrypted envelopes (each box pushes its own: only an author can seal), pulls
/// the others' with long-poll and applies them, and acknowledges what it holds. While the relay is
/// unreachable it retries with exponential backoff and jitter.
struct UplinkService: Service {
    let shop: Shop
    let files: UplinkFiles
    let endpoint: RelayEndpoint
    let status: UplinkStatus
    let logger: Logger
    var waitSeconds = 25
    var batchLimit = 200
    /// The most bytes of envelopes in one push (the relay takes 16 MiB).
    var batchBytes = 8 << 20
    /// The changesets past the relay's snapshot after which a caught-up box offers a new one (Bootstrap.swift).
    var snapshotEveryChangesets: UInt64 = 1000

    var store: ReplicaStore { shop.store }

    func run() async throws {
        var delay = 1.0
        var reportedFailure: String?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let sessionsBefore = status.current.sessions
            do {
                try await cancelWhenGracefulShutdown { try await session() }
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                reportClock()
                if status.current.sessions > sessionsBefore { delay = 1 }
                let reason = "\(error)"
                let problem = error as? RelayClient.Problem
                // Not registered (or this box not enrolled) yet: the owner's box registers the
                // business when it first reaches the relay, so ask again soon, as for the key.
                let unregistered = problem?.kind == "unknown_principal"
                let refused = !unregistered && (problem.map { !$0.isTransient } ?? false)
                let waiting = error is WaitingForKey || unregistered
                status.update { snapshot in
                    snapshot.state = unregistered ? "not_registered" : error is WaitingForKey ? "waiting_for_key" : refused ? "refused" : "unreachable"
                    snapshot.lastError = reason
                }
                if reportedFailure != reason {
                    if refused {
                        logger.warning("the relay refused this box; retrying later", metadata: ["relay": "\(endpoint)", "reason": "\(reason)"])
                    } else {
                        logger.info("relay unavailable; retrying with backoff", metadata: ["relay": "\(endpoint)", "error": "\(reason)"])
                    }
                    reportedFailure = reason
                }
                // A box waiting for its data key or for its business to be registered asks again every
                // few seconds; a refusal waits longer.
                let pause = (waiting ? min(delay, 5) : refused ? max(delay, 30) : delay) * Double.random(in: 0.5...1.5)
                delay = min(delay * 2, 60)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(pause * 1000))) }
            }
        }
    }

    /// Logs (once per episode) that this box's clock is beyond the relay's window, and when it
    /// is back within it.
    private func reportClock() {
        let warning = status.clockWarning
        let report: Bool = status.update { snapshot in
            guard snapshot.clockReported != (warning != nil) else { return false }
            snapshot.clockReported = warning != nil
            return true
        }
        guard report else { return }
        if let warning {
            logger.warning("\(warning)", metadata: ["relay": "\(endpoint)", "offset_ms": "\(status.time.offset ?? 0)"])
        } else {
            logger.notice("this box's clock is within the relay's window again", metadata: ["relay": "\(endpoint)", "offset_ms": "\(status.time.offset ?? 0)"])
        }
    }

    struct WaitingForKey: Error, CustomStringConvertible {
        var description: String { "no data key has been sealed to this box at the relay yet (a box that holds it, or the owner's box, seals it)" }
    }

    /// One connected session: set-up, then push and pull until something fails.
    private func session() async throws {
        let client = RelayClient(endpoint: endpoint, identity: store.identity, business: store.business, time: status.time)
        // The box that holds the owner key registers the business (§5.1), so a new business
        // needs no step of its own at the relay; every other box waits until that has happened.
        if files.directory.hasOwnerKey, try await RelayClient.register(at: endpoint, owner: try files.directory.loadOwnerKey(), time: status.time) {
            logger.notice("registered the business at the relay", metadata: ["relay": "\(endpoint)", "business": "\(store.business)"])
        }
        try await enrol(client)
        var forwarded = Set<[UInt8]>()
        try await forwardRevocations(client, forwarded: &forwarded)
        var keyring = try await obtainKey(client)
        // A box that does not hold the owner key has just fetched its keys; the owner's box still
        // checks whether a revocation learnt while it was offline needs a rotation.
        var knownRevocations = files.directory.hasOwnerKey ? [] : revokedBoxes()
        keyring = try await followRevocations(client, keyring: keyring, known: &knownRevocations)
        var delivered: Set<String> = []
        try await distributeKey(client, keyring: keyring, delivered: &delivered)
        status.update { snapshot in
            snapshot.state = "connected"
            snapshot.lastError = nil
            snapshot.sessions += 1
        }
        logger.notice("connected to the relay", metadata: ["relay": "\(endpoint)"])
        var work = RelaySessionWork()
        try await bootstrapIfNew(client, keyring: keyring)
        try await acknowledge(client)
        try await answerJoinRequests(&work)
        var skipped = VersionVector()
        // What the last pull's answer said of the business's membership and join requests: a
        // change after it (a new box to seal the key to, a join request) ends the next long-poll.
        var seen = RelaySeen()
        var missingGeneration = false
        var refetchFound = true
        while true {
            try Task.checkCancellation()
            reportClock()
            // The relay hears of a revocation before any key rotated for it is sealed to anyone,
            // so it refuses to hand the revoked box that key (or anything else) from then on.
            try await forwardRevocations(client, forwarded: &forwarded)
            keyring = try await followRevocations(client, keyring: keyring, known: &knownRevocations)
            if missingGeneration {
                // An envelope named a generation this box lacks: the relay may hold it sealed to us.
                let before = keyring
                keyring = try await obtainKey(client)
                refetchFound = keyring != before
            }
            try await distributeKey(client, keyring: keyring, delivered: &delivered)
            try await sealPending(keyring: keyring)
            try await pushOutbox(client)
            // Subscribe before looking, so a write in between still ends the long-poll.
            let changes = shop.changeFeed.changes()
            let sealedThrough = try files.loadChain().sequence
            let ownPending = { @Sendable [store] in store.versionVector[store.site] > sealedThrough }
            let wait = ownPending() ? 0 : waitSeconds
            // Long-poll, abandoned as soon as this box has something of its own to push.
            let floor = skipped
            let lastSeen = seen
            let currentKeyring = keyring
            // Had a refetch brought nothing, envelopes of a generation this box lacks are skipped
            // for the session rather than asked for again and again.
            let skipMissing = missingGeneration && !refetchFound
            let pullWait = missingGeneration ? 0 : wait
            let pulled: Pulled? = try await withThrowingTaskGroup(of: Pulled?.self) { group in
                group.addTask {
                    try await pull(client, keyring: currentKeyring, wait: pullWait, skipped: floor, skipMissingGenerations: skipMissing, seen: lastSeen)
                }
                if wait > 0 {
                    group.addTask {
                        for await _ in changes where ownPending() { return nil }
                        return nil
                    }
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            missingGeneration = false
            if let pulled {
                seen = pulled.seen
                skipped = pulled.delivered
                missingGeneration = pulled.missingGeneration
                if pulled.count > 0 { try await acknowledge(client) }
                try await afterPull(client, keyring: keyring, work: &work)
            }
        }
    }

    /// Enrols this box's certificate (the box may enrol itself, §5.2).
    private func enrol(_ client: RelayClient) async throws {
        guard let certificate = store.trustStore.certificates[store.site]?.last else { throw UplinkError("this box has no certificate") }
        _ = try await client.send("/certificates", RelayJSON.CertificateRequest(certificate: Data(certificate.encoded).base64EncodedString()),
                                  as: RelayClient.Ignored.self)
    }

    /// The keyring in the data directory, completed with what the relay holds sealed to this box.
    /// With none anywhere, the box that holds the owner key (the first box) creates generation 1;
    /// any other box waits until a box that holds the key seals it to it.
    private func obtainKey(_ client: RelayClient) async throws -> DataKeyring {
        var keyring = try files.loadKeyring()
        let body = try await client.send(.GET, "/data-keys")
        let reply = try RelayJSON.decoder.decode(RelayJSON.SealedKeysReply.self, from: Data(body))
        let trust = store.trustStore
        let now = RelayClient.now()
        var changed = false
        for text in reply.sealedKeys {
            do {
                guard let bytes = Data(base64Encoded: text) else { throw UplinkError("not base64") }
                let sealed = try SealedDataKey.decode(Array(bytes))
                guard sealed.business == store.business else { throw UplinkError("sealed for another business") }
                // Only the owner or a box this replica trusts may hand it a key (relay-protocol §3.1).
                guard sealed.sealer == trust.ownerKey || (try? trust.authorKey(for: sealed.sealerSite, at: now)) == sealed.sealer else {
                    throw UplinkError("sealed by \(sealed.sealerSite), which this box does not trust")
                }
                let key = try sealed.open(with: store.identity)
                if keyring[key.id] == nil {
                    try keyring.insert(key)
                    changed = true
                }
            } catch {
                logger.warning("ignoring a sealed data key from the relay", metadata: ["reason": "\(error)"])
            }
        }
        if keyring.current == nil {
            guard files.directory.hasOwnerKey else { throw WaitingForKey() }
            let key = keyring.rotate()
            changed = true
            logger.notice("created the business's data key", metadata: ["generation": "\(key.id)"])
        }
        if changed { try files.save(keyring) }
        return keyring
    }

    /// Posts every revocation this replica holds that the relay has not been given in this
    /// session (§5.3; revocations replicate, so any box forwards them): the relay then refuses the
    /// revoked box and deletes the keys sealed to it.
    private func forwardRevocations(_ client: RelayClient, forwarded: inout Set<[UInt8]>) async throws {
        for revocation in store.trustStore.revocations.values.joined() where !forwarded.contains(revocation.encoded) {
            _ = try await client.send("/revocations", RelayJSON.RevocationRequest(revocation: Data(revocation.encoded).base64EncodedString()),
                                      as: RelayClient.Ignored.self)
            forwarded.insert(revocation.encoded)
            logger.info("forwarded a revocation to the relay", metadata: ["site": "\(revocation.subjectSite.hex.prefix(12))"])
        }
    }

    /// The boxes (sites with a box certificate) this replica knows to be revoked.
    private func revokedBoxes() -> Set<SiteID> {
        let trust = store.trustStore
        return Set(trust.revocations.keys.filter { site in trust.certificates[site]?.contains { $0.role == "box" } ?? false })
    }

    /// After a box is revoked, what is written afterwards must not be readable with the key it
    /// held. The box that holds the owner key rotates: a new generation, which `distributeKey`
    /// seals only to the boxes that remain and `sealPending` encrypts with from then on. It
    /// records which revocations the rotation covers (`relay-key-rotations`), so it rotates once
    /// per revocation, also across restarts. Every other box asks the relay for new generations
    /// when it learns of a revocation (and, in `session`, when an envelope names a generation it
    /// lacks).
    private func followRevocations(_ client: RelayClient, keyring: DataKeyring, known: inout Set<SiteID>) async throws -> DataKeyring {
        let revoked = revokedBoxes()
        guard !revoked.isSubset(of: known) else { return keyring }
        var keyring = keyring
        if files.directory.hasOwnerKey {
            let covered = try files.loadRotations()
            if !revoked.isSubset(of: covered) {
                // Another box holding the owner key may have rotated already: start from the relay's.
                keyring = try await obtainKey(client)
                let key = keyring.rotate()
                try files.save(keyring)
                try files.saveRotations(revoked)
                logger.notice("rotated the data key after a box was revoked", metadata: [
                    "generation": "\(key.id)", "revoked": "\(revoked.subtracting(covered).map { String($0.hex.prefix(12)) }.sorted().joined(separator: ","))",
                ])
            }
        } else {
            keyring = try await obtainKey(client)
        }
        known = revoked
        return keyring
    }

    /// Seals every generation this box holds to itself and to every box it knows (certificates
    /// replicate), so that a box that joins finds its key at the relay. A box the relay does not
    /// know yet is tried again on the next round; `delivered` remembers what was uploaded.
    private func distributeKey(_ client: RelayClient, keyring: DataKeyring, delivered: inout Set<String>) async throws {
        let trust = store.trustStore
        let now = RelayClient.now()
        // The box that holds the owner key seals as the owner: every box trusts the owner's seal,
        // even one that has not heard of this box yet.
        let sealer = files.directory.hasOwnerKey ? try files.directory.loadOwnerKey() : store.identity
        let sealingClient = RelayClient(endpoint: client.endpoint, identity: sealer, business: client.business, time: client.time)
        for (site, certificates) in trust.certificates.sorted(by: { $0.key < $1.key }) where !trust.isRevoked(site) {
            guard let certificate = certificates.last(where: { $0.isValid(at: now) && $0.role == "box" }) ?? (site == store.site ? certificates.last : nil) else { continue }
            for key in keyring.keys.values.sorted(by: { $0.id < $1.id }) where !delivered.contains("\(site.hex)/\(key.id)") {
                let sealed = try SealedDataKey.seal(key, business: store.business, to: certificate.subjectKey, sealer: sealer)
                do {
                    _ = try await sealingClient.send("/data-keys", RelayJSON.SealedKeyRequest(sealedKey: Data(sealed.bytes).base64EncodedString()),
                                              as: RelayClient.Ignored.self)
                    delivered.insert("\(site.hex)/\(key.id)")
                    if site != store.site { logger.info("sealed the data key to a box at the relay", metadata: ["site": "\(site.hex.prefix(12))", "generation": "\(key.id)"]) }
                } catch let problem as RelayClient.Problem where !problem.isTransient && site != store.site {
                    logger.debug("could not seal the data key to a box yet", metadata: ["site": "\(site.hex.prefix(12))", "reason": "\(problem)"])
                }
            }
        }
    }

    /// Seals this box's changesets that have no envelope yet into the outbox (at most one batch).
    private func sealPending(keyring: DataKeyring) async throws {
        guard let dataKey = keyring.current else { return }
        let store = self.store
        let files = self.files
        let limit = batchLimit
        let time = status.time
        try await NIOThreadPool.singleton.runIfActive {
            var (sequence, hash) = try files.loadChain()
            let newest = store.versionVector[store.site]
            guard newest > sequence else { return }
            var sealed = 0
            while sequence < newest && sealed < limit {
                guard let bytes = try store.changesetBytes(author: store.site, sequence: sequence + 1) else {
                    throw UplinkError("this box's changeset \(sequence + 1) is no longer in its log; it cannot be sent to the relay")
                }
                let changeset = try SignedChangeset.decode(bytes, limits: .init(maxBytes: .max))
                let envelope = try RelayEnvelope.seal(changeset, author: store.identity, previousHash: hash, dataKey: dataKey, sealedAt: time.now())
                // On disk before the chain head moves, so a crash never seals a sequence twice.
                try files.addToOutbox(envelope)
                sequence = envelope.sequence
                hash = envelope.hash
                sealed += 1
            }
            try files.saveChain(sequence: sequence, hash: hash)
        }
    }

    /// Pushes the outbox in bounded batches; what the relay stored (or already had) leaves it.
    private func pushOutbox(_ client: RelayClient) async throws {
        while true {
            var batch = try files.outbox(limit: batchLimit)
            guard !batch.isEmpty else { return }
            var bytes = 0
            batch = Array(batch.prefix { entry in
                bytes += entry.envelope.bytes.count
                return bytes <= batchBytes
            })
            if batch.isEmpty { batch = Array(try files.outbox(limit: 1)) }
            let reply = try await client.send("/envelopes", RelayJSON.PushRequest(envelopes: batch.map { Data($0.envelope.bytes).base64EncodedString() }),
                                              as: RelayJSON.PushReply.self, timeout: .seconds(120))
            var accepted = 0
            var refusal: String?
            for result in reply.results where batch.indices.contains(result.index) {
                let sequence = batch[result.index].sequence
                if result.status == "stored" || result.status == "duplicate" {
                    files.removeFromOutbox(sequence)
                    accepted += 1
                    status.update { $0.pushedThrough = max($0.pushedThrough ?? 0, sequence) }
                } else if refusal == nil {
                    refusal = "envelope \(sequence): \(result.reason ?? "refused") \(result.detail ?? "")"
                }
            }
            let pushedThrough = status.current.pushedThrough ?? 0
            status.update { snapshot in
                snapshot.pushed += accepted
                snapshot.lastPush = Date()
                var entries = snapshot.relayVector?.entries ?? [:]
                entries[store.site] = max(entries[store.site] ?? 0, pushedThrough)
                snapshot.relayVector = VersionVector(entries)
            }
            if accepted > 0 { logger.info("pushed changesets to the relay", metadata: ["count": "\(accepted)"]) }
            if let refusal { throw UplinkError("the relay refused \(refusal)") }
        }
    }

    /// One pull (long-poll when `wait` > 0): opens the envelopes, applies their changesets.
    /// - Returns: how many envelopes arrived, and the newest envelope seen per author (those that
    ///   could not be opened are not asked for again in this session).
    struct Pulled: Sendable {
        var count: Int
        var delivered: VersionVector
        /// An envelope named a data-key generation this box does not hold (it and the author's
        /// later envelopes were left to be pulled again once the box has the key).
        var missingGeneration = false
        /// The relay's counts in this answer, for the next pull.
        var seen = RelaySeen()
    }

    /// The business's membership and waiting join requests as the last pull's answer gave them.
    struct RelaySeen: Sendable, Equatable {
        var membership: Int?
        var joinRequests: Int?
    }

    private func pull(_ client: RelayClient, keyring: DataKeyring, wait: Int, skipped: VersionVector, skipMissingGenerations: Bool,
                      seen: RelaySeen) async throws -> Pulled {
        var entries = store.versionVector.entries
        for (author, sequence) in skipped.entries where sequence > entries[author] ?? 0 { entries[author] = sequence }
        let vector = VersionVector(entries)
        let reply = try await client.send("/pull", RelayJSON.PullRequest(vector: Data(vector.encode()).base64EncodedString(), limit: batchLimit, waitSeconds: wait,
                                                                    membership: seen.membership, joinRequests: seen.joinRequests),
                                          as: RelayJSON.PullReply.self, timeout: .seconds(Int64(wait) + 30))
        let available = VersionVector(base64: reply.available)
        var batch: [[UInt8]] = []
        var delivered = skipped.entries
        var waitingForKey = Set<SiteID>()
        let trust = store.trustStore
        for text in reply.envelopes {
            do {
                guard let bytes = Data(base64Encoded: text) else { throw UplinkError("an envelope is not base64") }
                let envelope = try RelayEnvelope.decode(Array(bytes), maxBytes: .max)
                guard envelope.business == store.business else { throw UplinkError("an envelope of another business") }
                if waitingForKey.contains(envelope.author) { continue }
                if keyring[envelope.keyID] == nil && !skipMissingGenerations {
                    waitingForKey.insert(envelope.author)
                    continue
                }
                delivered[envelope.author] = max(delivered[envelope.author] ?? 0, envelope.sequence)
                let changeset: SignedChangeset
                if let key = try? trust.authorKey(for: envelope.author, at: envelope.sealedAt) {
                    changeset = try envelope.openChangeset(authorKey: key, keyring: keyring)
                } else {
                    // An author this box has not heard of yet (its certificate arrives in its
                    // changesets): the data key authenticates the payload, and applying it checks
                    // the changeset's own signature against the author's certificate.
                    let payload = try envelope.open(with: keyring)
                    changeset = try SignedChangeset.decode(payload, limits: .standard)
                    guard changeset.changeset.business == envelope.business, changeset.changeset.author == envelope.author,
                          changeset.changeset.sequence == envelope.sequence else {
                        throw UplinkError("the changeset inside names another author or sequence than its envelope")
                    }
                }
                batch.append(changeset.bytes)
            } catch {
                logger.warning("ignoring an envelope from the relay", metadata: ["reason": "\(error)"])
            }
        }
        if !batch.isEmpty {
            let shop = self.shop
            let changesets = batch
            let report = try await NIOThreadPool.singleton.runIfActive { try shop.apply(changesets) }
            for rejection in report.rejected { logger.warning("refused a changeset from the relay", metadata: ["reason": "\(rejection)"]) }
            if !report.applied.isEmpty { logger.info("applied changesets from the relay", metadata: ["count": "\(report.applied.count)"]) }
        }
        for compacted in reply.compacted ?? [] where compacted.through > store.versionVector.entries.first(where: { $0.key.hex == compacted.author })?.value ?? 0 {
            logger.warning("the relay compacted changesets this box lacks; it needs a snapshot from another box",
                           metadata: ["author": "\(compacted.author.prefix(12))", "through": "\(compacted.through)"])
        }
        status.update { snapshot in
            snapshot.lastPull = Date()
            snapshot.pulled += reply.envelopes.count
            if let available { snapshot.relayVector = available }
            snapshot.pullHadMore = reply.more
            snapshot.relaySnapshot = reply.snapshot.flatMap(RelaySnapshotHeader.init)
            snapshot.compaction = reply.compaction.flatMap(VersionVector.init(base64:)) ?? VersionVector()
            snapshot.joinRequests = reply.joinRequests ?? 0
        }
        if !waitingForKey.isEmpty {
            logger.info("envelopes of a data-key generation this box lacks; asking the relay for the key", metadata: ["authors": "\(waitingForKey.count)"])
        }
        return Pulled(count: reply.envelopes.count, delivered: VersionVector(delivered), missingGeneration: !waitingForKey.isEmpty,
                      seen: RelaySeen(membership: reply.membership, joinRequests: reply.joinRequests))
    }

    /// Tells the relay what this box holds (so it can compact what every box has).
    private func acknowledge(_ client: RelayClient) async throws {
        _ = try await client.send("/acknowledgements", RelayJSON.AcknowledgementRequest(vector: Data(store.versionVector.encode()).base64EncodedString()),
                                  as: RelayClient.Ignored.self)
    }
}
