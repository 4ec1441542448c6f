#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Logging
import Synchronization

/// A raw TCP connection over loopback, for tests of the HTTP edge: bytes in and out with no HTTP
/// client in between, so that a test can send what no client library would (a head that never
/// ends, a body cut short, bytes HTTP forbids). Reads never block a thread: they check what has
/// arrived (`eventually`) until their deadline.
public final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32
    private var received: [UInt8] = []
    public private(set) var isClosedByPeer = false

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// Connects to `127.0.0.1:port`, from `source` (another loopback address, e.g. `127.0.0.2`,
    /// stands for another client).
    public init(port: Int, source: String = "127.0.0.1") throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(errno)") }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, source, &local.sin_addr)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, connected == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw Failure(description: "connect from \(source) to port \(port): errno \(code)")
        }
    }

    deinit { Glibc.close(descriptor) }

    /// Sends every byte; false if the server has closed the connection.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Ends the sending side (the server reads end of file), keeps receiving.
    public func shutdownSending() { shutdown(descriptor, Int32(SHUT_WR)) }

    /// Reads what has arrived, without waiting. Marks the connection closed on end of file or a reset.
    public func drain() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !isClosedByPeer {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 0) > 0 else { return }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 { received += buffer[0..<count] } else { isClosedByPeer = true }
        }
    }

    /// Waits until the server closes the connection or `seconds` pass; returns whether it closed.
    /// `work` runs between checks (a test that trickles bytes sends the next one there).
    public func waitUntilClosed(within seconds: Double, while work: () -> Void = {}) async throws -> Bool {
        do {
            try await eventually("the server closing the connection", timeout: .milliseconds(Int(seconds * 1000)), every: .milliseconds(25)) {
                drain()
                if isClosedByPeer { return true }
                work()
                return false
            }
            return true
        } catch is TimeoutError {
            drain()
            return isClosedByPeer
        }
    }

    /// Waits until one whole response (head and `Content-Length` body) has arrived, the connection
    /// closed, or `seconds` passed; returns the response and leaves what follows it.
    public func response(within seconds: Double = 30) async throws -> RawResponse? {
        let outcome: RawResponse?? = try? await eventuallyValue("a whole response", timeout: .milliseconds(Int(seconds * 1000))) { () -> RawResponse?? in
            drain()
            if let (response, length) = RawResponse.parse(received) {
                received.removeFirst(length)
                return .some(response)
            }
            return isClosedByPeer ? .some(nil) : nil
        }
        return outcome ?? nil
    }

    /// Everything received and not yet taken by `response`.
    public var unread: [UInt8] { received }
}

/// A parsed HTTP/1.1 response.
public struct RawResponse: Sendable {
    public let status: Int
    /// Lower-case names.
    public let headers: [String: String]
    public let body: [UInt8]

    public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    public var problemType: String? { json["type"] as? String }

    /// The first complete response in `bytes` and its length in bytes, or nil if it has not all arrived.
    public static func parse(_ bytes: [UInt8]) -> (RawResponse, Int)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let end = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else { return nil }
        let lines = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let start = end + 4
        guard bytes.count >= start + length else { return nil }
        return (RawResponse(status: status, headers: headers, body: Array(bytes[start..<start + length])), start + length)
    }
}

/// Keeps the log messages at or above a level (as "level message metadata"), for tests of what a
/// server says — and that a client's mistake is not logged as the server's error.
public final class LogRecorder: Sendable {
    private let messages = Mutex<[String]>([])
    public let minimumLevel: Logger.Level

    public init(minimumLevel: Logger.Level = .error) { self.minimumLevel = minimumLevel }

    public var recorded: [String] { messages.withLock { $0 } }

    /// A logger (at info) whose messages at `minimumLevel` or above this recorder keeps.
    public func logger(label: String) -> Logger {
        var logger = Logger(label: label) { _ in Handler(recorder: self) }
        logger.logLevel = min(.info, minimumLevel)
        return logger
    }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            guard event.level >= recorder.minimumLevel else { return }
            let metadata = (event.metadata ?? [:]).merging(self.metadata) { event, _ in event }
            recorder.messages.withLock { $0.append("\(event.level) \(event.message)" + (metadata.isEmpty ? "" : " \(metadata)")) }
        }
    }
}
