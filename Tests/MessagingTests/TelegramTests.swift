import Domain
import Foundation
import Logging
@testable import MessagingProviders
import OutboundHTTP
import Testing
import TestSupport

// MARK: The harness the provider suites share

/// A fake provider, the box's real HTTP client and a log recorder that keeps every line.
struct ProviderHarness {
    let fake: FakeMessagingProvider
    let http: HTTPClientOutbound
    let logs: LogRecorder
    var logger: Logger { logs.logger(label: "test.messaging") }
    /// Every log line so far, as one text.
    var logText: String { logs.recorded.joined(separator: "\n") }
}

/// Starts the fake `kind`, runs `body`, and stops the client and the fake whatever happens.
func withFake<T>(_ kind: FakeMessagingProvider.Kind, _ body: (ProviderHarness) async throws -> T) async throws -> T {
    let fake = try await FakeMessagingProvider.start(kind)
    let harness = ProviderHarness(fake: fake, http: HTTPClientOutbound(logger: Logger(label: "test.http", factory: { _ in SwiftLogNoOpLogHandler() })),
                                  logs: LogRecorder(minimumLevel: .trace))
    do {
        let result = try await body(harness)
        try? await harness.http.shutdown()
        fake.stop()
        return result
    } catch {
        try? await harness.http.shutdown()
        fake.stop()
        throw error
    }
}

/// The `MessageSendError` that `body` throws; nil when it succeeds (any other error is an issue).
func sendError<T>(_ body: () async throws -> T) async -> MessageSendError? {
    do {
        _ = try await body()
        return nil
    } catch let error as MessageSendError {
        return error
    } catch {
        Issue.record("not a MessageSendError: \(error)")
        return nil
    }
}

func outgoing(_ recipient: String, _ channel: MessageChannel, text: String = "Айгерим, напоминаем: стрижка завтра в 15:00", id: String = "0193b000-0000-7000-8000-000000000001",
              template: WhatsAppTemplateCall? = nil) -> OutgoingMessage {
    OutgoingMessage(messageID: id, channel: channel, recipient: recipient, language: "ru", text: text, whatsappTemplate: template)
}

extension MessageSendError {
    var isRetryable: Bool { if case .retryable = self { true } else { false } }
    var isOutcomeUnknown: Bool { if case .outcomeUnknown = self { true } else { false } }
    var retryAfter: Int? { if case .retryable(_, let after) = self { after } else { nil } }
    /// `unlink` of a `.rejected`, nil for the other cases.
    var rejectedUnlink: Bool? { if case .rejected(_, let unlink) = self { unlink } else { nil } }
    var reason: String { ProviderSupport.reason(self) }
}

// MARK: Telegram

@Suite struct TelegramTests {
    static func bot(_ harness: ProviderHarness, token: String? = nil, timeoutSeconds: Int = 15) -> TelegramBot {
        TelegramBot(settings: TelegramSettings(apiBaseURL: harness.fake.baseURL, token: token ?? harness.fake.credentials["token"]!, timeoutSeconds: timeoutSeconds),
                    http: harness.http, logger: harness.logger)
    }

