// Email over an authenticated SMTP submission server (docs/messaging.md; PROVIDERS.md
// "Email"): STARTTLS on 587 (or implicit TLS), the certificate and host name verified, TLS 1.2 at
// least, AUTH PLAIN or LOGIN, one message per session.
import Domain
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import OutboundHTTP
import Synchronization

/// Where and how the SMTP transport submits mail.
public struct SMTPSettings: Sendable {
    public enum Security: String, Sendable {
        /// Plain connect, then STARTTLS (required: a server not offering it is refused).
        case startTLS = "starttls"
        /// TLS from the first byte (port 465).
        case tls
        /// No TLS at all: for tests on loopback only; refused for any other host.
        case plain
    }

    public var host: String
    public var port: Int
    public var security: Security
    /// Empty: no AUTH.
    public var username: String
    public var password: String
    /// The sender's address.
    public var from: String
    /// The sender's display name (e.g. the business's name).
    public var fromName: String
    /// Empty: the system's trust roots; else trust only the certificates in this PEM file.
    public var caFile: String
    /// How long each step (connect, each reply) may take.
    public var timeoutSeconds: Int

    public init(host: String, port: Int = 587, security: Security = .startTLS, username: String = "", password: String = "",
                from: String, fromName: String = "", caFile: String = "", timeoutSeconds: Int = 30) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.from = from
        self.fromName = fromName
        self.caFile = caFile
        self.timeoutSeconds = timeoutSeconds
    }
}

/// The `email` channel through an SMTP submission server. The `SentMessage.providerID` is the
/// message's `Message-ID` (`<messageID@edgenode.local>`). SMTP tells nothing after acceptance,
/// so `canReportStatus` is false.
public final class SMTPMailer: MessageTransport {
    public let settings: SMTPSettings
    private let logger: Logger
    private let tlsContext = Mutex<NIOSSLContext?>(nil)

    public var channel: MessageChannel { .email }
    public var provider: String { "smtp" }
    public var canReportStatus: Bool { false }

    public init(settings: SMTPSettings, logger: Logger) {
        self.settings = settings
        var logger = logger
        logger[metadataKey: "smtp.server"] = "\(settings.host):\(settings.port)"
        self.logger = logger
    }

    public func statuses(of providerIDs: [String]) async throws(MessageSendError) -> [DeliveryUpdate] { [] }

    public func send(_ message: OutgoingMessage) async throws(MessageSendError) -> SentMessage {
        guard message.channel == .email else { throw .rejected(reason: "smtp carries email, not \(message.channel.rawValue)", unlink: false) }
        guard Self.isAddress(message.recipient) else { throw .rejected(reason: "not an email address the server can take", unlink: false) }
        guard Self.isAddress(settings.from) else { throw .rejected(reason: "the configured sender address is not an email address", unlink: false) }
        let idPart = String(String.UnicodeScalarView(message.messageID.unicodeScalars.filter { Self.atext.contains($0) }))
        guard !idPart.isEmpty else { throw .rejected(reason: "the message id is empty", unlink: false) }
        if settings.security == .plain && !SMTPHost.isLoopback(settings.host) {
            throw .rejected(reason: "smtp security plain is allowed only to a loopback host, not \(settings.host): use starttls or tls", unlink: false)
        }
        let tls = try makeTLSContext()
        let messageID = "<\(idPart)@edgenode.local>"
        let mime = MIMEMessage(fromAddress: settings.from, fromName: settings.fromName, toAddress: message.recipient, subject: message.subject,
                               text: message.text, language: message.language, messageID: messageID, date: Date(), unsubscribe: message.unsubscribe)
        var logger = self.logger
        logger[metadataKey: "message.id"] = "\(message.messageID)"
        do {
            try await deliver(mime, tls: tls, logger: logger)
            logger.info("smtp: message accepted by the submission server")
            return SentMessage(providerID: messageID, status: .sent)
        } catch {
            logger.warning("smtp: message not sent", metadata: ["smtp.error": "\(error)"])
            throw error
        }
    }

    // MARK: The session

    private func deliver(_ mime: MIMEMessage, tls: NIOSSLContext?, logger: Logger) async throws(MessageSendError) {
        let settings = self.settings
        let timeout = TimeAmount.seconds(Int64(max(1, settings.timeoutSeconds)))
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
                .connect(host: settings.host, port: settings.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw .retryable(reason: "smtp connect to \(settings.host):\(settings.port): \(error)", retryAfterSeconds: nil)
        }
        let result: Result<Void, MessageSendError>
        do {
            result = try await channel.executeThenClose { inbound, outbound in
                var connection = SMTPConnection(channel: channel.channel, inbound: inbound.makeAsyncIterator(), outbound: outbound,
                                                timeout: timeout, logger: logger)
                var step = SMTPStep.greeting
                do {
                    try await self.converse(&connection, mime: mime, tls: tls, step: &step)
                    return .success(())
                } catch let error as SMTPConversationError {
                    return .failure(Self.error(error, at: step))
                } catch {
                    return .failure(Self.error(.connection(.io(error)), at: step))
                }
            }
        } catch {
            // Not reached: the body returns every failure as a value, and executeThenClose
            // ignores errors of the closing.
            throw .retryable(reason: "smtp: \(error)", retryAfterSeconds: nil)
        }
        try result.get()
    }

