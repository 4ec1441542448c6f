#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing

@testable import EdgeNodeApp
import TestSupport

// MARK: - sd_notify

#if os(Linux)
/// A datagram socket bound like systemd's notification socket, to receive what the notifier sends.
private final class NotifyReceiver {
    let fd: Int32
    /// The value for $NOTIFY_SOCKET: a path, or "@name" for an abstract socket.
    let address: String
    private let directory: String?

    /// Binds a socket file in a fresh temporary directory, or an abstract name when `abstract`.
    init(abstract: Bool) throws {
        var directory: String?
        if abstract {
            address = "@edgenode-test-\(UUID().uuidString)"
        } else {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("edgenode-notify-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            directory = path
            address = path + "/notify.sock"
        }
        self.directory = directory
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }

        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes: [UInt8] = abstract ? [0] + Array(address.utf8.dropFirst()) : Array(address.utf8) + [0]
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let bound = withUnsafePointer(to: addr) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        // Never hang the test run: give up receiving after 5 s.
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// One datagram, exactly as sent.
    func receive() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    deinit {
        close(fd)
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }
}
#endif

@Suite("systemd notification")
struct SystemdNotifierTests {
    #if os(Linux)
    @Test(arguments: [false, true])
    func notifyReadyReachesTheSocket(abstract: Bool) throws {
        let receiver = try NotifyReceiver(abstract: abstract)
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.address, "PATH": "/usr/bin"]))
        #expect(notifier.socketAddress == receiver.address)
        try notifier.notify("READY=1")
        #expect(try receiver.receive() == "READY=1")
        try notifier.notify("STATUS=Serving on 0.0.0.0:8470\nWATCHDOG=1")
        #expect(try receiver.receive() == "STATUS=Serving on 0.0.0.0:8470\nWATCHDOG=1")
        try notifier.notify("STOPPING=1")
        #expect(try receiver.receive() == "STOPPING=1")
    }

    @Test func sendingToAMissingSocketThrows() throws {
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent-\(UUID().uuidString)/notify"]))
        #expect(throws: SystemdNotifierError.send(errno: ENOENT, address: notifier.socketAddress)) { try notifier.notify("READY=1") }
    }
    #endif

    @Test func noSocketNoNotifier() {
        #expect(SystemdNotifier(environment: [:]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": ""]) == nil)
    }

    @Test func unsupportedAddressesThrowWithAClearMessage() throws {
        for address in ["vsock:2:1234", "run/notify"] {
            let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": address]))
            #expect(throws: SystemdNotifierError.unsupportedAddress(address)) { try notifier.notify("READY=1") }
        }
        #expect(SystemdNotifierError.unsupportedAddress("vsock:2:1234").description
            == "NOTIFY_SOCKET=vsock:2:1234 is not supported (only an absolute path or an abstract \"@name\")")
        let long = "/" + String(repeating: "x", count: 108)
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": long]))
        #expect(throws: SystemdNotifierError.addressTooLong(long)) { try notifier.notify("READY=1") }
    }

    @Test func watchdogInterval() {
        let me = String(getpid())
        let someoneElse = String(getpid() == 1 ? 2 : 1)
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000"]) == .seconds(30))
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": me]) == .seconds(30))
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "1500", "WATCHDOG_PID": me]) == .microseconds(1500))
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": someoneElse]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "abc"]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_PID": me]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: [:]) == nil)
        for bad in ["", "0", "-5", "30s", "1e6", "99999999999999999999"] {
            #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": bad]) == nil, "WATCHDOG_USEC=\(bad)")
        }
    }
}

// MARK: - The unit file

/// systemd/edgenode.service, found from this file's place in the repository.
private let unitFile = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("systemd/edgenode.service").path

/// The unit's settings: section → [(key, value)] in order, comments and blank lines dropped.
private func parseUnit(_ text: String) -> [String: [(key: String, value: String)]] {
    var sections: [String: [(key: String, value: String)]] = [:]
    var current = ""
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
        if line.hasPrefix("[") && line.hasSuffix("]") {
            current = String(line.dropFirst().dropLast())
            continue
        }
        guard let equals = line.firstIndex(of: "=") else { continue }
        let key = line[..<equals].trimmingCharacters(in: .whitespaces)
        let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        sections[current, default: []].append((key, value))
    }
    return sections
}

