import Domain
import Foundation
import Logging
import NIOCore
import NIOPosix
import OutboundHTTP
import Replication

/// The client side of LAN sync (sync-protocol §12): an authenticated session with one peer box.
///
/// `open` runs the handshake; `exchangeUntilEqual` sends what the peer lacks and applies what
/// it sends, in batches, until both vectors are equal; `waitForChanges` long-polls until the
/// peer has something new. A round is durable on both sides before the next starts, so a
/// transfer cut short resumes from the vectors, resending nothing either side applied.
public struct PeerSession: Sendable {
    let shop: Shop
    let http: PeerHTTP
    let token: String
    let logger: Logger
    public let batchLimit: Int
    /// The peer's certificate, verified.
    public let peer: Certificate

    public struct Round: Sendable, Hashable {
        /// Changesets the peer applied from us.
        public var sent = 0
        /// Changesets we applied from the peer.
        public var received = 0
        /// Changesets refused (either side), with reasons.
        public var refused: [String] = []
        public var rounds = 0
        /// The peer's vector after the last round.
        public var remoteVector = VersionVector()
    }

    /// Authenticates to the box at `host:port` and checks that it is a box of our business.
    /// - Parameter client: the outbound HTTP client (the runtime's; it reuses the connection).
    public static func open(shop: Shop, host: String, port: Int, batchLimit: Int = 200, logger: Logger,
                            client: any OutboundHTTP = HTTPClientOutbound.shared) async throws -> PeerSession {
        let http = PeerHTTP(host: host, port: port, client: client)
        let store = shop.store
        let clientNonce = PeerHandshake.nonce()
        guard let ours = store.trustStore.certificates[store.site]?.last else { throw PeerAuthError(.malformed, "this box has no certificate") }
        let hello = PeerSyncServer.Hello(protocolVersion: Int(PeerHandshake.protocolVersion), certificate: Data(ours.encoded).base64EncodedString(),
                                         nonce: Data(clientNonce).base64EncodedString())
        let reply: PeerSyncServer.HelloReply = try await post(http, "/sync/v1/hello", hello)
        guard let certificate = Data(base64Encoded: reply.certificate), let serverNonce = Data(base64Encoded: reply.nonce),
              let signature = Data(base64Encoded: reply.signature) else { throw PeerAuthError(.malformed, "the peer's hello reply is not base64") }
        let peer = try PeerHandshake.verifyPeer(Array(certificate), trust: store.trustStore, ourSite: store.site, now: shop.now.milliseconds)
        try PeerHandshake.verify(Array(signature), .server, peer: peer, business: store.business, client: store.site, server: peer.subjectSite,
                                 clientNonce: clientNonce, serverNonce: Array(serverNonce))
        let proof = PeerHandshake.sign(.client, identity: store.identity, business: store.business, client: store.site, server: peer.subjectSite,
                                       clientNonce: clientNonce, serverNonce: Array(serverNonce))
        let session: PeerSyncServer.ConfirmReply = try await post(http, "/sync/v1/confirm",
                                                                  PeerSyncServer.Confirm(handshake: reply.handshake, signature: Data(proof).base64EncodedString()))
        return PeerSession(shop: shop, http: http, token: session.token, logger: logger, batchLimit: batchLimit, peer: peer)
    }

    /// Exchanges until neither side has anything for the other (or `maxRounds` rounds ran).
    public func exchangeUntilEqual(maxRounds: Int = .max) async throws -> Round {
        var result = Round()
        var remote: VersionVector?
        while true {
            result.rounds += 1
            let known = remote
            let outgoing = try await offload { [shop, batchLimit] in try known.map { try shop.store.changesets(missingFrom: $0, limit: batchLimit).map(\.bytes) } ?? [] }
            let answer = try await exchange(outgoing, wait: nil, into: &result)
            remote = answer.remote
            let outgoingNext = try await offload { [shop] in try shop.store.changesets(missingFrom: answer.remote, limit: 1).count }
            if outgoingNext == 0 && !answer.more && answer.received == 0 && outgoing.isEmpty { return result }
            guard result.rounds < maxRounds else { return result }
        }
    }

    /// Long-polls: returns when the peer sent something new (applied here), after about
    /// `seconds`, or — cancel it — when this box has something to push.
    public func waitForChanges(seconds: Int) async throws -> Round {
        var result = Round()
        result.rounds = 1
        _ = try await exchange([], wait: seconds * 1000, into: &result)
        return result
    }

