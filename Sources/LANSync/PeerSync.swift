import Domain
import Foundation
import Logging
import NIOCore
import NIOPosix
import Replication
import Synchronization

/// LAN sync between boxes of one business over the box's HTTP server (sync-protocol §12):
/// authenticate each other (§12.1), then exchange version vectors and the changesets each
/// lacks, in batches, until both vectors are equal. Any box forwards any author's changesets.
///
/// An exchange may ask the server to wait (long-poll, up to `maxWaitMilliseconds`) until it has
/// something the client lacks; that is how boxes keep each other current.
public final class PeerSyncServer: Sendable {
    package let shop: Shop
    package let logger: Logger
    let batchLimit: Int
    let directory: PeerDirectory?
    static let maxWaitMilliseconds = 30_000
    private let handshakes = Mutex<[String: (certificate: Certificate, clientNonce: [UInt8], serverNonce: [UInt8], expires: Int64)]>([:])
    private let sessions = Mutex<[String: (peer: SiteID, expires: Int64)]>([:])

    public init(shop: Shop, logger: Logger, batchLimit: Int = 200, directory: PeerDirectory? = nil) {
        self.shop = shop
        self.logger = logger
        self.batchLimit = batchLimit
        self.directory = directory
    }

    package struct Hello: Codable, Sendable { var protocolVersion: Int; var certificate: String; var nonce: String }
    package struct HelloReply: Codable, Sendable { var handshake: String; var certificate: String; var nonce: String; var signature: String }
    package struct Confirm: Codable, Sendable { var handshake: String; var signature: String }
    package struct ConfirmReply: Codable, Sendable { var token: String; var expiresInSeconds: Int }
    package struct Exchange: Codable, Sendable { var vector: String; var changesets: [String]; var limit: Int?; var waitMs: Int? }
    package struct ExchangeReply: Codable, Sendable {
        var vector: String
        var changesets: [String]
        var more: Bool
        var applied: Int
        var refused: [String]
        /// The client's vector, as the server read it (not sent).
        var remoteVector: VersionVector?
        enum CodingKeys: String, CodingKey { case vector, changesets, more, applied, refused }
    }

    package static func decoder() -> JSONDecoder { let decoder = JSONDecoder(); decoder.keyDecodingStrategy = .convertFromSnakeCase; return decoder }
    package static func encoder() -> JSONEncoder { let encoder = JSONEncoder(); encoder.keyEncodingStrategy = .convertToSnakeCase; return encoder }


    package func hello(_ hello: Hello) throws -> HelloReply {
        guard hello.protocolVersion == Int(PeerHandshake.protocolVersion) else {
            throw PeerAuthError(.unsupportedVersion, "this box speaks sync protocol \(PeerHandshake.protocolVersion), not \(hello.protocolVersion)")
        }
        guard let certificateBytes = Data(base64Encoded: hello.certificate), let clientNonce = Data(base64Encoded: hello.nonce), clientNonce.count == PeerHandshake.nonceLength else {
            throw PeerAuthError(.malformed, "certificate and nonce must be base64, the nonce \(PeerHandshake.nonceLength) bytes")
        }
        let store = shop.store
        let now = shop.now.milliseconds
        let peer: Certificate
        do {
            peer = try PeerHandshake.verifyPeer(Array(certificateBytes), trust: store.trustStore, ourSite: store.site, now: now)
        } catch {
            directory?.refusedInbound(certificate: Array(certificateBytes), reason: error)
            throw error
        }
        let serverNonce = PeerHandshake.nonce()
        let signature = PeerHandshake.sign(.server, identity: store.identity, business: store.business, client: peer.subjectSite, server: store.site,
                                           clientNonce: Array(clientNonce), serverNonce: serverNonce)
        let id = Sodium.randomBytes(16).hexString
        handshakes.withLock { pending in
            pending = pending.filter { $0.value.expires > now }
            pending[id] = (peer, Array(clientNonce), serverNonce, now + 60_000)
        }
        guard let ours = store.trustStore.certificates[store.site]?.last else { throw PeerAuthError(.malformed, "this box has no certificate") }
        return HelloReply(handshake: id, certificate: Data(ours.encoded).base64EncodedString(), nonce: Data(serverNonce).base64EncodedString(),
                          signature: Data(signature).base64EncodedString())
    }

