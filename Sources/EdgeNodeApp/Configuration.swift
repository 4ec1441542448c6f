#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LayeredConfiguration
import Logging
import LANSync
import OutboundHTTP

/// The node's settings. Each comes from, in increasing precedence: its default, the TOML file,
/// the environment (`EDGENODE_…`), the command line. See docs/configuration.md.
public struct NodeConfiguration: Sendable, Hashable {
    /// `data_dir`: the replica's data directory.
    public var dataDirectory: String = "/var/lib/edgenode"
    public var http = HTTP()
    public struct HTTP: Sendable, Hashable {
        /// `http.bind`: an IPv4 or IPv6 literal, or "localhost".
        public var bind: String = "0.0.0.0"
        /// `http.port`: 1…65535, or 0 for any free port (tests).
        public var port: Int = 8470
        /// `http.max_body_bytes`: the largest request body accepted, 1024…67108864.
        public var maxBodyBytes: Int = 1_048_576
        /// `http.idle_timeout_seconds`: how long an idle keep-alive connection stays open, and the
        /// longest pause while a request is being received, 1…3600.
        public var idleTimeoutSeconds: Int = 75
        /// `http.header_timeout_seconds`: how long a request's line and headers may take to arrive
        /// (from the connection, or from their first byte after an idle pause), 1…300.
        public var headerTimeoutSeconds: Int = 10
        /// `http.max_connections_per_address`: open connections one client address may hold; more
        /// are closed on arrival. 0 means no limit. 0…100000.
        public var maxConnectionsPerAddress: Int = 64
        public init() {}
    }
    public var log = Log()
    public struct Log: Sendable, Hashable {
        /// `log.level`: trace, debug, info, notice, warning, error or critical.
        public var level: String = "info"
        /// `log.format`: text or json.
        public var format: String = "text"
        public init() {}
    }
    public var auth = Auth()
    public struct Auth: Sendable, Hashable {
        /// `auth.pin_attempts`: wrong PINs before lock-out, 1…20.
        public var pinAttempts: Int = 5
        /// `auth.lockout_minutes`: 1…1440.
        public var lockoutMinutes: Int = 15
        /// `auth.pairing_code_minutes`: how long a pairing code is valid, 1…60.
        public var pairingCodeMinutes: Int = 10
        /// `auth.session_hours`: a person's PIN session on a shared tablet, 1…168.
        public var sessionHours: Int = 12
        public init() {}
    }
    public var events = Events()
    public struct Events: Sendable, Hashable {
        /// `events.retention_days`: how long `Last-Event-ID` can resume, 1…90.
        public var retentionDays: Int = 7
        public init() {}
    }
    public var idempotency = Idempotency()
    public struct Idempotency: Sendable, Hashable {
        /// `idempotency.retention_hours`: how long an `Idempotency-Key` is remembered, 1…720.
        public var retentionHours: Int = 24
        public init() {}
    }
    /// `shutdown_grace_seconds`: how long a shutdown waits for work in flight, 1…300.
    public var shutdownGraceSeconds: Int = 10

    public var discovery = Discovery()
    public struct Discovery: Sendable, Hashable {
        /// Announce the box over mDNS and browse for the business's other boxes.
        public var enabled: Bool = true
        /// The instance name announced; empty means the branch's name.
        public var name: String = ""
        /// The longest pause between attempts to reach D-Bus and avahi-daemon.
        public var retryMaxSeconds: Int = 30
    }

    public var sync = Sync()
    public struct Sync: Sendable, Hashable {
        /// Sync with the business's other boxes on the LAN (discovered and static).
        public var lan: Bool = true
        /// Static peers, "host:port", tried whether or not mDNS works.
        public var peers: [String] = []
    }

    public var relay = Relay()
    public struct Relay: Sendable, Hashable {
        /// The cloud relay, "http(s)://host[:port][/path]"; empty: no uplink.
        public var url: String = ""
        /// For an `https` relay: a PEM file of the certificates to trust instead of the system's
        /// roots (a private CA); empty: the system's (or `relay-ca.pem` in the data directory,
        /// which `join --relay-ca-file` writes).
        public var caFile: String = ""
        /// How long one pull waits at the relay for new changesets (long-poll), 0…25.
        public var pullWaitSeconds: Int = 25
    }