    /// Why a session ended, at which step, as the port's error.
    private static func error(_ failure: SMTPConversationError, at step: SMTPStep) -> MessageSendError {
        switch failure {
        case .reply(let reply, let step):
            return SMTPFailure.error(for: reply, at: step)
        case .refused(let reason):
            return .rejected(reason: reason, unlink: false)
        case .connection(let failure):
            let afterData = step == .finalReply
            switch failure {
            case .timedOut:
                let reason = "smtp \(step.rawValue): no reply within the timeout"
                return afterData ? .outcomeUnknown(reason: reason) : .retryable(reason: reason, retryAfterSeconds: nil)
            case .closed:
                let reason = "smtp \(step.rawValue): the server closed the connection"
                return afterData ? .outcomeUnknown(reason: reason) : .retryable(reason: reason, retryAfterSeconds: nil)
            case .protocolError(let error):
                let reason = "smtp \(step.rawValue): \(error.description)"
                return afterData ? .outcomeUnknown(reason: reason) : .retryable(reason: reason, retryAfterSeconds: nil)
            case .io(let error):
                // A TLS handshake's failure (an untrusted certificate, a wrong host name, no
                // common version) is a configuration problem: retrying will not help. It may
                // surface at a later step's read or write.
                var isHandshakeFailure = false
                if let tlsError = error as? NIOSSLError, case .handshakeFailed = tlsError { isHandshakeFailure = true }
                if !afterData, isHandshakeFailure || (step == .tls && (error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError)) {
                    return .rejected(reason: "smtp tls: the server's certificate or TLS was not accepted: \(error)", unlink: false)
                }
                let reason = "smtp \(step.rawValue): \(error)"
                return afterData ? .outcomeUnknown(reason: reason) : .retryable(reason: reason, retryAfterSeconds: nil)
            }
        }
    }

    private func converse(_ connection: inout SMTPConnection, mime: MIMEMessage, tls: NIOSSLContext?, step: inout SMTPStep) async throws(SMTPConversationError) {
        let settings = self.settings
        func expect(_ reply: SMTPReply, _ codes: ClosedRange<Int>, at step: SMTPStep) throws(SMTPConversationError) {
            guard codes.contains(reply.code) else { throw .reply(reply, step) }
        }
        do {
            if settings.security == .tls, let tls {
                // A handshake failure shows when the greeting is read: it counts as TLS's.
                step = .tls
                try await connection.startTLS(context: tls, host: settings.host)
            } else {
                step = .greeting
            }
            try expect(try await connection.reply(), 220...220, at: .greeting)
            step = .ehlo
            let hello = "EHLO " + Self.helloName(connection.channel.localAddress)
            var ehlo = try await connection.exchange(hello)
            try expect(ehlo, 250...250, at: .ehlo)
            var extensions = SMTPExtensions(ehlo: ehlo)
            var encrypted = settings.security == .tls
            if settings.security == .startTLS {
                guard extensions.offersStartTLS else {
                    throw SMTPConversationError.refused("smtp: the server does not offer STARTTLS, and security starttls requires it (a configuration problem: check the host, port and security)")
                }
                step = .startTLS
                try expect(try await connection.exchange("STARTTLS"), 220...220, at: .startTLS)
                // Nothing may follow the 220 in plain text (a response injection, CVE-2011-0411's kind).
                guard !connection.reader.hasBufferedBytes else { throw SMTPConversationError.refused("smtp starttls: the server sent more after its 220") }
                step = .tls
                guard let tls else { throw SMTPConversationError.refused("smtp: no TLS settings for starttls") }
                try await connection.startTLS(context: tls, host: settings.host)
                ehlo = try await connection.exchange(hello)
                step = .ehlo
                try expect(ehlo, 250...250, at: .ehlo)
                extensions = SMTPExtensions(ehlo: ehlo)
                encrypted = true
            }
            if !settings.username.isEmpty {
                step = .auth
                // Credentials go only over TLS, or in the clear to a loopback host when asked to.
                guard encrypted || (settings.security == .plain && SMTPHost.isLoopback(settings.host)) else {
                    throw SMTPConversationError.refused("smtp: refusing to send credentials over an unencrypted connection")
                }
                try await authenticate(&connection, mechanisms: extensions.authMechanisms)
            }
            step = .mailFrom
            try expect(try await connection.exchange("MAIL FROM:<\(settings.from)>"), 250...251, at: .mailFrom)
            step = .rcptTo
            try expect(try await connection.exchange("RCPT TO:<\(mime.toAddress)>", logAs: "RCPT TO:<recipient>"), 250...251, at: .rcptTo)
            step = .data
            try expect(try await connection.exchange("DATA"), 354...354, at: .data)
            try await connection.write(Self.dotStuffed(mime.rendered()))
            // From here a lost connection or a missing reply leaves the outcome unknown.
            step = .finalReply
            try await connection.write(".\r\n")
            try expect(try await connection.reply(), 250...259, at: .finalReply)
        } catch let failure as SMTPConnection.Failure {
            throw .connection(failure)
        } catch let failure as SMTPConversationError {
            throw failure
        } catch {
            throw .connection(.io(error))
        }
        // The message is accepted: QUIT politely, and a failure there changes nothing.
        _ = try? await connection.exchange("QUIT")
    }

