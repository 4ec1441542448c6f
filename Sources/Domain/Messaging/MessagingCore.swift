import Foundation
import Replication

/// The messaging side's blocking core (the `Messaging` component calls it on the store's threads).
///
/// Only the box named in `messaging_senders` for a branch plans and sends that branch's messages,
/// so no two boxes write the same message's events; every other box shows them as they replicate.
extension Shop {
    // MARK: Settings

    static let messagingSettingsKey = derivedKey("messaging-settings")

    static func messagingSettings(in context: some QueryContext) throws -> MessagingSettings {
        var settings = MessagingSettings()
        guard let row = try context.fetchOne("SELECT * FROM messaging_settings WHERE id = ?", [.text(messagingSettingsKey)]) else { return settings }
        settings.kindsOff = Set(JSONColumn.decode([String].self, row["kinds_off"], default: []).compactMap(MessageKind.init(rawValue:)))
        settings.reminderOffsetsMinutes = JSONColumn.decode([Int].self, row["reminder_offsets"], default: [1440, 120])
        settings.minReminderLeadMinutes = row["min_reminder_lead_minutes"].int
        settings.changeThresholdMinutes = row["change_threshold_minutes"].int
        settings.channelOrder = JSONColumn.decode([String].self, row["channel_order"], default: []).compactMap(MessageChannel.init(rawValue:))
        settings.reviewDelayMinutes = row["review_delay_minutes"].int
        settings.reviewExpiryHours = row["review_expiry_hours"].int
        settings.telegramBot = row["telegram_bot"].string
        settings.unsubscribe = row["unsubscribe"].string
        return settings
    }

    package func messagingSettings() throws -> MessagingSettings { try read { try Self.messagingSettings(in: $0) } }

    package func saveMessagingSettings(_ settings: MessagingSettings) throws -> MessagingSettings {
        if let problem = settings.problem { throw DomainError(.invalidArgument, problem) }
        return try write(.messagingSettingsSave) { transaction in
            try transaction.upsert("messaging_settings", id: Self.messagingSettingsKey, [
                "kinds_off": .text(JSONColumn.encode(settings.kindsOff.map(\.rawValue).sorted())),
                "reminder_offsets": .text(JSONColumn.encode(settings.reminderOffsetsMinutes.sorted(by: >))),
                "min_reminder_lead_minutes": .int(settings.minReminderLeadMinutes), "change_threshold_minutes": .int(settings.changeThresholdMinutes),
                "channel_order": .text(JSONColumn.encode(settings.channelOrder.map(\.rawValue))), "review_delay_minutes": .int(settings.reviewDelayMinutes),
                "review_expiry_hours": .int(settings.reviewExpiryHours), "telegram_bot": .text(settings.telegramBot), "unsubscribe": .text(settings.unsubscribe),
            ])
            return try Self.messagingSettings(in: transaction)
        }
    }

    // MARK: The sending box

    static func sender(of branch: String, in context: some QueryContext) throws -> String {
        try context.fetchOne("SELECT site FROM messaging_senders WHERE id = ?", [.text(branch)])?["site"].string ?? ""
    }

    package func messagingSenders() throws -> [MessagingSender] {
        try read { transaction in
            try transaction.fetchAll("""
                SELECT b.id AS branch, COALESCE(s.site, '') AS site, COALESCE(s.since, 0) AS since, COALESCE(s.set_by, '') AS set_by
                FROM branches b LEFT JOIN messaging_senders s ON s.id = b.id WHERE b.active = 1 ORDER BY b.name, b.id
                """, []).map { row in
                MessagingSender(branchID: BranchID(row["branch"].string)!, site: row["site"].string,
                                since: row["since"].int64 == 0 ? nil : Instant(milliseconds: row["since"].int64), setBy: row["set_by"].string)
            }
        }
    }

    /// Makes this box the one that sends `branch`'s messages.
    package func takeMessaging(branch: BranchID, takeOver: Bool, actor: String) throws -> MessagingSender {
        try write(.messagingSenderSet) { transaction in
            _ = try Loader.branch(branch, in: transaction)
            let current = try Self.sender(of: branch.rawValue, in: transaction)
            if !current.isEmpty, current != siteHex, !takeOver {
                throw DomainError(.senderElsewhere, "box \(current.prefix(16)) sends this branch's messages; take over only when it is off")
            }
            if current != siteHex {
                try transaction.upsert("messaging_senders", id: branch.rawValue, ["site": .text(siteHex), "since": .instant(now), "set_by": .text(actor)])
            }
            return MessagingSender(branchID: branch, site: siteHex, since: now, setBy: actor)
        }
    }

    // MARK: Templates

