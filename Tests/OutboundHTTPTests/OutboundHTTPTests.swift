#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import OutboundHTTP
import Synchronization
import Testing
import TestSupport

/// A request context that remembers the connection a request came on (its client address and port).
struct ConnectionContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let connection: String
    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        connection = source.channel.remoteAddress.map { "\($0)" } ?? "unknown"
    }
}

/// A real Hummingbird server on loopback that counts the connections its requests came on, and a
/// route (`/parked`) whose requests wait until the test releases them.
final class LoopbackServer: Sendable {
    let connections = Mutex<Set<String>>([])
    let parked = Mutex<[CheckedContinuation<Void, Never>]>([])
    let listening = Mutex<Int?>(nil)
    private let task = Mutex<Task<Void, any Error>?>(nil)

    var port: Int { listening.withLock { $0 } ?? 0 }
    var connectionCount: Int { connections.withLock { $0.count } }
    var parkedCount: Int { parked.withLock { $0.count } }

    static func start(tls: TLSConfiguration? = nil) async throws -> LoopbackServer {
        let server = LoopbackServer()
        let router = Router(context: ConnectionContext.self)
        router.get("/hello") { _, context in
            server.connections.withLock { _ = $0.insert(context.connection) }
            return "hello"
        }
        router.post("/echo") { request, context in
            server.connections.withLock { _ = $0.insert(context.connection) }
            let body = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, headers: [.contentType: request.headers[.contentType] ?? "none"], body: .init(byteBuffer: body))
        }
        router.get("/parked") { _, context in
            server.connections.withLock { _ = $0.insert(context.connection) }
            await withCheckedContinuation { continuation in server.parked.withLock { $0.append(continuation) } }
            return "released"
        }
        let application = Application(
            router: router,
            server: try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in server.listening.withLock { $0 = channel.localAddress?.port } },
            logger: Logger(label: "loopback", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        server.task.withLock { $0 = Task { try await application.runService(gracefulShutdownSignals: []) } }
        _ = try await eventuallyValue("the loopback server listens", timeout: .seconds(180)) { server.listening.withLock { $0 } }
        return server
    }

    /// Lets every parked request answer.
    func release() {
        for continuation in parked.withLock({ list in defer { list = [] }; return list }) { continuation.resume() }
    }

    func stop() async {
        release()
        let running = task.withLock { $0 }
        running?.cancel()
        _ = await running?.result
    }
}

@Suite("The outbound HTTP port over async-http-client, against a real server on loopback")
struct OutboundHTTPTests {
    static let logger = Logger(label: "outbound-test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func request(_ server: LoopbackServer, _ path: String, method: String = "GET", tls: OutboundTLS? = nil, body: [UInt8] = [],
                        timeout: Duration = .seconds(30)) -> OutboundRequest {
        OutboundRequest(method: method, host: "127.0.0.1", port: server.port, path: path, tls: tls, headers: [("Content-Type", "text/plain")],
                        body: body, timeout: timeout)
    }

    @Test("sequential requests to one host share one connection")
    func connectionReuse() async throws {
        let server = try await LoopbackServer.start()
        let client = HTTPClientOutbound(logger: Self.logger)
        for index in 0..<5 {
            let response = try await client.send(Self.request(server, "/echo", method: "POST", body: Array("request \(index)".utf8)))
            #expect(response.status == 200)
            #expect(response.text == "request \(index)")
            #expect(response.header("content-type") == "text/plain")
        }
        #expect(try await client.send(Self.request(server, "/hello")).text == "hello")
        #expect(server.connectionCount == 1, "\(server.connections.withLock { $0 })")
        try await client.shutdown()
        await server.stop()
    }

