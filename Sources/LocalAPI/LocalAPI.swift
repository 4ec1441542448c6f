import Domain
import Foundation
import HTTPProblem
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOPosix
import Replication
import Synchronization

/// The request context: Hummingbird's core storage plus the caller's address.
public struct APIContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: String
    /// Who sends the request, put here by `IdentityMiddleware` before any handler runs (a later
    /// cookie session for the web app is one more middleware that sets it).
    var identity: Identity = .anonymous
    /// The credentials the request carried and how (header or cookie), for endpoints that act on
    /// the credential itself (sign-out) and for event streams that re-check it.
    var credentials: Credentials?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "local"
    }
}

/// Who sends a request.
enum Identity: Sendable {
    /// No credential was sent: open endpoints only.
    case anonymous
    /// A paired device, and the person signed in on it, if any.
    case authenticated(Principal)
    /// A credential was sent and refused (unknown, revoked, malformed); the error is answered by
    /// any endpoint that needs a credential, and open endpoints ignore it.
    case refused(APIError)
}

/// The tokens a request carried.
struct Credentials: Sendable {
    var device: String
    var session: String?
    /// Sent as the `edgenode_device`/`edgenode_session` cookies (the web app), not as headers.
    var viaCookie: Bool
}

/// What the node hands the API besides the shop.
public struct LocalAPIConfiguration: Sendable {
    /// Request bodies larger than this are refused with 413.
    public var maxBodyBytes: Int = 1_048_576
    public var access = AccessPolicy()
    /// How long a Last-Event-ID can resume the event stream (older events are pruned).
    public var eventRetentionDays: Int = 7
    /// How long an Idempotency-Key is remembered.
    public var idempotencyRetentionHours: Int = 24
    /// The OpenAPI document as JSON, served at /openapi.json.
    public var openAPIDocument: [UInt8] = Array("{}".utf8)
    /// The Prometheus text for /metrics.
    public var metricsText: @Sendable () async -> String = { "" }
    /// Whether the node is ready for traffic (/ready).
    public var isReady: @Sendable () -> Bool = { true }
    /// The node's status for GET /v1/status (identity, replica, peers), as JSON-encodable fields.
    public var status: @Sendable () throws -> [String: StatusValue] = { [:] }
    /// How often an idle event stream sends a keep-alive comment.
    public var keepAliveInterval: Duration = .seconds(15)
    /// The money side's wiring (fiscal register, Kaspi gateway, whether the box is online).
    public var money = MoneyConfiguration()
    /// The messaging side's wiring (which channels this box sends by).
    public var messaging = MessagingConfiguration()

    public init() {}
}

