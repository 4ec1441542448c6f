import Foundation
import Testing
@testable import EdgeNodeApp
import TestSupport

/// Test hosts on one machine: each host is a network namespace with its own mount namespace,
/// in which `/run/dbus` and `/run/avahi-daemon` are private tmpfs mounts, so every host runs
/// its own system D-Bus and avahi-daemon. Hosts are joined by veth pairs (point-to-point
/// links, or ports of a bridge in a "switch" namespace). Every avahi-daemon is limited with
/// `allow-interfaces=` to the host's test links: no multicast leaves on a real interface.
///
/// The test process reaches each host's API over a management veth (`mgmt0`, 10.250.N.2 from
/// 10.250.N.1 in the test's namespace), which avahi-daemon is not allowed to use.
final class NetLab: @unchecked Sendable {
    static let prefix = "enlab"
    let id: String
    let root: String
    private(set) var hosts: [Host] = []
    private var namespaces: [String] = []
    private var rootInterfaces: [String] = []
    private var linkCount = 0

    /// Fails the test with what is missing if this machine cannot run the lab.
    static func checkPrerequisites() throws {
        guard getuid() == 0 else { throw LabError("LAN tests need root (network namespaces); run them as root, as CI does") }
        for tool in ["/usr/sbin/ip", "/usr/bin/nsenter", "/usr/bin/unshare", "/usr/bin/dbus-daemon", "/usr/sbin/avahi-daemon", "/usr/bin/avahi-browse"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            throw LabError("\(tool) is missing; scripts/test.sh installs iproute2, util-linux, dbus, avahi-daemon and avahi-utils")
        }
    }

