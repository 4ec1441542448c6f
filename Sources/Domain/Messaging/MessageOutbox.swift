import Foundation
import Replication

/// The outbox: planning a subject's messages, handing due ones to the sending service, and
/// recording what the providers said (docs/messaging.md §3–§4).
extension Shop {
    /// Attempts before a message that keeps meeting `retryable` failures is given up.
    static let maxMessageAttempts = 8

    // MARK: Planning

    static func appointmentHistory(_ id: String, in context: some QueryContext) throws -> [AppointmentEvent] {
        try context.fetchAll("SELECT id, at, actor, action, from_status, to_status, detail FROM appointment_events WHERE appointment_id = ? ORDER BY hlc, id",
                             [.text(id)]).map { row in
            AppointmentEvent(id: row["id"].string, appointmentID: AppointmentID(id)!, at: Instant(milliseconds: row["at"].int64), actor: row["actor"].string,
                             action: row["action"].string, fromStatus: AppointmentStatus(rawValue: row["from_status"].string),
                             toStatus: AppointmentStatus(rawValue: row["to_status"].string), detail: row["detail"].string)
        }
    }

    static func existingMessages(subject: String, in context: some QueryContext) throws -> [MessagePlanner.Existing] {
        try context.fetchAll("""
            SELECT m.id, m.kind, m.variant, m.channel, COALESCE(s.state, 'scheduled') AS state, COALESCE(s.reason, '') AS reason
            FROM messages m LEFT JOIN local_message_state s ON s.message_id = m.id WHERE m.subject_id = ?
            """, [.text(subject)]).compactMap { row in
            guard let kind = MessageKind(rawValue: row["kind"].string) else { return nil }
            return MessagePlanner.Existing(id: row["id"].string, kind: kind, variant: row["variant"].string, channel: MessageChannel(rawValue: row["channel"].string),
                                           state: MessageState(rawValue: row["state"].string) ?? .scheduled, reason: row["reason"].string)
        }
    }

    /// The planner for a subject, or nil when the subject is gone or not this box's to send.
    func planner(subject: String, kind: String, channels: Set<MessageChannel>, in context: some QueryContext) throws -> (MessagePlanner, appointment: String, client: String)? {
        let settings = try Self.messagingSettings(in: context)
        var branchID = "", clientID = "", appointmentID = ""
        let planSubject: MessagePlanner.Subject
        switch kind {
        case "appointment":
            guard let id = AppointmentID(subject), let appointment = try? Loader.appointment(id, in: context) else { return nil }
            branchID = appointment.branchID.rawValue
            clientID = appointment.clientID?.rawValue ?? ""
            appointmentID = subject
            planSubject = .appointment(appointment, reschedules: try Self.appointmentHistory(subject, in: context))
        case "waitlist":
            guard let row = try context.fetchOne("SELECT branch_id, client_id, status, offered_start, offered_at FROM waitlist WHERE id = ?", [.text(subject)]),
                  row["status"].string == "offered", row["offered_start"].int64 > 0 else { return nil }
            branchID = row["branch_id"].string
            clientID = row["client_id"].string
            let branch = try Loader.branch(BranchID(branchID)!, in: context)
            planSubject = .waitlistOffer(id: subject, start: Instant(milliseconds: row["offered_start"].int64), offeredAt: Instant(milliseconds: row["offered_at"].int64),
                                         holdMinutes: branch.policy.slotHoldMinutes * 6)
        case "sale":
            guard let row = try context.fetchOne("SELECT branch_id, client_id, created_at FROM sales WHERE id = ?", [.text(subject)]),
                  try context.fetchOne("SELECT url FROM fiscal_receipts WHERE document_id = ? AND url <> '' LIMIT 1", [.text(subject)]) != nil,
                  try context.fetchOne("SELECT 1 AS one FROM sale_voids WHERE sale_id = ?", [.text(subject)]) == nil else { return nil }
            branchID = row["branch_id"].string
            clientID = row["client_id"].string
            planSubject = .receipt(id: subject, at: Instant(milliseconds: row["created_at"].int64))
        default:
            return nil
        }
        guard let branch = BranchID(branchID) else { return nil }
        let profile = try ClientID(clientID).map { try Self.clientMessaging($0, in: context) }
        let planner = MessagePlanner(subjectID: subject, subject: planSubject, branch: try Loader.branch(branch, in: context), profile: profile, settings: settings,
                                     channels: channels, existing: try Self.existingMessages(subject: subject, in: context), now: now)
        return (planner, appointmentID, clientID)
    }

