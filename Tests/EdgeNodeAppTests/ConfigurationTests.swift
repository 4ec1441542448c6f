// Over 600 lines on purpose: one case table per configuration key (defaults, file, environment,
// flags, every refusal and its message) reads best as one specification of docs/configuration.md.
import Foundation
import Logging
import Testing

@testable import EdgeNodeApp
@testable import LANSync
@testable import OutboundHTTP
@testable import RelayUplink
import TestSupport

// MARK: - Helpers

/// A temporary directory removed when the value goes away.
private final class ConfigurationScratch {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("edgenode-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` in the directory and returns the file's path.
    func write(_ text: String, to name: String = "edgenode.toml") throws -> String {
        let file = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }
}

private func parseError(_ text: String) -> TOMLError? {
    do {
        _ = try TOMLDocument.parse(text)
        return nil
    } catch {
        return error
    }
}

private func loadError(file: String? = nil, environment: [String: String] = [:], flags: [String: String] = [:]) -> ConfigurationError? {
    do {
        _ = try NodeConfiguration.loadWithSources(file: file, environment: environment, flags: flags, defaultFile: nil)
        return nil
    } catch {
        return error
    }
}

// MARK: - The TOML reader

@Suite("TOML reader")
struct TOMLReaderTests {
    @Test func tablesKeysAndComments() throws {
        let document = try TOMLDocument.parse("""
            # a comment on its own line
            data_dir = "/srv/edgenode"   # a comment after a value
            top.level = 1                # a dotted key

            [http]
            port = 8470
              bind = '::1'   # indentation is fine

            [a.b]     # a dotted table name
            "quoted key" = true
            'literal key' = false
            "dotted.in.quotes" = 3
            """)
        #expect(document.values == [
            "data_dir": .string("/srv/edgenode"),
            "top.level": .integer(1),
            "http.port": .integer(8470),
            "http.bind": .string("::1"),
            "a.b.\"quoted key\"": .boolean(true),
            "a.b.\"literal key\"": .boolean(false),
            "a.b.\"dotted.in.quotes\"": .integer(3),
        ])
        #expect(document.lines["data_dir"] == 2)
        #expect(document.lines["http.bind"] == 7)
        #expect(document.lines["a.b.\"dotted.in.quotes\""] == 12)
        #expect(document.tables == ["http": 5, "a.b": 9])
    }

    @Test func basicStringEscapes() throws {
        let document = try TOMLDocument.parse(#"s = "quote \" backslash \\ newline \n tab \t e-acute \u00E9 smile \U0001F600 b\b f\f r\r""#)
        #expect(document.values["s"] == .string("quote \" backslash \\ newline \n tab \t e-acute \u{E9} smile \u{1F600} b\u{08} f\u{0C} r\r"))
    }

    @Test func unicodeTextPassesThrough() throws {
        let document = try TOMLDocument.parse("name = \"Салон Гүл — Атырау\"\n")
        #expect(document.values["name"] == .string("Салон Гүл — Атырау"))
    }

    @Test func literalStringsKeepBackslashesAndHashes() throws {
        let document = try TOMLDocument.parse(#"""
            path = 'C:\no\escapes\n'   # comment
            hash = "a # is not a comment" # but this is
            empty = ''
            """#)
        #expect(document.values["path"] == .string(#"C:\no\escapes\n"#))
        #expect(document.values["hash"] == .string("a # is not a comment"))
        #expect(document.values["empty"] == .string(""))
    }

    @Test func integers() throws {
        let document = try TOMLDocument.parse("""
            a = 1_048_576
            b = -5
            c = +7
            d = 0
            e = 9_223_372_036_854_775_807
            f = -9223372036854775808
            """)
        #expect(document.values == ["a": .integer(1_048_576), "b": .integer(-5), "c": .integer(7), "d": .integer(0), "e": .integer(Int.max), "f": .integer(Int.min)])
    }

    @Test(arguments: [
        ("a = 01", "leading zeros are not allowed in integers (01)"),
        ("a = 1__0", "invalid value 1__0"),
        ("a = _1", "invalid value _1"),
        ("a = 1_", "invalid value 1_"),
        ("a = 9223372036854775808", "integer 9223372036854775808 does not fit in 64 bits"),
        ("a = 0x1F", "only decimal integers are supported, not 0x1F"),
        ("a = 1.5", "floats are not supported (1.5)"),
        ("a = 1e3", "floats are not supported (1e3)"),
        ("a = inf", "floats are not supported (inf)"),
        ("a = 1979-05-27", "dates and times are not supported (1979-05-27)"),
        ("a = 07:32:00", "dates and times are not supported (07:32:00)"),
        ("a = yes", "invalid value yes (strings need quotes"),
    ])
    func refusedScalars(text: String, message: String) throws {
        let error = try #require(parseError(text))
        #expect(error.line == 1)
        #expect(error.message.hasPrefix(message), "\(error.message)")
    }

    @Test func multiLineArraysWithCommentsAndTrailingComma() throws {
        let document = try TOMLDocument.parse("""
            names = [
              "front",   # first
              'back',
              # a comment line inside the array
            ]
            numbers = [1, 2,
                       3]
            empty = [ ]
            after = 1
            """)
        #expect(document.values["names"] == .array([.string("front"), .string("back")]))
        #expect(document.values["numbers"] == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(document.values["empty"] == .array([]))
        #expect(document.lines["after"] == 9)
    }

    @Test(arguments: [
        ("a = [1, \"two\"]", 1, "mixed types in array: an integer and a string"),
        ("a = [[1], [2]]", 1, "nested arrays are not supported"),
        ("a = [true]", 1, "arrays may hold only strings or integers"),
        ("a = [1 2]", 1, "expected , or ] in array, found \"2]\""),
        ("a = [\n1,\n2,\n", 4, "unterminated array (opened on line 1)"),
    ])
    func refusedArrays(text: String, line: Int, message: String) throws {
        let error = try #require(parseError(text))
        #expect(error.line == line)
        #expect(error.message == message)
    }

    @Test func duplicateKeyNamesBothLines() throws {
        let error = try #require(parseError("""
            [http]
            port = 8470

            port = 8471
            """))
        #expect(error == TOMLError(line: 4, message: "duplicate key \"http.port\" (first set on line 2)"))
        #expect(error.description == "line 4: duplicate key \"http.port\" (first set on line 2)")
    }

    @Test func duplicateKeyAcrossDottedAndTableForms() throws {
        let error = try #require(parseError("http.port = 1\n[log]\nlevel = \"info\"\n[http]\nbind = \"::\"\n"))
        #expect(error == TOMLError(line: 4, message: "table [http] was already created by a dotted key on line 1"))
    }

    @Test(arguments: [
        ("[http]\n[http]", 2, "table [http] is already defined on line 1"),
        ("http = 1\n[http]", 2, "table [http] conflicts with the key \"http\" set on line 1"),
        ("http = 1\n[http.x]", 2, "\"http.x\" needs \"http\" to be a table, but it is a value set on line 1"),
        ("[http.x]\n[http]\nx = 1", 3, "key \"http.x\" conflicts with the table of that name defined on line 1"),
        ("a.b = 1\na = 2", 2, "key \"a\" conflicts with the table of that name defined on line 1"),
        ("a = 1\na.b = 2", 2, "\"a.b\" needs \"a\" to be a table, but it is a value set on line 1"),
    ])
    func conflictingDefinitions(text: String, line: Int, message: String) throws {
        let error = try #require(parseError(text))
        #expect(error == TOMLError(line: line, message: message))
    }

    @Test(arguments: [
        ("x = 1\nhttp = { port = 8470 }", 2, "inline tables are not supported; use a [table] header"),
        ("[[peers]]", 1, "arrays of tables ([[…]]) are not supported"),
        ("a = \"\"\"\ntext\"\"\"", 1, "multi-line strings (\"\"\") are not supported"),
        ("a = '''x'''", 1, "multi-line strings (''') are not supported"),
        ("\n\na = \"open", 3, "unterminated string (strings end on the line they start)"),
        ("a = 'open", 1, "unterminated literal string (strings end on the line they start)"),
        (#"a = "\x41""#, 1, #"invalid escape \x in string (allowed: \" \\ \b \t \n \f \r \uXXXX \UXXXXXXXX)"#),
        (#"a = "\u12zz""#, 1, "\\u/\\U needs 4 hexadecimal digits, found \"12zz\""),
        (#"a = "\uD800""#, 1, "\\uD800 is not a Unicode scalar value"),
        ("a = 1 b = 2", 1, "unexpected \"b\" at the end of the line (one key = value or [table] per line)"),
        ("a =", 1, "expected a value after ="),
        ("a = # nothing", 1, "expected a value after ="),
        ("a 1", 1, "expected = after the key \"a\", found \"1\""),
        ("a", 1, "expected = after the key \"a\""),
        ("= 1", 1, "expected a key"),
        ("a. = 1", 1, "expected a key after the dot"),
        ("$a = 1", 1, "unexpected \"$a\" where a key was expected (bare keys may contain only A-Z a-z 0-9 _ -; quote others)"),
        ("[http", 1, "missing ] at the end of the table header"),
        ("[http] x = 1", 1, "unexpected \"x\" at the end of the line (one key = value or [table] per line)"),
        ("a = \"tab\tok but bell \u{07}\"", 1, "control character U+0007 in string; use an escape"),
    ])
    func refusedSyntax(text: String, line: Int, message: String) throws {
        let error = try #require(parseError(text))
        #expect(error == TOMLError(line: line, message: message))
    }

    @Test func lineNumbersWithCRLFAndBlankLines() throws {
        let error = try #require(parseError("# c\r\n\r\n[http]\r\nport = 1\r\nport = 2\r\n"))
        #expect(error.line == 5)
        let document = try TOMLDocument.parse("a = 1\r\nb = [\r\n 1,\r\n]\r\nc = 2\r\n")
        #expect(document.lines == ["a": 1, "b": 2, "c": 5])
    }

    @Test func byteOrderMarkAndEmptyDocument() throws {
        #expect(try TOMLDocument.parse("").values.isEmpty)
        #expect(try TOMLDocument.parse("\u{FEFF}a = 1").values == ["a": .integer(1)])
    }

    @Test func valuesWriteBackAsTOML() throws {
        let value = TOMLValue.string("a \"q\" \\ \n \u{01}")
        let document = try TOMLDocument.parse("v = \(value)\nw = \(TOMLValue.array([.integer(-1), .integer(2)]))")
        #expect(document.values["v"] == value)
        #expect(document.values["w"] == .array([.integer(-1), .integer(2)]))
    }
}

// MARK: - Configuration

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaultsWithNoFileAtAll() throws {
        let scratch = try ConfigurationScratch()
        let (configuration, sources) = try NodeConfiguration.loadWithSources(
            file: nil, environment: ["PATH": "/usr/bin", "NOTIFY_SOCKET": "/run/x"], flags: [:], defaultFile: scratch.path + "/absent.toml")
        #expect(configuration == NodeConfiguration())
        #expect(configuration.dataDirectory == "/var/lib/edgenode")
        #expect(configuration.http.bind == "0.0.0.0")
        #expect(configuration.http.port == 8470)
        #expect(configuration.http.maxBodyBytes == 1_048_576)
        #expect(configuration.http.idleTimeoutSeconds == 75)
        #expect(configuration.log.level == "info")
        #expect(configuration.log.format == "text")
        #expect(configuration.auth == NodeConfiguration.Auth())
        #expect(configuration.auth.pinAttempts == 5 && configuration.auth.lockoutMinutes == 15)
        #expect(configuration.auth.pairingCodeMinutes == 10 && configuration.auth.sessionHours == 12)
        #expect(configuration.events.retentionDays == 7)
        #expect(configuration.idempotency.retentionHours == 24)
        #expect(configuration.shutdownGraceSeconds == 10)
        #expect(configuration.loggerLevel == .info)
        #expect(Set(sources.keys) == Set(NodeConfiguration.keys))
        #expect(sources.values.allSatisfy { $0 == "default" })
    }

    @Test func defaultFileIsReadWhenItExists() throws {
        let scratch = try ConfigurationScratch()
        let file = try scratch.write("[http]\nport = 9001\n")
        let (configuration, sources) = try NodeConfiguration.loadWithSources(file: nil, environment: [:], flags: [:], defaultFile: file)
        #expect(configuration.http.port == 9001)
        #expect(sources["http.port"] == "file \(file)")
    }

    /// One key set in all four places; taking the sources away one at a time, from the top.
    @Test func precedenceDefaultsFileEnvironmentFlags() throws {
        let scratch = try ConfigurationScratch()
        let file = try scratch.write("""
            data_dir = "/from/file"
            [http]
            port = 1111
            [log]
            level = "debug"
            """)
        var environment = ["EDGENODE_HTTP_PORT": "2222", "EDGENODE_LOG_LEVEL": "notice", "EDGENODE_DATA_DIR": "/from/env"]
        var flags = ["http.port": "3333", "log.level": "error", "data_dir": "/from/flag"]

        func load(_ file: String?) throws -> (NodeConfiguration, [String: String]) {
            try NodeConfiguration.loadWithSources(file: file, environment: environment, flags: flags, defaultFile: nil)
        }

        var (configuration, sources) = try load(file)
        #expect(configuration.http.port == 3333)
        #expect(configuration.log.level == "error")
        #expect(configuration.dataDirectory == "/from/flag")
        #expect(sources["http.port"] == "flag --port")
        #expect(sources["log.level"] == "flag --log-level")
        #expect(sources["data_dir"] == "flag --data-dir")
        #expect(sources["http.bind"] == "default")

        flags = [:]
        (configuration, sources) = try load(file)
        #expect(configuration.http.port == 2222)
        #expect(configuration.log.level == "notice")
        #expect(configuration.dataDirectory == "/from/env")
        #expect(sources["http.port"] == "environment EDGENODE_HTTP_PORT")
        #expect(sources["log.level"] == "environment EDGENODE_LOG_LEVEL")

        environment = [:]
        (configuration, sources) = try load(file)
        #expect(configuration.http.port == 1111)
        #expect(configuration.log.level == "debug")
        #expect(configuration.dataDirectory == "/from/file")
        #expect(sources["http.port"] == "file \(file)")

        (configuration, sources) = try load(nil)
        #expect(configuration == NodeConfiguration())
        #expect(sources["http.port"] == "default")
    }

    @Test func flagWinsOverFileWithoutEnvironment() throws {
        let scratch = try ConfigurationScratch()
        let file = try scratch.write("http.bind = \"127.0.0.1\"\n")
        let (configuration, sources) = try NodeConfiguration.loadWithSources(file: file, environment: [:], flags: ["http.bind": "::1"], defaultFile: nil)
        #expect(configuration.http.bind == "::1")
        #expect(sources["http.bind"] == "flag --bind")
    }

    @Test func keysWithoutAFlagNameTheirKeyAsSource() throws {
        let (configuration, sources) = try NodeConfiguration.loadWithSources(file: nil, environment: [:], flags: ["auth.session_hours": "8"], defaultFile: nil)
        #expect(configuration.auth.sessionHours == 8)
        #expect(sources["auth.session_hours"] == "flag auth.session_hours")
    }

    @Test func environmentConfigNamesTheFileAndFlagOverridesIt() throws {
        let scratch = try ConfigurationScratch()
        let fromEnvironment = try scratch.write("http.port = 1000\n", to: "env.toml")
        let fromFlag = try scratch.write("http.port = 2000\n", to: "flag.toml")
        #expect(try NodeConfiguration.load(file: nil, environment: ["EDGENODE_CONFIG": fromEnvironment], flags: [:]).http.port == 1000)
        #expect(try NodeConfiguration.load(file: fromFlag, environment: ["EDGENODE_CONFIG": fromEnvironment], flags: [:]).http.port == 2000)
    }

    @Test func explicitFileMustExist() throws {
        let scratch = try ConfigurationScratch()
        let missing = scratch.path + "/missing.toml"
        #expect(loadError(file: missing) == ConfigurationError(key: nil, source: "flag --config", message: "configuration file \(missing) does not exist"))
        #expect(loadError(environment: ["EDGENODE_CONFIG": missing])?.description == "environment EDGENODE_CONFIG: configuration file \(missing) does not exist")
        #expect(loadError(environment: ["EDGENODE_CONFIG": ""])?.description == "environment EDGENODE_CONFIG: the configuration file path is empty")
        #expect(loadError(file: scratch.path)?.description == "flag --config: \(scratch.path) is a directory, not a configuration file")
    }

    @Test func everyKeyCanBeSetFromTheEnvironment() throws {
        let scratch = try ConfigurationScratch()
        let pki = try TestPKI(directory: scratch.path)
        let environment = [
            "EDGENODE_DATA_DIR": "/srv/e", "EDGENODE_SHUTDOWN_GRACE_SECONDS": "300",
            "EDGENODE_HTTP_BIND": "::", "EDGENODE_HTTP_PORT": "0", "EDGENODE_HTTP_MAX_BODY_BYTES": "1024",
            "EDGENODE_HTTP_IDLE_TIMEOUT_SECONDS": "3600", "EDGENODE_HTTP_HEADER_TIMEOUT_SECONDS": "300",
            "EDGENODE_HTTP_MAX_CONNECTIONS_PER_ADDRESS": "0", "EDGENODE_LOG_LEVEL": "trace", "EDGENODE_LOG_FORMAT": "json",
            "EDGENODE_AUTH_PIN_ATTEMPTS": "20", "EDGENODE_AUTH_LOCKOUT_MINUTES": "1440",
            "EDGENODE_AUTH_PAIRING_CODE_MINUTES": "60", "EDGENODE_AUTH_SESSION_HOURS": "168",
            "EDGENODE_EVENTS_RETENTION_DAYS": "90", "EDGENODE_IDEMPOTENCY_RETENTION_HOURS": "720",
            "EDGENODE_DISCOVERY_ENABLED": "false", "EDGENODE_DISCOVERY_NAME": "Back room", "EDGENODE_DISCOVERY_RETRY_MAX_SECONDS": "5",
            "EDGENODE_SYNC_LAN": "no", "EDGENODE_SYNC_PEERS": "10.0.0.2:8470, [fe80::1%eth0]:8471,box-2.local:9000",
            "EDGENODE_RELAY_URL": "https://relay.example:8480", "EDGENODE_RELAY_PULL_WAIT_SECONDS": "0",
            "EDGENODE_RELAY_CA_FILE": pki.caFile, "EDGENODE_PAYMENTS_KASPI_QR": "true",
            "EDGENODE_FISCAL_ADAPTER": "webkassa", "EDGENODE_FISCAL_WEBKASSA_URL": "https://devkkm.webkassa.kz",
            "EDGENODE_FISCAL_WEBKASSA_LOGIN": "cashier@example.kz", "EDGENODE_FISCAL_WEBKASSA_CASHBOX": "SWK00030725",
            "EDGENODE_FISCAL_WEBKASSA_API_KEY_FILE": "/etc/edgenode/webkassa-key", "EDGENODE_FISCAL_WEBKASSA_PASSWORD_FILE": "/etc/edgenode/webkassa-password",
            "EDGENODE_FISCAL_WEBKASSA_TIMEOUT_SECONDS": "12",
            "EDGENODE_MESSAGING_TIMEOUT_SECONDS": "9", "EDGENODE_MESSAGING_TELEGRAM_TOKEN_FILE": "/etc/edgenode/telegram-token",
            "EDGENODE_MESSAGING_TELEGRAM_API_URL": "http://127.0.0.1:9001", "EDGENODE_MESSAGING_TELEGRAM_PER_SECOND": "10",
            "EDGENODE_MESSAGING_WHATSAPP_PHONE_NUMBER_ID": "1055", "EDGENODE_MESSAGING_WHATSAPP_TOKEN_FILE": "/etc/edgenode/wa-token",
            "EDGENODE_MESSAGING_WHATSAPP_APP_SECRET_FILE": "/etc/edgenode/wa-secret", "EDGENODE_MESSAGING_WHATSAPP_API_URL": "http://127.0.0.1:9002/v21.0",
            "EDGENODE_MESSAGING_WHATSAPP_PER_SECOND": "40", "EDGENODE_MESSAGING_SMS_PROVIDER": "twilio", "EDGENODE_MESSAGING_SMS_PER_SECOND": "3",
            "EDGENODE_MESSAGING_SMS_SENDER": "SALON", "EDGENODE_MESSAGING_MOBIZON_API_KEY_FILE": "/etc/edgenode/mobizon-key",
            "EDGENODE_MESSAGING_MOBIZON_API_URL": "http://127.0.0.1:9003", "EDGENODE_MESSAGING_TWILIO_ACCOUNT_SID": "AC123",
            "EDGENODE_MESSAGING_TWILIO_AUTH_TOKEN_FILE": "/etc/edgenode/twilio-token", "EDGENODE_MESSAGING_TWILIO_MESSAGING_SERVICE_SID": "MG456",
            "EDGENODE_MESSAGING_TWILIO_API_URL": "http://127.0.0.1:9004", "EDGENODE_MESSAGING_EMAIL_HOST": "smtp.example.kz",
            "EDGENODE_MESSAGING_EMAIL_PORT": "465", "EDGENODE_MESSAGING_EMAIL_SECURITY": "tls", "EDGENODE_MESSAGING_EMAIL_USERNAME": "salon",
            "EDGENODE_MESSAGING_EMAIL_PASSWORD_FILE": "/etc/edgenode/smtp-password", "EDGENODE_MESSAGING_EMAIL_FROM": "hello@salon.kz",
            "EDGENODE_MESSAGING_EMAIL_FROM_NAME": "Salon", "EDGENODE_MESSAGING_EMAIL_CA_FILE": "/etc/edgenode/smtp-ca.pem",
            "EDGENODE_MESSAGING_EMAIL_PER_SECOND": "4",
        ]
        #expect(Set(environment.keys) == Set(NodeConfiguration.keys.map(NodeConfiguration.environmentVariable(for:))))
        let (configuration, sources) = try NodeConfiguration.loadWithSources(file: nil, environment: environment, flags: [:], defaultFile: nil)
        var expected = NodeConfiguration()
        expected.dataDirectory = "/srv/e"
        expected.shutdownGraceSeconds = 300
        expected.http.bind = "::"
        expected.http.port = 0
        expected.http.maxBodyBytes = 1024
        expected.http.idleTimeoutSeconds = 3600
        expected.http.headerTimeoutSeconds = 300
        expected.http.maxConnectionsPerAddress = 0
        expected.log.level = "trace"
        expected.log.format = "json"
        expected.auth.pinAttempts = 20
        expected.auth.lockoutMinutes = 1440
        expected.auth.pairingCodeMinutes = 60
        expected.auth.sessionHours = 168
        expected.events.retentionDays = 90
        expected.idempotency.retentionHours = 720
        expected.discovery.enabled = false
        expected.discovery.name = "Back room"
        expected.discovery.retryMaxSeconds = 5
        expected.sync.lan = false
        expected.sync.peers = ["10.0.0.2:8470", "[fe80::1%eth0]:8471", "box-2.local:9000"]
        expected.relay.url = "https://relay.example:8480"
        expected.relay.pullWaitSeconds = 0
        expected.relay.caFile = pki.caFile
        expected.payments.kaspiQR = true
        expected.fiscal.adapter = "webkassa"
        expected.fiscal.webkassa.url = "https://devkkm.webkassa.kz"
        expected.fiscal.webkassa.login = "cashier@example.kz"
        expected.fiscal.webkassa.cashbox = "SWK00030725"
        expected.fiscal.webkassa.apiKeyFile = "/etc/edgenode/webkassa-key"
        expected.fiscal.webkassa.passwordFile = "/etc/edgenode/webkassa-password"
        expected.fiscal.webkassa.timeoutSeconds = 12
        expected.messaging.timeoutSeconds = 9
        expected.messaging.telegram = .init(tokenFile: "/etc/edgenode/telegram-token", apiURL: "http://127.0.0.1:9001", perSecond: 10)
        expected.messaging.whatsapp = .init(phoneNumberID: "1055", tokenFile: "/etc/edgenode/wa-token", appSecretFile: "/etc/edgenode/wa-secret",
                                            apiURL: "http://127.0.0.1:9002/v21.0", perSecond: 40)
        expected.messaging.sms = .init(provider: "twilio", perSecond: 3, sender: "SALON")
        expected.messaging.mobizon = .init(apiKeyFile: "/etc/edgenode/mobizon-key", apiURL: "http://127.0.0.1:9003")
        expected.messaging.twilio = .init(accountSID: "AC123", authTokenFile: "/etc/edgenode/twilio-token", messagingServiceSID: "MG456", apiURL: "http://127.0.0.1:9004")
        expected.messaging.email = .init(host: "smtp.example.kz", port: 465, security: "tls", username: "salon", passwordFile: "/etc/edgenode/smtp-password",
                                         from: "hello@salon.kz", fromName: "Salon", caFile: "/etc/edgenode/smtp-ca.pem", perSecond: 4)
        #expect(configuration == expected)
        #expect(configuration.loggerLevel == .trace)
        #expect(sources.allSatisfy { $0.value == "environment \(NodeConfiguration.environmentVariable(for: $0.key))" })
    }

    @Test func loggerLevelForEveryLevel() throws {
        for level in Logger.Level.allCases {
            let configuration = try NodeConfiguration.load(file: nil, environment: [:], flags: ["log.level": level.rawValue])
            #expect(configuration.loggerLevel == level)
        }
    }

    // MARK: Errors

    @Test func notAnIntegerInTheEnvironment() {
        let error = loadError(environment: ["EDGENODE_HTTP_PORT": "80x"])
        #expect(error == ConfigurationError(key: "http.port", source: "environment EDGENODE_HTTP_PORT", message: "\"80x\" is not an integer"))
        #expect(error?.description == #"http.port (environment EDGENODE_HTTP_PORT): "80x" is not an integer"#)
        #expect(loadError(environment: ["EDGENODE_HTTP_PORT": ""])?.description == #"http.port (environment EDGENODE_HTTP_PORT): "" is not an integer"#)
        #expect(loadError(flags: ["http.port": " 80"])?.description == #"http.port (flag --port): " 80" is not an integer"#)
    }

    @Test func unknownKeyInTheFileSuggestsTheClosest() throws {
        let scratch = try ConfigurationScratch()
        let file = try scratch.write("""
            # edgenode
            data_dir = "/var/lib/edgenode"

            [http]
            bind = "0.0.0.0"

            prot = 8470
            """)
        let error = try #require(loadError(file: file))
        #expect(error == ConfigurationError(key: nil, source: "\(file) line 7", message: "unknown key \"http.prot\"; did you mean \"http.port\"?"))
        #expect(error.description == "\(file) line 7: unknown key \"http.prot\"; did you mean \"http.port\"?")
    }

    @Test(arguments: [
        ("port = 8470", "unknown key \"port\"; did you mean \"http.port\"?"),
        ("[auth]\nlockout_minute = 3", "unknown key \"auth.lockout_minute\"; did you mean \"auth.lockout_minutes\"?"),
        ("colour = \"red\"", "unknown key \"colour\" (see docs/configuration.md for the known keys)"),
        ("[htp]", "unknown table [htp]; did you mean [http]?"),
        ("[relays]\nurl = \"x\"", "unknown table [relays]; did you mean [relay]?"),
        ("http.port.x = 1", "unknown key \"http.port.x\"; did you mean \"http.port\"?"),
    ])
    func unknownKeysInTheFile(text: String, message: String) throws {
        let scratch = try ConfigurationScratch()
        let file = try scratch.write(text)
        let error = try #require(loadError(file: file))
        #expect(error.key == nil)
        #expect(error.message == message)
        #expect(error.source.hasPrefix("\(file) line "))
    }

    @Test("an unknown EDGENODE_* variable that looks like a key is an error naming the key it may mean; any other is ignored and listed for a warning")
    func unknownEnvironmentVariables() {
        #expect(loadError(environment: ["EDGENODE_HTTP_PROT": "1"])?.description == "environment EDGENODE_HTTP_PROT: unknown variable; did you mean EDGENODE_HTTP_PORT?")
        #expect(loadError(environment: ["EDGENODE_PORT": "1"])?.description == "environment EDGENODE_PORT: unknown variable; did you mean EDGENODE_HTTP_PORT?")
        #expect(loadError(environment: ["EDGENODE_DATADIR": "/tmp"])?.description == "environment EDGENODE_DATADIR: unknown variable; did you mean EDGENODE_DATA_DIR?")
        // Under a table's prefix, even when no key is close: it is meant as configuration.
        #expect(loadError(environment: ["EDGENODE_MESSAGING_COLOUR": "red"])?.description
            == "environment EDGENODE_MESSAGING_COLOUR: unknown variable (see docs/configuration.md for the known keys)")
        // Set by someone's script (issue 21): not like any key, so it stops nothing and is named for a warning.
        let scripts = ["EDGENODE_BIN": "/usr/local/bin/edgenode", "EDGENODE_COLOUR": "red", "EDGENODE_HTTP_PORT": "8471"]
        #expect(loadError(environment: scripts) == nil)
        #expect(NodeConfiguration.ignoredVariables(in: scripts) == ["EDGENODE_BIN", "EDGENODE_COLOUR"])
        #expect(NodeConfiguration.ignoredVariables(in: ["EDGENODE_RELAY_STORAGE": "x", "EDGENODE_CONFIG": "/x", "EDGENODE_HTTP_PORT": "1"]).isEmpty)
        // Other variables, and EDGENODE_CONFIG itself, are not configuration keys and are fine.
        #expect(loadError(environment: ["HOME": "/root", "EDGENODE": "x", "MY_EDGENODE_PORT": "1"]) == nil)
        // The relay's and the test scripts' variables belong to other programs.
        #expect(loadError(environment: ["EDGENODE_RELAY_STORAGE": "postgres://x", "EDGENODE_TEST_POSTGRES_URL": "postgres://y"]) == nil)
        // Like none of the box's keys (the relay's EDGENODE_RELAY_STORAGE is not one): a warning, not an error.
        #expect(loadError(environment: ["EDGENODE_RELAYSTORAGE": "x"]) == nil)
        #expect(NodeConfiguration.ignoredVariables(in: ["EDGENODE_RELAYSTORAGE": "x"]) == ["EDGENODE_RELAYSTORAGE"])
    }

    @Test func relaySettings() throws {
        let scratch = try ConfigurationScratch()
        let file = try scratch.write("[relay]\nurl = \"http://relay.example:8480/edge\"\npull_wait_seconds = 10\n")
        let configuration = try NodeConfiguration.load(file: file, environment: [:], flags: [:])
        #expect(configuration.relay.url == "http://relay.example:8480/edge")
        #expect(configuration.relay.pullWaitSeconds == 10)
        #expect(NodeConfiguration().relay.url.isEmpty)
        #expect(NodeConfiguration().relay.pullWaitSeconds == 25)
        #expect(loadError(environment: ["EDGENODE_RELAY_URL": "https://relay.example"]) == nil)
        #expect(loadError(environment: ["EDGENODE_RELAY_URL": "wss://relay.example"])?.key == "relay.url")
        #expect(loadError(environment: ["EDGENODE_RELAY_URL": "relay.example:8480"])?.key == "relay.url")
        // relay.ca_file: empty (the system's roots) or a readable PEM file with a certificate.
        #expect(loadError(environment: ["EDGENODE_RELAY_CA_FILE": ""]) == nil)
        let missing = scratch.path + "/missing.pem"
        #expect(loadError(environment: ["EDGENODE_RELAY_CA_FILE": missing])?.description
                == "relay.ca_file (environment EDGENODE_RELAY_CA_FILE): cannot read the relay's CA file \(missing)")
        let notPEM = try scratch.write("not a certificate\n", to: "not.pem")
        let error = loadError(environment: ["EDGENODE_RELAY_CA_FILE": notPEM])
        #expect(error?.key == "relay.ca_file", "\(String(describing: error))")
        #expect(error?.message.contains("holds no certificate") == true || error?.message.contains("is not PEM certificates") == true, "\(String(describing: error))")
        let pki = try TestPKI(directory: scratch.path)
        #expect(try NodeConfiguration.load(file: nil, environment: ["EDGENODE_RELAY_CA_FILE": pki.caFile], flags: [:]).relay.caFile == pki.caFile)
        #expect(loadError(environment: ["EDGENODE_RELAY_PULL_WAIT_SECONDS": "26"])?.key == "relay.pull_wait_seconds")
        #expect(loadError(environment: ["EDGENODE_RELAY_URL": ""]) == nil)
    }

    @Test func unknownFlagKeyIsAnError() {
        #expect(loadError(flags: ["http.prot": "1"])?.description == "flag http.prot: unknown key \"http.prot\"; did you mean \"http.port\"?")
    }

    @Test func wrongTypesInTheFile() throws {
        let scratch = try ConfigurationScratch()
        let cases: [(String, String)] = [
            ("[http]\nport = \"8470\"", "http.port (FILE line 2): expected an integer, found a string (\"8470\")"),
            ("data_dir = 5", "data_dir (FILE line 1): expected a string, found an integer (5)"),
            ("log.level = [\"info\"]", "log.level (FILE line 1): expected a string, found an array ([\"info\"])"),
            ("shutdown_grace_seconds = true", "shutdown_grace_seconds (FILE line 1): expected an integer, found a boolean (true)"),
        ]
        for (text, message) in cases {
            let file = try scratch.write(text)
            #expect(loadError(file: file)?.description == message.replacingOccurrences(of: "FILE", with: file))
        }
    }

    @Test(arguments: [
        ("shutdown_grace_seconds", 1, 300),
        ("http.port", 0, 65535),
        ("http.max_body_bytes", 1024, 67_108_864),
        ("http.idle_timeout_seconds", 1, 3600),
        ("http.header_timeout_seconds", 1, 300),
        ("http.max_connections_per_address", 0, 100_000),
        ("auth.pin_attempts", 1, 20),
        ("auth.lockout_minutes", 1, 1440),
        ("auth.pairing_code_minutes", 1, 60),
        ("auth.session_hours", 1, 168),
        ("events.retention_days", 1, 90),
        ("idempotency.retention_hours", 1, 720),
    ])
    func integerRanges(key: String, lowest: Int, highest: Int) throws {
        _ = try NodeConfiguration.load(file: nil, environment: [:], flags: [key: String(lowest)])
        _ = try NodeConfiguration.load(file: nil, environment: [:], flags: [key: String(highest)])
        let source = NodeConfiguration.commandLineFlags.first(where: { $0.value == key }).map { "flag --\($0.key)" } ?? "flag \(key)"
        for bad in [lowest - 1, highest + 1] {
            #expect(loadError(flags: [key: String(bad)]) == ConfigurationError(key: key, source: source, message: "\(bad) is out of range \(lowest)…\(highest)"))
        }
    }

    @Test func outOfRangeInTheFileNamesTheLine() throws {
        let scratch = try ConfigurationScratch()
        let file = try scratch.write("[http]\nbind = \"::\"\nport = 70_000\n")
        #expect(loadError(file: file)?.description == "http.port (\(file) line 3): 70000 is out of range 0…65535")
    }

    @Test func emptyDataDirectory() throws {
        #expect(loadError(environment: ["EDGENODE_DATA_DIR": ""])?.description == "data_dir (environment EDGENODE_DATA_DIR): must not be empty")
        let scratch = try ConfigurationScratch()
        let file = try scratch.write("data_dir = ''")
        #expect(loadError(file: file)?.description == "data_dir (\(file) line 1): must not be empty")
    }

    @Test(arguments: ["0.0.0.0", "127.0.0.1", "192.168.1.20", "::", "::1", "fe80::1", "2001:db8::8470", "localhost"])
    func goodBindAddresses(address: String) throws {
        #expect(try NodeConfiguration.load(file: nil, environment: [:], flags: ["http.bind": address]).http.bind == address)
    }

    @Test(arguments: ["", "0.0.0.0:8470", "256.1.1.1", "1.2.3", "example.com", "[::1]", "LOCALHOST", " ::1"])
    func badBindAddresses(address: String) {
        #expect(loadError(flags: ["http.bind": address]) == ConfigurationError(
            key: "http.bind", source: "flag --bind",
            message: "\(TOMLValue.quoted(address)) is not an IPv4 or IPv6 address or \"localhost\" (the port is http.port)"))
    }

    @Test func badChoices() {
        #expect(loadError(flags: ["log.level": "verbose"])?.description
            == #"log.level (flag --log-level): "verbose" is not one of trace, debug, info, notice, warning, error, critical"#)
        #expect(loadError(environment: ["EDGENODE_LOG_FORMAT": "JSON"])?.description
            == #"log.format (environment EDGENODE_LOG_FORMAT): "JSON" is not one of text, json"#)
    }

    @Test func tomlSyntaxErrorsNameTheFileAndLine() throws {
        let scratch = try ConfigurationScratch()
        let file = try scratch.write("[http]\nport = 8470\nidle_timeout_seconds = 7.5\n")
        #expect(loadError(file: file)?.description == "\(file) line 3: floats are not supported (7.5); this configuration uses whole numbers")
        let inline = try scratch.write("http = { port = 1 }\n")
        #expect(loadError(file: inline)?.description == "\(inline) line 1: inline tables are not supported; use a [table] header")
    }

    @Test func fileThatIsNotUTF8() throws {
        let scratch = try ConfigurationScratch()
        let file = scratch.path + "/latin1.toml"
        try Data([0x61, 0x20, 0x3D, 0x20, 0x22, 0xE9, 0x22, 0x0A]).write(to: URL(fileURLWithPath: file))
        #expect(loadError(file: file) == ConfigurationError(key: nil, source: "file \(file)", message: "the file is not valid UTF-8"))
    }

    @Test func errorsAreReportedInSourceOrder() throws {
        // The file is read before the environment; its first bad line is reported.
        let scratch = try ConfigurationScratch()
        let file = try scratch.write("http.port = 1\nlog.level = \"loud\"\nauth.pin_attempts = 0\n")
        #expect(loadError(file: file, environment: ["EDGENODE_HTTP_PORT": "x"])?.key == "log.level")
    }

    // MARK: describe

    @Test func describeShowsSourcesAndReadsBack() throws {
        let scratch = try ConfigurationScratch()
        let file = try scratch.write("[auth]\nsession_hours = 9\n")
        let (configuration, sources) = try NodeConfiguration.loadWithSources(
            file: file, environment: ["EDGENODE_LOG_FORMAT": "json"], flags: ["http.port": "9999", "data_dir": "/d \"q\""], defaultFile: nil)
        let text = configuration.describe(sources: sources)
        #expect(text.contains("port = 9999  # flag --port\n"))
        #expect(text.contains("format = \"json\"  # environment EDGENODE_LOG_FORMAT\n"))
        #expect(text.contains("session_hours = 9  # file \(file)\n"))
        #expect(text.contains("bind = \"0.0.0.0\"  # default\n"))
        #expect(text.hasPrefix("data_dir = \"/d \\\"q\\\"\"  # flag --data-dir\n"))
        let again = try scratch.write(text, to: "shown.toml")
        #expect(try NodeConfiguration.load(file: again, environment: [:], flags: [:]) == configuration)
        #expect(NodeConfiguration().describe().contains("[idempotency]\nretention_hours = 24\n"))
    }

    @Test func environmentVariableNames() {
        #expect(NodeConfiguration.environmentVariable(for: "data_dir") == "EDGENODE_DATA_DIR")
        #expect(NodeConfiguration.environmentVariable(for: "http.max_body_bytes") == "EDGENODE_HTTP_MAX_BODY_BYTES")
        #expect(NodeConfiguration.keys.count == 59)
        #expect(Set(NodeConfiguration.commandLineFlags.values).isSubset(of: Set(NodeConfiguration.keys)))
    }

    @Test func lanSettingsFromTheFileAndTheirErrors() throws {
        let scratch = try ConfigurationScratch()
        let good = try scratch.write("""
            [discovery]
            enabled = true
            name = "Atyrau Central"
            [sync]
            peers = [
              "192.168.1.20:8470",  # the spare box
              "[::1]:8470",
            ]
            """)
        let configuration = try NodeConfiguration.load(file: good, environment: [:], flags: [:])
        #expect(configuration.sync.peers == ["192.168.1.20:8470", "[::1]:8470"])
        #expect(configuration.sync.peers.compactMap(PeerAddress.init) == [PeerAddress(host: "192.168.1.20", port: 8470), PeerAddress(host: "::1", port: 8470)])
        #expect(configuration.discovery.name == "Atyrau Central")

        for (text, message) in [
            ("[sync]\npeers = [\"10.0.0.2\"]\n", "is not \"host:port\""),
            ("[sync]\npeers = [\"10.0.0.2:0\"]\n", "is not \"host:port\""),
            ("[sync]\npeers = [\"fe80::1:8470\"]\n", "goes in brackets"),
            ("[sync]\npeers = \"10.0.0.2:8470\"\n", "expected an array"),
            ("[sync]\npeers = [8470]\n", "expected an array of"),
            ("[discovery]\nenabled = \"yes\"\n", "expected true or false"),
            ("[discovery]\nname = \"\(String(repeating: "é", count: 40))\"\n", "at most 63"),
        ] {
            let file = try scratch.write(text)
            #expect {
                _ = try NodeConfiguration.load(file: file, environment: [:], flags: [:])
            } throws: { error in
                "\(error)".contains(message)
            }
        }
        #expect(throws: ConfigurationError.self) { _ = try NodeConfiguration.load(file: nil, environment: ["EDGENODE_DISCOVERY_ENABLED": "perhaps"], flags: [:]) }
    }
}
