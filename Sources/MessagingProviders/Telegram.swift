import Domain
import Foundation
import Logging
import OutboundHTTP

/// How the box reaches its Telegram bot (`messaging.telegram.*`). `token` is a secret:
/// `description` never shows it (it is also part of every request's path).
public struct TelegramSettings: Sendable, CustomStringConvertible {
    /// The Bot API, "https://api.telegram.org"; "http://" only for a fake on loopback.
    public var apiBaseURL: String
    /// The bot's token from @BotFather (`123456:ABC…`).
    public var token: String
    /// How long one `sendMessage` may take in all. A long poll gets this on top of its own wait.
    public var timeoutSeconds: Int

    public init(apiBaseURL: String = "https://api.telegram.org", token: String, timeoutSeconds: Int = 15) {
        self.apiBaseURL = apiBaseURL
        self.token = token
        self.timeoutSeconds = timeoutSeconds
    }

    /// What is wrong with the settings, for a person; empty when they are usable.
    public var problems: [String] {
        var found: [String] = []
        if ProviderEndpoint(apiBaseURL) == nil { found.append("telegram API URL must be http(s)://host[:port][/prefix]") }
        if token.isEmpty || token.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "?" || $0 == "#" || $0 == "%" }) {
            found.append("telegram token must be the bot's token from @BotFather")
        }
        if !(1...300).contains(timeoutSeconds) { found.append("telegram timeout must be 1…300 seconds") }
        return found
    }

    public var description: String {
        "TelegramSettings(apiBaseURL: \(apiBaseURL), token: <\(token.isEmpty ? "empty" : "set")>, timeoutSeconds: \(timeoutSeconds))"
    }
}

/// The Telegram Bot API adapter: `sendMessage` for client messages, `getUpdates` long-polling for
/// what clients write to the bot (docs/messaging-providers.md).
///
/// `send` posts `{chat_id, text}` (the chat id as a JSON number when it is one) to
/// `/bot<token>/sendMessage` and answers `message_id` with status `sent` (Telegram reports nothing
/// later). Errors: no connection, `429` (with `parameters.retry_after`), `503` → `.retryable`;
/// `403` "bot was blocked by the user" / "bot can't initiate conversation" / "user is
/// deactivated" and `400` "chat not found" → `.rejected(unlink: true)`; other `4xx` (a wrong token
/// answers `401`) → `.rejected`; a timeout after sending, other `5xx`, an unreadable answer →
/// `.outcomeUnknown`. Logs name our message id and Telegram's, never the token, the chat or the text.
public final class TelegramBot: MessageTransport, TelegramUpdateSource {
    public let channel = MessageChannel.telegram
    public let provider = "telegram"
    public let canReportStatus = false

    private let settings: TelegramSettings
    private let endpoint: ProviderEndpoint?
    private let tls: OutboundTLS?
    private let http: any OutboundHTTP
    private let logger: Logger

    /// - Parameter tls: for an `https` URL, how Telegram's certificate is checked (default: the system's roots).
    public init(settings: TelegramSettings, http: any OutboundHTTP, logger: Logger, tls: OutboundTLS = .systemRoots) {
        self.settings = settings
        endpoint = ProviderEndpoint(settings.apiBaseURL)
        self.tls = endpoint?.usesTLS == true ? tls : nil
        self.http = http
        self.logger = logger
    }

    public func send(_ message: OutgoingMessage) async throws(MessageSendError) -> SentMessage {
        let chat = message.recipient
        var body: [String: Any] = ["text": message.text]
        if let number = Int64(chat) {
            body["chat_id"] = NSNumber(value: number)
        } else if chat.hasPrefix("@"), chat.count > 1 {
            body["chat_id"] = chat
        } else {
            throw logged(.rejected(reason: "telegram: the chat id is not a number", unlink: false), message)
        }
        do throws(MessageSendError) {
            let reply = try await call("sendMessage", body, timeout: .seconds(settings.timeoutSeconds))
            guard let result = reply as? [String: Any], let id = ProviderSupport.text(result["message_id"]) else {
                throw MessageSendError.outcomeUnknown(reason: "telegram: sendMessage answered ok without a message_id")
            }
            logger.debug("message sent", metadata: ["message.id": "\(message.messageID)", "message.provider": "telegram", "message.provider_id": "\(id)"])
            return SentMessage(providerID: id, status: .sent)
        } catch {
            throw logged(error, message)
        }
    }

    public func statuses(of providerIDs: [String]) async throws(MessageSendError) -> [DeliveryUpdate] { [] }

