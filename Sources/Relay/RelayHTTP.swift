import Foundation
import HTTPProblem
import HTTPTypes
import Hummingbird
import Logging
import RelayWire
import NIOCore
import Replication

/// The relay's HTTP API (docs/relay-protocol.md §5, docs/relay-openapi.yaml): JSON with
/// snake_case keys, binary values in standard base64, ids in lower-case hex, errors as
/// `application/problem+json` with `type` `urn:edgenode:problem:<kind>`.
public struct RelayHTTP<Storage: RelayStorage>: Sendable {
    public let core: RelayCore<Storage>
    /// The Prometheus text for `GET /metrics`; nil (the default) serves no metrics.
    public let metricsText: (@Sendable () -> String)?

    /// The Kaspi gateway (docs/kaspi.md); nil: its endpoints answer `kaspi_not_configured`.
    public let kaspi: KaspiGateway<Storage>?

    public init(core: RelayCore<Storage>, metricsText: (@Sendable () -> String)? = nil, kaspi: KaspiGateway<Storage>? = nil) {
        self.core = core
        self.metricsText = metricsText
        self.kaspi = kaspi
    }

    // The bodies are RelayJSON's (RelayWire), shared with the box.
    static var decoder: JSONDecoder { RelayJSON.decoder }
    static var encoder: JSONEncoder { RelayJSON.replyEncoder }

    // MARK: Router

    /// The relay's routes, with every error (also the router's own 404 and 405) as a problem.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(ProblemMiddleware(logger: core.logger, metrics: core.metrics))
        let prefix = "/v1/businesses/:business"

        router.get("/v1/health") { _, _ in try json(RelayJSON.HealthReply(status: "ok")) }

