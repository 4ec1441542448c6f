import Domain
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OutboundHTTP
import Replication
import RelayWire
import Synchronization

/// How far a box that joined is in fetching the business from the relay
/// (docs/relay-protocol.md §13.3): first the relay's snapshot (if it has one), then the
/// changesets after it, up to what the relay held when the bootstrap began.
public struct BootstrapProgress: Sendable, Equatable {
    public enum Phase: String, Sendable {
        case snapshot, changesets, done
    }
    public var phase: Phase
    public var startedAt: Date
    public var finishedAt: Date?
    /// Bytes of the sealed snapshot received, and its size as the relay reported it (0 and nil
    /// when the relay had no snapshot).
    public var snapshotBytes = 0
    public var snapshotTotal: Int?
    /// Changesets of other boxes received since the snapshot, and how many the relay held then.
    public var changesets: UInt64 = 0
    public var changesetsTotal: UInt64 = 0
    /// The vector the changesets phase started from and the relay's vector it aims at.
    var base = VersionVector()
    var target = VersionVector()
    var steps = ProgressSteps()

}

/// The header of the relay's snapshot of the business, as a pull or `GET …/snapshot/info` reports it.
struct RelaySnapshotHeader: Sendable, Equatable {
    var producer: SiteID
    var createdAt: Int64
    var vector: VersionVector
    var bytes: Int

    init?(_ body: RelayJSON.SnapshotMeta) {
        guard let producer = SiteID(hex: body.producer), let vector = VersionVector(base64: body.vector) else { return nil }
        self.producer = producer
        createdAt = body.createdAt
        self.vector = vector
        bytes = body.bytes
    }
}

/// What one relay session remembers between rounds (invitations answered, snapshots tried).
struct RelaySessionWork {
    /// Join requests answered (or left alone) in this session, by invitation id.
    var answered: Set<String> = []
    /// The vector of the last snapshot this box offered the relay in this session.
    var offeredSnapshot: VersionVector?
    /// The relay snapshot vector this box last applied (or found not to help) for compacted changesets.
    var triedSnapshot: VersionVector?
}

/// When to log a long transfer's progress: about every 10 %, at most every 5 seconds (the first
/// step and the end always).
struct ProgressSteps: Sendable, Equatable {
    var lastStep = -1
    var lastTime = ContinuousClock.now

    mutating func isDue(done: UInt64, total: UInt64) -> Bool {
        guard total > 0 else { return false }
        let step = Int(min(done, total) * 10 / total)
        let now = ContinuousClock.now
        guard step > lastStep, lastStep < 0 || step >= 10 || now - lastTime >= .seconds(5) else { return false }
        lastStep = step
        lastTime = now
        return true
    }
}

/// Logs a transfer's progress at notice level (`ProgressSteps`), from any thread.
final class ProgressLog: Sendable {
    private let steps = Mutex(ProgressSteps())
    let logger: Logger
    let message: Logger.Message

    init(logger: Logger, message: Logger.Message) {
        self.logger = logger
        self.message = message
    }

    func report(done: UInt64, total: UInt64, unit: String) {
        guard steps.withLock({ $0.isDue(done: done, total: total) }) else { return }
        logger.notice(message, metadata: ["done": "\(done)", "total": "\(total)", "unit": "\(unit)", "percent": "\(min(done, total) * 100 / max(total, 1))"])
    }
}

extension RelayClient {
    /// Sends raw bytes (or nothing) under `/v1/businesses/{business}` and returns the body of a 2xx answer.
    func sendBytes(_ method: HTTPMethod, _ relative: String, body: [UInt8] = [], timeout: TimeAmount, maxResponseBytes: Int = 64 << 20,
                   progress: (@Sendable (Int) -> Void)? = nil) async throws -> [UInt8] {
        try await exchange(method, relative, body: body, contentType: "application/octet-stream", timeout: timeout,
                           maxResponseBytes: maxResponseBytes, progress: progress)
    }

