import CAvahi
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Announces this box and browses for others with libavahi-client (DNS-SD over mDNS).
///
/// Everything Avahi does runs on Avahi's own poll thread; callbacks hold its lock, and the
/// few calls from other threads take it. Results are published to `endpoints` and `state`
/// (behind a mutex) and to the streams of `updates()`.
///
/// Robustness (Avahi 0.8):
/// - no system D-Bus: `avahi_client_new` fails even with `AVAHI_CLIENT_NO_FAIL`, so we retry
///   on our own timer, backing off from `retryMinimum` to `retryMaximum`;
/// - D-Bus but no avahi-daemon: the `NO_FAIL` client waits in `CONNECTING` and registers when
///   the daemon appears;
/// - avahi-daemon (or D-Bus) goes away: the client reports `FAILURE`; we free it with its group
///   and browser and build a new one, which re-announces.
///
/// Each distinct problem is logged once as a warning, and recovery once as a notice.
public final class AvahiDiscovery: @unchecked Sendable {
    /// The DNS-SD service type every box announces.
    public static let serviceType = "_edgenode._tcp"

    private var announcement: Announcement?
    let subtype: String?
    let browseType: String?
    let logger: Logger
    let retryMinimum: UInt32
    let retryMaximum: UInt32

    private struct Published {
        var state: DiscoveryState = .stopped
        var endpoints: [String: DiscoveredEndpoint] = [:]
        var listeners: [Int: AsyncStream<[DiscoveredEndpoint]>.Continuation] = [:]
        var nextListener = 0
        var reportedProblem: String?
    }

    private let published = Mutex(Published())

    // Touched only on Avahi's poll thread, or with its lock held.
    private var poll: OpaquePointer?
    private var client: OpaquePointer?
    private var group: OpaquePointer?
    private var browser: OpaquePointer?
    private var retryTimer: OpaquePointer?
    /// Fires if an announcement has not been established a while after it was committed.
    private var probeTimer: OpaquePointer?
    /// How long an announcement may stay `registering` before it is withdrawn and made again.
    static let probeWatchdogMilliseconds: UInt32 = 10_000
    private var currentName: String
    private var retryDelay: UInt32
    private var stopped = false
    /// Instances the browser lists whose resolution failed (it times out, e.g. while a peer
    /// probes again after its link came back): asked again on `resolveTimer` until they answer
    /// or the browser drops them. The browser reports an instance once, so without this a peer
    /// whose first resolution failed would stay unknown for as long as it is listed.
    private var unresolved: [String: Unresolved] = [:]
    private var resolveTimer: OpaquePointer?
    private var resolveDelay: UInt32 = 1_000
    /// The most a failed resolution waits before it is asked again.
    static let resolveRetryMaximumMilliseconds: UInt32 = 15_000

    private struct Unresolved {
        let interface: AvahiIfIndex
        let proto: AvahiProtocol
        let name: String
        let type: String
        let domain: String?
    }

    /// - Parameters:
    ///   - announcement: what to announce, or nil to only browse.
    ///   - subtype: a DNS-SD subtype label such as `_3fa2c1…` announced with the service and, when
    ///     `browse` is true, the only instances browsed for (boxes of other businesses announce
    ///     other subtypes).
    public init(announcement: Announcement?, subtype: String?, browse: Bool, logger: Logger,
                retryMinimumMilliseconds: UInt32 = 1_000, retryMaximumMilliseconds: UInt32 = 30_000) {
        self.announcement = announcement
        self.subtype = subtype
        self.logger = logger
        self.retryMinimum = retryMinimumMilliseconds
        self.retryMaximum = max(retryMinimumMilliseconds, retryMaximumMilliseconds)
        self.retryDelay = retryMinimumMilliseconds
        self.currentName = announcement?.labelName ?? ""
        if browse {
            browseType = subtype.map { "\($0)._sub.\(Self.serviceType)" } ?? Self.serviceType
        } else {
            browseType = nil
        }
    }

    deinit { stop() }

    /// The current state.
    public var state: DiscoveryState { published.withLock { $0.state } }

    /// The instances currently heard (this box's own excluded), by name then address.
    public var endpoints: [DiscoveredEndpoint] {
        published.withLock { $0.endpoints.values.sorted { ($0.name, $0.address) < ($1.name, $1.address) } }
    }