    /// Brings a subject's messages in line with what the planner wants: inserts the missing ones,
    /// skips the unsent ones no longer wanted (with the reason). Runs on the sending box only.
    func reconcile(subject: String, kind: String, channels: Set<MessageChannel>, in transaction: WriteTransaction) throws {
        guard let (planner, appointment, client) = try planner(subject: subject, kind: kind, channels: channels, in: transaction) else {
            // The subject is gone or no longer calls for messages (an offer taken back, a sale voided).
            for message in try Self.existingMessages(subject: subject, in: transaction) where message.state == .scheduled {
                guard let branch = try transaction.fetchOne("SELECT branch_id FROM messages WHERE id = ?", [.text(message.id)])?["branch_id"].string,
                      try Self.sender(of: branch, in: transaction) == siteHex else { continue }
                try addMessageEvent(message.id, state: "skipped", reason: "not_needed", in: transaction)
            }
            return
        }
        guard try Self.sender(of: planner.branch.id.rawValue, in: transaction) == siteHex else { return }
        let wanted = planner.plan()
        let wantedIDs = Set(wanted.map(\.id))
        for message in planner.existing where message.state == .scheduled && !wantedIDs.contains(message.id) {
            if message.variant.contains("#resend") {
                // A person asked for it again: it goes unless its moment has passed.
                guard let reason = planner.reason(notResending: message) else { continue }
                try addMessageEvent(message.id, state: "skipped", reason: reason, in: transaction)
                continue
            }
            try addMessageEvent(message.id, state: "skipped", reason: planner.reason(notWanting: message, wanted: wanted), in: transaction)
        }
        let existingIDs = Set(planner.existing.map(\.id))
        for message in wanted where !existingIDs.contains(message.id) {
            // Stale news is not news: a confirmation or change more than a day late is not sent.
            if [.confirmation, .change, .cancellation].contains(message.kind), message.dueAt < now.adding(minutes: -24 * 60) { continue }
            try transaction.insert("messages", [
                "id": .text(message.id), "subject_id": .text(subject), "appointment_id": .text(appointment), "client_id": .text(client),
                "branch_id": .text(planner.branch.id.rawValue), "kind": .text(message.kind.rawValue), "channel": .text(message.channel?.rawValue ?? ""),
                "recipient": .text(message.recipient), "language": .text(message.language), "variant": .text(message.variant),
                "due_at": .instant(message.dueAt), "not_after": .instant(message.notAfter), "site": .text(siteHex), "created_at": .instant(now),
            ])
            if message.channel == nil { try addMessageEvent(message.id, state: "skipped", reason: "no_channel", in: transaction) }
        }
    }

    /// Plans the queued subjects (at most `limit`); returns how many were taken off the queue.
    package func planQueuedMessages(channels: Set<MessageChannel>, limit: Int) throws -> Int {
        // Nothing queued: no write (an empty write would still wake the change feed's readers).
        guard try read({ try $0.scalar("SELECT EXISTS (SELECT 1 FROM local_message_queue)")?.integerValue }) == 1 else { return 0 }
        return try write(.messagePlan) { transaction in
            let queued = try transaction.fetchAll("SELECT subject_id, kind FROM local_message_queue ORDER BY queued_at LIMIT ?", [.int(limit)])
            for row in queued {
                if !channels.isEmpty { try reconcile(subject: row["subject_id"].string, kind: row["kind"].string, channels: channels, in: transaction) }
                try transaction.execute("DELETE FROM local_message_queue WHERE subject_id = ?", [row["subject_id"]])
            }
            return queued.count
        }
    }

