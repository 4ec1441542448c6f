import Foundation
import Replication
import Testing
@testable import Domain

/// The events of an iCalendar text, each as its properties (name without parameters → value as written).
func icsEvents(_ text: String) -> [[String: String]] {
    var events: [[String: String]] = []
    var current: [String: String]?
    for line in ICalendarWriter.unfold(text) {
        if line == "BEGIN:VEVENT" { current = [:]; continue }
        if line == "END:VEVENT", let event = current { events.append(event); current = nil; continue }
        guard current != nil, let colon = line.firstIndex(of: ":") else { continue }
        let name = line[..<colon].split(separator: ";").first.map(String.init) ?? ""
        current?[name] = String(line[line.index(after: colon)...])
    }
    return events
}

@Suite("iCalendar writer")
struct ICalendarWriterTests {
    @Test("a long Cyrillic line is folded at 75 octets or fewer, never inside a UTF-8 sequence, and unfolds to the same text")
    func folding() throws {
        let summary = "Айгерим Сапарова — Стрижка и укладка, окрашивание корней, уход за волосами 💇‍♀️ и ещё много всего на целый день"
        var writer = ICalendarWriter()
        writer.text("SUMMARY", summary)
        let bytes = Array(writer.text.utf8)
        #expect(bytes.count > 200, "the line is long enough to fold several times")
        let physical = ICalendarWriter.split(bytes)
        #expect(physical.count >= 3)
        for line in physical {
            #expect(line.count <= 75, "\(line.count) octets")
            // Each physical line is valid UTF-8 on its own: no sequence was cut.
            #expect(String(data: Data(line), encoding: .utf8) != nil)
        }
        for line in physical.dropFirst() { #expect(line.first == 32, "a continuation line starts with a space") }
        let unfolded = ICalendarWriter.unfold(writer.text)
        #expect(unfolded.count == 1)
        #expect(unfolded.first == "SUMMARY:" + ICalendarWriter.escape(summary))
        #expect(ICalendarWriter.unescape(String(unfolded[0].dropFirst("SUMMARY:".count))) == summary)
    }

    @Test("a line of exactly 75 octets is not folded; one more octet is")
    func foldingBoundary() {
        let exact = "X-A:" + String(repeating: "a", count: 71)
        #expect(ICalendarWriter.fold(exact) == Array(exact.utf8) + [13, 10])
        let over = exact + "b"
        #expect(ICalendarWriter.fold(over) == Array(exact.utf8) + [13, 10, 32] + Array("b".utf8) + [13, 10])
    }

    @Test("TEXT escaping: backslash, semicolon, comma and every kind of line break; other control characters are left out", arguments: [
        ("a\\b", "a\\\\b"), ("a;b", "a\\;b"), ("a,b", "a\\,b"), ("a\nb", "a\\nb"), ("a\r\nb", "a\\nb"), ("a\rb", "a\\nb"),
        ("a\u{0}b\u{7}c", "abc"), ("tab\there", "tab\there"), ("Ерлан — Стрижка", "Ерлан — Стрижка"),
    ])
    func escaping(raw: String, escaped: String) {
        #expect(ICalendarWriter.escape(raw) == escaped)
    }

    @Test("every line ends with CRLF: no bare CR or LF anywhere, even with line breaks in a value")
    func crlf() {
        var writer = ICalendarWriter()
        writer.begin("VCALENDAR")
        writer.text("X-WR-CALNAME", "one\ntwo\r\nthree")
        writer.raw("REFRESH-INTERVAL", "PT1H", parameters: [("VALUE", "DURATION")])
        writer.end("VCALENDAR")
        let bytes = Array(writer.text.utf8)
        #expect(bytes.suffix(2) == [13, 10])
        for (index, byte) in bytes.enumerated() {
            if byte == 10 { #expect(index > 0 && bytes[index - 1] == 13, "LF at \(index) without CR") }
            if byte == 13 { #expect(index + 1 < bytes.count && bytes[index + 1] == 10, "CR at \(index) without LF") }
        }
        #expect(ICalendarWriter.unfold(writer.text) == ["BEGIN:VCALENDAR", "X-WR-CALNAME:one\\ntwo\\nthree", "REFRESH-INTERVAL;VALUE=DURATION:PT1H", "END:VCALENDAR"])
    }

    @Test("UTC date-times: the basic format with Z")
    func dateTimes() {
        #expect(ICalendarWriter.dateTime(instant("2026-03-03T10:00:00+05:00")) == "20260303T050000Z")
        #expect(ICalendarWriter.dateTime(instant("1999-12-31T23:59:59Z")) == "19991231T235959Z")
    }
}

@Suite("Calendar feeds")
struct CalendarFeedTests {
    /// A branch in Almaty with two stylists, a cut and a colour, and a client.
    final class Salon: @unchecked Sendable {
        let f: ShopFixture
        let aigerim: StaffID
        let dana: StaffID
        let cut: OfferingID
        let colour: OfferingID
        let client: ClientID
        var shop: Shop { f.shop }

        init(locale: String = "en") throws {
            f = try ShopFixture(policy: BookingPolicy(minimumNoticeMinutes: 0, horizonDays: 365))
            if locale != "en" {
                var branch = try f.shop.branch(f.branchID)
                branch.locale = locale
                try f.shop.save(branch)
            }
            aigerim = try f.addStaff("Aigerim")
            dana = try f.addStaff("Dana")
            cut = try f.addOffering("Haircut", minutes: 60, staff: [aigerim, dana])
            colour = try f.addOffering("Colour", minutes: 90, staff: [aigerim, dana])
            var names = try f.shop.offering(cut)
            names.names["ru"] = "Стрижка"
            try f.shop.save(names)
            client = try f.shop.createClient(ClientDraft(name: "Ерлан Сапаров", phone: "8 701 123 45 67"), branch: f.branchID).id
        }

        func book(_ parts: [(OfferingID, StaffID)], _ day: String, _ time: String, client: ClientID? = nil, guest: String? = nil) throws -> Appointment {
            try shop.book(BookingRequest(branchID: f.branchID, parts: parts.map { VisitPart(offeringID: $0.0, staffID: $0.1) }, start: f.at(day, time),
                                         clientID: client, guest: guest.map { Guest(name: $0) })).appointment
        }

        func feed(_ subject: CalendarFeedSubject, _ content: CalendarFeedContent) async throws -> NewCalendarFeed {
            try await shop.calendarFeeds.create(subject, content: content, as: .system("test"))
        }

        func events(_ secret: String) async throws -> [[String: String]] {
            icsEvents(try await shop.calendarFeeds.document(secret: secret).text)
        }
    }

    @Test("a staff feed: one event per item the staff member does, with a stable UID, UTC times, the client's first name and the service")
    func staffFeed() async throws {
        let salon = try Salon()
        let visit = try salon.book([(salon.cut, salon.aigerim), (salon.colour, salon.dana)], "2024-05-07", "10:00", client: salon.client)
        _ = try salon.book([(salon.cut, salon.dana)], "2024-05-08", "12:00", guest: "Guest Person")
        let feed = try await salon.feed(.staff(salon.aigerim), .details)
        let document = try await salon.shop.calendarFeeds.document(secret: feed.secret)
        #expect(document.text.contains("X-WR-CALNAME:Aigerim\r\n"))
        #expect(document.text.contains("REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n"))
        #expect(document.text.contains("X-PUBLISHED-TTL:PT1H\r\n"))
        #expect(!document.text.contains("TZID"), "times are UTC: no TZID, no VTIMEZONE")
        let events = icsEvents(document.text)
        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event["UID"] == "\(visit.id.rawValue)-0@edgenode")
        #expect(event["DTSTART"] == "20240507T050000Z")
        #expect(event["DTEND"] == "20240507T060000Z")
        #expect(event["SUMMARY"] == "Ерлан — Haircut")
        #expect(event["DESCRIPTION"] == "Order \(visit.orderNumber)")
        #expect(event["SEQUENCE"] == "0")
        #expect(event["STATUS"] == "CONFIRMED")
        #expect(event["DTSTAMP"] == "20240506T000000Z")

        let dana = try await salon.events(try await salon.feed(.staff(salon.dana), .details).secret)
        #expect(dana.count == 2)
        #expect(dana.first?["UID"] == "\(visit.id.rawValue)-1@edgenode")
        #expect(dana.first?["SUMMARY"] == "Ерлан — Colour")
        #expect(dana.first?["DTSTART"] == "20240507T060000Z")
        #expect(dana.last?["SUMMARY"] == "Guest — Haircut")
    }

    @Test("a branch feed: one event per appointment, all its services and staff")
    func branchFeed() async throws {
        let salon = try Salon()
        let visit = try salon.book([(salon.cut, salon.aigerim), (salon.colour, salon.dana)], "2024-05-07", "10:00", client: salon.client)
        let other = try salon.book([(salon.cut, salon.dana)], "2024-05-08", "12:00", guest: "Guest Person")
        let events = try await salon.events(try await salon.feed(.branch(salon.f.branchID), .details).secret)
        try #require(events.map { $0["UID"] } == ["\(visit.id.rawValue)@edgenode", "\(other.id.rawValue)@edgenode"])
        #expect(events[0]["SUMMARY"] == "Ерлан — Haircut\\, Colour")
        #expect(events[0]["DTSTART"] == "20240507T050000Z")
        #expect(events[0]["DTEND"] == "20240507T073000Z")
        #expect(events[0]["DESCRIPTION"] == "Order \(visit.orderNumber)\\nAigerim\\, Dana")
    }

    @Test("a moved appointment keeps its UID and its SEQUENCE rises; moving it to another stylist moves it between their feeds")
    func moved() async throws {
        let salon = try Salon()
        let visit = try salon.book([(salon.cut, salon.aigerim)], "2024-05-07", "10:00", client: salon.client)
        let aigerim = try await salon.feed(.staff(salon.aigerim), .details).secret
        let dana = try await salon.feed(.staff(salon.dana), .details).secret
        let branch = try await salon.feed(.branch(salon.f.branchID), .busy).secret
        let before = try #require(try await salon.events(aigerim).first)
        let branchBefore = try #require(try await salon.events(branch).first)

        salon.f.clock.advance(minutes: 5)
        _ = try salon.shop.reschedule(visit.id, to: salon.f.at("2024-05-07", "14:00"), actor: "front desk")
        let after = try #require(try await salon.events(aigerim).first)
        #expect(after["UID"] == before["UID"])
        #expect(after["DTSTART"] == "20240507T090000Z")
        #expect(Int(after["SEQUENCE"] ?? "") ?? 0 > Int(before["SEQUENCE"] ?? "") ?? 0)
        #expect(after["LAST-MODIFIED"] == "20240506T000500Z")
        let branchAfter = try #require(try await salon.events(branch).first)
        #expect(branchAfter["UID"] == branchBefore["UID"])
        #expect(Int(branchAfter["SEQUENCE"] ?? "") ?? 0 > Int(branchBefore["SEQUENCE"] ?? "") ?? 0)

        _ = try salon.shop.reschedule(visit.id, to: salon.f.at("2024-05-07", "14:00"), staff: [salon.dana], actor: "front desk")
        #expect(try await salon.events(aigerim).isEmpty)
        let moved = try #require(try await salon.events(dana).first)
        #expect(moved["UID"] == before["UID"], "the item keeps its UID")
        #expect(Int(moved["SEQUENCE"] ?? "") ?? 0 > Int(after["SEQUENCE"] ?? "") ?? 0)
    }

    @Test("cancelled, rejected and no-show appointments and expired holds are left out; a requested one is TENTATIVE")
    func leftOut() async throws {
        let salon = try Salon()
        let kept = try salon.book([(salon.cut, salon.aigerim)], "2024-05-07", "09:00", client: salon.client)
        let cancelled = try salon.book([(salon.cut, salon.aigerim)], "2024-05-07", "10:00", client: salon.client)
        let noShow = try salon.book([(salon.cut, salon.aigerim)], "2024-05-07", "11:00", client: salon.client)
        let held = try salon.shop.book(BookingRequest(branchID: salon.f.branchID, parts: [VisitPart(offeringID: salon.cut, staffID: salon.aigerim)],
                                                      start: salon.f.at("2024-05-07", "12:00"), guest: Guest(name: "Hold"), hold: true)).appointment
        let requested = try salon.shop.book(BookingRequest(branchID: salon.f.branchID, parts: [VisitPart(offeringID: salon.cut, staffID: salon.aigerim)],
                                                           start: salon.f.at("2024-05-07", "13:00"), guest: Guest(name: "Asked"), hold: true)).appointment
        try salon.shop.transition(requested.id, to: .requested, actor: "t")
        let secret = try await salon.feed(.staff(salon.aigerim), .details).secret
        let branch = try await salon.feed(.branch(salon.f.branchID), .details).secret
        #expect(try await salon.events(secret).count == 5)
        #expect(try await salon.events(branch).count == 5)

        try salon.shop.cancel(cancelled.id, by: .client, reason: "", actor: "t")
        try salon.shop.markNoShow(noShow.id, actor: "t")
        let events = try await salon.events(secret)
        #expect(events.map { $0["UID"] } == [kept, held, requested].map { "\($0.id.rawValue)-0@edgenode" })
        #expect(events.map { $0["STATUS"] } == ["CONFIRMED", "TENTATIVE", "TENTATIVE"])
        #expect(try await salon.events(branch).map { $0["UID"] } == [kept, held, requested].map { "\($0.id.rawValue)@edgenode" })

        salon.f.clock.advance(minutes: 11)   // past the branch's 10-minute hold
        #expect(try await salon.events(secret).map { $0["UID"] } == [kept, requested].map { "\($0.id.rawValue)-0@edgenode" })
        #expect(try await salon.events(branch).map { $0["UID"] } == [kept, requested].map { "\($0.id.rawValue)@edgenode" })
        try salon.shop.reject(requested.id, reason: "no", actor: "t")
        #expect(try await salon.events(secret).map { $0["UID"] } == ["\(kept.id.rawValue)-0@edgenode"])
        #expect(try await salon.events(branch).map { $0["UID"] } == ["\(kept.id.rawValue)@edgenode"])
    }

    @Test("a feed reaches 30 days back and 180 days ahead")
    func window() async throws {
        let salon = try Salon()
        let early = try salon.book([(salon.cut, salon.aigerim)], "2024-05-07", "10:00", client: salon.client)
        let secret = try await salon.feed(.staff(salon.aigerim), .details).secret
        salon.f.clock.set(instant("2024-06-07T00:00:00Z"))   // 31 days later
        let late = try salon.book([(salon.cut, salon.aigerim)], "2024-12-01", "10:00", client: salon.client)
        let later = try salon.book([(salon.cut, salon.aigerim)], "2024-12-06", "10:00", client: salon.client)   // 182 days ahead
        let uids = try await salon.events(secret).map { $0["UID"] }
        #expect(uids == ["\(late.id.rawValue)-0@edgenode"])
        #expect(!uids.contains("\(early.id.rawValue)-0@edgenode") && !uids.contains("\(later.id.rawValue)-0@edgenode"))
    }

    @Test("a busy feed says only Busy in the branch's language: no client name, no service, no order number, no description")
    func busy() async throws {
        let salon = try Salon(locale: "ru-KZ")
        let visit = try salon.book([(salon.cut, salon.aigerim)], "2024-05-07", "10:00", client: salon.client)
        _ = try salon.book([(salon.cut, salon.dana)], "2024-05-07", "10:00", guest: "Асель Нурланова")
        for subject in [CalendarFeedSubject.staff(salon.aigerim), .branch(salon.f.branchID)] {
            let text = try await salon.shop.calendarFeeds.document(secret: try await salon.feed(subject, .busy).secret).text
            let events = icsEvents(text)
            #expect(!events.isEmpty)
            #expect(events.allSatisfy { $0["SUMMARY"] == "Занято" && $0["DESCRIPTION"] == nil })
            for private_ in ["Ерлан", "Сапаров", "Асель", "Стрижка", "Haircut", visit.orderNumber] { #expect(!text.contains(private_), "\(private_) in a busy feed") }
        }
        let details = try await salon.events(try await salon.feed(.staff(salon.aigerim), .details).secret)
        #expect(details.first?["SUMMARY"] == "Ерлан — Стрижка")
        #expect(details.first?["DESCRIPTION"] == "Заказ \(visit.orderNumber)")
    }

    @Test("kk: Бос емес")
    func busyKazakh() async throws {
        let salon = try Salon(locale: "kk")
        _ = try salon.book([(salon.cut, salon.aigerim)], "2024-05-07", "10:00", client: salon.client)
        #expect(try await salon.events(try await salon.feed(.staff(salon.aigerim), .busy).secret).first?["SUMMARY"] == "Бос емес")
    }

    @Test("only the secret's SHA-256 is stored; an unknown and a revoked secret are both not found; the feed is listed as revoked")
    func secretsAndRevocation() async throws {
        let salon = try Salon()
        let made = try await salon.feed(.staff(salon.aigerim), .busy)
        #expect(made.secret.utf8.count == 43 && made.secret.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        let stored = try salon.shop.store.read { try $0.fetchAll("SELECT token_hash, name, scope, subject_id, content FROM calendar_feeds", []) }
        #expect(stored.count == 1)
        #expect(stored.first?["token_hash"].string == Sodium.sha256(Array(made.secret.utf8)).hexString)
        #expect(stored.first?["name"].string == "Aigerim" && stored.first?["scope"].string == "staff" && stored.first?["content"].string == "busy")
        #expect(stored.first?["subject_id"].string == salon.aigerim.rawValue)

        let other = (made.secret.first == "A" ? "B" : "A") + made.secret.dropFirst()   // one character off
        await #expect(throws: DomainError.self) { try await salon.shop.calendarFeeds.document(secret: other) }
        await #expect(throws: DomainError.self) { try await salon.shop.calendarFeeds.document(secret: "") }
        _ = try await salon.shop.calendarFeeds.document(secret: made.secret)

        salon.f.clock.advance(minutes: 1)
        try await salon.shop.calendarFeeds.revoke(made.feed.id, as: .system("manager"))
        let error = await #expect(throws: DomainError.self) { try await salon.shop.calendarFeeds.document(secret: made.secret) }
        #expect(error?.code == .notFound)
        let listed = try await salon.shop.calendarFeeds.list()
        #expect(listed.map(\.id) == [made.feed.id])
        #expect(listed.first?.isRevoked == true && listed.first?.revokedBy == "manager")
        // Revoking again keeps the first revocation.
        salon.f.clock.advance(minutes: 1)
        try await salon.shop.calendarFeeds.revoke(made.feed.id, as: .system("someone else"))
        #expect(try await salon.shop.calendarFeeds.feed(made.feed.id).revokedBy == "manager")
        await #expect(throws: DomainError.self) { try await salon.shop.calendarFeeds.revoke(CalendarFeedID.generate(at: salon.f.clock.now), as: .system("t")) }
    }

    @Test("a feed of an unknown staff member or branch is refused (not found)")
    func unknownSubject() async throws {
        let salon = try Salon()
        for subject in [CalendarFeedSubject.staff(.generate(at: salon.f.clock.now)), .branch(.generate(at: salon.f.clock.now))] {
            let error = await #expect(throws: DomainError.self) { try await salon.feed(subject, .details) }
            #expect(error?.code == .notFound)
        }
        #expect(try await salon.shop.calendarFeeds.list().isEmpty)
    }

    @Test("a revocation made on one box closes the feed on another once it replicates")
    func revocationReplicates() async throws {
        let salon = try Salon()
        _ = try salon.book([(salon.cut, salon.aigerim)], "2024-05-07", "10:00", client: salon.client)
        let made = try await salon.feed(.branch(salon.f.branchID), .details)
        let laptop = try salon.f.world.makeShop(home: nil)
        try sync(salon.shop, to: laptop)
        #expect(icsEvents(try await laptop.calendarFeeds.document(secret: made.secret).text).count == 1)
        try await laptop.calendarFeeds.revoke(made.feed.id, as: .system("owner"))
        try sync(laptop, to: salon.shop)
        await #expect(throws: DomainError.self) { try await salon.shop.calendarFeeds.document(secret: made.secret) }
    }
}