        router.get("/metrics") { _, _ in
            guard let metricsText else { throw RelayError(.notFound, "metrics are off; start the relay with --metrics") }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metricsText())))
        }

        router.post("/v1/businesses") { request, _ in
            let body = try await collect(request, limit: core.limits.maxSmallBodyBytes)
            let registration = try decode(RelayJSON.RegisterRequest.self, body)
            guard let ownerKey = PublicKey(hex: registration.ownerKey), isLowerHex(registration.ownerKey) else {
                throw RelayError(.malformedBody, "owner_key must be 64 lower-case hex digits")
            }
            let signature = try bytes(hex: registration.signature, "signature")
            let (business, created) = try await core.register(ownerKey: ownerKey, timestamp: registration.timestamp, proof: signature)
            return try json(RelayJSON.RegisterReply(business: business.hex, created: created), status: created ? .created : .ok)
        }

        router.post("\(prefix)/certificates") { request, context in
            let (business, body) = try await prepare(request, context, limit: core.limits.maxSmallBodyBytes)
            let certificateBytes = try base64(try decode(RelayJSON.CertificateRequest.self, body).certificate, "certificate")
            let enrollee = try? Certificate.decode(certificateBytes).subjectKey
            let principal = try await core.authenticate(signed(request, body), pathBusiness: business, enrollee: enrollee)
            let (certificate, created) = try await core.enrol(certificateBytes, business: business, principal: principal)
            return try json(RelayJSON.CertificateReply(site: certificate.subjectSite.hex, role: certificate.role, branch: certificate.branch,
                                             notBefore: certificate.notBefore, notAfter: certificate.notAfter, created: created),
                            status: created ? .created : .ok)
        }

        router.post("\(prefix)/revocations") { request, context in
            let (business, body) = try await prepare(request, context, limit: core.limits.maxSmallBodyBytes)
            _ = try await core.authenticate(signed(request, body), pathBusiness: business)
            let revocationBytes = try base64(try decode(RelayJSON.RevocationRequest.self, body).revocation, "revocation")
            let (revocation, created) = try await core.revoke(revocationBytes, business: business)
            return try json(RelayJSON.RevocationReply(site: revocation.subjectSite.hex, effectiveFrom: revocation.effectiveFrom, created: created),
                            status: created ? .created : .ok)
        }

        router.post("\(prefix)/envelopes") { request, context in
            let (business, body) = try await prepare(request, context, limit: core.limits.maxPushBodyBytes, precheck: true)
            _ = try await core.authenticate(signed(request, body), pathBusiness: business)
            let push = try decode(RelayJSON.PushRequest.self, body)
            guard push.envelopes.count <= core.limits.maxBatchCount else {
                throw RelayError(.batchTooLarge, "a push carries at most \(core.limits.maxBatchCount) envelopes, not \(push.envelopes.count)")
            }
            let batch = try push.envelopes.enumerated().map { try base64($0.element, "envelopes[\($0.offset)]") }
            let results = try await core.push(batch, business: business)
            let items = results.map {
                RelayJSON.PushReplyItem(index: $0.index, hash: $0.hash?.hexString, status: $0.status.rawValue, reason: $0.reason, detail: $0.detail,
                              expectedSequence: $0.expectedSequence)
            }
            return try json(RelayJSON.PushReply(results: items, stored: results.filter { $0.status == .stored }.count,
                                      duplicates: results.filter { $0.status == .duplicate }.count,
                                      refused: results.filter { $0.status == .refused }.count))
        }

        router.post("\(prefix)/pull") { request, context in
            let (business, body) = try await prepare(request, context, limit: core.limits.maxSmallBodyBytes)
            _ = try await core.authenticate(signed(request, body), pathBusiness: business)
            let pull = try decode(RelayJSON.PullRequest.self, body)
            let vector = try versionVector(pull.vector)
            if let limit = pull.limit, limit < 1 { throw RelayError(.malformedBody, "limit must be at least 1") }
            if let wait = pull.waitSeconds, wait < 0 || wait > core.limits.maxWaitSeconds {
                throw RelayError(.malformedBody, "wait_seconds must be between 0 and \(core.limits.maxWaitSeconds)")
            }
            if let seen = pull.membership, seen < 0 { throw RelayError(.malformedBody, "membership must not be negative") }
            if let seen = pull.joinRequests, seen < 0 { throw RelayError(.malformedBody, "join_requests must not be negative") }
            let result = try await core.pull(business: business, vector: vector, limit: pull.limit, wait: .seconds(pull.waitSeconds ?? 0),
                                             seenMembership: pull.membership, seenJoinRequests: pull.joinRequests)
            return try json(RelayJSON.PullReply(envelopes: result.envelopes.map { Data($0).base64EncodedString() }, more: result.more,
                                      available: Data(result.available.encode()).base64EncodedString(),
                                      compacted: result.compacted.sorted { $0.key < $1.key }.map { RelayJSON.CompactedItem(author: $0.key.hex, through: $0.value) },
                                      compaction: Data(result.compaction.encode()).base64EncodedString(), snapshot: result.snapshot.map { RelayJSON.SnapshotMeta($0) },
                                      joinRequests: result.joinRequests, membership: result.membership))
        }

        router.post("\(prefix)/acknowledgements") { request, context in
            let (business, body) = try await prepare(request, context, limit: core.limits.maxSmallBodyBytes)
            let principal = try await core.authenticate(signed(request, body), pathBusiness: business)
            guard case .box(_, let site, _) = principal else { throw RelayError(.forbidden, "only boxes acknowledge what they hold") }
            let vector = try versionVector(try decode(RelayJSON.AcknowledgementRequest.self, body).vector)
            try await core.acknowledge(vector, site: site, business: business)
            return try json(RelayJSON.AcknowledgementReply(site: site.hex, vector: Data(vector.encode()).base64EncodedString()))
        }

        router.post("\(prefix)/data-keys") { request, context in
            let (business, body) = try await prepare(request, context, limit: core.limits.maxSmallBodyBytes)
            let principal = try await core.authenticate(signed(request, body), pathBusiness: business)
            let sealedBytes = try base64(try decode(RelayJSON.SealedKeyRequest.self, body).sealedKey, "sealed_key")
            let (sealed, created) = try await core.storeSealedKey(sealedBytes, business: business, principal: principal)
            return try json(RelayJSON.SealedKeyReply(recipient: sealed.recipientSite.hex, keyId: sealed.keyID.rawValue, created: created),
                            status: created ? .created : .ok)
        }

        router.get("\(prefix)/data-keys") { request, context in
            let (business, body) = try await prepare(request, context, limit: 0)
            let principal = try await core.authenticate(signed(request, body), pathBusiness: business)
            var keyID: DataKeyID?
            for item in request.uri.queryParameters {
                guard item.key == "key_id", let value = UInt32(String(item.value)), value >= 1 else {
                    throw RelayError(.invalidParameter, "the only query parameter is key_id, a generation ≥ 1")
                }
                keyID = DataKeyID(value)
            }
            let keys = try await core.sealedKeys(for: principal, keyID: keyID)
            return try json(RelayJSON.SealedKeysReply(sealedKeys: keys.map { Data($0).base64EncodedString() }))
        }
        registerJoinRoutes(on: router, prefix: prefix)
        registerKaspiRoutes(on: router, prefix: prefix)
        return router
    }

    /// Invitations, join requests and snapshots (docs/relay-protocol.md §12, §13).
    private func registerJoinRoutes(on router: Router<BasicRequestContext>, prefix: String) {
        router.post("\(prefix)/invitations") { request, context in
            let (business, body) = try await prepare(request, context, limit: core.limits.maxSmallBodyBytes)
            let principal = try await core.authenticate(signed(request, body), pathBusiness: business)
            let bytes = try base64(try decode(RelayJSON.InvitationRequest.self, body).invitation, "invitation")
            let (invitation, created) = try await core.registerInvitation(bytes, business: business, principal: principal)
            return try json(RelayJSON.InvitationReply(invitation: invitation.id.hex, notAfter: invitation.notAfter, created: created), status: created ? .created : .ok)
        }

        router.post("\(prefix)/invitations/:invitation/join-request") { request, context in
            let (business, body) = try await prepare(request, context, limit: core.limits.maxSmallBodyBytes)
            let id = try invitationID(context)
            let principal = try await core.authenticate(signed(request, body), pathBusiness: business, invitation: id)
            let bytes = try base64(try decode(RelayJSON.JoinRequestBody.self, body).joinRequest, "join_request")
            let (stored, created) = try await core.requestToJoin(bytes, business: business, invitation: id, principal: principal)
            var reply = statusReply(stored)
            reply.created = created
            return try json(reply, status: created ? .created : .ok)
        }

        router.get("\(prefix)/invitations/:invitation/join-request") { request, context in
            let (business, body) = try await prepare(request, context, limit: 0)
            let id = try invitationID(context)
            let principal = try await core.authenticate(signed(request, body), pathBusiness: business, invitation: id)
            var wait = 0
            for item in request.uri.queryParameters {
                guard item.key == "wait_seconds", let value = Int(String(item.value)), (0...core.limits.maxWaitSeconds).contains(value) else {
                    throw RelayError(.invalidParameter, "the only query parameter is wait_seconds, 0…\(core.limits.maxWaitSeconds)")
                }
                wait = value
            }
            let stored = try await core.joinStatus(business: business, invitation: id, principal: principal, wait: .seconds(wait))
            return try json(statusReply(stored))
        }

        router.post("\(prefix)/invitations/:invitation/decision") { request, context in
            let (business, body) = try await prepare(request, context, limit: core.limits.maxSmallBodyBytes)
            let id = try invitationID(context)
            let principal = try await core.authenticate(signed(request, body), pathBusiness: business)
            let decision = try decode(RelayJSON.DecisionRequest.self, body)
            guard (decision.certificate == nil) != (decision.refusal == nil) else {
                throw RelayError(.malformedBody, "a decision has either a certificate (approve) or a refusal (refuse)")
            }
            if let refusal = decision.refusal, refusal.utf8.count > 512 { throw RelayError(.malformedBody, "refusal is at most 512 bytes") }
            // Stored as text: SQLite cut it at U+0000 before text was bound by length, and PostgreSQL refuses U+0000.
            if let refusal = decision.refusal,
               refusal.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t" }) {
                throw RelayError(.malformedBody, "refusal must not contain control characters other than line feeds and tabs")
            }
            let certificate = try decision.certificate.map { try base64($0, "certificate") }
            let stored = try await core.decide(business: business, invitation: id, certificate: certificate, refusal: decision.refusal, principal: principal)
            return try json(statusReply(stored))
        }

        router.get("\(prefix)/join-requests") { request, context in
            let (business, body) = try await prepare(request, context, limit: 0)
            let principal = try await core.authenticate(signed(request, body), pathBusiness: business)
            guard request.uri.queryParameters.isEmpty else { throw RelayError(.invalidParameter, "this endpoint takes no query parameters") }
            let pending = try await core.pendingJoinRequests(business: business, principal: principal)
            return try json(RelayJSON.PendingJoinRequestsReply(joinRequests: pending.compactMap { stored in
                guard let joinRequest = stored.joinRequest else { return nil }
                return RelayJSON.PendingJoinRequest(invitation: stored.invitation.id.hex, invitationRecord: Data(stored.invitation.encoded).base64EncodedString(),
                                          joinRequest: Data(joinRequest.encoded).base64EncodedString(), box: joinRequest.boxSite.hex,
                                          label: joinRequest.label, receivedAt: stored.requestedAt ?? 0)
            }))
        }

        router.put("\(prefix)/snapshot") { request, context in
            let (business, body) = try await prepare(request, context, limit: core.limits.maxSnapshotBytes, precheck: true)
            let principal = try await core.authenticate(signed(request, body), pathBusiness: business)
            let snapshot = try await core.storeSnapshot(body, business: business, principal: principal)
            return try json(RelayJSON.SnapshotStoredReply(producer: snapshot.producer.hex, createdAt: snapshot.createdAt, keyId: snapshot.keyID.rawValue,
                                                vector: Data(snapshot.vector.encode()).base64EncodedString(), bytes: snapshot.bytes.count), status: .created)
        }

        router.get("\(prefix)/snapshot") { request, context in
            let (business, body) = try await prepare(request, context, limit: 0)
            let principal = try await core.authenticate(signed(request, body), pathBusiness: business)
            guard request.uri.queryParameters.isEmpty else { throw RelayError(.invalidParameter, "this endpoint takes no query parameters") }
            let bytes = try await core.snapshot(business: business, principal: principal)
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }

        router.get("\(prefix)/snapshot/info") { request, context in
            let (business, body) = try await prepare(request, context, limit: 0)
            let principal = try await core.authenticate(signed(request, body), pathBusiness: business)
            guard request.uri.queryParameters.isEmpty else { throw RelayError(.invalidParameter, "this endpoint takes no query parameters") }
            let info = try await core.snapshotInfo(business: business, principal: principal)
            return try json(RelayJSON.SnapshotInfoReply(snapshot: info.snapshot.map { RelayJSON.SnapshotMeta($0) }, available: Data(info.available.encode()).base64EncodedString(),
                                              compaction: Data(info.compaction.encode()).base64EncodedString()))
        }
    }

    private func invitationID(_ context: BasicRequestContext) throws -> SiteID {
        guard let text = context.parameters.get("invitation"), text.utf8.count == 32, isLowerHex(text),
              let id = [UInt8](hex: text).flatMap({ SiteID(bytes: $0) }) else {
            throw RelayError(.notFound, "the path must name an invitation by its 32 lower-case hex digits")
        }
        return id
    }

    private func statusReply(_ stored: StoredInvitation) -> RelayJSON.JoinStatusReply {
        RelayJSON.JoinStatusReply(invitation: stored.invitation.id.hex, state: stored.state.rawValue, notAfter: stored.invitation.notAfter,
                        certificate: stored.state == .approved ? stored.certificate.map { Data($0).base64EncodedString() } : nil,
                        refusal: stored.state == .refused ? stored.refusal : nil, created: nil)
    }

    // MARK: Helpers

    /// The path's business and the body (at most `limit` bytes). With `precheck`, a request that
    /// cannot be authenticated (no or malformed signature header, stale, unknown principal, another
    /// business) is refused before its body is read, so that large bodies are buffered only for
    /// requests from known principals.
    func prepare(_ request: Request, _ context: BasicRequestContext, limit: Int, precheck: Bool = false) async throws -> (BusinessID, [UInt8]) {
        guard let text = context.parameters.get("business"), isLowerHex(text), let business = [UInt8](hex: text).flatMap({ BusinessID(bytes: $0) }) else {
            throw RelayError(.notFound, "the path must name a business by its 32 lower-case hex digits")
        }
        if precheck { try await core.precheck(authorization: request.headers[.authorization], pathBusiness: business) }
        return (business, try await collect(request, limit: limit))
    }

    private func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw RelayError(.bodyTooLarge, "this endpoint takes at most \(limit) bytes of body")
        }
    }

    func signed(_ request: Request, _ body: [UInt8]) -> SignedRequest {
        // The path and query exactly as sent (the request target), not decoded.
        let target = request.head.path ?? "/"
        let (path, query): (Substring, Substring)
        if let mark = target.firstIndex(of: "?") {
            (path, query) = (target[..<mark], target[target.index(after: mark)...])
        } else {
            (path, query) = (target[...], "")
        }
        return SignedRequest(method: request.method.rawValue, path: String(path), query: String(query), body: body,
                             authorization: request.headers[.authorization])
    }

    func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws -> T {
        do { return try Self.decoder.decode(type, from: Data(body)) } catch {
            throw RelayError(.malformedBody, "the body is not the JSON this endpoint takes: \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case Swift.DecodingError.keyNotFound(let key, _): "missing field \(key.stringValue)"
        case Swift.DecodingError.typeMismatch(_, let context), Swift.DecodingError.valueNotFound(_, let context):
            "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case Swift.DecodingError.dataCorrupted: "not valid JSON"
        default: "unreadable"
        }
    }

    private func base64(_ text: String, _ field: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: text) else { throw RelayError(.malformedBody, "\(field) must be standard base64") }
        return Array(data)
    }

    private func bytes(hex text: String, _ field: String) throws -> [UInt8] {
        guard isLowerHex(text), let bytes = [UInt8](hex: text) else { throw RelayError(.malformedBody, "\(field) must be lower-case hex") }
        return bytes
    }

    private func versionVector(_ text: String) throws -> VersionVector {
        let bytes = try base64(text, "vector")
        do { return try VersionVector.decode(bytes) } catch {
            throw RelayError(.malformedBody, "vector does not decode: \(error)")
        }
    }

    func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try Self.encoder.encode(value))))
    }
}

