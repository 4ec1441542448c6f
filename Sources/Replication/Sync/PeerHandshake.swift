/// Mutual authentication of two replicas of one business before they exchange changesets
/// (sync-protocol §12.1). Sans-IO: it builds and checks the bytes; the transport carries them.
///
/// 1. The client sends `hello`: its certificate and a fresh 32-byte nonce.
/// 2. The server checks the certificate (same owner key, valid now, not revoked), answers with
///    its own certificate, a fresh nonce and its signature over the server transcript.
/// 3. The client checks the server's certificate the same way and its signature, then sends its
///    signature over the client transcript. The server checks it and opens a session.
///
/// Both transcripts bind the business, both sites and both nonces, each with its own label,
/// so a signature can be replayed neither in another session nor in the other direction.
public enum PeerHandshake {
    public static let protocolVersion: UInt8 = 1
    public static let nonceLength = 32

    public enum Side: String, Sendable {
        case client
        case server
    }

    /// `"edgenode.sync.v1." + side || business (16) || client site (16) || server site (16) || client nonce (32) || server nonce (32)`.
    public static func transcript(_ side: Side, business: BusinessID, client: SiteID, server: SiteID,
                                  clientNonce: [UInt8], serverNonce: [UInt8]) -> [UInt8] {
        Array("edgenode.sync.v1.\(side.rawValue)".utf8) + business.bytes + client.bytes + server.bytes + clientNonce + serverNonce
    }

    /// A fresh nonce.
    public static func nonce() -> [UInt8] { Sodium.randomBytes(nonceLength) }

    /// Checks a peer's certificate against our trust: same business, valid at `now`, not
    /// revoked at `now`, and not our own site. Returns the peer's site.
    public static func verifyPeer(_ certificateBytes: [UInt8], trust: TrustStore, ourSite: SiteID, now milliseconds: Int64) throws(PeerAuthError) -> Certificate {
        let certificate: Certificate
        do {
            certificate = try Certificate.decode(certificateBytes)
        } catch {
            throw PeerAuthError(.malformed, "the peer's certificate does not decode: \(error)")
        }
        guard certificate.ownerKey == trust.ownerKey else {
            throw PeerAuthError(.wrongBusiness, "the peer belongs to another business (\(certificate.business.hex.prefix(12))…)")
        }
        guard certificate.subjectSite != ourSite else { throw PeerAuthError(.malformed, "the peer presented this box's own certificate") }
        guard certificate.isValid(at: milliseconds) else {
            throw PeerAuthError(.notValid, "the peer's certificate is valid only from \(certificate.notBefore) to \(certificate.notAfter) (ms)")
        }
        if let revocation = trust.revocations[certificate.subjectSite]?.first(where: { $0.effectiveFrom <= milliseconds }) {
            throw PeerAuthError(.revoked, "the peer \(certificate.subjectSite.hex.prefix(12))… was revoked: \(revocation.reason)")
        }
        return certificate
    }

    /// Our signature over `side`'s transcript.
    public static func sign(_ side: Side, identity: SigningKey, business: BusinessID, client: SiteID, server: SiteID,
                            clientNonce: [UInt8], serverNonce: [UInt8]) -> [UInt8] {
        identity.sign(transcript(side, business: business, client: client, server: server, clientNonce: clientNonce, serverNonce: serverNonce))
    }

    /// Checks the peer's signature over `side`'s transcript with the key its certificate names.
    public static func verify(_ signature: [UInt8], _ side: Side, peer: Certificate, business: BusinessID, client: SiteID, server: SiteID,
                              clientNonce: [UInt8], serverNonce: [UInt8]) throws(PeerAuthError) {
        guard clientNonce.count == nonceLength, serverNonce.count == nonceLength else {
            throw PeerAuthError(.malformed, "nonces must be \(nonceLength) bytes")
        }
        guard signature.count == 64,
              peer.subjectKey.verify(signature, over: transcript(side, business: business, client: client, server: server,
                                                                  clientNonce: clientNonce, serverNonce: serverNonce)) else {
            throw PeerAuthError(.badSignature, "the peer did not prove possession of the key in its certificate")
        }
    }
}

/// Why a peer was refused.
public struct PeerAuthError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        case malformed
        case wrongBusiness = "wrong_business"
        case notValid = "not_valid"
        case revoked
        case badSignature = "bad_signature"
        case unsupportedVersion = "unsupported_version"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
