/// One changeset, encrypted with the business's data key and signed by its author, as it
/// travels through the relay (docs/relay-protocol.md §2). The relay reads only the cleartext
/// header; it checks the signature and the author's hash chain and never sees the changeset.
///
/// Format version 1, all integers big-endian:
///
///     off  size  field
///       0     4  magic "EDEV"
///       4     1  format version = 1
///       5    16  business id
///      21    16  author site id
///      37     8  u64be sequence, 1 ≤ sequence ≤ 2^63−1 (the author's envelopes count 1, 2, 3, …)
///      45     8  i64be sealed at: Unix milliseconds claimed by the author (judged against revocations)
///      53     4  u32be data-key generation that encrypted the payload, ≥ 1
///      57    32  previous envelope hash: hash of this author's envelope sequence − 1 (zeros for 1)
///      89    24  nonce, random
///     113     4  u32be ciphertext length n, 16 ≤ n
///     117     n  ciphertext = XChaCha20-Poly1305-IETF(changeset, key, nonce, aad = bytes[0..<117])
///   117+n    64  Ed25519 signature by the author's identity key over bytes[0..<117+n]
///
/// The envelope hash is BLAKE2b-256 over all the bytes, signature included.
public struct RelayEnvelope: Hashable, Sendable {
    public static let magic: [UInt8] = Array("EDEV".utf8)
    public static let formatVersion: UInt8 = 1
    /// Bytes before the ciphertext; they are the AEAD's additional data.
    public static let headerLength = 117
    public static let signatureLength = 64
    /// Header, an empty payload's 16-byte tag and the signature.
    public static let minimumLength = headerLength + 16 + signatureLength

    public let business: BusinessID
    public let author: SiteID
    public let sequence: UInt64
    public let sealedAt: Int64
    public let keyID: DataKeyID
    public let previousHash: [UInt8]
    public let nonce: [UInt8]
    /// The exact bytes that travel; the signature and the hash are over these.
    public let bytes: [UInt8]
    /// BLAKE2b-256 of `bytes`: what the author's next envelope names as its previous hash.
    public let hash: [UInt8]

    public var header: ArraySlice<UInt8> { bytes[..<Self.headerLength] }
    public var ciphertext: ArraySlice<UInt8> { bytes[Self.headerLength..<(bytes.count - Self.signatureLength)] }
    public var signature: ArraySlice<UInt8> { bytes[(bytes.count - Self.signatureLength)...] }
    public var signedPart: ArraySlice<UInt8> { bytes[..<(bytes.count - Self.signatureLength)] }

    /// 32 zero bytes: the previous hash of an author's first envelope.
    public static let noPreviousHash = [UInt8](repeating: 0, count: 32)

