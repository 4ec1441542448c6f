import Domain
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Per-channel rate limits (a token bucket per channel, and at most one message a second to
/// one Telegram chat): an outage's backlog goes out at the pace the providers accept.
final class MessageRateLimiter: Sendable {
    private struct Bucket { var tokens: Double; var last: ContinuousClock.Instant }
    private let perSecond: [MessageChannel: Int]
    private let state = Mutex<(buckets: [MessageChannel: Bucket], chats: [String: ContinuousClock.Instant])>(([:], [:]))

    init(perSecond: [MessageChannel: Int]) { self.perSecond = perSecond }

    /// How long to wait before one more message may go by `channel` to `recipient` (zero: go now,
    /// and the token is taken).
    func reserve(_ channel: MessageChannel, recipient: String) -> Duration {
        let rate = Double(max(1, perSecond[channel] ?? 1))
        let now = ContinuousClock.now
        return state.withLock { state in
            var bucket = state.buckets[channel] ?? Bucket(tokens: rate, last: now)
            let elapsed = now - bucket.last
            bucket.tokens = min(rate, bucket.tokens + Double(elapsed.components.seconds) * rate + Double(elapsed.components.attoseconds) / 1e18 * rate)
            bucket.last = now
            var wait = Duration.zero
            if bucket.tokens < 1 { wait = .milliseconds(Int64(((1 - bucket.tokens) / rate * 1000).rounded(.up))) }
            if channel == .telegram, let previous = state.chats[recipient] {
                let chatWait = .seconds(1) - (now - previous)
                if chatWait > wait { wait = chatWait }
            }
            if wait <= .zero {
                bucket.tokens -= 1
                if channel == .telegram { state.chats[recipient] = now }
                if state.chats.count > 10_000 { state.chats = state.chats.filter { now - $0.value < .seconds(2) } }
            }
            state.buckets[channel] = bucket
            return max(.zero, wait)
        }
    }
}

/// Plans and sends this box's client messages (docs/messaging.md §3–§4): takes queued subjects
/// to the planner, hands due messages to their channel's transport at the channels' pace, records
/// what each provider said, and asks the providers that can tell how delivery went.
final class MessageDispatcher: Sendable {
    let shop: Shop
    let transports: [MessageChannel: any MessageTransport]
    let limiter: MessageRateLimiter
    let logger: Logger
    /// How many messages are in flight at once.
    let concurrency: Int

    init(shop: Shop, transports: [MessageChannel: any MessageTransport], perSecond: [MessageChannel: Int], logger: Logger, concurrency: Int = 8) {
        self.shop = shop
        self.transports = transports
        self.limiter = MessageRateLimiter(perSecond: perSecond)
        self.logger = logger
        self.concurrency = concurrency
    }

    var channels: Set<MessageChannel> { Set(transports.keys) }

    /// Plans everything queued, then sends everything due now. Returns when the next message is due.
    @discardableResult
    func runOnce() async throws -> Instant? {
        while try await shop.messaging.planQueued(channels: channels, limit: 200) > 0 {}
        while true {
            let due = try await shop.messaging.due(limit: 100)
            if due.isEmpty { break }
            try await send(due.map(\.id))
        }
        return try await shop.messaging.nextDue()
    }

    /// Sends messages, at most `concurrency` at once.
    func send(_ ids: [String]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for id in ids {
                if running >= concurrency { try await group.next(); running -= 1 }
                group.addTask { [self] in try await sendOne(id) }
                running += 1
            }
            try await group.waitForAll()
        }
    }

    func sendOne(_ id: String) async throws {
        guard case .send(let message, let attempt) = try await shop.messaging.prepare(id, channels: channels) else { return }
        guard let transport = transports[message.channel] else {
            try await shop.messaging.recordFailure(id, attempt: attempt, .retryable(reason: "no transport for \(message.channel.rawValue) on this box", retryAfterSeconds: 60),
                                                   provider: "")
            return
        }
        while true {
            let wait = limiter.reserve(message.channel, recipient: message.recipient)
            if wait == .zero { break }
            try await Task.sleep(for: wait)
        }
        let outcome: Result<SentMessage, MessageSendError>
        do { outcome = .success(try await transport.send(message)) } catch { outcome = .failure(error) }
        switch outcome {
        case .success(let sent):
            try await shop.messaging.recordSent(id, attempt: attempt, sent, provider: transport.provider)
            logger.info("message sent", metadata: ["message": "\(id)", "channel": "\(message.channel.rawValue)", "provider": "\(transport.provider)"])
        case .failure(let error):
            // Stopped mid-send (graceful shutdown): the provider may have it. The message stays
            // `sending`, and the next start records its outcome as unknown: never sent twice.
            if Task.isCancelled { return }
            try await shop.messaging.recordFailure(id, attempt: attempt, error, provider: transport.provider)
            logger.notice("message not sent", metadata: ["message": "\(id)", "channel": "\(message.channel.rawValue)", "error": "\(error)"])
        }
    }

    /// Asks the providers that can tell (SMS) how delivery went for recent messages.
    func pollStatuses() async {
        for transport in transports.values where transport.canReportStatus {
            do {
                let ids = try await shop.messaging.awaitingDelivery(provider: transport.provider)
                guard !ids.isEmpty else { continue }
                let updates = try await transport.statuses(of: ids)
                _ = try await shop.messaging.recordDelivery(updates, provider: transport.provider)
            } catch {
                logger.notice("asking for delivery statuses failed", metadata: ["provider": "\(transport.provider)", "error": "\(error)"])
            }
        }
    }
}

