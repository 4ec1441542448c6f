import Foundation
import NIOSSL
import OutboundHTTP

/// How one business reaches Kaspi's merchant API (docs/kaspi.md): the scheme, where, which trade
/// point and device, and the credential — an API key (`r1`) or a client certificate with its key
/// (`r2`, `r3`). `apiKey`, `certificatePEM` and `privateKeyPEM` are secrets: the relay keeps them
/// encrypted at rest and never logs them (`description` names none of them).
public struct KaspiAccess: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Scheme: String, Hashable, Sendable, Codable, CaseIterable {
        /// API key in the `Api-Key` header.
        case r1
        /// Mutual TLS; refunds need the customer to scan a refund QR (not supported here).
        case r2
        /// Mutual TLS; refunds without the customer (`payment/return`).
        case r3
    }

    public var scheme: Scheme
    /// `https://host[:port]`, without the `/rN/v01` path.
    public var baseURL: String
    public var tradePointID: Int64
    /// Our device id at Kaspi (`DeviceId` of `device/register`).
    public var deviceID: String
    /// The business's BIN (12 digits), sent with `r3` refunds.
    public var organizationBIN: String
    public var apiKey: String?
    public var certificatePEM: String?
    public var privateKeyPEM: String?

    public init(scheme: Scheme, baseURL: String, tradePointID: Int64, deviceID: String, organizationBIN: String,
                apiKey: String? = nil, certificatePEM: String? = nil, privateKeyPEM: String? = nil) {
        self.scheme = scheme
        self.baseURL = baseURL
        self.tradePointID = tradePointID
        self.deviceID = deviceID
        self.organizationBIN = organizationBIN
        self.apiKey = apiKey
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// Checks that the access is complete for its scheme.
    /// - Throws: `KaspiError` (`.invalidAccess`) saying what is missing or wrong.
    public func validate() throws {
        guard let url = URLComponents(string: baseURL), url.scheme == "https", let host = url.host, !host.isEmpty,
              url.path.isEmpty || url.path == "/", url.query == nil else {
            throw KaspiError(.invalidAccess, "base URL must be https://host[:port], got \(baseURL)")
        }
        guard tradePointID > 0 else { throw KaspiError(.invalidAccess, "trade point must be a positive number") }
        guard !deviceID.isEmpty, deviceID.utf8.count <= 64 else { throw KaspiError(.invalidAccess, "device id must be 1…64 characters") }
        guard organizationBIN.utf8.count == 12, organizationBIN.utf8.allSatisfy({ (48...57).contains($0) }) else {
            throw KaspiError(.invalidAccess, "organisation BIN must be 12 digits")
        }
        switch scheme {
        case .r1:
            guard let apiKey, !apiKey.isEmpty else { throw KaspiError(.invalidAccess, "scheme r1 needs an API key") }
            guard certificatePEM == nil, privateKeyPEM == nil else { throw KaspiError(.invalidAccess, "scheme r1 takes an API key, not a client certificate") }
        case .r2, .r3:
            guard apiKey == nil else { throw KaspiError(.invalidAccess, "scheme \(scheme.rawValue) takes a client certificate, not an API key") }
            guard certificatePEM != nil, privateKeyPEM != nil else {
                throw KaspiError(.invalidAccess, "scheme \(scheme.rawValue) needs a client certificate and its private key")
            }
            _ = try clientIdentity()
        }
    }

    /// The client certificate chain and key (`r2`, `r3`).
    func clientIdentity() throws -> (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey)? {
        guard let certificatePEM, let privateKeyPEM else { return nil }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)) } catch {
            throw KaspiError(.invalidAccess, "the client certificate is not PEM")
        }
        guard !chain.isEmpty else { throw KaspiError(.invalidAccess, "the client certificate file holds no certificate") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem) } catch {
            throw KaspiError(.invalidAccess, "the client certificate's private key is not a PEM private key")
        }
        return (chain, key)
    }

    /// What may be shown and logged: no secret.
    public var description: String {
        "\(scheme.rawValue) \(baseURL) trade point \(tradePointID) device \(deviceID) BIN \(organizationBIN) "
            + (scheme == .r1 ? "with an API key" : "with a client certificate")
    }
}

