import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

/// A branch whose box sends its messages by every channel, one client with a phone, an email and
/// a linked Telegram chat, and helpers that run the outbox as the sending service does.
final class MessagingFixture: @unchecked Sendable {
    let f: ShopFixture
    let anna: StaffID
    let cut: OfferingID
    let client: Client
    var shop: Shop { f.shop }
    var clock: TestClock { f.clock }
    let channels: Set<MessageChannel> = [.telegram, .sms, .email]

    init(zone: String = "Asia/Almaty", now: String = "2026-12-07T03:00:00Z") throws {
        f = try ShopFixture(zone: zone, now: now)
        anna = try f.addStaff("Anna")
        cut = try f.addOffering("Cut", minutes: 45, staff: [anna])
        client = try f.shop.createClient(ClientDraft(name: "Aigerim Seitkali", phone: "+77011234567", email: "aigerim@example.kz"), branch: f.branchID)
        _ = try shop.takeMessaging(branch: f.branchID, takeOver: false, actor: "owner")
        try shop.write(.telegramLink) { transaction in
            try transaction.upsert("client_messaging", id: client.id.rawValue, ["telegram_chat_id": .text("5550001"), "language": .text("ru")])
        }
    }

    func book(_ day: String, _ time: String) throws -> Appointment {
        try shop.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut, staffID: anna)], start: f.at(day, time), clientID: client.id)).appointment
    }

    func plan() throws { while try shop.planQueuedMessages(channels: channels, limit: 200) > 0 {} }

    func messages(_ appointment: AppointmentID) throws -> [ClientMessage] {
        try shop.messages(state: [], branch: nil, client: nil, appointment: appointment, limit: 200).sorted { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }
    }

    /// Sends every due message through `transport` (or records the failure it returns).
    @discardableResult
    func sendDue(_ transport: (OutgoingMessage) -> Result<SentMessage, MessageSendError> = { .success(SentMessage(providerID: "p-\($0.messageID.suffix(6))", status: .sent)) })
        throws -> [OutgoingMessage] {
        try plan()
        var sent: [OutgoingMessage] = []
        for due in try shop.dueMessages(limit: 500) {
            guard case .send(let message, let attempt) = try shop.prepareMessage(due.id, channels: channels) else { continue }
            switch transport(message) {
            case .success(let result):
                sent.append(message)
                try shop.recordSendOutcome(due.id, attempt: attempt, .sent(result, provider: "test"))
            case .failure(let error):
                try shop.recordSendOutcome(due.id, attempt: attempt, .failed(error, provider: "test"))
            }
        }
        return sent
    }
}

@Suite("Message templates")
struct MessageTemplateTests {
    func render(_ body: String, _ language: String, hours: Int) -> String {
        MessageTemplate(kind: .reminder, channel: .sms, language: language, subject: "", body: body).render(values: [:], numbers: ["hours_until": hours]).text
    }

    @Test("Russian, Kazakh and English plurals take each language's forms")
    func plurals() {
        let ru = "через {hours_until, plural, one {# час} few {# часа} many {# часов} other {# часа}}"
        #expect([1, 2, 5, 11, 21, 22, 24, 25].map { render(ru, "ru", hours: $0) }
                == ["через 1 час", "через 2 часа", "через 5 часов", "через 11 часов", "через 21 час", "через 22 часа", "через 24 часа", "через 25 часов"])
        #expect(render("in {hours_until, plural, one {# hour} other {# hours}}", "en", hours: 1) == "in 1 hour")
        #expect(render("in {hours_until, plural, one {# hour} other {# hours}}", "en", hours: 24) == "in 24 hours")
        #expect(render("{hours_until, plural, one {# сағат} other {# сағат}}", "kk", hours: 3) == "3 сағат")
    }

    @Test("a template naming an unknown variable, lacking a plural form or with a stray brace is refused with the reason")
    func refused() {
        func problems(_ body: String, _ language: String = "ru") -> [String] {
            MessageTemplate(kind: .confirmation, channel: .sms, language: language, subject: "", body: body).problems.map(\.message)
        }
        #expect(problems("Hello {frist_name}") == ["unknown variable {frist_name}"])
        #expect(problems("{hours_until, plural, one {# час} other {# часа}}") == ["the plural of {hours_until} needs the ru forms few, many"])
        #expect(problems("{hours_until, plural, one {# hour} few {#} other {# hours}}", "en").first?.contains("no plural form \"few\"") == true)
        #expect(problems("{first_name, plural, one {a} other {b}}", "en") == ["{first_name} is not a number: it cannot have plural forms"])
        #expect(problems("Hi } there").first?.contains("unmatched }") == true)
        #expect(problems("Hi {first_name").first?.contains("never closed") == true)
        #expect(problems("Hi {{literal}} {first_name}").isEmpty)
        #expect(MessageTemplate(kind: .confirmation, channel: .email, language: "en", subject: "", body: "x").problems.map(\.field) == ["subject"])
    }

    @Test("every built-in template of every kind, channel and language is valid")
    func defaults() {
        for kind in MessageKind.allCases { for channel in MessageChannel.allCases { for language in MessageTemplate.languages {
            let template = DefaultTemplates.template(kind, channel, language)
            #expect(template.problems.isEmpty, "\(kind) \(channel) \(language): \(template.problems)")
        } } }
    }
}

