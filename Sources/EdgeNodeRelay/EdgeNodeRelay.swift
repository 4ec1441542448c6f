import ArgumentParser
import Foundation
import KaspiMerchant
import Logging
import Relay
import Replication

/// `edgenode-relay`: the cloud relay (docs/relay-protocol.md). A thin command line over `Relay`.
@main
struct EdgeNodeRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgenode-relay",
        abstract: "Store-and-forward relay for the signed, end-to-end encrypted changesets of edgenode boxes.",
        subcommands: [Serve.self, Kaspi.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the relay's HTTP API until SIGTERM or SIGINT.",
        discussion: """
            With no options it keeps its data in SQLite under /var/lib/edgenode-relay (created if missing).
            Every option can also be set in the environment: EDGENODE_RELAY_STORAGE, EDGENODE_RELAY_DATA_DIR,
            EDGENODE_RELAY_BIND, EDGENODE_RELAY_PORT, EDGENODE_RELAY_LOG_LEVEL, EDGENODE_RELAY_METRICS,
            EDGENODE_RELAY_TLS_CERTIFICATE, EDGENODE_RELAY_TLS_KEY, EDGENODE_RELAY_HEADER_TIMEOUT_SECONDS,
            EDGENODE_RELAY_IDLE_TIMEOUT_SECONDS, EDGENODE_RELAY_MAX_CONNECTIONS_PER_ADDRESS, EDGENODE_RELAY_KASPI_KEY_FILE,
            EDGENODE_RELAY_KASPI_CA_FILE, EDGENODE_RELAY_KASPI_TIMEOUT_SECONDS; options win.
            With --kaspi-key-file it is the businesses' Kaspi QR gateway (docs/kaspi.md).
            With --tls-certificate and --tls-key it serves HTTPS; without, plain HTTP (terminate TLS in front of it).
            """
    )

    @Option(help: "sqlite:/path/relay.sqlite or postgres://user[:password]@host[:port]/database (default: SQLite in the data directory).")
    var storage: String?
    @Option(name: .customLong("data-dir"), help: "The data directory for the default SQLite store (default /var/lib/edgenode-relay).")
    var dataDirectory: String?
    @Option(help: "The address to listen on (default 0.0.0.0).") var bind: String?
    @Option(help: "The port to listen on (default 8480; 0 = any free port).") var port: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.") var logLevel: String?
    @Flag(help: "Serve Prometheus metrics at GET /metrics (unauthenticated; keep it internal).") var metrics = false
    @Option(name: .customLong("tls-certificate"), help: "Serve HTTPS: the certificate chain, a PEM file (with --tls-key).") var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: "Serve HTTPS: the private key, a PEM file (with --tls-certificate).") var tlsKey: String?
    @Option(name: .customLong("header-timeout-seconds"), help: "How long a request's line and headers may take to arrive, 1…300 (default 10).")
    var headerTimeoutSeconds: String?
    @Option(name: .customLong("idle-timeout-seconds"), help: "How long an idle connection stays open, 1…3600 (default 75).")
    var idleTimeoutSeconds: String?
    @Option(name: .customLong("max-connections-per-address"),
            help: "Open connections one client address may hold, 0…100000 (default 64; 0 = no limit, needed behind a load balancer).")
    var maxConnectionsPerAddress: String?
    @Option(name: .customLong("kaspi-key-file"), help: "Be the Kaspi gateway: the key that seals the businesses' Kaspi access (edgenode-relay kaspi new-key).")
    var kaspiKeyFile: String?
    @Option(name: .customLong("kaspi-ca-file"), help: "Trust only these PEM certificates for Kaspi's server (default: the system's roots).")
    var kaspiCAFile: String?
    @Option(name: .customLong("kaspi-timeout-seconds"), help: "How long one call to Kaspi may take, 1…120 (default 15).")
    var kaspiTimeoutSeconds: String?

    func run() async throws {
        var flags: [String: String] = [:]
        if let storage { flags["storage"] = storage }
        if let dataDirectory { flags["data_dir"] = dataDirectory }
        if let bind { flags["bind"] = bind }
        if let port { flags["port"] = port }
        if let logLevel { flags["log_level"] = logLevel }
        if metrics { flags["metrics"] = "true" }
        if let tlsCertificate { flags["tls_certificate"] = tlsCertificate }
        if let tlsKey { flags["tls_key"] = tlsKey }
        if let headerTimeoutSeconds { flags["header_timeout_seconds"] = headerTimeoutSeconds }
        if let idleTimeoutSeconds { flags["idle_timeout_seconds"] = idleTimeoutSeconds }
        if let maxConnectionsPerAddress { flags["max_connections_per_address"] = maxConnectionsPerAddress }
        if let kaspiKeyFile { flags["kaspi_key_file"] = kaspiKeyFile }
        if let kaspiCAFile { flags["kaspi_ca_file"] = kaspiCAFile }
        if let kaspiTimeoutSeconds { flags["kaspi_timeout_seconds"] = kaspiTimeoutSeconds }
        let configuration: RelayConfiguration
        do {
            configuration = try RelayConfiguration.load(environment: ProcessInfo.processInfo.environment, flags: flags)
        } catch {
            throw ValidationError("configuration error: \(error)")
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        try await RelayLauncher.run(configuration: configuration, logger: Logger(label: "edgenode-relay"))
    }
}

// MARK: Kaspi (docs/kaspi.md §5)

/// `edgenode-relay kaspi …`: the operator stores each business's Kaspi access at the relay.
struct Kaspi: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep the businesses' Kaspi QR access at the relay (docs/kaspi.md).",
        subcommands: [KaspiNewKey.self, KaspiSet.self, KaspiShow.self]
    )
}

