import Domain
import Foundation
import HTTPProblem

/// What the box can send by: set by the node from its configuration (docs/messaging.md).
public struct MessagingConfiguration: Sendable {
    /// The channel's provider name (`telegram`, `whatsapp_cloud`, `mobizon`, `twilio`, `smtp`) for
    /// each channel this box has a transport for.
    public var providers: [MessageChannel: String] = [:]
    /// Called after a write that may give the sending service work.
    public var wake: @Sendable () -> Void = {}

    public init() {}
}

extension MessagingHandlers {
    /// Client messages: settings, the sending box, templates, the outbox, clients' channels (docs/messaging.md).
    static let endpoints: [Endpoint] = [
        Endpoint(.get, "/v1/messaging/settings", .messagesRead, answers: [200: .json("MessagingSettings")], MessagingHandlers.settings),
        Endpoint(.put, "/v1/messaging/settings", .messagingSettings, body: .json("MessagingSettingsInput"), answers: [200: .json("MessagingSettings")],
                 MessagingHandlers.saveSettings),
        Endpoint(.post, "/v1/messaging/sender", .messagingSettings, body: .json("MessagingSenderInput"), answers: [200: .json("MessagingSettings")],
                 MessagingHandlers.takeSending),
        Endpoint(.get, "/v1/messaging/templates", .messagesRead, answers: [200: .json("MessageTemplatePage")], MessagingHandlers.templates),
        Endpoint(.put, "/v1/messaging/templates/{kind}/{channel}/{language}", .messagingSettings, body: .json("MessageTemplateInput"),
                 answers: [200: .json("MessageTemplate")], MessagingHandlers.saveTemplate),
        Endpoint(.delete, "/v1/messaging/templates/{kind}/{channel}/{language}", .messagingSettings, answers: [204: .empty], MessagingHandlers.resetTemplate),
        Endpoint(.post, "/v1/messaging/templates/preview", .messagesRead, body: .json("MessagePreviewInput"), answers: [200: .json("MessagePreview")],
                 MessagingHandlers.preview),
        Endpoint(.get, "/v1/messages", .messagesRead, query: ["state", "branch", "client", "appointment", "limit"], answers: [200: .json("MessagePage")],
                 MessagingHandlers.list),
        Endpoint(.get, "/v1/messages/{id}", .messagesRead, answers: [200: .json("Message")], MessagingHandlers.get),
        Endpoint(.post, "/v1/messages/{id}/resend", .messagesSend, body: .optionalJSON("EmptyInput"), answers: [201: .json("Message")], MessagingHandlers.resend),
        Endpoint(.get, "/v1/appointments/{id}/messages", .messagesRead, answers: [200: .json("MessagePage")], MessagingHandlers.appointmentMessages),
        Endpoint(.get, "/v1/appointments/{id}/reviews", .messagesRead, answers: [200: .json("ReviewPage")], MessagingHandlers.reviews),
        Endpoint(.get, "/v1/clients/{id}/messaging", .messagesRead, answers: [200: .json("ClientMessaging")], MessagingHandlers.client),
        Endpoint(.put, "/v1/clients/{id}/messaging", .messagesSend, body: .json("ClientMessagingInput"), answers: [200: .json("ClientMessaging")],
                 MessagingHandlers.saveClient),
        Endpoint(.post, "/v1/clients/{id}/consents", .messagesSend, body: .json("ConsentInput"), answers: [201: .json("ClientMessaging")],
                 MessagingHandlers.consent),
        Endpoint(.post, "/v1/clients/{id}/telegram-link", .messagesSend, body: .optionalJSON("EmptyInput"), answers: [201: .json("TelegramLink")],
                 MessagingHandlers.telegramLink),
        Endpoint(.delete, "/v1/clients/{id}/telegram", .messagesSend, answers: [204: .empty], MessagingHandlers.unlinkTelegram),
    ]
}

enum MessagingHandlers {
    // MARK: Bodies

    struct ChannelBody: Encodable { var channel: String; var configured: Bool; var provider: String }
    struct SenderBody: Encodable { var branch: String; var branchName: String; var site: String; var box: String; var thisBox: Bool; var since: String? }