    static func templateKey(_ kind: MessageKind, _ channel: MessageChannel, _ language: String) -> String {
        derivedKey("message-template", kind.rawValue, channel.rawValue, language)
    }

    static func template(_ kind: MessageKind, _ channel: MessageChannel, _ language: String, in context: some QueryContext) throws -> MessageTemplate {
        guard let row = try context.fetchOne("SELECT * FROM message_templates WHERE id = ? AND customised = 1", [.text(templateKey(kind, channel, language))]) else {
            return DefaultTemplates.template(kind, channel, language)
        }
        return MessageTemplate(kind: kind, channel: channel, language: language, subject: row["subject"].string, body: row["body"].string,
                               providerTemplate: row["provider_template"].string,
                               providerParameters: JSONColumn.decode([String].self, row["provider_parameters"], default: []), customised: true)
    }

    package func messageTemplates() throws -> [MessageTemplate] {
        try read { transaction in
            var all: [MessageTemplate] = []
            for kind in MessageKind.allCases { for channel in MessageChannel.allCases { for language in MessageTemplate.languages {
                all.append(try Self.template(kind, channel, language, in: transaction))
            } } }
            return all
        }
    }

    package func saveTemplate(_ template: MessageTemplate, actor: String) throws -> MessageTemplate {
        guard MessageTemplate.languages.contains(template.language) else { throw DomainError(.notFound, "no language \(template.language)") }
        if let problem = template.problems.first { throw DomainError(.invalidTemplate, "\(problem.field): \(problem.message)") }
        return try write(.messageTemplateSave) { transaction in
            try transaction.upsert("message_templates", id: Self.templateKey(template.kind, template.channel, template.language), [
                "kind": .text(template.kind.rawValue), "channel": .text(template.channel.rawValue), "language": .text(template.language),
                "subject": .text(template.subject), "body": .text(template.body), "provider_template": .text(template.providerTemplate),
                "provider_parameters": .text(JSONColumn.encode(template.providerParameters)), "customised": .bool(true),
                "updated_at": .instant(now), "updated_by": .text(actor),
            ])
            return try Self.template(template.kind, template.channel, template.language, in: transaction)
        }
    }

    package func resetTemplate(_ kind: MessageKind, _ channel: MessageChannel, _ language: String, actor: String) throws {
        guard MessageTemplate.languages.contains(language) else { throw DomainError(.notFound, "no language \(language)") }
        try write(.messageTemplateSave) { transaction in
            let key = Self.templateKey(kind, channel, language)
            if try transaction.fetchOne("SELECT 1 AS one FROM message_templates WHERE id = ?", [.text(key)]) != nil {
                try transaction.update("message_templates", key: .text(key), ["customised": .bool(false), "updated_at": .instant(now), "updated_by": .text(actor)])
            }
        }
    }

    /// A template rendered for an appointment, or for sample data.
    package func previewTemplate(_ template: MessageTemplate, appointment: AppointmentID?) throws -> (subject: String, text: String) {
        if let problem = template.problems.first { throw DomainError(.invalidTemplate, "\(problem.field): \(problem.message)") }
        return try read { transaction in
            if let appointment {
                let found = try Loader.appointment(appointment, in: transaction)
                let values = try MessageVariables.forAppointment(found, language: template.language, history: try Self.appointmentHistory(appointment.rawValue, in: transaction),
                                                                  now: now, in: transaction)
                return template.render(values: values.text, numbers: values.numbers)
            }
            let sample = MessageVariables.sample(language: template.language)
            return template.render(values: sample.text, numbers: sample.numbers)
        }
    }

    // MARK: Clients

    static func clientMessaging(_ id: ClientID, in context: some QueryContext) throws -> ClientMessaging {
        let client = try Loader.client(id, in: context)
        var profile = ClientMessaging(clientID: id, language: "", channelOrder: [], kindsOff: [], telegramChatID: "", telegramName: "", telegramLinkedAt: nil,
                                      consents: [], phone: client.phone, email: client.email, marketingConsent: client.marketingConsent)
        if let row = try context.fetchOne("SELECT * FROM client_messaging WHERE id = ?", [.text(id.rawValue)]) {
            profile.language = row["language"].string
            profile.channelOrder = JSONColumn.decode([String].self, row["channel_order"], default: []).compactMap(MessageChannel.init(rawValue:))
            profile.kindsOff = Set(JSONColumn.decode([String].self, row["kinds_off"], default: []).compactMap(MessageKind.init(rawValue:)))
            profile.telegramChatID = row["telegram_chat_id"].string
            profile.telegramName = row["telegram_name"].string
            profile.telegramLinkedAt = row["telegram_linked_at"].int64 == 0 ? nil : Instant(milliseconds: row["telegram_linked_at"].int64)
        }
        profile.consents = try context.fetchAll("SELECT * FROM client_consents WHERE client_id = ? ORDER BY at, id", [.text(id.rawValue)]).compactMap { row in
            guard let channel = MessageChannel(rawValue: row["channel"].string), let purpose = ClientConsent.Purpose(rawValue: row["purpose"].string) else { return nil }
            return ClientConsent(channel: channel, purpose: purpose, granted: row["granted"].bool, at: Instant(milliseconds: row["at"].int64),
                                 source: row["source"].string, actor: row["actor"].string, note: row["note"].string)
        }
        return profile
    }

