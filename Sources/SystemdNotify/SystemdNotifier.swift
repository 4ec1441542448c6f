#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Tells systemd about the service's state (`sd_notify(3)`) without linking libsystemd: one
/// `AF_UNIX` datagram per call to the socket named by `$NOTIFY_SOCKET`.
///
/// The unit (systemd/edgenode.service) has `Type=notify`, `NotifyAccess=main` and
/// `WatchdogSec=30s`: the daemon sends "READY=1" once it serves, "WATCHDOG=1" at least every
/// half `watchdogInterval`, "STOPPING=1" when it begins to shut down, and "STATUS=…" as it likes.
public struct SystemdNotifier: Sendable {
    /// `$NOTIFY_SOCKET` as given: an absolute path, or "@name" for an abstract socket.
    public let socketAddress: String

    /// nil when `$NOTIFY_SOCKET` is not set (or empty): not started by systemd, or not `Type=notify`.
    /// Other address forms than an absolute path or "@name" (such as systemd 254's "vsock:")
    /// make `notify` throw, so that the problem is logged rather than silently ignored.
    public init?(environment: [String: String]) {
        guard let address = environment["NOTIFY_SOCKET"], !address.isEmpty else { return nil }
        self.socketAddress = address
    }

    /// Sends `state` — "READY=1", "STOPPING=1", "WATCHDOG=1", "STATUS=…", or several separated
    /// by newlines — as one datagram.
    public func notify(_ state: String) throws {
        #if os(Linux)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes: [UInt8]
        let isAbstract: Bool
        if socketAddress.hasPrefix("@") {
            // Abstract namespace: a leading NUL, then the name; the length counts no trailing NUL.
            pathBytes = [0] + Array(socketAddress.utf8.dropFirst())
            isAbstract = true
        } else if socketAddress.hasPrefix("/") {
            pathBytes = Array(socketAddress.utf8)
            isAbstract = false
        } else {
            throw SystemdNotifierError.unsupportedAddress(socketAddress)
        }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        // A path needs room for its terminating NUL; an abstract name may fill the whole field.
        guard pathBytes.count + (isAbstract ? 0 : 1) <= capacity else {
            throw SystemdNotifierError.addressTooLong(socketAddress)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { field in
            field.copyBytes(from: pathBytes)
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + pathBytes.count + (isAbstract ? 0 : 1))

        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemdNotifierError.socket(errno: errno) }
        defer { close(fd) }

        let message = Array(state.utf8)
        while true {
            let sent = message.withUnsafeBytes { bytes in
                withUnsafePointer(to: address) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                        sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                    }
                }
            }
            if sent >= 0 {
                guard sent == message.count else { throw SystemdNotifierError.send(errno: EMSGSIZE, address: socketAddress) }
                return
            }
            let error = errno
            if error == EINTR { continue }
            throw SystemdNotifierError.send(errno: error, address: socketAddress)
        }
        #else
        throw SystemdNotifierError.unsupportedPlatform
        #endif
    }

    /// The watchdog interval from `$WATCHDOG_USEC` when `$WATCHDOG_PID` is unset or names this
    /// process; nil otherwise (no watchdog, a value that is not a positive integer, or a watchdog
    /// meant for another process). Send "WATCHDOG=1" at least every half of it.
    public static func watchdogInterval(environment: [String: String]) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0,
              microseconds <= UInt64(Int64.max) else { return nil }
        if let pidText = environment["WATCHDOG_PID"] {
            guard let pid = Int32(pidText), pid == getpid() else { return nil }
        }
        return .microseconds(Int64(microseconds))
    }
}

/// Why a notification could not be sent.
public enum SystemdNotifierError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `$NOTIFY_SOCKET` is neither an absolute path nor "@name".
    case unsupportedAddress(String)
    /// The path does not fit in `sockaddr_un`.
    case addressTooLong(String)
    case socket(errno: Int32)
    case send(errno: Int32, address: String)
    /// sd_notify exists on Linux only.
    case unsupportedPlatform

    public var description: String {
        switch self {
        case .unsupportedAddress(let address):
            "NOTIFY_SOCKET=\(address) is not supported (only an absolute path or an abstract \"@name\")"
        case .addressTooLong(let address):
            "NOTIFY_SOCKET=\(address) is too long for a Unix socket address"
        case .socket(let code):
            "cannot create the notification socket: \(String(cString: strerror(code)))"
        case .send(let code, let address):
            "cannot notify systemd at \(address): \(String(cString: strerror(code)))"
        case .unsupportedPlatform:
            "systemd notifications are supported on Linux only"
        }
    }
}