    package func queuedMessageSubjects() throws -> Int {
        try read { try $0.scalar("SELECT COUNT(*) FROM local_message_queue")?.integerValue.map(Int.init) ?? 0 }
    }

    // MARK: Sending

    /// Due messages this box sends, earliest first.
    package func dueMessages(limit: Int) throws -> [(id: String, channel: String, recipient: String)] {
        try read { transaction in
            try transaction.fetchAll("""
                SELECT s.message_id, m.channel, m.recipient FROM local_message_state s JOIN messages m ON m.id = s.message_id
                JOIN messaging_senders ms ON ms.id = s.branch_id AND ms.site = ?
                WHERE s.state = 'scheduled' AND s.next_at <= ? ORDER BY s.next_at, s.message_id LIMIT ?
                """, [.text(siteHex), .instant(now), .int(limit)]).map { ($0["message_id"].string, $0["channel"].string, $0["recipient"].string) }
        }
    }

    /// When the next scheduled message of this box falls due.
    package func nextMessageDue() throws -> Instant? {
        try read { transaction in
            try transaction.scalar("""
                SELECT MIN(s.next_at) FROM local_message_state s JOIN messaging_senders ms ON ms.id = s.branch_id AND ms.site = ? WHERE s.state = 'scheduled'
                """, [.text(siteHex)])?.integerValue.map { Instant(milliseconds: $0) }
        }
    }

    /// Re-reads the message's subject just before sending: skips a message no longer wanted,
    /// expires one whose moment has passed, else renders it and commits `sending`.
    package func prepareMessage(_ id: String, channels: Set<MessageChannel>) throws -> PreparedMessage {
        try write(.messageSend) { transaction in
            guard let row = try transaction.fetchOne("SELECT * FROM messages WHERE id = ?", [.text(id)]),
                  let state = try transaction.fetchOne("SELECT state, attempts FROM local_message_state WHERE message_id = ?", [.text(id)]) else {
                return .settled(.skipped, reason: "not_found")
            }
            guard state["state"].string == MessageState.scheduled.rawValue else { return .settled(MessageState(rawValue: state["state"].string) ?? .skipped, reason: "") }
            guard try Self.sender(of: row["branch_id"].string, in: transaction) == siteHex else { return .settled(.scheduled, reason: "not_this_box") }
            let subject = row["subject_id"].string
            let kind = row["appointment_id"].string.isEmpty ? (MessageKind(rawValue: row["kind"].string) == .receipt ? "sale" : "waitlist") : "appointment"
            try reconcile(subject: subject, kind: kind, channels: channels, in: transaction)
            try transaction.refreshDerivedState()   // the states as the re-read left them
            let after = try transaction.fetchOne("SELECT state, reason FROM local_message_state WHERE message_id = ?", [.text(id)])
            if let after, after["state"].string != MessageState.scheduled.rawValue {
                return .settled(MessageState(rawValue: after["state"].string) ?? .skipped, reason: after["reason"].string)
            }
            if row["not_after"].int64 <= now.milliseconds {
                try addMessageEvent(id, state: "expired", reason: "too_late", in: transaction)
                return .settled(.expired, reason: "too_late")
            }
            guard let channel = MessageChannel(rawValue: row["channel"].string), let kindValue = MessageKind(rawValue: row["kind"].string) else {
                try addMessageEvent(id, state: "skipped", reason: "no_channel", in: transaction)
                return .settled(.skipped, reason: "no_channel")
            }
            let language = row["language"].string
            let template = try Self.template(kindValue, channel, language, in: transaction)
            let values = try variables(message: row, kind: kindValue, language: language, in: transaction)
            let rendered = template.render(values: values.text, numbers: values.numbers)
            let settings = try Self.messagingSettings(in: transaction)
            var whatsapp: WhatsAppTemplateCall?
            if channel == .whatsapp, !template.providerTemplate.isEmpty {
                whatsapp = WhatsAppTemplateCall(name: template.providerTemplate, languageCode: language,
                                                parameters: template.providerParameters.map { values.text[$0] ?? values.numbers[$0].map(String.init) ?? "" })
            }
            let attempt = state["attempts"].int + 1
            try addMessageEvent(id, state: "sending", attempt: attempt, reason: "", subject: rendered.subject, body: rendered.text, in: transaction)
            return .send(OutgoingMessage(messageID: id, channel: channel, recipient: row["recipient"].string, language: language, subject: rendered.subject,
                                         text: rendered.text, whatsappTemplate: whatsapp, unsubscribe: settings.unsubscribe), attempt: attempt)
        }
    }

