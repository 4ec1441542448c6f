import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// The limits of an HTTP/1.1 server's edge: below the router, per connection.
public struct HTTPEdgeLimits: Sendable, Hashable {
    /// From a connection's start, or from the first byte of a request after an idle pause, until
    /// its request line and headers are complete. A slower client is answered `408` and closed.
    public var headerTimeout: Duration = .seconds(10)
    /// How long a connection may stay open between requests, and the longest pause while a
    /// request head or body is being received.
    public var idleTimeout: Duration = .seconds(75)
    /// Open connections from one client address; more are closed as soon as they are accepted.
    /// 0: no limit (behind a proxy or load balancer, every connection has its address).
    public var maxConnectionsPerAddress: Int = 64
    /// The request line and headers together (and any one of them), in bytes; more is `431`.
    public var maxHeadBytes: Int = 80 * 1024

    public init() {}
}

/// Open connections per client address.
final class ConnectionCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Counts a connection from `address`; false (and nothing counted) when it has `limit` already.
    func open(_ address: String) -> Bool {
        counts.withLock { counts in
            guard limit == 0 || counts[address, default: 0] < limit else { return false }
            counts[address, default: 0] += 1
            return true
        }
    }

    func close(_ address: String) {
        counts.withLock { counts in
            let left = counts[address, default: 1] - 1
            counts[address] = left > 0 ? left : nil
        }
    }
}

extension HTTPServerBuilder {
    /// An HTTP/1.1 server with the edge's limits (`HTTPEdgeLimits`), whose own refusals — a request
    /// that is not valid HTTP/1.1, a head over the size limit, a head that takes too long — are
    /// problem documents (`ProblemDocument.edgeRefusal(for:)`) sent before the connection closes.
    /// Wrap it for TLS like `.http1()`: `.tls(.edge(limits, logger: logger), tlsConfiguration: …)`.
    public static func edge(_ limits: HTTPEdgeLimits, logger: Logger) -> HTTPServerBuilder {
        let counter = ConnectionCounter(limit: limits.maxConnectionsPerAddress)
        return .init { responder in HTTPEdgeChannel(responder: responder, limits: limits, counter: counter, logger: logger) }
    }
}

