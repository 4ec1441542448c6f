/// A snapshot of a replica (sync-protocol §10), encrypted with the business's data key and signed
/// by the box that made it, as the relay keeps it for boxes that join later
/// (docs/relay-protocol.md §13). The relay reads the cleartext header — producer, time, key
/// generation and the version vector the snapshot reflects — and checks the signature; it
/// cannot read the snapshot.
///
/// Format version 1, all integers big-endian:
///
///     off     size  field
///       0        4  magic "EDSS"
///       4        1  format version = 1
///       5       16  business id
///      21       16  producer site id
///      37        8  i64be created at, Unix milliseconds (claimed by the producer)
///      45        4  u32be data-key generation that encrypted the snapshot, ≥ 1
///      49       24  nonce, random
///      73        4  u32be vector length v, ≤ 65536
///      77        v  version vector (sync-protocol §9) the snapshot reflects
///      77+v      8  u64be ciphertext length n, n ≥ 16 and n = total − (149 + v)
///      85+v      n  ciphertext = XChaCha20-Poly1305-IETF(snapshot, key, nonce, aad = bytes[0..<85+v])
///      85+v+n   64  Ed25519 signature by the producer's identity key over bytes[0..<85+v+n]
public struct SealedSnapshot: Sendable {
    public static let magic: [UInt8] = Array("EDSS".utf8)
    public static let formatVersion: UInt8 = 1
    public static let maximumVectorBytes = 65536
    static let fixedHeaderLength = 77
    static let signatureLength = 64

    public let business: BusinessID
    public let producer: SiteID
    public let createdAt: Int64
    public let keyID: DataKeyID
    public let nonce: [UInt8]
    public let vector: VersionVector
    /// The exact bytes that travel.
    public let bytes: [UInt8]
    let headerLength: Int

    public var header: ArraySlice<UInt8> { bytes[..<headerLength] }
    public var ciphertext: ArraySlice<UInt8> { bytes[headerLength..<(bytes.count - Self.signatureLength)] }
    public var signature: ArraySlice<UInt8> { bytes[(bytes.count - Self.signatureLength)...] }
    public var signedPart: ArraySlice<UInt8> { bytes[..<(bytes.count - Self.signatureLength)] }

    /// Encrypts `snapshot` (the bytes of `ReplicaStore.makeSnapshot()`) with `dataKey` and signs it
    /// with the producer's identity key.
    /// - Throws: `RelayWireError.malformed` for a bad nonce or a vector too long for the format.
    public static func seal(_ snapshot: [UInt8], business: BusinessID, vector: VersionVector, producer: SigningKey, dataKey: DataKey,
                            createdAt: Int64, nonce: [UInt8] = Sodium.randomBytes(Sodium.aeadNonceLength)) throws(RelayWireError) -> SealedSnapshot {
        guard nonce.count == Sodium.aeadNonceLength else { throw RelayWireError(.malformed, "the nonce must be \(Sodium.aeadNonceLength) bytes") }
        let vectorBytes = vector.encode()
        guard vectorBytes.count <= maximumVectorBytes else { throw RelayWireError(.malformed, "the version vector is too long for a sealed snapshot") }
        var writer = ByteWriter(capacity: fixedHeaderLength + vectorBytes.count + 8 + snapshot.count + Sodium.aeadTagLength + signatureLength)
        writer.append(contentsOf: magic)
        writer.append(formatVersion)
        writer.append(contentsOf: business.bytes)
        writer.append(contentsOf: SiteID(publicKey: producer.publicKey).bytes)
        writer.writeInt64(createdAt)
        writer.append(contentsOf: bigEndian(dataKey.id.rawValue))
        writer.append(contentsOf: nonce)
        writer.append(contentsOf: bigEndian(UInt32(vectorBytes.count)))
        writer.append(contentsOf: vectorBytes)
        writer.writeUInt64(UInt64(snapshot.count + Sodium.aeadTagLength))
        let header = writer.bytes
        guard let ciphertext = Sodium.aeadEncrypt(snapshot[...], additionalData: header[...], nonce: nonce, key: dataKey.bytes) else {
            throw RelayWireError(.malformed, "encryption failed")
        }
        writer.append(contentsOf: ciphertext)
        writer.append(contentsOf: producer.sign(writer.bytes))
        return try decode(writer.bytes, maxBytes: Int.max)
    }

