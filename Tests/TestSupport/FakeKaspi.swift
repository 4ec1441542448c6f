import Foundation

/// The fake Kaspi merchant API (`Tests/python/fake_kaspi.py`) as a child process: HTTPS on
/// loopback speaking Kaspi's QR protocol, with its own throw-away PKI, and a control API that
/// plays the customer and the provider (docs/kaspi.md §9). Stop it with `stop()`.
public final class FakeKaspi: @unchecked Sendable {
    public let process: ChildProcess
    public let httpsPort: Int
    public let controlPort: Int
    /// The CA that signed the fake's server certificate and both client certificates.
    public let caFile: String
    /// The client certificate the fake accepts for r2/r3 (CN edgenode-merchant) and its key.
    public let clientCertificate: String
    public let clientKey: String
    /// A client certificate of the same CA that the fake refuses with -10000.
    public let wrongClientCertificate: String
    public let wrongClientKey: String
    /// The API key it accepts for r1.
    public let apiKey: String
    public let tradePointID: Int64

    /// `https://127.0.0.1:<port>`, the access's base URL.
    public var baseURL: String { "https://127.0.0.1:\(httpsPort)" }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Starts the fake (PKI in a new temporary directory) and waits for its ready line.
    public static func start() async throws -> FakeKaspi {
        let directory = temporaryDirectory("fake-kaspi")
        let script = Binaries.packageRoot + "/Tests/python/fake_kaspi.py"
        let process = try ChildProcess(name: "fake-kaspi", program: "/usr/bin/env", arguments: ["python3", script, "--dir", directory], keepErrors: false)
        let line = try await offPool { process.nextLine() }
        guard let line, let ready = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
              let https = ready["https_port"] as? Int, let control = ready["control_port"] as? Int else {
            process.kill()
            throw Failure(description: "fake_kaspi.py did not start: \(line ?? "no output")")
        }
        return FakeKaspi(process: process, httpsPort: https, controlPort: control, ready: ready)
    }

    private init(process: ChildProcess, httpsPort: Int, controlPort: Int, ready: [String: Any]) {
        self.process = process
        self.httpsPort = httpsPort
        self.controlPort = controlPort
        caFile = ready["ca_file"] as? String ?? ""
        clientCertificate = ready["client_certificate"] as? String ?? ""
        clientKey = ready["client_key"] as? String ?? ""
        wrongClientCertificate = ready["wrong_client_certificate"] as? String ?? ""
        wrongClientKey = ready["wrong_client_key"] as? String ?? ""
        apiKey = ready["api_key"] as? String ?? ""
        tradePointID = (ready["trade_point_id"] as? NSNumber)?.int64Value ?? 1
    }

    /// Stops the fake without holding the calling thread (an async test's thread belongs to the
    /// small cooperative pool every other test shares; a fake busy with a slow answer may take
    /// seconds to exit): a thread of its own waits for the exit.
    public func stop() {
        let process = self.process
        // SIGTERM now (so the fake ends even when the test process ends first); the wait, and a
        // SIGKILL if it takes too long, on a thread of its own.
        if process.isRunning { Foundation.kill(process.pid, SIGTERM) }
        Thread { _ = process.stop(timeout: .seconds(10)) }.start()
    }

    // MARK: Control

    /// One control request; its JSON answer.
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

    /// The customer scans the QR of our payment `externalID`.
    public func scan(externalID: String) async throws { try await control("POST", "/scan", ["external_id": externalID]) }
    /// The customer pays it.
    public func pay(externalID: String) async throws { try await control("POST", "/pay", ["external_id": externalID]) }
    /// The payment fails at Kaspi.
    public func fail(externalID: String) async throws { try await control("POST", "/fail", ["external_id": externalID]) }
    /// The QR expires now.
    public func expire(externalID: String) async throws { try await control("POST", "/expire", ["external_id": externalID]) }

    /// The next `count` calls whose path contains `path` (any when nil) are slow by `seconds`,
    /// lose their connection (`drop`), or answer Kaspi's error `code`.
    public enum Fault: Sendable {
        case slow(seconds: Double)
        case drop
        case error(code: Int)
    }

    public func inject(_ fault: Fault, count: Int = 1, path: String? = nil) async throws {
        var body: [String: Any] = ["count": count]
        if let path { body["path"] = path }
        switch fault {
        case .slow(let seconds): body["action"] = "slow"; body["seconds"] = seconds
        case .drop: body["action"] = "drop"
        case .error(let code): body["action"] = "error"; body["code"] = code
        }
        try await control("POST", "/faults", body)
    }

    /// One call the fake received.
    public struct Call: Sendable {
        public let method: String
        public let path: String
        public let scheme: String
        /// `api_key`, `certificate`, `other_certificate:<CN>` or nil.
        public let auth: String?
        public let hasRequestID: Bool
        public let body: String
    }

    /// Every call received so far, in order.
    public func received() async throws -> [Call] {
        let state = try await control("GET", "/state")
        return (state["received"] as? [[String: Any]] ?? []).map { call in
            let body = call["body"].flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) }
            return Call(method: call["method"] as? String ?? "", path: call["path"] as? String ?? "", scheme: call["scheme"] as? String ?? "",
                        auth: call["auth"] as? String, hasRequestID: (call["request_id"] as? String).map { !$0.isEmpty } ?? false,
                        body: body.map { String(decoding: $0, as: UTF8.self) } ?? "")
        }
    }

    /// The received calls whose path ends with `suffix` (e.g. `qr/create`).
    public func calls(_ suffix: String) async throws -> [Call] { try await received().filter { $0.path.hasSuffix(suffix) } }
}
