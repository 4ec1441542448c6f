import ArgumentParser
import DemoShop
import Domain
import Foundation
import Logging
import Metrics
import Prometheus
import Replication

/// Flags shared by the commands that read the node's configuration.
struct NodeOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "The TOML configuration file (default: $EDGENODE_CONFIG or /etc/edgenode/edgenode.toml if it exists).")
    var configFile: String?
    @Option(name: .customLong("data-dir"), help: "The data directory (key data_dir; default /var/lib/edgenode).") var dataDirectory: String?
    @Option(help: "serve: the address to listen on. pair, status, invite: the daemon's address, when it is not the one daemon.url in the data directory names (key http.bind; default 0.0.0.0).")
    var bind: String?
    @Option(help: "serve: the port to listen on (0 = any free port). pair, status, invite: the daemon's port, when it is not the one daemon.url names (key http.port; default 8470).")
    var port: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (key log.level).") var logLevel: String?

    var flags: [String: String] {
        var flags: [String: String] = [:]
        if let dataDirectory { flags["data_dir"] = dataDirectory }
        if let bind { flags["http.bind"] = bind }
        if let port { flags["http.port"] = port }
        if let logLevel { flags["log.level"] = logLevel }
        return flags
    }

    /// Configuration from defaults < file < environment < these flags; a bad key stops here.
    func load(extraDefaults: [String: String] = [:]) throws -> NodeConfiguration {
        let environment = ProcessInfo.processInfo.environment
        for name in NodeConfiguration.ignoredVariables(in: environment) {
            FileHandle.standardError.write(Data("edgenode: warning: ignoring \(name): not a configuration variable (docs/configuration.md lists them)\n".utf8))
        }
        do {
            return try NodeConfiguration.load(file: configFile, environment: environment, flags: extraDefaults.merging(flags) { $1 })
        } catch {
            throw CommandFailure("configuration error: \(error)")
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon: the replica, the booking domain and the local JSON API.",
        discussion: """
            Stops gracefully on SIGTERM or SIGINT: in-flight requests finish, the database is closed cleanly.
            With --demo it creates a throw-away data directory with a demo salon in Atyrau and listens on 127.0.0.1 \
            (unless --bind or EDGENODE_HTTP_BIND says otherwise), neither announced over mDNS nor syncing with other boxes; \
            it prints the web app's address first.
            Otherwise it announces itself over mDNS (Avahi) and syncs with the business's other boxes it hears of \
            and with the static peers of sync.peers (see docs/configuration.md).
            """
    )

    @OptionGroup var options: NodeOptions
    @Flag(help: "Serve a throw-away demo shop (a salon in Atyrau) from a temporary data directory.") var demo = false
    @Option(name: .customLong("demo-seed"), help: "Seed of the demo data.") var demoSeed: UInt64 = 2026

    func run() async throws {
        // The demo stays on this machine: loopback only, not announced on the network.
        var configuration = try options.load(extraDefaults: demo ? ["http.bind": "127.0.0.1", "discovery.enabled": "false", "sync.lan": "false"] : [:])
        var temporary: String?
        if demo && options.dataDirectory == nil {
            let path = NSTemporaryDirectory() + "edgenode-demo-" + UUID().uuidString.prefix(8).lowercased()
            configuration.dataDirectory = path
            temporary = path
        }
        configuration.messaging.demo = demo
        let logger = LogSetup.bootstrap(configuration)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }

        let runtime: EdgeNodeRuntime
        var banner = ""
        var demoPairing = ""
        var demoOwner = ("", "")
        if demo {
            let clock = DemoClock()
            let directory = ReplicaDirectory(path: configuration.dataDirectory)
            if !directory.isInitialised {
                let provisioning = Provisioning(branchName: "Atyrau Beauty — Satpayev St", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Aigerim Sultanova")
                let result = try provisioning.run(in: directory, physicalClock: clock.physicalClock, logger: logger)
                runtime = try EdgeNodeRuntime(configuration: configuration, logger: logger, registry: registry, physicalClock: clock.physicalClock)
                let started = Date()
                let summary = try await DemoShop.seed(runtime.shop, branchID: result.branchID, clock: clock, seed: demoSeed)
                // This box sends the demo branch's client messages (to its own log: docs/messaging.md).
                _ = try await runtime.shop.messaging.takeSending(branch: result.branchID, takeOver: true, as: .system("edgenode serve --demo"))
                let frontDesk = try await runtime.shop.access.registerDevice(name: "Front desk tablet (demo)", role: .frontDesk, pairedBy: "edgenode serve --demo")
                let kiosk = try await runtime.shop.access.registerDevice(name: "Kiosk (demo)", role: .kiosk, pairedBy: "edgenode serve --demo")
                let console = (try? String(contentsOfFile: result.consoleTokenPath, encoding: .utf8)) ?? ""
                logger.info("demo shop seeded", metadata: ["seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))",
                                                           "clients": "\(summary.clients)", "appointments": "\(summary.pastAppointments + summary.futureAppointments)"])
                banner = """
                    Demo shop: \(summary.staff) staff, \(summary.services) services in \(summary.categories) categories, \(summary.clients) clients, \
                    \(summary.pastAppointments) past and \(summary.futureAppointments) upcoming appointments; \(summary.products) products in stock at two \
                    branches, loyalty points on, the coupon WELCOME10 and a gift card.
                    Data directory (deleted on exit): \(directory.path)
                    Device tokens (send as `Authorization: Bearer <token>`):
                      owner console  \(console)
                      front desk     \(frontDesk.token)
                      kiosk          \(kiosk.token)
                    Owner PIN for \(provisioning.ownerName): \(result.ownerPIN)
                    """
                demoPairing = "\(Self.executablePath) pair <code> --role owner --data-dir \(directory.path)"
                demoOwner = (provisioning.ownerName, result.ownerPIN)
            } else {
                runtime = try EdgeNodeRuntime(configuration: configuration, logger: logger, registry: registry, physicalClock: clock.physicalClock)
            }
        } else {
            runtime = try EdgeNodeRuntime(configuration: configuration, logger: logger, registry: registry)
        }
        let bind = configuration.http.bind
        let everywhere = bind == "0.0.0.0" || bind == "::"
        let host = everywhere ? "127.0.0.1" : (bind.contains(":") ? "[\(bind)]" : bind)
        let intro = banner
        let (pairing, owner) = (demoPairing, demoOwner)
        try await runtime.run { port in
            guard !intro.isEmpty else { return }
            let url = "http://\(host):\(port)"
            let tablets = everywhere
                ? "On a tablet on this network open http://<this machine's address>:\(port)/"
                : "Tablets on the shop's network: start it with EDGENODE_HTTP_BIND=0.0.0.0 and open http://<this machine's address>:\(port)/"
            FileHandle.standardOutput.write(Data("""
                Web app: \(url)/
                  Open it in a browser: it shows a six-digit code. Approve it with
                    \(pairing)
                  (or --role front_desk, staff, kiosk), then sign in as \(owner.0) with PIN \(owner.1).
                  \(tablets)

                \(intro)
                API: \(url)   (OpenAPI: \(url)/openapi.json)
                Try:
                  curl -s -H "Authorization: Bearer <front desk token>" "\(url)/v1/services"
                  curl -s -N -H "Authorization: Bearer <front desk token>" "\(url)/v1/events"
                Stop with Ctrl-C.

                """.utf8))
        }
    }
}

