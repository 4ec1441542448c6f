import Discovery
import Domain
import FiscalOutbox
import FiscalWebkassa
import MessagingProviders
import Foundation
import HTTPProblem
import Hummingbird
import LocalAPI
import Logging
import Metrics
import OutboundHTTP
import NIOCore
import Prometheus
import LANSync
import RelayUplink
import OutboundHTTP
import Replication
import ServiceLifecycle
import Synchronization
import SystemdNotify

/// A running box: the replica store, the booking domain, housekeeping and the HTTP API, as
/// services in one `ServiceGroup` that starts them in that order and stops them in reverse.
public final class EdgeNodeRuntime: Sendable {
    public let configuration: NodeConfiguration
    public let store: ReplicaStore
    public let shop: Shop
    public let api: LocalAPI
    let logger: Logger
    let registry: PrometheusCollectorRegistry
    let state = NodeState()
    let startedAt = Date()
    /// The LAN peers this box knows (status, API).
    public let peers = PeerDirectory()
    let discovery = DiscoveryHandle()
    /// The uplink to the cloud relay; nil when `relay.url` is empty.
    public let uplink: UplinkStatus?
    /// Wakes the service that follows Kaspi QR payments (a new QR, a refund, a cancel).
    let qrWake = WakeSignal()
    /// The fiscal outbox while the node runs (with `fiscal.adapter` set); woken after each sale and refund.
    let fiscalOutbox = FiscalOutboxSlot()
    /// The fiscal register's settings (`fiscal.adapter = webkassa`), with its secrets read from their files.
    let webkassa: WebkassaSettings?
    /// The channels this box sends client messages by (`messaging.*`).
    let messagingSetup: MessagingSetup
    /// Wakes the messaging service (a booking, a change, a resend).
    let messagingWake = WakeSignal()
    /// The message dispatcher while the node runs.
    let dispatcher = DispatcherSlot()

    /// Opens the replica in `configuration.dataDirectory` (it must have been initialised).
    public init(configuration: NodeConfiguration, logger: Logger, registry: PrometheusCollectorRegistry, physicalClock: PhysicalClock = .system) throws {
        let directory = ReplicaDirectory(path: configuration.dataDirectory)
        var configuration = configuration
        // A box that joined with an invitation remembers its relay (docs/configuration.md, relay.url).
        configuration.relay = StoredRelayURL.effective(configuration.relay, directory: directory)
        self.configuration = configuration
        self.logger = logger
        self.registry = registry
        let uplink = configuration.relay.url.isEmpty ? nil
            : UplinkStatus(url: configuration.relay.url, time: RelayTime(local: { Int64(physicalClock.now()) }))
        self.uplink = uplink
        guard directory.isInitialised else {
            throw CommandFailure("\(directory.path) is not initialised; run `edgenode init --data-dir \(directory.path)` first (see docs/install.md)")
        }
        store = try directory.openStore(logger: logger) { $0.physicalClock = physicalClock }
        shop = try Shop(store: store, logger: logger)
        var apiConfiguration = LocalAPIConfiguration()
        apiConfiguration.maxBodyBytes = configuration.http.maxBodyBytes
        apiConfiguration.access.pinAttempts = configuration.auth.pinAttempts
        apiConfiguration.access.lockoutMinutes = configuration.auth.lockoutMinutes
        apiConfiguration.access.pairingCodeMinutes = configuration.auth.pairingCodeMinutes
        apiConfiguration.access.sessionHours = configuration.auth.sessionHours
        apiConfiguration.eventRetentionDays = configuration.events.retentionDays
        apiConfiguration.idempotencyRetentionHours = configuration.idempotency.retentionHours
        apiConfiguration.openAPIDocument = OpenAPIDocument.json
        let store = self.store
        let shop = self.shop
        let state = self.state
        let startedAt = self.startedAt
        let directoryPath = directory.path
        apiConfiguration.isReady = { state.ready.load(ordering: .relaxed) }
        let lanPeers = self.peers
        apiConfiguration.metricsText = { [registry] in
            NodeMetrics.update(store: store, shop: shop, databasePath: directory.databasePath, peers: lanPeers, uplink: uplink)
            return registry.emitToString()
        }
        let peers = self.peers
        let discovery = self.discovery
        apiConfiguration.status = {
            try NodeStatus.document(store: store, shop: shop, dataDirectory: directoryPath, startedAt: startedAt,
                                    peers: peers, discovery: discovery.current?.state, uplink: uplink)
        }
        if configuration.fiscal.adapter == "webkassa" {
            let settings = configuration.fiscal.webkassa
            func secret(_ path: String, _ key: String) throws -> String {
                guard !path.isEmpty else { throw CommandFailure("fiscal.adapter = webkassa needs \(key) (a file holding the secret)") }
                do {
                    return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                } catch {
                    throw CommandFailure("\(key): cannot read \(path): \(error.localizedDescription)")
                }
            }
            let webkassa = WebkassaSettings(url: settings.url, apiKey: try secret(settings.apiKeyFile, "fiscal.webkassa.api_key_file"), login: settings.login,
                                            password: try secret(settings.passwordFile, "fiscal.webkassa.password_file"), cashbox: settings.cashbox,
                                            requestTimeout: .seconds(settings.timeoutSeconds))
            // The register's own checks of its settings (URL, cashbox, …), before the box serves.
            guard webkassa.problems.isEmpty else { throw CommandFailure("fiscal.webkassa: \(webkassa.problems.joined(separator: "; "))") }
            self.webkassa = webkassa
        } else {
            webkassa = nil
        }
        var money = MoneyConfiguration()
        money.fiscalRequired = webkassa != nil
        money.kaspiQR = configuration.payments.kaspiQR && uplink != nil
        // Card and Kaspi refunds need the internet: with a relay configured, "online" is the
        // uplink being connected; a box without a relay cannot tell and does not refuse.
        money.isOnline = { uplink?.current.connected ?? true }
        let qrWake = self.qrWake
        let fiscalOutbox = self.fiscalOutbox
        money.wakeQR = { qrWake.signal() }
        money.wakeFiscal = { fiscalOutbox.signal() }
        apiConfiguration.money = money
        let messagingSetup = try MessagingSetup(configuration.messaging, demo: configuration.messaging.demo)
        self.messagingSetup = messagingSetup
        var messaging = MessagingConfiguration()
        messaging.providers = messagingSetup.providers
        let messagingWake = self.messagingWake
        messaging.wake = { messagingWake.signal() }
        apiConfiguration.messaging = messaging
        api = LocalAPI(shop: shop, configuration: apiConfiguration, logger: logger)
    }