    /// A stream of the endpoint list, yielded whenever it changes (newest only).
    public func updates() -> AsyncStream<[DiscoveredEndpoint]> {
        let (stream, continuation) = AsyncStream<[DiscoveredEndpoint]>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let (id, current) = published.withLock { published in
            let id = published.nextListener
            published.nextListener += 1
            published.listeners[id] = continuation
            return (id, published.endpoints.values.sorted { ($0.name, $0.address) < ($1.name, $1.address) })
        }
        continuation.onTermination = { [weak self] _ in self?.published.withLock { _ = $0.listeners.removeValue(forKey: id) } }
        continuation.yield(current)
        return stream
    }

    /// Starts Avahi's poll thread and connects (or keeps retrying to). Never fails for want of
    /// D-Bus or avahi-daemon; throws only if the poll thread cannot start.
    public func start() throws(DiscoveryError) {
        guard poll == nil else { return }
        guard let poll = avahi_threaded_poll_new() else { throw DiscoveryError("cannot create Avahi's poll loop") }
        self.poll = poll
        stopped = false
        setState(.starting)
        avahi_threaded_poll_lock(poll)
        connect()
        avahi_threaded_poll_unlock(poll)
        guard avahi_threaded_poll_start(poll) >= 0 else {
            avahi_threaded_poll_free(poll)
            self.poll = nil
            throw DiscoveryError("cannot start Avahi's poll thread")
        }
    }

    /// Withdraws the announcement and stops browsing. Must not be called from an Avahi callback.
    public func stop() {
        guard let poll else { return }
        avahi_threaded_poll_stop(poll)
        stopped = true
        tearDown()
        if let retryTimer {
            edgenode_avahi_timeout_free(avahi_threaded_poll_get(poll), retryTimer)
            self.retryTimer = nil
        }
        cancelProbeWatchdog()
        avahi_threaded_poll_free(poll)
        self.poll = nil
        let listeners = published.withLock { published in
            published.state = .stopped
            published.endpoints = [:]
            defer { published.listeners = [:] }
            return Array(published.listeners.values)
        }
        for listener in listeners { listener.finish() }
    }

    /// The name announced (before Avahi's collision suffixes).
    public var announcedName: String? {
        guard let poll else { return announcement?.labelName }
        avahi_threaded_poll_lock(poll)
        defer { avahi_threaded_poll_unlock(poll) }
        return announcement?.labelName
    }

    /// Announces under another name from now on (e.g. once a new box learnt its branch's name).
    public func rename(to name: String) {
        guard let poll else { return }
        avahi_threaded_poll_lock(poll)
        defer { avahi_threaded_poll_unlock(poll) }
        guard var announcement, announcement.name != name else { return }
        announcement.name = name
        self.announcement = announcement
        currentName = announcement.labelName
        logger.info("mDNS: renaming", metadata: ["name": "\(currentName)"])
        if let group { avahi_entry_group_reset(group) }
        if let client, avahi_client_get_state(client) == AVAHI_CLIENT_S_RUNNING { register(client) }
    }

    // MARK: Client lifecycle (poll thread)

    private var userdata: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    fileprivate static func from(_ userdata: UnsafeMutableRawPointer?) -> AvahiDiscovery {
        Unmanaged<AvahiDiscovery>.fromOpaque(userdata!).takeUnretainedValue()
    }

    private func connect() {
        guard let poll, !stopped else { return }
        var error: Int32 = 0
        let created = avahi_client_new(avahi_threaded_poll_get(poll), AVAHI_CLIENT_NO_FAIL, { client, state, userdata in
            AvahiDiscovery.from(userdata).clientChanged(client, state)
        }, userdata, &error)
        guard let created else {
            // No system D-Bus: Avahi gives up at once even with NO_FAIL. Retry on our own.
            let reason = String(cString: avahi_strerror(error))
            setState(.unavailable(reason))
            report(problem: "mDNS unavailable: cannot reach the system D-Bus (\(reason)); retrying in the background. The API keeps serving; static peers still sync.")
            scheduleRetry()
            return
        }
        client = created
    }

