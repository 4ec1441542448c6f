import Domain
import Foundation
import Logging
import OutboundHTTP

/// How the box reaches Twilio (`messaging.twilio.*`, SMS in the UK). `authToken` is a secret:
/// `description` never shows it.
public struct TwilioSettings: Sendable, CustomStringConvertible {
    /// "https://api.twilio.com"; "http://" only for a fake on loopback.
    public var apiBaseURL: String
    /// `AC…`: the account, in every path and the user of Basic authentication.
    public var accountSID: String
    public var authToken: String
    /// `From`: an alphanumeric sender (1–11 of letters, digits and spaces, at least one letter;
    /// one-way) or a number in E.164. May be empty when `messagingServiceSID` is set.
    public var sender: String
    /// `MG…`: a Messaging Service to send through (then `From` is not sent); empty: none.
    public var messagingServiceSID: String
    /// How long one request may take in all.
    public var timeoutSeconds: Int

    public init(apiBaseURL: String = "https://api.twilio.com", accountSID: String, authToken: String, sender: String,
                messagingServiceSID: String = "", timeoutSeconds: Int = 15) {
        self.apiBaseURL = apiBaseURL
        self.accountSID = accountSID
        self.authToken = authToken
        self.sender = sender
        self.messagingServiceSID = messagingServiceSID
        self.timeoutSeconds = timeoutSeconds
    }

    /// Whether `sender` is one Twilio takes as `From`.
    static func isValidSender(_ sender: String) -> Bool {
        if ProviderSupport.e164Digits(sender) != nil { return true }
        let isAllowed = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || c == " ") }
        return (1...11).contains(sender.count) && sender.allSatisfy(isAllowed) && sender.contains(where: { $0.isASCII && $0.isLetter })
    }

    /// What is wrong with the settings, for a person; empty when they are usable.
    public var problems: [String] {
        var found: [String] = []
        let isSID = { (s: String, prefix: String) in s.hasPrefix(prefix) && s.count == 34 && s.dropFirst(2).allSatisfy { $0.isHexDigit } }
        if ProviderEndpoint(apiBaseURL) == nil { found.append("Twilio API URL must be http(s)://host[:port][/prefix]") }
        if !isSID(accountSID, "AC") { found.append("Twilio account SID must be AC and 32 hex digits") }
        if authToken.isEmpty || authToken.contains(where: { $0.isWhitespace }) { found.append("Twilio auth token is missing") }
        if messagingServiceSID.isEmpty {
            if !Self.isValidSender(sender) { found.append("Twilio sender must be a number in E.164 or 1–11 letters, digits and spaces with a letter") }
        } else if !isSID(messagingServiceSID, "MG") {
            found.append("Twilio messaging service SID must be MG and 32 hex digits")
        }
        if !(1...300).contains(timeoutSeconds) { found.append("Twilio timeout must be 1…300 seconds") }
        return found
    }

    public var description: String {
        "TwilioSettings(apiBaseURL: \(apiBaseURL), accountSID: \(accountSID), authToken: <\(authToken.isEmpty ? "empty" : "set")>, sender: \(sender), "
            + "messagingServiceSID: \(messagingServiceSID), timeoutSeconds: \(timeoutSeconds))"
    }
}

/// The Twilio Programmable Messaging adapter (docs/messaging-providers.md).
///
/// `send` posts the form `To`, `Body` and `MessagingServiceSid` (when set) or `From` to
/// `/2010-04-01/Accounts/{sid}/Messages.json` with Basic authentication and answers the `SM…` sid
/// with its status. Errors: no connection, `429` (Twilio's 20429), `503` → `.retryable` (with
/// `Retry-After`); other `4xx` (21211 invalid number, 21610 the number sent STOP, 20003
/// authentication, …) → `.rejected` with Twilio's code and message; other `5xx`, a timeout after
/// sending, an answer without a sid → `.outcomeUnknown`. Statuses: `GET …/Messages/{sid}.json`
/// per message — queued, accepted, scheduled, sending → `accepted`; sent; delivered; read;
/// undelivered, failed, canceled → `failed` with `error_code error_message`.
public final class TwilioSMS: MessageTransport {
    public let channel = MessageChannel.sms
    public let provider = "twilio"
    public let canReportStatus = true

    private let settings: TwilioSettings
    private let endpoint: ProviderEndpoint?
    private let tls: OutboundTLS?
    private let http: any OutboundHTTP
    private let logger: Logger
    private let authorization: String

    /// - Parameter tls: for an `https` URL, how Twilio's certificate is checked (default: the system's roots).
    public init(settings: TwilioSettings, http: any OutboundHTTP, logger: Logger, tls: OutboundTLS = .systemRoots) {
        self.settings = settings
        endpoint = ProviderEndpoint(settings.apiBaseURL)
        self.tls = endpoint?.usesTLS == true ? tls : nil
        self.http = http
        self.logger = logger
        authorization = "Basic " + Data("\(settings.accountSID):\(settings.authToken)".utf8).base64EncodedString()
    }

    private var secrets: [String] { [settings.authToken, String(authorization.dropFirst(6))] }

