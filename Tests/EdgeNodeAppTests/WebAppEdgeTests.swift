import Domain
import Foundation
import Prometheus
import Replication
import Testing
import TestSupport
@testable import EdgeNodeApp

/// The web app's pages and cookie credentials through the box's real HTTP/1.1 server on loopback:
/// what the in-process router tests cannot show (the server turns `Host` into the request's
/// authority, answers HEAD without a body, sends the gzip bytes as they are).
@Suite("Web app over real HTTP")
struct WebAppEdgeTests {
    static func withBox(_ body: @escaping @Sendable (Int, EdgeNodeRuntime) async throws -> Void) async throws {
        let root = NSTemporaryDirectory() + "edgenode-webapp-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = ReplicaDirectory(path: root + "/box")
        _ = try Provisioning(branchName: "Leeds", timeZone: "Europe/London", currency: "GBP", region: "GB", locale: "en-GB", ownerName: "Owner")
            .run(in: directory, logger: PeerSyncTests.logger)
        let box = try EdgeNodeRuntime(configuration: NodeConfiguration.loopback(directory), logger: PeerSyncTests.logger, registry: PrometheusCollectorRegistry())
        let server = Task { try await box.run() }
        defer { server.cancel() }
        _ = try await withTimeout(.seconds(60), "the box starting to listen") { try await box.waitUntilListening() }
        try await body(box.port, box)
    }

    @Test("GET / gzip and HEAD / over a real connection; a cookie POST passes CSRF only with this box's Origin (the server's authority)")
    func pagesAndCookiesOverHTTP() async throws {
        try await Self.withBox { port, box in
            let page = try RawConnection(port: port)
            page.send("GET / HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept-Encoding: gzip\r\n\r\n")
            let gzip = try #require(try await page.response(within: 30), "no answer")
            #expect(gzip.status == 200)
            #expect(gzip.headers["content-encoding"] == "gzip")
            #expect(Array(gzip.body.prefix(2)) == [0x1f, 0x8b])
            #expect(gzip.headers["content-security-policy"]?.hasPrefix("default-src 'none'") == true)
            // HEAD on the same (kept-alive) connection: headers, no body bytes.
            page.send("HEAD / HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n")
            #expect(try await page.waitUntilClosed(within: 30))
            let head = String(decoding: page.unread, as: UTF8.self)
            #expect(head.hasPrefix("HTTP/1.1 200"))
            #expect(head.lowercased().contains("etag: \""))
            #expect(head.hasSuffix("\r\n\r\n"), "HEAD sent a body: \(head.suffix(100))")

            let token = try box.shop.registerDevice(name: "browser", role: .frontDesk, pairedBy: "test").token
            let draft = #"{"name":"Olivia Brown","phone":"07700 900456"}"#
            func post(origin: String) async throws -> RawResponse? {
                let connection = try RawConnection(port: port)
                connection.send("POST /v1/clients HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nOrigin: \(origin)\r\nCookie: edgenode_device=\(token)\r\n"
                                + "Edgenode-CSRF: 1\r\nContent-Type: application/json\r\nContent-Length: \(draft.utf8.count)\r\nConnection: close\r\n\r\n\(draft)")
                return try await connection.response(within: 30)
            }
            let foreign = try #require(try await post(origin: "http://192.168.1.50:8470"))
            #expect(foreign.status == 403)
            #expect(foreign.problemType == "urn:edgenode:problem:csrf")
            let own = try #require(try await post(origin: "http://127.0.0.1:\(port)"))
            #expect(own.status == 201, "\(String(decoding: own.body, as: UTF8.self))")
            #expect(own.headers["cache-control"] == "no-store")
        }
    }
}