    private func scheduleRetry() {
        guard let poll, !stopped, retryTimer == nil else { return }
        let delay = retryDelay
        retryDelay = min(retryMaximum, retryDelay * 2)
        retryTimer = edgenode_avahi_timeout_new(avahi_threaded_poll_get(poll), delay, { _, userdata in
            AvahiDiscovery.from(userdata).retry()
        }, userdata)
    }

    private func retry() {
        if let retryTimer, let poll {
            edgenode_avahi_timeout_free(avahi_threaded_poll_get(poll), retryTimer)
            self.retryTimer = nil
        }
        tearDown()
        setState(.starting)
        connect()
    }

    /// Frees the client with its group and browser (resolvers are freed as they answer).
    private func tearDown() {
        cancelProbeWatchdog()
        cancelResolveRetry()
        unresolved = [:]
        if let group { avahi_entry_group_free(group) }
        group = nil
        if let browser { avahi_service_browser_free(browser) }
        browser = nil
        if let client { avahi_client_free(client) }
        client = nil
        let changed = published.withLock { published in
            defer { published.endpoints = [:] }
            return !published.endpoints.isEmpty
        }
        if changed { publishEndpoints() }
    }

    private func clientChanged(_ client: OpaquePointer?, _ state: AvahiClientState) {
        guard let client else { return }
        switch state {
        case AVAHI_CLIENT_S_RUNNING:
            retryDelay = retryMinimum
            recovered()
            if announcement != nil { register(client) } else { setState(.browsing) }
            if browser == nil { startBrowsing(client) }
        case AVAHI_CLIENT_S_COLLISION, AVAHI_CLIENT_S_REGISTERING:
            // The host name is being (re-)registered; our records follow once it is running.
            if let group { avahi_entry_group_reset(group) }
            setState(.registering)
        case AVAHI_CLIENT_CONNECTING:
            setState(.waitingForDaemon)
            report(problem: "mDNS waiting: the system D-Bus is up but avahi-daemon is not running; the box announces itself once it starts. The API keeps serving; static peers still sync.")
        case AVAHI_CLIENT_FAILURE:
            let reason = String(cString: avahi_strerror(avahi_client_errno(client)))
            setState(.unavailable(reason))
            report(problem: "mDNS lost: avahi-daemon or D-Bus went away (\(reason)); reconnecting in the background. The API keeps serving; static peers still sync.")
            // Free it outside its own callback, then build a new client (which re-announces).
            scheduleRetry()
        default:
            break
        }
    }

    // MARK: Announcing

    private func register(_ client: OpaquePointer) {
        guard let announcement else { return }
        if group == nil {
            group = avahi_entry_group_new(client, { group, state, userdata in
                AvahiDiscovery.from(userdata).groupChanged(group, state)
            }, userdata)
            guard group != nil else {
                logger.warning("mDNS: cannot create an entry group", metadata: ["error": "\(String(cString: avahi_strerror(avahi_client_errno(client))))"])
                return
            }
        }
        guard let group, avahi_entry_group_is_empty(group) != 0 else { return }
        // Boxes of one branch share its name: skip names already heard rather than collide
        // (a collision makes avahi-daemon flush the other box's records from its cache).
        let heard = Set(published.withLock { $0.endpoints.values.map(\.name) })
        while heard.contains(currentName) { nextAlternativeName() }
        var list: UnsafeMutablePointer<AvahiStringList>? = nil
        for entry in announcement.txt.reversed() {  // avahi_string_list_add prepends
            list = avahi_string_list_add(list, "\(entry.key)=\(entry.value)")
        }
        defer { avahi_string_list_free(list) }
        while true {
            var result = avahi_entry_group_add_service_strlst(group, AvahiIfIndex(AVAHI_IF_UNSPEC), AvahiProtocol(AVAHI_PROTO_UNSPEC), AvahiPublishFlags(0), currentName,
                                                              Self.serviceType, nil, nil, announcement.port, list)
            if result == Int32(AVAHI_ERR_COLLISION) {
                nextAlternativeName()
                continue
            }
            if result >= 0, let subtype {
                result = avahi_entry_group_add_service_subtype(group, AvahiIfIndex(AVAHI_IF_UNSPEC), AvahiProtocol(AVAHI_PROTO_UNSPEC), AvahiPublishFlags(0), currentName,
                                                               Self.serviceType, nil, "\(subtype)._sub.\(Self.serviceType)")
            }
            if result >= 0 { result = avahi_entry_group_commit(group) }
            if result < 0 {
                logger.warning("mDNS: cannot announce the service", metadata: ["name": "\(currentName)", "error": "\(String(cString: avahi_strerror(result)))"])
                avahi_entry_group_reset(group)
            } else {
                setState(.registering)
                armProbeWatchdog()
            }
            return
        }
    }