    func variables(message row: Row, kind: MessageKind, language: String, in context: some QueryContext) throws -> MessageVariables {
        let subject = row["subject_id"].string
        if let appointment = AppointmentID(row["appointment_id"].string) {
            return try MessageVariables.forAppointment(try Loader.appointment(appointment, in: context), language: language,
                                                      history: try Self.appointmentHistory(appointment.rawValue, in: context), now: now, in: context)
        }
        var values = MessageVariables()
        let branch = try Loader.branch(BranchID(row["branch_id"].string)!, in: context)
        let zone = try ZoneRules.named(branch.timeZone)
        values.setBranch(branch)
        let name = (try? ClientID(row["client_id"].string).map { try Loader.client($0, in: context).name }) ?? nil
        values.text["client_name"] = name ?? ""
        values.text["first_name"] = MessageVariables.firstName(name ?? "")
        values.text["rating_prompt"] = DefaultTemplates.ratingPrompt[language] ?? ""
        if kind == .waitlistOffer, let entry = WaitlistEntryID(subject).flatMap({ try? Loader.waitlistEntry($0, in: context) }), let start = entry.offeredStart {
            let offering = try Loader.offering(entry.offeringID, in: context)
            values.text["services"] = offering.name(in: language)
            values.numbers["services_count"] = 1
            values.text["staff_name"] = (entry.offeredStaffID ?? entry.staffID).flatMap { try? Loader.staff($0, in: context).name } ?? ""
            values.setStart(start, end: start.adding(minutes: offering.durationMinutes), zone: zone, language: language, now: now)
            values.text["code"] = "W-" + subject.replacingOccurrences(of: "-", with: "").suffix(6).uppercased()
            values.text["price"] = MessageVariables.price(offering.price)
        }
        if kind == .receipt, let sale = SaleID(subject).flatMap({ try? Ledger.sale($0, in: context, prefix: Shop.orderPrefix(hex:)) }) {
            values.text["price"] = MessageVariables.price(Money(amountMinor: sale.totalMinor, currency: sale.currency))
            values.text["code"] = sale.number
            values.text["link"] = try context.fetchOne("SELECT url FROM fiscal_receipts WHERE document_id = ? AND url <> '' ORDER BY at LIMIT 1", [.text(subject)])?["url"].string ?? ""
        }
        for name in MessageTemplate.variables where values.text[name] == nil && !MessageTemplate.numericVariables.contains(name) { values.text[name] = "" }
        return values
    }

    /// What the transport said about an attempt.
    package enum SendOutcome: Sendable {
        case sent(SentMessage, provider: String)
        case failed(MessageSendError, provider: String)
    }

