import Domain
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OutboundHTTP
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
        public var state = "starting" {
            didSet { if state != oldValue { stateSince = Date() } }
        }
        /// When `state` last changed (when the uplink started, until it changes).
        public var stateSince = Date()
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

    package func update<Result>(_ body: (inout Snapshot) -> Result) -> Result { value.withLock { body(&$0) } }

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

}
