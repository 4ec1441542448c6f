/// For each author site, the highest sequence number such that every changeset up to it has
/// been applied (or is reflected in a snapshot). Gaps are reported separately.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    public private(set) var entries: [SiteID: UInt64]

    public init(_ entries: [SiteID: UInt64] = [:]) { self.entries = entries.filter { $0.value > 0 } }

    public subscript(site: SiteID) -> UInt64 {
        get { entries[site] ?? 0 }
        set { entries[site] = newValue == 0 ? nil : newValue }
    }

    /// Whether this vector has seen everything `other` has.
    public func dominates(_ other: VersionVector) -> Bool {
        other.entries.allSatisfy { self[$0.key] >= $0.value }
    }

    public var description: String {
        "{" + entries.sorted { $0.key < $1.key }.map { "\($0.key.hex.prefix(8)):\($0.value)" }.joined(separator: ", ") + "}"
    }

    /// Canonical encoding: count, then (site id, sequence varint) sorted by site id.
    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: 4 + entries.count * 20)
        writer.writeVarint(entries.count)
        for (site, sequence) in entries.sorted(by: { $0.key < $1.key }) {
            writer.append(contentsOf: site.bytes)
            writer.writeVarint(sequence)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodingError) -> VersionVector {
        var reader = ByteReader(bytes)
        let count = try reader.readCount(limit: reader.remaining / 17, what: "vector entry count")
        var entries: [SiteID: UInt64] = [:]
        var previous: SiteID?
        for _ in 0..<count {
            let offset = reader.offset
            let site = SiteID(bytes: try reader.readBytes(16))!
            if let previous, !(previous < site) { throw DecodingError("vector entries must be sorted by site id without repeats", at: offset) }
            previous = site
            let sequence = try reader.readVarint()
            guard sequence > 0 else { throw DecodingError("vector entries must not be zero", at: offset) }
            entries[site] = sequence
        }
        guard reader.isAtEnd else { throw DecodingError("trailing bytes after the version vector", at: reader.offset) }
        return VersionVector(entries)
    }
}