    struct SettingsBody: Encodable {
        var kinds: [String: Bool]
        var reminderOffsetsMinutes: [Int]
        var minReminderLeadMinutes: Int
        var changeThresholdMinutes: Int
        var channelOrder: [String]
        var reviewDelayMinutes: Int
        var reviewExpiryHours: Int
        var telegramBot: String
        var unsubscribe: String
        var channels: [ChannelBody]
        var senders: [SenderBody]
        var thisBox: String
    }

    static func settingsBody(_ call: Call) async throws -> SettingsBody {
        let settings = try await call.shop.messaging.settings()
        let site = call.shop.messaging.site
        let providers = call.api.configuration.messaging.providers
        var senders: [SenderBody] = []
        for sender in try await call.shop.messaging.senders() {
            let name = (try? await call.shop.catalogue.branch(sender.branchID).name) ?? ""
            senders.append(SenderBody(branch: sender.branchID.rawValue, branchName: name, site: sender.site, box: String(sender.site.prefix(16)),
                                      thisBox: sender.site == site, since: call.zones.format(optional: sender.since, branch: sender.branchID)))
        }
        return SettingsBody(kinds: Dictionary(uniqueKeysWithValues: MessageKind.allCases.map { ($0.rawValue, settings.isOn($0)) }),
                            reminderOffsetsMinutes: settings.reminderOffsetsMinutes, minReminderLeadMinutes: settings.minReminderLeadMinutes,
                            changeThresholdMinutes: settings.changeThresholdMinutes, channelOrder: settings.channelOrder.map(\.rawValue),
                            reviewDelayMinutes: settings.reviewDelayMinutes, reviewExpiryHours: settings.reviewExpiryHours, telegramBot: settings.telegramBot,
                            unsubscribe: settings.unsubscribe,
                            channels: MessageChannel.allCases.map { ChannelBody(channel: $0.rawValue, configured: providers[$0] != nil, provider: providers[$0] ?? "") },
                            senders: senders, thisBox: String(site.prefix(16)))
    }

    struct TemplateBody: Encodable {
        var kind: String
        var channel: String
        var language: String
        var subject: String
        var body: String
        var providerTemplate: String
        var providerParameters: [String]
        var customised: Bool
        init(_ template: MessageTemplate) {
            kind = template.kind.rawValue; channel = template.channel.rawValue; language = template.language; subject = template.subject
            body = template.body; providerTemplate = template.providerTemplate; providerParameters = template.providerParameters; customised = template.customised
        }
    }

    struct TemplatePage: Encodable { var items: [TemplateBody]; var variables: [String] }
    struct PreviewBody: Encodable { var subject: String; var text: String }

    struct EventBody: Encodable { var state: String; var at: String; var reason: String; var box: String }

    struct MessageBody: Encodable {
        var id: String
        var appointment: String?
        var client: String?
        var branch: String
        var kind: String
        var channel: String?
        var recipient: String
        var language: String
        var dueAt: String
        var notAfter: String
        var state: String
        var reason: String
        var provider: String
        var providerId: String
        var attempts: Int
        var box: String
        var subject: String
        var text: String
        var events: [EventBody]

        init(_ message: ClientMessage, zones: Zones) {
            id = message.id; appointment = message.appointmentID?.rawValue; client = message.clientID?.rawValue; branch = message.branchID.rawValue
            kind = message.kind.rawValue; channel = message.channel?.rawValue; recipient = MessagingHandlers.mask(message.recipient, channel: message.channel)
            language = message.language; dueAt = zones.format(message.dueAt, branch: message.branchID)
            notAfter = zones.format(message.notAfter, branch: message.branchID); state = message.state.rawValue; reason = message.reason
            provider = message.provider; providerId = message.providerID; attempts = message.attempts; box = String(message.site.prefix(16))
            subject = message.subject; text = message.text
            events = message.events.map { EventBody(state: $0.state, at: zones.format($0.at, branch: message.branchID),
                                                    reason: $0.reason.components(separatedBy: "|next_at=")[0], box: String($0.site.prefix(16))) }
        }
    }

    struct ReviewBody: Encodable { var rating: Int; var comment: String; var channel: String; var at: String }