    /// The Kaspi QR gateway (`payments.kaspi_qr` with a relay): the relay's Kaspi gateway.
    func qrGateway(_ outbound: any OutboundHTTP) -> (any QRPaymentGateway)? {
        guard configuration.payments.kaspiQR, let uplink else { return nil }
        return RelayKaspiGateway(relayURL: configuration.relay.url, caFile: configuration.relay.caFile.isEmpty ? nil : configuration.relay.caFile,
                                 identity: store.identity, business: store.business, time: uplink.time, http: outbound)
    }

    /// The port the server listens on (after it started; useful with port 0); 0 before.
    public var port: Int { state.listening.port }

    /// Returns the port once the server listens (for tests and benchmarks that start a node in
    /// process).
    /// - Throws: `NotListening` when `run()` ended before the server listened.
    public func waitUntilListening() async throws -> Int { try await state.listening.waitUntilListening() }

    /// Runs until SIGTERM/SIGINT (or the task is cancelled), then shuts down gracefully.
    ///
    /// The box's outbound HTTP client (to its LAN peers and the relay) lives as long as this call:
    /// made here, handed to the services that call out, and shut down once every service stopped.
    public func run(onReady: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let outbound = HTTPClientOutbound(logger: logger)
        do {
            try await run(outbound: outbound, onReady: onReady)
        } catch {
            try? await outbound.shutdown()
            throw error
        }
        try await outbound.shutdown()
    }

