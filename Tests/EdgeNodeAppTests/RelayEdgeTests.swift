import Foundation
import HTTPProblem
import Logging
import Prometheus
import Relay
import Testing
import TestSupport

/// The relay's HTTP edge over real sockets on loopback (it faces the internet): the same faults as
/// the box's (issue 14, items 6, 7 and 9), with the relay's own configuration.
@Suite("HTTP edge of the relay")
struct RelayEdgeTests {
    /// Runs a relay over SQLite on 127.0.0.1 with `edge`, runs `body` with its port, stops it.
    static func withRelay(logger: Logger = PeerSyncTests.logger, edge: (inout HTTPEdgeLimits) -> Void = { _ in },
                          _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "edgenode-relay-edge-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = RelayConfiguration()
        configuration.bind = "127.0.0.1"
        configuration.port = 0
        configuration.housekeepingInterval = .seconds(3600)
        edge(&configuration.edge)
        let registry = PrometheusCollectorRegistry()
        let core = RelayCore(storage: try SQLiteRelayStorage(path: directory + "/relay.sqlite", logger: logger), logger: logger,
                             metricsFactory: PrometheusMetricsFactory(registry: registry))
        let runtime = RelayRuntime(core: core, configuration: configuration, logger: logger)
        let server = Task { try await runtime.run(handleSignals: false) }
        defer { server.cancel() }
        _ = try await withTimeout(.seconds(60), "the relay starting to listen") { try await runtime.waitUntilListening() }
        try await body(runtime.port)
    }

    static func health(port: Int, from source: String = "127.0.0.1") async throws -> Int? {
        let connection = try RawConnection(port: port, source: source)
        connection.send("GET /v1/health HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
        return try await connection.response(within: 30)?.status
    }

    @Test("a dropped upload is a 400 malformed_body problem, not a 503, and no error is logged; a malformed head is a problem document")
    func droppedUploadAndMalformedHead() async throws {
        let recorder = LogRecorder(minimumLevel: .error)
        try await Self.withRelay(logger: recorder.logger(label: "relay-edge-test")) { port in
            let upload = try RawConnection(port: port)
            upload.send("POST /v1/businesses HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"owner_key\"")
            upload.shutdownSending()
            let answer = try #require(try await upload.response(within: 30), "no answer")
            #expect(answer.status == 400)
            #expect(answer.headers["content-type"] == "application/problem+json")
            #expect(answer.problemType == "urn:edgenode:problem:malformed_body")

            let malformed = try RawConnection(port: port)
            malformed.send("GET /v1/health HTTP/1.1\r\nHost: relay\r\nno colon here\r\n\r\n")
            let refusal = try #require(try await malformed.response(within: 30), "no answer")
            #expect(refusal.status == 400)
            #expect(refusal.headers["content-type"] == "application/problem+json")
            #expect(refusal.problemType == "urn:edgenode:problem:malformed_request")
            #expect(try await malformed.waitUntilClosed(within: 30))

            let large = try RawConnection(port: port)
            large.send("GET /v1/health HTTP/1.1\r\nHost: relay\r\nX-Padding: \(String(repeating: "a", count: 100_000))\r\n\r\n")
            #expect(try await large.response(within: 30)?.status == 431)
            #expect(try await Self.health(port: port) == 200)
            #expect(recorder.recorded.isEmpty, "logged as errors: \(recorder.recorded)")
        }
    }

    @Test("a trickled request head is closed after the relay's header timeout; connections beyond its per-address cap are closed while another address is served")
    func slowHeadsAndConnectionCap() async throws {
        try await Self.withRelay(edge: {
            $0.headerTimeout = .seconds(1)
            $0.idleTimeout = .seconds(3600)
            $0.maxConnectionsPerAddress = 3
        }) { port in
            // From another address than the capped connections below, which it would otherwise count among.
            let slow = try RawConnection(port: port, source: "127.0.0.3")
            let head = Array("GET /v1/health HTTP/1.1\r\nHost: relay\r\nX-Slow: \(String(repeating: "z", count: 2000))\r\n\r\n".utf8)
            var sent = 0
            let closed = try await slow.waitUntilClosed(within: 30) {
                if sent < head.count, slow.send([head[sent]]) { sent += 1 }
            }
            #expect(closed, "the trickling connection is still open after 30 s")
            #expect(RawResponse.parse(slow.unread)?.0.status == 408)

            var held: [RawConnection] = []
            for _ in 0..<3 {
                let connection = try RawConnection(port: port)
                connection.send("GET /v1/health HTTP/1.1\r\nHost: relay\r\n\r\n")
                #expect(try await connection.response(within: 30)?.status == 200)
                held.append(connection)
            }
            let refused = try RawConnection(port: port)
            refused.send("GET /v1/health HTTP/1.1\r\nHost: relay\r\n\r\n")
            #expect(try await refused.waitUntilClosed(within: 30), "a fourth connection from 127.0.0.1 was kept open")
            #expect(RawResponse.parse(refused.unread) == nil, "a fourth connection from 127.0.0.1 was answered")
            #expect(try await Self.health(port: port, from: "127.0.0.2") == 200)
            _ = held
        }
    }

    @Test("the relay's edge settings are read from flags and the environment, and refused out of range")
    func configuration() throws {
        let defaults = try RelayConfiguration.load(environment: [:])
        #expect(defaults.edge.headerTimeout == .seconds(10) && defaults.edge.idleTimeout == .seconds(75) && defaults.edge.maxConnectionsPerAddress == 64)
        let set = try RelayConfiguration.load(environment: ["EDGENODE_RELAY_HEADER_TIMEOUT_SECONDS": "5", "EDGENODE_RELAY_MAX_CONNECTIONS_PER_ADDRESS": "0"],
                                              flags: ["idle_timeout_seconds": "30", "header_timeout_seconds": "7"])
        #expect(set.edge.headerTimeout == .seconds(7) && set.edge.idleTimeout == .seconds(30) && set.edge.maxConnectionsPerAddress == 0)
        #expect(throws: RelayConfigurationError.self) { try RelayConfiguration.load(environment: [:], flags: ["header_timeout_seconds": "0"]) }
        #expect(throws: RelayConfigurationError.self) { try RelayConfiguration.load(environment: [:], flags: ["max_connections_per_address": "-1"]) }
    }
}