    /// Probing takes about a second. A group still registering long after its commit (seen when
    /// boxes of one branch took new names at the same moment while links went down and up) is
    /// withdrawn and announced again, so the box never stays unannounced.
    private func armProbeWatchdog() {
        guard let poll, !stopped else { return }
        cancelProbeWatchdog()
        probeTimer = edgenode_avahi_timeout_new(avahi_threaded_poll_get(poll), Self.probeWatchdogMilliseconds, { _, userdata in
            AvahiDiscovery.from(userdata).probeWatchdogFired()
        }, userdata)
    }

    private func cancelProbeWatchdog() {
        guard let probeTimer, let poll else { return }
        edgenode_avahi_timeout_free(avahi_threaded_poll_get(poll), probeTimer)
        self.probeTimer = nil
    }

    private func probeWatchdogFired() {
        cancelProbeWatchdog()
        guard !stopped, let group, let client, avahi_client_get_state(client) == AVAHI_CLIENT_S_RUNNING,
              avahi_entry_group_get_state(group) != Int32(AVAHI_ENTRY_GROUP_ESTABLISHED.rawValue) else { return }
        logger.notice("mDNS: the announcement is not established yet; announcing again", metadata: ["name": "\(currentName)"])
        avahi_entry_group_reset(group)
        register(client)
    }

    private func nextAlternativeName() {
        guard let alternative = avahi_alternative_service_name(currentName) else { return }
        let name = String(cString: alternative)
        avahi_free(alternative)
        logger.notice("mDNS: the name is taken on this network; trying another", metadata: ["taken": "\(currentName)", "next": "\(name)"])
        currentName = name
    }

    private func groupChanged(_ group: OpaquePointer?, _ state: AvahiEntryGroupState) {
        guard let group else { return }
        switch state {
        case AVAHI_ENTRY_GROUP_ESTABLISHED:
            cancelProbeWatchdog()
            setState(.announced(name: currentName))
            logger.info("mDNS: announced", metadata: ["name": "\(currentName)", "type": "\(Self.serviceType)", "subtype": "\(subtype ?? "")"])
        case AVAHI_ENTRY_GROUP_COLLISION:
            nextAlternativeName()
            avahi_entry_group_reset(group)
            if let client = avahi_entry_group_get_client(group) { register(client) }
        case AVAHI_ENTRY_GROUP_FAILURE:
            let client = avahi_entry_group_get_client(group)
            let reason = client.map { String(cString: avahi_strerror(avahi_client_errno($0))) } ?? "unknown"
            logger.warning("mDNS: announcing failed", metadata: ["error": "\(reason)"])
        default:
            break
        }
    }

    // MARK: Browsing

    private func startBrowsing(_ client: OpaquePointer) {
        guard let browseType else { return }
        browser = avahi_service_browser_new(client, AvahiIfIndex(AVAHI_IF_UNSPEC), AvahiProtocol(AVAHI_PROTO_UNSPEC), browseType, nil, AvahiLookupFlags(0), {
            _, interface, proto, event, name, type, domain, flags, userdata in
            AvahiDiscovery.from(userdata).browsed(interface, proto, event, name, type, domain, flags)
        }, userdata)
        if browser == nil {
            logger.warning("mDNS: cannot browse", metadata: ["error": "\(String(cString: avahi_strerror(avahi_client_errno(client))))"])
        }
    }

    private static func key(_ interface: AvahiIfIndex, _ proto: AvahiProtocol, _ name: String) -> String { "\(interface)/\(proto)/\(name)" }

