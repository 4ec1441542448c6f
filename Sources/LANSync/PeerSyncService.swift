import Discovery
import Domain
import Foundation
import Logging
import OutboundHTTP
import Replication
import ServiceLifecycle
import Synchronization

/// What this box knows of its LAN peers, for `edgenode status`, `GET /v1/status` and logs.
public final class PeerDirectory: Sendable {
    public struct Peer: Sendable {
        /// "host:port" for a peer this box connects to; "site:<hex>" for one that only connected to us.
        public var key: String
        public var name: String
        public var address: String?
        /// `mdns`, `static` or `inbound`.
        public var source: String
        public var site: SiteID?
        public var branch: String?
        /// `connecting`, `syncing`, `current`, `unreachable`, `refused`, `duplicate` (the same
        /// box at another address) or `gone` (no longer announced).
        public var state: String
        public var lastSeen: Date?
        public var lastSync: Date?
        public var lastError: String?
        public var sent = 0
        public var received = 0
        public var refused = 0
        public var theirVector: VersionVector?
    }

    private let peers = Mutex<[String: Peer]>([:])
    private let parked = Atomic<Int>(0)

    /// Exchanges from peers that this box's server holds open (long-polls waiting for a change
    /// here). A change committed while one is counted wakes it.
    public var parkedExchanges: Int { parked.load(ordering: .acquiring) }
    func exchangeParked() { parked.add(1, ordering: .releasing) }
    func exchangeUnparked() { parked.subtract(1, ordering: .releasing) }

    public init() {}

    /// Every peer, by name; a box that connected to us and that we also connect to is listed once.
    public var all: [Peer] {
        let list = peers.withLock { Array($0.values) }
        let outbound = Set(list.filter { $0.source != "inbound" }.compactMap(\.site))
        return list.filter { !($0.source == "inbound" && $0.key.hasPrefix("site:") && $0.site.map(outbound.contains) == true) }
            .sorted { ($0.name, $0.key) < ($1.name, $1.key) }
    }

    func update(_ key: String, name: String, source: String, _ body: (inout Peer) -> Void) {
        peers.withLock { peers in
            var peer = peers[key] ?? Peer(key: key, name: name, address: source == "inbound" ? nil : key, source: source, state: "connecting")
            body(&peer)
            peers[key] = peer
        }
    }

    /// The server side saw an exchange from `site`: fold it into the peer we connect to, if any.
    func heardFrom(site: SiteID, address: String?, theirVector: VersionVector?, applied: Int) {
        peers.withLock { peers in
            let key = peers.first(where: { $0.value.site == site && $0.value.source != "inbound" })?.key ?? "site:\(site.hex)"
            var peer = peers[key] ?? Peer(key: key, name: address ?? site.hex, address: address, source: "inbound", site: site, state: "current")
            peer.lastSeen = Date()
            peer.received += applied
            if let theirVector { peer.theirVector = theirVector }
            if peer.source == "inbound" { peer.lastSync = Date() }
            peers[key] = peer
        }
    }

    /// A box presented a certificate we refused.
    func refusedInbound(certificate: [UInt8], reason: PeerAuthError) {
        let site = (try? Certificate.decode(certificate))?.subjectSite
        let key = "refused:\(site?.hex ?? "undecodable")"
        peers.withLock { peers in
            var peer = peers[key] ?? Peer(key: key, name: site.map { "site \($0.hex.prefix(12))" } ?? "unknown box", address: nil, source: "inbound", site: site, state: "refused")
            peer.lastSeen = Date()
            peer.lastError = reason.description
            peer.refused += 1
            peers[key] = peer
        }
    }

    func remove(_ key: String) { peers.withLock { _ = $0.removeValue(forKey: key) } }

    /// Changesets we hold that the peer's last known vector lacks, and the reverse.
    package static func pending(ours: VersionVector, theirs: VersionVector) -> (toPeer: UInt64, fromPeer: UInt64) {
        var toPeer: UInt64 = 0
        var fromPeer: UInt64 = 0
        for (site, sequence) in ours.entries where sequence > theirs[site] { toPeer += sequence - theirs[site] }
        for (site, sequence) in theirs.entries where sequence > ours[site] { fromPeer += sequence - ours[site] }
        return (toPeer, fromPeer)
    }

    /// The latest successful sync with any peer.
    package var lastSync: Date? { all.compactMap(\.lastSync).max() }
}

