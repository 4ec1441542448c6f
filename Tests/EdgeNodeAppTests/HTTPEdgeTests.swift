import Foundation
import Logging
import Prometheus
import Replication
import Testing
import TestSupport
@testable import EdgeNodeApp

/// The box's HTTP edge over real sockets on loopback: what happens below the router (issue 14,
/// items 6, 7 and 9). Timeouts are configured short and waited for with a deadline.
@Suite("HTTP edge of the box")
struct HTTPEdgeTests {
    /// Runs a provisioned box on 127.0.0.1 with `configure` applied, runs `body` with its port, stops it.
    static func withBox(logger: Logger = PeerSyncTests.logger, _ configure: (inout NodeConfiguration) -> Void = { _ in },
                        _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let root = NSTemporaryDirectory() + "edgenode-edge-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = ReplicaDirectory(path: root + "/box")
        _ = try Provisioning(branchName: "Leeds", timeZone: "Europe/London", currency: "GBP", region: "GB", locale: "en-GB", ownerName: "Owner")
            .run(in: directory, logger: PeerSyncTests.logger)
        var configuration = NodeConfiguration.loopback(directory)
        configure(&configuration)
        let box = try EdgeNodeRuntime(configuration: configuration, logger: logger, registry: PrometheusCollectorRegistry())
        let server = Task { try await box.run() }
        defer { server.cancel() }
        _ = try await withTimeout(.seconds(60), "the box starting to listen") { try await box.waitUntilListening() }
        try await body(box.port)
    }

    /// `GET /health` on a new connection from `source`: its status, or nil if the connection was closed unanswered.
    static func health(port: Int, from source: String = "127.0.0.1") async throws -> Int? {
        let connection = try RawConnection(port: port, source: source)
        connection.send("GET /health HTTP/1.1\r\nHost: box\r\nConnection: close\r\n\r\n")
        return try await connection.response(within: 120)?.status
    }

