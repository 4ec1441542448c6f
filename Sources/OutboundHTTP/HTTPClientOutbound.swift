import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The production `OutboundHTTP`: one long-lived async-http-client `HTTPClient`, so that
/// requests to the same host reuse kept-alive connections (and their TLS sessions) instead of
/// connecting and shaking hands each time.
///
/// Its settings are the box's, in one place: HTTP/1.1 only, no redirects followed, no
/// decompression, 5 seconds to connect, idle connections kept 30 seconds (below the box's and the
/// relay's 75-second idle timeout, so a kept connection is not closed under a new request), a
/// failed connection attempt reported at once rather than retried. TLS settings come with each
/// request (`OutboundTLS`); connections are pooled per host, port and TLS settings.
///
/// Lifecycle: whoever makes one shuts it down (`shutdown()`) once nothing uses it any more; the
/// box's runtime does so after its service group stopped. `shared` is the process's client for
/// one-shot commands and for callers that are not handed one; it is never shut down.
public final class HTTPClientOutbound: OutboundHTTP {
    private let client: HTTPClient
    private let isShutDown = Atomic<Bool>(false)

    /// The process's client for the command line and for callers that are not handed one.
    public static let shared = HTTPClientOutbound(logger: Logger(label: "edgenode.http", factory: { _ in SwiftLogNoOpLogHandler() }))

    /// - Parameter idleTimeout: how long a kept-alive connection may sit unused in the pool.
    public init(logger: Logger, idleTimeout: Duration = .seconds(30)) {
        var configuration = HTTPClient.Configuration()
        configuration.httpVersion = .http1Only
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5))
        configuration.connectionPool = HTTPClient.Configuration.ConnectionPool(idleTimeout: TimeAmount(idleTimeout))
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration, backgroundActivityLogger: logger)
    }

    /// Closes the pooled connections; requests after it fail with `.shutDown`. Calling it again does nothing.
    public func shutdown() async throws {
        guard !isShutDown.exchange(true, ordering: .relaxed) else { return }
        try await client.shutdown()
    }

    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        let prepared = try prepare(request)
        // The timeout covers the body too (async-http-client's deadline ends with the head).
        return try await withThrowingTaskGroup(of: OutboundResponse?.self) { group in
            group.addTask { try await self.exchange(prepared, request) }
            group.addTask {
                try await Task.sleep(for: request.timeout)
                return nil
            }
            defer { group.cancelAll() }
            do {
                guard let first = try await group.next(), let response = first else {
                    throw OutboundHTTPError(.timeout, "\(request.authority) did not answer \(request.method) \(Self.pathOnly(request.path)) within \(request.timeout)")
                }
                return response
            } catch {
                throw Self.translate(error, request)
            }
        }
    }

    /// Sends `request` and blocks the calling thread until the answer is in, without using
    /// Swift's cooperative threads (so a synchronous caller on one of them cannot starve the
    /// exchange): for synchronous code such as the command line's `ConsoleClient`. Plain HTTP;
    /// `progress` is not called.
    public func sendAndWait(_ request: OutboundRequest) throws -> OutboundResponse {
        let prepared: HTTPClient.Request
        do {
            prepared = try HTTPClient.Request(url: request.url, method: HTTPMethod(rawValue: request.method),
                                              headers: HTTPHeaders(request.headers.map { ($0.name, $0.value) }),
                                              body: request.body.isEmpty && ["GET", "HEAD", "DELETE"].contains(request.method) ? nil : .bytes(request.body),
                                              tlsConfiguration: request.tls?.configuration)
        } catch {
            throw OutboundHTTPError(.exchange, "cannot make a request for \(request.url): \(error)")
        }
        let response: HTTPClient.Response
        do {
            response = try client.execute(request: prepared, deadline: .now() + TimeAmount(request.timeout)).wait()
        } catch {
            throw Self.translate(error, request)
        }
        let body = response.body.map { Array($0.readableBytesView) } ?? []
        guard body.count <= request.maxResponseBytes else {
            throw OutboundHTTPError(.tooLarge, "\(request.authority) answered with more than \(request.maxResponseBytes) bytes")
        }
        return OutboundResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: body)
    }

    private func prepare(_ request: OutboundRequest) throws -> HTTPClientRequest {
        var prepared = HTTPClientRequest(url: request.url)
        prepared.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { prepared.headers.add(name: name, value: value) }
        prepared.body = .bytes(request.body)
        prepared.tlsConfiguration = request.tls?.configuration
        return prepared
    }

    private func exchange(_ prepared: HTTPClientRequest, _ request: OutboundRequest) async throws -> OutboundResponse {
        let response = try await client.execute(prepared, deadline: .now() + TimeAmount(request.timeout))
        var collected: [UInt8] = []
        for try await chunk in response.body {
            guard collected.count + chunk.readableBytes <= request.maxResponseBytes else {
                throw OutboundHTTPError(.tooLarge, "\(request.authority) answered with more than \(request.maxResponseBytes) bytes")
            }
            collected += chunk.readableBytesView
            request.progress?(collected.count)
        }
        return OutboundResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: collected)
    }

    static func pathOnly(_ path: String) -> Substring { path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }

    /// async-http-client's and NIO's errors as the port's, with the host and what went wrong.
    static func translate(_ error: any Error, _ request: OutboundRequest) -> any Error {
        switch error {
        case is OutboundHTTPError, is CancellationError:
            return error
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            return OutboundHTTPError(.tls, "TLS with \(request.authority) failed: \(error)")
        case let failure as HTTPClientError:
            switch failure {
            case .cancelled: return CancellationError()
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return OutboundHTTPError(.timeout, "\(request.authority) did not answer \(request.method) \(pathOnly(request.path)) within \(request.timeout)")
            case .connectTimeout, .tlsHandshakeTimeout:
                return OutboundHTTPError(.connect, "cannot connect to \(request.authority) (\(failure))")
            case .alreadyShutdown:
                return OutboundHTTPError(.shutDown, "the HTTP client was shut down")
            case .remoteConnectionClosed:
                return OutboundHTTPError(.exchange, "\(request.authority) closed the connection before answering \(pathOnly(request.path))")
            default:
                return OutboundHTTPError(.exchange, "HTTP with \(request.authority) failed: \(failure)")
            }
        case let failure as NIOConnectionError:
            let reason = failure.connectionErrors.first.map { Self.reason($0.error) } ?? failure.dnsAAAAError.map(Self.reason) ?? failure.dnsAError.map(Self.reason) ?? "\(failure)"
            return OutboundHTTPError(.connect, "cannot connect to \(request.authority) (\(reason))", reason: reason)
        case let failure as IOError where [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL].contains(failure.errnoCode):
            return OutboundHTTPError(.connect, "cannot connect to \(request.authority) (\(reason(failure)))", reason: reason(failure))
        case is ChannelError:
            if case ChannelError.connectTimeout = error { return OutboundHTTPError(.connect, "cannot connect to \(request.authority) (connect timeout)") }
            return OutboundHTTPError(.exchange, "HTTP with \(request.authority) failed: \(error)")
        default:
            return OutboundHTTPError(.exchange, "HTTP with \(request.authority) failed: \(error)")
        }
    }

    /// "Connection refused" for an `IOError`; the error's own text otherwise.
    static func reason(_ error: any Error) -> String {
        if let failure = error as? IOError { return String(cString: strerror(failure.errnoCode)) }
        return "\(error)"
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