    /// One exchange: sends `outgoing` (raw changeset bytes), applies what comes back.
    func exchange(_ outgoing: [[UInt8]], wait: Int?, into result: inout Round) async throws -> (remote: VersionVector, more: Bool, received: Int) {
        let vector = shop.store.versionVector
        let request = PeerSyncServer.Exchange(vector: Data(vector.encode()).base64EncodedString(),
                                              changesets: outgoing.map { Data($0).base64EncodedString() }, limit: batchLimit, waitMs: wait)
        let answer: PeerSyncServer.ExchangeReply = try await Self.post(http, "/sync/v1/exchange", request, authorization: "EdgenodeSync \(token)",
                                                                       timeout: .milliseconds(Int64(wait ?? 0) + 15_000))
        result.sent += answer.applied
        for reason in answer.refused {
            logger.warning("the peer refused a changeset of ours", metadata: ["peer": "\(peer.subjectSite.hex.prefix(12))", "reason": "\(reason)"])
        }
        result.refused += answer.refused.map { "peer: \($0)" }
        var incoming: [[UInt8]] = []
        for text in answer.changesets {
            guard let bytes = Data(base64Encoded: text) else { throw PeerAuthError(.malformed, "the peer sent a changeset that is not base64") }
            incoming.append(Array(bytes))
        }
        var received = 0
        if !incoming.isEmpty {
            let batch = incoming
            let report = try await offload { [shop] in try shop.apply(batch) }
            received = report.applied.count
            for rejection in report.rejected {
                logger.warning("refused a changeset from a peer", metadata: ["peer": "\(peer.subjectSite.hex.prefix(12))", "reason": "\(rejection)"])
                result.refused.append("\(rejection)")
            }
        }
        result.received += received
        guard let vectorBytes = Data(base64Encoded: answer.vector) else { throw PeerAuthError(.malformed, "the peer's vector is not base64") }
        let remote: VersionVector
        do { remote = try VersionVector.decode(Array(vectorBytes)) } catch { throw PeerAuthError(.malformed, "the peer's vector does not decode: \(error)") }
        let site = peer.subjectSite
        try await offload { [shop] in try shop.store.recordAcknowledgement(from: site, vector: remote) }
        result.remoteVector = remote
        return (remote, answer.more, received)
    }

    /// SQLite work on the store's own threads, off Swift's cooperative threads (`ReplicaStore.perform`).
    private func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await shop.store.perform(body)
    }

    /// A peer that answered with something other than 200.
    public struct Refusal: Error, CustomStringConvertible {
        public let status: Int
        public let kind: String
        public let detail: String
        public var description: String { "the peer answered \(status) \(kind): \(detail)" }
    }

    static func post<Body: Encodable, Reply: Decodable>(_ http: PeerHTTP, _ path: String, _ body: Body, authorization: String? = nil,
                                                       timeout: TimeAmount = .seconds(30)) async throws -> Reply {
        let data = try PeerSyncServer.encoder().encode(body)
        let reply = try await http.post(path, body: Array(data), headers: authorization.map { [("Authorization", $0)] } ?? [], timeout: timeout)
        guard reply.status == 200 else {
            let problem = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any]
            let kind = (problem?["type"] as? String)?.replacingOccurrences(of: "urn:edgenode:problem:", with: "") ?? "http_\(reply.status)"
            let detail = problem?["detail"] as? String ?? String(reply.text.prefix(300))
            if kind == "peer_refused" { throw PeerAuthError(.badSignature, "the peer refused us: \(detail)") }
            throw Refusal(status: reply.status, kind: kind, detail: detail)
        }
        do {
            return try PeerSyncServer.decoder().decode(Reply.self, from: Data(reply.body))
        } catch {
            throw PeerAuthError(.malformed, "the peer's answer to \(path) is not the expected JSON")
        }
    }
}

/// Syncs once with a peer address: authenticate, then exchange until equal. (The daemon's
/// `PeerSyncService` keeps sessions open and long-polls; this is the one-shot form.)
public struct PeerSyncClient: Sendable {
    let shop: Shop
    let host: String
    let port: Int
    let batchLimit: Int
    let logger: Logger

    public init(shop: Shop, host: String, port: Int, batchLimit: Int = 200, logger: Logger = Logger(label: "edgenode.sync")) {
        self.shop = shop
        self.host = host
        self.port = port
        self.batchLimit = batchLimit
        self.logger = logger
    }

    public struct Result: Sendable, Hashable {
        public var peer: SiteID
        public var sent: Int
        public var received: Int
        public var rounds: Int
        public var refused: [String]
    }

    /// One full sync with the peer, or at most `maxRounds` exchanges (a transfer cut short
    /// resumes from the vectors next time, resending nothing that was applied).
    public func sync(maxRounds: Int = .max) async throws -> Result {
        let session = try await PeerSession.open(shop: shop, host: host, port: port, batchLimit: batchLimit, logger: logger)
        let round = try await session.exchangeUntilEqual(maxRounds: maxRounds)
        return Result(peer: session.peer.subjectSite, sent: round.sent, received: round.received, rounds: round.rounds, refused: round.refused)
    }
}
