// One SMTP submission session (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954) over a NIO channel:
// greeting, EHLO, STARTTLS and EHLO again, AUTH PLAIN (or LOGIN), MAIL FROM, RCPT TO, DATA, QUIT.
// The reply parsing and the mapping of replies to `MessageSendError` are pure (`SMTPReply`,
// `SMTPReplyReader`, `SMTPFailure`); the socket code around them is thin.
import Domain
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A complete (possibly multi-line) SMTP reply.
public struct SMTPReply: Sendable, Hashable {
    public var code: Int
    /// The text of each line, without the code and separator.
    public var lines: [String]

    public var isPositive: Bool { (200..<400).contains(code) }
    public var isTransient: Bool { (400..<500).contains(code) }
    /// The reply as one line for reasons and logs: `550 5.1.1 no such user`.
    public var summary: String { "\(code) " + lines.joined(separator: " ").trimmingCharacters(in: .whitespaces) }
    /// The enhanced status code (RFC 3463) the text starts with, e.g. `5.1.1`; nil without one.
    public var enhancedCode: String? {
        guard let first = lines.first?.split(separator: " ").first,
              first.split(separator: ".").count == 3, first.allSatisfy({ $0.isNumber || $0 == "." }) else { return nil }
        return String(first)
    }
}

/// Cuts received bytes into CRLF lines and the lines into replies (`250-…` continues, `250 …`
/// or a bare `250` ends one).
public struct SMTPReplyReader: Sendable {
    private var buffer: [UInt8] = []
    private var pending: [String] = []
    private var pendingCode: Int?

    /// The longest line accepted (RFC 5321 allows 512; servers' banners run longer).
    static let maximumLine = 4096

    public init() {}

    /// Bytes received but not yet part of a complete reply.
    public var hasBufferedBytes: Bool { !buffer.isEmpty || pendingCode != nil }

    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 { buffer.append(contentsOf: bytes) }

    /// The next complete reply; nil when more bytes are needed.
    /// - Throws: `SMTPProtocolError` for a line that is not a reply.
    public mutating func nextReply() throws(SMTPProtocolError) -> SMTPReply? {
        while let newline = buffer.firstIndex(of: 0x0A) {
            var lineBytes = buffer[..<newline]
            if lineBytes.last == 0x0D { lineBytes = lineBytes.dropLast() }
            let line = String(decoding: lineBytes, as: UTF8.self)
            buffer.removeSubrange(...newline)
            let characters = Array(line.utf8)
            guard characters.count >= 3, characters[0..<3].allSatisfy({ (0x30...0x39).contains($0) }),
                  let code = Int(String(line.prefix(3))), (200...599).contains(code),
                  characters.count == 3 || characters[3] == UInt8(ascii: " ") || characters[3] == UInt8(ascii: "-") else {
                throw SMTPProtocolError(description: "the server's reply is not SMTP: \(line.prefix(80))")
            }
            if let pendingCode, pendingCode != code {
                throw SMTPProtocolError(description: "a multi-line reply changes its code (\(pendingCode), then \(code))")
            }
            pending.append(characters.count > 4 ? String(line.dropFirst(4)) : "")
            if characters.count == 3 || characters[3] == UInt8(ascii: " ") {
                let reply = SMTPReply(code: code, lines: pending)
                pending = []
                pendingCode = nil
                return reply
            }
            pendingCode = code
        }
        if buffer.count > Self.maximumLine { throw SMTPProtocolError(description: "the server sent a line longer than \(Self.maximumLine) bytes") }
        return nil
    }
}

/// The server did not speak SMTP as expected.
public struct SMTPProtocolError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// The extensions an EHLO reply announces.
public struct SMTPExtensions: Sendable, Hashable {
    /// Keywords, upper-cased (`STARTTLS`, `AUTH`, `SIZE`, …) with their parameters.
    public var keywords: [String: [String]] = [:]

    public init(ehlo reply: SMTPReply) {
        for line in reply.lines.dropFirst() {
            var words = line.split(separator: " ").map(String.init)
            guard !words.isEmpty else { continue }
            var keyword = words.removeFirst().uppercased()
            // The pre-standard `AUTH=PLAIN LOGIN` form.
            if keyword.hasPrefix("AUTH=") {
                words.insert(String(keyword.dropFirst(5)), at: 0)
                keyword = "AUTH"
            }
            keywords[keyword, default: []] += words
        }
    }

    public var offersStartTLS: Bool { keywords["STARTTLS"] != nil }
    public var authMechanisms: Set<String> { Set((keywords["AUTH"] ?? []).map { $0.uppercased() }) }
}

/// What each step's failure means for the outbox (the port's `MessageSendError` cases).
enum SMTPStep: String, Sendable {
    case connect, greeting, ehlo, startTLS = "starttls", tls, auth, mailFrom = "mail from", rcptTo = "rcpt to", data
    /// After the final `.` of the message was written: its reply decides.
    case finalReply = "end of data"
}

