import ArgumentParser
import Foundation
import Logging
import Relay

/// `edgenode-relay`: the cloud relay (docs/relay-protocol.md). A thin command line over `Relay`.
@main
struct EdgeNodeRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgenode-relay",
        abstract: "Store-and-forward relay for the signed, end-to-end encrypted changesets of edgenode boxes.",
        subcommands: [Serve.self],
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
            EDGENODE_RELAY_IDLE_TIMEOUT_SECONDS, EDGENODE_RELAY_MAX_CONNECTIONS_PER_ADDRESS; options win.
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