    /// Encrypts `payload` (a changeset's bytes) with `dataKey` and signs the envelope with the
    /// author's identity key. The author site is derived from `author`.
    /// - Throws: `RelayWireError.malformed` for a sequence outside 1…2^63−1, a previous hash that is
    ///   not 32 bytes (or not zeros for sequence 1) or a payload too large for the format.
    public static func seal(_ payload: [UInt8], business: BusinessID, author: SigningKey, sequence: UInt64, previousHash: [UInt8],
                            dataKey: DataKey, sealedAt: Int64, nonce: [UInt8] = Sodium.randomBytes(Sodium.aeadNonceLength)) throws(RelayWireError) -> RelayEnvelope {
        guard sequence >= 1, sequence <= UInt64(Int64.max) else { throw RelayWireError(.malformed, "sequence \(sequence) is outside 1…2^63−1") }
        guard previousHash.count == 32 else { throw RelayWireError(.malformed, "the previous hash must be 32 bytes") }
        guard sequence != 1 || previousHash == noPreviousHash else { throw RelayWireError(.malformed, "sequence 1 has no previous envelope") }
        guard nonce.count == Sodium.aeadNonceLength else { throw RelayWireError(.malformed, "the nonce must be \(Sodium.aeadNonceLength) bytes") }
        guard payload.count <= Int(UInt32.max) - Sodium.aeadTagLength else { throw RelayWireError(.tooLarge, "the payload is too large for an envelope") }
        var writer = ByteWriter(capacity: headerLength + payload.count + Sodium.aeadTagLength + signatureLength)
        writer.append(contentsOf: magic)
        writer.append(formatVersion)
        writer.append(contentsOf: business.bytes)
        writer.append(contentsOf: SiteID(publicKey: author.publicKey).bytes)
        writer.writeUInt64(sequence)
        writer.writeInt64(sealedAt)
        writer.append(contentsOf: bigEndian(dataKey.id.rawValue))
        writer.append(contentsOf: previousHash)
        writer.append(contentsOf: nonce)
        writer.append(contentsOf: bigEndian(UInt32(payload.count + Sodium.aeadTagLength)))
        let header = writer.bytes
        guard let ciphertext = Sodium.aeadEncrypt(payload[...], additionalData: header[...], nonce: nonce, key: dataKey.bytes) else {
            throw RelayWireError(.malformed, "encryption failed")
        }
        writer.append(contentsOf: ciphertext)
        writer.append(contentsOf: author.sign(writer.bytes))
        return try decode(writer.bytes, maxBytes: Int.max)
    }

    /// Seals a signed changeset: the envelope's business, author and sequence are the changeset's,
    /// so that `openChangeset` can check them after decryption.
    /// - Throws: `RelayWireError.malformed` when `author` is not the changeset's author.
    public static func seal(_ changeset: SignedChangeset, author: SigningKey, previousHash: [UInt8], dataKey: DataKey, sealedAt: Int64) throws(RelayWireError) -> RelayEnvelope {
        guard SiteID(publicKey: author.publicKey) == changeset.changeset.author else {
            throw RelayWireError(.malformed, "only a changeset's author seals it")
        }
        return try seal(changeset.bytes, business: changeset.changeset.business, author: author, sequence: changeset.changeset.sequence,
                        previousHash: previousHash, dataKey: dataKey, sealedAt: sealedAt)
    }

    /// Decodes the structure of an envelope without checking its signature (the relay looks the
    /// author's key up first) or decrypting it.
    /// - Throws: `RelayWireError` with `.tooLarge` (above `maxBytes`), `.unsupportedVersion`, or
    ///   `.malformed` naming the first problem: too short, bad magic, a sequence of 0 or above
    ///   2^63−1, a key generation of 0, a non-zero previous hash for sequence 1, or a ciphertext
    ///   length that disagrees with the size.
    public static func decode(_ bytes: [UInt8], maxBytes: Int = 16 << 20) throws(RelayWireError) -> RelayEnvelope {
        guard bytes.count <= maxBytes else { throw RelayWireError(.tooLarge, "the envelope is \(bytes.count) bytes; the limit is \(maxBytes)") }
        guard bytes.count >= minimumLength else {
            throw RelayWireError(.malformed, "the envelope is \(bytes.count) bytes, shorter than the smallest possible envelope (\(minimumLength))")
        }
        guard Array(bytes[0..<4]) == magic else { throw RelayWireError(.malformed, "not an envelope (bad magic)") }
        guard bytes[4] == formatVersion else { throw RelayWireError(.unsupportedVersion, "unsupported envelope format version \(bytes[4])") }
        var reader = ByteReader(bytes, offset: 5)
        do {
            let business = BusinessID(bytes: try reader.readBytes(16))!
            let author = SiteID(bytes: try reader.readBytes(16))!
            let sequence = try reader.readUInt64()
            guard sequence >= 1, sequence <= UInt64(Int64.max) else {
                throw RelayWireError(.malformed, sequence == 0 ? "sequence numbers start at 1" : "sequence \(sequence) exceeds 2^63−1")
            }
            let sealedAt = try reader.readInt64()
            let keyID = DataKeyID(readBigEndianUInt32(bytes, at: reader.offset))
            _ = try reader.readBytes(4)
            guard keyID.rawValue >= 1 else { throw RelayWireError(.malformed, "data key generations start at 1") }
            let previousHash = try reader.readBytes(32)
            guard sequence != 1 || previousHash == noPreviousHash else {
                throw RelayWireError(.malformed, "the first envelope of an author must have a zero previous hash")
            }
            let nonce = try reader.readBytes(Sodium.aeadNonceLength)
            let ciphertextLength = Int(readBigEndianUInt32(bytes, at: reader.offset))
            _ = try reader.readBytes(4)
            guard ciphertextLength >= Sodium.aeadTagLength, ciphertextLength == bytes.count - headerLength - signatureLength else {
                throw RelayWireError(.malformed, "the ciphertext length \(ciphertextLength) disagrees with the envelope's size (\(bytes.count) bytes)")
            }
            return RelayEnvelope(business: business, author: author, sequence: sequence, sealedAt: sealedAt, keyID: keyID,
                                 previousHash: previousHash, nonce: nonce, bytes: bytes, hash: Sodium.blake2b(bytes, length: 32))
        } catch let error as RelayWireError {
            throw error
        } catch {
            throw RelayWireError(.malformed, "envelope: \(error)")
        }
    }

