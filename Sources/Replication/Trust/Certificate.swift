/// A replica certificate: the business owner's signature over a replica's public key, its role,
/// its branch and its validity period. Encoded as documented in docs/sync-protocol.md.
public struct Certificate: Hashable, Sendable {
    public static let magic: [UInt8] = Array("EDCR".utf8)
    public static let version: UInt8 = 1

    public let ownerKey: PublicKey
    public let subjectKey: PublicKey
    public let role: String
    public let branch: String
    /// Validity, in Unix milliseconds (inclusive).
    public let notBefore: Int64
    public let notAfter: Int64
    public let signature: [UInt8]
    /// The exact bytes that were signed followed by the signature.
    public let encoded: [UInt8]

    public var subjectSite: SiteID { SiteID(publicKey: subjectKey) }
    public var business: BusinessID { BusinessID(ownerKey: ownerKey) }

    /// Issues a certificate signed by `owner`.
    public static func issue(by owner: SigningKey, for subject: PublicKey, role: String, branch: String, notBefore: Int64, notAfter: Int64) throws(TrustError) -> Certificate {
        try validateFields(role: role, branch: branch, notBefore: notBefore, notAfter: notAfter)
        var writer = ByteWriter(capacity: 192)
        writer.append(contentsOf: magic)
        writer.append(version)
        writer.append(contentsOf: owner.publicKey.bytes)
        writer.append(contentsOf: subject.bytes)
        writer.writeString(role)
        writer.writeString(branch)
        writer.writeInt64(notBefore)
        writer.writeInt64(notAfter)
        let signature = owner.sign(writer.bytes)
        writer.append(contentsOf: signature)
        return try decode(writer.bytes)
    }

    static func validateFields(role: String, branch: String, notBefore: Int64, notAfter: Int64) throws(TrustError) {
        guard !role.isEmpty, role.utf8.count <= 32, role.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "_") }) else {
            throw TrustError(.malformed, "role must be 1–32 ASCII letters or underscores, got \"\(role)\"")
        }
        guard branch.utf8.count <= 128 else { throw TrustError(.malformed, "branch is longer than 128 bytes") }
        guard notBefore <= notAfter else { throw TrustError(.malformed, "certificate validity ends before it begins") }
    }

    /// Decodes and verifies the owner's signature.
    /// - Throws: `TrustError` naming what is wrong.
    public static func decode(_ bytes: [UInt8]) throws(TrustError) -> Certificate {
        guard bytes.count <= 1024 else { throw TrustError(.malformed, "certificate is \(bytes.count) bytes; the limit is 1024") }
        var reader = ByteReader(bytes)
        do {
            guard try reader.readBytes(4) == magic else { throw TrustError(.malformed, "not a certificate (bad magic)") }
            let version = try reader.readByte()
            guard version == Self.version else { throw TrustError(.malformed, "unsupported certificate version \(version)") }
            let owner = PublicKey(bytes: try reader.readBytes(32))!
            let subject = PublicKey(bytes: try reader.readBytes(32))!
            let role = try reader.readString(limit: 32)
            let branch = try reader.readString(limit: 128)
            let notBefore = try reader.readInt64()
            let notAfter = try reader.readInt64()
            let signedCount = reader.offset
            let signature = try reader.readBytes(64)
            guard reader.isAtEnd else { throw TrustError(.malformed, "\(reader.remaining) trailing bytes after the certificate") }
            try validateFields(role: role, branch: branch, notBefore: notBefore, notAfter: notAfter)
            guard owner.verify(signature, over: Array(bytes[0..<signedCount])) else {
                throw TrustError(.badSignature, "certificate signature does not verify against its owner key")
            }
            return Certificate(ownerKey: owner, subjectKey: subject, role: role, branch: branch, notBefore: notBefore, notAfter: notAfter, signature: signature, encoded: bytes)
        } catch let error as DecodingError {
            throw TrustError(.malformed, "certificate: \(error)")
        } catch let error as TrustError {
            throw error
        } catch {
            throw TrustError(.malformed, "certificate: \(error)")
        }
    }

    /// Whether the certificate is valid at `milliseconds`.
    public func isValid(at milliseconds: Int64) -> Bool { notBefore <= milliseconds && milliseconds <= notAfter }

    /// A deterministic UUIDv7 row key, so that every replica stores the certificate under the same key.
    public var rowKey: String { UUIDv7.derived(from: Sodium.blake2b(encoded, length: 16), milliseconds: UInt64(max(0, notBefore))) }
}

/// An owner-signed revocation: the subject key's changesets stamped at or after
/// `effectiveFrom` are no longer accepted.
public struct Revocation: Hashable, Sendable {
    public static let magic: [UInt8] = Array("EDRV".utf8)
    public static let version: UInt8 = 1

    public let ownerKey: PublicKey
    public let subjectKey: PublicKey
    public let effectiveFrom: Int64
    public let reason: String
    public let signature: [UInt8]
    public let encoded: [UInt8]

    public var subjectSite: SiteID { SiteID(publicKey: subjectKey) }