extension Serve {
    /// This program's path, for the commands the demo's banner suggests.
    static var executablePath: String {
        let argument = CommandLine.arguments.first ?? "edgenode"
        guard argument.contains("/") else { return argument }
        return URL(fileURLWithPath: argument).standardizedFileURL.path
    }
}

struct Pair: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Approve (or reject) a tablet that asked to pair: it shows a six-digit code.",
        discussion: "Talks to the running daemon on this box with the box console's token (console.token in the data directory)."
    )

    @OptionGroup var options: NodeOptions
    @Argument(help: "The six-digit code the tablet shows. Without it, lists the pending requests.") var code: String?
    @Option(help: "The device's role: owner, manager, staff, front_desk or kiosk.") var role: String = "front_desk"
    @Flag(help: "Reject the request instead of approving it.") var reject = false

    func run() async throws {
        let configuration = try options.load()
        let client = try ConsoleClient(configuration: configuration, explicit: (options.bind, options.port))
        guard let code else {
            let (status, body) = try client.request("GET", "/v1/pairing-requests")
            guard status == 200 else { throw CommandFailure(client.describe(status, body)) }
            let items = (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["items"] as? [[String: Any]] ?? []
            if items.isEmpty { print("No tablet is waiting to pair. On the tablet, ask to pair; it shows a six-digit code.") }
            for item in items {
                print("\(item["code"] ?? "")  \(item["device_name"] ?? "")  from \(item["remote"] ?? "")  until \(item["expires_at"] ?? "")")
            }
            return
        }
        guard Role(rawValue: role) != nil else { throw CommandFailure("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))") }
        let payload = reject ? ["code": code] : ["code": code, "role": role]
        let (status, body) = try client.request("POST", reject ? "/v1/pairing-requests/reject" : "/v1/pairing-requests/approve", json: payload)
        guard status == 200 else { throw CommandFailure(client.describe(status, body)) }
        let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
        print(reject ? "Rejected \(object["device_name"] ?? code)." : "Approved \(object["device_name"] ?? code) as \(role). The tablet collects its token now.")
    }
}

/// Logging to standard output (journald picks it up), as text or one JSON object per line.
enum LogSetup {
    static func bootstrap(_ configuration: NodeConfiguration) -> Logger {
        let level = configuration.loggerLevel
        let json = configuration.log.format == "json"
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "edgenode")
    }
}

/// One JSON object per line: time, level, label, message and metadata.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: String] = ["time": Instant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)).description,
                                        "level": event.level.rawValue, "label": label, "message": "\(event.message)"]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { object[key] = "\(value)" }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}
