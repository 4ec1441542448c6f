// What the HTTP messaging adapters (Telegram, WhatsApp Cloud, Mobizon, Twilio) share: where a
// base URL points, form and query encoding, and how a failed exchange or an HTTP status maps to
// the port's three outcomes (docs/messaging-providers.md).
import Domain
import Foundation
import OutboundHTTP

/// A provider's base URL taken apart for `OutboundRequest` (the parser all outbound adapters use).
typealias ProviderEndpoint = OutboundEndpoint

/// The helpers the adapters share.
enum ProviderSupport {
    /// `value` percent-encoded for a query string or an `application/x-www-form-urlencoded` body
    /// (everything but RFC 3986's unreserved characters).
    static func formEncode(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return out
    }

    /// `name=value&…`, each part encoded with `formEncode`.
    static func form(_ fields: [(String, String)]) -> String {
        fields.map { formEncode($0.0) + "=" + formEncode($0.1) }.joined(separator: "&")
    }

    /// The digits of an E.164 number (`+77011234567` → `77011234567`), nil unless it is "+" and
    /// 8…15 digits, the first not 0.
    static func e164Digits(_ number: String) -> String? {
        guard number.hasPrefix("+") else { return nil }
        let digits = number.dropFirst()
        guard (8...15).contains(digits.utf8.count), digits.utf8.allSatisfy({ (48...57).contains($0) }), digits.first != "0" else { return nil }
        return String(digits)
    }

    /// A JSON object from a body, nil when it is not one.
    static func jsonObject(_ body: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// A JSON body from an object (keys sorted, slashes not escaped).
    static func jsonBody(_ object: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
    }

    /// A JSON value as text (a string as it is, a number in its decimal form).
    static func text(_ value: Any?) -> String? {
        if let string = value as? String { return string }
        if let number = value as? NSNumber { return number.stringValue }
        return nil
    }

    /// A JSON value as an integer (a number, or a string of digits).
    static func integer(_ value: Any?) -> Int? {
        if let number = value as? NSNumber { return number.intValue }
        if let string = value as? String { return Int(string) }
        return nil
    }

    /// Seconds from a `Retry-After` header (a number of seconds; an HTTP date is not honoured).
    static func retryAfter(_ response: OutboundResponse) -> Int? {
        guard let value = response.header("Retry-After")?.trimmingCharacters(in: .whitespaces), let seconds = Int(value), seconds >= 0 else { return nil }
        return seconds
    }

    /// `text` cut to at most `limit` characters (a provider's error text in a reason).
    static func short(_ text: String, _ limit: Int = 200) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }

    /// `text` with every occurrence of each secret replaced by `<redacted>`: a last guard on reasons
    /// and log lines (a provider's error text could echo what it was sent).
    static func redact(_ text: String, _ secrets: [String]) -> String {
        var out = text
        for secret in secrets where secret.utf8.count >= 4 {
            out = out.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return out
    }

    /// What an exchange that got no answer means for a send. Nothing of the request's URL or
    /// body goes into the reason (the URL of a Telegram or Mobizon call carries the credential).
    /// - `.connect`, `.tls`, `.shutDown`: the request never reached the provider → `.retryable`.
    /// - `.timeout`, `.exchange`, `.tooLarge`: it may have been taken → `.outcomeUnknown`.
    /// - a cancelled task: `.outcomeUnknown` too (the request may have been on the wire).
    static func failure(_ error: any Error, provider: String) -> MessageSendError {
        guard let failure = error as? OutboundHTTPError else {
            if error is CancellationError { return .outcomeUnknown(reason: "\(provider): cancelled while sending") }
            return .outcomeUnknown(reason: "\(provider): \(type(of: error))")
        }
        let cause = failure.reason.map { " (\(short($0, 100)))" } ?? ""
        switch failure.kind {
        case .connect: return .retryable(reason: "\(provider): cannot connect\(cause)", retryAfterSeconds: nil)
        case .tls: return .retryable(reason: "\(provider): TLS handshake failed\(cause)", retryAfterSeconds: nil)
        case .shutDown: return .retryable(reason: "\(provider): the HTTP client was shut down", retryAfterSeconds: nil)
        case .timeout: return .outcomeUnknown(reason: "\(provider): no answer within the timeout")
        case .exchange: return .outcomeUnknown(reason: "\(provider): the connection failed before the whole answer\(cause)")
        case .tooLarge: return .outcomeUnknown(reason: "\(provider): the answer was too large")
        }
    }

    /// What an HTTP status that is not a success means, when the provider's own error body did not
    /// decide: `408`, `429`, `503` → `.retryable` (with `Retry-After`); other `5xx` →
    /// `.outcomeUnknown`; any other status (`4xx`, `3xx`) → `.rejected`.
    /// - Parameter detail: the provider's error text (its code and message), or "".
    static func statusFailure(_ response: OutboundResponse, provider: String, detail: String, retryAfter: Int? = nil) -> MessageSendError {
        let suffix = detail.isEmpty ? "" : ": " + short(detail)
        switch response.status {
        case 408, 429, 503:
            return .retryable(reason: "\(provider): HTTP \(response.status)\(suffix)", retryAfterSeconds: retryAfter ?? Self.retryAfter(response))
        case 500...599:
            return .outcomeUnknown(reason: "\(provider): HTTP \(response.status)\(suffix)")
        default:
            return .rejected(reason: "\(provider): HTTP \(response.status)\(suffix)", unlink: false)
        }
    }

    /// Sends `request`, turning a missing answer into a `MessageSendError`. A task cancelled
    /// before anything was sent gets `.retryable`.
    static func exchange(_ http: any OutboundHTTP, _ request: OutboundRequest, provider: String) async throws(MessageSendError) -> OutboundResponse {
        if Task.isCancelled { throw .retryable(reason: "\(provider): cancelled before sending", retryAfterSeconds: nil) }
        do { return try await http.send(request) } catch { throw failure(error, provider: provider) }
    }

    /// The same error with each secret redacted from its reason.
    static func redacted(_ error: MessageSendError, _ secrets: [String]) -> MessageSendError {
        switch error {
        case .retryable(let reason, let after): return .retryable(reason: redact(reason, secrets), retryAfterSeconds: after)
        case .rejected(let reason, let unlink): return .rejected(reason: redact(reason, secrets), unlink: unlink)
        case .outcomeUnknown(let reason): return .outcomeUnknown(reason: redact(reason, secrets))
        }
    }

    /// A short name of the error's case for logs.
    static func outcome(_ error: MessageSendError) -> String {
        switch error {
        case .retryable: return "retryable"
        case .rejected: return "rejected"
        case .outcomeUnknown: return "outcome_unknown"
        }
    }

    static func reason(_ error: MessageSendError) -> String {
        switch error {
        case .retryable(let reason, _), .rejected(let reason, _), .outcomeUnknown(let reason): return reason
        }
    }
}