    public static func issue(by owner: SigningKey, revoking subject: PublicKey, effectiveFrom: Int64, reason: String) throws(TrustError) -> Revocation {
        guard reason.utf8.count <= 512 else { throw TrustError(.malformed, "revocation reason is longer than 512 bytes") }
        var writer = ByteWriter(capacity: 192)
        writer.append(contentsOf: magic)
        writer.append(version)
        writer.append(contentsOf: owner.publicKey.bytes)
        writer.append(contentsOf: subject.bytes)
        writer.writeInt64(effectiveFrom)
        writer.writeString(reason)
        writer.append(contentsOf: owner.sign(writer.bytes))
        return try decode(writer.bytes)
    }

    public static func decode(_ bytes: [UInt8]) throws(TrustError) -> Revocation {
        guard bytes.count <= 1024 else { throw TrustError(.malformed, "revocation is \(bytes.count) bytes; the limit is 1024") }
        var reader = ByteReader(bytes)
        do {
            guard try reader.readBytes(4) == magic else { throw TrustError(.malformed, "not a revocation (bad magic)") }
            let version = try reader.readByte()
            guard version == Self.version else { throw TrustError(.malformed, "unsupported revocation version \(version)") }
            let owner = PublicKey(bytes: try reader.readBytes(32))!
            let subject = PublicKey(bytes: try reader.readBytes(32))!
            let effectiveFrom = try reader.readInt64()
            let reason = try reader.readString(limit: 512)
            let signedCount = reader.offset
            let signature = try reader.readBytes(64)
            guard reader.isAtEnd else { throw TrustError(.malformed, "\(reader.remaining) trailing bytes after the revocation") }
            guard owner.verify(signature, over: Array(bytes[0..<signedCount])) else {
                throw TrustError(.badSignature, "revocation signature does not verify against its owner key")
            }
            return Revocation(ownerKey: owner, subjectKey: subject, effectiveFrom: effectiveFrom, reason: reason, signature: signature, encoded: bytes)
        } catch let error as DecodingError {
            throw TrustError(.malformed, "revocation: \(error)")
        } catch let error as TrustError {
            throw error
        } catch {
            throw TrustError(.malformed, "revocation: \(error)")
        }
    }

    public var rowKey: String { UUIDv7.derived(from: Sodium.blake2b(encoded, length: 16), milliseconds: UInt64(max(0, effectiveFrom))) }
}

/// Why a certificate, revocation or author could not be trusted.
public struct TrustError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Value: String { case malformed, badSignature, wrongBusiness, unknownAuthor, notValidAtTime, revoked }
        let value: Value
        public static let malformed = Code(value: .malformed)
        public static let badSignature = Code(value: .badSignature)
        public static let wrongBusiness = Code(value: .wrongBusiness)
        public static let unknownAuthor = Code(value: .unknownAuthor)
        public static let notValidAtTime = Code(value: .notValidAtTime)
        public static let revoked = Code(value: .revoked)
        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}

/// The certificates and revocations a replica knows, for one business.
public struct TrustStore: Sendable {
    public let ownerKey: PublicKey
    public private(set) var certificates: [SiteID: [Certificate]] = [:]
    public private(set) var revocations: [SiteID: [Revocation]] = [:]

    public init(ownerKey: PublicKey) { self.ownerKey = ownerKey }

    public var business: BusinessID { BusinessID(ownerKey: ownerKey) }

    /// Adds a certificate after checking it belongs to this business.
    public mutating func add(_ certificate: Certificate) throws(TrustError) {
        guard certificate.ownerKey == ownerKey else {
            throw TrustError(.wrongBusiness, "certificate for \(certificate.subjectSite) is signed by another business's owner key")
        }
        var list = certificates[certificate.subjectSite, default: []]
        if !list.contains(certificate) { list.append(certificate) }
        certificates[certificate.subjectSite] = list
    }

    public mutating func add(_ revocation: Revocation) throws(TrustError) {
        guard revocation.ownerKey == ownerKey else {
            throw TrustError(.wrongBusiness, "revocation of \(revocation.subjectSite) is signed by another business's owner key")
        }
        var list = revocations[revocation.subjectSite, default: []]
        if !list.contains(revocation) { list.append(revocation) }
        revocations[revocation.subjectSite] = list
    }

    /// The public key that may sign as `site` at `milliseconds`.
    /// - Throws: `TrustError` with `.unknownAuthor`, `.notValidAtTime` or `.revoked`.
    public func authorKey(for site: SiteID, at milliseconds: Int64) throws(TrustError) -> PublicKey {
        guard let list = certificates[site], !list.isEmpty else {
            throw TrustError(.unknownAuthor, "no certificate is known for site \(site)")
        }
        if let revocation = revocations[site]?.filter({ $0.effectiveFrom <= milliseconds }).min(by: { $0.effectiveFrom < $1.effectiveFrom }) {
            throw TrustError(.revoked, "site \(site) was revoked from \(revocation.effectiveFrom) (\(revocation.reason)); the changeset is stamped \(milliseconds)")
        }
        guard let valid = list.first(where: { $0.isValid(at: milliseconds) }) else {
            let ranges = list.map { "\($0.notBefore)…\($0.notAfter)" }.joined(separator: ", ")
            throw TrustError(.notValidAtTime, "no certificate of site \(site) is valid at \(milliseconds) (valid: \(ranges))")
        }
        return valid.subjectKey
    }

    public func isRevoked(_ site: SiteID) -> Bool { !(revocations[site]?.isEmpty ?? true) }
}
