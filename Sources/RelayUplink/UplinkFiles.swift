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

/// The files the uplink keeps in the data directory: the data keyring (0600), this box's
/// envelope chain head, and the outbox of sealed envelopes not yet acknowledged by the relay.
package struct UplinkFiles: Sendable {
    let directory: ReplicaDirectory

    package init(directory: ReplicaDirectory) { self.directory = directory }
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