    package func clientMessaging(_ id: ClientID) throws -> ClientMessaging { try read { try Self.clientMessaging(id, in: $0) } }

    package func saveClientMessaging(_ id: ClientID, language: String?, channelOrder: [MessageChannel]?, kindsOff: Set<MessageKind>?) throws -> ClientMessaging {
        if let language, !language.isEmpty, !MessageTemplate.languages.contains(language) { throw DomainError(.invalidArgument, "a client's language is ru, kk or en") }
        if let channelOrder, Set(channelOrder).count != channelOrder.count { throw DomainError(.invalidArgument, "a channel is named twice in the order") }
        return try write(.clientMessagingSave) { transaction in
            _ = try Loader.client(id, in: transaction)
            var values: [String: SQLValue] = [:]
            if let language { values["language"] = .text(language) }
            if let channelOrder { values["channel_order"] = .text(JSONColumn.encode(channelOrder.map(\.rawValue))) }
            if let kindsOff { values["kinds_off"] = .text(JSONColumn.encode(kindsOff.map(\.rawValue).sorted())) }
            if !values.isEmpty { try transaction.upsert("client_messaging", id: id.rawValue, values) }
            return try Self.clientMessaging(id, in: transaction)
        }
    }

    package func addConsent(_ id: ClientID, _ consent: ClientConsent) throws -> ClientMessaging {
        guard ClientConsent.sources.contains(consent.source) else { throw DomainError(.invalidArgument, "a consent's source is one of \(ClientConsent.sources.joined(separator: ", "))") }
        guard consent.note.count <= 500 else { throw DomainError(.invalidArgument, "a note is at most 500 characters") }
        return try write(.clientConsentRecord) { transaction in
            _ = try Loader.client(id, in: transaction)
            try insertConsent(id, consent, in: transaction)
            return try Self.clientMessaging(id, in: transaction)
        }
    }

    func insertConsent(_ id: ClientID, _ consent: ClientConsent, in transaction: WriteTransaction) throws {
        try transaction.insert("client_consents", [
            "id": .text(UUIDv7.generate(milliseconds: UInt64(now.milliseconds))), "client_id": .text(id.rawValue), "channel": .text(consent.channel.rawValue),
            "purpose": .text(consent.purpose.rawValue), "granted": .bool(consent.granted), "at": .instant(now), "source": .text(consent.source),
            "actor": .text(consent.actor), "note": .text(consent.note),
        ])
    }

    // MARK: Telegram

    static let telegramLinkDays = 7

    package func createTelegramLink(_ id: ClientID, actor: String) throws -> TelegramLink {
        let settings = try messagingSettings()
        guard !settings.telegramBot.isEmpty else { throw DomainError(.telegramNotConfigured, "set the Telegram bot's user name in the messaging settings first") }
        let payload = Self.makeSecret(bytes: 24)   // 32 characters of A-Za-z0-9_-
        let expires = now.adding(minutes: Self.telegramLinkDays * 24 * 60)
        try write(.telegramLinkCreate) { transaction in
            _ = try Loader.client(id, in: transaction)
            try transaction.insert("telegram_links", [
                "id": .text(UUIDv7.generate(milliseconds: UInt64(now.milliseconds))), "client_id": .text(id.rawValue), "payload_hash": .text(Self.sha256Hex(payload)),
                "created_at": .instant(now), "expires_at": .instant(expires), "created_by": .text(actor),
            ])
        }
        return TelegramLink(payload: payload, url: "https://t.me/\(settings.telegramBot)?start=\(payload)", expiresAt: expires)
    }

    package func unlinkTelegram(_ id: ClientID, actor: String) throws {
        try write(.telegramUnlink) { transaction in
            _ = try Loader.client(id, in: transaction)
            try transaction.upsert("client_messaging", id: id.rawValue, ["telegram_chat_id": .text(""), "telegram_name": .text(""), "telegram_linked_at": .integer(0)])
        }
    }

