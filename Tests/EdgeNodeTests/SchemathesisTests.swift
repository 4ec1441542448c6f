import EdgeNodeApp
import Foundation
import Testing
import TestSupport

@Suite("OpenAPI conformance", .serialized)
struct SchemathesisTests {
    @Test("schemathesis against `edgenode serve --demo` with the owner's token: no 5xx, every response matches docs/openapi.yaml")
    func schemathesis() async throws {
        let daemon = try await offPool { try Daemon(["serve", "--demo", "--port", "0", "--log-level", "notice"]) }
        defer { _ = daemon.stop() }
        // The banner with the tokens follows the listening line: wait for it.
        let token = try await offPool { try daemon.child.waitForLogBlocking(#"owner console +(\S+)"#) } ?? ""
        #expect(!token.isEmpty)
        let examples = ProcessInfo.processInfo.environment["EDGENODE_SCHEMATHESIS_EXAMPLES"] ?? "25"
        let port = daemon.port
        let result = try await offPool { try run("/usr/bin/env", [
            "python3", "-c", "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'schemathesis'; schemathesis()",
            "run", "http://127.0.0.1:\(port)/openapi.json",
            "--header", "Authorization: Bearer \(token)",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
            // The event stream never ends; revoking (or forgetting the device) would revoke the run's own token (tested in LocalAPITests).
            "--exclude-path", "/v1/events", "--exclude-path", "/v1/devices/{id}/revoke", "--exclude-path", "/v1/device/forget",
            "--max-examples", examples, "--seed", "20261122", "--workers", "1", "--request-timeout", "10",
        ], timeout: .seconds(1800), check: false) }
        #expect(result.status == 0, "schemathesis found problems:\n\(result.output.suffix(12_000))\n\(result.error.suffix(2000))")
    }
}