/// Where the relay's data and Kaspi key are: the same options and variables as `serve`.
struct KaspiStorageOptions: ParsableArguments {
    @Option(help: "sqlite:/path/relay.sqlite or postgres://… (default: SQLite in the data directory; or EDGENODE_RELAY_STORAGE).")
    var storage: String?
    @Option(name: .customLong("data-dir"), help: "The data directory for the default SQLite store (or EDGENODE_RELAY_DATA_DIR).")
    var dataDirectory: String?
    @Option(name: .customLong("kaspi-key-file"), help: "The relay's Kaspi key file (or EDGENODE_RELAY_KASPI_KEY_FILE).")
    var kaspiKeyFile: String?

    func configuration() throws -> RelayConfiguration {
        var flags: [String: String] = [:]
        if let storage { flags["storage"] = storage }
        if let dataDirectory { flags["data_dir"] = dataDirectory }
        if let kaspiKeyFile { flags["kaspi_key_file"] = kaspiKeyFile }
        do { return try RelayConfiguration.load(environment: ProcessInfo.processInfo.environment, flags: flags) } catch {
            throw ValidationError("configuration error: \(error)")
        }
    }
}

func parseBusiness(_ text: String) throws -> BusinessID {
    guard text.utf8.count == 32, let bytes = [UInt8](hex: text.lowercased()), let business = BusinessID(bytes: bytes) else {
        throw ValidationError("--business must be the business id, 32 hex digits")
    }
    return business
}

func quietLogger() -> Logger {
    var logger = Logger(label: "edgenode-relay")
    logger.logLevel = .warning
    return logger
}

struct KaspiNewKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "new-key",
                                                    abstract: "Write a new random Kaspi key file (mode 0600) for kaspi_key_file; refuses to overwrite one.")
    @Argument(help: "The file to write.") var file: String

    func run() throws {
        guard !FileManager.default.fileExists(atPath: file) else {
            throw ValidationError("\(file) exists; a new key would make the stored Kaspi access unreadable")
        }
        guard FileManager.default.createFile(atPath: file, contents: Data(KaspiSealingKey.generateFileContents().utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(file)")
        }
        print("wrote a new Kaspi key to \(file); set kaspi_key_file (EDGENODE_RELAY_KASPI_KEY_FILE) to it and keep a copy safe")
    }
}

struct KaspiSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Store (or replace) a business's Kaspi access, encrypted with the relay's Kaspi key.",
        discussion: "Scheme r1 takes --api-key-file; r2 and r3 take --certificate and --private-key (PEM). Secrets are read from files, never from the command line.")
    @OptionGroup var location: KaspiStorageOptions
    @Option(help: "The business id (32 hex digits).") var business: String
    @Option(help: "r1 (API key), r2 or r3 (client certificate; r3 refunds without the customer).") var scheme: String
    @Option(name: .customLong("base-url"), help: "Kaspi's merchant API, https://host[:port].") var baseURL: String
    @Option(name: .customLong("trade-point"), help: "The TradePointId the business's QRs are made for.") var tradePoint: Int64
    @Option(name: .customLong("device-id"), help: "Our DeviceId at Kaspi (default: edgenode-relay).") var deviceID = "edgenode-relay"
    @Option(help: "The business's BIN, 12 digits (sent with r3 refunds).") var bin: String
    @Option(name: .customLong("api-key-file"), help: "r1: a file holding the API key.") var apiKeyFile: String?
    @Option(help: "r2/r3: the client certificate, a PEM file.") var certificate: String?
    @Option(name: .customLong("private-key"), help: "r2/r3: the client certificate's private key, a PEM file.") var privateKey: String?

    func run() async throws {
        guard let scheme = KaspiAccess.Scheme(rawValue: scheme) else { throw ValidationError("--scheme must be r1, r2 or r3") }
        func read(_ file: String?, _ what: String) throws -> String? {
            guard let file else { return nil }
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(what) \(file)") }
            return String(decoding: data, as: UTF8.self)
        }
        let access = KaspiAccess(scheme: scheme, baseURL: baseURL, tradePointID: tradePoint, deviceID: deviceID, organizationBIN: bin,
                                 apiKey: try read(apiKeyFile, "the API key file")?.trimmingCharacters(in: .whitespacesAndNewlines),
                                 certificatePEM: try read(certificate, "the certificate file"), privateKeyPEM: try read(privateKey, "the private key file"))
        let business = try parseBusiness(business)
        do {
            try await KaspiAdministration.set(access, business: business, configuration: try location.configuration(), logger: quietLogger())
        } catch let error as KaspiError {
            throw ValidationError(error.message)
        } catch let error as RelayConfigurationError {
            throw ValidationError(error.description)
        }
        print("stored the Kaspi access of business \(business.hex): \(access)")
    }
}

struct KaspiShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a business's Kaspi access (nothing secret).")
    @OptionGroup var location: KaspiStorageOptions
    @Option(help: "The business id (32 hex digits).") var business: String

    func run() async throws {
        let business = try parseBusiness(business)
        let summary: KaspiAccessSummary?
        do { summary = try await KaspiAdministration.show(business: business, configuration: try location.configuration(), logger: quietLogger()) } catch let error as RelayConfigurationError {
            throw ValidationError(error.description)
        }
        guard let summary else { throw ValidationError("no Kaspi access is stored for business \(business.hex)") }
        print("business:      \(business.hex)\n\(summary)")
    }
}