    struct ClientChannelBody: Encodable {
        var channel: String
        var address: String
        var linked: Bool
        var transactional: Bool
        var marketing: Bool
        var usable: Bool
    }
    struct TelegramBody: Encodable { var linked: Bool; var name: String; var linkedAt: String? }
    struct ConsentBody: Encodable { var channel: String; var purpose: String; var granted: Bool; var at: String; var source: String; var actor: String; var note: String }
    struct ClientBody: Encodable {
        var client: String
        var language: String
        var channelOrder: [String]
        var kindsOff: [String]
        var channels: [ClientChannelBody]
        var telegram: TelegramBody
        var consents: [ConsentBody]
    }

    static func clientBody(_ profile: ClientMessaging, call: Call) -> ClientBody {
        let providers = call.api.configuration.messaging.providers
        let channels = MessageChannel.allCases.map { channel in
            let address = profile.address(channel)
            return ClientChannelBody(channel: channel.rawValue, address: mask(address, channel: channel), linked: !address.isEmpty,
                                     transactional: profile.allows(channel, .transactional), marketing: profile.allows(channel, .marketing),
                                     usable: !address.isEmpty && profile.allows(channel, .transactional) && providers[channel] != nil)
        }
        return ClientBody(client: profile.clientID.rawValue, language: profile.language, channelOrder: profile.channelOrder.map(\.rawValue),
                          kindsOff: profile.kindsOff.map(\.rawValue).sorted(), channels: channels,
                          telegram: TelegramBody(linked: !profile.telegramChatID.isEmpty, name: profile.telegramName,
                                                 linkedAt: call.zones.format(optional: profile.telegramLinkedAt, branch: nil)),
                          consents: profile.consents.map { ConsentBody(channel: $0.channel.rawValue, purpose: $0.purpose.rawValue, granted: $0.granted,
                                                                       at: call.zones.format($0.at, branch: nil), source: $0.source, actor: $0.actor, note: $0.note) })
    }

    /// An address shown to staff without giving it away: `+7 701 ••• 45 67`, `a•••@mail.kz`, `chat ••••5678`.
    static func mask(_ address: String, channel: MessageChannel?) -> String {
        guard !address.isEmpty, let channel else { return "" }
        switch channel {
        case .telegram:
            return "chat ••••" + address.suffix(4)
        case .email:
            guard let at = address.firstIndex(of: "@") else { return "•••" }
            return String(address.prefix(1)) + "•••" + address[at...]
        case .sms, .whatsapp:
            let digits = address.filter(\.isNumber)
            guard digits.count > 6 else { return "•••" }
            return "+" + digits.prefix(digits.count - 7) + " ••• " + digits.suffix(4).prefix(2) + " " + digits.suffix(2)
        }
    }

    // MARK: Settings

    static func settings(_ call: Call) async throws -> Reply {
        try call.query().validate()
        return .json(try await settingsBody(call))
    }

    static func saveSettings(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        var settings = try await call.shop.messaging.settings()
        if let kinds = body.object("kinds") {
            for kind in MessageKind.allCases {
                if let on = kinds.bool(kind.rawValue) { if on { settings.kindsOff.remove(kind) } else { settings.kindsOff.insert(kind) } }
            }
            kinds.finish()
        }
        if let offsets = body.integers("reminder_offsets_minutes", maxCount: 4, range: 5...20_160) { settings.reminderOffsetsMinutes = offsets }
        if let value = body.int("min_reminder_lead_minutes", range: 0...1440) { settings.minReminderLeadMinutes = value }
        if let value = body.int("change_threshold_minutes", range: 0...1440) { settings.changeThresholdMinutes = value }
        if let order = body.strings("channel_order", maxCount: 4, maxLength: 16) {
            settings.channelOrder = order.compactMap(MessageChannel.init(rawValue:))
            if settings.channelOrder.count != order.count { body.reject("channel_order", "names a channel other than telegram, whatsapp, sms, email") }
        }
        if let value = body.int("review_delay_minutes", range: 0...10_080) { settings.reviewDelayMinutes = value }
        if let value = body.int("review_expiry_hours", range: 1...720) { settings.reviewExpiryHours = value }
        if let value = body.string("telegram_bot", maxLength: 32) { settings.telegramBot = value.hasPrefix("@") ? String(value.dropFirst()) : value }
        if let value = body.string("unsubscribe", maxLength: 500) { settings.unsubscribe = value }
        try body.validate()
        _ = try await call.shop.messaging.saveSettings(settings, as: call.acting)
        call.api.configuration.messaging.wake()
        return .json(try await settingsBody(call))
    }

