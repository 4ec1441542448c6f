import Domain
import OutboundHTTP

/// How the box reaches its Webkassa cash register: the `fiscal.webkassa.*` keys of the box's
/// configuration (docs/fiscal.md, "Configuration").
///
/// `description` never shows the API key or the password, so a settings value that ends up in a
/// log line or an error message gives nothing away.
public struct WebkassaSettings: Sendable, Hashable, CustomStringConvertible {
    /// `fiscal.webkassa.url`: Webkassa's API, "https://host[:port][/prefix]" (e.g.
    /// "https://devkkm.webkassa.kz" for Webkassa's test environment); "http://" only for a fake
    /// on loopback. Requests go to `<url>/api/v4/Authorize`, `<url>/api/v4/Check` and
    /// `<url>/api-history/v4/Ticket/GetTicketByExternalCheckNumber`.
    public var url: String
    /// `fiscal.webkassa.api_key`: sent as the `X-API-KEY` header of every request.
    public var apiKey: String
    /// `fiscal.webkassa.login`: the cashier's login (an e-mail address) for `Authorize`.
    public var login: String
    /// `fiscal.webkassa.password`: the cashier's password for `Authorize`.
    public var password: String
    /// `fiscal.webkassa.cashbox`: the register's unique number (ЗНК, e.g. "SWK00030725"),
    /// Webkassa's `CashboxUniqueNumber`.
    public var cashbox: String
    /// `fiscal.webkassa.timeout_seconds`: how long one request may take in all (connecting, sending,
    /// the whole answer). A check that times out is retried later with the same external number,
    /// so a slow register never fiscalises twice.
    public var requestTimeout: Duration
    /// The unit code sent for every position (Webkassa's `UnitCode`; 796 = "piece", шт).
    public var unitCode: Int

    public init(url: String, apiKey: String, login: String, password: String, cashbox: String,
                requestTimeout: Duration = .seconds(30), unitCode: Int = 796) {
        self.url = url
        self.apiKey = apiKey
        self.login = login
        self.password = password
        self.cashbox = cashbox
        self.requestTimeout = requestTimeout
        self.unitCode = unitCode
    }

    public var description: String {
        "WebkassaSettings(url: \(url), cashbox: \(cashbox), login: \(login), apiKey: <\(apiKey.isEmpty ? "empty" : "set")>, password: <\(password.isEmpty ? "empty" : "set")>, timeout: \(requestTimeout))"
    }

    /// Where `url` points: host, port, TLS or not, and the path prefix before `/api/...`.
    public typealias Endpoint = OutboundEndpoint

    /// Parses "http(s)://host[:port][/prefix]" (`OutboundEndpoint`): nil for anything else.
    public static func endpoint(of url: String) -> Endpoint? { OutboundEndpoint(url) }

    /// What is wrong with these settings, one message per problem (empty when they can be used).
    /// The messages never contain the API key or the password.
    public var problems: [String] {
        var found: [String] = []
        if WebkassaSettings.endpoint(of: url) == nil { found.append("fiscal.webkassa.url \"\(url)\" is not \"https://host[:port][/prefix]\"") }
        if apiKey.isEmpty { found.append("fiscal.webkassa.api_key is empty") }
        if login.isEmpty { found.append("fiscal.webkassa.login is empty") }
        if password.isEmpty { found.append("fiscal.webkassa.password is empty") }
        if cashbox.isEmpty { found.append("fiscal.webkassa.cashbox is empty") }
        if requestTimeout <= .zero { found.append("fiscal.webkassa.timeout_seconds must be positive") }
        return found
    }
}

/// Settings that cannot be used (`WebkassaSettings.problems`).
public struct WebkassaSettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    public let problems: [String]
    public var description: String { problems.joined(separator: "; ") }
}
