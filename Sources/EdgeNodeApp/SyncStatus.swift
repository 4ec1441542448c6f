import Domain
import LANSync
import LocalAPI
import Foundation
import RelayUplink
import Replication

// The sync services' state as the box's status JSON (`edgenode status`, `GET /v1/status`): the
// services keep plain values; LocalAPI's `StatusValue` is rendered here, where they are wired.

extension UplinkStatus {
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
            "state_since": time(snapshot.stateSince),
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

extension BootstrapProgress {
    var statusValue: StatusValue {
        func time(_ date: Date?) -> StatusValue {
            date.map { .string(Instant(milliseconds: Int64($0.timeIntervalSince1970 * 1000)).description) } ?? .null
        }
        return .object([
            "phase": .string(phase.rawValue),
            "started_at": time(startedAt),
            "finished_at": time(finishedAt),
            "snapshot_bytes": .integer(Int64(snapshotBytes)),
            "snapshot_total_bytes": snapshotTotal.map { .integer(Int64($0)) } ?? .null,
            "changesets": .integer(Int64(changesets)),
            "changesets_total": .integer(Int64(changesetsTotal)),
        ])
    }
}

extension PeerDirectory {
    /// The peers as status JSON, with what is pending each way against `ours`.
    func status(ours: VersionVector) -> [StatusValue] {
        func time(_ date: Date?) -> StatusValue {
            date.map { .string(Instant(milliseconds: Int64($0.timeIntervalSince1970 * 1000)).description) } ?? .null
        }
        return all.map { peer in
            var object: [String: StatusValue] = [
                "name": .string(peer.name),
                "address": peer.address.map { .string($0) } ?? .null,
                "source": .string(peer.source),
                "site": peer.site.map { .string($0.hex) } ?? .null,
                "branch": peer.branch.map { .string($0) } ?? .null,
                "state": .string(peer.state),
                "last_seen": time(peer.lastSeen),
                "last_sync": time(peer.lastSync),
                "last_error": peer.lastError.map { .string($0) } ?? .null,
                "sent": .integer(Int64(peer.sent)),
                "received": .integer(Int64(peer.received)),
                "refused": .integer(Int64(peer.refused)),
            ]
            if let theirs = peer.theirVector {
                let pending = Self.pending(ours: ours, theirs: theirs)
                object["pending_to_peer"] = .integer(Int64(pending.toPeer))
                object["pending_from_peer"] = .integer(Int64(pending.fromPeer))
            } else {
                object["pending_to_peer"] = .null
                object["pending_from_peer"] = .null
            }
            return .object(object)
        }
    }

}

extension RelayEndpoint {
    /// The configured relay (`url`, and `ca_file` when set); nil when the URL is not one.
    init?(_ relay: NodeConfiguration.Relay) {
        self.init(url: relay.url, caFile: relay.caFile.isEmpty ? nil : relay.caFile)
    }

}
