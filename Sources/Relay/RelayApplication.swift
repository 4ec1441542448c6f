import Foundation
import HTTPProblem
import Hummingbird
import HummingbirdTLS
import LayeredConfiguration
import NIOSSL
import Logging
import OutboundHTTP
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization
import SystemdNotify

/// Where the relay keeps its data: `sqlite:/path/relay.sqlite` or
/// `postgres://user[:password]@host[:port]/database` (docs/relay-protocol.md §8).
public enum StorageLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    /// - Throws: `RelayStorageError.invalidLocation` for anything else.
    public static func parse(_ text: String) throws -> StorageLocation {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw RelayStorageError.invalidLocation("sqlite: needs a file path, e.g. sqlite:/var/lib/edgenode-relay/relay.sqlite") }
            return .sqlite(path: path)
        }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            _ = try PostgresRelayStorage.configuration(url: text)
            return .postgres(url: text)
        }
        throw RelayStorageError.invalidLocation("expected sqlite:/path or postgres://user@host:port/database, got \(text)")
    }

    /// The location with any password masked, for logs.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let url):
            if var components = URLComponents(string: url), components.password != nil {
                components.password = "***"
                return components.string ?? "postgres://…"
            }
            return url
        }
    }
}

/// The relay's configuration. Precedence: command line > environment > defaults.
///
/// | key (flag / environment) | default |
/// |---|---|
/// | `--storage` / `EDGENODE_RELAY_STORAGE` | `sqlite:<data dir>/relay.sqlite` |
/// | `--data-dir` / `EDGENODE_RELAY_DATA_DIR` | `/var/lib/edgenode-relay` |
/// | `--bind` / `EDGENODE_RELAY_BIND` | `0.0.0.0` |
/// | `--port` / `EDGENODE_RELAY_PORT` | `8480` (0 = any free port) |
/// | `--log-level` / `EDGENODE_RELAY_LOG_LEVEL` | `info` |
/// | `--metrics` / `EDGENODE_RELAY_METRICS` (`true`/`false`) | `false`: no `GET /metrics` |
/// | `--tls-certificate` / `EDGENODE_RELAY_TLS_CERTIFICATE` | none: plain HTTP |
/// | `--tls-key` / `EDGENODE_RELAY_TLS_KEY` | none (both or neither) |
/// | `--header-timeout-seconds` / `EDGENODE_RELAY_HEADER_TIMEOUT_SECONDS` | `10` (1…300) |
/// | `--idle-timeout-seconds` / `EDGENODE_RELAY_IDLE_TIMEOUT_SECONDS` | `75` (1…3600) |
/// | `--max-connections-per-address` / `EDGENODE_RELAY_MAX_CONNECTIONS_PER_ADDRESS` | `64` (0 = no limit; 0…100000) |
/// | `--kaspi-key-file` / `EDGENODE_RELAY_KASPI_KEY_FILE` | none: not a Kaspi gateway (docs/kaspi.md) |
/// | `--kaspi-ca-file` / `EDGENODE_RELAY_KASPI_CA_FILE` | none: Kaspi's server checked against the system's roots |
/// | `--kaspi-timeout-seconds` / `EDGENODE_RELAY_KASPI_TIMEOUT_SECONDS` | `15` (1…120) |
public struct RelayConfiguration: Sendable {
    public var bind = "0.0.0.0"
    public var port = 8480
    public var dataDirectory = "/var/lib/edgenode-relay"
    public var storage: StorageLocation?
    public var logLevel: Logger.Level = .info
    /// Serve Prometheus metrics at `GET /metrics` (unauthenticated: keep it off the public side of
    /// the load balancer).
    public var metrics = false
    public var limits = RelayLimits()
    public var housekeepingInterval: Duration = .seconds(60)
    public var shutdownGraceSeconds = 10
    /// Serve HTTPS with this certificate chain and key (PEM files); nil: plain HTTP (behind a
    /// load balancer that terminates TLS, say).
    public var tls: TLSFiles?
    /// The HTTP edge: how long a request head may take, how long an idle connection stays open,
    /// and how many connections one client address may hold (0: no limit — needed behind a load
    /// balancer or proxy, whose address every connection has).
    public var edge: HTTPEdgeLimits = {
        var limits = HTTPEdgeLimits()
        limits.headerTimeout = .seconds(10)
        limits.idleTimeout = .seconds(75)
        limits.maxConnectionsPerAddress = 64
        return limits
    }()

