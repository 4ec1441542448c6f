/// An owner-signed invitation for one new box to join the business through the relay
/// (docs/relay-protocol.md §12). It names the *invitation key*, a throw-away Ed25519 key whose
/// seed travels only inside the invitation token; whoever holds the token may ask, once and
/// before `notAfter`, for a certificate with the invitation's role and branch.
///
/// Format version 1 (integers big-endian, `string` = varint length and UTF-8, sync-protocol §2.4):
///
///     off  size  field
///       0     4  magic "EDIV"
///       4     1  version = 1
///       5    32  owner's Ed25519 public key
///      37    32  invitation public key
///      69     8  i64be issued at, Unix milliseconds
///      77     8  i64be not after, Unix milliseconds (inclusive); issued at ≤ not after ≤ issued at + 7 days
///      85     …  string role: 1–32 bytes, ASCII letters and "_" (as in a certificate)
///       …     …  string branch: 0–128 bytes (as in a certificate)
///       …     …  string relay URL: 1–512 bytes
///       …    64  Ed25519 signature by the owner key over every byte before it
public struct Invitation: Hashable, Sendable {
    public static let magic: [UInt8] = Array("EDIV".utf8)
    public static let version: UInt8 = 1
    /// The longest an invitation may be valid: 7 days.
    public static let maximumValidityMilliseconds: Int64 = 7 * 86_400_000

    public let ownerKey: PublicKey
    public let invitationKey: PublicKey
    public let issuedAt: Int64
    public let notAfter: Int64
    public let role: String
    public let branch: String
    public let relayURL: String
    public let signature: [UInt8]
    /// The exact bytes that travel, signature included.
    public let encoded: [UInt8]

    public var business: BusinessID { BusinessID(ownerKey: ownerKey) }
    /// The invitation's id at the relay: the site id of its key (sync-protocol §3.1).
    public var id: SiteID { SiteID(publicKey: invitationKey) }

    /// Makes an invitation signed by `owner` for `invitationKey`.
    /// - Throws: `RelayWireError.malformed` for a field out of its range.
    public static func issue(by owner: SigningKey, invitationKey: PublicKey, role: String, branch: String, relayURL: String,
                             issuedAt: Int64, notAfter: Int64) throws(RelayWireError) -> Invitation {
        var writer = ByteWriter(capacity: 256)
        writer.append(contentsOf: magic)
        writer.append(version)
        writer.append(contentsOf: owner.publicKey.bytes)
        writer.append(contentsOf: invitationKey.bytes)
        writer.writeInt64(issuedAt)
        writer.writeInt64(notAfter)
        writer.writeString(role)
        writer.writeString(branch)
        writer.writeString(relayURL)
        writer.append(contentsOf: owner.sign(writer.bytes))
        return try decode(writer.bytes)
    }

    /// Decodes an invitation and verifies the owner's signature.
    /// - Throws: `RelayWireError`: `.unsupportedVersion`, `.badSignature`, or
    ///   `.malformed` naming the first problem.
    public static func decode(_ bytes: [UInt8]) throws(RelayWireError) -> Invitation {
        var reader = ByteReader(bytes)
        let invitation = try read(from: &reader)
        guard reader.isAtEnd else { throw RelayWireError(.malformed, "\(reader.remaining) trailing bytes after the invitation") }
        return invitation
    }

    /// Reads one invitation from `reader` (it may be followed by other bytes, as in a token).
    static func read(from reader: inout ByteReader) throws(RelayWireError) -> Invitation {
        let start = reader.offset
        do {
            guard try reader.readBytes(4) == magic else { throw RelayWireError(.malformed, "not an invitation (bad magic)") }
            let version = try reader.readByte()
            guard version == Self.version else { throw RelayWireError(.unsupportedVersion, "unsupported invitation version \(version)") }
            let owner = PublicKey(bytes: try reader.readBytes(32))!
            let invitationKey = PublicKey(bytes: try reader.readBytes(32))!
            let issuedAt = try reader.readInt64()
            let notAfter = try reader.readInt64()
            let role = try reader.readString(limit: 32)
            let branch = try reader.readString(limit: 128)
            let relayURL = try reader.readString(limit: 512)
            let signedEnd = reader.offset
            let signature = try reader.readBytes(64)
            guard !role.isEmpty, role.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "_") }) else {
                throw RelayWireError(.malformed, "the invitation's role must be 1–32 ASCII letters or underscores")
            }
            guard !relayURL.isEmpty else { throw RelayWireError(.malformed, "the invitation names no relay") }
            guard issuedAt <= notAfter else { throw RelayWireError(.malformed, "the invitation expires before it was issued") }
            guard notAfter - issuedAt <= maximumValidityMilliseconds else {
                throw RelayWireError(.malformed, "the invitation is valid for more than 7 days")
            }
            let signed = Array(reader.bytes[start..<signedEnd])
            guard owner.verify(signature, over: signed) else {
                throw RelayWireError(.badSignature, "the invitation's signature does not verify against the owner key it names")
            }
            return Invitation(ownerKey: owner, invitationKey: invitationKey, issuedAt: issuedAt, notAfter: notAfter, role: role, branch: branch,
                              relayURL: relayURL, signature: signature, encoded: signed + signature)
        } catch let error as RelayWireError {
            throw error
        } catch {
            throw RelayWireError(.malformed, "invitation: \(error)")
        }
    }

    /// Whether it may still be used at `milliseconds`.
    public func isValid(at milliseconds: Int64) -> Bool { milliseconds <= notAfter }
}

