/// Client messages (docs/messaging.md): settings, the sending box, templates, clients' channels
/// and consents, Telegram links, the outbox and reviews. The sending service
/// (`EdgeNodeApp.MessagingService`) drives the outbox through the second half.
public struct Messaging: Sendable {
    let shop: Shop

    // MARK: Settings and templates

    public func settings() async throws -> MessagingSettings { try await shop.perform { try $0.messagingSettings() } }

    public func saveSettings(_ settings: MessagingSettings, as acting: Acting) async throws -> MessagingSettings {
        try await shop.perform(as: acting) { try $0.saveMessagingSettings(settings) }
    }

    public func senders() async throws -> [MessagingSender] { try await shop.perform { try $0.messagingSenders() } }

    /// Makes this box the sender of `branch`'s messages (`takeOver` when another box is named).
    public func takeSending(branch: BranchID, takeOver: Bool, as acting: Acting) async throws -> MessagingSender {
        try await shop.perform(as: acting) { try $0.takeMessaging(branch: branch, takeOver: takeOver, actor: acting.name) }
    }

    /// This box's site id (hex).
    public var site: String { shop.siteHex }

    public func templates() async throws -> [MessageTemplate] { try await shop.perform { try $0.messageTemplates() } }

    public func saveTemplate(_ template: MessageTemplate, as acting: Acting) async throws -> MessageTemplate {
        try await shop.perform(as: acting) { try $0.saveTemplate(template, actor: acting.name) }
    }

    public func resetTemplate(_ kind: MessageKind, _ channel: MessageChannel, _ language: String, as acting: Acting) async throws {
        try await shop.perform(as: acting) { try $0.resetTemplate(kind, channel, language, actor: acting.name) }
    }

    public func preview(_ template: MessageTemplate, appointment: AppointmentID?) async throws -> (subject: String, text: String) {
        let result = try await shop.perform { shop -> [String] in
            let rendered = try shop.previewTemplate(template, appointment: appointment)
            return [rendered.subject, rendered.text]
        }
        return (result[0], result[1])
    }

    // MARK: Clients

    public func client(_ id: ClientID) async throws -> ClientMessaging { try await shop.perform { try $0.clientMessaging(id) } }

    public func saveClient(_ id: ClientID, language: String?, channelOrder: [MessageChannel]?, kindsOff: Set<MessageKind>?, as acting: Acting) async throws -> ClientMessaging {
        try await shop.perform(as: acting) { try $0.saveClientMessaging(id, language: language, channelOrder: channelOrder, kindsOff: kindsOff) }
    }

    public func addConsent(_ id: ClientID, channel: MessageChannel, purpose: ClientConsent.Purpose, granted: Bool, source: String, note: String,
                           as acting: Acting) async throws -> ClientMessaging {
        try await shop.perform(as: acting) { shop in
            try shop.addConsent(id, ClientConsent(channel: channel, purpose: purpose, granted: granted, at: shop.now, source: source, actor: acting.name, note: note))
        }
    }

    public func telegramLink(_ id: ClientID, as acting: Acting) async throws -> TelegramLink {
        try await shop.perform(as: acting) { try $0.createTelegramLink(id, actor: acting.name) }
    }

    public func unlinkTelegram(_ id: ClientID, as acting: Acting) async throws {
        try await shop.perform(as: acting) { try $0.unlinkTelegram(id, actor: acting.name) }
    }

    // MARK: The outbox

    public func messages(state: [MessageState] = [], branch: BranchID? = nil, client: ClientID? = nil, appointment: AppointmentID? = nil,
                         limit: Int = 200) async throws -> [ClientMessage] {
        try await shop.perform { try $0.messages(state: state, branch: branch, client: client, appointment: appointment, limit: limit) }
    }

    public func message(_ id: String) async throws -> ClientMessage { try await shop.perform { try $0.message(id) } }

    public func resend(_ id: String, as acting: Acting) async throws -> ClientMessage {
        try await shop.perform(as: acting) { try $0.resendMessage(id, actor: acting.name) }
    }

    public func reviews(of appointment: AppointmentID) async throws -> [VisitReview] { try await shop.perform { try $0.reviews(of: appointment) } }

    // MARK: The sending service's side

    /// Plans queued subjects; returns how many were taken (0: the queue is empty).
    public func planQueued(channels: Set<MessageChannel>, limit: Int = 200) async throws -> Int {
        try await shop.perform { try $0.planQueuedMessages(channels: channels, limit: limit) }
    }

    public func queuedSubjects() async throws -> Int { try await shop.perform { try $0.queuedMessageSubjects() } }

    public func due(limit: Int = 200) async throws -> [(id: String, channel: String, recipient: String)] {
        let rows = try await shop.perform { shop in try shop.dueMessages(limit: limit).map { [$0.id, $0.channel, $0.recipient] } }
        return rows.map { ($0[0], $0[1], $0[2]) }
    }

    public func nextDue() async throws -> Instant? { try await shop.perform { try $0.nextMessageDue() } }

    public func prepare(_ id: String, channels: Set<MessageChannel>) async throws -> PreparedMessage {
        try await shop.perform { try $0.prepareMessage(id, channels: channels) }
    }

    public func recordSent(_ id: String, attempt: Int, _ sent: SentMessage, provider: String) async throws {
        try await shop.perform { try $0.recordSendOutcome(id, attempt: attempt, .sent(sent, provider: provider)) }
    }

    public func recordFailure(_ id: String, attempt: Int, _ error: MessageSendError, provider: String) async throws {
        try await shop.perform { try $0.recordSendOutcome(id, attempt: attempt, .failed(error, provider: provider)) }
    }

    public func settleInterrupted() async throws -> Int { try await shop.perform { try $0.settleInterruptedMessages() } }

    public func recordDelivery(_ updates: [DeliveryUpdate], provider: String) async throws -> Int {
        try await shop.perform { try $0.recordDeliveryUpdates(updates, provider: provider) }
    }

    public func awaitingDelivery(provider: String, limit: Int = 100) async throws -> [String] {
        try await shop.perform { try $0.awaitingDelivery(provider: provider, limit: limit) }
    }

    /// A `/start <payload>` from the bot: the linked client, or nil.
    public func linkTelegram(payload: String, chatID: String, name: String) async throws -> ClientID? {
        try await shop.perform { try $0.linkTelegram(payload: payload, chatID: chatID, name: name) }
    }

    /// Any other text to the bot: a review reply when one was asked for.
    public func telegramReply(chatID: String, text: String) async throws -> VisitReview? {
        try await shop.perform { try $0.recordTelegramReply(chatID: chatID, text: text) }
    }

    /// The bot's `getUpdates` offset, kept across restarts so no update is handled twice.
    public func telegramOffset() async throws -> Int64 {
        try await shop.perform { shop in try shop.read { try $0.scalar("SELECT value FROM local_domain_state WHERE key = 'telegram.offset'")?.integerValue ?? 0 } }
    }

    public func setTelegramOffset(_ offset: Int64) async throws {
        try await shop.perform { shop in
            try shop.store.write { try $0.execute("INSERT OR REPLACE INTO local_domain_state (key, value) VALUES ('telegram.offset', ?)", [.integer(offset)]) }
        }
    }
}

extension Shop {
    /// Client messages: settings, templates, channels, the outbox.
    public var messaging: Messaging { Messaging(shop: self) }
}