    /// Whether the signature verifies against `authorKey` — which must also be the key the
    /// author site id is derived from.
    public func verifySignature(with authorKey: PublicKey) -> Bool {
        SiteID(publicKey: authorKey) == author && authorKey.verify(signature, over: signedPart)
    }

    /// Decrypts the payload.
    /// - Throws: `.unknownDataKey` when `dataKey` is another generation, `.decryptionFailed` when
    ///   the tag does not verify (another key, or altered header or ciphertext).
    public func open(with dataKey: DataKey) throws(RelayWireError) -> [UInt8] {
        guard dataKey.id == keyID else {
            throw RelayWireError(.unknownDataKey, "the envelope is encrypted with data key generation \(keyID), not \(dataKey.id)")
        }
        guard let plaintext = Sodium.aeadDecrypt(ciphertext, additionalData: header, nonce: nonce, key: dataKey.bytes) else {
            throw RelayWireError(.decryptionFailed, "the envelope does not decrypt with data key generation \(keyID)")
        }
        return plaintext
    }

    /// Decrypts with the keyring's key of the envelope's generation.
    public func open(with keyring: DataKeyring) throws(RelayWireError) -> [UInt8] {
        guard let key = keyring[keyID] else {
            throw RelayWireError(.unknownDataKey, "this box does not hold data key generation \(keyID)")
        }
        return try open(with: key)
    }

    /// Checks the signature, decrypts, decodes the changeset and checks that its business, author
    /// and sequence are the envelope's. The changeset's own signature is checked when it is applied.
    /// - Throws: `RelayWireError` (`.badSignature`, `.unknownDataKey`, `.decryptionFailed`,
    ///   `.malformed`, `.mismatchedPayload`).
    public func openChangeset(authorKey: PublicKey, keyring: DataKeyring, limits: ChangesetLimits = .standard) throws(RelayWireError) -> SignedChangeset {
        guard verifySignature(with: authorKey) else { throw RelayWireError(.badSignature, "the envelope's signature does not verify against its author's key") }
        let payload = try open(with: keyring)
        let changeset: SignedChangeset
        do {
            changeset = try SignedChangeset.decode(payload, limits: limits)
        } catch {
            throw RelayWireError(.malformed, "the envelope's payload is not a changeset: \(error)")
        }
        guard changeset.changeset.business == business, changeset.changeset.author == author, changeset.changeset.sequence == sequence else {
            throw RelayWireError(.mismatchedPayload, "the changeset inside names another business, author or sequence than the envelope")
        }
        return changeset
    }
}
