import Domain
import Foundation
import Logging
import OutboundHTTP

/// How the box reaches Mobizon (`messaging.mobizon.*`, SMS in Kazakhstan). `apiKey` is a secret:
/// `description` never shows it (it is also in every request's query).
public struct MobizonSettings: Sendable, CustomStringConvertible {
    /// Mobizon's API for the account's region, "https://api.mobizon.kz"; "http://" only for a fake.
    public var apiBaseURL: String
    public var apiKey: String
    /// The registered alphanumeric sender (`from`); empty: Mobizon's shared sender.
    public var sender: String
    /// How long one request may take in all.
    public var timeoutSeconds: Int

    public init(apiBaseURL: String = "https://api.mobizon.kz", apiKey: String, sender: String = "", timeoutSeconds: Int = 15) {
        self.apiBaseURL = apiBaseURL
        self.apiKey = apiKey
        self.sender = sender
        self.timeoutSeconds = timeoutSeconds
    }

    /// What is wrong with the settings, for a person; empty when they are usable.
    public var problems: [String] {
        var found: [String] = []
        if ProviderEndpoint(apiBaseURL) == nil { found.append("Mobizon API URL must be http(s)://host[:port][/prefix]") }
        if apiKey.isEmpty || apiKey.contains(where: { $0.isWhitespace }) { found.append("Mobizon API key is missing") }
        if sender.count > 11 { found.append("Mobizon sender must be at most 11 characters") }
        if !(1...300).contains(timeoutSeconds) { found.append("Mobizon timeout must be 1…300 seconds") }
        return found
    }

    public var description: String {
        "MobizonSettings(apiBaseURL: \(apiBaseURL), apiKey: <\(apiKey.isEmpty ? "empty" : "set")>, sender: \(sender), timeoutSeconds: \(timeoutSeconds))"
    }
}

/// The Mobizon SMS adapter (docs/messaging-providers.md).
///
/// `send` asks `GET /service/message/sendsmsmessage?apiKey=…&recipient=<digits>&text=…&from=…&
/// output=json&api=v1` and answers `data.messageId` with status `accepted`. Mobizon answers
/// `{code, data, message}`: code 0 is success; any other code is a refusal (1: a field is not
/// valid, 2: not found, …) → `.rejected` with Mobizon's message and the fields it names. HTTP
/// errors: no connection, `429`, `503` → `.retryable`; other `5xx`, a timeout after sending, an
/// answer that is not Mobizon's JSON → `.outcomeUnknown`. Statuses come from
/// `getsmsstatus?ids[]=…` (100 ids a call): NEW, ENQUEUD, ACCEPTD → `accepted`; DELIVRD →
/// `delivered`; UNDELIV, REJECTD, EXPIRED, DELETED, UNKNOWN → `failed` (the status as the reason);
/// PDLIVRD (a long message partly delivered) → `delivered`.
public final class MobizonSMS: MessageTransport {
    public let channel = MessageChannel.sms
    public let provider = "mobizon"
    public let canReportStatus = true

    private let settings: MobizonSettings
    private let endpoint: ProviderEndpoint?
    private let tls: OutboundTLS?
    private let http: any OutboundHTTP
    private let logger: Logger

    /// - Parameter tls: for an `https` URL, how Mobizon's certificate is checked (default: the system's roots).
    public init(settings: MobizonSettings, http: any OutboundHTTP, logger: Logger, tls: OutboundTLS = .systemRoots) {
        self.settings = settings
        endpoint = ProviderEndpoint(settings.apiBaseURL)
        self.tls = endpoint?.usesTLS == true ? tls : nil
        self.http = http
        self.logger = logger
    }

