import Foundation
import Testing
@testable import Replication

@Suite("Peer handshake")
struct PeerHandshakeTests {
    struct Box {
        let key = SigningKey.generate()
        let certificate: Certificate
        var site: SiteID { certificate.subjectSite }

        init(owner: SigningKey, notAfter: Int64 = Int64.max / 2) {
            certificate = try! Certificate.issue(by: owner, for: key.publicKey, role: "box", branch: "b", notBefore: 0, notAfter: notAfter)
        }
    }

    static let now: Int64 = 1_770_000_000_000

    /// Runs the whole exchange; returns the client's view of the server and the server's of the client.
    func handshake(client: Box, server: Box, clientTrust: TrustStore, serverTrust: TrustStore,
                   tamper: (inout [UInt8]) -> Void = { _ in }) throws(PeerAuthError) -> (Certificate, Certificate) {
        let business = clientTrust.business
        let clientNonce = PeerHandshake.nonce()
        // Server receives hello.
        let seenClient = try PeerHandshake.verifyPeer(client.certificate.encoded, trust: serverTrust, ourSite: server.site, now: Self.now)
        let serverNonce = PeerHandshake.nonce()
        var serverProof = PeerHandshake.sign(.server, identity: server.key, business: serverTrust.business, client: seenClient.subjectSite, server: server.site,
                                             clientNonce: clientNonce, serverNonce: serverNonce)
        tamper(&serverProof)
        // Client checks the server.
        let seenServer = try PeerHandshake.verifyPeer(server.certificate.encoded, trust: clientTrust, ourSite: client.site, now: Self.now)
        try PeerHandshake.verify(serverProof, .server, peer: seenServer, business: business, client: client.site, server: seenServer.subjectSite,
                                 clientNonce: clientNonce, serverNonce: serverNonce)
        let clientProof = PeerHandshake.sign(.client, identity: client.key, business: business, client: client.site, server: seenServer.subjectSite,
                                             clientNonce: clientNonce, serverNonce: serverNonce)
        try PeerHandshake.verify(clientProof, .client, peer: seenClient, business: serverTrust.business, client: seenClient.subjectSite, server: server.site,
                                 clientNonce: clientNonce, serverNonce: serverNonce)
        return (seenServer, seenClient)
    }

    @Test("two boxes of one business authenticate each other")
    func success() throws {
        let owner = SigningKey.generate()
        let a = Box(owner: owner), b = Box(owner: owner)
        let trust = TrustStore(ownerKey: owner.publicKey)
        let (server, client) = try handshake(client: a, server: b, clientTrust: trust, serverTrust: trust)
        #expect(server.subjectSite == b.site)
        #expect(client.subjectSite == a.site)
    }

    @Test("refused: another business, a revoked box, an expired certificate, a forged proof, a proof replayed in the other direction or another session")
    func refusals() throws {
        let owner = SigningKey.generate()
        let trust = TrustStore(ownerKey: owner.publicKey)
        let a = Box(owner: owner), b = Box(owner: owner)
        let stranger = Box(owner: SigningKey.generate())
        do {
            _ = try handshake(client: stranger, server: b, clientTrust: trust, serverTrust: trust)
            Issue.record("a stranger was accepted")
        } catch { #expect(error.code == .wrongBusiness) }

        var revokedTrust = trust
        try revokedTrust.add(try Revocation.issue(by: owner, revoking: a.key.publicKey, effectiveFrom: Self.now - 1000, reason: "stolen"))
        do {
            _ = try handshake(client: a, server: b, clientTrust: trust, serverTrust: revokedTrust)
            Issue.record("a revoked box was accepted")
        } catch { #expect(error.code == .revoked && error.message.contains("stolen")) }

        let expired = Box(owner: owner, notAfter: Self.now - 1)
        do {
            _ = try handshake(client: expired, server: b, clientTrust: trust, serverTrust: trust)
            Issue.record("an expired certificate was accepted")
        } catch { #expect(error.code == .notValid) }

        do {
            _ = try handshake(client: a, server: b, clientTrust: trust, serverTrust: trust) { $0[0] ^= 1 }
            Issue.record("a forged proof was accepted")
        } catch { #expect(error.code == .badSignature) }

        // A client proof reused as a server proof, or in a session with other nonces, does not verify.
        let clientNonce = PeerHandshake.nonce(), serverNonce = PeerHandshake.nonce()
        let proof = PeerHandshake.sign(.client, identity: a.key, business: trust.business, client: a.site, server: b.site, clientNonce: clientNonce, serverNonce: serverNonce)
        #expect(throws: PeerAuthError.self) {
            try PeerHandshake.verify(proof, .server, peer: a.certificate, business: trust.business, client: a.site, server: b.site, clientNonce: clientNonce, serverNonce: serverNonce)
        }
        #expect(throws: PeerAuthError.self) {
            try PeerHandshake.verify(proof, .client, peer: a.certificate, business: trust.business, client: a.site, server: b.site, clientNonce: clientNonce, serverNonce: PeerHandshake.nonce())
        }
        // Someone holding only a's certificate (not its key) cannot answer.
        let impostorProof = PeerHandshake.sign(.client, identity: SigningKey.generate(), business: trust.business, client: a.site, server: b.site, clientNonce: clientNonce, serverNonce: serverNonce)
        #expect(throws: PeerAuthError.self) {
            try PeerHandshake.verify(impostorProof, .client, peer: a.certificate, business: trust.business, client: a.site, server: b.site, clientNonce: clientNonce, serverNonce: serverNonce)
        }
        do {
            _ = try PeerHandshake.verifyPeer(Array(a.certificate.encoded.dropLast()), trust: trust, ourSite: b.site, now: Self.now)
            Issue.record("a truncated certificate was accepted")
        } catch { #expect(error.code == .malformed) }
    }
}