/// What the owner hands to the person setting up a new box: the invitation and the seed of its
/// key, as one line of text:
///
///     edgenode-invite-1:<base64url without padding of (invitation bytes || invitation key seed, 32 bytes)>
///
/// The token is the only secret: whoever holds it can ask to join (once, until it expires).
public struct InvitationToken: Sendable {
    public static let prefix = "edgenode-invite-1:"

    public let invitation: Invitation
    /// The invitation key (from the seed), which signs the join request.
    public let key: SigningKey

    public init(invitation: Invitation, key: SigningKey) {
        self.invitation = invitation
        self.key = key
    }

    /// The token's text.
    public var text: String { Self.prefix + Base64URL.encode(invitation.encoded + key.seed) }

    /// Parses a token: its prefix and encoding, the invitation (with the owner's signature) and
    /// that the seed is the invitation key's. It does not check the expiry (see `Invitation.isValid(at:)`).
    /// - Throws: `RelayWireError` (`.malformed`, `.unsupportedVersion`, `.badSignature`) with a
    ///   message for a person.
    public static func parse(_ text: String) throws(RelayWireError) -> InvitationToken {
        let trimmed = text.trimmingSpaces
        guard trimmed.hasPrefix(prefix) else {
            if trimmed.hasPrefix("edgenode-invite-") {
                throw RelayWireError(.unsupportedVersion, "this invitation token is of a version this edgenode does not know; update edgenode")
            }
            throw RelayWireError(.malformed, "not an edgenode invitation token (it starts with \(prefix))")
        }
        guard let bytes = Base64URL.decode(String(trimmed.dropFirst(prefix.count))) else {
            throw RelayWireError(.malformed, "the invitation token is damaged (not base64url); copy it again in full")
        }
        var reader = ByteReader(bytes)
        let invitation: Invitation
        do { invitation = try Invitation.read(from: &reader) } catch {
            if error.code == .badSignature {
                throw RelayWireError(.badSignature, "the invitation token was altered: the owner's signature does not verify")
            }
            throw RelayWireError(error.code, "the invitation token is damaged: \(error.message)")
        }
        guard reader.remaining == 32, let key = SigningKey(seed: Array(bytes[reader.offset...])) else {
            throw RelayWireError(.malformed, "the invitation token is damaged (its key is missing or truncated); copy it again in full")
        }
        guard key.publicKey == invitation.invitationKey else {
            throw RelayWireError(.badSignature, "the invitation token was altered: its key is not the invitation's")
        }
        return InvitationToken(invitation: invitation, key: key)
    }
}

/// A new box's request to join, signed by the box's identity key (possession) and by the
/// invitation key (authority: the holder of the token asks). The relay stores it; the owner's
/// box checks it against the invitation it issued and answers with a certificate for `boxKey`.
///
/// Format version 1:
///
///     off  size  field
///       0     4  magic "EDJR"
///       4     1  version = 1
///       5    16  business id
///      21    32  invitation public key
///      53    32  the new box's Ed25519 public key (its identity key)
///      85     8  i64be requested at, Unix milliseconds
///      93     …  string label: 0–64 bytes UTF-8 (e.g. the box's host name; shown in logs only)
///       …    64  Ed25519 signature by the box key over bytes 0..<s (s = where this field starts)
///       …    64  Ed25519 signature by the invitation key over the same bytes 0..<s
public struct JoinRequest: Hashable, Sendable {
    public static let magic: [UInt8] = Array("EDJR".utf8)
    public static let version: UInt8 = 1
    public static let maximumBytes = 512

    public let business: BusinessID
    public let invitationKey: PublicKey
    public let boxKey: PublicKey
    public let requestedAt: Int64
    public let label: String
    public let encoded: [UInt8]