    public func send(_ message: OutgoingMessage) async throws(MessageSendError) -> SentMessage {
        do throws(MessageSendError) {
            guard let recipient = ProviderSupport.e164Digits(message.recipient) else {
                throw MessageSendError.rejected(reason: "mobizon: the recipient is not a phone number in E.164", unlink: false)
            }
            guard !message.text.isEmpty else { throw MessageSendError.rejected(reason: "mobizon: the text is empty", unlink: false) }
            var query: [(String, String)] = [("recipient", recipient), ("text", message.text)]
            if !settings.sender.isEmpty { query.append(("from", settings.sender)) }
            let data = try await call("sendsmsmessage", query)
            guard let id = (data as? [String: Any]).flatMap({ ProviderSupport.text($0["messageId"]) }), !id.isEmpty else {
                throw MessageSendError.outcomeUnknown(reason: "mobizon: answered code 0 without a messageId")
            }
            logger.debug("message sent", metadata: ["message.id": "\(message.messageID)", "message.provider": "mobizon", "message.provider_id": "\(id)"])
            return SentMessage(providerID: id, status: .accepted)
        } catch {
            let error = ProviderSupport.redacted(error, [settings.apiKey])
            logger.warning("message not sent", metadata: ["message.id": "\(message.messageID)", "message.provider": "mobizon",
                                                          "message.outcome": "\(ProviderSupport.outcome(error))",
                                                          "message.reason": "\(ProviderSupport.reason(error))"])
            throw error
        }
    }

    public func statuses(of providerIDs: [String]) async throws(MessageSendError) -> [DeliveryUpdate] {
        var updates: [DeliveryUpdate] = []
        var start = 0
        while start < providerIDs.count {
            let chunk = providerIDs[start..<min(start + 100, providerIDs.count)]
            start += 100
            let data: Any
            do throws(MessageSendError) {
                data = try await call("getsmsstatus", chunk.map { ("ids[]", $0) })
            } catch {
                // Asking again later loses nothing.
                switch error {
                case .outcomeUnknown(let reason), .rejected(let reason, _):
                    throw .retryable(reason: ProviderSupport.redact(reason, [settings.apiKey]), retryAfterSeconds: nil)
                case .retryable:
                    throw ProviderSupport.redacted(error, [settings.apiKey])
                }
            }
            for item in data as? [[String: Any]] ?? [] {
                guard let id = ProviderSupport.text(item["id"]), let text = item["status"] as? String, let status = Self.status(text) else { continue }
                updates.append(DeliveryUpdate(providerID: id, status: status, reason: status == .failed ? text : ""))
            }
        }
        return updates
    }

    /// Mobizon's status of a message as ours; nil for one it does not document.
    static func status(_ text: String) -> DeliveryStatus? {
        switch text.uppercased() {
        case "NEW", "ENQUEUD", "ACCEPTD": return .accepted
        case "DELIVRD", "PDLIVRD": return .delivered
        case "UNDELIV", "REJECTD", "EXPIRED", "DELETED", "UNKNOWN": return .failed
        default: return nil
        }
    }

    /// One `message/<method>` call; Mobizon's `data` when `code` is 0.
    private func call(_ method: String, _ parameters: [(String, String)]) async throws(MessageSendError) -> Any {
        guard let endpoint, settings.problems.isEmpty else {
            throw .rejected(reason: "mobizon is not configured properly: " + settings.problems.joined(separator: "; "), unlink: false)
        }
        let query = ProviderSupport.form([("apiKey", settings.apiKey)] + parameters + [("output", "json"), ("api", "v1")])
        let request = OutboundRequest(method: "GET", host: endpoint.host, port: endpoint.port,
                                      path: "\(endpoint.pathPrefix)/service/message/\(method)?\(query)", tls: tls,
                                      headers: [("Accept", "application/json")], timeout: .seconds(settings.timeoutSeconds), maxResponseBytes: 1 << 20)
        let response = try await ProviderSupport.exchange(http, request, provider: "mobizon")
        let object = ProviderSupport.jsonObject(response.body)
        let code = ProviderSupport.integer(object?["code"])
        let text = object?["message"] as? String ?? ""
        guard (200..<300).contains(response.status) else {
            let detail = code.map { "code \($0) \(text)" } ?? text
            throw ProviderSupport.statusFailure(response, provider: "mobizon", detail: detail)
        }
        guard let object, let code else { throw .outcomeUnknown(reason: "mobizon: \(method) answered HTTP \(response.status) without Mobizon's JSON") }
        guard code == 0 else {
            var detail = "code \(code)" + (text.isEmpty ? "" : " \(text)")
            // Code 1 (validation) names the fields in `data`: {"recipient": "…"}.
            if let fields = object["data"] as? [String: Any], !fields.isEmpty {
                detail += " (" + fields.keys.sorted().map { "\($0): \(ProviderSupport.text(fields[$0]) ?? "invalid")" }.joined(separator: ", ") + ")"
            }
            throw .rejected(reason: "mobizon: \(ProviderSupport.short(detail))", unlink: false)
        }
        return object["data"] ?? NSNull()
    }
}
