/// The business's messaging settings (`messaging_settings`, one last-writer-wins row, its id derived from "messaging-settings").
public struct MessagingSettings: Hashable, Sendable {
    public var kindsOff: Set<MessageKind> = []
    public var reminderOffsetsMinutes: [Int] = [1440, 120]
    /// A reminder later than this before the visit is not sent (`expired`).
    public var minReminderLeadMinutes = 30
    /// A change message only when the time moved by more than this (a staff change always).
    public var changeThresholdMinutes = 0
    public var channelOrder: [MessageChannel] = [.telegram, .whatsapp, .sms, .email]
    public var reviewDelayMinutes = 60
    public var reviewExpiryHours = 48
    /// The Telegram bot's user name (for `t.me/<bot>?start=…` links).
    public var telegramBot = ""
    /// The `List-Unsubscribe` target of emails (`mailto:` or `https:`), or empty.
    public var unsubscribe = ""

    public init() {}

    /// Whether `kind` is sent at all.
    public func isOn(_ kind: MessageKind) -> Bool { !kindsOff.contains(kind) }

    /// The first problem of the settings, if any.
    public var problem: String? {
        if reminderOffsetsMinutes.count > 4 { return "at most 4 reminders" }
        if reminderOffsetsMinutes.contains(where: { !(5...20_160).contains($0) }) { return "a reminder is 5 minutes to 14 days before the visit" }
        if Set(reminderOffsetsMinutes).count != reminderOffsetsMinutes.count { return "two reminders at the same time" }
        if !(0...1440).contains(minReminderLeadMinutes) { return "the minimum lead of a reminder is 0 to 1,440 minutes" }
        if !(0...1440).contains(changeThresholdMinutes) { return "the change threshold is 0 to 1,440 minutes" }
        if Set(channelOrder).count != channelOrder.count { return "a channel is named twice in the order" }
        if !(0...10_080).contains(reviewDelayMinutes) { return "a review request is sent 0 to 10,080 minutes after the visit" }
        if !(1...720).contains(reviewExpiryHours) { return "a review request expires 1 to 720 hours after it is due" }
        if !telegramBot.isEmpty, !(5...32).contains(telegramBot.count) || !telegramBot.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) {
            return "a Telegram bot's user name is 5–32 letters, digits or _"
        }
        if !unsubscribe.isEmpty, !(unsubscribe.hasPrefix("mailto:") || unsubscribe.hasPrefix("https://")) || unsubscribe.count > 500 || unsubscribe.contains(where: { $0.isWhitespace || $0 == ">" }) {
            return "the unsubscribe target is a mailto: or https: address"
        }
        return nil
    }
}

/// Which box sends a branch's messages (`messaging_senders`).
public struct MessagingSender: Hashable, Sendable {
    public var branchID: BranchID
    /// The box's site id (hex); empty when no box sends for the branch.
    public var site: String
    public var since: Instant?
    public var setBy: String
}

/// Consent or its withdrawal for one channel and purpose.
public struct ClientConsent: Hashable, Sendable {
    public enum Purpose: String, Hashable, Sendable, CaseIterable { case transactional, marketing }
    public static let sources = ["in_person", "phone", "web", "telegram", "written", "reply"]
    public var channel: MessageChannel
    public var purpose: Purpose
    public var granted: Bool
    public var at: Instant
    public var source: String
    public var actor: String
    public var note: String

    public init(channel: MessageChannel, purpose: Purpose, granted: Bool, at: Instant, source: String, actor: String, note: String) {
        self.channel = channel
        self.purpose = purpose
        self.granted = granted
        self.at = at
        self.source = source
        self.actor = actor
        self.note = note
    }
}

/// A client's messaging profile: language, channel order, kinds turned off, the Telegram chat, consents.
public struct ClientMessaging: Hashable, Sendable {
    public var clientID: ClientID
    /// `ru`, `kk`, `en`, or empty (the branch's locale).
    public var language: String
    /// Empty: the business's order.
    public var channelOrder: [MessageChannel]
    public var kindsOff: Set<MessageKind>
    public var telegramChatID: String
    public var telegramName: String
    public var telegramLinkedAt: Instant?
    /// Oldest first.
    public var consents: [ClientConsent]
    /// The client's phone and email (from the client book).
    public var phone: String
    public var email: String
    public var marketingConsent: Bool

    /// The latest word on a channel and purpose: nil when the client never said.
    public func consent(_ channel: MessageChannel, _ purpose: ClientConsent.Purpose) -> Bool? {
        consents.last { $0.channel == channel && $0.purpose == purpose }?.granted
    }

    /// Whether a message of `purpose` may go by `channel`: transactional messages unless withdrawn,
    /// marketing only with consent (the client's marketing flag counts for every channel unless withdrawn there).
    public func allows(_ channel: MessageChannel, _ purpose: ClientConsent.Purpose) -> Bool {
        switch purpose {
        case .transactional: consent(channel, .transactional) != false
        case .marketing: consent(channel, .marketing) ?? marketingConsent
        }
    }

    /// The client's address on a channel, or empty.
    public func address(_ channel: MessageChannel) -> String {
        switch channel {
        case .telegram: telegramChatID
        case .whatsapp, .sms: phone
        case .email: email
        }
    }
}

/// Where a message stands.
public enum MessageState: String, Hashable, Sendable, Codable, CaseIterable {
    case scheduled, sending, sent, delivered, read, failed, skipped, expired
}

/// One step in a message's history (`message_events`).
public struct MessageEvent: Hashable, Sendable {
    public var state: String
    public var at: Instant
    public var site: String
    public var attempt: Int
    public var provider: String
    public var providerID: String
    public var reason: String
}

/// A client message: what it is for, where it goes, where it stands.
public struct ClientMessage: Hashable, Sendable {
    public var id: String
    /// The appointment, waitlist entry or sale the message is about.
    public var subjectID: String
    public var appointmentID: AppointmentID?
    public var clientID: ClientID?
    public var branchID: BranchID
    public var kind: MessageKind
    /// Nil when no channel could carry it (`skipped`, `no_channel`).
    public var channel: MessageChannel?
    public var recipient: String
    public var language: String
    public var variant: String
    public var dueAt: Instant
    public var notAfter: Instant
    /// The box that planned it (the branch's sender).
    public var site: String
    public var createdAt: Instant
    public var state: MessageState
    public var reason: String
    public var provider: String
    public var providerID: String
    public var attempts: Int
    /// What was sent (the last `sending` event's text), empty before.
    public var subject: String
    public var text: String
    public var events: [MessageEvent]
}

/// A client's rating of a visit.
public struct VisitReview: Hashable, Sendable {
    public var appointmentID: AppointmentID
    public var clientID: ClientID?
    public var rating: Int
    public var comment: String
    public var channel: String
    public var at: Instant
}

/// What the sending service does with a due message (`Messaging.prepare`).
public enum PreparedMessage: Sendable {
    /// Hand it to the channel's transport; the `sending` event is committed.
    case send(OutgoingMessage, attempt: Int)
    /// Not sent: skipped or expired (recorded), or no longer due here.
    case settled(MessageState, reason: String)
}

/// A one-time Telegram link for a client.
public struct TelegramLink: Hashable, Sendable {
    public var payload: String
    public var url: String
    public var expiresAt: Instant
}