    private func browsed(_ interface: AvahiIfIndex, _ proto: AvahiProtocol, _ event: AvahiBrowserEvent,
                         _ name: UnsafePointer<CChar>?, _ type: UnsafePointer<CChar>?, _ domain: UnsafePointer<CChar>?, _ flags: AvahiLookupResultFlags) {
        switch event {
        case AVAHI_BROWSER_NEW:
            guard let name, let type else { return }
            if flags.rawValue & AVAHI_LOOKUP_RESULT_OUR_OWN.rawValue != 0 { return }
            resolve(Unresolved(interface: interface, proto: proto, name: String(cString: name), type: String(cString: type),
                               domain: domain.map { String(cString: $0) }))
        case AVAHI_BROWSER_REMOVE:
            // A goodbye, or only a cache flush (a name conflict on the network, even our own
            // probing, makes avahi-daemon drop records it still needs). Ask once more: if the
            // instance answers it stays; if the question times out it is gone.
            guard let client, let name, let type else { return }
            unresolved.removeValue(forKey: Self.key(interface, proto, String(cString: name)))
            let resolver = avahi_service_resolver_new(client, interface, proto, name, type, domain, proto, AvahiLookupFlags(0), {
                resolver, interface, proto, event, name, _, _, hostName, address, port, txt, flags, userdata in
                let discovery = AvahiDiscovery.from(userdata)
                if event == AVAHI_RESOLVER_FOUND {
                    discovery.resolved(interface, proto, event, name, hostName, address, port, txt, flags)
                } else if let name {
                    discovery.forget(interface, proto, String(cString: name))
                }
                avahi_service_resolver_free(resolver)
            }, userdata)
            if resolver == nil { forget(interface, proto, String(cString: name)) }
        case AVAHI_BROWSER_FAILURE:
            let reason = client.map { String(cString: avahi_strerror(avahi_client_errno($0))) } ?? "unknown"
            logger.warning("mDNS: browsing failed; restarting it", metadata: ["error": "\(reason)"])
            if let browser { avahi_service_browser_free(browser) }
            browser = nil
            scheduleRetry()
        default:
            break
        }
    }

    /// Resolves a listed instance; a failure puts it in `unresolved`, asked again later.
    private func resolve(_ instance: Unresolved) {
        guard let client else { return }
        // The resolver frees itself once it answered.
        let resolver = instance.name.withCString { name in
            instance.type.withCString { type in
                withOptionalCString(instance.domain) { domain in
                    avahi_service_resolver_new(client, instance.interface, instance.proto, name, type, domain, instance.proto, AvahiLookupFlags(0), {
                        resolver, interface, proto, event, name, type, domain, hostName, address, port, txt, flags, userdata in
                        AvahiDiscovery.from(userdata).answered(interface, proto, event, name, type, domain, hostName, address, port, txt, flags)
                        avahi_service_resolver_free(resolver)
                    }, userdata)
                }
            }
        }
        if resolver == nil { failed(instance) }
    }

    private func answered(_ interface: AvahiIfIndex, _ proto: AvahiProtocol, _ event: AvahiResolverEvent, _ name: UnsafePointer<CChar>?,
                          _ type: UnsafePointer<CChar>?, _ domain: UnsafePointer<CChar>?, _ hostName: UnsafePointer<CChar>?,
                          _ address: UnsafePointer<AvahiAddress>?, _ port: UInt16, _ txt: UnsafeMutablePointer<AvahiStringList>?,
                          _ flags: AvahiLookupResultFlags) {
        guard let name else { return }
        let key = Self.key(interface, proto, String(cString: name))
        if event == AVAHI_RESOLVER_FOUND {
            if unresolved.removeValue(forKey: key) != nil, unresolved.isEmpty { resolveDelay = 1_000 }
            resolved(interface, proto, event, name, hostName, address, port, txt, flags)
        } else if let type {
            failed(Unresolved(interface: interface, proto: proto, name: String(cString: name), type: String(cString: type),
                              domain: domain.map { String(cString: $0) }))
        }
    }

    private func failed(_ instance: Unresolved) {
        guard !stopped, client != nil else { return }
        logger.debug("mDNS: a peer did not answer; asking again", metadata: ["name": "\(instance.name)", "in_ms": "\(resolveDelay)"])
        unresolved[Self.key(instance.interface, instance.proto, instance.name)] = instance
        guard let poll, resolveTimer == nil else { return }
        let delay = resolveDelay
        resolveDelay = min(Self.resolveRetryMaximumMilliseconds, resolveDelay * 2)
        resolveTimer = edgenode_avahi_timeout_new(avahi_threaded_poll_get(poll), delay, { _, userdata in
            AvahiDiscovery.from(userdata).resolveAgain()
        }, userdata)
    }