    @Test("a request that gets no answer within its timeout fails as a timeout")
    func timeout() async throws {
        let server = try await LoopbackServer.start()
        let client = HTTPClientOutbound(logger: Self.logger)
        let error = await #expect(throws: OutboundHTTPError.self) {
            _ = try await client.send(Self.request(server, "/parked", timeout: .milliseconds(300)))
        }
        #expect(error?.kind == .timeout, "\(String(describing: error))")
        #expect(error?.description.contains("127.0.0.1:\(server.port) did not answer GET /parked") == true, "\(String(describing: error))")
        try await client.shutdown()
        await server.stop()
    }

    @Test("cancelling the task abandons a request in flight")
    func cancellation() async throws {
        let server = try await LoopbackServer.start()
        let client = HTTPClientOutbound(logger: Self.logger)
        let request = Self.request(server, "/parked", timeout: .seconds(600))
        let inFlight = Task { try await client.send(request) }
        try await eventually("the request is parked at the server") { server.parkedCount == 1 }
        inFlight.cancel()
        let outcome = await inFlight.result
        #expect(throws: CancellationError.self) { try outcome.get() }
        // The client still works afterwards.
        #expect(try await client.send(Self.request(server, "/hello")).status == 200)
        try await client.shutdown()
        await server.stop()
    }

    @Test("HTTPS verified against a given CA, connections reused; the system's roots refuse that CA; a certificate for another name is refused")
    func tls() async throws {
        let root = NSTemporaryDirectory() + "outbound-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pki = try TestPKI(directory: root)
        let serverTLS = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(pki.certificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: pki.keyFile, format: .pem)))
        let server = try await LoopbackServer.start(tls: serverTLS)
        let client = HTTPClientOutbound(logger: Self.logger)
        let trusted = try OutboundTLS.trusting(pemFile: pki.caFile)
        for _ in 0..<3 {
            #expect(try await client.send(Self.request(server, "/hello", tls: trusted)).text == "hello")
        }
        #expect(server.connectionCount == 1)
        // By name as well as by address (the certificate names both).
        var byName = Self.request(server, "/hello", tls: trusted)
        byName.host = "localhost"
        #expect(try await client.send(byName).status == 200)

        let unverified = await #expect(throws: OutboundHTTPError.self) {
            _ = try await client.send(Self.request(server, "/hello", tls: .systemRoots))
        }
        #expect(unverified?.kind == .tls)
        #expect(unverified?.description.contains("TLS with 127.0.0.1:\(server.port) failed") == true, "\(String(describing: unverified))")
        #expect(unverified?.description.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(String(describing: unverified))")
        await server.stop()

        let elsewhere = try TestPKI(directory: root, names: "DNS:relay.example")
        let misnamed = try await LoopbackServer.start(tls: TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(elsewhere.certificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: elsewhere.keyFile, format: .pem))))
        let wrongName = await #expect(throws: OutboundHTTPError.self) {
            _ = try await client.send(Self.request(misnamed, "/hello", tls: try OutboundTLS.trusting(pemFile: elsewhere.caFile)))
        }
        #expect(wrongName?.kind == .tls, "\(String(describing: wrongName))")
        await misnamed.stop()
        try await client.shutdown()
    }

    @Test("a CA file that is missing or holds no certificate is named")
    func badCAFile() throws {
        let missing = NSTemporaryDirectory() + "missing-" + UUID().uuidString + ".pem"
        #expect(throws: OutboundHTTPError.self) { _ = try OutboundTLS.trusting(pemFile: missing) }
        do { _ = try OutboundTLS.trusting(pemFile: missing, describedAs: "the relay's CA file") } catch {
            #expect("\(error)" == "cannot read the relay's CA file \(missing)")
        }
    }

    @Test("nothing listening: a connect error; after shutdown: a shut-down error; the blocking form answers as the async one")
    func connectFailureShutdownAndBlocking() async throws {
        let server = try await LoopbackServer.start()
        let port = server.port
        let client = HTTPClientOutbound(logger: Self.logger)
        let request = Self.request(server, "/echo", method: "POST", body: Array("blocking".utf8))
        let blocking = try await offPool { try client.sendAndWait(request) }
        #expect(blocking.status == 200 && blocking.text == "blocking")
        try await client.shutdown()
        await server.stop()
        // A client with no connection kept, to a port that is bound but not listening: held by this
        // test, so no other test's server can take it meanwhile (the stopped server's port could be).
        let closed = try BoundPort()
        defer { closed.close() }
        let fresh = HTTPClientOutbound(logger: Self.logger)
        var nobody = Self.request(server, "/hello")
        nobody.port = closed.port
        _ = port
        let refused = await #expect(throws: OutboundHTTPError.self) { _ = try await fresh.send(nobody) }
        #expect(refused?.kind == .connect, "\(String(describing: refused))")
        #expect(refused?.reason == "Connection refused", "\(String(describing: refused))")
        try await fresh.shutdown()
        let after = await #expect(throws: OutboundHTTPError.self) { _ = try await fresh.send(nobody) }
        #expect(after?.kind == .shutDown, "\(String(describing: after))")
    }
}


/// A loopback TCP port bound by a socket that never listens: connecting to it is refused.
final class BoundPort: @unchecked Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketDescriptor, $0, &length) } }
        guard socketDescriptor >= 0, bound == 0, named == 0 else { throw TimeoutError(what: "binding a loopback port (errno \(errno))") }
        descriptor = socketDescriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(descriptor) }
}
