import CSodium
import Domain
import Foundation
import Logging
import OutboundHTTP

/// How the box reaches the WhatsApp Business Cloud API (`messaging.whatsapp.*`). `accessToken`
/// and `appSecret` are secrets: `description` shows neither.
public struct WhatsAppCloudSettings: Sendable, CustomStringConvertible {
    /// The Graph API with its version, "https://graph.facebook.com/v21.0"; "http://" only for a
    /// fake on loopback.
    public var apiBaseURL: String
    /// The business phone number's id (digits), the path of `POST /{phone-number-id}/messages`.
    public var phoneNumberID: String
    /// A system user's access token, sent as `Authorization: Bearer …`.
    public var accessToken: String
    /// The Meta app's secret: the key of the webhooks' `X-Hub-Signature-256`.
    public var appSecret: String
    /// How long one request may take in all.
    public var timeoutSeconds: Int

    public init(apiBaseURL: String = "https://graph.facebook.com/v21.0", phoneNumberID: String, accessToken: String, appSecret: String,
                timeoutSeconds: Int = 15) {
        self.apiBaseURL = apiBaseURL
        self.phoneNumberID = phoneNumberID
        self.accessToken = accessToken
        self.appSecret = appSecret
        self.timeoutSeconds = timeoutSeconds
    }

    /// What is wrong with the settings, for a person; empty when they are usable.
    public var problems: [String] {
        var found: [String] = []
        if ProviderEndpoint(apiBaseURL) == nil { found.append("WhatsApp API URL must be http(s)://host[:port][/prefix]") }
        if phoneNumberID.isEmpty || !phoneNumberID.utf8.allSatisfy({ (48...57).contains($0) }) { found.append("WhatsApp phone number id must be digits") }
        if accessToken.isEmpty || accessToken.contains(where: { $0.isWhitespace }) { found.append("WhatsApp access token is missing") }
        if appSecret.isEmpty { found.append("WhatsApp app secret is missing") }
        if !(1...300).contains(timeoutSeconds) { found.append("WhatsApp timeout must be 1…300 seconds") }
        return found
    }

    public var description: String {
        "WhatsAppCloudSettings(apiBaseURL: \(apiBaseURL), phoneNumberID: \(phoneNumberID), accessToken: <\(accessToken.isEmpty ? "empty" : "set")>, "
            + "appSecret: <\(appSecret.isEmpty ? "empty" : "set")>, timeoutSeconds: \(timeoutSeconds))"
    }
}

/// A webhook body that is not the Cloud API's JSON.
public struct WhatsAppWebhookError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The WhatsApp Business Cloud API adapter (docs/messaging-providers.md).
///
/// `send` posts a template message (`messaging_product: "whatsapp"`, `to` as digits, `type:
/// "template"`, `template {name, language {code}, components [{type: "body", parameters [{type:
/// "text", text}]}]}`) to `/{phone-number-id}/messages` and answers `messages[0].id` (`wamid…`)
/// with status `accepted`. A message without `whatsappTemplate` is refused before anything is
/// sent (`.rejected("no approved template")`): free text is only allowed within 24 hours of the
/// client's last message, which the box never knows. Errors: no connection, `429`, `503`, Graph's
/// rate-limit codes (4, 80007, 130429, 131048, 131056) and 131016 (service unavailable) →
/// `.retryable`; 131026 (undeliverable: no WhatsApp on that number) → `.rejected(unlink: true)`;
/// other `4xx` → `.rejected`; a timeout after sending, other `5xx`, an unreadable answer →
/// `.outcomeUnknown`. Delivery statuses arrive only by webhook (`deliveryUpdates(webhookBody:)`,
/// checked with `verifySignature`), so `statuses(of:)` answers `[]`.
public final class WhatsAppCloud: MessageTransport {
    public let channel = MessageChannel.whatsapp
    public let provider = "whatsapp_cloud"
    /// Statuses come by webhook, not by asking.
    public let canReportStatus = false

    private let settings: WhatsAppCloudSettings
    private let endpoint: ProviderEndpoint?
    private let tls: OutboundTLS?
    private let http: any OutboundHTTP
    private let logger: Logger