@Suite("The outbox")
struct MessageOutboxTests {
    @Test("a booking gets one confirmation and the two reminders, in the branch's local time; planning again changes nothing")
    func confirmationOnce() throws {
        let m = try MessagingFixture()
        let visit = try m.book("2026-12-09", "14:30")
        try m.plan()
        let planned = try m.messages(visit.id)
        #expect(planned.map(\.kind) == [.confirmation, .reminder, .reminder])
        #expect(planned.allSatisfy { $0.channel == .telegram && $0.recipient == "5550001" && $0.state == .scheduled })
        #expect(planned[1].dueAt == visit.start.adding(minutes: -1440) && planned[2].dueAt == visit.start.adding(minutes: -120))
        let sent = try m.sendDue()
        #expect(sent.count == 1 && sent[0].text.contains("14:30") && sent[0].text.contains("Asia/Almaty") && sent[0].text.hasPrefix("Aigerim,"))
        try m.shop.write(.messagePlan) { try MessageLedger.enqueue(visit.id.rawValue, "appointment", at: 0, in: $0) }
        #expect(try m.sendDue().isEmpty)
        #expect(try m.messages(visit.id).count == 3)
        #expect(try m.messages(visit.id)[0].state == .sent)
    }

    @Test("a move after the reminders were planned skips them (appointment_moved), plans them at the new time and tells the client once")
    func reschedule() throws {
        let m = try MessagingFixture()
        let visit = try m.book("2026-12-09", "14:30")
        try m.sendDue()
        let moved = try m.shop.reschedule(visit.id, to: m.f.at("2026-12-10", "11:00"), actor: "desk")
        let sent = try m.sendDue()
        #expect(sent.count == 1 && sent[0].text.contains("11:00"))
        let all = try m.messages(visit.id)
        let reminders = all.filter { $0.kind == .reminder }
        #expect(reminders.filter { $0.state == .skipped }.map(\.reason) == ["appointment_moved", "appointment_moved"])
        #expect(Set(reminders.filter { $0.state == .scheduled }.map(\.dueAt)) == [moved.start.adding(minutes: -1440), moved.start.adding(minutes: -120)])
        #expect(all.filter { $0.kind == .change }.map(\.state) == [.sent])
        // The 24-hour reminder goes at the new time, once.
        m.clock.set(moved.start.adding(minutes: -1439))
        let reminders24 = try m.sendDue()
        #expect(reminders24.count == 1 && reminders24[0].text.contains("24 часа"))
        #expect(try m.sendDue().isEmpty)
    }

    @Test("a cancelled appointment's reminders are skipped, never sent, and the client is told of the cancellation")
    func cancel() throws {
        let m = try MessagingFixture()
        let visit = try m.book("2026-12-09", "14:30")
        try m.sendDue()
        try m.shop.cancel(visit.id, by: .shop, reason: "ill", actor: "desk")
        let sent = try m.sendDue()
        #expect(sent.count == 1 && sent[0].text.contains("отменена"))
        m.clock.set(visit.start.adding(minutes: -100))
        #expect(try m.sendDue().isEmpty)
        #expect(try m.messages(visit.id).filter { $0.kind == .reminder }.map(\.reason) == ["appointment_cancelled", "appointment_cancelled"])
    }

