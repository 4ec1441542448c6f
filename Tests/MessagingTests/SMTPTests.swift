import Domain
import Foundation
import Logging
@testable import MessagingProviders
import Testing
import TestSupport

/// The SMTP transport against a real submission server on loopback (`fake_smtp.py`, aiosmtpd):
/// STARTTLS, AUTH, the message as a mail parser reads it, and every failure's mapping.
@Suite struct SMTPTests {
    static let subject = "Напоминание о записи завтра в 10:00 — Қош келдіңіз, Әсем! Ұмытпаңыз: «Салон Гүлдер»"
    static let text = """
        Әсем, сәлеметсіз бе! Напоминаем: стрижка и укладка завтра в 10:00 (Asia/Almaty).
        Салон «Гүлдер», ул. Сатпаева 1 <второй этаж> & парковка.

        Перенести или отменить: https://shop.example/b/1?a=1&b=2.
        Не ссылка: javascript:alert(1)
        """

    func mailer(_ fake: FakeSMTP, port: Int? = nil, security: SMTPSettings.Security = .startTLS, host: String = "127.0.0.1",
                password: String? = nil, caFile: String? = nil, timeoutSeconds: Int = 10, logger: Logger? = nil) -> SMTPMailer {
        let settings = SMTPSettings(host: host, port: port ?? fake.smtpPort, security: security, username: fake.username,
                                    password: password ?? fake.password, from: "shop@example.kz", fromName: "Салон Гүлдер",
                                    caFile: caFile ?? fake.caFile, timeoutSeconds: timeoutSeconds)
        return SMTPMailer(settings: settings, logger: logger ?? Logger(label: "smtp-test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    func message(_ id: String = "m1", text: String = SMTPTests.text, unsubscribe: String = "mailto:hello@shop.example?subject=unsubscribe") -> OutgoingMessage {
        OutgoingMessage(messageID: id, channel: .email, recipient: "asem@mail.kz", language: "kk", subject: Self.subject, text: text,
                        unsubscribe: unsubscribe)
    }

    /// The error `send` threw, or nil when it sent.
    func failure(_ mailer: SMTPMailer, _ message: OutgoingMessage) async -> MessageSendError? {
        do {
            _ = try await mailer.send(message)
            return nil
        } catch {
            return error
        }
    }

    static func normalized(_ text: String?) -> String? {
        text.map { $0.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .newlines) }
    }

    @Test func aRussianAndKazakhMessageArrivesIntactInBothPartsOverSTARTTLSWithAuth() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        let sent = try await mailer(fake).send(message())
        #expect(sent == SentMessage(providerID: "<m1@edgenode.local>", status: .sent))

        let messages = try await fake.messages()
        try #require(messages.count == 1)
        let received = messages[0]
        #expect(received.tls)
        #expect(received.authMechanism == "PLAIN")
        #expect(received.mailFrom == "shop@example.kz")
        #expect(received.recipients == ["asem@mail.kz"])
        #expect(received.subject == Self.subject)
        #expect(received.header("From") == "Салон Гүлдер <shop@example.kz>")
        #expect(received.header("To") == "asem@mail.kz")
        #expect(received.header("Message-ID") == "<m1@edgenode.local>")
        #expect(received.header("MIME-Version") == "1.0")
        #expect(received.header("Auto-Submitted") == "auto-generated")
        #expect(received.header("Date") != nil)
        #expect(received.header("List-Unsubscribe") == "<mailto:hello@shop.example?subject=unsubscribe>")
        #expect(received.header("List-Unsubscribe-Post") == nil)  // one-click is for https targets only
        #expect(received.header("Content-Type")?.hasPrefix("multipart/alternative") == true)
        #expect(Self.normalized(received.text) == Self.text)

        let html = try #require(received.html)
        #expect(html.contains("Әсем, сәлеметсіз бе! Напоминаем: стрижка и укладка завтра в 10:00 (Asia/Almaty).<br>"))
        #expect(html.contains("Салон «Гүлдер», ул. Сатпаева 1 &lt;второй этаж&gt; &amp; парковка.</p>"))
        #expect(html.contains("<a href=\"https://shop.example/b/1?a=1&amp;b=2\">https://shop.example/b/1?a=1&amp;b=2</a>."))
        #expect(!html.contains("href=\"javascript"))
        #expect(html.components(separatedBy: "<p>").count == 3)

        // On the wire: ASCII only, header lines folded to 78, body lines at most 76.
        let lines = received.content.components(separatedBy: "\r\n")
        #expect(received.content.unicodeScalars.allSatisfy { $0.isASCII })
        let blank = try #require(lines.firstIndex(of: ""))
        #expect(lines[..<blank].allSatisfy { $0.count <= 78 }, "\(lines[..<blank].filter { $0.count > 78 })")
        #expect(lines[blank...].allSatisfy { $0.count <= 76 }, "\(lines[blank...].filter { $0.count > 76 })")
        #expect(lines[..<blank].contains { $0.hasPrefix(" ") }, "the long subject is folded")
    }