    public struct TLSFiles: Sendable, Equatable {
        public var certificateChain: String
        public var privateKey: String
        public init(certificateChain: String, privateKey: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }

        /// The server's TLS configuration, the files read and checked.
        /// - Throws: `RelayConfigurationError` naming the file and what is wrong.
        public func serverConfiguration() throws -> TLSConfiguration {
            let chain: [NIOSSLCertificate]
            do { chain = try NIOSSLCertificate.fromPEMFile(certificateChain) } catch {
                throw RelayConfigurationError("tls_certificate: cannot read PEM certificates from \(certificateChain): \(error)")
            }
            guard !chain.isEmpty else { throw RelayConfigurationError("tls_certificate: \(certificateChain) holds no certificate") }
            let key: NIOSSLPrivateKey
            do { key = try NIOSSLPrivateKey(file: privateKey, format: .pem) } catch {
                throw RelayConfigurationError("tls_key: cannot read a PEM private key from \(privateKey): \(error)")
            }
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12
            // A key that does not match the certificate fails here rather than at the first client.
            do { _ = try NIOSSLContext(configuration: configuration) } catch {
                throw RelayConfigurationError("tls_key: \(privateKey) does not go with the certificate in \(certificateChain): \(error)")
            }
            return configuration
        }
    }

    /// The Kaspi gateway (docs/kaspi.md): the file with the key that seals the businesses' Kaspi
    /// access (nil: the relay is no Kaspi gateway), trusted roots for Kaspi's server (nil: the
    /// system's), and how long one call to Kaspi may take.
    public var kaspiKeyFile: String?
    public var kaspiCAFile: String?
    public var kaspiTimeoutSeconds = 15

    public init() {}

    /// The Kaspi gateway's settings, its files read.
    /// - Throws: `RelayConfigurationError` naming the file and what is wrong.
    public func kaspiSettings() throws -> KaspiGatewaySettings {
        var settings = KaspiGatewaySettings(timeout: .seconds(kaspiTimeoutSeconds))
        if let kaspiKeyFile { settings.sealingKey = try KaspiSealingKey.load(file: kaspiKeyFile) }
        if let kaspiCAFile {
            do { settings.trustRoots = try OutboundTLS.certificates(pemFile: kaspiCAFile, describedAs: "kaspi_ca_file") } catch {
                throw RelayConfigurationError("kaspi_ca_file: \(error)")
            }
        }
        return settings
    }

    /// The storage to use: the configured one, or SQLite in the data directory.
    public var effectiveStorage: StorageLocation { storage ?? .sqlite(path: dataDirectory + "/relay.sqlite") }

    /// Reads `EDGENODE_RELAY_*` from `environment`, then `flags` (the same keys in lower case
    /// without the prefix: `storage`, `data_dir`, `bind`, `port`, `log_level`, `metrics`, …) over
    /// them, through the configuration mechanism the box uses too (`ConfigurationLayers`). An empty
    /// variable counts as unset, and other `EDGENODE_RELAY_*` variables (the box's `relay.*`
    /// settings) are ignored; only the value that wins is checked. The relay reads no file.
    /// - Throws: `RelayConfigurationError` naming the key and what is wrong.
    public static func load(environment: [String: String], flags: [String: String] = [:]) throws -> RelayConfiguration {
        var loaded = try layers.load(over: Loading(), environment: environment, flags: flags).configuration
        switch (loaded.tlsCertificate, loaded.tlsKey) {
        case (nil, nil): break
        case (let certificate?, let key?):
            loaded.configuration.tls = TLSFiles(certificateChain: certificate, privateKey: key)
            _ = try loaded.configuration.tls?.serverConfiguration()
        case (nil, _): throw RelayConfigurationError("tls_key needs tls_certificate too (both, or neither for plain HTTP)")
        case (_, nil): throw RelayConfigurationError("tls_certificate needs tls_key too (both, or neither for plain HTTP)")
        }
        _ = try loaded.configuration.kaspiSettings()
        return loaded.configuration
    }