/// A JSON value of the node's status document.
public indirect enum StatusValue: Sendable, Encodable, Hashable {
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case null
    case array([StatusValue])
    case object([String: StatusValue])

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// The box's local JSON API over a `Shop`: routes, authentication of devices and people, role
/// checks, idempotent mutations, problem+json errors, live events.
public final class LocalAPI: Sendable {
    let shop: Shop
    let configuration: LocalAPIConfiguration
    let logger: Logger
    let zones: Zones
    let inFlight = Mutex<Set<String>>([])
    let shuttingDown = Atomic<Bool>(false)

    public init(shop: Shop, configuration: LocalAPIConfiguration, logger: Logger) {
        self.shop = shop
        self.configuration = configuration
        self.logger = logger
        self.zones = Zones(shop: shop)
    }

    /// The methods of each endpoint path, for 405 and `Allow`.
    static let allowedMethods = AllowedMethods(endpoints.map { ($0.method.rawValue, $0.path) })

    /// Every endpoint: method, path template, permission. docs/api.md lists the same table.
    public static var endpointTable: [(method: String, path: String, permission: Permission)] {
        LocalAPI.endpoints.map { ($0.method.rawValue, $0.path, $0.permission) }
    }

    /// The router with every endpoint and the error middleware.
    public func makeRouter() -> Router<APIContext> {
        let router = Router(context: APIContext.self)
        router.add(middleware: ProblemMiddleware(api: self))
        router.add(middleware: IdentityMiddleware(api: self))
        for endpoint in Self.endpoints {
            router.on(RouterPath(endpoint.path), method: endpoint.method) { [self] request, context in
                try await self.handle(endpoint, request: request, context: context)
            }
        }
        WebAppRoutes.register(on: router)
        return router
    }

    /// Ends live event streams (graceful shutdown) so in-flight requests can finish.
    public func beginShutdown() {
        shuttingDown.store(true, ordering: .relaxed)
        shop.changeFeed.finishAll()
    }

    // MARK: Dispatch

    func handle(_ endpoint: Endpoint, request: Request, context: APIContext) async throws -> Response {
        let started = ContinuousClock.now
        let requestID = context.id
        var call = Call(api: self, endpoint: endpoint, request: request, context: context, requestID: requestID)
        let response: Response
        do {
            if endpoint.permission != .open {
                switch context.identity {
                case .anonymous:
                    throw APIError.unauthenticated("send the device token as `Authorization: Bearer <token>`; pair the device first (POST /v1/pairing-requests)")
                case .refused(let error):
                    throw error
                case .authenticated(let principal):
                    call.principal = principal
                    guard endpoint.permission.isGranted(to: principal.role) else {
                        throw APIError.forbidden("the role \(principal.role.rawValue) may not \(endpoint.method.rawValue) \(endpoint.path) (needs \(endpoint.permission.rawValue); see docs/api.md)")
                    }
                }
            }
            // An endpoint that declares no query parameters refuses any; the others list unknown
            // ones with the rest of their parameter errors (QueryReader.validate).
            if endpoint.query.isEmpty, let query = request.uri.query, !query.isEmpty {
                let names = request.uri.queryParameters.map { String($0.key) }
                throw APIError.invalidParameters(Set(names.isEmpty ? ["?"] : names).sorted().map { FieldError(field: $0, message: "is not a parameter of this endpoint") })
            }
            if endpoint.method == .post || endpoint.method == .put || endpoint.method == .patch {
                call.body = try await readBody(request)
            } else if let length = request.headers[.contentLength], let bytes = Int(length), bytes > 0 {
                throw APIError(status: 400, kind: "unexpected_body", title: "This endpoint takes no body", detail: "\(endpoint.method.rawValue) \(endpoint.path) takes no request body")
            }
            response = try await idempotent(call)
        } catch let error as APIError {
            response = problem(error, requestID: requestID, path: request.uri.path)
        } catch let error as DomainError {
            response = problem(APIError(error, now: shop.now), requestID: requestID, path: request.uri.path)
        } catch let error as HTTPEdgeRequestError {
            // The body ended early or broke HTTP/1.1 (a dropped upload): the client's fault.
            response = problem(APIError(error), requestID: requestID, path: request.uri.path)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            response = problem(APIError(status: 413, kind: "body_too_large", title: "The request body is too large",
                                        detail: "request bodies are limited to \(configuration.maxBodyBytes) bytes"), requestID: requestID, path: request.uri.path)
        } catch {
            logger.error("request failed", metadata: ["request_id": "\(requestID)", "error": "\(error)"])
            response = problem(APIError(status: 500, kind: "internal", title: "Internal error", detail: "the box failed to handle the request; it changed nothing. Request id \(requestID)."),
                               requestID: requestID, path: request.uri.path)
        }
        record(endpoint, call: call, status: response.status.code, since: started)
        var final = response
        final.headers[.init("X-Request-Id")!] = requestID
        return final
    }

    private func record(_ endpoint: Endpoint, call: Call, status: Int, since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        let dimensions = [("method", endpoint.method.rawValue), ("route", endpoint.path), ("status", String(status))]
        Counter(label: "edgenode_http_requests_total", dimensions: dimensions).increment()
        Timer(label: "edgenode_http_request_duration_seconds", dimensions: [("method", endpoint.method.rawValue), ("route", endpoint.path)])
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let level: Logger.Level = status >= 500 ? .error : (status >= 400 || endpoint.method != .get) ? .info : .debug
        logger.log(level: level, "\(endpoint.method.rawValue) \(endpoint.path) \(status)", metadata: [
            "request_id": "\(call.requestID)", "status": "\(status)", "duration_ms": "\(String(format: "%.2f", milliseconds))",
            "device": "\(call.principal?.device.id.rawValue ?? "-")", "person": "\(call.principal?.person?.id.rawValue ?? "-")",
            "remote": "\(call.context.remoteAddress)",
        ])
    }

    func problem(_ error: APIError, requestID: String, path: String) -> Response {
        var response = error.response(instance: path)
        if error.status == 401 { response.headers[.wwwAuthenticate] = "Bearer realm=\"edgenode\"" }
        for name in error.clearCookies { response.headers.append(HTTPField(name: .setCookie, value: BrowserCredentials.clearing(name))) }
        return response
    }

    // MARK: Authentication

    /// `Authorization: Bearer <device token>`, and optionally `Edgenode-Session: <PIN session token>`.
    func authenticate(_ request: Request) async throws -> Principal {
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthenticated("send the device token as `Authorization: Bearer <token>`; pair the device first (POST /v1/pairing-requests)")
        }
        guard header.count <= 512, header.lowercased().hasPrefix("bearer "), case let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces), !token.isEmpty else {
            throw APIError.unauthenticated("the Authorization header must be `Bearer <device token>`")
        }
        let session = request.headers[HTTPField.Name("Edgenode-Session")!]
        if session == nil, let device = shop.access.cachedDevice(token: token) { return Principal(device: device, person: nil) }
        let device = try await shop.access.authenticateDevice(token: token)
        var principal = Principal(device: device, person: nil)
        if let session {
            guard session.count <= 512 else { throw DomainError(.unauthenticated, "the Edgenode-Session header is malformed") }
            principal.person = try await shop.access.authenticateSession(token: session, device: device)
        }
        return principal
    }

    /// The web app's cookies (`edgenode_device`, `edgenode_session`). A refused device cookie is
    /// `401` `unauthenticated` clearing both cookies; a refused session cookie (with a good device)
    /// is `401` `session_ended` clearing the session cookie, so the app asks for the PIN again
    /// rather than pairing again.
    func authenticateCookies(device token: String, session: String?) async -> Identity {
        let device: Device
        do {
            guard token.count <= 512 else { throw DomainError(.unauthenticated, "the edgenode_device cookie is malformed") }
            device = try await shop.access.authenticateDevice(token: token)
        } catch let error as DomainError where error.code == .unauthenticated {
            var refusal = APIError.unauthenticated("\(error.message); the tablet's device cookie no longer works: pair the tablet again")
            refusal.clearCookies = [BrowserCredentials.deviceCookie, BrowserCredentials.sessionCookie]
            return .refused(refusal)
        } catch let error as DomainError {
            return .refused(APIError(error, now: shop.now))
        } catch {
            return .refused(APIError(status: 503, kind: "storage", title: "Storage unavailable", detail: "the box could not check the credential"))
        }
        guard let session else { return .authenticated(Principal(device: device, person: nil)) }
        do {
            guard session.count <= 512 else { throw DomainError(.unauthenticated, "the edgenode_session cookie is malformed") }
            return .authenticated(Principal(device: device, person: try await shop.access.authenticateSession(token: session, device: device)))
        } catch let error as DomainError where error.code == .unauthenticated {
            var refusal = APIError(status: 401, kind: "session_ended", title: "The person's session ended",
                                   detail: "\(error.message); the device is still paired")
            refusal.clearCookies = [BrowserCredentials.sessionCookie]
            return .refused(refusal)
        } catch let error as DomainError {
            return .refused(APIError(error, now: shop.now))
        } catch {
            return .refused(APIError(status: 503, kind: "storage", title: "Storage unavailable", detail: "the box could not check the session"))
        }
    }

    func readBody(_ request: Request) async throws -> [UInt8] {
        var request = request
        let buffer = try await request.collectBody(upTo: configuration.maxBodyBytes)
        let bytes = Array(buffer.readableBytesView)
        if !bytes.isEmpty {
            let type = request.headers[.contentType]?.lowercased() ?? ""
            guard type.hasPrefix("application/json") || type.hasPrefix("application/merge-patch+json") else {
                throw APIError(status: 415, kind: "unsupported_media_type", title: "Send JSON",
                               detail: "request bodies must be `Content-Type: application/json`, not `\(type.isEmpty ? "(none)" : type)`")
            }
        }
        return bytes
    }

    // MARK: Idempotency

    /// Runs a mutation at most once per `Idempotency-Key` (per device): a retry gets the first
    /// response again; the same key with another request is refused.
    func idempotent(_ call: Call) async throws -> Response {
        guard call.endpoint.method != .get, let key = call.request.headers[HTTPField.Name("Idempotency-Key")!] else {
            return try await call.endpoint.handler(call).response()
        }
        guard (1...200).contains(key.count), key.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw APIError.invalidParameters([FieldError(field: "Idempotency-Key", message: "must be 1–200 visible ASCII characters")])
        }
        let scope = "\(call.principal?.device.id.rawValue ?? "anonymous:\(call.context.remoteAddress)"):\(key)"
        let hash = Sodium.hashRequest(method: call.endpoint.method.rawValue, path: call.request.uri.path, body: call.body)
        let replies = IdempotencyStore(shop: shop)
        guard inFlight.withLock({ $0.insert(scope).inserted }) else {
            throw APIError(status: 409, kind: "idempotency_in_progress", title: "The first request with this key is still running",
                           detail: "retry after the first request with Idempotency-Key \(key) has finished")
        }
        defer { _ = inFlight.withLock { $0.remove(scope) } }
        // The stored reply is looked up, and the handler's domain writes and the reply commit, in
        // one transaction (a unit of work, one trip to the store's thread), so a crash leaves both
        // or neither: a retry gets the reply, or runs for the first time. A 4xx reply is stored
        // with whatever the handler wrote; a 5xx (or a 429) undoes the unit.
        let reply = try await shop.unitOfWork { () async throws -> Reply in
            if let stored = try await replies.reply(key: scope) {
                guard stored.requestHash == hash else {
                    throw APIError(status: 422, kind: "idempotency_key_reused", title: "The Idempotency-Key was used for another request",
                                   detail: "this device already sent a different request with Idempotency-Key \(key); use a new key for a new request")
                }
                return Reply(status: stored.status, body: stored.body, location: stored.location.isEmpty ? nil : stored.location,
                             contentType: stored.status >= 400 ? "application/problem+json" : "application/json", replayed: true)
            }
            let reply: Reply
            do {
                reply = try await call.endpoint.handler(call)
            } catch let error as APIError where error.status < 500 && error.status != 429 {
                reply = Reply(status: error.status, body: error.body(instance: call.request.uri.path), contentType: "application/problem+json")
            } catch let error as DomainError where error.code != .storage && error.code != .locked {
                let problem = APIError(error, now: shop.now)
                reply = Reply(status: problem.status, body: problem.body(instance: call.request.uri.path), contentType: "application/problem+json")
            }
            if let fault = beforeStoringReply.withLock({ $0 }) { try fault() }
            try await replies.save(StoredResponse(requestHash: hash, status: reply.status, location: reply.location ?? "", body: reply.body), key: scope)
            return reply
        }
        return reply.response()
    }

    /// Tests only: runs between an idempotent request's handler and the storing of its reply
    /// (throwing there stands for a crash at that point).
    let beforeStoringReply = Mutex<(@Sendable () throws -> Void)?>(nil)

}

