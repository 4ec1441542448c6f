import Foundation

/// The fake SMTP submission server (`Tests/python/fake_smtp.py`, aiosmtpd) as a child process:
/// STARTTLS and AUTH on loopback with its own throw-away PKI, and a control API that lists the
/// messages it accepted and injects failures. Stop it with `stop()`.
public final class FakeSMTP: @unchecked Sendable {
    public let process: ChildProcess
    /// Submission with STARTTLS required, AUTH PLAIN and LOGIN.
    public let smtpPort: Int
    /// The same, offering AUTH LOGIN only.
    public let loginOnlyPort: Int
    /// Implicit TLS (as on 465).
    public let tlsPort: Int
    /// No TLS offered; AUTH in the clear.
    public let plainPort: Int
    /// STARTTLS like `smtpPort`, with a certificate of the same CA naming only mail.other.example.
    public let wrongNamePort: Int
    /// Answers STARTTLS with its 220 and more plain-text replies in the same write (an injection).
    public let injectingPort: Int
    public let controlPort: Int
    /// The CA that signed the server's certificate (for 127.0.0.1 and localhost).
    public let caFile: String
    /// A CA that signed nothing the fake presents.
    public let otherCAFile: String
    public let username: String
    public let password: String

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Starts the fake (PKI in a new temporary directory) and waits for its ready line.
    public static func start() async throws -> FakeSMTP {
        let directory = temporaryDirectory("fake-smtp")
        let script = Binaries.packageRoot + "/Tests/python/fake_smtp.py"
        let process = try ChildProcess(name: "fake-smtp", program: "/usr/bin/env", arguments: ["python3", script, "--dir", directory], keepErrors: false)
        let line = try await offPool { process.nextLine() }
        guard let line, let ready = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
              let smtp = ready["smtp_port"] as? Int, let control = ready["control_port"] as? Int else {
            process.kill()
            throw Failure(description: "fake_smtp.py did not start: \(line ?? "no output")")
        }
        return FakeSMTP(process: process, smtpPort: smtp, controlPort: control, ready: ready)
    }

    private init(process: ChildProcess, smtpPort: Int, controlPort: Int, ready: [String: Any]) {
        self.process = process
        self.smtpPort = smtpPort
        self.controlPort = controlPort
        loginOnlyPort = ready["login_only_port"] as? Int ?? 0
        tlsPort = ready["tls_port"] as? Int ?? 0
        plainPort = ready["plain_port"] as? Int ?? 0
        wrongNamePort = ready["wrong_name_port"] as? Int ?? 0
        injectingPort = ready["injecting_port"] as? Int ?? 0
        caFile = ready["ca_file"] as? String ?? ""
        otherCAFile = ready["other_ca_file"] as? String ?? ""
        username = ready["username"] as? String ?? ""
        password = ready["password"] as? String ?? ""
    }

    /// SIGTERM now; the wait (and a SIGKILL if it takes too long) on a thread of its own.
    public func stop() {
        let process = self.process
        if process.isRunning { Foundation.kill(process.pid, SIGTERM) }
        Thread { _ = process.stop(timeout: .seconds(10)) }.start()
    }

    // MARK: Control

    @discardableResult
    public func control(_ method: String, _ path: String, _ body: [String: Any] = [:]) async throws -> [String: Any] {
        let json = try JSONSerialization.data(withJSONObject: body)
        let connection = try RawConnection(port: controlPort)
        _ = connection.send("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(json.count)\r\nConnection: close\r\n\r\n"
                            + String(decoding: json, as: UTF8.self))
        guard let response = try await connection.response(within: 30) else { throw Failure(description: "the fake's control API did not answer \(path)") }
        guard response.status == 200 else { throw Failure(description: "control \(path): \(response.status) \(String(decoding: response.body, as: UTF8.self))") }
        return response.json
    }

    /// Where an injected reply is given.
    public enum Step: String, Sendable {
        /// To MAIL FROM.
        case mail
        /// To RCPT TO.
        case rcpt
        /// To the DATA command.
        case data
        /// To the message's final `.`.
        case end
    }

    /// The next `count` sessions reaching `step` get `reply` (e.g. `451 4.3.0 try later`).
    public func fail(reply: String, at step: Step = .mail, count: Int = 1) async throws {
        try await control("POST", "/control/fail", ["reply": reply, "at": step.rawValue, "count": count])
    }

    /// The next `count` sessions' messages are taken but their final `.` is never answered.
    public func acceptThenHang(count: Int = 1) async throws {
        try await control("POST", "/control/fail", ["mode": "accept_then_hang", "count": count])
    }

    public func reset() async throws { try await control("POST", "/control/reset") }

    /// One message the fake accepted, parsed by Python's `email` package.
    public struct Message: Sendable {
        /// `smtp`, `login_only`, `tls` or `plain`: which port took it.
        public let port: String
        public let mailFrom: String
        public let recipients: [String]
        /// Whether it came over TLS (STARTTLS or implicit).
        public let tls: Bool
        /// The AUTH mechanism that succeeded (`PLAIN`, `LOGIN`), nil without AUTH.
        public let authMechanism: String?
        /// Header values decoded (RFC 2047), in order.
        public let headers: [(name: String, value: String)]
        /// Header values as sent.
        public let rawHeaders: [(name: String, value: String)]
        public let subject: String
        public let text: String?
        public let html: String?
        /// The message as received (after SMTP's dot-unstuffing), CRLF lines.
        public let content: String

        public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
        public func rawHeader(_ name: String) -> String? { rawHeaders.first { $0.name.lowercased() == name.lowercased() }?.value }
    }

    /// Every message accepted so far, in order.
    public func messages() async throws -> [Message] {
        let answer = try await control("GET", "/control/messages")
        func pairs(_ value: Any?) -> [(name: String, value: String)] {
            (value as? [[String]] ?? []).compactMap { $0.count == 2 ? (name: $0[0], value: $0[1]) : nil }
        }
        return (answer["messages"] as? [[String: Any]] ?? []).map { message in
            Message(port: message["port"] as? String ?? "", mailFrom: message["mail_from"] as? String ?? "",
                    recipients: message["rcpt_tos"] as? [String] ?? [], tls: message["tls"] as? Bool ?? false,
                    authMechanism: message["auth_mechanism"] as? String, headers: pairs(message["headers"]),
                    rawHeaders: pairs(message["raw_headers"]), subject: message["subject"] as? String ?? "",
                    text: message["text"] as? String, html: message["html"] as? String, content: message["content"] as? String ?? "")
        }
    }
}