    public var payments = Payments()
    public struct Payments: Sendable, Hashable {
        /// `payments.kaspi_qr`: offer dynamic Kaspi QR payments through the relay's Kaspi gateway
        /// (needs `relay.url`, and the business's Kaspi access set up at the relay; docs/kaspi.md).
        public var kaspiQR: Bool = false
    }

    public var fiscal = Fiscal()
    public struct Fiscal: Sendable, Hashable {
        /// `fiscal.adapter`: the external fiscal register sales and refunds are handed to (docs/fiscal.md).
        public var adapter: String = "none"
        public var webkassa = Webkassa()
        public struct Webkassa: Sendable, Hashable {
            /// `fiscal.webkassa.url`: Webkassa's API, "https://host[:port][/prefix]".
            public var url: String = ""
            /// `fiscal.webkassa.login`: the cashier's login for `Authorize`.
            public var login: String = ""
            /// `fiscal.webkassa.cashbox`: the register's unique number (`CashboxUniqueNumber`).
            public var cashbox: String = ""
            /// `fiscal.webkassa.api_key_file`: a file holding the `X-API-KEY` (the secret stays out of the configuration).
            public var apiKeyFile: String = ""
            /// `fiscal.webkassa.password_file`: a file holding the cashier's password.
            public var passwordFile: String = ""
            /// `fiscal.webkassa.timeout_seconds`: how long one request may take in all.
            public var timeoutSeconds: Int = 30
        }
    }

    public var messaging = Messaging()
    /// Client messages (docs/messaging.md): one provider per channel; secrets are read from files.
    public struct Messaging: Sendable, Hashable {
        /// `messaging.timeout_seconds`: how long one request to a provider may take in all.
        public var timeoutSeconds: Int = 20
        /// Set by `serve --demo` (not a key): with no provider configured, SMS and email go to the box's log.
        public var demo = false
        public var telegram = Telegram()
        public struct Telegram: Sendable, Hashable {
            /// `messaging.telegram.token_file`: a file holding the bot's token; empty: no Telegram.
            public var tokenFile: String = ""
            /// `messaging.telegram.api_url`: the Bot API's base URL.
            public var apiURL: String = "https://api.telegram.org"
            /// `messaging.telegram.per_second`: messages per second at most.
            public var perSecond: Int = 25
        }
        public var whatsapp = WhatsApp()
        public struct WhatsApp: Sendable, Hashable {
            /// `messaging.whatsapp.phone_number_id`: the business phone number's id; empty: no WhatsApp.
            public var phoneNumberID: String = ""
            /// `messaging.whatsapp.token_file`: a file holding the access token.
            public var tokenFile: String = ""
            /// `messaging.whatsapp.app_secret_file`: a file holding the app secret (checks status webhooks).
            public var appSecretFile: String = ""
            /// `messaging.whatsapp.api_url`: the Graph API's base URL with its version.
            public var apiURL: String = "https://graph.facebook.com/v21.0"
            /// `messaging.whatsapp.per_second`
            public var perSecond: Int = 20
        }
        public var sms = SMS()
        public struct SMS: Sendable, Hashable {
            /// `messaging.sms.provider`: `none`, `mobizon` or `twilio`.
            public var provider: String = "none"
            /// `messaging.sms.per_second`
            public var perSecond: Int = 5
            /// `messaging.sms.sender`: the alphanumeric sender name (≤ 11 characters) or number.
            public var sender: String = ""
        }
        public var mobizon = Mobizon()
        public struct Mobizon: Sendable, Hashable {
            /// `messaging.mobizon.api_key_file`
            public var apiKeyFile: String = ""
            /// `messaging.mobizon.api_url`
            public var apiURL: String = "https://api.mobizon.kz"
        }
        public var twilio = Twilio()
        public struct Twilio: Sendable, Hashable {
            /// `messaging.twilio.account_sid`
            public var accountSID: String = ""
            /// `messaging.twilio.auth_token_file`
            public var authTokenFile: String = ""
            /// `messaging.twilio.messaging_service_sid`: optional (sends through the Messaging Service).
            public var messagingServiceSID: String = ""
            /// `messaging.twilio.api_url`
            public var apiURL: String = "https://api.twilio.com"
        }
        public var email = Email()
        public struct Email: Sendable, Hashable {
            /// `messaging.email.host`: the submission server; empty: no email.
            public var host: String = ""
            /// `messaging.email.port`
            public var port: Int = 587
            /// `messaging.email.security`: `starttls`, `tls`, or `plain` (loopback only).
            public var security: String = "starttls"
            /// `messaging.email.username`
            public var username: String = ""
            /// `messaging.email.password_file`
            public var passwordFile: String = ""
            /// `messaging.email.from`: the sender address.
            public var from: String = ""
            /// `messaging.email.from_name`
            public var fromName: String = ""
            /// `messaging.email.ca_file`: trust only this CA (PEM); empty: the system's roots.
            public var caFile: String = ""
            /// `messaging.email.per_second`
            public var perSecond: Int = 2
        }
    }