    static func takeSending(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let branch = body.id("branch", required: true, as: BranchID.self)
        let takeOver = body.bool("take_over") ?? false
        try body.validate()
        _ = try await call.shop.messaging.takeSending(branch: branch!, takeOver: takeOver, as: call.acting)
        call.api.configuration.messaging.wake()
        return .json(try await settingsBody(call))
    }

    // MARK: Templates

    static func pathTemplate(_ call: Call) throws(APIError) -> (MessageKind, MessageChannel, String) {
        guard let kind = MessageKind(rawValue: call.parameter("kind")), let channel = MessageChannel(rawValue: call.parameter("channel")),
              MessageTemplate.languages.contains(call.parameter("language")) else {
            throw APIError(status: 404, kind: "not_found", title: "Not found",
                           detail: "no template \(call.parameter("kind").prefix(32))/\(call.parameter("channel").prefix(32))/\(call.parameter("language").prefix(8))")
        }
        return (kind, channel, call.parameter("language"))
    }

    static func templates(_ call: Call) async throws -> Reply {
        try call.query().validate()
        return .json(TemplatePage(items: try await call.shop.messaging.templates().map(TemplateBody.init), variables: MessageTemplate.variables))
    }

    static func readTemplate(_ body: BodyReader, kind: MessageKind, channel: MessageChannel, language: String) throws(APIError) -> MessageTemplate {
        let subject = body.string("subject", maxLength: 300) ?? ""
        let text = body.string("body", required: true, maxLength: 2000, multiline: true) ?? ""
        let providerTemplate = body.string("provider_template", maxLength: 512) ?? ""
        let parameters = body.strings("provider_parameters", maxCount: 10, maxLength: 32) ?? []
        try body.validate()
        let template = MessageTemplate(kind: kind, channel: channel, language: language, subject: subject, body: text, providerTemplate: providerTemplate,
                                       providerParameters: parameters, customised: true)
        let problems = template.problems
        guard problems.isEmpty else {
            let errors = problems.map { FieldError(field: $0.field, message: $0.message) }
            throw APIError(status: 422, kind: "invalid_template", title: "The template cannot be used", detail: ProblemDocument.summary(of: errors), errors: errors)
        }
        return template
    }

    static func saveTemplate(_ call: Call) async throws -> Reply {
        let (kind, channel, language) = try pathTemplate(call)
        let template = try readTemplate(try call.bodyReader(), kind: kind, channel: channel, language: language)
        return .json(TemplateBody(try await call.shop.messaging.saveTemplate(template, as: call.acting)))
    }

    static func resetTemplate(_ call: Call) async throws -> Reply {
        let (kind, channel, language) = try pathTemplate(call)
        try await call.shop.messaging.resetTemplate(kind, channel, language, as: call.acting)
        return .noContent
    }

    static func preview(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let kind = body.enumeration("kind", required: true, as: MessageKind.self, allowed: MessageKind.allCases)
        let channel = body.enumeration("channel", required: true, as: MessageChannel.self, allowed: MessageChannel.allCases)
        let language = body.enumeration("language", required: true, as: PreviewLanguage.self, allowed: PreviewLanguage.allCases)
        let appointment = body.id("appointment", as: AppointmentID.self)
        guard let kind, let channel, let language else { try body.validate(); return .noContent }
        let template = try readTemplate(body, kind: kind, channel: channel, language: language.rawValue)
        let rendered = try await call.shop.messaging.preview(template, appointment: appointment)
        return .json(PreviewBody(subject: rendered.subject, text: rendered.text))
    }

    enum PreviewLanguage: String, CaseIterable { case ru, kk, en }

    // MARK: The outbox