    package func recordSendOutcome(_ id: String, attempt: Int, _ outcome: SendOutcome) throws {
        try write(.messageSend) { transaction in
            switch outcome {
            case .sent(let sent, let provider):
                try addMessageEvent(id, state: sent.status == .delivered ? "delivered" : "sent", attempt: attempt, provider: provider, providerID: sent.providerID,
                                    reason: "", in: transaction)
            case .failed(let error, let provider):
                switch error {
                case .retryable(let reason, let after):
                    if attempt >= Self.maxMessageAttempts {
                        try addMessageEvent(id, state: "failed", attempt: attempt, provider: provider, reason: "retries_exhausted: \(reason)", in: transaction)
                    } else {
                        let backoff = max(Int64(after ?? 0) * 1000, Int64(30_000) << Int64(min(attempt - 1, 8)))
                        try addMessageEvent(id, state: "retry", attempt: attempt, provider: provider, reason: reason, nextAt: now.adding(milliseconds: backoff), in: transaction)
                    }
                case .rejected(let reason, let unlink):
                    try addMessageEvent(id, state: "failed", attempt: attempt, provider: provider, reason: "rejected: \(reason)", in: transaction)
                    if let row = try transaction.fetchOne("SELECT subject_id, appointment_id, channel, recipient FROM messages WHERE id = ?", [.text(id)]) {
                        if unlink, row["channel"].string == MessageChannel.telegram.rawValue { try forgetTelegramChat(row["recipient"].string, in: transaction) }
                        // Fall back to the next channel.
                        let kind = row["appointment_id"].string.isEmpty ? "waitlist" : "appointment"
                        try transaction.execute("INSERT OR REPLACE INTO local_message_queue (subject_id, kind, queued_at) VALUES (?, ?, ?)",
                                                [row["subject_id"], .text(kind), .instant(now)])
                    }
                case .outcomeUnknown(let reason):
                    try addMessageEvent(id, state: "failed", attempt: attempt, provider: provider, reason: "outcome_unknown: \(reason)", in: transaction)
                }
            }
        }
    }

    /// Messages this box left `sending` when it stopped: their outcome is unknown, and they are
    /// never sent again by themselves (a person may resend).
    package func settleInterruptedMessages() throws -> Int {
        try write(.messageSend) { transaction in
            let rows = try transaction.fetchAll("""
                SELECT s.message_id FROM local_message_state s JOIN messages m ON m.id = s.message_id WHERE s.state = 'sending' AND m.site = ?
                """, [.text(siteHex)])
            for row in rows {
                try addMessageEvent(row["message_id"].string, state: "failed", reason: "outcome_unknown: the box stopped while sending", in: transaction)
            }
            return rows.count
        }
    }

    /// Delivery statuses the providers reported (polled or by webhook), in any order.
    package func recordDeliveryUpdates(_ updates: [DeliveryUpdate], provider: String) throws -> Int {
        guard !updates.isEmpty else { return 0 }
        return try write(.messageSend) { transaction in
            var recorded = 0
            for update in updates where !update.providerID.isEmpty {
                guard let row = try transaction.fetchOne("""
                    SELECT e.message_id, s.state FROM message_events e JOIN local_message_state s ON s.message_id = e.message_id
                    WHERE e.provider_id = ? AND e.state IN ('sent', 'delivered') LIMIT 1
                    """, [.text(update.providerID)]) else { continue }
                let id = row["message_id"].string
                let state = update.status == .accepted ? "sent" : update.status.rawValue
                if try transaction.fetchOne("SELECT 1 AS one FROM message_events WHERE message_id = ? AND state = ?", [.text(id), .text(state)]) != nil { continue }
                try addMessageEvent(id, state: state, provider: provider, providerID: update.providerID, reason: update.reason, in: transaction)
                recorded += 1
            }
            return recorded
        }
    }

    /// Provider ids of this box's messages sent by `provider` in the last two days whose delivery is not known yet.
    package func awaitingDelivery(provider: String, limit: Int) throws -> [String] {
        try read { transaction in
            try transaction.fetchAll("""
                SELECT s.provider_id FROM local_message_state s JOIN messages m ON m.id = s.message_id
                WHERE s.state = 'sent' AND m.site = ? AND s.provider_id <> '' AND s.updated_at > ?
                  AND EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = s.message_id AND e.provider = ?)
                ORDER BY s.updated_at LIMIT ?
                """, [.text(siteHex), .instant(now.adding(minutes: -48 * 60)), .text(provider), .int(limit)]).map { $0["provider_id"].string }
        }
    }