@Suite("systemd unit")
struct SystemdUnitTests {
    @Test func requiredSettingsArePresent() throws {
        let unit = parseUnit(try String(contentsOfFile: unitFile, encoding: .utf8))
        func values(_ section: String, _ key: String) -> [String] {
            (unit[section] ?? []).filter { $0.key == key }.map(\.value)
        }
        let required: [(String, String, String)] = [
            ("Unit", "Wants", "network-online.target"),
            ("Unit", "After", "network-online.target avahi-daemon.service"),
            ("Service", "Type", "notify"),
            ("Service", "NotifyAccess", "main"),
            ("Service", "ExecStart", "/usr/local/bin/edgenode serve"),
            ("Service", "WatchdogSec", "30s"),
            ("Service", "Restart", "on-failure"),
            ("Service", "RestartSec", "2s"),
            ("Service", "User", "edgenode"),
            ("Service", "Group", "edgenode"),
            ("Service", "StateDirectory", "edgenode"),
            ("Service", "StateDirectoryMode", "0700"),
            ("Service", "ConfigurationDirectory", "edgenode"),
            ("Service", "Environment", "EDGENODE_DATA_DIR=/var/lib/edgenode"),
            ("Service", "TimeoutStopSec", "30s"),
            ("Service", "KillSignal", "SIGTERM"),
            ("Service", "UMask", "0077"),
            ("Service", "ProtectSystem", "strict"),
            ("Service", "ProtectHome", "yes"),
            ("Service", "PrivateTmp", "yes"),
            ("Service", "PrivateDevices", "yes"),
            ("Service", "NoNewPrivileges", "yes"),
            ("Service", "ProtectKernelTunables", "yes"),
            ("Service", "ProtectKernelModules", "yes"),
            ("Service", "ProtectKernelLogs", "yes"),
            ("Service", "ProtectControlGroups", "yes"),
            ("Service", "ProtectClock", "yes"),
            ("Service", "ProtectHostname", "yes"),
            ("Service", "RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_NETLINK"),
            ("Service", "RestrictNamespaces", "yes"),
            ("Service", "RestrictRealtime", "yes"),
            ("Service", "RestrictSUIDSGID", "yes"),
            ("Service", "LockPersonality", "yes"),
            ("Service", "MemoryDenyWriteExecute", "yes"),
            ("Service", "SystemCallArchitectures", "native"),
            ("Service", "SystemCallFilter", "@system-service"),
            ("Service", "CapabilityBoundingSet", ""),
            ("Install", "WantedBy", "multi-user.target"),
        ]
        for (section, key, value) in required {
            #expect(values(section, key) == [value], "[\(section)] \(key)=\(value)")
        }
        // A stable user owns the data; a dynamic one would not (docs/install.md).
        #expect(values("Service", "DynamicUser").isEmpty)
    }

    /// Every EDGENODE_* variable the unit sets must be one the configuration accepts.
    @Test func unitEnvironmentIsValidConfiguration() throws {
        let unit = parseUnit(try String(contentsOfFile: unitFile, encoding: .utf8))
        var environment: [String: String] = [:]
        for setting in unit["Service"] ?? [] where setting.key == "Environment" {
            for assignment in setting.value.split(separator: " ") {
                let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
                environment[parts[0]] = parts.count == 2 ? parts[1] : ""
            }
        }
        let configuration = try NodeConfiguration.load(file: nil, environment: environment, flags: [:])
        #expect(configuration.dataDirectory == "/var/lib/edgenode")
    }

    /// `systemd-analyze verify` accepts the unit without a single warning. verify insists that
    /// ExecStart's program exists, so a copy points it at the built `edgenode` when it is next to
    /// the test binary, or else at /bin/true. It does not check that User= exists.
    @Test func systemdAnalyzeVerifyIsClean() throws {
        let candidates = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze", "/usr/local/bin/systemd-analyze"]
        guard let analyze = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Issue.record("systemd-analyze was not found (looked in \(candidates.joined(separator: ", "))); it is in Debian's `systemd` package: apt-get install systemd")
            return
        }

        let builtNode = Bundle.main.executableURL.map { $0.deletingLastPathComponent().appendingPathComponent("edgenode").path }
        let program = builtNode.flatMap { FileManager.default.isExecutableFile(atPath: $0) && !$0.contains(where: \.isWhitespace) ? $0 : nil } ?? "/bin/true"

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgenode-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try String(contentsOfFile: unitFile, encoding: .utf8)
        #expect(original.contains("\nExecStart=/usr/local/bin/edgenode serve\n"))
        let copy = original.replacingOccurrences(of: "\nExecStart=/usr/local/bin/edgenode serve\n", with: "\nExecStart=\(program) serve\n")
        let unitCopy = directory.appendingPathComponent("edgenode.service")
        try copy.write(to: unitCopy, atomically: true, encoding: .utf8)

        let outPath = directory.appendingPathComponent("out").path
        let errPath = directory.appendingPathComponent("err").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: analyze)
        process.arguments = ["verify", "--man=no", unitCopy.path]
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        let stdout = try String(contentsOfFile: outPath, encoding: .utf8)
        let stderr = try String(contentsOfFile: errPath, encoding: .utf8)
        let transcript = "systemd-analyze verify (ExecStart=\(program)) exited \(process.terminationStatus)\nstdout:\n\(stdout)\nstderr:\n\(stderr)"

        #expect(process.terminationStatus == 0, "\(transcript)")
        // verify reports problems as warnings on stderr and may still exit 0.
        let complaints = (stdout + "\n" + stderr).split(separator: "\n").filter { $0.contains("edgenode.service") }
        #expect(complaints.isEmpty, "\(transcript)")
    }
}
