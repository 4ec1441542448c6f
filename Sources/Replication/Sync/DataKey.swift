/// A generation of a business's data key. Generations count up from 1; rotating the key (for
/// instance after a box is revoked) makes the next one, and what is written afterwards is
/// encrypted with it.
public struct DataKeyID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public static func < (lhs: DataKeyID, rhs: DataKeyID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// A business's 32-byte symmetric data key (XChaCha20-Poly1305) with its generation. Changeset
/// payloads are encrypted with it before they leave a box, so the relay never reads them.
public struct DataKey: Hashable, Sendable {
    public static let byteCount = 32

    public let id: DataKeyID
    /// The secret key bytes. Keep them on the box; they travel only sealed (`SealedDataKey`).
    public let bytes: [UInt8]

    /// nil unless `bytes` is 32 bytes long.
    public init?(id: DataKeyID, bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.id = id
        self.bytes = bytes
    }

    /// A new random key of generation `id`.
    public static func generate(id: DataKeyID) -> DataKey {
        DataKey(id: id, bytes: Sodium.randomBytes(byteCount))!
    }
}

/// The data keys a box holds, by generation. The newest generation encrypts; every generation
/// it holds decrypts.
public struct DataKeyring: Hashable, Sendable {
    public private(set) var keys: [DataKeyID: DataKey] = [:]

    public init(_ keys: [DataKey] = []) {
        for key in keys { self.keys[key.id] = key }
    }

    /// The newest generation, which encrypts what is written now; nil for an empty keyring.
    public var current: DataKey? { keys.max { $0.key < $1.key }?.value }

    public subscript(id: DataKeyID) -> DataKey? { keys[id] }

    /// Adds a key received from elsewhere.
    /// - Throws: `RelayWireError.malformed` when a *different* key is already held for its generation
    ///   (two keys for one generation would make envelopes unreadable to some boxes).
    public mutating func insert(_ key: DataKey) throws(RelayWireError) {
        if let existing = keys[key.id], existing != key {
            throw RelayWireError(.malformed, "a different data key is already held for generation \(key.id)")
        }
        keys[key.id] = key
    }

    /// Rotation: a new random key whose generation follows the newest one held (1 for an empty keyring).
    /// - Returns: the new key, which is now `current`.
    @discardableResult
    public mutating func rotate() -> DataKey {
        let next = DataKeyID((current?.id.rawValue ?? 0) + 1)
        let key = DataKey.generate(id: next)
        keys[next] = key
        return key
    }
}

/// A data key sealed to one box's key (docs/relay-protocol.md §3): only that box can open it,
/// and the signature says who sealed it (the owner or a box of the business), so a relay cannot
/// slip a key of its own to a box.
///
///     bytes[4]  magic "EDDK"
///     u8        version 1
///     bytes[16] business id
///     u32be     key generation
///     bytes[32] recipient's Ed25519 public key
///     bytes[32] sealer's Ed25519 public key
///     bytes[100] crypto_box_seal( business id (16) || u32be generation || key (32) ) to the
///                recipient's X25519 key (crypto_sign_ed25519_pk_to_curve25519)
///     bytes[64] Ed25519 signature by the sealer over everything before it
public struct SealedDataKey: Hashable, Sendable {
    public static let magic: [UInt8] = Array("EDDK".utf8)
    public static let version: UInt8 = 1
    static let plaintextLength = 16 + 4 + DataKey.byteCount
    static let sealedLength = plaintextLength + 48
    /// Every sealed key is exactly this long: 4 + 1 + 16 + 4 + 32 + 32 + 100 + 64.
    public static let byteCount = 4 + 1 + 16 + 4 + 32 + 32 + sealedLength + 64

    public let business: BusinessID
    public let keyID: DataKeyID
    public let recipient: PublicKey
    public let sealer: PublicKey
    /// The exact bytes, signature included.
    public let bytes: [UInt8]

    /// Where the sealer's public key lies in `bytes`.
    public static let sealerRange = 57..<89

    /// The site id of the box that can open it.
    public var recipientSite: SiteID { SiteID(publicKey: recipient) }
    /// The site id of whoever sealed it (for the owner: the site id derived from the owner key).
    public var sealerSite: SiteID { SiteID(publicKey: sealer) }

    /// Seals `key` to `recipient` and signs the result with `sealer`'s key.
    /// - Throws: `RelayWireError.malformed` when `recipient` has no X25519 counterpart.
    public static func seal(_ key: DataKey, business: BusinessID, to recipient: PublicKey, sealer: SigningKey) throws(RelayWireError) -> SealedDataKey {
        guard let recipientX25519 = recipient.curve25519 else {
            throw RelayWireError(.malformed, "the recipient's public key cannot be converted to X25519")
        }
        var plaintext = ByteWriter(capacity: plaintextLength)
        plaintext.append(contentsOf: business.bytes)
        plaintext.append(contentsOf: bigEndian(key.id.rawValue))
        plaintext.append(contentsOf: key.bytes)
        guard let box = Sodium.sealedBox(plaintext.bytes, to: recipientX25519) else {
            throw RelayWireError(.malformed, "sealing the data key failed")
        }
        var writer = ByteWriter(capacity: byteCount)
        writer.append(contentsOf: magic)
        writer.append(version)
        writer.append(contentsOf: business.bytes)
        writer.append(contentsOf: bigEndian(key.id.rawValue))
        writer.append(contentsOf: recipient.bytes)
        writer.append(contentsOf: sealer.publicKey.bytes)
        writer.append(contentsOf: box)
        writer.append(contentsOf: sealer.sign(writer.bytes))
        return try decode(writer.bytes)
    }

    /// Decodes and checks the sealer's signature. Who the sealer may be (the owner, a box of the
    /// business) is for the caller to decide.
    /// - Throws: `RelayWireError` (`.malformed`, `.unsupportedVersion`, `.badSignature`).
    public static func decode(_ bytes: [UInt8]) throws(RelayWireError) -> SealedDataKey {
        guard bytes.count == byteCount else {
            throw RelayWireError(.malformed, "a sealed data key is \(byteCount) bytes, not \(bytes.count)")
        }
        guard Array(bytes[0..<4]) == magic else { throw RelayWireError(.malformed, "not a sealed data key (bad magic)") }
        guard bytes[4] == version else { throw RelayWireError(.unsupportedVersion, "unsupported sealed data key version \(bytes[4])") }
        let business = BusinessID(bytes: Array(bytes[5..<21]))!
        let keyID = DataKeyID(readBigEndianUInt32(bytes, at: 21))
        guard keyID.rawValue >= 1 else { throw RelayWireError(.malformed, "data key generations start at 1") }
        let recipient = PublicKey(bytes: Array(bytes[25..<57]))!
        let sealer = PublicKey(bytes: Array(bytes[57..<89]))!
        let signatureStart = byteCount - 64
        guard sealer.verify(bytes[signatureStart...], over: bytes[..<signatureStart]) else {
            throw RelayWireError(.badSignature, "the sealed data key's signature does not verify against its sealer's key")
        }
        return SealedDataKey(business: business, keyID: keyID, recipient: recipient, sealer: sealer, bytes: bytes)
    }

    /// Opens the key with the recipient box's identity key.
    /// - Throws: `.wrongRecipient` for another box's key, `.decryptionFailed` when the sealed
    ///   box does not open, `.mismatchedPayload` when the sealed content names another business
    ///   or generation than the cleartext fields.
    public func open(with identity: SigningKey) throws(RelayWireError) -> DataKey {
        guard identity.publicKey == recipient else {
            throw RelayWireError(.wrongRecipient, "this data key is sealed to \(recipientSite), not to this box")
        }
        guard let publicX25519 = recipient.curve25519,
              let plaintext = Sodium.openSealedBox(Array(bytes[89..<(89 + Self.sealedLength)]), publicKey: publicX25519,
                                                   secretKey: identity.curve25519SecretKey()),
              plaintext.count == Self.plaintextLength else {
            throw RelayWireError(.decryptionFailed, "the sealed data key does not open with this box's key")
        }
        guard Array(plaintext[0..<16]) == business.bytes, readBigEndianUInt32(plaintext, at: 16) == keyID.rawValue else {
            throw RelayWireError(.mismatchedPayload, "the sealed data key's content names another business or generation than its header")
        }
        return DataKey(id: keyID, bytes: Array(plaintext[20...]))!
    }
}

func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
}

func readBigEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
}