    // MARK: Reading

    package func messages(state: [MessageState], branch: BranchID?, client: ClientID?, appointment: AppointmentID?, limit: Int) throws -> [ClientMessage] {
        try readSnapshot { transaction in
            var filters: [String] = [], arguments: [SQLValue] = []
            if !state.isEmpty {
                filters.append("s.state IN (\(state.map { _ in "?" }.joined(separator: ", ")))")
                arguments += state.map { .text($0.rawValue) }
            }
            if let branch { filters.append("m.branch_id = ?"); arguments.append(.text(branch.rawValue)) }
            if let client { filters.append("m.client_id = ?"); arguments.append(.text(client.rawValue)) }
            if let appointment { filters.append("m.appointment_id = ?"); arguments.append(.text(appointment.rawValue)) }
            let rows = try transaction.fetchAll("""
                SELECT m.id FROM messages m JOIN local_message_state s ON s.message_id = m.id
                \(filters.isEmpty ? "" : "WHERE " + filters.joined(separator: " AND ")) ORDER BY m.due_at DESC, m.id LIMIT ?
                """, arguments + [.int(limit)])
            return try rows.compactMap { try Self.message($0["id"].string, in: transaction) }
        }
    }

    package func message(_ id: String) throws -> ClientMessage {
        try read { transaction in
            guard let found = try Self.message(id, in: transaction) else { throw DomainError(.notFound, "no message \(id)") }
            return found
        }
    }

    static func message(_ id: String, in context: some QueryContext) throws -> ClientMessage? {
        guard let row = try context.fetchOne("SELECT * FROM messages WHERE id = ?", [.text(id)]), let kind = MessageKind(rawValue: row["kind"].string),
              let branch = BranchID(row["branch_id"].string) else { return nil }
        let state = try context.fetchOne("SELECT * FROM local_message_state WHERE message_id = ?", [.text(id)])
        let eventRows = try context.fetchAll("SELECT * FROM message_events WHERE message_id = ? ORDER BY at, id", [.text(id)])
        let events = eventRows.map { event in
            MessageEvent(state: event["state"].string, at: Instant(milliseconds: event["at"].int64), site: event["site"].string, attempt: event["attempt"].int,
                         provider: event["provider"].string, providerID: event["provider_id"].string, reason: event["reason"].string)
        }
        let lastSending = eventRows.last { $0["state"].string == "sending" }
        return ClientMessage(id: id, subjectID: row["subject_id"].string, appointmentID: AppointmentID(row["appointment_id"].string),
                             clientID: ClientID(row["client_id"].string), branchID: branch, kind: kind, channel: MessageChannel(rawValue: row["channel"].string),
                             recipient: row["recipient"].string, language: row["language"].string, variant: row["variant"].string,
                             dueAt: Instant(milliseconds: row["due_at"].int64), notAfter: Instant(milliseconds: row["not_after"].int64), site: row["site"].string,
                             createdAt: Instant(milliseconds: row["created_at"].int64),
                             state: MessageState(rawValue: state?["state"].string ?? "") ?? .scheduled, reason: state?["reason"].string ?? "",
                             provider: events.last(where: { !$0.provider.isEmpty })?.provider ?? "", providerID: state?["provider_id"].string ?? "",
                             attempts: state?["attempts"].int ?? 0, subject: lastSending?["subject"].string ?? "", text: lastSending?["body"].string ?? "",
                             events: events)
    }