    /// - Parameter tls: for an `https` URL, how Meta's certificate is checked (default: the system's roots).
    public init(settings: WhatsAppCloudSettings, http: any OutboundHTTP, logger: Logger, tls: OutboundTLS = .systemRoots) {
        self.settings = settings
        endpoint = ProviderEndpoint(settings.apiBaseURL)
        self.tls = endpoint?.usesTLS == true ? tls : nil
        self.http = http
        self.logger = logger
    }

    /// Graph error codes that mean "not now" (rate limits, a service briefly unavailable).
    static let retryableCodes: Set<Int> = [4, 80007, 130429, 131016, 131048, 131056]
    /// Graph error codes that mean the number cannot get WhatsApp messages.
    static let deadRecipientCodes: Set<Int> = [131026]

    public func send(_ message: OutgoingMessage) async throws(MessageSendError) -> SentMessage {
        do throws(MessageSendError) {
            let id = try await post(message)
            logger.debug("message sent", metadata: ["message.id": "\(message.messageID)", "message.provider": "whatsapp_cloud", "message.provider_id": "\(id)"])
            return SentMessage(providerID: id, status: .accepted)
        } catch {
            let error = ProviderSupport.redacted(error, [settings.accessToken, settings.appSecret])
            logger.warning("message not sent", metadata: ["message.id": "\(message.messageID)", "message.provider": "whatsapp_cloud",
                                                          "message.outcome": "\(ProviderSupport.outcome(error))",
                                                          "message.reason": "\(ProviderSupport.reason(error))"])
            throw error
        }
    }

    private func post(_ message: OutgoingMessage) async throws(MessageSendError) -> String {
        guard let template = message.whatsappTemplate else { throw .rejected(reason: "no approved template", unlink: false) }
        guard let to = ProviderSupport.e164Digits(message.recipient) else {
            throw .rejected(reason: "whatsapp: the recipient is not a phone number in E.164", unlink: false)
        }
        guard let endpoint, settings.problems.isEmpty else {
            throw .rejected(reason: "whatsapp is not configured properly: " + settings.problems.joined(separator: "; "), unlink: false)
        }
        var templateObject: [String: Any] = ["name": template.name, "language": ["code": template.languageCode]]
        if !template.parameters.isEmpty {
            templateObject["components"] = [["type": "body", "parameters": template.parameters.map { ["type": "text", "text": $0] }]]
        }
        let body: [String: Any] = ["messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template", "template": templateObject]
        let request = OutboundRequest(method: "POST", host: endpoint.host, port: endpoint.port, path: "\(endpoint.pathPrefix)/\(settings.phoneNumberID)/messages",
                                      tls: tls, headers: [("Content-Type", "application/json"), ("Accept", "application/json"),
                                                          ("Authorization", "Bearer \(settings.accessToken)")],
                                      body: ProviderSupport.jsonBody(body), timeout: .seconds(settings.timeoutSeconds), maxResponseBytes: 1 << 20)
        let response = try await ProviderSupport.exchange(http, request, provider: "whatsapp")
        let object = ProviderSupport.jsonObject(response.body)
        if (200..<300).contains(response.status) {
            guard let messages = object?["messages"] as? [[String: Any]], let id = messages.first.flatMap({ ProviderSupport.text($0["id"]) }), !id.isEmpty else {
                throw .outcomeUnknown(reason: "whatsapp: answered HTTP \(response.status) without a message id")
            }
            return id
        }
        let error = object?["error"] as? [String: Any]
        let code = ProviderSupport.integer(error?["code"])
        var detail = error?["message"] as? String ?? ""
        if let details = (error?["error_data"] as? [String: Any])?["details"] as? String, !details.isEmpty { detail += " (\(details))" }
        if let code { detail = "\(code) \(detail)" }
        if let code, Self.deadRecipientCodes.contains(code) {
            throw .rejected(reason: "whatsapp: \(ProviderSupport.short(detail))", unlink: true)
        }
        if let code, Self.retryableCodes.contains(code), response.status < 500 || response.status == 503 {
            throw .retryable(reason: "whatsapp: HTTP \(response.status): \(ProviderSupport.short(detail))", retryAfterSeconds: ProviderSupport.retryAfter(response))
        }
        throw ProviderSupport.statusFailure(response, provider: "whatsapp", detail: detail)
    }