func isLowerHex(_ text: String) -> Bool {
    !text.isEmpty && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
}

/// The relay's routes for the shared 405 logic (the middleware is generic, so it cannot store them).
private let relayAllowedMethods = AllowedMethods(ProblemMiddleware<BasicRequestContext>.routes.flatMap { route in
    route.methods.map { (method: $0, path: "/" + route.pattern.joined(separator: "/")) }
})

/// Turns every error into `application/problem+json`: `RelayError` with its kind, the router's
/// own errors (unknown path 404, wrong method 405, body too large 413) with theirs, anything
/// else as `storage_unavailable` (503) — the only answer that blames the relay.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    let metrics: RelayMetrics?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await answer(request, context: context, next: next)
    }

    private func answer(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as RelayError {
            if error.kind == .storageUnavailable { logger.error("relay request failed", metadata: ["error": "\(error)"]) }
            return problem(error)
        } catch let error as HTTPEdgeRequestError {
            // The body ended early or broke HTTP/1.1 (a dropped upload): the client's fault.
            return problem(RelayError(.malformedBody, error.problem.detail))
        } catch let error as any HTTPResponseError {
            switch error.status {
            case .notFound:
                if let document = Self.allowedMethods.problem(method: request.method.rawValue, path: request.uri.path, title: "method not allowed") {
                    metrics?.problem(.methodNotAllowed)
                    return document.response
                }
                return problem(RelayError(.notFound, "no such endpoint: \(request.method) \(request.uri.path)"))
            case .methodNotAllowed: return problem(RelayError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)"))
            case .contentTooLarge: return problem(RelayError(.bodyTooLarge, "the request body is too large"))
            default:
                if error.status.code < 500 { return problem(RelayError(.malformedBody, "the request was refused (\(error.status.code))"), status: error.status.code) }
                logger.error("relay request failed", metadata: ["error": "\(error)"])
                return problem(RelayError(.storageUnavailable, "the relay could not serve the request; it changed nothing"))
            }
        } catch {
            logger.error("relay request failed", metadata: ["error": "\(error)"])
            return problem(RelayError(.storageUnavailable, "the relay could not read or write its storage; the request changed nothing"))
        }
    }

    /// The relay's routes and their methods (`*` is one path segment), to tell 405 from 404.
    static var routes: [(pattern: [String], methods: [String])] { [
        (["v1", "health"], ["GET"]),
        (["metrics"], ["GET"]),
        (["v1", "businesses"], ["POST"]),
        (["v1", "businesses", "*", "certificates"], ["POST"]),
        (["v1", "businesses", "*", "revocations"], ["POST"]),
        (["v1", "businesses", "*", "envelopes"], ["POST"]),
        (["v1", "businesses", "*", "pull"], ["POST"]),
        (["v1", "businesses", "*", "acknowledgements"], ["POST"]),
        (["v1", "businesses", "*", "data-keys"], ["GET", "POST"]),
        (["v1", "businesses", "*", "invitations"], ["POST"]),
        (["v1", "businesses", "*", "invitations", "*", "join-request"], ["GET", "POST"]),
        (["v1", "businesses", "*", "invitations", "*", "decision"], ["POST"]),
        (["v1", "businesses", "*", "join-requests"], ["GET"]),
        (["v1", "businesses", "*", "snapshot"], ["GET", "PUT"]),
        (["v1", "businesses", "*", "snapshot", "info"], ["GET"]),
        (["v1", "businesses", "*", "kaspi", "qr"], ["POST"]),
        (["v1", "businesses", "*", "kaspi", "payments", "*", "status"], ["GET"]),
        (["v1", "businesses", "*", "kaspi", "payments", "*", "refundable"], ["GET"]),
        (["v1", "businesses", "*", "kaspi", "payments", "*", "refunds"], ["POST"]),
    ] }

    /// The same routes for the shared 405 logic.
    static var allowedMethods: AllowedMethods { relayAllowedMethods }

    static func status(of kind: RelayError.Kind) -> Int {
        switch kind {
        case .malformedBody, .invalidParameter: 400
        case .unauthenticated, .unknownPrincipal, .badSignature, .staleRequest, .replayedRequest: 401
        case .revoked, .notValid, .forbidden, .invitationExpired: 403
        case .notFound, .noSnapshot: 404
        case .methodNotAllowed: 405
        case .invitationUsed, .staleSnapshot, .kaspiNotConfigured, .kaspiConflict: 409
        case .kaspiRefused: 422
        case .kaspiUnavailable: 502
        case .kaspiInProgress: 503
        case .bodyTooLarge, .batchTooLarge: 413
        case .invalidRegistration, .invalidCertificate, .invalidRevocation, .invalidSealedKey, .wrongBusiness,
             .invalidInvitation, .invalidJoinRequest, .invalidSnapshot: 422
        case .rateLimited, .businessBusy: 429
        case .shuttingDown, .storageUnavailable: 503
        default: 400
        }
    }

    func problem(_ error: RelayError, status: Int? = nil) -> Response {
        metrics?.problem(error.kind)
        return Self.problemResponse(error, status: status)
    }

    static func problemResponse(_ error: RelayError, status: Int? = nil) -> Response {
        let document = ProblemDocument(status: status ?? Self.status(of: error.kind), kind: error.kind.description,
                                       title: error.kind.description.replacingOccurrences(of: "_", with: " "),
                                       detail: error.detail, retryAfter: error.retryAfter)
        var response = document.response
        if error.kind == .unauthenticated { response.headers[.wwwAuthenticate] = RelayRequestSignature.scheme }
        if let code = error.kaspiCode, var object = (try? JSONSerialization.jsonObject(with: Data(document.body))) as? [String: Any] {
            // Kaspi's own code next to the problem's members (docs/relay-protocol.md §14).
            object["kaspi_code"] = code
            if let body = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                response.body = .init(byteBuffer: ByteBuffer(bytes: Array(body)))
            }
        }
        return response
    }
}

extension RelayJSON.SnapshotMeta {
    init(_ info: SnapshotInfo) {
        self.init(producer: info.producer.hex, createdAt: info.createdAt, keyId: info.keyID.rawValue,
                  vector: Data(info.vector.encode()).base64EncodedString(), bytes: info.byteCount, storedAt: info.storedAt)
    }
}
