#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Synchronization

/// A fake messaging provider (`Tests/python/fake_telegram.py`, `fake_whatsapp.py`, `fake_sms.py`)
/// as a child process: the provider's real HTTP protocol on one loopback port, a control API on
/// another (docs/messaging-providers.md, "The fakes"). Stop it with `stop()`.
public final class FakeMessagingProvider: @unchecked Sendable {
    public enum Kind: String, Sendable {
        case telegram, whatsapp, mobizon, twilio
    }

    public let kind: Kind
    public let process: ChildProcess
    public let apiPort: Int
    public let controlPort: Int
    /// The credentials the fake accepts, from its ready line: `token` (Telegram);
    /// `phone_number_id`, `access_token`, `app_secret` (WhatsApp); `api_key` (Mobizon);
    /// `account_sid`, `auth_token` (Twilio).
    public let credentials: [String: String]

    /// `http://127.0.0.1:<port>` plus the path prefix the provider's base URL has (WhatsApp's `/v21.0`).
    public var baseURL: String { "http://127.0.0.1:\(apiPort)" + (kind == .whatsapp ? "/v21.0" : "") }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Starts the fake and waits for its ready line.
    public static func start(_ kind: Kind) async throws -> FakeMessagingProvider {
        let script: String, arguments: [String]
        switch kind {
        case .telegram: script = "fake_telegram.py"; arguments = []
        case .whatsapp: script = "fake_whatsapp.py"; arguments = []
        case .mobizon: script = "fake_sms.py"; arguments = ["--provider", "mobizon"]
        case .twilio: script = "fake_sms.py"; arguments = ["--provider", "twilio"]
        }
        let path = Binaries.packageRoot + "/Tests/python/" + script
        let process = try ChildProcess(name: "fake-\(kind.rawValue)", program: "/usr/bin/env", arguments: ["python3", path] + arguments, keepErrors: false)
        let line = try await offPool { process.nextLine() }
        guard let line, let ready = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
              let api = ready["api_port"] as? Int, let control = ready["control_port"] as? Int else {
            process.kill()
            throw Failure(description: "\(script) did not start: \(line ?? "no output")")
        }
        var credentials: [String: String] = [:]
        for (key, value) in ready where key != "api_port" && key != "control_port" { credentials[key] = "\(value)" }
        return FakeMessagingProvider(kind: kind, process: process, apiPort: api, controlPort: control, credentials: credentials)
    }

    private init(kind: Kind, process: ChildProcess, apiPort: Int, controlPort: Int, credentials: [String: String]) {
        self.kind = kind
        self.process = process
        self.apiPort = apiPort
        self.controlPort = controlPort
        self.credentials = credentials
    }

