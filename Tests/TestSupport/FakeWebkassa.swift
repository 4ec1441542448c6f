// The fake Webkassa (Tests/python/fake_webkassa.py) as a child process, with a small client of
// its control API over raw HTTP (docs/fiscal.md, "The fake Webkassa").
import Foundation

/// A running fake Webkassa on loopback: its API port (what the adapter under test talks to) and
/// its control port (what the test drives). `stop()` (in a `defer`) ends the process.
public final class FakeWebkassa: @unchecked Sendable {
    public let process: ChildProcess
    public let apiPort: Int
    public let controlPort: Int
    public let apiKey: String
    public let login: String
    public let password: String
    public let cashbox: String

    /// The fake's API, for `fiscal.webkassa.url`.
    public var url: String { "http://127.0.0.1:\(apiPort)" }

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// Starts the script and waits for its ports.
    public init(apiKey: String = "test-api-key", login: String = "cashier@example.kz", password: String = "test-password",
                cashbox: String = "SWK00000001") async throws {
        self.apiKey = apiKey
        self.login = login
        self.password = password
        self.cashbox = cashbox
        let script = Binaries.packageRoot + "/Tests/python/fake_webkassa.py"
        let process = try ChildProcess(name: "fake-webkassa", program: "/usr/bin/env",
                                       arguments: ["python3", script, "--api-key", apiKey, "--login", login, "--password", password, "--cashbox", cashbox],
                                       keepErrors: false)
        self.process = process
        let line = try await withTimeout(.seconds(60), "the fake Webkassa printing its ports") { try await offPool { process.nextLine() } }
        guard let line, let ports = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
              let api = ports["api_port"] as? Int, let control = ports["control_port"] as? Int else {
            process.stop()
            throw Failure(description: "the fake Webkassa did not print its ports: \(line ?? "<no output>")")
        }
        apiPort = api
        controlPort = control
    }

    /// Stops the fake without holding the calling thread (see `FakeKaspi.stop()`).
    public func stop() {
        let process = self.process
        // SIGTERM now (so the fake ends even when the test process ends first); the wait, and a
        // SIGKILL if it takes too long, on a thread of its own.
        if process.isRunning { Foundation.kill(process.pid, SIGTERM) }
        Thread { _ = process.stop(timeout: .seconds(10)) }.start()
    }

    /// Every token issued so far is expired: the next call with one gets error 2.
    public func expireSessions() async throws { try await control("POST", "/expire-sessions") }

    /// What the fake does with its next `count` `Check` calls.
    public enum CheckFault: String, Sendable {
        /// Registers the check, then answers only after `hangSeconds` (past the client's timeout).
        case hang
        /// Registers the check, then closes the connection without an answer.
        case drop
        /// Answers HTTP 500 without registering.
        case error500
        /// Answers an error (by default 9, validation) with the given text without registering.
        case refuse
    }

    public func failNextChecks(_ fault: CheckFault, count: Int = 1, hangSeconds: Double = 5, text: String = "", code: Int = 9) async throws {
        let body: [String: Any] = ["mode": fault.rawValue, "count": count, "hang_seconds": hangSeconds, "text": text, "code": code]
        try await control("POST", "/next-checks", body)
    }

    /// Closes the API port (connections are refused) or opens it again on the same port.
    public func setOffline(_ offline: Bool) async throws { try await control("POST", offline ? "/offline" : "/online") }

    /// Whether a duplicate external number (error 14) carries the existing check's `Data`.
    public func setDuplicateAnswersWithData(_ withData: Bool) async throws { try await control("POST", "/duplicate-mode", ["with_data": withData]) }

    /// A check the fake registered (amounts as the decimal text it received).
    public struct Check: Sendable {
        public let checkNumber: String
        public let externalCheckNumber: String
        public let operationType: Int
        public let total: String
        /// Each position's fields; numbers that are amounts as decimal text ("1500.50").
        public let positions: [[String: String]]
        public let payments: [[String: String]]
        public let ticketURL: String
    }

    /// Every check registered, in order.
    public func checks() async throws -> [Check] {
        let json = try await control("GET", "/checks")
        return ((json["checks"] as? [[String: Any]]) ?? []).map { check in
            Check(checkNumber: check["CheckNumber"] as? String ?? "", externalCheckNumber: check["ExternalCheckNumber"] as? String ?? "",
                  operationType: check["OperationType"] as? Int ?? -1, total: check["Total"] as? String ?? "",
                  positions: (check["Positions"] as? [[String: Any]] ?? []).map(Self.texts),
                  payments: (check["Payments"] as? [[String: Any]] ?? []).map(Self.texts),
                  ticketURL: check["TicketUrl"] as? String ?? "")
        }
    }

    /// How many calls of each kind the fake has seen: "authorize", "check", "lookup".
    public func stats() async throws -> [String: Int] {
        (try await control("GET", "/stats")).compactMapValues { $0 as? Int }
    }

    private static func texts(_ object: [String: Any]) -> [String: String] {
        object.mapValues { value in
            if let text = value as? String { return text }
            if let number = value as? NSNumber { return number.stringValue }
            return "\(value)"
        }
    }

    @discardableResult
    private func control(_ method: String, _ path: String, _ body: [String: Any] = [:]) async throws -> [String: Any] {
        let payload = method == "GET" ? Data() : try JSONSerialization.data(withJSONObject: body)
        let connection = try RawConnection(port: controlPort)
        connection.send("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n")
        connection.send(Array(payload))
        guard let response = try await connection.response(within: 30), response.status == 200 else {
            throw Failure(description: "the fake Webkassa's control API did not answer \(method) \(path) with 200\n\(process.tail)")
        }
        return response.json
    }
}