    func snapshotInfo() async throws -> (snapshot: RelaySnapshotHeader?, available: VersionVector, compaction: VersionVector) {
        let reply = try Self.decoder.decode(RelayJSON.SnapshotInfoReply.self, from: Data(try await send(.GET, "/snapshot/info")))
        func vector(_ text: String) throws -> VersionVector {
            guard let vector = VersionVector(base64: text) else { throw UplinkError("the relay sent a vector that does not decode") }
            return vector
        }
        return (reply.snapshot.flatMap(RelaySnapshotHeader.init), try vector(reply.available), try vector(reply.compaction))
    }
}

/// Snapshots at the relay (docs/relay-protocol.md §13): a box whose replica is new starts from the
/// relay's snapshot and the changesets after it; a box that holds the data key and is caught up
/// keeps the relay's snapshot fresh; a box that lacks changesets the relay compacted away catches
/// up from the snapshot.
extension UplinkService {
    /// The age after which a caught-up box replaces the relay's snapshot if anything changed.
    static let snapshotMaximumAge: Int64 = 24 * 3_600_000

    /// A replica that holds nothing of any other box (what `join` wrote is its own).
    var isNewReplica: Bool { store.versionVector.entries.keys.allSatisfy { $0 == store.site } }

    /// At the start of a session: a box with a new replica, while the relay holds other boxes'
    /// changesets, fetches the relay's snapshot (if any) and applies it, then tracks the
    /// changesets after it as the bootstrap's second phase.
    func bootstrapIfNew(_ client: RelayClient, keyring: DataKeyring) async throws {
        guard isNewReplica, status.current.bootstrap == nil || status.current.bootstrap?.phase == .snapshot else { return }
        let info: (snapshot: RelaySnapshotHeader?, available: VersionVector, compaction: VersionVector)
        do { info = try await client.snapshotInfo() } catch let problem as RelayClient.Problem where !problem.isTransient {
            // A relay without snapshots (an older version): the changesets bring everything.
            logger.warning("the relay keeps no snapshots; fetching the changesets", metadata: ["reason": "\(problem)"])
            return
        }
        let snapshotHelps = info.snapshot.map { !store.versionVector.dominates($0.vector) } ?? false
        guard snapshotHelps || Self.missing(from: store.versionVector, upTo: info.available, except: store.site) > 0 else { return }
        var progress = status.current.bootstrap ?? BootstrapProgress(phase: .snapshot, startedAt: Date())
        if snapshotHelps, let snapshot = info.snapshot {
            progress.phase = .snapshot
            progress.snapshotTotal = snapshot.bytes
            progress.snapshotBytes = 0
            status.update { $0.bootstrap = progress }
            logger.notice("bootstrapping from the relay: fetching its snapshot", metadata: [
                "bytes": "\(snapshot.bytes)", "snapshot.producer": "\(snapshot.producer.hex.prefix(12))", "snapshot.vector": "\(snapshot.vector)"])
            do {
                try await applyRelaySnapshot(client, keyring: keyring, expectedBytes: snapshot.bytes, tracking: true)
            } catch where Self.isUnusableSnapshot(error) {
                // The changesets still bring everything the relay has not compacted.
                logger.warning("the relay's snapshot cannot be used; fetching the changesets instead", metadata: ["error": "\(error)"])
                status.update { $0.bootstrap?.snapshotTotal = nil }
            }
        } else {
            logger.notice("bootstrapping from the relay: it has no snapshot, fetching the changesets")
        }
        let base = store.versionVector
        progress = status.current.bootstrap ?? progress
        progress.base = base
        progress.target = info.available
        progress.changesetsTotal = Self.missing(from: base, upTo: info.available, except: store.site)
        progress.changesets = 0
        progress.phase = progress.changesetsTotal > 0 ? .changesets : .done
        if progress.phase == .done { progress.finishedAt = Date() }
        status.update { $0.bootstrap = progress }
        if progress.phase == .changesets {
            logger.notice("bootstrap: fetching the changesets after the snapshot", metadata: ["total": "\(progress.changesetsTotal)"])
        } else {
            logger.notice("bootstrap done", metadata: ["snapshot.bytes": "\(progress.snapshotBytes)",
                                                       "seconds": "\(String(format: "%.1f", Date().timeIntervalSince(progress.startedAt)))"])
        }
    }

    /// A snapshot that does not decode, open or apply (not a network problem): trying it again
    /// would fail the same way.
    static func isUnusableSnapshot(_ error: any Error) -> Bool {
        error is RelayWireError || error is ReplicationError || (error as? UplinkError) != nil
    }

