import Discovery
import Domain
import Foundation
import LocalAPI
import Metrics
import LANSync
import RelayUplink
import OutboundHTTP
import Replication

/// The gauges of /metrics that are read when scraped.
enum NodeMetrics {
    static func update(store: ReplicaStore, shop: Shop, databasePath: String, peers: PeerDirectory? = nil, uplink: UplinkStatus? = nil) {
        let size = ["", "-wal"].compactMap { try? FileManager.default.attributesOfItem(atPath: databasePath + $0)[.size] as? Int }.reduce(0, +)
        Gauge(label: "edgenode_replica_bytes").record(size)
        if let statistics = try? store.statistics() {
            Gauge(label: "edgenode_changesets", dimensions: [("kind", "own")]).record(statistics.ownChangesets)
            Gauge(label: "edgenode_changesets", dimensions: [("kind", "logged")]).record(statistics.loggedChangesets)
            Gauge(label: "edgenode_changesets", dimensions: [("kind", "waiting")]).record(statistics.waitingChangesets)
            Gauge(label: "edgenode_changesets", dimensions: [("kind", "refused")]).record(statistics.rejectedChangesets)
            // Changesets received out of order, waiting for the ones before them.
            Gauge(label: "edgenode_pending_changesets", dimensions: [("direction", "incoming")]).record(statistics.waitingChangesets)
        }
        Gauge(label: "edgenode_event_stream_clients").record(shop.changeFeed.readerCount)
        if let uplink {
            Gauge(label: "edgenode_relay_connected").record(uplink.current.connected ? 1 : 0)
            let pending = uplink.pending(ours: store.versionVector, site: store.site)
            // -1: not known (the relay was never reached).
            Gauge(label: "edgenode_relay_pending", dimensions: [("direction", "push")]).record(pending.push.map { Int($0) } ?? -1)
            Gauge(label: "edgenode_relay_pending", dimensions: [("direction", "pull")]).record(pending.pull.map { Int($0) } ?? -1)
            // The relay's clock minus this box's (0 before it was measured), and whether the
            // relay would refuse this box's own clock (relay-protocol §4.1).
            Gauge(label: "edgenode_relay_clock_offset_seconds").record(Double(uplink.time.offset ?? 0) / 1000)
            Gauge(label: "edgenode_relay_clock_refused").record(uplink.time.isBeyondWindow ? 1 : 0)
        }
        if let peers {
            let all = peers.all
            for state in ["connecting", "syncing", "current", "unreachable", "refused", "duplicate", "gone"] {
                Gauge(label: "edgenode_lan_peers", dimensions: [("state", state)]).record(all.filter { $0.state == state }.count)
            }
            let ours = store.versionVector
            var toPeers: UInt64 = 0
            var fromPeers: UInt64 = 0
            for peer in all {
                guard let theirs = peer.theirVector else { continue }
                let pending = PeerDirectory.pending(ours: ours, theirs: theirs)
                toPeers += pending.toPeer
                fromPeers += pending.fromPeer
            }
            Gauge(label: "edgenode_lan_pending_changesets", dimensions: [("direction", "to_peers")]).record(Int(toPeers))
            Gauge(label: "edgenode_lan_pending_changesets", dimensions: [("direction", "from_peers")]).record(Int(fromPeers))
        }
    }
}

/// `GET /v1/status` and `edgenode status`: identity, branch, replica vector, changesets, peers.
enum NodeStatus {
    static func document(store: ReplicaStore, shop: Shop, dataDirectory: String, startedAt: Date?,
                         peers: PeerDirectory? = nil, discovery: DiscoveryState? = nil, uplink: UplinkStatus? = nil) throws -> [String: StatusValue] {
        let statistics = try store.statistics()
        let certificate = store.trustStore.certificates[store.site]?.last
        var branchName = certificate?.branch ?? ""
        if let home = shop.homeBranch, let branch = try? shop.branch(home) { branchName = branch.name }
        var document: [String: StatusValue] = [
            "site": .string(store.site.hex),
            "public_key": .string(store.identity.publicKey.hex),
            "business": .string(store.business.hex),
            "branch": .string(branchName),
            "branch_id": shop.homeBranch.map { .string($0.rawValue) } ?? .null,
            "role": .string(certificate?.role ?? ""),
            "data_directory": .string(dataDirectory),
            "vector": .object(Dictionary(uniqueKeysWithValues: store.versionVector.entries.map { ($0.key.hex, StatusValue.integer(Int64($0.value))) })),
            "own_changesets": .integer(Int64(statistics.ownChangesets)),
            "logged_changesets": .integer(Int64(statistics.loggedChangesets)),
            "waiting_changesets": .integer(Int64(statistics.waitingChangesets)),
            "rejected_changesets": .integer(Int64(statistics.rejectedChangesets)),
            "parked_changes": .integer(Int64(statistics.parkedChanges)),
            // The LAN peers; the relay is `uplink`.
            "peers": .array(peers?.status(ours: store.versionVector) ?? []),
            "last_sync": (peers?.lastSync).map { .string(Instant(milliseconds: Int64($0.timeIntervalSince1970 * 1000)).description) } ?? .null,
            "discovery": discovery.map { state in
                var object: [String: StatusValue] = ["state": .string(state.code), "detail": .string(state.description)]
                if case .announced(let name) = state { object["name"] = .string(name) }
                return .object(object)
            } ?? .null,
            "uplink": uplink?.statusValue(ours: store.versionVector, site: store.site) ?? .null,
            "health": .array(try store.health().map { .object(["kind": .string($0.kind), "message": .string($0.message)]) }
                + (uplink?.clockWarning.map { [.object(["kind": .string("relay_clock"), "message": .string($0)])] } ?? [])),
        ]
        if let startedAt { document["started_at"] = .string(Instant(milliseconds: Int64(startedAt.timeIntervalSince1970 * 1000)).description) }
        return document
    }
}
