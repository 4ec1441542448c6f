import Foundation
import Logging
import Replication

/// Certificates and revocations the owner issues on the command line (`certify`, `revoke`) reach
/// this box's replica — and from there every box, over the LAN and through the relay.
///
/// The replica is locked by the running daemon, so a command that finds it in use leaves the
/// record in `issued/` in the data directory, written atomically; the daemon's housekeeping
/// records what it finds there (at start and every 30 s) and removes each file once recorded.
/// A file that does not decode is renamed `*.invalid` and logged once.
enum IssuedRecords {
    enum Kind: String, CaseIterable {
        case certificate
        case revocation
    }

    enum Outcome: Equatable {
        /// Written to the replica now.
        case recorded
        /// The daemon holds the replica: left in `issued/` for it.
        case queued(path: String)
    }

    static func path(_ directory: ReplicaDirectory) -> String { directory.path + "/issued" }

    /// Records `bytes` (an encoded certificate or revocation) in the replica, or queues it for the
    /// running daemon.
    static func record(_ kind: Kind, _ bytes: [UInt8], site: SiteID, in directory: ReplicaDirectory, logger: Logger) throws -> Outcome {
        do {
            let store = try directory.openStore(logger: logger)
            try record(kind, bytes, in: store)
            return .recorded
        } catch let error as ReplicationError where error.code == .inUse {
            let folder = path(directory)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let file = "\(folder)/\(nowMilliseconds())-\(site.hex).\(kind.rawValue)"
            try directory.writeFile(bytes, to: file, mode: 0o600)
            return .queued(path: file)
        }
    }

    /// Records every queued file in `store`; returns how many were recorded.
    @discardableResult
    static func importQueued(into store: ReplicaStore, directory: ReplicaDirectory, logger: Logger) -> Int {
        let folder = path(directory)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
        var recorded = 0
        for name in names.sorted() {
            guard let kind = Kind.allCases.first(where: { name.hasSuffix("." + $0.rawValue) }) else { continue }
            let file = folder + "/" + name
            do {
                try record(kind, try directory.readFile(file), in: store)
                try FileManager.default.removeItem(atPath: file)
                recorded += 1
                logger.notice("recorded an issued \(kind.rawValue) in the replica", metadata: ["file": "\(name)"])
            } catch let error as ReplicationError where error.code == .storage {
                // The replica could not be written now (disk full, busy): the next round tries again.
                logger.warning("could not record an issued \(kind.rawValue) yet", metadata: ["file": "\(name)", "error": "\(error)"])
            } catch {
                _ = rename(file, file + ".invalid")
                logger.warning("an issued \(kind.rawValue) was refused; renamed it *.invalid", metadata: ["file": "\(name)", "error": "\(error)"])
            }
        }
        return recorded
    }

    private static func record(_ kind: Kind, _ bytes: [UInt8], in store: ReplicaStore) throws {
        switch kind {
        case .certificate: try store.record(certificate: try Certificate.decode(bytes))
        case .revocation: try store.record(revocation: try Revocation.decode(bytes))
        }
    }
}
