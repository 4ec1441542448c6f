import Foundation
import Synchronization
import Hummingbird
import HummingbirdTesting
import Testing
@testable import Relay
@testable import Replication
import TestSupport

/// The real `edgenode-relay` binary and its systemd unit.
@Suite("edgenode-relay process")
struct RelayProcessTests {
    static var binary: String { Binaries.relay }
    static var packageRoot: String { Binaries.packageRoot }

    /// The port from the relay's listening line ("... relay.port=NNNNN ...").
    static func port(of relay: ChildProcess) async throws -> Int {
        guard let port = try await relay.waitForLog(#"relay\.port=(\d+)"#, timeout: .seconds(60)).flatMap({ Int($0) }) else {
            throw TimeoutError(what: "the relay exited before listening: \(relay.tail)")
        }
        return port
    }

    @Test("`edgenode-relay serve` works with no set-up (SQLite in its data directory) and with --storage postgres://; health answers; SIGTERM stops it cleanly",
          arguments: StorageKind.available)
    func serve(kind: StorageKind) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build edgenode-relay first (swift build)")
        let directory = temporaryDirectory() + "/data"
        let relay = try ChildProcess(name: "relay", program: Self.binary,
                                     arguments: ["serve", "--data-dir", directory, "--bind", "127.0.0.1", "--port", "0", "--log-level", "debug"]
                                         + (kind == .postgres ? ["--storage", try #require(StorageKind.postgresURL)] : []))
        let process = relay.process
        defer { if process.isRunning { process.terminate() } }
        let port = try await Self.port(of: relay)
        let health = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in try await client.get("/v1/health") }
        #expect(health.status == .ok)
        #expect(FileManager.default.fileExists(atPath: directory + "/relay.sqlite") == (kind == .sqlite))
        // A box waiting in a long-poll when SIGTERM arrives gets its (empty) answer rather than a
        // connection cut when the grace period runs out.
        let client = RelayTestClient(port: port, clock: TestClock(milliseconds: RelayClock.system.now()))
        let business = TestBusiness()
        let box = business.box()
        try await client.setUp(business, boxes: [box])
        async let waiting = client.pull(as: box, business: business.id, wait: 25)
        // SIGTERM only once the pull is waiting (a request that arrives after shutdown began is
        // another case: its connection may be closed).
        _ = try await relay.waitForLog("pull waiting for envelopes", timeout: .seconds(60))
        process.terminate() // SIGTERM
        let answer = try await waiting
        #expect(answer.status == 200)
        #expect(answer.envelopes.isEmpty)
        try await offPool { process.waitUntilExit() }
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
    }

    @Test("schemathesis against the running relay: no 5xx for anything it generates, every response matches docs/relay-openapi.yaml")
    func schemathesis() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build edgenode-relay first (swift build)")
        let relay = try ChildProcess(name: "relay", program: Self.binary,
                                     arguments: ["serve", "--data-dir", temporaryDirectory() + "/data", "--bind", "127.0.0.1", "--port", "0", "--storage",
                                                 "sqlite:" + temporaryDirectory() + "/relay.sqlite"])
        defer { relay.stop() }
        let port = try await Self.port(of: relay)
        let examples = ProcessInfo.processInfo.environment["EDGENODE_SCHEMATHESIS_EXAMPLES"] ?? "25"
        let checker = Process()
        checker.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        checker.arguments = [
            "python3", "-c", "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'schemathesis'; schemathesis()",
            "run", Self.packageRoot + "/docs/relay-openapi.yaml", "--url", "http://127.0.0.1:\(port)",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
            "--max-examples", examples, "--seed", "20261122", "--workers", "1", "--request-timeout", "30",
        ]
        // Its cache goes to a scratch directory, not the repository's .schemathesis.
        checker.currentDirectoryURL = URL(fileURLWithPath: temporaryDirectory())
        let pipe = Pipe()
        checker.standardOutput = pipe
        checker.standardError = pipe
        try checker.run()
        let text = try await offPool {
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            checker.waitUntilExit()
            return text
        }
        #expect(checker.terminationStatus == 0, "schemathesis found problems:\n\(text.suffix(12_000))")
    }