extension Sodium {
    static func hashRequest(method: String, path: String, body: [UInt8]) -> String {
        Sodium.blake2b(Array("\(method) \(path)\n".utf8) + body, length: 32).hexString
    }
}

/// Turns router errors (no route, wrong method) into problem+json, with the request id.
/// Puts the request's identity on its context (`APIContext.identity`): the device of the
/// `Authorization: Bearer` token and the person of an `Edgenode-Session`, or why they were
/// refused. Whether the endpoint needs one, and which permission, is decided by the endpoint.
struct IdentityMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let api: LocalAPI

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        var context = context
        if request.headers[.authorization] != nil {
            do {
                context.identity = .authenticated(try await api.authenticate(request))
                let bearer = request.headers[.authorization].map { String($0.dropFirst(7)).trimmingCharacters(in: .whitespaces) } ?? ""
                context.credentials = Credentials(device: bearer, session: request.headers[HTTPField.Name("Edgenode-Session")!], viaCookie: false)
            } catch let error as APIError {
                context.identity = .refused(error)
            } catch let error as DomainError {
                // A storage failure too: the endpoints that need the identity answer it (503).
                context.identity = .refused(APIError(error, now: api.shop.now))
            }
        } else if let device = BrowserCredentials.cookie(BrowserCredentials.deviceCookie, in: request) {
            let session = BrowserCredentials.cookie(BrowserCredentials.sessionCookie, in: request)
            if let refusal = BrowserCredentials.csrfRefusal(request) {
                context.identity = .refused(refusal)
            } else {
                context.identity = await api.authenticateCookies(device: device, session: session)
                if case .authenticated = context.identity { context.credentials = Credentials(device: device, session: session, viaCookie: true) }
            }
        }
        return try await next(request, context)
    }
}