    private func run(outbound: HTTPClientOutbound, onReady: @escaping @Sendable (Int) -> Void) async throws {
        let router = api.makeRouter()
        PeerSyncServer(shop: shop, logger: logger, directory: peers).register(on: router)
        if let whatsapp = messagingSetup.whatsapp { WhatsAppWebhook(appSecret: whatsapp.appSecret, shop: shop, logger: logger).register(on: router) }
        let notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        let logger = self.logger
        let state = self.state
        let api = self.api
        let bind = configuration.http.bind
        let directory = ReplicaDirectory(path: configuration.dataDirectory)
        var limits = HTTPEdgeLimits()
        limits.headerTimeout = .seconds(configuration.http.headerTimeoutSeconds)
        limits.idleTimeout = .seconds(configuration.http.idleTimeoutSeconds)
        limits.maxConnectionsPerAddress = configuration.http.maxConnectionsPerAddress
        let application = Application(
            router: router,
            server: .edge(limits, logger: logger),
            configuration: .init(address: .hostname(bind == "localhost" ? "127.0.0.1" : bind, port: configuration.http.port), serverName: "edgenode"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                state.ready.store(true, ordering: .relaxed)
                // Where local commands (status, invite, pair) find this daemon, whatever port it got.
                do { try DaemonAddress.write(bind: bind, port: port, to: directory) } catch {
                    logger.warning("cannot record the daemon's address for local commands", metadata: ["error": "\(error)"])
                }
                state.listening.listening(on: port)
                logger.notice("edgenode listening on http://\(bind == "0.0.0.0" ? "127.0.0.1" : bind):\(port)", metadata: ["port": "\(port)"])
                try? notifier?.notify("READY=1\nSTATUS=serving on port \(port)")
                onReady(port)
            },
            logger: logger
        )
        var money: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let webkassa {
            let outbox = FiscalOutbox(queue: shop.money, register: try WebkassaRegister(configuration: webkassa, http: outbound, logger: logger), logger: logger)
            fiscalOutbox.set(outbox)
            money.append(.init(service: outbox))
        }
        if let gateway = qrGateway(outbound) {
            money.append(.init(service: QRPaymentService(processor: QRPaymentProcessor(payments: shop.money, gateway: gateway), wake: qrWake, shop: shop, logger: logger)))
        }
        let transports = messagingSetup.transports(outbound: outbound, logger: logger)
        let dispatcher = MessageDispatcher(shop: shop, transports: transports, perSecond: messagingSetup.perSecond, logger: logger)
        self.dispatcher.set(dispatcher)
        money.append(.init(service: MessagingService(dispatcher: dispatcher, wake: messagingWake, logger: logger)))
        // Moves escrowed balances (coupon uses, gift cards, points) that other boxes asked this box for.
        money.append(.init(service: EscrowService(shop: shop, logger: logger)))
        if let bot = transports[.telegram] as? TelegramBot {
            money.append(.init(service: TelegramPollService(source: bot, bot: bot, shop: shop, wake: messagingWake, logger: logger)))
        }
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: StoreService(store: store, logger: logger)),
            .init(service: HousekeepingService(shop: shop, configuration: configuration, logger: logger)),
            .init(service: WatchdogService(notifier: notifier, logger: logger)),
            .init(service: application),
            .init(service: LANService(runtime: self, client: outbound)),
            .init(service: RelayUplinkService(runtime: self, client: outbound)),
        ] + money + [
            // Last, so it is the first told to stop: not ready, STOPPING=1, event streams end.
            .init(service: APIShutdownService(api: api, state: state, notifier: notifier)),
        ]
        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGraceSeconds)
        defer {
            DaemonAddress.remove(directory)
            state.listening.stopped("edgenode stopped")
        }
        try await ServiceGroup(configuration: groupConfiguration).run()
    }
}

/// The running discovery, if any, for the status document.
final class DiscoveryHandle: Sendable {
    private let value = Mutex<AvahiDiscovery?>(nil)
    var current: AvahiDiscovery? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// LAN discovery and peer sync, once the server listens (the announcement carries its port).
struct LANService: Service {
    let runtime: EdgeNodeRuntime
    let client: any OutboundHTTP

    func run() async throws {
        let configuration = runtime.configuration
        guard configuration.sync.lan || configuration.discovery.enabled else {
            try? await gracefulShutdown()
            return
        }
        // Until the server listens; a shutdown before then cancels the wait.
        guard (try? await cancelWhenGracefulShutdown { try await runtime.waitUntilListening() }) != nil else { return }
        let store = runtime.store
        let shop = runtime.shop
        @Sendable func instanceName() -> String {
            var name = configuration.discovery.name
            if name.isEmpty, let home = shop.homeBranch, let branch = try? shop.branch(home) { name = branch.name }
            if name.isEmpty, let branchID = store.trustStore.certificates[store.site]?.last?.branch,
               let id = BranchID(branchID), let branch = try? shop.branch(id) { name = branch.name }
            return name.isEmpty ? "edgenode \(store.site.hex.prefix(6))" : name
        }
        var discovery: AvahiDiscovery?
        if configuration.discovery.enabled {
            let name = instanceName()
            let announcement = Announcement(name: name, port: UInt16(runtime.port), txt: LANAnnouncement.txt(for: store.identity.publicKey))
            discovery = AvahiDiscovery(announcement: announcement, subtype: LANAnnouncement.subtype(for: store.business),
                                       browse: configuration.sync.lan, logger: runtime.logger,
                                       retryMaximumMilliseconds: UInt32(configuration.discovery.retryMaxSeconds) * 1000)
        }
        let staticPeers = configuration.sync.lan ? configuration.sync.peers.compactMap(PeerAddress.init) : []
        let service = PeerSyncService(shop: shop, directory: runtime.peers, staticPeers: staticPeers, discovery: discovery,
                                      ownFingerprint: LANAnnouncement.fingerprint(of: store.identity.publicKey), logger: runtime.logger, client: client)
        runtime.discovery.current = discovery
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await service.run() }
            // A box that joined knows its branch's name only once it synced, and an owner may rename
            // the branch: follow it (unless discovery.name fixes the name).
            if let discovery, configuration.discovery.name.isEmpty {
                group.addTask {
                    for await _ in shop.changeFeed.changes().cancelOnGracefulShutdown() {
                        let name = instanceName()
                        if name != discovery.announcedName { discovery.rename(to: name) }
                    }
                }
            }
        }
    }
}