    package func confirm(_ confirm: Confirm) throws -> ConfirmReply {
        let now = shop.now.milliseconds
        guard let pending = handshakes.withLock({ $0.removeValue(forKey: confirm.handshake) }), pending.expires > now else {
            throw PeerAuthError(.malformed, "no such handshake (they expire after 60 s)")
        }
        guard let signature = Data(base64Encoded: confirm.signature) else { throw PeerAuthError(.malformed, "the signature must be base64") }
        let store = shop.store
        try PeerHandshake.verify(Array(signature), .client, peer: pending.certificate, business: store.business, client: pending.certificate.subjectSite,
                                 server: store.site, clientNonce: pending.clientNonce, serverNonce: pending.serverNonce)
        let token = Sodium.randomBytes(32).hexString
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expires > now }
            sessions[token] = (pending.certificate.subjectSite, now + 600_000)
        }
        logger.info("peer authenticated", metadata: ["peer": "\(pending.certificate.subjectSite.hex.prefix(12))", "branch": "\(pending.certificate.branch)"])
        return ConfirmReply(token: token, expiresInSeconds: 600)
    }

    package func session(_ token: String) -> SiteID? {
        let now = shop.now.milliseconds
        return sessions.withLock { $0[token].flatMap { $0.expires > now ? $0.peer : nil } }
    }

    package struct SessionExpired: Error { package init() {} }

    /// One exchange; when the client asked to wait and neither side had anything for the other,
    /// waits until this box has changes (or the wait ends) and answers with them.
    package func exchange(_ exchange: Exchange, from peer: SiteID, peerAddress: String?) async throws -> ExchangeReply {
        let wait = min(Self.maxWaitMilliseconds, max(0, exchange.waitMs ?? 0))
        // Subscribe before reading, so a change committed in between still wakes us.
        let changes = wait > 0 ? shop.changeFeed.changes() : nil
        let deadline = ContinuousClock.now + .milliseconds(wait)
        var reply = try await shop.store.perform { try self.exchange(exchange, from: peer) }
        directory?.heardFrom(site: peer, address: peerAddress, theirVector: reply.remoteVector, applied: reply.applied)
        guard let changes, exchange.changesets.isEmpty, reply.changesets.isEmpty else { return reply }
        directory?.exchangeParked()
        defer { directory?.exchangeUnparked() }
        while ContinuousClock.now < deadline {
            let woke = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for await _ in changes { return true }
                    return false  // the box is shutting down
                }
                group.addTask { try? await Task.sleep(until: deadline); return false }
                defer { group.cancelAll() }
                return await group.next() ?? false
            }
            guard woke else { break }
            let again = Exchange(vector: exchange.vector, changesets: [], limit: exchange.limit, waitMs: nil)
            reply = try await shop.store.perform { try self.exchange(again, from: peer) }
            if !reply.changesets.isEmpty { break }
        }
        return reply
    }

    func exchange(_ exchange: Exchange, from peer: SiteID) throws -> ExchangeReply {
        guard let vectorBytes = Data(base64Encoded: exchange.vector) else { throw PeerAuthError(.malformed, "the vector must be base64") }
        let remote: VersionVector
        do { remote = try VersionVector.decode(Array(vectorBytes)) } catch { throw PeerAuthError(.malformed, "the vector does not decode: \(error)") }
        var batch: [[UInt8]] = []
        for text in exchange.changesets {
            guard let bytes = Data(base64Encoded: text) else { throw PeerAuthError(.malformed, "changesets must be base64") }
            batch.append(Array(bytes))
        }
        var applied = 0
        var refused: [String] = []
        if !batch.isEmpty {
            let report = try shop.apply(batch)
            applied = report.applied.count
            refused = report.rejected.map { "\($0)" }
            for rejection in report.rejected { logger.warning("refused a changeset from a peer", metadata: ["peer": "\(peer.hex.prefix(12))", "reason": "\(rejection)"]) }
        }
        try shop.store.recordAcknowledgement(from: peer, vector: remote)
        let limit = min(batchLimit, max(1, exchange.limit ?? batchLimit))
        let missing = try shop.store.changesets(missingFrom: remote, limit: limit + 1)
        var reply = ExchangeReply(vector: Data(shop.store.versionVector.encode()).base64EncodedString(),
                                  changesets: missing.prefix(limit).map { Data($0.bytes).base64EncodedString() },
                                  more: missing.count > limit, applied: applied, refused: refused)
        reply.remoteVector = remote
        return reply
    }
}