    public init() {}

    /// The file read when neither `--config` nor `EDGENODE_CONFIG` names one (only if it exists).
    public static let defaultFile = "/etc/edgenode/edgenode.toml"

    /// The log level as swift-log's type.
    public var loggerLevel: Logger.Level { Logger.Level(rawValue: log.level) ?? .info }
}

// MARK: - Loading

extension NodeConfiguration {
    /// Loads the configuration: defaults < TOML file < environment < flags.
    ///
    /// - file: an explicit path (`--config`); it must exist. When nil, `EDGENODE_CONFIG` from
    ///   `environment` names the file, and it must exist; when that is unset too, `defaultFile` is
    ///   read if it exists, and otherwise there is no file.
    /// - environment: the process environment; only `EDGENODE_*` variables are read. Each key has
    ///   one (`environmentVariable(for:)`); any other `EDGENODE_*` variable that looks like a key
    ///   (under a table's prefix such as `EDGENODE_HTTP_`, or a typo of a key's variable) is an error;
    ///   the rest (`EDGENODE_BIN`), `EDGENODE_CONFIG`, and the relay's and tests' `EDGENODE_RELAY_*`
    ///   and `EDGENODE_TEST_*` are not read (`ignoredVariables` names the first kind for a warning).
    /// - flags: dotted key → the raw string from the command line (`commandLineFlags` lists the
    ///   flags the CLI offers).
    public static func load(file: String?, environment: [String: String], flags: [String: String]) throws(ConfigurationError) -> NodeConfiguration {
        try loadWithSources(file: file, environment: environment, flags: flags).configuration
    }

    /// The `EDGENODE_*` variables of `environment` that are neither keys, nor like a key, nor
    /// another program's: ignored, and worth a warning.
    public static func ignoredVariables(in environment: [String: String]) -> [String] {
        layers.ignoredVariables(in: environment)
    }

    /// `EDGENODE_*` variables that belong to other programs of the project — the relay's
    /// (`EDGENODE_RELAY_STORAGE`, …) and the test scripts' (`EDGENODE_TEST_POSTGRES_URL`, …) —
    /// and that a box ignores rather than refuses, since they may share a machine or a shell.
    static let otherProgramsPrefixes = ["EDGENODE_RELAY_", "EDGENODE_TEST_"]

    /// As `load`, and also which source set each key: key → "default", "file /etc/…",
    /// "environment EDGENODE_HTTP_PORT" or "flag --port". `defaultFile` can be replaced (tests) or
    /// nil (never read a file unless one is named).
    public static func loadWithSources(
        file: String?, environment: [String: String], flags: [String: String],
        defaultFile: String? = NodeConfiguration.defaultFile
    ) throws(ConfigurationError) -> (configuration: NodeConfiguration, sources: [String: String]) {
        try layers.load(over: NodeConfiguration(), file: file, defaultFile: defaultFile, environment: environment, flags: flags)
    }