/// Hummingbird's HTTP/1.1 child channel with the edge's handlers added: `EdgeGuard` right after
/// NIO's request decoder (it sees the decoder's errors first and the responses last) and
/// `EdgeByteWatch` in front of the HTTP codec (it sees a request's first byte).
struct HTTPEdgeChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let responder: HTTPChannelHandler.Responder
    let limits: HTTPEdgeLimits
    let counter: ConnectionCounter
    let logger: Logger

    var http1: HTTP1Channel {
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(maxHeaderFieldSize: limits.maxHeadBytes, maxHeaderListSize: limits.maxHeadBytes)
        return HTTP1Channel(responder: responder, configuration: .init(idleTimeout: TimeAmount(limits.idleTimeout), httpDecoderConfiguration: decoder))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        guard counter.open(address) else {
            // Refused, but set up as usual: a failed setup would be reported on the listening channel.
            self.logger.debug("connection refused: too many from one address", metadata: ["http.remote": "\(address)", "http.limit": "\(counter.limit)"])
            return http1.setup(channel: channel, logger: logger).map { value in
                channel.close(promise: nil)
                return value
            }
        }
        let counter = self.counter
        channel.closeFuture.whenComplete { _ in counter.close(address) }
        let limits = self.limits
        let edgeLogger = self.logger
        return http1.setup(channel: channel, logger: logger).map { value in
            do {
                let pipeline = channel.pipeline.syncOperations
                let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
                let encoder = try pipeline.handler(type: HTTPResponseEncoder.self)
                let edge = EdgeGuard(limits: limits, logger: edgeLogger)
                try pipeline.addHandler(edge, position: .after(decoder))
                try pipeline.addHandler(EdgeByteWatch(edge: edge), position: .before(encoder))
            } catch {
                // Never fail the setup: a failed child channel is reported on the listening channel
                // and ends the server's accept loop. Only a Hummingbird that changed its pipeline gets
                // here; the connection is closed unanswered (and HTTPEdgeTests fail).
                edgeLogger.warning("cannot add the HTTP edge's handlers; closing the connection", metadata: ["error": "\(error)"])
                channel.close(promise: nil)
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

/// Tells `EdgeGuard` that bytes arrived (the start of a request head, when no request is open).
final class EdgeByteWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let edge: EdgeGuard

    init(edge: EdgeGuard) { self.edge = edge }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        edge.bytesArrived()
        context.fireChannelRead(data)
    }
}

/// An error of the request body a handler is reading: the connection ended before the body did,
/// or the body is not valid HTTP/1.1 (a malformed chunk). The client's fault, never the server's.
public struct HTTPEdgeRequestError: HTTPResponseError, CustomStringConvertible {
    public let problem: ProblemDocument

    public var status: HTTPResponse.Status { .init(code: problem.status) }
    public var description: String { "\(problem.kind): \(problem.detail)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response { problem.response }
}

extension ProblemDocument {
    /// The problem the edge answers for a request NIO's HTTP/1.1 decoder refused.
    public static func edgeRefusal(for error: HTTPParserError, maxHeadBytes: Int) -> ProblemDocument {
        let detail: String
        switch error {
        case .headerOverflow:
            return ProblemDocument(status: 431, kind: "request_header_too_large", title: "Request header fields too large",
                                   detail: "the request line and headers may be at most \(maxHeadBytes) bytes (and at most 1000 headers)")
        case .invalidEOFState: detail = "the connection ended in the middle of the request"
        case .invalidCharactersUsed, .invalidConstant: detail = "the request line or a header holds a character HTTP does not allow there"
        case .invalidURL: detail = "the request target is not a valid URL path"
        case .invalidMethod: detail = "the method is not a valid HTTP method"
        case .invalidVersion: detail = "only HTTP/1.0 and HTTP/1.1 are served"
        case .invalidHeaderToken: detail = "a header line is malformed: a name with characters HTTP does not allow, a control character, or a line without a colon"
        case .invalidContentLength: detail = "Content-Length must be a non-negative decimal number"
        case .unexpectedContentLength: detail = "Content-Length is sent twice with different values, or with Transfer-Encoding"
        case .invalidChunkSize: detail = "a chunk of the chunked body has a malformed size"
        case .lfExpected: detail = "a line of the request head does not end in CRLF"
        default: detail = "the request is not valid HTTP/1.1 (\(error))"
        }
        return ProblemDocument(status: 400, kind: "malformed_request", title: "The request is not valid HTTP/1.1", detail: detail)
    }

    /// The problem the edge answers when a request head did not arrive within the header timeout.
    public static func headerTimeout(_ timeout: Duration) -> ProblemDocument {
        ProblemDocument(status: 408, kind: "request_timeout", title: "The request took too long to arrive",
                        detail: "the request line and headers must arrive within \(timeout.components.seconds) seconds of the connection or of their first byte")
    }
}

/// Sits right after NIO's request decoder. It
/// - answers the decoder's errors with a problem document and closes the connection: at once when
///   no request is open, after the responses in progress when requests are; an error in the body
///   of the request being handled goes on to its handler as `HTTPEdgeRequestError` (a 4xx);
/// - closes a connection whose request head does not complete within the header timeout
///   (with a `408` if any of it arrived).
/// It lives on the channel's event loop.
final class EdgeGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let limits: HTTPEdgeLimits
    let logger: Logger
    private var context: ChannelHandlerContext?
    /// Request heads read whose response has not ended.
    private var requestsInProgress = 0
    /// A request head was read and its end was not.
    private var readingBody = false
    /// The head timer, while a request head is awaited.
    private var headTimer: Scheduled<Void>?
    /// Whether bytes of the awaited head have arrived (a connection that sent nothing is closed silently).
    private var headStarted = false
    /// The decoder failed: nothing more is read from this connection.
    private var broken = false
    /// A refusal to send once the responses in progress have ended.
    private var pending: ProblemDocument?
    /// Close once the responses in progress have ended.
    private var closeWhenAnswered = false
    private var refused = false

    init(limits: HTTPEdgeLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        startHeadTimer()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headTimer?.cancel()
        headTimer = nil
        self.context = nil
    }

    func bytesArrived() {
        if headTimer != nil {
            headStarted = true
        } else if requestsInProgress == 0, !readingBody, !broken {
            startHeadTimer()
            headStarted = true
        }
    }

    private func startHeadTimer() {
        guard let context, headTimer == nil else { return }
        headStarted = false
        headTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(limits.headerTimeout)) { [self] in
            headTimer = nil
            guard requestsInProgress == 0, !refused else { return }
            if headStarted {
                logger.debug("request head timed out", metadata: ["http.remote": "\(context.remoteAddress?.ipAddress ?? "?")"])
                refuse(.headerTimeout(limits.headerTimeout))
            } else {
                context.close(promise: nil)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }  // answered and closing: the rest is not read
        switch unwrapInboundIn(data) {
        case .head:
            headTimer?.cancel()
            headTimer = nil
            requestsInProgress += 1
            readingBody = true
        case .body: break
        case .end: readingBody = false
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        requestsInProgress -= 1
        context.write(data, promise: promise)
        guard requestsInProgress == 0 else { return }
        if let pending {
            self.pending = nil
            refuse(pending)
        } else if closeWhenAnswered {
            context.flush()
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let parserError: HTTPParserError
        switch error {
        case let error as HTTPParserError: parserError = error
        case ByteToMessageDecoderError.dataReceivedInErrorState(let error as HTTPParserError, _): parserError = error
        default:
            context.fireErrorCaught(error)
            return
        }
        guard !broken else { return }  // the decoder's later complaints about the same connection
        broken = true
        headTimer?.cancel()
        headTimer = nil
        let problem = ProblemDocument.edgeRefusal(for: parserError, maxHeadBytes: limits.maxHeadBytes)
        if readingBody {
            // The handler reading this body answers it (a 4xx); then the connection closes.
            readingBody = false
            closeWhenAnswered = true
            context.fireErrorCaught(HTTPEdgeRequestError(problem: problem))
        } else if requestsInProgress == 0 {
            refuse(problem)
        } else {
            pending = problem
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Refused, and now the client has stopped sending too: nothing is left to linger for.
        if refused, case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Sends `problem` with `Connection: close`, stops sending, and closes once the client has
    /// stopped too (or after a short linger), so that it can read the answer.
    private func refuse(_ problem: ProblemDocument) {
        guard let context, !refused else { return }
        refused = true
        broken = true
        let body = problem.body
        var headers = HTTPHeaders()
        for field in problem.headers { headers.add(name: field.name.rawName, value: field.value) }
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: problem.status), headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in
            context.close(mode: .output, promise: nil)
            context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) { context.close(promise: nil) }
        }
    }
}
