// The port the messaging side of the domain defines for the providers that carry client messages
// (BRIEF: "one adapter per provider behind a small port the domain defines"). The adapters live
// in `MessagingProviders` (Telegram Bot API, WhatsApp Cloud API, Mobizon, Twilio, SMTP) and are
// faked in tests by loopback servers speaking each provider's real protocol (docs/messaging.md).

/// The channels a client message can go by.
public enum MessageChannel: String, Hashable, Sendable, Codable, CaseIterable {
    case telegram
    case whatsapp
    case sms
    case email
}

/// What a message is for.
public enum MessageKind: String, Hashable, Sendable, Codable, CaseIterable {
    case confirmation
    /// The appointment moved or its staff changed.
    case change
    case cancellation
    case reminder
    /// A freed slot offered to a client on the waitlist.
    case waitlistOffer = "waitlist_offer"
    /// After a completed visit: "reply with a rating 1–5 and a comment".
    case reviewRequest = "review_request"
    /// The link to a sale's receipt.
    case receipt
}

/// A WhatsApp template message: outside the 24-hour window only templates Meta approved may be
/// sent, so a message names an approved template, its language and its body parameters in order.
public struct WhatsAppTemplateCall: Hashable, Sendable, Codable {
    /// The approved template's name, e.g. `appointment_reminder`.
    public var name: String
    /// The template's language code as approved, e.g. `ru`, `kk`, `en_GB`.
    public var languageCode: String
    /// The body's `{{1}}`, `{{2}}`, … in order, as text.
    public var parameters: [String]

    public init(name: String, languageCode: String, parameters: [String]) {
        self.name = name
        self.languageCode = languageCode
        self.parameters = parameters
    }
}

/// One message handed to a transport.
public struct OutgoingMessage: Hashable, Sendable {
    /// Our message id (the outbox record's key). Transports that can carry a reference of ours
    /// use it (an email's `Message-ID` local part, a Mobizon/Twilio reference where there is one).
    public var messageID: String
    public var channel: MessageChannel
    /// Telegram: the chat id. WhatsApp and SMS: the phone number in E.164 (`+77011234567`).
    /// Email: the address.
    public var recipient: String
    /// `ru`, `kk` or `en`.
    public var language: String
    /// Email only: the subject line.
    public var subject: String
    /// The rendered text (plain text; an email's HTML part is made from it by the transport).
    public var text: String
    /// WhatsApp only: the approved template to send instead of free text.
    public var whatsappTemplate: WhatsAppTemplateCall?
    /// Email only: the `List-Unsubscribe` target (`mailto:` or `https:` URL); empty for none.
    public var unsubscribe: String

    public init(messageID: String, channel: MessageChannel, recipient: String, language: String, subject: String = "", text: String,
                whatsappTemplate: WhatsAppTemplateCall? = nil, unsubscribe: String = "") {
        self.messageID = messageID
        self.channel = channel
        self.recipient = recipient
        self.language = language
        self.subject = subject
        self.text = text
        self.whatsappTemplate = whatsappTemplate
        self.unsubscribe = unsubscribe
    }
}

/// Where a message stands at the provider, as far as the provider tells.
public enum DeliveryStatus: String, Hashable, Sendable, Codable {
    /// Accepted and queued by the provider (Twilio `queued`/`accepted`/`sending`, Mobizon "new").
    case accepted
    /// Sent on by the provider (Telegram: delivered to Telegram; SMTP: accepted by the submission server).
    case sent
    case delivered
    case read
    /// The provider gave up (undelivered, failed): final.
    case failed
}

/// The provider accepted a message.
public struct SentMessage: Hashable, Sendable {
    /// The provider's id of the message (Telegram `message_id`, WhatsApp `wamid…`, Mobizon
    /// `messageId`, Twilio `SM…` sid, the email's `Message-ID`).
    public var providerID: String
    public var status: DeliveryStatus

    public init(providerID: String, status: DeliveryStatus) {
        self.providerID = providerID
        self.status = status
    }
}

/// Why a transport did not deliver a message. The three cases say what the outbox may do next.
public enum MessageSendError: Error, Hashable, Sendable {
    /// Definitely not sent (the connection failed before the request was written, `429`,
    /// `503`): try again, not before `retryAfterSeconds` when the provider said so.
    case retryable(reason: String, retryAfterSeconds: Int?)
    /// Definitely refused; nothing was sent and sending it again will not help (a bad number, an
    /// unapproved template, an unknown chat). `unlink`: the recipient address is dead for this
    /// channel (Telegram 403 "bot was blocked by the user") and should be forgotten.
    case rejected(reason: String, unlink: Bool)
    /// The provider may have accepted it (a timeout after the request was sent, a `5xx` other
    /// than `503`, an answer that could not be read). Never sent again by itself: no provider
    /// here offers an idempotency key, so a retry could reach the client twice.
    case outcomeUnknown(reason: String)
}

/// A later word from the provider on a message it accepted.
public struct DeliveryUpdate: Hashable, Sendable {
    public var providerID: String
    public var status: DeliveryStatus
    /// The provider's reason for `failed` (its error code and text), else empty.
    public var reason: String
    /// When the provider says it happened, where it says so.
    public var at: Instant?

    public init(providerID: String, status: DeliveryStatus, reason: String = "", at: Instant? = nil) {
        self.providerID = providerID
        self.status = status
        self.reason = reason
        self.at = at
    }
}

/// One provider's way of carrying messages of one channel.
public protocol MessageTransport: Sendable {
    var channel: MessageChannel { get }
    /// A short name for people and logs: `telegram`, `whatsapp_cloud`, `mobizon`, `twilio`, `smtp`.
    var provider: String { get }
    /// Whether the provider can be asked for delivery statuses (`statuses(of:)`).
    var canReportStatus: Bool { get }
    /// Sends one message. Throws `MessageSendError` only.
    func send(_ message: OutgoingMessage) async throws(MessageSendError) -> SentMessage
    /// Asks the provider where earlier messages stand (Twilio, Mobizon). Transports that cannot
    /// tell answer `[]`. Throws `MessageSendError.retryable` when the provider could not be asked.
    func statuses(of providerIDs: [String]) async throws(MessageSendError) -> [DeliveryUpdate]
}

/// A message a client wrote to the business's Telegram bot (from `getUpdates`).
public struct TelegramInbound: Hashable, Sendable {
    public var updateID: Int64
    public var chatID: String
    /// The sender's first name as Telegram gives it (shown as "linked to …").
    public var firstName: String
    public var text: String
    public var at: Instant

    public init(updateID: Int64, chatID: String, firstName: String, text: String, at: Instant) {
        self.updateID = updateID
        self.chatID = chatID
        self.firstName = firstName
        self.text = text
        self.at = at
    }
}

/// The bot's inbound side: long-polling `getUpdates`.
public protocol TelegramUpdateSource: Sendable {
    /// Waits up to `timeoutSeconds` for updates after `offset` (Telegram's `offset`: the last
    /// update id seen + 1, which also confirms the earlier ones). Throws `MessageSendError`.
    func updates(offset: Int64, timeoutSeconds: Int) async throws(MessageSendError) -> [TelegramInbound]
}