    /// The configuration while it is read: the TLS files are checked as a pair at the end.
    struct Loading: Sendable {
        var configuration = RelayConfiguration()
        var tlsCertificate: String?
        var tlsKey: String?
    }

    /// The relay's settings, checked in this order: key, `EDGENODE_RELAY_<KEY>`, `--<key with dashes>`
    /// (docs/relay-protocol.md §8).
    static let settings: [ConfigurationKey<Loading, RelayConfigurationError>] = [
        setting("data_dir") { value, loading in loading.configuration.dataDirectory = value },
        setting("bind") { value, loading in loading.configuration.bind = value },
        setting("port") { value, loading throws(RelayConfigurationError) in
            guard let port = Int(value), (0...65535).contains(port) else { throw RelayConfigurationError("port must be 0…65535, got \(value)") }
            loading.configuration.port = port
        },
        setting("log_level") { value, loading throws(RelayConfigurationError) in
            guard let level = Logger.Level(rawValue: value) else {
                throw RelayConfigurationError("log_level must be trace, debug, info, notice, warning, error or critical, got \(value)")
            }
            loading.configuration.logLevel = level
        },
        setting("metrics") { value, loading throws(RelayConfigurationError) in
            guard let enabled = ["true": true, "false": false, "1": true, "0": false][value] else {
                throw RelayConfigurationError("metrics must be true or false, got \(value)")
            }
            loading.configuration.metrics = enabled
        },
        setting("header_timeout_seconds") { value, loading throws(RelayConfigurationError) in
            loading.configuration.edge.headerTimeout = .seconds(try integer(value, "header_timeout_seconds", 1...300))
        },
        setting("idle_timeout_seconds") { value, loading throws(RelayConfigurationError) in
            loading.configuration.edge.idleTimeout = .seconds(try integer(value, "idle_timeout_seconds", 1...3600))
        },
        setting("max_connections_per_address") { value, loading throws(RelayConfigurationError) in
            loading.configuration.edge.maxConnectionsPerAddress = try integer(value, "max_connections_per_address", 0...100_000)
        },
        setting("storage") { value, loading throws(RelayConfigurationError) in
            do { loading.configuration.storage = try StorageLocation.parse(value) } catch {
                throw RelayConfigurationError("storage: \(error)")
            }
        },
        setting("tls_certificate") { value, loading in loading.tlsCertificate = value },
        setting("tls_key") { value, loading in loading.tlsKey = value },
        setting("kaspi_key_file") { value, loading in loading.configuration.kaspiKeyFile = value },
        setting("kaspi_ca_file") { value, loading in loading.configuration.kaspiCAFile = value },
        setting("kaspi_timeout_seconds") { value, loading throws(RelayConfigurationError) in
            loading.configuration.kaspiTimeoutSeconds = try integer(value, "kaspi_timeout_seconds", 1...120)
        },
    ]

    /// Every key of the relay's configuration, in the order they are checked.
    public static var keys: [String] { settings.map(\.key) }

    /// The environment variable for a key: "EDGENODE_RELAY_" + the key uppercased.
    public static func environmentVariable(for key: String) -> String { "EDGENODE_RELAY_" + key.uppercased() }