/// The running dispatcher, if any (tests drive it with `runOnce()`).
final class DispatcherSlot: Sendable {
    private let value = Mutex<MessageDispatcher?>(nil)
    func set(_ dispatcher: MessageDispatcher) { value.withLock { $0 = dispatcher } }
    var current: MessageDispatcher? { value.withLock { $0 } }
}

/// Runs the dispatcher: at start it settles what was left `sending` when the box stopped (outcome
/// unknown: never sent again by itself), then plans and sends as work arrives or falls due.
struct MessagingService: Service {
    let dispatcher: MessageDispatcher
    let wake: WakeSignal
    let logger: Logger
    /// How often delivery statuses are asked for.
    var statusInterval: Duration = .seconds(60)

    func run() async throws {
        // Any committed change (a booking here, a merge from another box) may give it work.
        let follower = Task { [wake, shop = dispatcher.shop] in
            for await _ in shop.changeFeed.changes() { wake.signal() }
        }
        defer { follower.cancel() }
        await cancelWhenGracefulShutdown {
            do {
                let settled = try await dispatcher.shop.messaging.settleInterrupted()
                if settled > 0 { logger.warning("messages were being sent when the box stopped; their outcome is unknown", metadata: ["count": "\(settled)"]) }
            } catch {
                logger.error("settling interrupted messages failed", metadata: ["error": "\(error)"])
            }
            var lastPoll = ContinuousClock.now
            while !Task.isCancelled {
                var delay = Duration.seconds(30)
                do {
                    if let next = try await dispatcher.runOnce() {
                        let milliseconds = max(50, min(30_000, next.milliseconds - dispatcher.shop.now.milliseconds))
                        delay = .milliseconds(milliseconds)
                    }
                    if ContinuousClock.now - lastPoll >= statusInterval {
                        lastPoll = .now
                        await dispatcher.pollStatuses()
                    }
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("sending client messages failed; trying again", metadata: ["error": "\(error)"])
                    delay = .seconds(5)
                }
                await wake.wait(timeout: delay)
            }
        }
    }
}

/// The Telegram bot's inbound side: `getUpdates` long-polling. `/start <payload>` links a
/// client's chat; a rating after a review request is recorded on the visit. The offset is kept
/// in the replica's local state, so an update is handled once across restarts.
struct TelegramPollService: Service {
    let source: any TelegramUpdateSource
    let bot: any MessageTransport
    let shop: Shop
    let wake: WakeSignal
    let logger: Logger
    var pollSeconds = 25

    static let linkedText = [
        "ru": "Готово: уведомления о записях будут приходить сюда.",
        "kk": "Дайын: жазылу туралы хабарламалар осында келеді.",
        "en": "Done: booking messages will come here.",
    ]
    static let thanksText = ["ru": "Спасибо за оценку!", "kk": "Бағаңызға рахмет!", "en": "Thank you for your rating!"]

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await pollOnce()
                } catch is CancellationError {
                    return
                } catch {
                    logger.notice("Telegram getUpdates failed; trying again", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(5))
                }
            }
        }
    }

    func pollOnce() async throws {
        let offset = try await shop.messaging.telegramOffset()
        let updates = try await source.updates(offset: offset, timeoutSeconds: pollSeconds)
        for update in updates.sorted(by: { $0.updateID < $1.updateID }) {
            try await handle(update)
            try await shop.messaging.setTelegramOffset(update.updateID + 1)
        }
    }

    func handle(_ update: TelegramInbound) async throws {
        let text = update.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("/start") {
            let payload = text.dropFirst("/start".count).trimmingCharacters(in: .whitespaces)
            guard let client = try await shop.messaging.linkTelegram(payload: payload, chatID: update.chatID, name: update.firstName) else {
                logger.notice("a Telegram /start with an unknown, used or expired link", metadata: ["update": "\(update.updateID)"])
                return
            }
            logger.info("a client linked their Telegram chat", metadata: ["client": "\(client)"])
            wake.signal()
            let language = try await shop.messaging.client(client).language
            await reply(update.chatID, Self.linkedText[language] ?? Self.linkedText["ru"]!, language: language)
        } else if let review = try await shop.messaging.telegramReply(chatID: update.chatID, text: text) {
            logger.info("a review was recorded", metadata: ["appointment": "\(review.appointmentID)", "rating": "\(review.rating)"])
            var language = ""
            if let client = review.clientID { language = try await shop.messaging.client(client).language }
            await reply(update.chatID, Self.thanksText[language] ?? Self.thanksText["ru"]!, language: language)
        }
    }

    func reply(_ chat: String, _ text: String, language: String) async {
        do {
            _ = try await bot.send(OutgoingMessage(messageID: "reply-\(chat)", channel: .telegram, recipient: chat, language: language, text: text))
        } catch {
            logger.notice("the bot's reply was not sent", metadata: ["error": "\(error)"])
        }
    }
}