/// The uplink to the cloud relay when `relay.url` is set (docs/relay-protocol.md §11).
struct RelayUplinkService: Service {
    let runtime: EdgeNodeRuntime
    let client: any OutboundHTTP

    func run() async throws {
        let configuration = runtime.configuration
        guard let status = runtime.uplink, let endpoint = RelayEndpoint(configuration.relay) else {
            if !configuration.relay.url.isEmpty {
                runtime.logger.error("relay.url is not http(s)://host[:port][/path]; the uplink is off", metadata: ["relay.url": "\(configuration.relay.url)"])
                runtime.uplink?.update { $0.state = "misconfigured" }
            }
            try? await gracefulShutdown()
            return
        }
        var service = UplinkService(shop: runtime.shop, files: UplinkFiles(directory: ReplicaDirectory(path: configuration.dataDirectory)),
                                    endpoint: endpoint, status: status, logger: runtime.logger)
        service.waitSeconds = configuration.relay.pullWaitSeconds
        service.client = client
        try await service.run()
        // Stay until the box shuts down; a service that returns early stops the box.
        try? await gracefulShutdown()
    }
}

/// Owns the replica store: on shutdown (after every later service stopped) it folds the WAL
/// into the database so the files are clean.
struct StoreService: Service {
    let store: ReplicaStore
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        do {
            try store.checkpoint()
            logger.info("replica store closed cleanly")
        } catch {
            logger.warning("checkpoint at shutdown failed; SQLite recovers from the WAL at the next start", metadata: ["error": "\(error)"])
        }
    }
}

/// Periodic upkeep: record the certificates and revocations `certify` and `revoke` queued while
/// the daemon held the replica, delete the records of invitations expired a week ago, expire
/// holds, let the home replica review requests, prune the event log and stored idempotent responses.
struct HousekeepingService: Service {
    let shop: Shop
    let configuration: NodeConfiguration
    let logger: Logger

    func run() async throws {
        // Also on cancellation: `try?` swallows the sleep's CancellationError, so a loop that
        // watched only for graceful shutdown would spin and never let the service group end.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let directory = ReplicaDirectory(path: configuration.dataDirectory)
            // Files and the replica: blocking work, on the store's threads rather than Swift's cooperative ones.
            let (shop, logger) = (self.shop, self.logger)
            let pruned = try? await shop.store.perform {
                _ = IssuedRecords.importQueued(into: shop.store, directory: directory, logger: logger)
                return InvitationBook(directory: directory).prune(expiredBefore: nowMilliseconds() - InvitationBook.keptAfterExpiry)
            }
            if let pruned, pruned > 0 { logger.info("deleted the records of expired invitations", metadata: ["count": "\(pruned)"]) }
            do {
                let expired = try await shop.calendar.expireHolds()
                if expired > 0 { logger.info("expired held appointments", metadata: ["count": "\(expired)"]) }
                try await shop.calendar.reviewRequests()
                try await shop.events.prune(before: shop.now.adding(minutes: -24 * 60 * configuration.events.retentionDays))
                try await IdempotencyStore(shop: shop).prune(before: shop.now.adding(minutes: -60 * configuration.idempotency.retentionHours))
            } catch {
                logger.warning("housekeeping failed; will retry", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(30)) }
        }
    }
}

/// Sends `WATCHDOG=1` at half the interval systemd asked for.
struct WatchdogService: Service {
    let notifier: SystemdNotifier?
    let logger: Logger

    func run() async throws {
        guard let notifier, let interval = SystemdNotifier.watchdogInterval(environment: ProcessInfo.processInfo.environment) else {
            try? await gracefulShutdown()
            return
        }
        logger.info("systemd watchdog enabled", metadata: ["interval": "\(interval)"])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? notifier.notify("WATCHDOG=1")
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval / 2) }
        }
    }
}

/// Whether the node serves, and on which port.
final class NodeState: Sendable {
    let ready = Atomic<Bool>(false)
    let listening = ListeningPort()
}

/// Started after the HTTP server, so it is the first told to shut down: marks the node not
/// ready, tells systemd, and ends live event streams so the server's in-flight requests finish.
struct APIShutdownService: Service {
    let api: LocalAPI
    let state: NodeState
    let notifier: SystemdNotifier?

    func run() async throws {
        try? await gracefulShutdown()
        state.ready.store(false, ordering: .relaxed)
        try? notifier?.notify("STOPPING=1")
        api.beginShutdown()
    }
}