    static let layers: ConfigurationLayers<Loading, RelayConfigurationError> = {
        var layers = ConfigurationLayers<Loading, RelayConfigurationError>(
            keys: settings, environmentPrefix: "EDGENODE_RELAY_", documentation: "see docs/relay-protocol.md §8 for the known keys",
            failure: { key, source, message in RelayConfigurationError("\(key.map { "\($0) (\(source))" } ?? source): \(message)") })
        layers.refusesUnknownVariables = false
        layers.ignoresEmptyVariables = true
        layers.checksReplacedValues = false
        return layers
    }()

    private static func setting(_ key: String,
                                _ apply: @escaping @Sendable (String, inout Loading) throws(RelayConfigurationError) -> Void) -> ConfigurationKey<Loading, RelayConfigurationError> {
        ConfigurationKey(key: key, environmentVariable: environmentVariable(for: key), flag: key.replacingOccurrences(of: "_", with: "-")) {
            input, loading, _ throws(RelayConfigurationError) in
            switch input {
            case .raw(let value): try apply(value, &loading)
            case .toml(.string(let value)): try apply(value, &loading)
            case .toml(let other): try apply(other.description, &loading)
            }
        }
    }

    private static func integer(_ value: String, _ key: String, _ range: ClosedRange<Int>) throws(RelayConfigurationError) -> Int {
        guard let number = Int(value), range.contains(number) else {
            throw RelayConfigurationError("\(key) must be \(range.lowerBound)…\(range.upperBound), got \(value)")
        }
        return number
    }
}

public struct RelayConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A relay process: storage, housekeeping, the systemd watchdog and the HTTP server as services
/// in one `ServiceGroup`, started in that order and stopped in reverse.
public final class RelayRuntime<Storage: RelayStorage>: Sendable {
    public let core: RelayCore<Storage>
    let configuration: RelayConfiguration
    let logger: Logger
    let metricsText: (@Sendable () -> String)?
    private let boundPort = ListeningPort()
    private let running = Mutex<ServiceGroup?>(nil)

    /// - Parameter metricsText: the text `GET /metrics` serves (when `configuration.metrics`).
    public init(core: RelayCore<Storage>, configuration: RelayConfiguration, logger: Logger, metricsText: (@Sendable () -> String)? = nil) {
        self.core = core
        self.configuration = configuration
        self.logger = logger
        self.metricsText = metricsText
    }

    /// The port the server listens on, once it listens (useful with port 0); 0 before.
    public var port: Int { boundPort.port }

    /// Returns the port once the server listens (for tests and benchmarks that start a relay in
    /// process).
    /// - Throws: `NotListening` when `run()` ended before the server listened.
    public func waitUntilListening() async throws -> Int { try await boundPort.waitUntilListening() }

    /// Stops the running relay the way SIGTERM does (long-polls answered, requests finished, the
    /// storage closed last); `run()` then returns. Cancelling `run()`'s task instead stops every
    /// service at once, the storage's pool under requests that still use it.
    public func shutDown() async {
        await running.withLock { $0 }?.triggerGracefulShutdown()
    }