    @Test("after an outage a reminder still worth sending goes once; one too close to the visit is expired, not sent")
    func outage() throws {
        let m = try MessagingFixture()
        let visit = try m.book("2026-12-09", "14:30")
        try m.sendDue()
        // Down for 30 hours across the 24-hour reminder, back 3 hours before the visit.
        m.clock.set(visit.start.adding(minutes: -180))
        let late = try m.sendDue()
        #expect(late.count == 1 && late[0].text.contains("3 часа"))
        // Down again across the 2-hour reminder, back 20 minutes before the visit (minimum lead 30).
        m.clock.set(visit.start.adding(minutes: -20))
        #expect(try m.sendDue().isEmpty)
        let reminders = try m.messages(visit.id).filter { $0.kind == .reminder }
        #expect(reminders.map(\.state) == [.sent, .expired] && reminders[1].reason == "too_late")
    }

    @Test("the reminder shows the local time of the visit's day when a DST change falls between booking and reminder")
    func daylightSaving() throws {
        let m = try MessagingFixture(zone: "Europe/London", now: "2026-10-20T09:00:00Z")
        let visit = try m.book("2026-11-02", "10:00")
        #expect(visit.start == instant("2026-11-02T10:00:00Z"))   // GMT after 25 October; BST (UTC+1) when booked
        try m.sendDue()
        m.clock.set(visit.start.adding(minutes: -1440))
        let sent = try m.sendDue()
        #expect(sent.count == 1 && sent[0].text.contains("2 ноября в 10:00 (Europe/London)"))
    }

    @Test("just before sending the box re-reads the appointment: one cancelled after its reminder was planned (the change not planned yet) is skipped, not sent")
    func rereadBeforeSending() throws {
        let m = try MessagingFixture()
        let visit = try m.book("2026-12-09", "14:30")
        try m.sendDue()
        try m.shop.cancel(visit.id, by: .client, reason: "", actor: "desk")
        m.clock.set(visit.start.adding(minutes: -1439))
        // Straight to the due messages, as if the cancellation arrived between planning and sending.
        let due = try m.shop.dueMessages(limit: 10)
        #expect(due.count == 1)
        guard case .settled(let state, let reason) = try m.shop.prepareMessage(due[0].id, channels: m.channels) else {
            Issue.record("the reminder of a cancelled appointment was handed to the transport")
            return
        }
        #expect(state == .skipped && reason == "appointment_cancelled")
    }

    @Test("a box that does not send for the branch plans nothing")
    func otherBox() throws {
        let m = try MessagingFixture()
        let other = try m.f.world.makeShop(home: m.f.branchID)
        try syncAll([m.shop, other])
        let visit = try m.book("2026-12-09", "14:30")
        try syncAll([m.shop, other])
        while try other.planQueuedMessages(channels: m.channels, limit: 200) > 0 {}
        #expect(try other.dueMessages(limit: 10).isEmpty)
        try m.sendDue()
        try syncAll([m.shop, other])
        #expect(try other.messages(state: [], branch: nil, client: nil, appointment: visit.id, limit: 10).map(\.state).sorted { $0.rawValue < $1.rawValue } == [.scheduled, .scheduled, .sent])
        #expect(try other.dueMessages(limit: 10).isEmpty)
        #expect(throws: DomainError.self) { try other.takeMessaging(branch: m.f.branchID, takeOver: false, actor: "x") }
    }

    @Test("a blocked bot forgets the chat and the message falls back to the next channel; an unknown outcome is never retried by itself")
    func failures() throws {
        let m = try MessagingFixture()
        let visit = try m.book("2026-12-09", "14:30")
        let first = try m.sendDue { _ in .failure(.rejected(reason: "Forbidden: bot was blocked by the user", unlink: true)) }
        #expect(first.isEmpty)
        #expect(try m.shop.clientMessaging(m.client.id).telegramChatID.isEmpty)
        let fallback = try m.sendDue { message in
            message.channel == .sms ? .failure(.outcomeUnknown(reason: "timed out after sending")) : .success(SentMessage(providerID: "x", status: .sent))
        }
        #expect(fallback.isEmpty)
        let confirmations = try m.messages(visit.id).filter { $0.kind == .confirmation }
        #expect(confirmations.map(\.channel) == [.telegram, .sms] || confirmations.map(\.channel) == [.sms, .telegram])
        #expect(confirmations.allSatisfy { $0.state == .failed })
        #expect(try m.sendDue().isEmpty)
        #expect(try m.shop.dueMessages(limit: 10).isEmpty)
        // A person resends the SMS confirmation: it goes once, the planner leaves it alone.
        let unknown = try m.messages(visit.id).first { $0.kind == .confirmation && $0.channel == .sms }!
        let resent = try m.shop.resendMessage(unknown.id, actor: "desk")
        #expect(try m.sendDue().map(\.messageID) == [resent.id])
        #expect(try m.shop.message(resent.id).state == .sent)
    }