enum SMTPFailure {
    /// A reply that ended the session at `step`.
    static func error(for reply: SMTPReply, at step: SMTPStep) -> MessageSendError {
        let reason = "smtp \(step.rawValue): \(reply.summary)"
        if reply.isTransient { return .retryable(reason: reason, retryAfterSeconds: nil) }
        if step == .finalReply && reply.code < 400 {
            return .outcomeUnknown(reason: "smtp end of data: unexpected reply \(reply.summary)")
        }
        // A dead mailbox (550/551/553 on RCPT): the address should be forgotten, unless the
        // enhanced code says it is a policy refusal (5.7.x) rather than an address problem.
        if step == .rcptTo && [550, 551, 553].contains(reply.code) {
            let enhanced = reply.enhancedCode
            return .rejected(reason: reason, unlink: enhanced == nil || enhanced!.hasPrefix("5.1."))
        }
        return .rejected(reason: reason, unlink: false)
    }
}

/// The I/O of one session: an async channel whose replies are read with a deadline.
struct SMTPConnection {
    let channel: Channel
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var reader = SMTPReplyReader()
    let timeout: TimeAmount
    let logger: Logger

    /// Set when a deadline closed the channel.
    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    enum Failure: Error {
        case timedOut
        case closed
        case io(any Error)
        case protocolError(SMTPProtocolError)
    }

    /// Closes the channel when the timeout passes (cancel the task to keep it), setting `timedOut`.
    private func deadline(_ timedOut: Flag) -> Scheduled<Void> {
        let channel = self.channel
        return channel.eventLoop.scheduleTask(in: timeout) {
            timedOut.value.store(true, ordering: .relaxed)
            channel.close(promise: nil)
        }
    }

    /// The next reply, within the timeout (the channel is closed when it passes).
    mutating func reply() async throws(Failure) -> SMTPReply {
        let timedOut = Flag()
        let deadline = deadline(timedOut)
        defer { deadline.cancel() }
        while true {
            do {
                if let reply = try reader.nextReply() {
                    logger.trace("smtp reply", metadata: ["smtp.reply": "\(reply.code)"])
                    return reply
                }
            } catch {
                throw .protocolError(error)
            }
            let chunk: ByteBuffer?
            do {
                chunk = try await inbound.next()
            } catch {
                throw timedOut.value.load(ordering: .relaxed) ? .timedOut : .io(error)
            }
            guard let chunk else { throw timedOut.value.load(ordering: .relaxed) ? .timedOut : .closed }
            reader.append(chunk.readableBytesView)
        }
    }

    /// Writes one command line; `logAs` is what the log shows instead (credentials never).
    func command(_ line: String, logAs: String? = nil) async throws(Failure) {
        logger.trace("smtp command", metadata: ["smtp.command": "\(logAs ?? line)"])
        try await write(line + "\r\n")
    }

    /// Writes within the timeout (a server that stops reading cannot hold us).
    func write(_ text: String) async throws(Failure) {
        let timedOut = Flag()
        let deadline = deadline(timedOut)
        defer { deadline.cancel() }
        do {
            try await outbound.write(ByteBuffer(string: text))
        } catch {
            throw timedOut.value.load(ordering: .relaxed) ? .timedOut : .io(error)
        }
    }

    /// Sends a command and reads its reply.
    mutating func exchange(_ line: String, logAs: String? = nil) async throws(Failure) -> SMTPReply {
        do {
            try await command(line, logAs: logAs)
        } catch {
            // A write fails with "I/O on closed channel" when the channel closed under it; why it
            // closed (a failed TLS handshake: an untrusted certificate, another host's) is what
            // the read side was told.
            if case .io = error {
                do { _ = try await reply() } catch {
                    if case .io = error { throw error }
                }
            }
            throw error
        }
        return try await reply()
    }

    /// Puts TLS under the conversation (after `220` to STARTTLS, or at once for implicit TLS).
    func startTLS(context: NIOSSLContext, host: String) async throws(Failure) {
        let channel = self.channel
        // SNI and the certificate's name: the host name; for an IP literal the address is checked.
        let serverHostname: String? = SMTPHost.isIPAddress(host) ? nil : host
        do {
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverHostname), position: .first)
            }.get()
        } catch {
            throw .io(error)
        }
    }
}

enum SMTPHost {
    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// `localhost`, 127.0.0.0/8 or ::1.
    static func isLoopback(_ host: String) -> Bool {
        let lower = host.lowercased()
        if lower == "localhost" || lower == "::1" { return true }
        var v4 = in_addr()
        guard inet_pton(AF_INET, host, &v4) == 1 else { return false }
        return UInt32(bigEndian: v4.s_addr) >> 24 == 127
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