    @Test func aMessageLandsWithTheChatIDAsANumberAndTheText() async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            let bot = Self.bot(harness)
            let text = "Айгерим, \"стрижка\" завтра в 15:00 — ждём вас! 💇"
            let sent = try await bot.send(outgoing("123456789", .telegram, text: text))
            let other = try await bot.send(outgoing("-1001234567890", .telegram, text: "group"))
            let messages = try await harness.fake.messages()
            #expect(messages.count == 2)
            #expect(messages.first?.recipient == "123456789")
            #expect(messages.first?.chatIDWasNumber == true)
            #expect(messages.first?.text == text)
            #expect(messages.last?.recipient == "-1001234567890" && messages.last?.chatIDWasNumber == true)
            #expect(sent == SentMessage(providerID: messages[0].providerID, status: .sent))
            #expect(other.providerID == messages[1].providerID && other.providerID != sent.providerID)
            #expect(bot.canReportStatus == false)
            #expect(try await bot.statuses(of: [sent.providerID]).isEmpty)
        }
    }

    @Test func aChatIDThatIsNotANumberIsRejectedBeforeAnythingIsSent() async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            let error = await sendError { try await Self.bot(harness).send(outgoing("not a chat", .telegram)) }
            #expect(error?.rejectedUnlink == false)
            #expect(try await harness.fake.messages().isEmpty)
        }
    }

    /// 429 carries `parameters.retry_after`; 503 says nothing: both were definitely not sent.
    @Test(arguments: [(429, 2 as Int?), (503, nil)])
    func tooManyRequestsAndUnavailableAreRetryable(status: Int, retryAfter: Int?) async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            try await harness.fake.fail(status: status, retryAfter: retryAfter)
            let bot = Self.bot(harness)
            let error = await sendError { try await bot.send(outgoing("123456789", .telegram)) }
            #expect(error?.isRetryable == true)
            #expect(error?.retryAfter == retryAfter)
            #expect(try await harness.fake.messages().isEmpty)
            // The failure was for one send: the next goes through.
            _ = try await bot.send(outgoing("123456789", .telegram))
            #expect(try await harness.fake.messages().count == 1)
        }
    }

    @Test func aServerErrorIsAnUnknownOutcome() async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            try await harness.fake.fail(status: 500)
            let error = await sendError { try await Self.bot(harness).send(outgoing("123456789", .telegram)) }
            #expect(error?.isOutcomeUnknown == true)
        }
    }

    /// Telegram took the message and the answer never came: the outcome is unknown, never "retry".
    @Test func aMessageAcceptedWithoutAnAnswerIsAnUnknownOutcome() async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            try await harness.fake.acceptThenHang()
            let error = await sendError { try await Self.bot(harness, timeoutSeconds: 2).send(outgoing("123456789", .telegram)) }
            #expect(error?.isOutcomeUnknown == true)
            #expect(try await harness.fake.messages().count == 1)
        }
    }

    /// Telegram took the message and the connection dropped before the answer: unknown too.
    @Test func aMessageAcceptedAndThenCutOffIsAnUnknownOutcome() async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            try await harness.fake.acceptThenClose()
            let error = await sendError { try await Self.bot(harness).send(outgoing("123456789", .telegram)) }
            #expect(error?.isOutcomeUnknown == true)
            #expect(try await harness.fake.messages().count == 1)
        }
    }

    /// A blocked bot, a chat that never pressed Start and an unknown chat unlink the chat; another
    /// refusal does not. The failure for one chat leaves the others alone.
    @Test(arguments: [
        (403, "Forbidden: bot was blocked by the user", true),
        (403, "Forbidden: bot can't initiate conversation with a user", true),
        (400, "Bad Request: chat not found", true),
        (400, "Bad Request: message is too long", false),
    ])
    func refusalsAreRejectedAndDeadChatsUnlinked(status: Int, description: String, unlink: Bool) async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            try await harness.fake.fail(status: status, description: description, recipient: "555000111")
            let bot = Self.bot(harness)
            _ = try await bot.send(outgoing("123456789", .telegram))
            let error = await sendError { try await bot.send(outgoing("555000111", .telegram)) }
            #expect(error?.rejectedUnlink == unlink)
            #expect(error?.reason.contains(description) == true)
            #expect(try await harness.fake.messages().map(\.recipient) == ["123456789"])
        }
    }

    @Test func aWrongTokenIsRejectedForSendingAndPolling() async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            let bot = Self.bot(harness, token: "7000000001:AAwrongwrongwrongwrong")
            let sending = await sendError { try await bot.send(outgoing("123456789", .telegram)) }
            #expect(sending?.rejectedUnlink == false)
            let polling = await sendError { try await bot.updates(offset: 0, timeoutSeconds: 0) }
            #expect(polling?.rejectedUnlink == false)
        }
    }

    @Test func aConnectionRefusedIsRetryable() async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            // A port nobody listens on: the fake's own API port once it has stopped.
            let bot = TelegramBot(settings: TelegramSettings(apiBaseURL: "http://127.0.0.1:1", token: "7000000001:AAtoken"), http: harness.http, logger: harness.logger)
            let error = await sendError { try await bot.send(outgoing("123456789", .telegram)) }
            #expect(error?.isRetryable == true)
        }
    }

    /// `getUpdates` long-polls: the call waits at Telegram until a client writes; `/start <payload>`
    /// arrives as a `TelegramInbound`, and the next offset confirms it.
    @Test func aStartMessageArrivesThroughTheLongPoll() async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            let bot = Self.bot(harness)
            let before = try await harness.fake.stats().requests
            let poll = Task { try await bot.updates(offset: 0, timeoutSeconds: 30) }
            // The poll is waiting at the fake before the client writes.
            try await eventually("the poll reaching the fake", timeout: .seconds(30)) { try await harness.fake.stats().requests > before }
            let updateID = try await harness.fake.queueUpdate(chatID: 987654321, firstName: "Айгерим", text: "/start abc")
            let inbound = try await withTimeout(.seconds(60), "the long poll's answer") { try await poll.value }
            #expect(inbound.count == 1)
            #expect(inbound.first?.updateID == updateID)
            #expect(inbound.first?.chatID == "987654321")
            #expect(inbound.first?.firstName == "Айгерим")
            #expect(inbound.first?.text == "/start abc")
            #expect((inbound.first?.at.milliseconds ?? 0) > 0)
            // Confirmed: asking past it finds nothing.
            #expect(try await bot.updates(offset: updateID + 1, timeoutSeconds: 0).isEmpty)
        }
    }

    @Test func updatesWithoutTextAreLeftOut() async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            let bot = Self.bot(harness)
            try await harness.fake.queueUpdate(chatID: 42424242, firstName: "Dana", text: nil)
            let text = try await harness.fake.queueUpdate(chatID: 42424242, firstName: "Dana", text: "5 всё отлично")
            let inbound = try await bot.updates(offset: 0, timeoutSeconds: 0)
            #expect(inbound.map(\.updateID) == [text])
        }
    }

    /// The request of a long poll may take the poll's wait plus the usual timeout: a poll of 3
    /// seconds with a 1-second request timeout ends empty, not in a timeout.
    @Test func theLongPollIsNotCutShortByTheRequestTimeout() async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            let bot = Self.bot(harness, timeoutSeconds: 1)
            let inbound = try await bot.updates(offset: 0, timeoutSeconds: 3)
            #expect(inbound.isEmpty)
        }
    }

    /// The fake's `hold` keeps a send waiting at the provider until the test releases it (for
    /// tests that stop or restart a box mid-send); the send then goes through once.
    @Test func aHeldSendGoesThroughWhenReleased() async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            try await harness.fake.hold()
            let bot = Self.bot(harness)
            let sending = Task { try await bot.send(outgoing("123456789", .telegram)) }
            try await eventually("the send held at the fake", timeout: .seconds(30)) { try await harness.fake.stats().held == 1 }
            #expect(try await harness.fake.messages().isEmpty)
            try await harness.fake.release()
            let sent = try await withTimeout(.seconds(30), "the released send") { try await sending.value }
            #expect(try await harness.fake.messages().map(\.providerID) == [sent.providerID])
        }
    }

    @Test func neitherTheTokenNorTheTextIsLogged() async throws {
        try await withFake(.telegram) { (harness: ProviderHarness) async throws in
            let token = harness.fake.credentials["token"]!
            let bot = Self.bot(harness)
            let text = "секретный текст 7731"
            _ = try await bot.send(outgoing("123456789", .telegram, text: text))
            try await harness.fake.fail(status: 403, description: "Forbidden: bot was blocked by the user")
            let blocked = await sendError { try await bot.send(outgoing("123456789", .telegram, text: text)) }
            try await harness.fake.acceptThenHang()
            let hung = await sendError { try await Self.bot(harness, timeoutSeconds: 1).send(outgoing("123456789", .telegram, text: text)) }
            let refused = await sendError {
                try await TelegramBot(settings: TelegramSettings(apiBaseURL: "http://127.0.0.1:1", token: token), http: harness.http, logger: harness.logger)
                    .send(outgoing("123456789", .telegram, text: text))
            }
            let logs = harness.logText
            #expect(logs.contains("0193b000-0000-7000-8000-000000000001"))
            #expect(harness.logs.recorded.count >= 4)
            for secret in [token, String(token.split(separator: ":")[1]), text] {
                #expect(!logs.contains(secret))
                for error in [blocked, hung, refused] { #expect(error.map { !$0.reason.contains(secret) } ?? false) }
            }
            #expect(!"\(TelegramSettings(token: token))".contains(token))
        }
    }
}