    @Test("a bad storage URL is refused before anything starts")
    func badConfiguration() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build edgenode-relay first (swift build)")
        let result = try run(Self.binary, ["serve", "--storage", "mysql://nope"], check: false)
        #expect(result.status != 0)
        #expect(result.error.contains("storage"))
    }

    /// `systemd-analyze verify` accepts systemd/edgenode-relay.service without a warning (with
    /// ExecStart pointed at the built binary, as verify insists that the program exists).
    @Test func systemdUnitVerifies() throws {
        let candidates = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze", "/usr/local/bin/systemd-analyze"]
        guard let analyze = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Issue.record("systemd-analyze was not found; it is in Debian's `systemd` package")
            return
        }
        let original = try String(contentsOfFile: Self.packageRoot + "/systemd/edgenode-relay.service", encoding: .utf8)
        #expect(original.contains("\nExecStart=/usr/local/bin/edgenode-relay serve\n"))
        #expect(original.contains("\nType=notify\n"))
        let program = FileManager.default.isExecutableFile(atPath: Self.binary) && !Self.binary.contains(where: \.isWhitespace) ? Self.binary : "/bin/true"
        let directory = temporaryDirectory()
        let unit = directory + "/edgenode-relay.service"
        try original.replacingOccurrences(of: "\nExecStart=/usr/local/bin/edgenode-relay serve\n", with: "\nExecStart=\(program) serve\n")
            .write(toFile: unit, atomically: true, encoding: .utf8)
        let result = try run(analyze, ["verify", "--man=no", unit], environment: ProcessInfo.processInfo.environment, check: false)
        let text = result.output + result.error
        #expect(result.status == 0, "\(text)")
        let complaints = text.split(separator: "\n").filter { $0.contains("edgenode-relay.service") }
        #expect(complaints.isEmpty, "\(text)")
    }
}

@Suite("Relay documents")
struct RelayDocumentTests {
    /// Paths and their methods in docs/relay-openapi.yaml (the two-space-indented path keys and
    /// the four-space-indented method keys under them).
    static func documentedRoutes() throws -> [String: Set<String>] {
        let text = try String(contentsOfFile: RelayProcessTests.packageRoot + "/docs/relay-openapi.yaml", encoding: .utf8)
        var routes: [String: Set<String>] = [:]
        var current: String?
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, !line.hasPrefix(" "), !line.isEmpty { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") { current = String(line.dropFirst(2).dropLast()); routes[current!] = []; continue }
            for method in ["get", "post", "put", "delete", "patch"] where line == "    \(method):" {
                routes[current!, default: []].insert(method.uppercased())
            }
        }
        return routes
    }

    @Test("the OpenAPI document lists exactly the relay's routes and methods")
    func openAPIMatchesRoutes() throws {
        let documented = try Self.documentedRoutes()
        var implemented: [String: Set<String>] = [:]
        for route in ProblemMiddleware<BasicRequestContext>.routes {
            // The first path parameter is the business, the second the invitation (under
            // invitations) or Kaspi's payment id (under kaspi/payments).
            var parameters = ["{business}", route.pattern.contains("kaspi") ? "{qr_payment_id}" : "{invitation}"].makeIterator()
            let path = "/" + route.pattern.map { $0 == "*" ? parameters.next() ?? "{?}" : $0 }.joined(separator: "/")
            implemented[path] = Set(route.methods)
        }
        #expect(documented == implemented)
    }

    @Test("docs/relay-protocol.md states the sizes the code uses")
    func protocolSizes() throws {
        let text = try String(contentsOfFile: RelayProcessTests.packageRoot + "/docs/relay-protocol.md", encoding: .utf8)
        #expect(RelayEnvelope.headerLength == 117 && text.contains("(117 bytes)"))
        #expect(RelayEnvelope.minimumLength == 197 && text.contains("**197 bytes**"))
        #expect(SealedDataKey.byteCount == 253 && text.contains("**253 bytes**"))
        #expect(RelayRequestSignature.label.count == 25 && text.contains("25 ASCII bytes `edgenode.relay.request.v1`"))
        #expect(RelayRegistrationProof.label.count == 26 && text.contains("26 ASCII bytes"))
    }
}