/// Why a call to Kaspi gave no answer, or Kaspi's refusal.
public struct KaspiError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        /// Kaspi answered with a non-zero `StatusCode` (in `code`): a definite refusal.
        case refused
        /// No answer, a timeout, a dropped connection, a 5xx, an answer that is not Kaspi's
        /// envelope, or Kaspi's -999 (service unavailable): the outcome is unknown.
        case unreachable
        /// The business's access is incomplete or unusable (before anything was sent).
        case invalidAccess = "invalid_access"
        /// The amount cannot be sent (not KZT, not positive, …).
        case invalidAmount = "invalid_amount"
    }

    public var kind: Kind
    public var code: Int?
    public var message: String

    public init(_ kind: Kind, code: Int? = nil, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { "kaspi \(kind.rawValue)\(code.map { " \($0)" } ?? ""): \(message)" }
}

/// Kaspi's amounts are tenge as a decimal number; ours are minor units (tiyn, 2 digits).
public enum KaspiAmount {
    /// `minor` tiyn as Kaspi's decimal text, exactly ("1500", "1500.5", "0.05").
    /// - Throws: `KaspiError` (`.invalidAmount`) for a currency other than KZT or an amount ≤ 0.
    public static func text(minor: Int64, currency: String) throws -> String {
        guard currency == "KZT" else { throw KaspiError(.invalidAmount, "Kaspi QR takes tenge (KZT) only, not \(currency)") }
        guard minor > 0 else { throw KaspiError(.invalidAmount, "the amount must be positive, got \(minor) minor units") }
        let whole = minor / 100, fraction = minor % 100
        if fraction == 0 { return "\(whole)" }
        return fraction % 10 == 0 ? "\(whole).\(fraction / 10)" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// Kaspi's decimal number of tenge (as the JSON text it came in) in tiyn.
    /// - Returns: nil when it is not a decimal with at most 2 fractional digits.
    public static func minor(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int64(parts[0]), whole >= 0 else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            var digits = String(parts[1])
            while digits.count > 2, digits.hasSuffix("0") { digits.removeLast() }
            guard (1...2).contains(digits.count), digits.utf8.allSatisfy({ (48...57).contains($0) }), let value = Int64(digits) else { return nil }
            fraction = digits.count == 1 ? value * 10 : value
        }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: 100)
        return overflow ? nil : scaled + fraction
    }
}

/// A QR Kaspi made (`qr/create`).
public struct KaspiQR: Hashable, Sendable {
    public var qrToken: String
    public var qrPaymentID: String
    /// Unix milliseconds.
    public var expiresAt: Int64
    public var pollIntervalSeconds: Int
    public var scanTimeoutSeconds: Int
    public var confirmationTimeoutSeconds: Int
}

/// A payment's refundable amounts (`payment/details`), in tiyn.
public struct KaspiPaymentDetails: Hashable, Sendable {
    public var totalMinor: Int64
    public var availableMinor: Int64

    public init(totalMinor: Int64, availableMinor: Int64) {
        self.totalMinor = totalMinor
        self.availableMinor = availableMinor
    }
}

/// Kaspi's merchant API for one business (docs/kaspi.md): schemes `r1` (`Api-Key`), `r2`/`r3`
/// (mutual TLS), base `https://<host>/rN/v01`, status on `/rN/v02/payment/status/{id}`,
/// `X-Request-ID` on every request, answers in the envelope `{"StatusCode", "Message", "Data"}`
/// where a non-zero status code is a refusal. Requests go through the outbound HTTP port.
public struct KaspiMerchantClient: Sendable {
    public let access: KaspiAccess
    let http: any OutboundHTTP
    let host: String
    let port: Int
    let tls: OutboundTLS
    let timeout: Duration

    /// - Parameters:
    ///   - trustRoots: the certificates Kaspi's server must chain to; nil: the system's roots.
    ///   - timeout: how long one call may take before it counts as unreachable.
    /// - Throws: `KaspiError` (`.invalidAccess`) when the access is incomplete.
    public init(access: KaspiAccess, http: any OutboundHTTP, trustRoots: [NIOSSLCertificate]? = nil, timeout: Duration = .seconds(15)) throws {
        try access.validate()
        let components = URLComponents(string: access.baseURL)!
        self.access = access
        self.http = http
        var host = components.host!
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        self.port = components.port ?? 443
        if let identity = try access.clientIdentity() {
            tls = OutboundTLS(trustRoots: trustRoots, clientCertificateChain: identity.chain, privateKey: identity.key)
        } else {
            tls = OutboundTLS(trustRoots: trustRoots)
        }
        self.timeout = timeout
    }