    public func updates(offset: Int64, timeoutSeconds: Int) async throws(MessageSendError) -> [TelegramInbound] {
        let wait = max(0, timeoutSeconds)
        var offset = offset
        // Updates that carry no text (a sticker, a photo) are confirmed by asking again past them,
        // so that they do not come back at once on every poll.
        for _ in 0..<10 {
            let reply: Any
            do throws(MessageSendError) {
                reply = try await call("getUpdates", ["offset": NSNumber(value: offset), "timeout": NSNumber(value: wait), "allowed_updates": ["message"]],
                                       timeout: .seconds(wait + settings.timeoutSeconds))
            } catch {
                throw Self.forPolling(error)
            }
            guard let items = reply as? [[String: Any]] else {
                throw MessageSendError.retryable(reason: "telegram: getUpdates answered ok without a list", retryAfterSeconds: nil)
            }
            var found: [TelegramInbound] = []
            var last: Int64?
            for item in items {
                guard let id = (item["update_id"] as? NSNumber)?.int64Value else { continue }
                last = max(last ?? id, id)
                guard let message = item["message"] as? [String: Any], let text = message["text"] as? String,
                      let chat = (message["chat"] as? [String: Any]).flatMap({ ProviderSupport.text($0["id"]) }) else { continue }
                let from = message["from"] as? [String: Any]
                let date = (message["date"] as? NSNumber)?.int64Value ?? 0
                found.append(TelegramInbound(updateID: id, chatID: chat, firstName: from?["first_name"] as? String ?? "", text: text,
                                             at: Instant(seconds: date)))
            }
            if !found.isEmpty || last == nil { return found }
            offset = last! + 1
        }
        return []
    }

    /// `getUpdates` loses nothing by being asked again (the offset confirms), so only a refusal
    /// of the bot itself is final.
    private static func forPolling(_ error: MessageSendError) -> MessageSendError {
        switch error {
        case .rejected: return error
        case .retryable: return error
        case .outcomeUnknown(let reason): return .retryable(reason: reason, retryAfterSeconds: nil)
        }
    }

    /// One Bot API method with a JSON body; its `result`.
    private func call(_ method: String, _ body: [String: Any], timeout: Duration) async throws(MessageSendError) -> Any {
        guard let endpoint, settings.problems.isEmpty else {
            throw .rejected(reason: "telegram is not configured properly: " + settings.problems.joined(separator: "; "), unlink: false)
        }
        let request = OutboundRequest(method: "POST", host: endpoint.host, port: endpoint.port, path: "\(endpoint.pathPrefix)/bot\(settings.token)/\(method)",
                                      tls: tls, headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                                      body: ProviderSupport.jsonBody(body), timeout: timeout, maxResponseBytes: 4 << 20)
        let response = try await ProviderSupport.exchange(http, request, provider: "telegram")
        let object = ProviderSupport.jsonObject(response.body)
        if (200..<300).contains(response.status) {
            guard let object, object["ok"] as? Bool == true, let result = object["result"] else {
                throw .outcomeUnknown(reason: "telegram: \(method) answered HTTP \(response.status) without Telegram's result")
            }
            return result
        }
        let description = ProviderSupport.redact(object?["description"] as? String ?? "", [settings.token])
        let retryAfter = ((object?["parameters"] as? [String: Any])?["retry_after"] as? NSNumber)?.intValue
        if Self.isDeadChat(status: response.status, description: description) {
            throw .rejected(reason: "telegram: \(ProviderSupport.short(description))", unlink: true)
        }
        if response.status == 409 {
            // Another getUpdates or a webhook holds the bot's updates.
            throw .retryable(reason: "telegram: HTTP 409: \(ProviderSupport.short(description))", retryAfterSeconds: retryAfter)
        }
        throw ProviderSupport.statusFailure(response, provider: "telegram", detail: description, retryAfter: retryAfter)
    }

    /// Telegram's answers that say the chat cannot be written to any more.
    static func isDeadChat(status: Int, description: String) -> Bool {
        let text = description.lowercased()
        switch status {
        case 403:
            return text.contains("bot was blocked by the user") || text.contains("bot can't initiate conversation")
                || text.contains("user is deactivated") || text.contains("bot was kicked")
        case 400:
            return text.contains("chat not found")
        default:
            return false
        }
    }

    private func logged(_ error: MessageSendError, _ message: OutgoingMessage) -> MessageSendError {
        let error = ProviderSupport.redacted(error, [settings.token])
        logger.warning("message not sent", metadata: ["message.id": "\(message.messageID)", "message.provider": "telegram",
                                                      "message.outcome": "\(ProviderSupport.outcome(error))",
                                                      "message.reason": "\(ProviderSupport.reason(error))"])
        return error
    }
}
