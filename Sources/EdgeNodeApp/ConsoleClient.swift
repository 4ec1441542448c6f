import Foundation
import OutboundHTTP
import Replication

/// The command line's client for the box's own daemon on loopback, authenticated with the box
/// console's device token, over the outbound HTTP port. Used by `edgenode status`, `pair` and
/// `invite`, and by tests and benchmarks that talk to a daemon.
public struct ConsoleClient: Sendable {
    public let host: String
    public let port: Int
    public let token: String
    /// Where the address came from and which token file was read, for error messages
    /// (e.g. `daemon.url in /var/lib/edgenode`, `/var/lib/edgenode/console.token`).
    let addressSource: String
    let tokenPath: String?

    public init(host: String, port: Int, token: String) {
        self.host = host
        self.port = port
        self.token = token
        addressSource = "given"
        tokenPath = nil
    }

    /// The daemon of `configuration`'s data directory: the address given on the command line
    /// (`--bind`/`--port`) if any, else where the daemon says it listens (`daemon.url`, written by
    /// `serve` — so a daemon started with `--port`, or with port 0, is found too), else `http.bind`
    /// and `http.port` of the configuration.
    /// - Parameter explicit: the `--bind`/`--port` flags given to this command.
    init(configuration: NodeConfiguration, explicit: (bind: String?, port: String?) = (nil, nil)) throws {
        let directory = ReplicaDirectory(path: configuration.dataDirectory)
        let path = Provisioning.consoleTokenPath(directory)
        guard let token = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            throw CommandFailure("cannot read the console token \(path); run this as the daemon's user (e.g. sudo -u edgenode) with the same --data-dir")
        }
        if explicit.bind == nil, explicit.port == nil, let listening = DaemonAddress.read(directory) {
            (host, port) = listening
            addressSource = "from \(DaemonAddress.path(directory))"
        } else {
            host = DaemonAddress.localHost(bind: configuration.http.bind)
            port = configuration.http.port
            addressSource = explicit.bind != nil || explicit.port != nil
                ? "from --bind/--port"
                : "from the configuration: no daemon.url in \(directory.path), so no daemon has said it serves this data directory"
        }
        self.token = token
        tokenPath = path
    }

    /// The daemon's address as a person reads it, e.g. `127.0.0.1:8470`, `[::1]:8470`.
    var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// A refusal or an unexpected answer, naming the address asked (and where it came from) and,
    /// when the token was refused, the token file this command used.
    func describe(_ status: Int, _ body: String) -> String {
        let asked = "the daemon at \(address) (\(addressSource))"
        if let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], let detail = object["detail"] as? String {
            var text = "\(asked) refused (\(status)): \(detail)"
            if status == 401, let tokenPath {
                text += ". This command sent the console token from \(tokenPath): the daemon at \(address) is not the one serving that data directory — give the same --data-dir as the daemon, or its --bind/--port"
            }
            return text
        }
        return "\(asked) answered \(status): \(body.prefix(300))"
    }

    /// Sends one request and returns the status and body. Throws if the daemon is not reachable.
    func request(_ method: String, _ path: String, json: [String: String]? = nil) throws -> (Int, String) {
        try request(method, path, body: try json.map { try JSONSerialization.data(withJSONObject: $0) })
    }

    /// How long one request may take in all.
    static let timeout: Duration = .seconds(30)

    /// Sends one request (a JSON body if given) and returns the status and body, through the
    /// process's outbound HTTP client (`HTTPClientOutbound.shared`), blocking the calling thread.
    /// - Throws: `DaemonUnreachable` when nothing listens at the address; `CommandFailure` when
    ///   the exchange fails or takes longer than 30 seconds.
    public func request(_ method: String, _ path: String, body json: Data?, headers: [String: String] = [:]) throws -> (Int, String) {
        var fields: [(name: String, value: String)] = []
        if !token.isEmpty { fields.append(("Authorization", "Bearer \(token)")) }
        for (name, value) in headers { fields.append((name, value)) }
        if json != nil { fields.append(("Content-Type", "application/json")) }
        let request = OutboundRequest(method: method, host: host, port: port, path: path, headers: fields, body: Array(json ?? Data()), timeout: Self.timeout)
        do {
            let response = try HTTPClientOutbound.shared.sendAndWait(request)
            return (response.status, response.text)
        } catch let failure as OutboundHTTPError where failure.kind == .connect {
            throw DaemonUnreachable(message: "the daemon is not running on \(address) (\(addressSource)): \(failure.reason ?? failure.description)")
        } catch {
            throw CommandFailure("the daemon at \(address) (\(addressSource)): \(error)")
        }
    }
}

struct DaemonUnreachable: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// `daemon.url` in the data directory: where the running daemon's HTTP API listens, as a local
/// command reaches it (`http://127.0.0.1:8470`, `http://[::1]:8470`). `serve` writes it once it
/// listens and deletes it when it stops; a daemon that was killed leaves it behind, and a command
/// that finds nobody there falls back on the data directory as before.
enum DaemonAddress {
    static func path(_ directory: ReplicaDirectory) -> String { directory.path + "/daemon.url" }

    /// The host a local client connects to for a server bound to `bind`.
    static func localHost(bind: String) -> String {
        bind == "0.0.0.0" || bind == "localhost" ? "127.0.0.1" : (bind == "::" ? "::1" : bind)
    }

    static func write(bind: String, port: Int, to directory: ReplicaDirectory) throws {
        let host = localHost(bind: bind)
        let url = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\n"
        try directory.writeFile(Array(url.utf8), to: path(directory), mode: 0o644)
    }

    static func read(_ directory: ReplicaDirectory) -> (host: String, port: Int)? {
        guard let bytes = try? directory.readFile(path(directory)) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let components = URLComponents(string: text), components.scheme == "http", var host = components.host, !host.isEmpty,
              let port = components.port, (1...65535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    static func remove(_ directory: ReplicaDirectory) {
        try? FileManager.default.removeItem(atPath: path(directory))
    }
}