struct ProblemMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let api: LocalAPI

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        var response = try await routed(request, context: context, next: next)
        if response.headers[HTTPField.Name("X-Request-Id")!] == nil { response.headers[HTTPField.Name("X-Request-Id")!] = context.id }
        if request.uri.path.hasPrefix("/v1/") {
            // Nothing the API answers is cached by a (shared, kiosk) browser, sniffed or framed.
            response.headers[.cacheControl] = "no-store"
            response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
            response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        }
        return response
    }

    private func routed(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let path = request.uri.path
            if error.status == .notFound {
                if let problem = LocalAPI.allowedMethods.problem(method: request.method.rawValue, path: path, instance: path) {
                    return problem.response
                }
                return api.problem(APIError(status: 404, kind: "no_route", title: "No such endpoint",
                                            detail: "\(request.method.rawValue) \(path) is not an endpoint; see /openapi.json"), requestID: context.id, path: path)
            }
            return api.problem(APIError(status: Int(error.status.code), kind: "http_error", title: error.status.reasonPhrase,
                                        detail: error.body ?? error.status.reasonPhrase), requestID: context.id, path: path)
        }
    }
}

/// One endpoint: method, path template (`{name}` captures), permission, handler.
/// One endpoint, declared in one place (`LocalAPI.endpoints`): method, path, permission, the
/// query parameters it takes, its request body and its answers, and the handler. Identity and
/// unknown query parameters are dealt with before the handler runs; docs/openapi.yaml is checked
/// against these declarations field by field (LocalAPITests' OpenAPI contract test).
struct Endpoint: Sendable {
    let method: HTTPRequest.Method
    let path: String
    let permission: Permission
    /// The query parameters it reads; a request naming any other is refused (400).
    let query: [QueryParameter]
    /// Its request body, as a schema of the OpenAPI document; nil: it takes none.
    let body: BodyDeclaration?
    /// Its successful answers by status.
    let answers: [Int: AnswerDeclaration]
    let handler: @Sendable (Call) async throws -> Reply

