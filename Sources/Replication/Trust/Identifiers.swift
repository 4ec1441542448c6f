/// A replica's site id: BLAKE2b-128 of "edgenode.site.v1" followed by the replica's Ed25519
/// public key. Derived from the key, so no other key can claim it.
public struct SiteID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public static let byteCount = 16
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    public init?(hex: String) {
        guard let bytes = [UInt8](hex: hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// The site id that belongs to `publicKey`.
    public init(publicKey: PublicKey) {
        bytes = Sodium.blake2b(Array("edgenode.site.v1".utf8) + publicKey.bytes, length: 16)
    }

    public var hex: String { bytes.hexString }
    public var description: String { hex }

    public static func < (lhs: SiteID, rhs: SiteID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

/// A business id: BLAKE2b-128 of "edgenode.business.v1" followed by the owner's root public key.
public struct BusinessID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public init(ownerKey: PublicKey) {
        bytes = Sodium.blake2b(Array("edgenode.business.v1".utf8) + ownerKey.bytes, length: 16)
    }

    public var hex: String { bytes.hexString }
    public var description: String { hex }
}