    /// How many changesets of authors other than `except` lie between `base` and `target`.
    static func missing(from base: VersionVector, upTo target: VersionVector, except: SiteID? = nil) -> UInt64 {
        target.entries.reduce(0) { sum, entry in entry.key == except || entry.value <= base[entry.key] ? sum : sum + entry.value - base[entry.key] }
    }

    /// Downloads the relay's snapshot, opens it with the data key and merges it.
    /// - Parameter tracking: report the bytes in `status.bootstrap` (and log at notice).
    func applyRelaySnapshot(_ client: RelayClient, keyring: DataKeyring, expectedBytes: Int, tracking: Bool) async throws {
        let status = self.status
        let log = ProgressLog(logger: logger, message: "bootstrap: snapshot download")
        let total = UInt64(max(1, expectedBytes))
        var onProgress: (@Sendable (Int) -> Void)?
        if tracking {
            onProgress = { @Sendable (received: Int) in
                status.update { $0.bootstrap?.snapshotBytes = received }
                log.report(done: UInt64(received), total: total, unit: "bytes")
            }
        }
        let bytes = try await client.sendBytes(.GET, "/snapshot", timeout: .seconds(600), maxResponseBytes: max(expectedBytes, 1 << 20) + 4096,
                                               progress: onProgress)
        let sealed = try SealedSnapshot.decode(bytes, maxBytes: .max)
        guard sealed.business == store.business else { throw UplinkError("the relay's snapshot belongs to another business") }
        let plain: [UInt8]
        if let key = try? store.trustStore.authorKey(for: sealed.producer, at: sealed.createdAt) {
            plain = try sealed.open(producerKey: key, keyring: keyring)
        } else {
            // A producer this box has not heard of yet: the data key authenticates the content,
            // and applying checks the snapshot's own signature against the producer's
            // certificate, which the snapshot carries.
            plain = try sealed.open(with: keyring)
        }
        let shop = self.shop
        let vector = try await shop.store.perform { try shop.applySnapshot(plain) }
        if tracking { status.update { $0.bootstrap?.snapshotBytes = bytes.count } }
        logger.notice("applied the relay's snapshot", metadata: ["bytes": "\(bytes.count)", "snapshot.producer": "\(sealed.producer.hex.prefix(12))",
                                                                  "vector": "\(vector)"])
    }

    /// After each pull: answers join requests (the owner's box), moves the bootstrap on, catches up
    /// from the snapshot past compacted changesets, and keeps the relay's snapshot fresh.
    func afterPull(_ client: RelayClient, keyring: DataKeyring, work: inout RelaySessionWork) async throws {
        let current = status.current
        if current.joinRequests > 0 { try await answerJoinRequests(&work) }
        updateBootstrapProgress()
        let ours = store.versionVector
        let lacking = current.compaction.entries.filter { $0.key != store.site && $0.value > ours[$0.key] }
        if !lacking.isEmpty {
            guard let snapshot = current.relaySnapshot, work.triedSnapshot != snapshot.vector else { return }
            work.triedSnapshot = snapshot.vector
            if lacking.contains(where: { snapshot.vector[$0.key] > ours[$0.key] }) {
                logger.notice("the relay compacted changesets this box lacks; catching up from its snapshot", metadata: ["bytes": "\(snapshot.bytes)"])
                do {
                    try await applyRelaySnapshot(client, keyring: keyring, expectedBytes: snapshot.bytes, tracking: false)
                } catch where Self.isUnusableSnapshot(error) {
                    logger.warning("the relay's snapshot cannot be used; waiting for a box to offer another", metadata: ["error": "\(error)"])
                }
            } else {
                logger.warning("the relay compacted changesets this box lacks and its snapshot does not cover them yet; waiting for a box to offer a newer one",
                               metadata: ["compaction": "\(current.compaction)", "snapshot.vector": "\(snapshot.vector)"])
            }
            return
        }
        try await offerSnapshotIfDue(client, keyring: keyring, work: &work)
    }

