import Domain

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
    public struct Endpoint: Sendable, Hashable {
        public var host: String
        public var port: Int
        public var usesTLS: Bool
        /// "" or "/prefix" (no trailing slash).
        public var pathPrefix: String
    }

    /// Parses "http(s)://host[:port][/prefix]": nil for anything else (no scheme, a query or a
    /// fragment, user information, an empty host, a port outside 1…65535). IPv6 hosts go in brackets.
    public static func endpoint(of url: String) -> Endpoint? {
        let usesTLS: Bool
        let rest: Substring
        if url.hasPrefix("https://") { usesTLS = true; rest = url.dropFirst(8) }
        else if url.hasPrefix("http://") { usesTLS = false; rest = url.dropFirst(7) }
        else { return nil }
        guard !rest.contains("?"), !rest.contains("#"), !rest.contains("@"), !rest.contains(where: { $0.isWhitespace }) else { return nil }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var prefix = String(rest[slash...])
        while prefix.hasSuffix("/") { prefix.removeLast() }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else {
            let parts = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = parts[0]
            if parts.count == 2 { portText = parts[1] }
        }
        guard !host.isEmpty else { return nil }
        var port = usesTLS ? 443 : 80
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { return nil }
            port = value
        }
        return Endpoint(host: String(host), port: port, usesTLS: usesTLS, pathPrefix: prefix)
    }

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
