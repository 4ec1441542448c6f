import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A minimal asynchronous HTTP/1.1 client for the sync protocol: one request per connection,
/// a connect timeout and an overall deadline, cancellable (cancelling closes the connection,
/// which is how a long-poll is abandoned when this box has something to push).
package struct PeerHTTP: Sendable {
    package let host: String
    package let port: Int
    package var connectTimeout: TimeAmount = .seconds(5)
    package var maxResponseBytes = 64 * 1024 * 1024
    /// TLS (https) with this context; the server's certificate must name `host` (a name, or the
    /// address connected to for an IP literal).
    package var tls: NIOSSLContext?

    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    package struct Reply: Sendable {
        package var status: Int
        package var body: [UInt8]
        /// The reply's `Date` header, if any (the relay's clock, RelayTime).
        package var date: String?
        package var text: String { String(decoding: body, as: UTF8.self) }
    }

    package struct Failure: Error, CustomStringConvertible {
        package let description: String
        /// The TLS handshake failed (the server's certificate was not trusted, say).
        package var isTLS = false

        package init(description: String, isTLS: Bool = false) {
            self.description = description
            self.isTLS = isTLS
        }
    }

    /// POSTs `body` to `path`; fails after `timeout` in all.
    package func post(_ path: String, body: [UInt8], headers extra: [(String, String)] = [], timeout: TimeAmount) async throws -> Reply {
        try await send(.POST, path, body: body, headers: extra, timeout: timeout)
    }

    /// Sends a request with `method` (`body` may be empty); fails after `timeout` in all.
    /// - Parameters:
    ///   - contentType: the body's media type.
    ///   - progress: told the number of body bytes received so far, as they arrive.
    package func send(_ method: HTTPMethod, _ path: String, body: [UInt8], headers extra: [(String, String)] = [], contentType: String = "application/json",
              timeout: TimeAmount, progress: (@Sendable (Int) -> Void)? = nil) async throws -> Reply {
        do {
            return try await exchange(method, path, body: body, headers: extra, contentType: contentType, timeout: timeout, progress: progress)
        } catch where error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            throw Failure(description: "TLS with \(host):\(port) failed: \(error)", isTLS: true)
        }
    }

    private func exchange(_ method: HTTPMethod, _ path: String, body: [UInt8], headers extra: [(String, String)], contentType: String,
                          timeout: TimeAmount, progress: (@Sendable (Int) -> Void)?) async throws -> Reply {
        let tls = self.tls
        let serverName = Self.isIPAddress(host) ? nil : host
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(connectTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        let deadline = channel.channel.eventLoop.scheduleTask(in: timeout) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Connection", value: "close")
        for (name, value) in extra { headers.add(name: name, value: value) }
        let limit = maxResponseBytes
        let (host, port) = (self.host, self.port)
        return try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                do {
                    try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                    try await outbound.write(.end(nil))
                } catch let writeError {
                    // A TLS handshake that fails closes the channel under the writes; why is in
                    // the inbound stream.
                    for try await _ in inbound {}
                    throw writeError
                }
                var status: Int?
                var date: String?
                var collected = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        status = Int(head.status.code)
                        date = head.headers.first(name: "date")
                    case .body(var chunk):
                        guard collected.readableBytes + chunk.readableBytes <= limit else {
                            throw Failure(description: "\(host):\(port) answered with more than \(limit) bytes")
                        }
                        collected.writeBuffer(&chunk)
                        progress?(collected.readableBytes)
                    case .end:
                        guard let status else { throw Failure(description: "\(host):\(port) sent no status line") }
                        return Reply(status: status, body: Array(collected.readableBytesView), date: date)
                    }
                }
                try Task.checkCancellation()
                throw Failure(description: "\(host):\(port) closed the connection before answering \(path) (or it timed out)")
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }

    package static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}

/// TLS client contexts for the relay, made once per set of trusted roots (a context loads and
/// parses the roots; connections share it).
package enum RelayTLS {
    private static let contexts = Mutex<[String: NIOSSLContext]>([:])

    /// The context that trusts the system's roots (`caFile` nil) or only the certificates in the
    /// PEM file `caFile`; full verification, TLS 1.2 at least.
    /// - Throws: `PeerHTTP.Failure` naming the file when it cannot be read or holds no certificate.
    package static func context(caFile: String?) throws -> NIOSSLContext {
        let key = caFile ?? ""
        if let made = contexts.withLock({ $0[key] }) { return made }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let caFile {
            configuration.trustRoots = .certificates(try certificates(caFile))
        }
        let made: NIOSSLContext
        do { made = try NIOSSLContext(configuration: configuration) } catch {
            throw PeerHTTP.Failure(description: "cannot set up TLS for the relay: \(error)")
        }
        contexts.withLock { $0[key] = made }
        return made
    }

    /// The certificates in a PEM file, with a message for a person when there are none.
    package static func certificates(_ file: String) throws -> [NIOSSLCertificate] {
        guard FileManager.default.isReadableFile(atPath: file) else { throw PeerHTTP.Failure(description: "cannot read the relay's CA file \(file)") }
        let found: [NIOSSLCertificate]
        do { found = try NIOSSLCertificate.fromPEMFile(file) } catch {
            throw PeerHTTP.Failure(description: "the relay's CA file \(file) is not PEM certificates: \(error)")
        }
        guard !found.isEmpty else { throw PeerHTTP.Failure(description: "the relay's CA file \(file) holds no certificate") }
        return found
    }
}