    /// Runs until SIGTERM/SIGINT (when `handleSignals`), `shutDown()`, or until the task is cancelled.
    public func run(handleSignals: Bool = true, onReady: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        let logger = self.logger
        let boundPort = self.boundPort
        let bind = configuration.bind
        let tls = configuration.tls != nil
        let serverTLS = try configuration.tls?.serverConfiguration()
        let edge = configuration.edge
        // Kaspi's merchant API is called through the one outbound HTTP client, shut down at the end.
        let outbound = HTTPClientOutbound(logger: logger)
        let kaspi = KaspiGateway(storage: core.storage, settings: try configuration.kaspiSettings(), http: outbound, clock: core.clock, logger: logger)
        let application = Application(
            router: RelayHTTP(core: core, metricsText: configuration.metrics ? metricsText : nil, kaspi: kaspi).makeRouter(),
            server: try serverTLS.map { try .tls(.edge(edge, logger: logger), tlsConfiguration: $0) } ?? .edge(edge, logger: logger),
            configuration: .init(address: .hostname(bind == "localhost" ? "127.0.0.1" : bind, port: configuration.port), serverName: "edgenode-relay"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.listening(on: port)
                logger.notice("edgenode-relay listening", metadata: ["relay.port": "\(port)", "relay.bind": "\(bind)", "relay.tls": "\(tls)"])
                try? notifier?.notify("READY=1\nSTATUS=serving on port \(port)")
                onReady(port)
            },
            logger: logger
        )
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: core.storage),
            .init(service: RelayHousekeepingService(core: core, interval: configuration.housekeepingInterval, logger: logger)),
            .init(service: RelayWatchdogService(notifier: notifier, logger: logger)),
            .init(service: RelayHTTPService(core: core, application: application)),
            // Last, so it is the first told to stop: long-polls end, queued work is refused.
            .init(service: RelayShutdownService(core: core, notifier: notifier)),
        ]
        var group = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGraceSeconds)
        let serviceGroup = ServiceGroup(configuration: group)
        running.withLock { $0 = serviceGroup }
        defer {
            running.withLock { $0 = nil }
            boundPort.stopped("edgenode-relay stopped")
        }
        do { try await serviceGroup.run() } catch {
            try? await outbound.shutdown()
            throw error
        }
        try? await outbound.shutdown()
    }
}

/// Opens the configured storage and runs a relay over it.
public enum RelayLauncher {
    /// Runs the relay described by `configuration` until SIGTERM/SIGINT.
    public static func run(configuration: RelayConfiguration, logger: Logger) async throws {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        let metricsText: @Sendable () -> String = { registry.emitToString() }
        switch configuration.effectiveStorage {
        case .sqlite(let path):
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            let storage = try SQLiteRelayStorage(path: path, logger: logger)
            logger.info("relay storage", metadata: ["relay.storage": "\(configuration.effectiveStorage)"])
            try await RelayRuntime(core: RelayCore(storage: storage, limits: configuration.limits, logger: logger, metricsFactory: factory),
                                   configuration: configuration, logger: logger, metricsText: metricsText).run()
        case .postgres(let url):
            let storage = PostgresRelayStorage(configuration: try PostgresRelayStorage.configuration(url: url), logger: logger)
            logger.info("relay storage", metadata: ["relay.storage": "\(configuration.effectiveStorage)"])
            try await RelayRuntime(core: RelayCore(storage: storage, limits: configuration.limits, logger: logger, metricsFactory: factory),
                                   configuration: configuration, logger: logger, metricsText: metricsText).run()
        }
    }
}

/// Migrates the storage, then serves HTTP.
struct RelayHTTPService<Storage: RelayStorage>: Service {
    let core: RelayCore<Storage>
    let application: Application<RouterResponder<BasicRequestContext>>

    func run() async throws {
        try await core.storage.migrate()
        try await application.run()
    }
}

/// Prunes nonces and compacts acknowledged envelopes every `interval`.
struct RelayHousekeepingService<Storage: RelayStorage>: Service {
    let core: RelayCore<Storage>
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
            do { try await core.housekeeping() } catch {
                logger.warning("relay housekeeping failed; will retry", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Sends `WATCHDOG=1` at half the interval systemd asked for.
struct RelayWatchdogService: Service {
    let notifier: SystemdNotifier?
    let logger: Logger

    func run() async throws {
        guard let notifier, let interval = SystemdNotifier.watchdogInterval(environment: ProcessInfo.processInfo.environment) else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? notifier.notify("WATCHDOG=1")
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval / 2) }
        }
    }
}

/// The first service told to stop: STOPPING=1, long-polls answer at once, queued work is refused.
struct RelayShutdownService<Storage: RelayStorage>: Service {
    let core: RelayCore<Storage>
    let notifier: SystemdNotifier?

    func run() async throws {
        try? await gracefulShutdown()
        try? notifier?.notify("STOPPING=1")
        core.beginShutdown()
    }
}