    @Test("a POST whose body stops short (Content-Length 1000, 12 bytes, then half-close) is a 400 problem, not a 500, and no error is logged")
    func droppedUpload() async throws {
        let recorder = LogRecorder(minimumLevel: .error)
        try await Self.withBox(logger: recorder.logger(label: "edge-test")) { port in
            let connection = try RawConnection(port: port)
            connection.send("POST /v1/pairing-requests HTTP/1.1\r\nHost: box\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"device_na")
            connection.shutdownSending()
            let response = try #require(try await connection.response(within: 120), "no answer")
            #expect(response.status == 400)
            #expect(response.headers["content-type"] == "application/problem+json")
            #expect(response.problemType == "urn:edgenode:problem:malformed_request")
            #expect((response.json["detail"] as? String)?.contains("ended in the middle") == true)
            #expect(try await connection.waitUntilClosed(within: 120))
            #expect(try await Self.health(port: port) == 200)
            #expect(recorder.recorded.isEmpty, "logged as errors: \(recorder.recorded)")
        }
    }

    /// Requests NIO's HTTP/1.1 decoder refuses, and the status each gets.
    static let malformed: [(name: String, bytes: [UInt8], status: Int, kind: String)] = [
        ("a head over 80 KiB", Array("GET /health HTTP/1.1\r\nHost: box\r\nX-Padding: \(String(repeating: "a", count: 100_000))\r\n\r\n".utf8), 431, "request_header_too_large"),
        ("0xFF bytes in the path", Array("GET /v1/".utf8) + [0xFF, 0xFF] + Array(" HTTP/1.1\r\nHost: box\r\n\r\n".utf8), 400, "malformed_request"),
        ("a negative Content-Length", Array("POST /v1/pairing-requests HTTP/1.1\r\nHost: box\r\nContent-Length: -5\r\n\r\n".utf8), 400, "malformed_request"),
        ("a control character in a header", Array("GET /health HTTP/1.1\r\nHost: box\r\nX-Note: a\u{01}b\r\n\r\n".utf8), 400, "malformed_request"),
        ("a header line without a colon", Array("GET /health HTTP/1.1\r\nHost: box\r\nthis line has no colon\r\n\r\n".utf8), 400, "malformed_request"),
    ]

    @Test("what the HTTP/1.1 decoder refuses is answered with a problem document and Connection: close, then closed; the box keeps serving",
          arguments: 0..<5)
    func decoderRefusals(index: Int) async throws {
        let (name, bytes, status, kind) = Self.malformed[index]
        try await Self.withBox { port in
            let connection = try RawConnection(port: port)
            connection.send(bytes)
            let response = try #require(try await connection.response(within: 120), "\(name): no answer")
            #expect(response.status == status, "\(name)")
            #expect(response.headers["content-type"] == "application/problem+json", "\(name)")
            #expect(response.headers["connection"] == "close", "\(name)")
            #expect(response.problemType == "urn:edgenode:problem:\(kind)", "\(name)")
            #expect(response.json["status"] as? Int == status, "\(name)")
            #expect(try await connection.waitUntilClosed(within: 120), "\(name): the connection stayed open")
            #expect(try await Self.health(port: port) == 200)
        }
    }

    @Test("a malformed request pipelined behind a good one: the good one is answered first, then the problem, then the connection closes")
    func malformedBehindGoodRequest() async throws {
        try await Self.withBox { port in
            let connection = try RawConnection(port: port)
            connection.send(Array("GET /health HTTP/1.1\r\nHost: box\r\n\r\nGET /v1/".utf8) + [0xFF] + Array(" HTTP/1.1\r\nHost: box\r\n\r\n".utf8))
            #expect(try await connection.response(within: 120)?.status == 200)
            let refusal = try #require(try await connection.response(within: 120), "no answer to the malformed request")
            #expect(refusal.status == 400)
            #expect(refusal.problemType == "urn:edgenode:problem:malformed_request")
            #expect(try await connection.waitUntilClosed(within: 120))
        }
    }

    @Test("a request head trickled one byte at a time is answered 408 and closed after the header timeout, while other clients are served")
    func slowHeadIsClosed() async throws {
        try await Self.withBox({
            $0.http.headerTimeoutSeconds = 1
            $0.http.idleTimeoutSeconds = 3600
        }) { port in
            let slow = try RawConnection(port: port)
            let head = Array("GET /health HTTP/1.1\r\nHost: box\r\nX-Slow: \(String(repeating: "z", count: 2000))\r\n\r\n".utf8)
            var sent = 0
            for byte in head.prefix(4) where slow.send([byte]) { sent += 1 }
            #expect(try await Self.health(port: port) == 200, "another client was not served while a head trickled in")
            let closed = try await slow.waitUntilClosed(within: 120) {
                if sent < head.count, slow.send([head[sent]]) { sent += 1 }
            }
            #expect(closed, "the trickling connection is still open after 30 s (\(sent) bytes sent)")
            #expect(sent < head.count)
            let response = RawResponse.parse(slow.unread)?.0
            #expect(response?.status == 408)
            #expect(response?.problemType == "urn:edgenode:problem:request_timeout")
            #expect(try await Self.health(port: port) == 200)
        }
    }

    @Test("a keep-alive connection left idle is closed after the idle timeout")
    func idleConnectionIsClosed() async throws {
        try await Self.withBox({
            $0.http.headerTimeoutSeconds = 300
            $0.http.idleTimeoutSeconds = 1
        }) { port in
            let connection = try RawConnection(port: port)
            connection.send("GET /health HTTP/1.1\r\nHost: box\r\n\r\n")
            #expect(try await connection.response(within: 120)?.status == 200)
            // A generous deadline (the timeout is 1 s): under the whole suite's load on two cores a
            // CI run once saw the connection still open after 30 s; alone it closes within about a second.
            #expect(try await connection.waitUntilClosed(within: 120), "the idle connection is still open after 120 s")
        }
    }

    @Test("connections beyond the per-address cap are closed unanswered; another address is served meanwhile, and a freed place is reused")
    func connectionsPerAddressAreCapped() async throws {
        try await Self.withBox({
            $0.http.headerTimeoutSeconds = 300
            $0.http.idleTimeoutSeconds = 3600
            $0.http.maxConnectionsPerAddress = 4
        }) { port in
            var held: [RawConnection] = []
            for _ in 0..<4 {
                let connection = try RawConnection(port: port)
                // One request each, so that each is surely accepted and counted before the next.
                connection.send("GET /health HTTP/1.1\r\nHost: box\r\n\r\n")
                #expect(try await connection.response(within: 120)?.status == 200)
                held.append(connection)
            }
            let refused = try RawConnection(port: port)
            refused.send("GET /health HTTP/1.1\r\nHost: box\r\n\r\n")
            #expect(try await refused.waitUntilClosed(within: 120), "a fifth connection from 127.0.0.1 was kept open")
            #expect(RawResponse.parse(refused.unread) == nil, "a fifth connection from 127.0.0.1 was answered")
            #expect(try await Self.health(port: port, from: "127.0.0.2") == 200)
            held.removeFirst()  // closes it
            try await eventually("the place a closed connection freed is given to a new one", timeout: .seconds(120), every: .milliseconds(50)) {
                try await Self.health(port: port) == 200
            }
            _ = held
        }
    }
}