    init(_ method: HTTPRequest.Method, _ path: String, _ permission: Permission, query: [QueryParameter] = [], body: BodyDeclaration? = nil,
         answers: [Int: AnswerDeclaration], _ handler: @escaping @Sendable (Call) async throws -> Reply) {
        self.method = method
        self.path = path
        self.permission = permission
        self.query = query
        self.body = body
        self.answers = answers
        self.handler = handler
    }
}

/// A request as a handler sees it.
struct Call: Sendable {
    let api: LocalAPI
    let endpoint: Endpoint
    let request: Request
    let context: APIContext
    let requestID: String
    var principal: Principal?
    var body: [UInt8] = []

    init(api: LocalAPI, endpoint: Endpoint, request: Request, context: APIContext, requestID: String) {
        self.api = api
        self.endpoint = endpoint
        self.request = request
        self.context = context
        self.requestID = requestID
    }

    var shop: Shop { api.shop }
    var zones: Zones { api.zones }
    var role: Role { principal?.role ?? .kiosk }

    /// A path capture that must be an id.
    func id<Tag>(_ name: String, as type: Identifier<Tag>.Type = Identifier<Tag>.self) throws(APIError) -> Identifier<Tag> {
        let raw = context.parameters.get(name) ?? ""
        guard let id = Identifier<Tag>(raw) else {
            throw APIError.invalidParameters([FieldError(field: name, message: "\"\(raw.prefix(64))\" is not a UUIDv7 id")])
        }
        return id
    }