    /// SIGTERM now (the fake exits at once, even with calls held); the wait on a thread of its own.
    public func stop() {
        let process = self.process
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

    /// One message the fake accepted.
    public struct Message: Sendable, Hashable {
        public let providerID: String
        /// The chat id or the phone number as the provider got it.
        public let recipient: String
        /// Telegram, Mobizon, Twilio: the text. WhatsApp: the free text of a `text` message.
        public let text: String
        /// WhatsApp: the template, its language code and body parameters.
        public let template: String
        public let language: String
        public let parameters: [String]
        /// Mobizon's `from`, Twilio's `From`.
        public let sender: String
        /// Twilio's `MessagingServiceSid`.
        public let messagingServiceSID: String
        /// Telegram: whether `chat_id` came as a JSON number.
        public let chatIDWasNumber: Bool
    }

    /// Every message accepted so far, in order (with those accepted and then left unanswered).
    public func messages() async throws -> [Message] {
        let answer = try await control("GET", "/control/messages")
        return (answer["messages"] as? [[String: Any]] ?? []).map { item in
            Message(providerID: item["provider_id"] as? String ?? "", recipient: item["recipient"] as? String ?? "", text: item["text"] as? String ?? "",
                    template: item["template"] as? String ?? "", language: item["language"] as? String ?? "",
                    parameters: item["params"] as? [String] ?? [], sender: item["from"] as? String ?? "",
                    messagingServiceSID: item["messaging_service_sid"] as? String ?? "", chatIDWasNumber: item["chat_id_type"] as? String == "int")
        }
    }

    /// Which calls a failure applies to.
    public enum Endpoint: String, Sendable {
        /// sendMessage, messages, sendsmsmessage, Messages.json (POST)
        case send
        /// getsmsstatus, Messages/{sid}.json (GET)
        case status
        /// getUpdates
        case updates
    }

    /// The next `count` calls of `endpoint` (for `recipient` only, when given) answer `status` in
    /// the provider's error shape, with `retryAfter` (Telegram's `parameters.retry_after`, else a
    /// `Retry-After` header), `description` and the provider's error `code`.
    public func fail(status: Int, retryAfter: Int? = nil, description: String? = nil, code: Int? = nil, count: Int = 1,
                     recipient: String? = nil, endpoint: Endpoint = .send) async throws {
        var body: [String: Any] = ["status": status, "count": count, "endpoint": endpoint.rawValue]
        if let retryAfter { body["retry_after"] = retryAfter }
        if let description { body["description"] = description }
        if let code { body["code"] = code }
        if let recipient { body["recipient"] = recipient }
        try await control("POST", "/control/fail", body)
    }

    /// The next `count` sends are recorded as accepted and never answered.
    public func acceptThenHang(count: Int = 1, recipient: String? = nil) async throws {
        var body: [String: Any] = ["mode": "accept_then_hang", "count": count]
        if let recipient { body["recipient"] = recipient }
        try await control("POST", "/control/fail", body)
    }

    /// The next `count` sends are recorded as accepted and their connection closed without an answer.
    public func acceptThenClose(count: Int = 1, recipient: String? = nil) async throws {
        var body: [String: Any] = ["mode": "accept_then_close", "count": count]
        if let recipient { body["recipient"] = recipient }
        try await control("POST", "/control/fail", body)
    }

    /// The next `count` calls of `endpoint` wait until `release()`.
    public func hold(count: Int = 1, endpoint: Endpoint = .send) async throws {
        try await control("POST", "/control/fail", ["mode": "hold", "count": count, "endpoint": endpoint.rawValue])
    }

    public func release() async throws { try await control("POST", "/control/release") }

    /// Forgets messages, failures and statuses; releases held calls.
    public func reset() async throws { try await control("POST", "/control/reset") }

    /// How many calls are held (`hold`) or left unanswered (`acceptThenHang`) now, and how many requests it served.
    public func stats() async throws -> (held: Int, hanging: Int, requests: Int) {
        let answer = try await control("GET", "/control/stats")
        return (answer["held"] as? Int ?? 0, answer["hanging"] as? Int ?? 0, answer["requests"] as? Int ?? 0)
    }

    /// Telegram: a client writes `text` to the bot (it arrives through `getUpdates`). With `text`
    /// nil the message is a sticker (no text). Returns the update id.
    @discardableResult
    public func queueUpdate(chatID: Int64, firstName: String, text: String?) async throws -> Int64 {
        var body: [String: Any] = ["chat_id": chatID, "first_name": firstName]
        if let text { body["text"] = text } else { body["sticker"] = "👍" }
        let answer = try await control("POST", "/control/updates", body)
        return (answer["update_id"] as? NSNumber)?.int64Value ?? 0
    }

    /// Mobizon and Twilio: the status endpoints answer `status` for the message `id` from now on.
    public func setStatus(id: String, status: String, errorCode: Int? = nil, errorMessage: String? = nil) async throws {
        var body: [String: Any] = ["id": id, "status": status]
        if let errorCode { body["error_code"] = errorCode }
        if let errorMessage { body["error_message"] = errorMessage }
        try await control("POST", "/control/status", body)
    }

    /// What the fake sent as a webhook.
    public struct Webhook: Sendable {
        /// The receiver's HTTP status; nil when it could not be reached.
        public let status: Int?
        public let body: String
        /// The `X-Hub-Signature-256` it carried.
        public let signature: String
    }

    /// WhatsApp: POSTs one status webhook with `statuses` (id, status, and for `failed` an error
    /// code) in this order to `url` (nil: only builds and signs it), signed with `appSecret`
    /// (default: the fake's).
    @discardableResult
    public func webhook(url: String?, appSecret: String? = nil, statuses: [(id: String, status: String, errorCode: Int?)]) async throws -> Webhook {
        var body: [String: Any] = ["statuses": statuses.map { item -> [String: Any] in
            var entry: [String: Any] = ["id": item.id, "status": item.status]
            if let code = item.errorCode { entry["error_code"] = code }
            return entry
        }]
        if let url { body["url"] = url }
        if let appSecret { body["app_secret"] = appSecret }
        let answer = try await control("POST", "/control/webhook", body)
        return Webhook(status: answer["status"] as? Int, body: answer["body"] as? String ?? "", signature: answer["signature"] as? String ?? "")
    }
}

/// A minimal HTTP server on loopback that takes POSTs (a webhook's target in tests): it answers
/// each with `200` and keeps the request's headers (lower-case names) and body.
public final class WebhookReceiver: @unchecked Sendable {
    public struct Request: Sendable {
        public let path: String
        public let headers: [String: String]
        public let body: [UInt8]
    }

    public let port: Int
    private let descriptor: Int32
    private let received = Mutex<[Request]>([])

    public init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard listener >= 0, bound == 0, listen(listener, 16) == 0 else {
            let code = errno
            close(listener)
            throw FakeMessagingProvider.Failure(description: "webhook receiver: bind/listen errno \(code)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        descriptor = listener
        Thread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { if errno == EINTR { continue } else { break } }
                serve(client)
            }
        }.start()
    }

    public var url: String { "http://127.0.0.1:\(port)/webhooks/whatsapp" }

    public var requests: [Request] { received.withLock { $0 } }

    /// Stops accepting.
    public func stop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while true {
            if let end = Self.headEnd(data) {
                let head = String(decoding: data[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
                var headers: [String: String] = [:]
                for line in head.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                if data.count >= end + 4 + length {
                    let parts = head[0].split(separator: " ")
                    let request = Request(path: parts.count > 1 ? String(parts[1]) : "", headers: headers, body: Array(data[(end + 4)..<(end + 4 + length)]))
                    received.withLock { $0.append(request) }
                    let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                    _ = answer.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    return
                }
            }
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            data += buffer[0..<count]
        }
    }

    private static func headEnd(_ data: [UInt8]) -> Int? {
        guard data.count >= 4 else { return nil }
        for index in 0...(data.count - 4) where data[index] == 13 && data[index + 1] == 10 && data[index + 2] == 13 && data[index + 3] == 10 {
            return index
        }
        return nil
    }
}