    // MARK: Calls

    /// `GET partner/tradepoints`: the trade points' ids.
    public func tradePoints() async throws -> [Int64] {
        let data = try await call("GET", "v01/partner/tradepoints")
        guard let points = data as? [[String: Any]] else { throw Self.unexpected("partner/tradepoints") }
        return points.compactMap { ($0["TradePointId"] as? NSNumber)?.int64Value }
    }

    /// Checks the trade point exists (`partner/tradepoints`), then `POST device/register` → `DeviceToken`.
    public func registerDevice() async throws -> String {
        let points = try await tradePoints()
        guard points.contains(access.tradePointID) else {
            throw KaspiError(.refused, code: -99000002, "trade point \(access.tradePointID) is not one of this merchant's (\(points.count) known)")
        }
        let data = try await call("POST", "v01/device/register",
                                  body: "{\"DeviceId\":\(Self.quote(access.deviceID)),\"TradePointId\":\(access.tradePointID)}")
        guard let token = (data as? [String: Any])?["DeviceToken"] as? String, !token.isEmpty else { throw Self.unexpected("device/register") }
        return token
    }

    /// `POST qr/create` for `amountMinor` tiyn with our payment id as `ExternalId`.
    public func createQR(deviceToken: String, amountMinor: Int64, currency: String, externalID: String) async throws -> KaspiQR {
        let amount = try KaspiAmount.text(minor: amountMinor, currency: currency)
        let data = try await call("POST", "v01/qr/create",
                                  body: "{\"DeviceToken\":\(Self.quote(deviceToken)),\"Amount\":\(amount),\"ExternalId\":\(Self.quote(externalID))}")
        guard let object = data as? [String: Any], let token = object["QrToken"] as? String,
              let id = Self.text(object["QrPaymentId"]), let expire = object["ExpireDate"] as? String,
              let expiresAt = Self.instant(expire) else { throw Self.unexpected("qr/create") }
        let options = object["QrPaymentBehaviorOptions"] as? [String: Any] ?? [:]
        // The fallbacks are what other integrations use when Kaspi leaves them out.
        return KaspiQR(qrToken: token, qrPaymentID: id, expiresAt: expiresAt,
                       pollIntervalSeconds: (options["StatusPollingInterval"] as? NSNumber)?.intValue ?? 5,
                       scanTimeoutSeconds: (options["QrCodeScanWaitTimeout"] as? NSNumber)?.intValue ?? 180,
                       confirmationTimeoutSeconds: (options["PaymentConfirmationTimeout"] as? NSNumber)?.intValue ?? 65)
    }

    /// `GET /rN/v02/payment/status/{id}`: `QrTokenCreated`, `Wait`, `Processed` or `Error`.
    public func status(qrPaymentID: String) async throws -> String {
        let data = try await call("GET", "v02/payment/status/\(Self.pathSegment(qrPaymentID))")
        guard let status = (data as? [String: Any])?["Status"] as? String else { throw Self.unexpected("payment/status") }
        return status
    }

    /// `GET payment/details`: the total and what can still be returned, in tiyn.
    public func details(qrPaymentID: String, deviceToken: String) async throws -> KaspiPaymentDetails {
        let data = try await call("GET", "v01/payment/details?QrPaymentId=\(Self.queryValue(qrPaymentID))&DeviceToken=\(Self.queryValue(deviceToken))")
        guard let object = data as? [String: Any], let total = Self.minor(object["TotalAmount"]),
              let available = Self.minor(object["AvailableReturnAmount"]) else { throw Self.unexpected("payment/details") }
        return KaspiPaymentDetails(totalMinor: total, availableMinor: available)
    }