    init() throws {
        try Self.checkPrerequisites()
        Self.removeLeftovers()
        id = String(UUID().uuidString.lowercased().prefix(4))
        root = NSTemporaryDirectory() + "edgenode-lab-" + id
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for directory in ["/run/dbus", "/run/avahi-daemon"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
    }

    /// Namespaces and management links left by a run that was killed.
    static func removeLeftovers() {
        let list = (try? shell("/usr/sbin/ip", ["netns", "list"]).output) ?? ""
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            if name.hasPrefix(prefix) { _ = try? shell("/usr/sbin/ip", ["netns", "pids", name]).output.split(separator: "\n").forEach { kill(pid_t($0) ?? 0, SIGKILL) }
                _ = try? shell("/usr/sbin/ip", ["netns", "del", name]) }
        }
        let links = (try? shell("/usr/sbin/ip", ["-o", "link", "show"]).output) ?? ""
        for line in links.split(separator: "\n") {
            let parts = line.split(separator: ":")
            guard parts.count > 1 else { continue }
            let name = parts[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first.map(String.init) ?? ""
            if name.hasPrefix(prefix) { _ = try? shell("/usr/sbin/ip", ["link", "del", name]) }
        }
    }

    /// A new host (network + mount namespace) reachable from the test at `host.managementAddress`.
    func addHost(_ name: String) throws -> Host {
        let index = hosts.count + 1
        let namespace = "\(Self.prefix)\(id)\(name)"
        try shell("/usr/sbin/ip", ["netns", "add", namespace])
        namespaces.append(namespace)
        try shell("/usr/sbin/ip", ["-n", namespace, "link", "set", "lo", "up"])
        // The anchor holds the host's mount namespace with its private /run/dbus and /run/avahi-daemon.
        let anchor = try Spawned("/usr/sbin/ip", ["netns", "exec", namespace, "/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                                                  "mount -t tmpfs tmpfs /run/dbus && mount -t tmpfs tmpfs /run/avahi-daemon && exec sleep 100000"],
                                 environment: ProcessInfo.processInfo.environment, log: nil)
        let host = Host(lab: self, name: name, namespace: namespace, anchor: anchor, index: index)
        hosts.append(host)
        // Wait until the mounts are in place (the anchor has exec'd sleep).
        _ = holdsWithin(.seconds(10), every: .milliseconds(20)) {
            (try? String(contentsOfFile: "/proc/\(anchor.pid)/comm", encoding: .utf8))?.hasPrefix("sleep") == true
        }
        // Management link from the test's namespace.
        let outside = "\(Self.prefix)\(id)m\(index)"
        try shell("/usr/sbin/ip", ["link", "add", outside, "type", "veth", "peer", "name", "mgmt0", "netns", namespace])
        rootInterfaces.append(outside)
        try shell("/usr/sbin/ip", ["addr", "add", "10.250.\(index).1/30", "dev", outside])
        try shell("/usr/sbin/ip", ["link", "set", outside, "up"])
        try shell("/usr/sbin/ip", ["-n", namespace, "addr", "add", "10.250.\(index).2/30", "dev", "mgmt0"])
        try shell("/usr/sbin/ip", ["-n", namespace, "link", "set", "mgmt0", "up"])
        return host
    }

    /// A point-to-point link between two hosts, on a fresh /24.
    @discardableResult
    func link(_ a: Host, _ b: Host) throws -> Link {
        linkCount += 1
        let subnet = "10.77.\(linkCount)"
        let aName = a.nextInterface(), bName = b.nextInterface()
        try shell("/usr/sbin/ip", ["link", "add", aName, "netns", a.namespace, "type", "veth", "peer", "name", bName, "netns", b.namespace])
        try shell("/usr/sbin/ip", ["-n", a.namespace, "addr", "add", "\(subnet).\(a.index)/24", "dev", aName])
        try shell("/usr/sbin/ip", ["-n", b.namespace, "addr", "add", "\(subnet).\(b.index)/24", "dev", bName])
        let link = Link(ends: [(a, aName), (b, bName)])
        try link.set(up: true)
        return link
    }

    /// A shared segment: a bridge in its own namespace with a port per host.
    func segment(_ members: [Host]) throws -> Link {
        linkCount += 1
        let subnet = "10.77.\(linkCount)"
        let namespace = "\(Self.prefix)\(id)sw\(linkCount)"
        try shell("/usr/sbin/ip", ["netns", "add", namespace])
        namespaces.append(namespace)
        try shell("/usr/sbin/ip", ["-n", namespace, "link", "add", "br0", "type", "bridge"])
        try shell("/usr/sbin/ip", ["-n", namespace, "link", "set", "br0", "up"])
        var ends: [(Host, String)] = []
        for (position, member) in members.enumerated() {
            let name = member.nextInterface()
            let port = "p\(position)"
            try shell("/usr/sbin/ip", ["link", "add", name, "netns", member.namespace, "type", "veth", "peer", "name", port, "netns", namespace])
            try shell("/usr/sbin/ip", ["-n", namespace, "link", "set", port, "master", "br0"])
            try shell("/usr/sbin/ip", ["-n", namespace, "link", "set", port, "up"])
            try shell("/usr/sbin/ip", ["-n", member.namespace, "addr", "add", "\(subnet).\(member.index)/24", "dev", name])
            ends.append((member, name))
        }
        let link = Link(ends: ends)
        try link.set(up: true)
        return link
    }

    /// Stops every process of every host and deletes the namespaces and links.
    func tearDown() {
        for host in hosts { host.stopAll() }
        for namespace in namespaces { _ = try? shell("/usr/sbin/ip", ["netns", "del", namespace]) }
        for interface in rootInterfaces { _ = try? shell("/usr/sbin/ip", ["link", "del", interface]) }
        namespaces = []
        rootInterfaces = []
    }

    deinit { tearDown() }
}

/// The ends of a link (two for a veth pair, one per host on a segment).
struct Link {
    let ends: [(host: NetLab.Host, interface: String)]

    /// Brings the hosts' ends up or down: "unplugging the cable".
    func set(up: Bool) throws {
        for end in ends {
            try shell("/usr/sbin/ip", ["-n", end.host.namespace, "link", "set", end.interface, up ? "up" : "down"])
        }
    }

    /// Unplugs only `host`'s end.
    func set(_ host: NetLab.Host, up: Bool) throws {
        for end in ends where end.host === host {
            try shell("/usr/sbin/ip", ["-n", end.host.namespace, "link", "set", end.interface, up ? "up" : "down"])
        }
    }
}

extension NetLab {
    final class Host: @unchecked Sendable {
        unowned let lab: NetLab
        let name: String
        let namespace: String
        let anchor: Spawned
        let index: Int
        private(set) var interfaces: [String] = []
        private var processes: [String: Spawned] = [:]

        init(lab: NetLab, name: String, namespace: String, anchor: Spawned, index: Int) {
            self.lab = lab
            self.name = name
            self.namespace = namespace
            self.anchor = anchor
            self.index = index
        }

        var managementAddress: String { "10.250.\(index).2" }

        func nextInterface() -> String {
            let name = "lan\(interfaces.count)"
            interfaces.append(name)
            return name
        }

        private var enter: [String] { ["-t", "\(anchor.pid)", "-m", "-n", "--"] }

        /// Runs a command in the host and waits for it.
        @discardableResult
        func run(_ program: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> (status: Int32, output: String) {
            try shell("/usr/bin/nsenter", enter + [program] + arguments, timeout: timeout, check: false)
        }

        /// Starts a long-running process in the host under `label`, its output in `log`.
        func start(_ label: String, _ program: String, _ arguments: [String], environment: [String: String] = [:]) throws {
            stop(label)
            var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("EDGENODE_") && !$0.key.hasPrefix("DBUS_") }
            env.merge(environment) { $1 }
            processes[label] = try Spawned("/usr/bin/nsenter", enter + [program] + arguments, environment: env, log: log(label))
        }

        func log(_ label: String) -> String { "\(lab.root)/\(name)-\(label).log" }
        func logText(_ label: String) -> String { (try? String(contentsOfFile: log(label), encoding: .utf8)) ?? "" }

        func isRunning(_ label: String) -> Bool { processes[label]?.isRunning ?? false }

        /// Stops a process (`signal`, then SIGKILL after 10 s).
        func stop(_ label: String, signal: Int32 = SIGTERM) {
            processes.removeValue(forKey: label)?.stop(signal: signal)
        }

        func stopAll() {
            for label in ["edgenode", "avahi", "dbus"] + processes.keys.sorted() { stop(label) }
            anchor.stop(signal: SIGKILL)
        }

        // MARK: D-Bus and Avahi

        /// The host's system bus on its private /run/dbus.
        func startDBus() throws {
            try start("dbus", "/usr/bin/dbus-daemon", ["--system", "--nofork", "--nopidfile"])
            let ready = holdsWithin(.seconds(10), every: .milliseconds(50)) { (try? run("/bin/test", ["-S", "/run/dbus/system_bus_socket"]).status) == 0 }
            guard ready else { throw LabError("dbus-daemon did not start in \(name): \(logText("dbus"))") }
        }

        func stopDBus() {
            stop("dbus")
            _ = try? run("/bin/rm", ["-f", "/run/dbus/system_bus_socket"])
        }

        /// avahi-daemon limited to this host's test links (never mgmt0, never a real interface).
        func startAvahi() throws {
            guard !interfaces.isEmpty else { throw LabError("\(name) has no test links for avahi-daemon") }
            let configuration = """
                [server]
                host-name=\(name)-\(lab.id)
                use-ipv4=yes
                use-ipv6=no
                allow-interfaces=\(interfaces.joined(separator: ","))
                enable-dbus=yes
                ratelimit-interval-usec=1000000
                ratelimit-burst=1000
                [wide-area]
                enable-wide-area=no
                [publish]
                publish-hinfo=no
                publish-workstation=no
                [reflector]
                enable-reflector=no
                """
            let path = "\(lab.root)/\(name)-avahi.conf"
            try configuration.write(toFile: path, atomically: true, encoding: .utf8)
            try start("avahi", "/usr/sbin/avahi-daemon", ["--no-drop-root", "--no-chroot", "--no-rlimits", "--no-proc-title", "-f", path])
            let ready = holdsWithin(.seconds(15), every: .milliseconds(100)) { logText("avahi").contains("Server startup complete") }
            guard ready else { throw LabError("avahi-daemon did not start in \(name): \(logText("avahi"))") }
        }

        /// `avahi-browse -rtp TYPE` in this host: the resolved lines (`=;…`).
        func browse(_ type: String) throws -> [String] {
            let result = try run("/usr/bin/avahi-browse", ["-r", "-t", "-p", type], timeout: 20)
            return result.output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("=") }
        }
    }
}

/// A long-running child started with posix_spawn, not Foundation's Process: daemons such as
/// avahi-daemon close every inherited descriptor at start, which Foundation takes for an exit
/// and then blocks its process monitor in waitpid for good.
final class Spawned: @unchecked Sendable {
    let pid: pid_t
    private var status: Int32?

    init(_ program: String, _ arguments: [String], environment: [String: String], log: String?) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &actions, nil, argv, envp)
        guard result == 0 else { throw LabError("cannot start \(program): \(String(cString: strerror(result)))") }
        self.pid = pid
    }

    var isRunning: Bool {
        guard status == nil else { return false }
        var raw: Int32 = 0
        if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
        return status == nil
    }

    func stop(signal: Int32 = SIGTERM) {
        guard isRunning else { return }
        kill(pid, signal)
        let deadline = Date().addingTimeInterval(10)
        while isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if isRunning {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
            status = raw
        }
    }
}

struct LabError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program to completion (with a timeout), returning its status and output (standard
/// output, then standard error); `check` throws `LabError` unless it succeeded.
@discardableResult
func shell(_ program: String, _ arguments: [String], timeout: TimeInterval = 60, check: Bool = true) throws -> (status: Int32, output: String) {
    let result = try run(program, arguments, environment: ProcessInfo.processInfo.environment, timeout: .seconds(timeout), check: false)
    let output = result.output + result.error
    if check && result.status != 0 {
        throw LabError("\(program) \(arguments.joined(separator: " ")) failed (\(result.status)): \(output)")
    }
    return (result.status, output)
}