/// Keeps this box in sync with the business's other boxes on the LAN: the static peers from the
/// configuration and whatever mDNS discovery hears. One worker per address authenticates,
/// exchanges until both sides are equal, then long-polls (and pushes when this box changes),
/// backing off with jitter while the peer is unreachable.
package struct PeerSyncService: Service {
    let shop: Shop
    let directory: PeerDirectory
    let staticPeers: [PeerAddress]
    let discovery: AvahiDiscovery?
    let ownFingerprint: String
    let logger: Logger
    var longPollSeconds = 25
    var batchLimit = 200
    /// The outbound HTTP client (the runtime's).
    var client: any OutboundHTTP = HTTPClientOutbound.shared

    package init(shop: Shop, directory: PeerDirectory, staticPeers: [PeerAddress], discovery: AvahiDiscovery?, ownFingerprint: String, logger: Logger,
                 client: any OutboundHTTP = HTTPClientOutbound.shared) {
        self.client = client
        self.shop = shop
        self.directory = directory
        self.staticPeers = staticPeers
        self.discovery = discovery
        self.ownFingerprint = ownFingerprint
        self.logger = logger
    }

    /// Which addresses are wanted, which run, and which address serves each peer site.
    final class Book: Sendable {
        private let state = Mutex<(wanted: Set<String>, running: Set<String>, claims: [SiteID: String])>(([], [], [:]))
        func want(_ keys: Set<String>) { state.withLock { $0.wanted = keys } }
        func isWanted(_ key: String) -> Bool { state.withLock { $0.wanted.contains(key) } }
        /// Marks `key` running; false if it already was.
        func start(_ key: String) -> Bool { state.withLock { $0.running.insert(key).inserted } }
        /// The worker for `key` may stop only if its address is not wanted (again) by now;
        /// otherwise an address that came back while the worker was stopping would have none.
        func finish(_ key: String) -> Bool {
            state.withLock { state in
                guard !state.wanted.contains(key) else { return false }
                state.running.remove(key)
                return true
            }
        }
        func abandon(_ key: String) { state.withLock { _ = $0.running.remove(key) } }
        /// One worker per peer box, whatever number of addresses it is heard at.
        func claim(_ site: SiteID, for key: String) -> Bool {
            state.withLock { state in
                if let holder = state.claims[site], holder != key, state.running.contains(holder) { return false }
                state.claims[site] = key
                return true
            }
        }
        func release(_ site: SiteID, from key: String) { state.withLock { if $0.claims[site] == key { $0.claims[site] = nil } } }
    }

    package func run() async throws {
        if let discovery {
            do { try discovery.start() } catch { logger.warning("mDNS discovery could not start; static peers still sync", metadata: ["error": "\(error)"]) }
        }
        defer { discovery?.stop() }
        let book = Book()
        let staticKeys = Set(staticPeers.map(\.description))
        book.want(staticKeys)
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for peer in staticPeers where book.start(peer.description) {
                    group.addTask { await worker(key: peer.description, host: peer.host, port: peer.port, name: peer.description, source: "static", book: book) }
                }
                guard let discovery else { return }
                for await endpoints in discovery.updates() {
                    var heard: [String: DiscoveredEndpoint] = [:]
                    for endpoint in endpoints {
                        if endpoint.txt["fp"] == ownFingerprint { continue }
                        guard endpoint.txt["proto"] == "\(PeerHandshake.protocolVersion)" else {
                            logger.debug("mDNS: skipping a box that speaks another sync protocol", metadata: ["peer": "\(endpoint)", "proto": "\(endpoint.txt["proto"] ?? "none")"])
                            continue
                        }
                        heard[PeerAddress(host: endpoint.address, port: endpoint.port).description] = endpoint
                    }
                    book.want(staticKeys.union(heard.keys))
                    for (key, endpoint) in heard where book.start(key) {
                        group.addTask { await worker(key: key, host: endpoint.address, port: endpoint.port, name: endpoint.name, source: "mdns", book: book) }
                    }
                }
            }
        }
        // Nothing (more) to do: stay until the box shuts down; a service that returns early stops the box.
        try? await gracefulShutdown()
    }

    /// Runs `syncLoop` until it ends or the address is no longer announced (checked every
    /// second), which cancels it at once — even in the middle of a long-poll.
    private func worker(key: String, host: String, port: Int, name: String, source: String, book: Book) async {
        repeat {
            if Task.isCancelled {
                book.abandon(key)
                return
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await syncLoop(key: key, host: host, port: port, name: name, source: source, book: book) }
                group.addTask {
                    while book.isWanted(key) {
                        do { try await Task.sleep(for: .seconds(1)) } catch { return }
                    }
                }
                await group.next()
                group.cancelAll()
            }
            if source == "mdns" && !book.isWanted(key) { directory.update(key, name: name, source: source) { $0.state = "gone" } }
        } while !book.finish(key)
    }

    private func syncLoop(key: String, host: String, port: Int, name: String, source: String, book: Book) async {
        directory.update(key, name: name, source: source) { $0.state = "connecting"; $0.lastSeen = source == "mdns" ? Date() : $0.lastSeen }
        var delay = 1.0
        var reportedFailure: String?
        while !Task.isCancelled && book.isWanted(key) {
            do {
                let session = try await PeerSession.open(shop: shop, host: host, port: port, batchLimit: batchLimit, logger: logger, client: client)
                let site = session.peer.subjectSite
                guard book.claim(site, for: key) else {
                    directory.update(key, name: name, source: source) { $0.state = "duplicate"; $0.site = site }
                    try await Task.sleep(for: .seconds(5))
                    continue
                }
                defer { book.release(site, from: key) }
                directory.update(key, name: name, source: source) { peer in
                    peer.site = site
                    peer.branch = session.peer.branch
                    peer.state = "syncing"
                    peer.lastSeen = Date()
                    peer.lastError = nil
                }
                if reportedFailure != nil { logger.notice("peer reachable again", metadata: ["peer": "\(name)", "address": "\(key)"]) }
                reportedFailure = nil
                delay = 1
                while !Task.isCancelled && book.isWanted(key) {
                    let round = try await session.exchangeUntilEqual()
                    record(round, key: key, name: name, source: source, synced: true)
                    if round.sent + round.received > 0 {
                        logger.info("synced with peer", metadata: ["peer": "\(name)", "address": "\(key)", "sent": "\(round.sent)", "received": "\(round.received)"])
                    }
                    if let waited = try await waitForChangesOrPush(session, theirs: round.remoteVector) {
                        record(waited, key: key, name: name, source: source, synced: false)
                    }
                }
            } catch {
                if Task.isCancelled { return }
                if let refusal = error as? PeerSession.Refusal, refusal.kind == "session_expired" { continue }
                let refused = error is PeerAuthError
                let reason = "\(error)"
                directory.update(key, name: name, source: source) { peer in
                    peer.state = refused ? "refused" : "unreachable"
                    peer.lastError = reason
                }
                if reportedFailure != reason {
                    if refused {
                        logger.warning("peer refused", metadata: ["peer": "\(name)", "address": "\(key)", "reason": "\(reason)"])
                    } else if reportedFailure == nil {
                        logger.info("peer unreachable; retrying with backoff", metadata: ["peer": "\(name)", "address": "\(key)", "error": "\(reason)"])
                    }
                    reportedFailure = reason
                }
                let pause = refused ? 60 : delay * Double.random(in: 0.5...1.5)
                delay = min(delay * 2, 60)
                do { try await Task.sleep(for: .milliseconds(Int(pause * 1000))) } catch { return }
            }
        }
    }

    private func record(_ round: PeerSession.Round, key: String, name: String, source: String, synced: Bool) {
        directory.update(key, name: name, source: source) { peer in
            peer.sent += round.sent
            peer.received += round.received
            peer.refused += round.refused.count
            peer.theirVector = round.remoteVector
            peer.lastSeen = Date()
            if synced {
                peer.lastSync = Date()
                peer.state = "current"
            }
        }
    }

    /// Waits until the peer has something new (long-poll) or this box has something the peer
    /// lacks (a local edit, or changesets from a third box: gossip). Returns what the long-poll got.
    private func waitForChangesOrPush(_ session: PeerSession, theirs: VersionVector) async throws -> PeerSession.Round? {
        let changes = shop.changeFeed.changes()
        let store = shop.store
        @Sendable func havePending() -> Bool { !store.versionVector.dominatedBy(theirs) }
        if havePending() { return nil }
        return try await withThrowingTaskGroup(of: PeerSession.Round?.self) { group in
            group.addTask { try await session.waitForChanges(seconds: longPollSeconds) }
            group.addTask {
                for await _ in changes where havePending() { return nil }
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }
}

extension VersionVector {
    /// True if `other` has every changeset this vector counts.
    func dominatedBy(_ other: VersionVector) -> Bool { other.dominates(self) }
}