    @Test("a retryable failure backs off and is tried again; a withdrawn consent skips the message")
    func retryAndConsent() throws {
        let m = try MessagingFixture()
        let visit = try m.book("2026-12-09", "14:30")
        #expect(try m.sendDue { _ in .failure(.retryable(reason: "429", retryAfterSeconds: 120)) }.isEmpty)
        m.clock.advance(minutes: 1)
        #expect(try m.sendDue().isEmpty)
        m.clock.advance(minutes: 2)
        #expect(try m.sendDue().count == 1)
        #expect(try m.messages(visit.id)[0].attempts == 2)
        _ = try m.shop.addConsent(m.client.id, ClientConsent(channel: .telegram, purpose: .transactional, granted: false, at: m.shop.now, source: "phone",
                                                           actor: "desk", note: ""))
        m.clock.set(visit.start.adding(minutes: -1440))
        let sent = try m.sendDue()
        #expect(sent.map(\.channel) == [.sms])
        #expect(try m.messages(visit.id).filter { $0.kind == .reminder && $0.channel == .telegram }.map(\.reason).contains("client_opted_out"))
    }

    @Test("a Telegram link is used once, links the chat with a consent, and a rating reply to a review request is recorded on the visit")
    func telegramAndReview() throws {
        let m = try MessagingFixture()
        _ = try m.shop.saveMessagingSettings({ var s = MessagingSettings(); s.telegramBot = "salon_bot"; return s }())
        let other = try m.shop.createClient(ClientDraft(name: "Dana", phone: "+77017654321"), branch: m.f.branchID)
        let link = try m.shop.createTelegramLink(other.id, actor: "desk")
        #expect(link.url == "https://t.me/salon_bot?start=\(link.payload)" && link.payload.count == 32)
        #expect(try m.shop.linkTelegram(payload: link.payload, chatID: "777", name: "Dana") == other.id)
        #expect(try m.shop.linkTelegram(payload: link.payload, chatID: "888", name: "Eve") == nil)
        let profile = try m.shop.clientMessaging(other.id)
        #expect(profile.telegramChatID == "777" && profile.consents.map(\.source) == ["telegram"])
        // A completed visit → a review request (marketing: only with the client's consent) → "5 great".
        _ = try m.shop.addConsent(m.client.id, ClientConsent(channel: .telegram, purpose: .marketing, granted: true, at: m.shop.now, source: "in_person",
                                                           actor: "desk", note: ""))
        let visit = try m.book("2026-12-07", "10:00")
        try m.shop.checkIn(visit.id, actor: "desk")
        try m.shop.complete(visit.id, actor: "desk")
        m.clock.set(visit.end.adding(minutes: 61))
        let sent = try m.sendDue()
        #expect(sent.filter { $0.text.contains("оценкой от 1 до 5") }.count == 1)
        #expect(try m.shop.recordTelegramReply(chatID: "5550001", text: "12 people") == nil)
        let review = try m.shop.recordTelegramReply(chatID: "5550001", text: "5, всё отлично")
        #expect(review?.rating == 5 && review?.comment == "всё отлично")
        #expect(try m.shop.reviews(of: visit.id).map(\.rating) == [5])
    }

    @Test("rebuilding the derived state gives the same message states")
    func rebuild() throws {
        let m = try MessagingFixture()
        let visit = try m.book("2026-12-09", "14:30")
        try m.sendDue()
        _ = try m.shop.reschedule(visit.id, to: m.f.at("2026-12-10", "11:00"), actor: "desk")
        try m.sendDue()
        let before = try m.messages(visit.id).map { "\($0.id) \($0.state) \($0.reason) \($0.attempts)" }
        try m.shop.rebuildDerivedState()
        #expect(try m.messages(visit.id).map { "\($0.id) \($0.state) \($0.reason) \($0.attempts)" } == before)
    }
}