    @Test func anHTTPSUnsubscribeTargetGetsOneClick() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        _ = try await mailer(fake).send(message(unsubscribe: "https://shop.example/u/abc"))
        let received = try #require(try await fake.messages().first)
        #expect(received.header("List-Unsubscribe") == "<https://shop.example/u/abc>")
        #expect(received.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click")
    }

    @Test func aLineStartingWithADotSurvives() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        let text = ".hidden first line\n..two dots\n.\nend"
        _ = try await mailer(fake).send(message(text: text))
        let received = try #require(try await fake.messages().first)
        #expect(Self.normalized(received.text) == text)
    }

    @Test func authLoginIsUsedWhenPlainIsNotOffered() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        _ = try await mailer(fake, port: fake.loginOnlyPort).send(message())
        let received = try #require(try await fake.messages().first)
        #expect(received.tls)
        #expect(received.authMechanism == "LOGIN")
    }

    @Test func implicitTLSWorks() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        _ = try await mailer(fake, port: fake.tlsPort, security: .tls, host: "localhost").send(message())
        let received = try #require(try await fake.messages().first)
        #expect(received.port == "tls")
        #expect(received.authMechanism == "PLAIN")
    }

    @Test func aWrongPasswordIsRejected() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        let error = await failure(mailer(fake, password: "wrong"), message())
        guard case .rejected(let reason, let unlink) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(reason.contains("535"))
        #expect(!unlink)
        #expect(try await fake.messages().isEmpty)
    }

    @Test func aTransientReplyIsRetryable() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        let mailer = mailer(fake)
        try await fake.fail(reply: "451 4.3.0 try later")
        let error = await failure(mailer, message())
        guard case .retryable(let reason, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(reason.contains("451 4.3.0 try later"))
        // A 4xx to the message's final "." too: the server did not take it.
        try await fake.fail(reply: "452 4.3.1 insufficient storage", at: .end)
        guard case .retryable(let reason, _) = await failure(mailer, message()) else { Issue.record("a 452 at the end is not retryable"); return }
        #expect(reason.contains("452"))
        #expect(try await fake.messages().isEmpty)
        // The failures are used up: the next attempt goes through.
        _ = try await mailer.send(message())
        #expect(try await fake.messages().count == 1)
    }

    @Test func aDeadMailboxAtRCPTIsRejectedAndUnlinked() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        let mailer = mailer(fake)
        try await fake.fail(reply: "550 5.1.1 no such user", at: .rcpt)
        let error = await failure(mailer, message())
        #expect(error == .rejected(reason: "smtp rcpt to: 550 5.1.1 no such user", unlink: true))
        // A policy refusal is not a dead address.
        try await fake.fail(reply: "550 5.7.1 relaying denied", at: .rcpt)
        #expect(await failure(mailer, message()) == .rejected(reason: "smtp rcpt to: 550 5.7.1 relaying denied", unlink: false))
        // A permanent refusal of the message itself keeps the address.
        try await fake.fail(reply: "554 5.6.0 message refused", at: .end)
        #expect(await failure(mailer, message()) == .rejected(reason: "smtp end of data: 554 5.6.0 message refused", unlink: false))
    }

    @Test func noReplyToTheFinalDotIsOutcomeUnknown() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        try await fake.acceptThenHang()
        // Long enough that a loaded machine finishes every step before the final dot within it.
        let error = await failure(mailer(fake, timeoutSeconds: 8), message())
        guard case .outcomeUnknown(let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(reason.contains("end of data"))
    }

    @Test func anUntrustedCertificateIsRejected() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        let error = await failure(mailer(fake, caFile: fake.otherCAFile), message())
        guard case .rejected(let reason, false) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(reason.contains("tls"))
        #expect(try await fake.messages().isEmpty)
        // Implicit TLS too.
        let implicit = await failure(mailer(fake, port: fake.tlsPort, security: .tls, caFile: fake.otherCAFile), message())
        guard case .rejected(let reason, false) = implicit else { Issue.record("implicit TLS: got \(String(describing: implicit))"); return }
        #expect(reason.contains("tls"))
    }

    @Test func aCertificateForAnotherNameIsRejected() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        for host in ["127.0.0.1", "localhost"] {
            let error = await failure(mailer(fake, port: fake.wrongNamePort, host: host), message())
            guard case .rejected(let reason, false) = error else { Issue.record("\(host): got \(String(describing: error))"); continue }
            #expect(reason.contains("tls"))
        }
        #expect(try await fake.messages().isEmpty)
    }

    @Test func plainTextAfterTheSTARTTLSReplyEndsTheSession() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        let error = await failure(mailer(fake, port: fake.injectingPort), message())
        guard case .rejected(let reason, false) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(reason.contains("sent more after its 220"))
    }

    @Test func aServerWithoutSTARTTLSIsRefusedWhenItIsRequired() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        let error = await failure(mailer(fake, port: fake.plainPort), message())
        guard case .rejected(let reason, false) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(reason.contains("does not offer STARTTLS"))
        #expect(try await fake.messages().isEmpty)
    }

    @Test func plainSecurityWorksOnLoopbackOnly() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        _ = try await mailer(fake, port: fake.plainPort, security: .plain).send(message())
        let received = try #require(try await fake.messages().first)
        #expect(!received.tls)
        #expect(received.authMechanism == "PLAIN")

        let remote = await failure(mailer(fake, port: fake.plainPort, security: .plain, host: "mail.example.com"), message())
        guard case .rejected(let reason, false) = remote else { Issue.record("got \(String(describing: remote))"); return }
        #expect(reason.contains("loopback"))
    }

    @Test func aRefusedConnectionIsRetryable() async throws {
        let settings = SMTPSettings(host: "127.0.0.1", port: 1, from: "shop@example.kz", timeoutSeconds: 5)
        let mailer = SMTPMailer(settings: settings, logger: Logger(label: "smtp-test", factory: { _ in SwiftLogNoOpLogHandler() }))
        guard case .retryable(let reason, _) = await failure(mailer, message()) else { Issue.record("not retryable"); return }
        #expect(reason.contains("connect"))
    }

    @Test func aBadRecipientIsRejectedWithoutConnecting() async throws {
        let settings = SMTPSettings(host: "127.0.0.1", port: 1, from: "shop@example.kz", timeoutSeconds: 5)
        let mailer = SMTPMailer(settings: settings, logger: Logger(label: "smtp-test", factory: { _ in SwiftLogNoOpLogHandler() }))
        var bad = message()
        bad.recipient = "asem@mail.kz>\r\nRCPT TO:<other@mail.kz"
        #expect(await failure(mailer, bad) == .rejected(reason: "not an email address the server can take", unlink: false))
    }

    @Test func anUnreadableCAFileIsAConfigurationProblem() async throws {
        let settings = SMTPSettings(host: "127.0.0.1", port: 1, from: "shop@example.kz", caFile: "/nonexistent/ca.pem", timeoutSeconds: 5)
        let mailer = SMTPMailer(settings: settings, logger: Logger(label: "smtp-test", factory: { _ in SwiftLogNoOpLogHandler() }))
        guard case .rejected(let reason, false) = await failure(mailer, message()) else { Issue.record("not rejected"); return }
        #expect(reason.contains("cannot read the SMTP CA file /nonexistent/ca.pem"))
    }

    @Test func thePasswordAndTheBodyAreNeverLogged() async throws {
        let fake = try await FakeSMTP.start()
        defer { fake.stop() }
        let logs = LogRecorder(minimumLevel: .trace)
        _ = try await mailer(fake, logger: logs.logger(label: "smtp")).send(message())
        _ = try await mailer(fake, port: fake.loginOnlyPort, logger: logs.logger(label: "smtp")).send(message("m2"))
        let recorded = logs.recorded.joined(separator: "\n")
        #expect(recorded.contains("AUTH PLAIN"), "the session is logged at trace: \(recorded)")
        #expect(recorded.contains("AUTH LOGIN"))
        let plainToken = Data(([0] + Array(fake.username.utf8) + [0] + Array(fake.password.utf8))).base64EncodedString()
        for secret in [fake.password, Data(fake.password.utf8).base64EncodedString(), plainToken, "Әсем", "Напоминание", "asem@mail.kz"] {
            #expect(!recorded.contains(secret), "\(secret) is in the log")
        }
    }
}