    public func send(_ message: OutgoingMessage) async throws(MessageSendError) -> SentMessage {
        do throws(MessageSendError) {
            guard ProviderSupport.e164Digits(message.recipient) != nil else {
                throw MessageSendError.rejected(reason: "twilio: the recipient is not a phone number in E.164", unlink: false)
            }
            guard !message.text.isEmpty else { throw MessageSendError.rejected(reason: "twilio: the text is empty", unlink: false) }
            var form: [(String, String)] = [("To", message.recipient), ("Body", message.text)]
            if settings.messagingServiceSID.isEmpty { form.append(("From", settings.sender)) } else { form.append(("MessagingServiceSid", settings.messagingServiceSID)) }
            let object = try await call("POST", "Messages.json", form: form)
            guard let sid = object["sid"] as? String, !sid.isEmpty else {
                throw MessageSendError.outcomeUnknown(reason: "twilio: answered without a message sid")
            }
            let status = (object["status"] as? String).flatMap(Self.status) ?? .accepted
            logger.debug("message sent", metadata: ["message.id": "\(message.messageID)", "message.provider": "twilio", "message.provider_id": "\(sid)"])
            return SentMessage(providerID: sid, status: status == .failed ? .accepted : status)
        } catch {
            let error = ProviderSupport.redacted(error, secrets)
            logger.warning("message not sent", metadata: ["message.id": "\(message.messageID)", "message.provider": "twilio",
                                                          "message.outcome": "\(ProviderSupport.outcome(error))",
                                                          "message.reason": "\(ProviderSupport.reason(error))"])
            throw error
        }
    }

    public func statuses(of providerIDs: [String]) async throws(MessageSendError) -> [DeliveryUpdate] {
        var updates: [DeliveryUpdate] = []
        for sid in providerIDs {
            // A sid is letters and digits; anything else was never Twilio's.
            guard !sid.isEmpty, sid.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { continue }
            let object: [String: Any]
            do throws(MessageSendError) {
                object = try await call("GET", "Messages/\(sid).json", form: nil)
            } catch {
                switch error {
                case .rejected:
                    continue  // 404: Twilio does not know it (deleted); nothing to report.
                case .outcomeUnknown(let reason):
                    throw .retryable(reason: ProviderSupport.redact(reason, secrets), retryAfterSeconds: nil)
                case .retryable:
                    throw ProviderSupport.redacted(error, secrets)
                }
            }
            guard let text = object["status"] as? String, let status = Self.status(text) else { continue }
            var reason = ""
            if status == .failed {
                let code = ProviderSupport.text(object["error_code"]) ?? ""
                let message = object["error_message"] as? String ?? ""
                reason = ProviderSupport.short([code, message].filter { !$0.isEmpty }.joined(separator: " "))
                if reason.isEmpty { reason = text }
            }
            let at = (object["date_updated"] as? String).flatMap(Self.instant)
            updates.append(DeliveryUpdate(providerID: ProviderSupport.text(object["sid"]) ?? sid, status: status, reason: reason, at: at))
        }
        return updates
    }

    /// Twilio's message status as ours; nil for one it does not document.
    static func status(_ text: String) -> DeliveryStatus? {
        switch text {
        case "queued", "accepted", "scheduled", "sending": return .accepted
        case "sent": return .sent
        case "delivered": return .delivered
        case "read": return .read
        case "undelivered", "failed", "canceled": return .failed
        default: return nil
        }
    }

    /// Twilio's dates are RFC 2822 ("Thu, 24 Aug 2023 05:01:45 +0000").
    static func instant(_ text: String) -> Instant? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        guard let date = formatter.date(from: text) else { return nil }
        return Instant(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }

    /// One call under `/2010-04-01/Accounts/{sid}/`; the JSON object of a success.
    private func call(_ method: String, _ relative: String, form: [(String, String)]?) async throws(MessageSendError) -> [String: Any] {
        guard let endpoint, settings.problems.isEmpty else {
            throw .rejected(reason: "twilio is not configured properly: " + settings.problems.joined(separator: "; "), unlink: false)
        }
        var headers: [(name: String, value: String)] = [("Accept", "application/json"), ("Authorization", authorization)]
        if form != nil { headers.append(("Content-Type", "application/x-www-form-urlencoded")) }
        let request = OutboundRequest(method: method, host: endpoint.host, port: endpoint.port,
                                      path: "\(endpoint.pathPrefix)/2010-04-01/Accounts/\(settings.accountSID)/\(relative)", tls: tls,
                                      headers: headers, body: Array((form.map(ProviderSupport.form) ?? "").utf8),
                                      timeout: .seconds(settings.timeoutSeconds), maxResponseBytes: 1 << 20)
        let response = try await ProviderSupport.exchange(http, request, provider: "twilio")
        let object = ProviderSupport.jsonObject(response.body)
        guard (200..<300).contains(response.status) else {
            let code = ProviderSupport.text(object?["code"])
            let message = object?["message"] as? String ?? ""
            let detail = [code, message].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            throw ProviderSupport.statusFailure(response, provider: "twilio", detail: detail)
        }
        guard let object else { throw .outcomeUnknown(reason: "twilio: answered HTTP \(response.status) without JSON") }
        return object
    }
}