    func parameter(_ name: String) -> String { context.parameters.get(name) ?? "" }

    /// A path capture that must be a date in the supported years.
    func pathDate(_ name: String) throws(APIError) -> LocalDate {
        let raw = parameter(name)
        guard let date = LocalDate(raw), (1970...2199).contains(date.year) else {
            throw APIError.invalidParameters([FieldError(field: name, message: "\"\(raw.prefix(32))\" is not a date (YYYY-MM-DD) in the years 1970 to 2199")])
        }
        return date
    }

    func query() -> QueryReader {
        QueryReader(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, declared: Set(endpoint.query.map(\.name)))
    }

    func bodyReader() throws(APIError) -> BodyReader { try BodyReader.parse(body) }

    /// Who acts in this request, passed to every write of the domain's components (`as:`): the
    /// device and person, or a guest with a tracking token. The components run off Swift's
    /// cooperative pool by themselves (inline inside the unit of work of an idempotent request),
    /// so handlers call them directly.
    var acting: Acting {
        principal.map { Acting.principal($0, requestID: requestID) } ?? Acting.guest(requestID: requestID)
    }

    /// The branch a request is about: the `branch` it names, else the box's home branch.
    func branch(_ named: BranchID?) throws(APIError) -> BranchID {
        if let named { return named }
        guard let home = shop.homeBranch else {
            throw APIError.invalidParameters([FieldError(field: "branch", message: "is required: this box has no home branch")])
        }
        return home
    }
}

/// A handler's result.
struct Reply: Sendable {
    var status: Int = 200
    var body: [UInt8] = []
    var location: String?
    var contentType: String = "application/json"
    var replayed = false
    var stream: ResponseBody?
    var extraHeaders: [(String, String)] = []

    init(status: Int = 200, body: [UInt8], location: String? = nil, contentType: String = "application/json", replayed: Bool = false) {
        self.status = status
        self.body = body
        self.location = location
        self.contentType = contentType
        self.replayed = replayed
    }

    static func json<T: Encodable>(_ value: T, status: Int = 200, location: String? = nil) -> Reply {
        Reply(status: status, body: APIEncoding.encode(value), location: location)
    }

    static var noContent: Reply { Reply(status: 204, body: []) }

    func response() -> Response {
        var headers = HTTPFields()
        if status != 204 { headers[.contentType] = contentType }
        if let location { headers[.location] = location }
        if replayed { headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        for (name, value) in extraHeaders { if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) } }
        if let stream { return Response(status: .init(code: status), headers: headers, body: stream) }
        return Response(status: .init(code: status), headers: headers, body: status == 204 ? .init() : .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