    /// A `/start <payload>` the bot received: links the chat to the payload's client (once).
    /// Returns the client, or nil for an unknown, used or expired payload.
    package func linkTelegram(payload: String, chatID: String, name: String) throws -> ClientID? {
        guard (1...64).contains(payload.count), payload.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else { return nil }
        return try write(.telegramLink) { transaction in
            guard let row = try transaction.fetchOne("SELECT id, client_id, expires_at, used_at FROM telegram_links WHERE payload_hash = ?", [.text(Self.sha256Hex(payload))]),
                  row["used_at"].int64 == 0, row["expires_at"].int64 > now.milliseconds, let client = ClientID(row["client_id"].string) else { return nil }
            try transaction.update("telegram_links", key: row["id"], ["used_at": .instant(now), "chat_id": .text(chatID)])
            try transaction.upsert("client_messaging", id: client.rawValue, ["telegram_chat_id": .text(chatID), "telegram_name": .text(String(name.prefix(64))),
                                                                            "telegram_linked_at": .instant(now)])
            try insertConsent(client, ClientConsent(channel: .telegram, purpose: .transactional, granted: true, at: now, source: "telegram",
                                                    actor: "telegram", note: "/start"), in: transaction)
            return client
        }
    }

    /// Links a chat to a client directly (provisioning and tests; clients link through `/start`).
    package func linkTelegramChat(client: ClientID, chat: String, name: String = "") throws {
        try write(.telegramLink) { transaction in
            _ = try Loader.client(client, in: transaction)
            try transaction.upsert("client_messaging", id: client.rawValue, ["telegram_chat_id": .text(chat), "telegram_name": .text(name), "telegram_linked_at": .instant(now)])
        }
    }

    /// The bot was blocked or the chat is gone: forget it.
    func forgetTelegramChat(_ chatID: String, in transaction: WriteTransaction) throws {
        for row in try transaction.fetchAll("SELECT id FROM client_messaging WHERE telegram_chat_id = ?", [.text(chatID)]) {
            try transaction.update("client_messaging", key: row["id"], ["telegram_chat_id": .text(""), "telegram_name": .text(""), "telegram_linked_at": .integer(0)])
        }
    }

    /// A Telegram message from a chat that had a review request: a rating 1–5 and a comment
    /// recorded on the visit. Returns nil when the text is no rating or nothing asked for one.
    package func recordTelegramReply(chatID: String, text: String) throws -> VisitReview? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let first = trimmed.first, let rating = first.wholeNumberValue, (1...5).contains(rating) else { return nil }
        var comment = String(trimmed.dropFirst()).trimmingCharacters(in: .whitespacesAndNewlines)
        if let separator = comment.first, [",", ".", "-", "—", ":", "/"].contains(separator) { comment = String(comment.dropFirst()).trimmingCharacters(in: .whitespaces) }
        if trimmed.count > 1, let second = trimmed.dropFirst().first, second.isNumber { return nil }
        return try write(.visitReview) { transaction in
            guard let row = try transaction.fetchOne("""
                SELECT m.id, m.appointment_id, m.client_id FROM messages m JOIN local_message_state s ON s.message_id = m.id
                WHERE m.kind = 'review_request' AND m.channel = 'telegram' AND m.recipient = ? AND s.state IN ('sent', 'delivered', 'read') AND m.not_after > ?
                ORDER BY m.due_at DESC LIMIT 1
                """, [.text(chatID), .instant(now)]) else { return nil }
            let review = VisitReview(appointmentID: AppointmentID(row["appointment_id"].string)!, clientID: ClientID(row["client_id"].string), rating: rating,
                                     comment: String(comment.prefix(1000)), channel: "telegram", at: now)
            try transaction.insert("visit_reviews", [
                "id": .text(UUIDv7.generate(milliseconds: UInt64(now.milliseconds))), "appointment_id": .text(review.appointmentID.rawValue),
                "client_id": .text(review.clientID?.rawValue ?? ""), "rating": .int(rating), "comment": .text(review.comment), "channel": .text("telegram"),
                "message_id": row["id"], "at": .instant(now),
            ])
            return review
        }
    }

    package func reviews(of appointment: AppointmentID) throws -> [VisitReview] {
        try read { transaction in
            _ = try Loader.appointment(appointment, in: transaction)
            return try transaction.fetchAll("SELECT * FROM visit_reviews WHERE appointment_id = ? ORDER BY at, id", [.text(appointment.rawValue)]).map { row in
                VisitReview(appointmentID: appointment, clientID: ClientID(row["client_id"].string), rating: row["rating"].int, comment: row["comment"].string,
                            channel: row["channel"].string, at: Instant(milliseconds: row["at"].int64))
            }
        }
    }

    static func sha256Hex(_ text: String) -> String { secretHash("telegram-link", text) }
}
