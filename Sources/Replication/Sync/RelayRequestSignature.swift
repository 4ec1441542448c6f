/// The signature that authenticates an HTTP request to the relay (docs/relay-protocol.md §4).
///
/// The signer is a box (its identity key, certified by the owner) or the business owner (the
/// owner's root key; its "site" is `SiteID(publicKey: ownerKey)`). It signs
///
///     "edgenode.relay.request.v1"   25 ASCII bytes, no length prefix
///     string  method                the request method as sent, e.g. "POST"
///     string  path                  the request target's path as sent (before any '?'), not decoded
///     string  query                 what follows '?', as sent; empty when there is none
///     bytes[32] BLAKE2b-256(body)   of the exact body bytes (an empty body hashes the empty string)
///     i64be   timestamp             Unix milliseconds
///     bytes[16] business id
///     bytes[16] site id
///     bytes[16] nonce               random, never reused
///
/// (`string` is a varint length and the UTF-8 bytes, as in sync-protocol §2.4) and sends
///
///     Authorization: EdgenodeRelay-Ed25519 business=<32 hex>,site=<32 hex>,timestamp=<decimal>,nonce=<32 hex>,signature=<128 hex>
///
/// with exactly these parameters in this order, lower-case hex, no spaces after the commas.
public struct RelayRequestSignature: Hashable, Sendable {
    public static let scheme = "EdgenodeRelay-Ed25519"
    public static let label: [UInt8] = Array("edgenode.relay.request.v1".utf8)
    public static let nonceLength = 16

    public let business: BusinessID
    public let site: SiteID
    public let timestamp: Int64
    public let nonce: [UInt8]
    public let signature: [UInt8]

    public init(business: BusinessID, site: SiteID, timestamp: Int64, nonce: [UInt8], signature: [UInt8]) {
        self.business = business
        self.site = site
        self.timestamp = timestamp
        self.nonce = nonce
        self.signature = signature
    }

    /// The exact bytes that are signed.
    public static func signedBytes(method: String, path: String, query: String, bodyHash: [UInt8], timestamp: Int64,
                                   business: BusinessID, site: SiteID, nonce: [UInt8]) -> [UInt8] {
        var writer = ByteWriter(capacity: 160 + path.utf8.count + query.utf8.count)
        writer.append(contentsOf: label)
        writer.writeString(method)
        writer.writeString(path)
        writer.writeString(query)
        writer.append(contentsOf: bodyHash)
        writer.writeInt64(timestamp)
        writer.append(contentsOf: business.bytes)
        writer.append(contentsOf: site.bytes)
        writer.append(contentsOf: nonce)
        return writer.bytes
    }

    /// Signs a request with `key` (a box's identity key or the owner's root key).
    public static func sign(method: String, path: String, query: String = "", body: [UInt8], business: BusinessID, key: SigningKey,
                            timestamp: Int64, nonce: [UInt8] = Sodium.randomBytes(nonceLength)) -> RelayRequestSignature {
        let site = SiteID(publicKey: key.publicKey)
        let message = signedBytes(method: method, path: path, query: query, bodyHash: Sodium.blake2b(body, length: 32),
                                  timestamp: timestamp, business: business, site: site, nonce: nonce)
        return RelayRequestSignature(business: business, site: site, timestamp: timestamp, nonce: nonce, signature: key.sign(message))
    }

    /// The `Authorization` header's value.
    public var headerValue: String {
        "\(Self.scheme) business=\(business.hex),site=\(site.hex),timestamp=\(timestamp),nonce=\(nonce.hexString),signature=\(signature.hexString)"
    }

    /// Parses an `Authorization` header value strictly (see the type's documentation).
    /// - Throws: `RelayWireError.malformed` naming what is wrong.
    public static func parse(_ headerValue: String) throws(RelayWireError) -> RelayRequestSignature {
        guard headerValue.utf8.count <= 512 else { throw RelayWireError(.malformed, "the Authorization header is too long") }
        let prefix = scheme + " "
        guard headerValue.hasPrefix(prefix) else { throw RelayWireError(.malformed, "the Authorization scheme must be \(scheme)") }
        let parameters = headerValue.dropFirst(prefix.count).split(separator: ",", omittingEmptySubsequences: false)
        let names = ["business", "site", "timestamp", "nonce", "signature"]
        guard parameters.count == names.count else {
            throw RelayWireError(.malformed, "the Authorization header must have the parameters \(names.joined(separator: ", ")) in this order")
        }
        var values: [Substring] = []
        for (parameter, name) in zip(parameters, names) {
            guard parameter.hasPrefix(name + "=") else {
                throw RelayWireError(.malformed, "the Authorization header must have the parameters \(names.joined(separator: ", ")) in this order")
            }
            values.append(parameter.dropFirst(name.count + 1))
        }
        func hex(_ value: Substring, _ count: Int, _ name: String) throws(RelayWireError) -> [UInt8] {
            guard value.utf8.count == count * 2, value.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
                  let bytes = [UInt8](hex: String(value)) else {
                throw RelayWireError(.malformed, "\(name) must be \(count * 2) lower-case hex digits")
            }
            return bytes
        }
        let business = BusinessID(bytes: try hex(values[0], 16, "business"))!
        let site = SiteID(bytes: try hex(values[1], 16, "site"))!
        guard values[2].utf8.count <= 19, values[2].utf8.allSatisfy({ (48...57).contains($0) }), let timestamp = Int64(values[2]),
              values[2] == String(timestamp) else {
            throw RelayWireError(.malformed, "timestamp must be a non-negative decimal number of milliseconds without leading zeros")
        }
        let nonce = try hex(values[3], nonceLength, "nonce")
        let signature = try hex(values[4], 64, "signature")
        return RelayRequestSignature(business: business, site: site, timestamp: timestamp, nonce: nonce, signature: signature)
    }

    /// Whether the signature verifies for this request with `key`, which must be the key the
    /// signing site id is derived from.
    public func verify(method: String, path: String, query: String, body: [UInt8], key: PublicKey) -> Bool {
        guard SiteID(publicKey: key) == site else { return false }
        let message = Self.signedBytes(method: method, path: path, query: query, bodyHash: Sodium.blake2b(body, length: 32),
                                       timestamp: timestamp, business: business, site: site, nonce: nonce)
        return key.verify(signature, over: message)
    }
}

/// The owner's proof of possession when registering a business with a relay
/// (docs/relay-protocol.md §5.1): an Ed25519 signature by the owner's root key over
///
///     "edgenode.relay.register.v1" (26 ASCII bytes) || owner public key (32) || i64be timestamp (Unix ms)
public enum RelayRegistrationProof {
    public static let label: [UInt8] = Array("edgenode.relay.register.v1".utf8)

    public static func signedBytes(ownerKey: PublicKey, timestamp: Int64) -> [UInt8] {
        var writer = ByteWriter(capacity: 66)
        writer.append(contentsOf: label)
        writer.append(contentsOf: ownerKey.bytes)
        writer.writeInt64(timestamp)
        return writer.bytes
    }

    public static func sign(owner: SigningKey, timestamp: Int64) -> [UInt8] {
        owner.sign(signedBytes(ownerKey: owner.publicKey, timestamp: timestamp))
    }

    public static func verify(_ signature: [UInt8], ownerKey: PublicKey, timestamp: Int64) -> Bool {
        ownerKey.verify(signature, over: signedBytes(ownerKey: ownerKey, timestamp: timestamp))
    }
}