    /// Sends a message again, now: a new message (its own key) for the same subject, kind and channel.
    package func resendMessage(_ id: String, actor: String) throws -> ClientMessage {
        try write(.messageResend) { transaction in
            guard let original = try Self.message(id, in: transaction) else { throw DomainError(.notFound, "no message \(id)") }
            guard let channel = original.channel else { throw DomainError(.notResendable, "the client has no channel this message could go by") }
            if let appointment = original.appointmentID, [.confirmation, .change, .reminder].contains(original.kind) {
                let found = try Loader.appointment(appointment, in: transaction)
                guard [.confirmed, .requested, .checkedIn].contains(found.status), found.start > now else {
                    throw DomainError(.notResendable, "the appointment is \(found.status.rawValue) or over: this \(original.kind.rawValue) is no longer true")
                }
            }
            let count = try transaction.scalar("SELECT COUNT(*) FROM messages WHERE subject_id = ? AND kind = ? AND variant LIKE ?",
                                               [.text(original.subjectID), .text(original.kind.rawValue), .text(original.variant + "#resend%")])?.integerValue ?? 0
            let variant = "\(original.variant)#resend\(count + 1)"
            let newID = MessagePlanner.messageID(subject: original.subjectID, kind: original.kind, variant: variant, channel: channel, due: now)
            try transaction.insert("messages", [
                "id": .text(newID), "subject_id": .text(original.subjectID), "appointment_id": .text(original.appointmentID?.rawValue ?? ""),
                "client_id": .text(original.clientID?.rawValue ?? ""), "branch_id": .text(original.branchID.rawValue), "kind": .text(original.kind.rawValue),
                "channel": .text(channel.rawValue), "recipient": .text(original.recipient), "language": .text(original.language), "variant": .text(variant),
                "due_at": .instant(now), "not_after": .instant(max(original.notAfter, now.adding(minutes: 60))), "site": .text(siteHex),
                "created_at": .instant(now), "created_by": .text(actor),
            ])
            return try Self.message(newID, in: transaction)!
        }
    }

    // MARK: Events and derived state

    func addMessageEvent(_ id: String, state: String, attempt: Int = 0, provider: String = "", providerID: String = "", reason: String,
                         subject: String = "", body: String = "", nextAt: Instant? = nil, in transaction: WriteTransaction) throws {
        var detail = reason
        if let nextAt { detail = "\(reason)|next_at=\(nextAt.milliseconds)" }
        try transaction.insert("message_events", [
            "id": .text(UUIDv7.generate(milliseconds: UInt64(now.milliseconds))), "message_id": .text(id), "state": .text(state), "at": .instant(now),
            "site": .text(siteHex), "attempt": .int(attempt), "provider": .text(provider), "provider_id": .text(providerID), "reason": .text(detail),
            "subject": .text(subject), "body": .text(body),
        ])
    }
}

/// Keeps `local_message_state` and `local_message_queue` current inside every write and merge.
enum MessageLedger {
    static func update(_ changes: ChangedRows, in transaction: some QueryContext & LocalWriter, at now: Int64) throws {
        var touched = Set(changes["messages"].map(\.string))
        for key in changes["message_events"] {
            if let id = try transaction.fetchOne("SELECT message_id FROM message_events WHERE id = ?", [key])?["message_id"].string { touched.insert(id) }
        }
        for id in touched.sorted() { try refresh(message: id, in: transaction) }
        for key in changes["appointments"] { try enqueue(key.string, "appointment", at: now, in: transaction) }
        for key in changes["waitlist"] { try enqueue(key.string, "waitlist", at: now, in: transaction) }
        for key in changes["fiscal_receipts"] {
            if let document = try transaction.fetchOne("SELECT document_id FROM fiscal_receipts WHERE id = ?", [key])?["document_id"].string {
                try enqueue(document, "sale", at: now, in: transaction)
            }
        }
        var clients = Set(changes["client_messaging"].map(\.string))
        for key in changes["client_consents"] {
            if let client = try transaction.fetchOne("SELECT client_id FROM client_consents WHERE id = ?", [key])?["client_id"].string { clients.insert(client) }
        }
        for key in changes["clients"] { clients.insert(key.string) }
        for client in clients.sorted() {
            for row in try transaction.fetchAll("SELECT id FROM appointments WHERE client_id = ? AND starts_at > ?", [.text(client), .integer(now - 3 * 86_400_000)]) {
                try enqueue(row["id"].string, "appointment", at: now, in: transaction)
            }
        }
        if !changes["messaging_senders"].isEmpty || !changes["messaging_settings"].isEmpty {
            try transaction.execute("""
                INSERT OR IGNORE INTO local_message_queue (subject_id, kind, queued_at)
                SELECT id, 'appointment', ? FROM appointments WHERE starts_at > ?
                """, [.integer(now), .integer(now - 3 * 86_400_000)])
        }
    }