    /// Moves `status.bootstrap` on after a pull applied changesets; logs every ~10 %.
    func updateBootstrapProgress() {
        guard var progress = status.current.bootstrap, progress.phase == .changesets else { return }
        let ours = store.versionVector
        var received: UInt64 = 0
        for (author, target) in progress.target.entries where author != store.site {
            let have = min(ours[author], target)
            if have > progress.base[author] { received += have - progress.base[author] }
        }
        progress.changesets = received
        if received >= progress.changesetsTotal {
            progress.phase = .done
            progress.finishedAt = Date()
            logger.notice("bootstrap done", metadata: ["changesets": "\(received)", "snapshot.bytes": "\(progress.snapshotBytes)",
                                                       "seconds": "\(String(format: "%.1f", Date().timeIntervalSince(progress.startedAt)))"])
        } else if progress.steps.isDue(done: received, total: progress.changesetsTotal) {
            logger.notice("bootstrap: changesets", metadata: ["done": "\(received)", "total": "\(progress.changesetsTotal)",
                                                              "percent": "\(received * 100 / max(progress.changesetsTotal, 1))"])
        }
        status.update { $0.bootstrap = progress }
    }

    /// A caught-up box that holds the data key offers the relay a snapshot when it has none, when
    /// the relay compacted past it, when it is `snapshotEveryChangesets` behind, or when it is
    /// older than a day and anything changed.
    func offerSnapshotIfDue(_ client: RelayClient, keyring: DataKeyring, work: inout RelaySessionWork) async throws {
        let current = status.current
        guard let dataKey = keyring.current, !current.pullHadMore, let relay = current.relayVector else { return }
        let ours = store.versionVector
        guard ours.dominates(relay), !ours.entries.isEmpty, work.offeredSnapshot != ours else { return }
        let reason: String
        if let snapshot = current.relaySnapshot {
            let behind = Self.missing(from: snapshot.vector, upTo: ours)
            if !snapshot.vector.dominates(current.compaction) {
                reason = "the relay compacted past its snapshot"
            } else if behind >= snapshotEveryChangesets {
                reason = "its snapshot is \(behind) changesets behind"
            } else if behind > 0 && RelayClient.now() - snapshot.createdAt >= Self.snapshotMaximumAge {
                reason = "its snapshot is more than a day old"
            } else {
                return
            }
        } else {
            reason = "the relay has no snapshot"
        }
        work.offeredSnapshot = ours
        let store = self.store
        // The vector is read before the snapshot is made, so the snapshot reflects at least it.
        let (bytes, vector) = try await store.perform { () throws -> ([UInt8], VersionVector) in
            let vector = store.versionVector
            return (try store.makeSnapshot(), vector)
        }
        let sealed = try SealedSnapshot.seal(bytes, business: store.business, vector: vector, producer: store.identity, dataKey: dataKey,
                                             createdAt: RelayClient.now())
        do {
            _ = try await client.sendBytes(.PUT, "/snapshot", body: sealed.bytes, timeout: .seconds(600))
            logger.notice("offered the relay a snapshot", metadata: ["reason": "\(reason)", "bytes": "\(sealed.bytes.count)", "vector": "\(vector)"])
            status.update { snapshot in
                snapshot.relaySnapshot = RelaySnapshotHeader(producer: store.site, createdAt: sealed.createdAt, vector: vector, bytes: sealed.bytes.count)
            }
        } catch let problem as RelayClient.Problem where problem.kind == "stale_snapshot" {
            logger.debug("the relay keeps a newer snapshot", metadata: ["detail": "\(problem.detail)"])
        } catch let problem as RelayClient.Problem where !problem.isTransient {
            // Not tried again in this session (`work.offeredSnapshot`); syncing goes on.
            logger.warning("the relay did not take this box's snapshot", metadata: ["reason": "\(problem)"])
        }
    }
}

extension VersionVector {
    /// A vector as the relay sends it (standard base64 of its encoding, sync §9); nil when it
    /// does not decode.
    init?(base64 text: String) {
        guard let data = Data(base64Encoded: text), let vector = try? VersionVector.decode(Array(data)) else { return nil }
        self = vector
    }
}

extension RelaySnapshotHeader {
    init(producer: SiteID, createdAt: Int64, vector: VersionVector, bytes: Int) {
        self.producer = producer
        self.createdAt = createdAt
        self.vector = vector
        self.bytes = bytes
    }
}