    public var boxSite: SiteID { SiteID(publicKey: boxKey) }
    public var invitationID: SiteID { SiteID(publicKey: invitationKey) }

    /// A join request for `box` under `invitation`.
    public static func make(business: BusinessID, invitation: SigningKey, box: SigningKey, label: String, requestedAt: Int64) throws(RelayWireError) -> JoinRequest {
        var writer = ByteWriter(capacity: 256)
        writer.append(contentsOf: magic)
        writer.append(version)
        writer.append(contentsOf: business.bytes)
        writer.append(contentsOf: invitation.publicKey.bytes)
        writer.append(contentsOf: box.publicKey.bytes)
        writer.writeInt64(requestedAt)
        var shortened = label
        while shortened.utf8.count > 64 { shortened.removeLast() }
        writer.writeString(shortened)
        let signed = writer.bytes
        writer.append(contentsOf: box.sign(signed))
        writer.append(contentsOf: invitation.sign(signed))
        return try decode(writer.bytes)
    }

    /// Decodes a join request and verifies both signatures.
    /// - Throws: `RelayWireError` (`.malformed`, `.unsupportedVersion`, `.tooLarge`, `.badSignature`).
    public static func decode(_ bytes: [UInt8]) throws(RelayWireError) -> JoinRequest {
        guard bytes.count <= maximumBytes else { throw RelayWireError(.tooLarge, "a join request is at most \(maximumBytes) bytes") }
        var reader = ByteReader(bytes)
        do {
            guard try reader.readBytes(4) == magic else { throw RelayWireError(.malformed, "not a join request (bad magic)") }
            let version = try reader.readByte()
            guard version == Self.version else { throw RelayWireError(.unsupportedVersion, "unsupported join request version \(version)") }
            let business = BusinessID(bytes: try reader.readBytes(16))!
            let invitationKey = PublicKey(bytes: try reader.readBytes(32))!
            let boxKey = PublicKey(bytes: try reader.readBytes(32))!
            let requestedAt = try reader.readInt64()
            let label = try reader.readString(limit: 64)
            let signed = Array(bytes[0..<reader.offset])
            let boxSignature = try reader.readBytes(64)
            let invitationSignature = try reader.readBytes(64)
            guard reader.isAtEnd else { throw RelayWireError(.malformed, "\(reader.remaining) trailing bytes after the join request") }
            guard boxKey != invitationKey else { throw RelayWireError(.malformed, "the box key must not be the invitation key") }
            guard boxKey.verify(boxSignature, over: signed) else {
                throw RelayWireError(.badSignature, "the join request's box signature does not verify")
            }
            guard invitationKey.verify(invitationSignature, over: signed) else {
                throw RelayWireError(.badSignature, "the join request is not signed by the invitation's key")
            }
            return JoinRequest(business: business, invitationKey: invitationKey, boxKey: boxKey, requestedAt: requestedAt, label: label, encoded: bytes)
        } catch let error as RelayWireError {
            throw error
        } catch {
            throw RelayWireError(.malformed, "join request: \(error)")
        }
    }
}

/// RFC 4648 §5 base64url without padding, strict: no padding, no white space, no other
/// characters, and the unused low bits of the last character must be zero (one spelling per value).
public enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int(value >> UInt32(shift) & 63)]) }
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let value = UInt32(bytes[index]) << 16
            for shift in [18, 12] { out.append(alphabet[Int(value >> UInt32(shift) & 63)]) }
        } else if rest == 2 {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            for shift in [18, 12, 6] { out.append(alphabet[Int(value >> UInt32(shift) & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt32] = []
        values.reserveCapacity(text.utf8.count)
        for character in text.utf8 {
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(UInt32(character - UInt8(ascii: "A")))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(UInt32(character - UInt8(ascii: "a") + 26))
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(UInt32(character - UInt8(ascii: "0") + 52))
            case UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "_"): values.append(63)
            default: return nil
            }
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index + 4 <= values.count {
            let value = values[index] << 18 | values[index + 1] << 12 | values[index + 2] << 6 | values[index + 3]
            out += [UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
            index += 4
        }
        let rest = values.count - index
        if rest == 2 {
            guard values[index + 1] & 0x0f == 0 else { return nil }
            out.append(UInt8((values[index] << 2 | values[index + 1] >> 4) & 0xff))
        } else if rest == 3 {
            guard values[index + 2] & 0x03 == 0 else { return nil }
            let value = values[index] << 18 | values[index + 1] << 12 | values[index + 2] << 6
            out += [UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff)]
        }
        return out
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks (a token pasted from a message).
    var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[first...last]
    }
}