    static func enqueue(_ subject: String, _ kind: String, at now: Int64, in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("INSERT OR IGNORE INTO local_message_queue (subject_id, kind, queued_at) VALUES (?, ?, ?)", [.text(subject), .text(kind), .integer(now)])
    }

    static func rebuild(in transaction: some QueryContext & LocalWriter, at now: Int64) throws {
        try transaction.execute("DELETE FROM local_message_state", [])
        for row in try transaction.fetchAll("SELECT id FROM messages", []) { try refresh(message: row["id"].string, in: transaction) }
        try transaction.execute("INSERT OR IGNORE INTO local_message_queue (subject_id, kind, queued_at) SELECT id, 'appointment', ? FROM appointments WHERE starts_at > ?",
                                [.integer(now), .integer(now - 3 * 86_400_000)])
    }

    /// Folds a message's events, oldest first, into its state. Delivery reports may arrive in any
    /// order: a later rank never goes back (read > delivered > sent), and a final state stays.
    static func refresh(message id: String, in transaction: some QueryContext & LocalWriter) throws {
        guard let row = try transaction.fetchOne("SELECT subject_id, branch_id, kind, channel, due_at FROM messages WHERE id = ?", [.text(id)]) else { return }
        var state = "scheduled", next = row["due_at"].int64, attempts = 0, providerID = "", reason = "", updated = row["due_at"].int64
        let rank = ["sent": 1, "delivered": 2, "read": 3]
        for event in try transaction.fetchAll("SELECT state, at, attempt, provider_id, reason FROM message_events WHERE message_id = ? ORDER BY at, id", [.text(id)]) {
            let incoming = event["state"].string
            let at = event["at"].int64
            switch incoming {
            case "sending":
                guard state == "scheduled" else { continue }
                state = "sending"; attempts = max(attempts, event["attempt"].int); reason = ""
            case "retry":
                guard state == "sending" || state == "scheduled" else { continue }
                state = "scheduled"
                let parts = event["reason"].string.components(separatedBy: "|next_at=")
                reason = parts[0]
                next = parts.count > 1 ? Int64(parts[1]) ?? at : at
            case "sent", "delivered", "read":
                if let current = rank[state], current >= rank[incoming]! { continue }
                if ["failed", "skipped", "expired"].contains(state) && !(state == "failed" && reason.hasPrefix("outcome_unknown")) && rank[incoming] == 1 { continue }
                state = incoming; reason = ""
                if !event["provider_id"].string.isEmpty { providerID = event["provider_id"].string }
            case "failed":
                guard state == "scheduled" || state == "sending" || state == "sent" else { continue }
                state = "failed"; reason = event["reason"].string
            case "skipped", "expired":
                guard state == "scheduled" else { continue }
                state = incoming; reason = event["reason"].string
            default:
                continue
            }
            updated = max(updated, at)
        }
        try transaction.execute("""
            INSERT OR REPLACE INTO local_message_state (message_id, subject_id, branch_id, kind, channel, state, due_at, next_at, attempts, provider_id, reason, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(id), row["subject_id"], row["branch_id"], row["kind"], row["channel"], .text(state), row["due_at"], .integer(next), .int(attempts),
                  .text(providerID), .text(reason), .integer(updated)])
    }
}