    /// Decodes the structure without checking the signature or decrypting.
    /// - Throws: `RelayWireError` with `.tooLarge` (above `maxBytes`), `.unsupportedVersion`, or
    ///   `.malformed` naming the first problem (too short, bad magic, key generation 0, a vector
    ///   that does not decode, a ciphertext length that disagrees with the size).
    public static func decode(_ bytes: [UInt8], maxBytes: Int) throws(RelayWireError) -> SealedSnapshot {
        guard bytes.count <= maxBytes else { throw RelayWireError(.tooLarge, "the snapshot is \(bytes.count) bytes; the limit is \(maxBytes)") }
        let minimum = fixedHeaderLength + 1 + 8 + Sodium.aeadTagLength + signatureLength
        guard bytes.count >= minimum else {
            throw RelayWireError(.malformed, "the sealed snapshot is \(bytes.count) bytes, shorter than the smallest possible (\(minimum))")
        }
        guard Array(bytes[0..<4]) == magic else { throw RelayWireError(.malformed, "not a sealed snapshot (bad magic)") }
        guard bytes[4] == formatVersion else { throw RelayWireError(.unsupportedVersion, "unsupported sealed snapshot format version \(bytes[4])") }
        var reader = ByteReader(bytes, offset: 5)
        do {
            let business = BusinessID(bytes: try reader.readBytes(16))!
            let producer = SiteID(bytes: try reader.readBytes(16))!
            let createdAt = try reader.readInt64()
            let keyID = DataKeyID(readBigEndianUInt32(bytes, at: reader.offset))
            _ = try reader.readBytes(4)
            guard keyID.rawValue >= 1 else { throw RelayWireError(.malformed, "data key generations start at 1") }
            let nonce = try reader.readBytes(Sodium.aeadNonceLength)
            let vectorLength = Int(readBigEndianUInt32(bytes, at: reader.offset))
            _ = try reader.readBytes(4)
            guard vectorLength <= maximumVectorBytes else { throw RelayWireError(.malformed, "the version vector is longer than \(maximumVectorBytes) bytes") }
            let vector: VersionVector
            do { vector = try VersionVector.decode(try reader.readBytes(vectorLength)) } catch {
                throw RelayWireError(.malformed, "the snapshot's version vector does not decode: \(error)")
            }
            let ciphertextLength = try reader.readUInt64()
            let headerLength = reader.offset
            guard ciphertextLength >= UInt64(Sodium.aeadTagLength), ciphertextLength == UInt64(bytes.count - headerLength - signatureLength) else {
                throw RelayWireError(.malformed, "the ciphertext length \(ciphertextLength) disagrees with the sealed snapshot's size (\(bytes.count) bytes)")
            }
            return SealedSnapshot(business: business, producer: producer, createdAt: createdAt, keyID: keyID, nonce: nonce, vector: vector,
                                  bytes: bytes, headerLength: headerLength)
        } catch let error as RelayWireError {
            throw error
        } catch {
            throw RelayWireError(.malformed, "sealed snapshot: \(error)")
        }
    }

    /// Whether the signature verifies against `producerKey`, which must be the key the producer
    /// site id is derived from.
    public func verifySignature(with producerKey: PublicKey) -> Bool {
        SiteID(publicKey: producerKey) == producer && producerKey.verify(signature, over: signedPart)
    }

    /// Checks the signature, decrypts, and checks that the snapshot inside names the same
    /// business and producer as the header. The snapshot carries its own signature, which applying
    /// it checks (sync-protocol §10).
    /// - Throws: `.badSignature`, `.unknownDataKey`, `.decryptionFailed`, `.mismatchedPayload`.
    public func open(producerKey: PublicKey, keyring: DataKeyring) throws(RelayWireError) -> [UInt8] {
        guard verifySignature(with: producerKey) else { throw RelayWireError(.badSignature, "the sealed snapshot's signature does not verify against its producer's key") }
        return try open(with: keyring)
    }

    /// Decrypts without checking the outer signature (for a box that does not know the producer
    /// yet: the data key authenticates the content, and the snapshot's own signature is checked
    /// against the producer's certificate when it is applied), and checks that the snapshot inside
    /// names the same business and producer as the header.
    /// - Throws: `.unknownDataKey`, `.decryptionFailed`, `.mismatchedPayload`.
    public func open(with keyring: DataKeyring) throws(RelayWireError) -> [UInt8] {
        guard let key = keyring[keyID] else { throw RelayWireError(.unknownDataKey, "this box does not hold data key generation \(keyID)") }
        guard let plaintext = Sodium.aeadDecrypt(ciphertext, additionalData: header, nonce: nonce, key: key.bytes) else {
            throw RelayWireError(.decryptionFailed, "the sealed snapshot does not decrypt with data key generation \(keyID)")
        }
        // A snapshot starts "EDSN", version, business id (16), producer site id (16).
        guard plaintext.count >= 37, Array(plaintext[5..<21]) == business.bytes, Array(plaintext[21..<37]) == producer.bytes else {
            throw RelayWireError(.mismatchedPayload, "the snapshot inside names another business or producer than its header")
        }
        return plaintext
    }
}