    private func authenticate(_ connection: inout SMTPConnection, mechanisms: Set<String>) async throws(SMTPConversationError) {
        let settings = self.settings
        do {
            if mechanisms.contains("PLAIN") {
                let token = Data(([0] + Array(settings.username.utf8) + [0] + Array(settings.password.utf8))).base64EncodedString()
                let reply = try await connection.exchange("AUTH PLAIN " + token, logAs: "AUTH PLAIN <credentials>")
                guard reply.code == 235 else { throw SMTPConversationError.reply(reply, .auth) }
            } else if mechanisms.contains("LOGIN") {
                var reply = try await connection.exchange("AUTH LOGIN")
                guard reply.code == 334 else { throw SMTPConversationError.reply(reply, .auth) }
                reply = try await connection.exchange(Data(settings.username.utf8).base64EncodedString(), logAs: "<user name>")
                guard reply.code == 334 else { throw SMTPConversationError.reply(reply, .auth) }
                reply = try await connection.exchange(Data(settings.password.utf8).base64EncodedString(), logAs: "<password>")
                guard reply.code == 235 else { throw SMTPConversationError.reply(reply, .auth) }
            } else {
                let offered = mechanisms.isEmpty ? "none" : mechanisms.sorted().joined(separator: " ")
                throw SMTPConversationError.refused("smtp auth: the server offers no AUTH PLAIN or LOGIN (offered: \(offered))")
            }
        } catch let failure as SMTPConnection.Failure {
            throw .connection(failure)
        } catch let failure as SMTPConversationError {
            throw failure
        } catch {
            throw .connection(.io(error))
        }
    }

    // MARK: Helpers

    /// The TLS settings, made once: TLS 1.2 at least, full verification against the system's
    /// roots or only `caFile`'s certificates. Nil for `plain`.
    private func makeTLSContext() throws(MessageSendError) -> NIOSSLContext? {
        guard settings.security != .plain else { return nil }
        if let made = tlsContext.withLock({ $0 }) { return made }
        do {
            let tls = settings.caFile.isEmpty
                ? OutboundTLS.systemRoots
                : OutboundTLS(trustRoots: try OutboundTLS.certificates(pemFile: settings.caFile, describedAs: "the SMTP CA file"))
            let context = try NIOSSLContext(configuration: tls.configuration)
            tlsContext.withLock { $0 = context }
            return context
        } catch {
            throw .rejected(reason: "smtp tls settings: \(error)", unlink: false)
        }
    }

    /// EHLO's argument: the address literal of our end of the connection (RFC 5321 §4.1.3).
    static func helloName(_ address: SocketAddress?) -> String {
        switch address {
        case .v4(let v4)?: return "[\(v4.host)]"
        case .v6(let v6)?: return "[IPv6:\(v6.host)]"
        default: return "[127.0.0.1]"
        }
    }

    /// RFC 5321 §4.5.2: a line starting with `.` gets another; lines end in CRLF.
    static func dotStuffed(_ text: String) -> String {
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        var stuffed = lines.map { $0.hasPrefix(".") ? "." + $0 : String($0) }
        if stuffed.last == "" { stuffed.removeLast() }
        return stuffed.map { $0 + "\r\n" }.joined()
    }

    /// RFC 5322 atext less what is special in a message id.
    private static let atext = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~.".unicodeScalars)

    /// An ASCII `local@domain` without spaces, brackets or control characters.
    static func isAddress(_ address: String) -> Bool {
        let scalars = address.unicodeScalars
        guard scalars.count <= 254, scalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }),
              !address.contains(where: { "<>()[]\\,;:\"".contains($0) }) else { return false }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64, !parts[1].isEmpty,
              parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else { return false }
        return true
    }
}

/// How a conversation ended early.
enum SMTPConversationError: Error {
    /// The server answered a step with a reply that ends it.
    case reply(SMTPReply, SMTPStep)
    /// We refused to go on (a configuration problem).
    case refused(String)
    case connection(SMTPConnection.Failure)
}
