/// What a box announces about itself on the LAN (DNS-SD over mDNS).
public struct Announcement: Sendable {
    /// The instance name people see, e.g. the branch name. At most 63 bytes of UTF-8 are used;
    /// Avahi makes it unique on collision ("Main branch #2").
    public var name: String
    /// The TCP port of the box's HTTP server.
    public var port: UInt16
    /// TXT record entries (`key=value`), in this order.
    public var txt: [(key: String, value: String)]

    public init(name: String, port: UInt16, txt: [(key: String, value: String)]) {
        self.name = name
        self.port = port
        self.txt = txt
    }

    /// `name` cut to a whole number of characters within the 63 bytes of a DNS label.
    var labelName: String {
        var result = ""
        for character in name {
            guard result.utf8.count + String(character).utf8.count <= 63 else { break }
            result.append(character)
        }
        return result.isEmpty ? "edgenode" : result
    }
}

/// A service instance heard on the LAN: only an address to try. Nothing in it is trusted; the
/// peer must still prove who it is.
public struct DiscoveredEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The instance name, e.g. "Atyrau Central".
    public var name: String
    /// The announcing host, e.g. `box-b.local`.
    public var hostName: String
    /// A numeric address: `10.0.0.7`, or `fe80::1%eth0` for a link-local IPv6 address.
    public var address: String
    public var port: Int
    /// The TXT record as key/value pairs (a key without `=` has an empty value).
    public var txt: [String: String]
    /// The network interface it was heard on (its name, e.g. `eth0`).
    public var interface: String

    public init(name: String, hostName: String, address: String, port: Int, txt: [String: String], interface: String) {
        self.name = name
        self.hostName = hostName
        self.address = address
        self.port = port
        self.txt = txt
        self.interface = interface
    }

    public var description: String { "\(name) at \(address):\(port) via \(interface)" }
}

/// How discovery is doing, for status pages and logs.
public enum DiscoveryState: Sendable, Hashable, CustomStringConvertible {
    /// Not started, or stopped.
    case stopped
    /// Creating the client (or about to retry after a failure).
    case starting
    /// The system D-Bus or avahi-daemon is not reachable; retrying on our own. The reason is Avahi's.
    case unavailable(String)
    /// D-Bus is up but avahi-daemon is not: the client waits for the daemon to appear.
    case waitingForDaemon
    /// Connected to avahi-daemon; the service is being registered or probed.
    case registering
    /// Announced under `name` (which may differ from the wanted name after a collision).
    case announced(name: String)
    /// Connected and browsing, with nothing to announce.
    case browsing

    public var description: String {
        switch self {
        case .stopped: "stopped"
        case .starting: "starting"
        case .unavailable(let reason): "unavailable (\(reason))"
        case .waitingForDaemon: "waiting for avahi-daemon"
        case .registering: "registering"
        case .announced(let name): "announced as \"\(name)\""
        case .browsing: "browsing"
        }
    }

    /// A short machine-readable word for JSON.
    public var code: String {
        switch self {
        case .stopped: "stopped"
        case .starting: "starting"
        case .unavailable: "unavailable"
        case .waitingForDaemon: "waiting_for_daemon"
        case .registering: "registering"
        case .announced: "announced"
        case .browsing: "browsing"
        }
    }
}