    static func list(_ call: Call) async throws -> Reply {
        let query = call.query()
        let states = query.enumeration("state", as: MessageState.self) ?? []
        let branch = query.id("branch", as: BranchID.self)
        let client = query.id("client", as: ClientID.self)
        let appointment = query.id("appointment", as: AppointmentID.self)
        let limit = query.int("limit", range: 1...200) ?? 200
        try query.validate()
        let messages = try await call.shop.messaging.messages(state: states, branch: branch, client: client, appointment: appointment, limit: limit)
        return .json(Page(items: messages.map { MessageBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func messageID(_ call: Call) throws(APIError) -> String {
        let raw = call.parameter("id")
        guard raw.count == 36, Identifier<AppointmentTag>(raw) != nil else {
            throw APIError.invalidParameters([FieldError(field: "id", message: "\"\(raw.prefix(64))\" is not a message id")])
        }
        return raw
    }

    static func get(_ call: Call) async throws -> Reply {
        .json(MessageBody(try await call.shop.messaging.message(try messageID(call)), zones: call.zones))
    }

    static func resend(_ call: Call) async throws -> Reply {
        let id = try messageID(call)
        if !call.body.isEmpty { try call.bodyReader().validate() }
        let message = try await call.shop.messaging.resend(id, as: call.acting)
        call.api.configuration.messaging.wake()
        return .json(MessageBody(message, zones: call.zones), status: 201, location: "/v1/messages/\(message.id)")
    }

    static func appointmentMessages(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: AppointmentID.self)
        _ = try await call.shop.calendar.appointment(id)
        let messages = try await call.shop.messaging.messages(appointment: id)
        return .json(Page(items: messages.map { MessageBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func reviews(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: AppointmentID.self)
        let reviews = try await call.shop.messaging.reviews(of: id)
        return .json(Page(items: reviews.map { ReviewBody(rating: $0.rating, comment: $0.comment, channel: $0.channel, at: call.zones.format($0.at, branch: nil)) },
                          nextCursor: nil))
    }

    // MARK: Clients

    static func client(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ClientID.self)
        return .json(clientBody(try await call.shop.messaging.client(id), call: call))
    }

    static func saveClient(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ClientID.self)
        let body = try call.bodyReader()
        let language = body.enumeration("language", as: ClientLanguage.self, allowed: ClientLanguage.allCases)
        var order: [MessageChannel]?
        if let names = body.strings("channel_order", maxCount: 4, maxLength: 16) {
            order = names.compactMap(MessageChannel.init(rawValue:))
            if order?.count != names.count { body.reject("channel_order", "names a channel other than telegram, whatsapp, sms, email") }
        }
        var kinds: Set<MessageKind>?
        if let names = body.strings("kinds_off", maxCount: 7, maxLength: 32) {
            kinds = Set(names.compactMap(MessageKind.init(rawValue:)))
            if kinds?.count != Set(names).count { body.reject("kinds_off", "names an unknown kind of message") }
        }
        try body.validate()
        let profile = try await call.shop.messaging.saveClient(id, language: language?.rawValue, channelOrder: order, kindsOff: kinds, as: call.acting)
        call.api.configuration.messaging.wake()
        return .json(clientBody(profile, call: call))
    }

    enum ClientLanguage: String, CaseIterable { case ru, kk, en, none = "" }

    static func consent(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ClientID.self)
        let body = try call.bodyReader()
        let channel = body.enumeration("channel", required: true, as: MessageChannel.self, allowed: MessageChannel.allCases)
        let purpose = body.enumeration("purpose", required: true, as: ClientConsent.Purpose.self, allowed: ClientConsent.Purpose.allCases)
        let granted = body.bool("granted", required: true)
        let source = body.enumeration("source", required: true, as: ConsentSource.self, allowed: ConsentSource.allCases)
        let note = body.string("note", maxLength: 500, multiline: true) ?? ""
        try body.validate()
        let profile = try await call.shop.messaging.addConsent(id, channel: channel!, purpose: purpose!, granted: granted!, source: source!.rawValue, note: note,
                                                                as: call.acting)
        call.api.configuration.messaging.wake()
        return .json(clientBody(profile, call: call), status: 201)
    }

    enum ConsentSource: String, CaseIterable { case inPerson = "in_person", phone, web, telegram, written }

    struct LinkBody: Encodable { var payload: String; var url: String; var expiresAt: String }

    static func telegramLink(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ClientID.self)
        if !call.body.isEmpty { try call.bodyReader().validate() }
        let link = try await call.shop.messaging.telegramLink(id, as: call.acting)
        return .json(LinkBody(payload: link.payload, url: link.url, expiresAt: call.zones.format(link.expiresAt, branch: nil)), status: 201)
    }

    static func unlinkTelegram(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ClientID.self)
        try await call.shop.messaging.unlinkTelegram(id, as: call.acting)
        return .noContent
    }
}