    /// The box's layers over the one table of settings (`settings`).
    static let layers: ConfigurationLayers<NodeConfiguration, ConfigurationError> = {
        var layers = ConfigurationLayers<NodeConfiguration, ConfigurationError>(
            keys: settings.map(\.layerKey), environmentPrefix: "EDGENODE_", fileVariable: "EDGENODE_CONFIG", documentation: documentation,
            failure: { ConfigurationError(key: $0, source: $1, message: $2) })
        layers.otherProgramsPrefixes = otherProgramsPrefixes
        layers.refusesOnlyKeyLikeVariables = true
        return layers
    }()

    /// Every known key, in the order of docs/configuration.md.
    public static var keys: [String] { settings.map(\.key) }

    /// The environment variable for a dotted key: "EDGENODE_" + the key uppercased, "." → "_".
    public static func environmentVariable(for key: String) -> String {
        "EDGENODE_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// The command-line flags the CLI offers (without "--") and the key each sets.
    public static let commandLineFlags: [String: String] = [
        "data-dir": "data_dir", "bind": "http.bind", "port": "http.port", "log-level": "log.level",
    ]

    /// The configuration as a TOML file, each key with its source as a comment when `sources`
    /// has it (for `edgenode config show`). The text reads back as the same configuration.
    public func describe(sources: [String: String] = [:]) -> String {
        var lines: [String] = []
        var table = ""
        for setting in Self.settings {
            let parts = setting.key.split(separator: ".", maxSplits: 1).map(String.init)
            let (settingTable, name) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
            if settingTable != table {
                table = settingTable
                lines.append("")
                lines.append("[\(table)]")
            }
            var line = "\(name) = \(setting.value(in: self))"
            if let source = sources[setting.key] { line += "  # \(source)" }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static let documentation = "see docs/configuration.md for the known keys"
}

// MARK: - The settings

/// One configuration key: its name, how its value is checked, and where it lives in the struct.
struct ConfigurationSetting: Sendable {
    enum Rule: Sendable {
        case integer(WritableKeyPath<NodeConfiguration, Int> & Sendable, ClosedRange<Int>)
        case choice(WritableKeyPath<NodeConfiguration, String> & Sendable, [String])
        case path(WritableKeyPath<NodeConfiguration, String> & Sendable)
        case bindAddress(WritableKeyPath<NodeConfiguration, String> & Sendable)
        case boolean(WritableKeyPath<NodeConfiguration, Bool> & Sendable)
        /// Free text of at most `maxBytes` UTF-8 bytes, possibly empty.
        case text(WritableKeyPath<NodeConfiguration, String> & Sendable, maxBytes: Int)
        /// "host:port" strings: a TOML array, or comma-separated from the environment or a flag.
        case endpoints(WritableKeyPath<NodeConfiguration, [String]> & Sendable)
        /// Empty, or "http(s)://host[:port][/path]".
        case relayURL(WritableKeyPath<NodeConfiguration, String> & Sendable)
        /// Empty, or a readable PEM file holding at least one certificate.
        case certificateFile(WritableKeyPath<NodeConfiguration, String> & Sendable)
    }

    /// A value as it arrives: typed from the file, a raw string from the environment or a flag.
    typealias Input = ConfigurationInput

    let key: String
    let rule: Rule
    /// The command-line flag (without "--") that sets it, if any.
    var flag: String? { NodeConfiguration.commandLineFlags.first(where: { $0.value == key })?.key }
    var environmentVariable: String { NodeConfiguration.environmentVariable(for: key) }

    init(_ key: String, _ rule: Rule) {
        self.key = key
        self.rule = rule
    }

    /// The setting as a key of the shared configuration mechanism.
    var layerKey: ConfigurationKey<NodeConfiguration, ConfigurationError> {
        ConfigurationKey(key: key, environmentVariable: environmentVariable, flag: flag) { input, configuration, source throws(ConfigurationError) in
            try self.apply(input, to: &configuration, source: source)
        }
    }

    func apply(_ input: Input, to configuration: inout NodeConfiguration, source: String) throws(ConfigurationError) {
        func fail(_ message: String) -> ConfigurationError { ConfigurationError(key: key, source: source, message: message) }
        switch rule {
        case .integer(let path, let range):
            let value: Int
            switch input {
            case .toml(.integer(let i)): value = i
            case .toml(let other): throw fail("expected an integer, found \(other.kindDescription) (\(other))")
            case .raw(let raw):
                guard let i = Int(raw) else { throw fail("\(TOMLValue.quoted(raw)) is not an integer") }
                value = i
            }
            guard range.contains(value) else { throw fail("\(value) is out of range \(range.lowerBound)…\(range.upperBound)") }
            configuration[keyPath: path] = value
        case .choice(let path, let choices):
            let value = try string(input, fail)
            guard choices.contains(value) else {
                throw fail("\(TOMLValue.quoted(value)) is not one of \(choices.joined(separator: ", "))")
            }
            configuration[keyPath: path] = value
        case .path(let path):
            let value = try string(input, fail)
            guard !value.isEmpty else { throw fail("must not be empty") }
            guard !value.unicodeScalars.contains("\0") else { throw fail("must not contain a NUL character") }
            configuration[keyPath: path] = value
        case .bindAddress(let path):
            let value = try string(input, fail)
            guard ConfigurationSetting.isValidBindAddress(value) else {
                throw fail("\(TOMLValue.quoted(value)) is not an IPv4 or IPv6 address or \"localhost\" (the port is http.port)")
            }
            configuration[keyPath: path] = value
        case .boolean(let path):
            switch input {
            case .toml(.boolean(let value)): configuration[keyPath: path] = value
            case .toml(let other): throw fail("expected true or false, found \(other.kindDescription) (\(other))")
            case .raw(let raw):
                switch raw.lowercased() {
                case "true", "yes", "on", "1": configuration[keyPath: path] = true
                case "false", "no", "off", "0": configuration[keyPath: path] = false
                default: throw fail("\(TOMLValue.quoted(raw)) is not true or false")
                }
            }
        case .text(let path, let maxBytes):
            let value = try string(input, fail)
            guard value.utf8.count <= maxBytes else { throw fail("is \(value.utf8.count) bytes long; at most \(maxBytes) are allowed") }
            guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { throw fail("must not contain control characters") }
            configuration[keyPath: path] = value
        case .relayURL(let path):
            let value = try string(input, fail)
            guard value.isEmpty || RelayEndpoint(url: value) != nil else {
                throw fail("\(TOMLValue.quoted(value)) is not \"http://host[:port][/path]\" or \"https://…\" (empty turns the uplink off)")
            }
            configuration[keyPath: path] = value
        case .certificateFile(let path):
            let value = try string(input, fail)
            if !value.isEmpty {
                do { _ = try RelayTLS.certificates(value) } catch { throw fail("\(error)") }
            }
            configuration[keyPath: path] = value
        case .endpoints(let path):
            var items: [String] = []
            switch input {
            case .toml(.array(let values)):
                for value in values {
                    guard case .string(let text) = value else { throw fail("expected an array of \"host:port\" strings, found \(value.kindDescription) (\(value))") }
                    items.append(text)
                }
            case .toml(let other): throw fail("expected an array of \"host:port\" strings, found \(other.kindDescription) (\(other))")
            case .raw(let raw):
                items = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            for item in items where PeerAddress(item) == nil {
                throw fail("\(TOMLValue.quoted(item)) is not \"host:port\" (an IPv6 address goes in brackets: \"[fe80::1%eth0]:8470\")")
            }
            configuration[keyPath: path] = items
        }
    }

    private func string(_ input: Input, _ fail: (String) -> ConfigurationError) throws(ConfigurationError) -> String {
        switch input {
        case .toml(.string(let s)): return s
        case .toml(let other): throw fail("expected a string, found \(other.kindDescription) (\(other))")
        case .raw(let raw): return raw
        }
    }

    /// The current value written as TOML.
    func value(in configuration: NodeConfiguration) -> TOMLValue {
        switch rule {
        case .integer(let path, _): .integer(configuration[keyPath: path])
        case .choice(let path, _), .path(let path), .bindAddress(let path), .text(let path, _), .relayURL(let path), .certificateFile(let path):
            .string(configuration[keyPath: path])
        case .boolean(let path): .boolean(configuration[keyPath: path])
        case .endpoints(let path): .array(configuration[keyPath: path].map { .string($0) })
        }
    }

    /// "localhost", or a numeric IPv4 (dotted quad) or IPv6 address.
    static func isValidBindAddress(_ value: String) -> Bool {
        if value == "localhost" { return true }
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, value, &v4) == 1 || inet_pton(AF_INET6, value, &v6) == 1
    }
}

extension NodeConfiguration {
    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Every key, in the order of docs/configuration.md; the one table of names, ranges and places.
    static let settings: [ConfigurationSetting] = [
        ConfigurationSetting("data_dir", .path(\.dataDirectory)),
        ConfigurationSetting("shutdown_grace_seconds", .integer(\.shutdownGraceSeconds, 1...300)),
        ConfigurationSetting("http.bind", .bindAddress(\.http.bind)),
        ConfigurationSetting("http.port", .integer(\.http.port, 0...65535)),
        ConfigurationSetting("http.max_body_bytes", .integer(\.http.maxBodyBytes, 1024...67_108_864)),
        ConfigurationSetting("http.idle_timeout_seconds", .integer(\.http.idleTimeoutSeconds, 1...3600)),
        ConfigurationSetting("http.header_timeout_seconds", .integer(\.http.headerTimeoutSeconds, 1...300)),
        ConfigurationSetting("http.max_connections_per_address", .integer(\.http.maxConnectionsPerAddress, 0...100_000)),
        ConfigurationSetting("log.level", .choice(\.log.level, logLevels)),
        ConfigurationSetting("log.format", .choice(\.log.format, ["text", "json"])),
        ConfigurationSetting("auth.pin_attempts", .integer(\.auth.pinAttempts, 1...20)),
        ConfigurationSetting("auth.lockout_minutes", .integer(\.auth.lockoutMinutes, 1...1440)),
        ConfigurationSetting("auth.pairing_code_minutes", .integer(\.auth.pairingCodeMinutes, 1...60)),
        ConfigurationSetting("auth.session_hours", .integer(\.auth.sessionHours, 1...168)),
        ConfigurationSetting("events.retention_days", .integer(\.events.retentionDays, 1...90)),
        ConfigurationSetting("idempotency.retention_hours", .integer(\.idempotency.retentionHours, 1...720)),
        ConfigurationSetting("discovery.enabled", .boolean(\.discovery.enabled)),
        ConfigurationSetting("discovery.name", .text(\.discovery.name, maxBytes: 63)),
        ConfigurationSetting("discovery.retry_max_seconds", .integer(\.discovery.retryMaxSeconds, 1...3600)),
        ConfigurationSetting("sync.lan", .boolean(\.sync.lan)),
        ConfigurationSetting("sync.peers", .endpoints(\.sync.peers)),
        ConfigurationSetting("relay.url", .relayURL(\.relay.url)),
        ConfigurationSetting("relay.pull_wait_seconds", .integer(\.relay.pullWaitSeconds, 0...25)),
        ConfigurationSetting("relay.ca_file", .certificateFile(\.relay.caFile)),
        ConfigurationSetting("payments.kaspi_qr", .boolean(\.payments.kaspiQR)),
        ConfigurationSetting("fiscal.adapter", .choice(\.fiscal.adapter, ["none", "webkassa"])),
        ConfigurationSetting("fiscal.webkassa.url", .text(\.fiscal.webkassa.url, maxBytes: 2048)),
        ConfigurationSetting("fiscal.webkassa.login", .text(\.fiscal.webkassa.login, maxBytes: 256)),
        ConfigurationSetting("fiscal.webkassa.cashbox", .text(\.fiscal.webkassa.cashbox, maxBytes: 64)),
        ConfigurationSetting("fiscal.webkassa.api_key_file", .text(\.fiscal.webkassa.apiKeyFile, maxBytes: 4096)),
        ConfigurationSetting("fiscal.webkassa.password_file", .text(\.fiscal.webkassa.passwordFile, maxBytes: 4096)),
        ConfigurationSetting("fiscal.webkassa.timeout_seconds", .integer(\.fiscal.webkassa.timeoutSeconds, 1...300)),
        ConfigurationSetting("messaging.timeout_seconds", .integer(\.messaging.timeoutSeconds, 1...300)),
        ConfigurationSetting("messaging.telegram.token_file", .text(\.messaging.telegram.tokenFile, maxBytes: 4096)),
        ConfigurationSetting("messaging.telegram.api_url", .text(\.messaging.telegram.apiURL, maxBytes: 2048)),
        ConfigurationSetting("messaging.telegram.per_second", .integer(\.messaging.telegram.perSecond, 1...30)),
        ConfigurationSetting("messaging.whatsapp.phone_number_id", .text(\.messaging.whatsapp.phoneNumberID, maxBytes: 64)),
        ConfigurationSetting("messaging.whatsapp.token_file", .text(\.messaging.whatsapp.tokenFile, maxBytes: 4096)),
        ConfigurationSetting("messaging.whatsapp.app_secret_file", .text(\.messaging.whatsapp.appSecretFile, maxBytes: 4096)),
        ConfigurationSetting("messaging.whatsapp.api_url", .text(\.messaging.whatsapp.apiURL, maxBytes: 2048)),
        ConfigurationSetting("messaging.whatsapp.per_second", .integer(\.messaging.whatsapp.perSecond, 1...80)),
        ConfigurationSetting("messaging.sms.provider", .choice(\.messaging.sms.provider, ["none", "mobizon", "twilio"])),
        ConfigurationSetting("messaging.sms.per_second", .integer(\.messaging.sms.perSecond, 1...100)),
        ConfigurationSetting("messaging.sms.sender", .text(\.messaging.sms.sender, maxBytes: 16)),
        ConfigurationSetting("messaging.mobizon.api_key_file", .text(\.messaging.mobizon.apiKeyFile, maxBytes: 4096)),
        ConfigurationSetting("messaging.mobizon.api_url", .text(\.messaging.mobizon.apiURL, maxBytes: 2048)),
        ConfigurationSetting("messaging.twilio.account_sid", .text(\.messaging.twilio.accountSID, maxBytes: 64)),
        ConfigurationSetting("messaging.twilio.auth_token_file", .text(\.messaging.twilio.authTokenFile, maxBytes: 4096)),
        ConfigurationSetting("messaging.twilio.messaging_service_sid", .text(\.messaging.twilio.messagingServiceSID, maxBytes: 64)),
        ConfigurationSetting("messaging.twilio.api_url", .text(\.messaging.twilio.apiURL, maxBytes: 2048)),
        ConfigurationSetting("messaging.email.host", .text(\.messaging.email.host, maxBytes: 253)),
        ConfigurationSetting("messaging.email.port", .integer(\.messaging.email.port, 1...65535)),
        ConfigurationSetting("messaging.email.security", .choice(\.messaging.email.security, ["starttls", "tls", "plain"])),
        ConfigurationSetting("messaging.email.username", .text(\.messaging.email.username, maxBytes: 256)),
        ConfigurationSetting("messaging.email.password_file", .text(\.messaging.email.passwordFile, maxBytes: 4096)),
        ConfigurationSetting("messaging.email.from", .text(\.messaging.email.from, maxBytes: 254)),
        ConfigurationSetting("messaging.email.from_name", .text(\.messaging.email.fromName, maxBytes: 100)),
        ConfigurationSetting("messaging.email.ca_file", .text(\.messaging.email.caFile, maxBytes: 4096)),
        ConfigurationSetting("messaging.email.per_second", .integer(\.messaging.email.perSecond, 1...50)),
    ]
}