    private func resolveAgain() {
        cancelResolveRetry()
        let pending = unresolved
        unresolved = [:]
        for instance in pending.values { resolve(instance) }
    }

    private func cancelResolveRetry() {
        guard let resolveTimer, let poll else { return }
        edgenode_avahi_timeout_free(avahi_threaded_poll_get(poll), resolveTimer)
        self.resolveTimer = nil
    }

    private func forget(_ interface: AvahiIfIndex, _ proto: AvahiProtocol, _ name: String) {
        let removed = published.withLock { $0.endpoints.removeValue(forKey: Self.key(interface, proto, name)) }
        if let removed {
            logger.info("mDNS: peer gone", metadata: ["peer": "\(removed)"])
            publishEndpoints()
        }
    }

    private func resolved(_ interface: AvahiIfIndex, _ proto: AvahiProtocol, _ event: AvahiResolverEvent, _ name: UnsafePointer<CChar>?,
                          _ hostName: UnsafePointer<CChar>?, _ address: UnsafePointer<AvahiAddress>?, _ port: UInt16,
                          _ txt: UnsafeMutablePointer<AvahiStringList>?, _ flags: AvahiLookupResultFlags) {
        guard event == AVAHI_RESOLVER_FOUND, let name, let address else { return }
        if flags.rawValue & AVAHI_LOOKUP_RESULT_OUR_OWN.rawValue != 0 { return }
        var buffer = [CChar](repeating: 0, count: Int(AVAHI_ADDRESS_STR_MAX) + 1)
        avahi_address_snprint(&buffer, buffer.count, address)
        var text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var interfaceName = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        let ifName = if_indextoname(UInt32(bitPattern: interface), &interfaceName) != nil
            ? String(decoding: interfaceName.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "\(interface)"
        if address.pointee.proto == AVAHI_PROTO_INET6, text.lowercased().hasPrefix("fe80:") { text += "%" + ifName }
        var entries: [String: String] = [:]
        var item = txt
        while let current = item {
            var key: UnsafeMutablePointer<CChar>?
            var value: UnsafeMutablePointer<CChar>?
            var size = 0
            if avahi_string_list_get_pair(current, &key, &value, &size) == 0, let key {
                let valueText = value.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: size), as: UTF8.self) } ?? ""
                entries[String(cString: key)] = valueText
                avahi_free(key)
                if let value { avahi_free(value) }
            }
            item = avahi_string_list_get_next(current)
        }
        let endpoint = DiscoveredEndpoint(name: String(cString: name), hostName: hostName.map { String(cString: $0) } ?? "",
                                          address: text, port: Int(port), txt: entries, interface: ifName)
        let key = Self.key(interface, proto, endpoint.name)
        let changed = published.withLock { published in
            defer { published.endpoints[key] = endpoint }
            return published.endpoints[key] != endpoint
        }
        if changed {
            logger.info("mDNS: heard a peer", metadata: ["peer": "\(endpoint)"])
            publishEndpoints()
        }
    }

    // MARK: Publishing results

    private func setState(_ state: DiscoveryState) {
        published.withLock { $0.state = state }
    }

    /// Logs the first problem as a warning; what follows until recovery (the retries, the next
    /// step of the same outage) only at debug level, so an outage is one line in the log.
    private func report(problem: String) {
        let isFirst = published.withLock { published in
            defer { if published.reportedProblem == nil { published.reportedProblem = problem } }
            return published.reportedProblem == nil
        }
        if isFirst { logger.warning("\(problem)") } else { logger.debug("\(problem)") }
    }

    private func recovered() {
        let hadProblem = published.withLock { published in
            defer { published.reportedProblem = nil }
            return published.reportedProblem != nil
        }
        if hadProblem { logger.notice("mDNS available again: connected to avahi-daemon") }
    }

    private func publishEndpoints() {
        let (listeners, list) = published.withLock { published in
            (Array(published.listeners.values), published.endpoints.values.sorted { ($0.name, $0.address) < ($1.name, $1.address) })
        }
        for listener in listeners { listener.yield(list) }
    }
}

/// Discovery could not start at all (not: D-Bus or avahi-daemon missing, which it rides out).
public struct DiscoveryError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Calls `body` with a C string for `text`, or with nil.
private func withOptionalCString<T>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}