    public func statuses(of providerIDs: [String]) async throws(MessageSendError) -> [DeliveryUpdate] { [] }

    // MARK: Webhooks

    private static let sodiumReady: Bool = sodium_init() >= 0

    /// Whether `header` (the webhook's `X-Hub-Signature-256`, `sha256=<hex>`) is the HMAC-SHA256
    /// of exactly `body` under `appSecret`. The comparison takes the same time wherever the first
    /// difference is. A missing or malformed header, or an empty secret, is false.
    public static func verifySignature(body: [UInt8], header: String?, appSecret: String) -> Bool {
        guard sodiumReady, !appSecret.isEmpty, let header = header?.trimmingCharacters(in: .whitespaces), header.lowercased().hasPrefix("sha256="),
              let given = hexBytes(header.dropFirst(7)), given.count == Int(crypto_auth_hmacsha256_BYTES) else { return false }
        let expected = hmacSHA256(key: Array(appSecret.utf8), message: body)
        return given.withUnsafeBytes { a in expected.withUnsafeBytes { b in sodium_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 } }
    }

    /// HMAC-SHA256 of `message` under `key` (libsodium's, any key length).
    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var state = crypto_auth_hmacsha256_state()
        var out = [UInt8](repeating: 0, count: Int(crypto_auth_hmacsha256_BYTES))
        _ = crypto_auth_hmacsha256_init(&state, key, key.count)
        _ = crypto_auth_hmacsha256_update(&state, message, UInt64(message.count))
        _ = crypto_auth_hmacsha256_final(&state, &out)
        return out
    }

    private static func hexBytes(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    /// The delivery statuses in a Cloud API webhook body (`entry[].changes[].value.statuses[]`:
    /// `id`, `status` sent|delivered|read|failed, `timestamp` in Unix seconds, `errors[]` for
    /// `failed`), in the order they came. Statuses of other kinds (`deleted`, `warning`) and
    /// changes without statuses (incoming messages) are left out. Verify the signature first.
    /// - Throws: `WhatsAppWebhookError` when the body is not a JSON object with `entry`.
    public static func deliveryUpdates(webhookBody: [UInt8]) throws -> [DeliveryUpdate] {
        guard let object = ProviderSupport.jsonObject(webhookBody) else { throw WhatsAppWebhookError("the webhook body is not a JSON object") }
        guard let entries = object["entry"] as? [[String: Any]] else { throw WhatsAppWebhookError("the webhook body has no entry list") }
        var updates: [DeliveryUpdate] = []
        for entry in entries {
            for change in entry["changes"] as? [[String: Any]] ?? [] {
                let value = change["value"] as? [String: Any] ?? [:]
                for item in value["statuses"] as? [[String: Any]] ?? [] {
                    guard let id = ProviderSupport.text(item["id"]), !id.isEmpty, let text = item["status"] as? String else { continue }
                    let status: DeliveryStatus
                    switch text {
                    case "sent": status = .sent
                    case "delivered": status = .delivered
                    case "read": status = .read
                    case "failed": status = .failed
                    default: continue
                    }
                    var reason = ""
                    if status == .failed {
                        reason = (item["errors"] as? [[String: Any]] ?? []).map { error -> String in
                            let code = ProviderSupport.text(error["code"]).map { "\($0) " } ?? ""
                            let title = error["title"] as? String ?? error["message"] as? String ?? ""
                            return ProviderSupport.short(code + title)
                        }.joined(separator: "; ")
                        if reason.isEmpty { reason = "failed" }
                    }
                    let at = ProviderSupport.integer(item["timestamp"]).map { Instant(seconds: Int64($0)) }
                    updates.append(DeliveryUpdate(providerID: id, status: status, reason: reason, at: at))
                }
            }
        }
        return updates
    }
}