    /// `POST payment/return` (`r3` only): returns `amountMinor` tiyn without the customer.
    /// - Returns: Kaspi's `ReturnOperationId` (empty when it gives none).
    public func refund(deviceToken: String, qrPaymentID: String, amountMinor: Int64, currency: String) async throws -> String {
        guard access.scheme == .r3 else {
            throw KaspiError(.invalidAccess, "refunds without the customer need scheme r3 (this business uses \(access.scheme.rawValue))")
        }
        let amount = try KaspiAmount.text(minor: amountMinor, currency: currency)
        let data = try await call("POST", "v01/payment/return",
                                  body: "{\"DeviceToken\":\(Self.quote(deviceToken)),\"QrPaymentId\":\(Self.quote(qrPaymentID)),\"Amount\":\(amount),\"OrganizationBin\":\(Self.quote(access.organizationBIN))}")
        return (data as? [String: Any]).flatMap { Self.text($0["ReturnOperationId"]) } ?? ""
    }

    // MARK: The envelope

    /// Sends one request under `/rN/` and returns the envelope's `Data` (NSNull when absent).
    func call(_ method: String, _ relative: String, body: String? = nil) async throws -> Any {
        var headers: [(name: String, value: String)] = [("X-Request-ID", UUID().uuidString.lowercased()), ("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        if access.scheme == .r1, let apiKey = access.apiKey { headers.append(("Api-Key", apiKey)) }
        let request = OutboundRequest(method: method, host: host, port: port, path: "/\(access.scheme.rawValue)/\(relative)", tls: tls,
                                      headers: headers, body: Array((body ?? "").utf8), timeout: timeout, maxResponseBytes: 1 << 20)
        let name = relative.split(separator: "?")[0]
        let response: OutboundResponse
        do { response = try await http.send(request) } catch let error as OutboundHTTPError {
            throw KaspiError(.unreachable, "\(name): \(error.reason ?? "\(error.kind)")")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed])) as? [String: Any],
              let code = (object["StatusCode"] as? NSNumber)?.intValue else {
            throw KaspiError(.unreachable, "\(name): Kaspi answered HTTP \(response.status) without its envelope")
        }
        // -999: Kaspi's service is unavailable; what it did is not known.
        if code == -999 { throw KaspiError(.unreachable, code: code, "\(name): Kaspi's service is unavailable (-999)") }
        guard code == 0 else {
            throw KaspiError(.refused, code: code, "\(name): \((object["Message"] as? String).map { String($0.prefix(200)) } ?? "refused")")
        }
        guard (200..<300).contains(response.status) else { throw KaspiError(.unreachable, "\(name): Kaspi answered HTTP \(response.status)") }
        return object["Data"] ?? NSNull()
    }

    static func unexpected(_ name: String) -> KaspiError { KaspiError(.unreachable, "\(name): Kaspi's answer lacks the fields it should have") }

    static func quote(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]).dropFirst().dropLast(), as: UTF8.self)
    }

    static func text(_ value: Any?) -> String? {
        if let string = value as? String { return string }
        if let number = value as? NSNumber { return number.stringValue }
        return nil
    }

    /// A JSON number (or string) of tenge in tiyn.
    static func minor(_ value: Any?) -> Int64? {
        if let string = value as? String { return KaspiAmount.minor(string) }
        guard let number = value as? NSNumber else { return nil }
        // A double holds every amount of tenge with 2 digits below 2^53 / 100 close enough that
        // rounding ×100 is exact; anything with a third digit is refused.
        let scaled = number.doubleValue * 100
        guard scaled.isFinite, scaled >= 0, scaled < 9e15, abs(scaled - scaled.rounded()) < 1e-6 else { return nil }
        return Int64(scaled.rounded())
    }

    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    static func queryValue(_ text: String) -> String { pathSegment(text) }

    /// Kaspi's `ExpireDate` (ISO 8601, with or without fractional seconds and zone; no zone: Almaty, UTC+5).
    static func instant(_ text: String) -> Int64? {
        let formats = ["yyyy-MM-dd'T'HH:mm:ss.SSSXXXXX", "yyyy-MM-dd'T'HH:mm:ssXXXXX", "yyyy-MM-dd'T'HH:mm:ss.SSS", "yyyy-MM-dd'T'HH:mm:ss"]
        for format in formats {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(secondsFromGMT: 5 * 3600)
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        return nil
    }
}
