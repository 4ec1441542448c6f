import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal asynchronous HTTP/1.1 client for the sync protocol: one request per connection,
/// a connect timeout and an overall deadline, cancellable (cancelling closes the connection,
/// which is how a long-poll is abandoned when this box has something to push).
struct PeerHTTP: Sendable {
    let host: String
    let port: Int
    var connectTimeout: TimeAmount = .seconds(5)
    var maxResponseBytes = 64 * 1024 * 1024

    struct Reply: Sendable {
        var status: Int
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// POSTs `body` to `path`; fails after `timeout` in all.
    func post(_ path: String, body: [UInt8], headers extra: [(String, String)] = [], timeout: TimeAmount) async throws -> Reply {
        try await send(.POST, path, body: body, headers: extra, timeout: timeout)
    }

    /// Sends a request with `method` (`body` may be empty); fails after `timeout` in all.
    /// - Parameters:
    ///   - contentType: the body's media type.
    ///   - progress: told the number of body bytes received so far, as they arrive.
    func send(_ method: HTTPMethod, _ path: String, body: [UInt8], headers extra: [(String, String)] = [], contentType: String = "application/json",
              timeout: TimeAmount, progress: (@Sendable (Int) -> Void)? = nil) async throws -> Reply {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(connectTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
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
                try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)))
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                try await outbound.write(.end(nil))
                var status: Int?
                var collected = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        status = Int(head.status.code)
                    case .body(var chunk):
                        guard collected.readableBytes + chunk.readableBytes <= limit else {
                            throw Failure(description: "\(host):\(port) answered with more than \(limit) bytes")
                        }
                        collected.writeBuffer(&chunk)
                        progress?(collected.readableBytes)
                    case .end:
                        guard let status else { throw Failure(description: "\(host):\(port) sent no status line") }
                        return Reply(status: status, body: Array(collected.readableBytesView))
                    }
                }
                try Task.checkCancellation()
                throw Failure(description: "\(host):\(port) closed the connection before answering \(path) (or it timed out)")
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }
}
