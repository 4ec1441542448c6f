import Replication

public enum CalendarFeedTag: Sendable {}
public typealias CalendarFeedID = Identifier<CalendarFeedTag>

/// Whose appointments a calendar feed shows.
public enum CalendarFeedSubject: Hashable, Sendable {
    /// One VEVENT per appointment item the staff member does.
    case staff(StaffID)
    /// One VEVENT per appointment of the branch.
    case branch(BranchID)

    /// `staff` or `branch`, as `calendar_feeds.scope` and the API write it.
    public var scope: String {
        switch self {
        case .staff: "staff"
        case .branch: "branch"
        }
    }

    /// The staff member's or the branch's id.
    public var id: String {
        switch self {
        case .staff(let id): id.rawValue
        case .branch(let id): id.rawValue
        }
    }

    init?(scope: String, id: String) {
        switch scope {
        case "staff": guard let staff = StaffID(id) else { return nil }; self = .staff(staff)
        case "branch": guard let branch = BranchID(id) else { return nil }; self = .branch(branch)
        default: return nil
        }
    }
}

/// What a feed's events say.
public enum CalendarFeedContent: String, Hashable, Sendable, CaseIterable {
    /// The client's first name and the services, and the order number.
    case details
    /// Only "Busy" in the branch's language: no client data at all.
    case busy
}

/// A subscribable calendar (RFC 5545) at a secret URL, revocable. Only the SHA-256 of its secret is kept.
public struct CalendarFeed: Hashable, Sendable {
    public var id: CalendarFeedID
    public var subject: CalendarFeedSubject
    /// The staff member's or the branch's name (now; as it was when the feed was made if the subject is gone).
    public var name: String
    public var content: CalendarFeedContent
    /// The subject's branch (the staff member's home branch), if it still exists.
    public var branchID: BranchID?
    public var createdAt: Instant
    public var createdBy: String
    public var revokedAt: Instant?
    public var revokedBy: String

    public var isRevoked: Bool { revokedAt != nil }
}

/// A feed just made, with its secret (shown once: the box keeps only its SHA-256).
public struct NewCalendarFeed: Sendable {
    public var feed: CalendarFeed
    /// 32 random bytes, base64url without padding (43 characters).
    public var secret: String
}

/// A feed's calendar as served: the iCalendar text and how many events it holds.
public struct CalendarFeedDocument: Sendable {
    public var feed: CalendarFeed
    public var text: String
    public var eventCount: Int
}

extension AuditOperation {
    public static let calendarFeedCreate = Self(rawValue: "calendar_feed.create")
    public static let calendarFeedRevoke = Self(rawValue: "calendar_feed.revoke")
}

/// Calendar feeds per staff member and per branch (docs/calendar-feeds.md): made and revoked by
/// owners and managers, replicated in `calendar_feeds` (last writer wins), served to calendar
/// apps by the secret in their URL.
///
/// One of the shop's per-area components (`Shop.calendarFeeds`): async, over the shop's one store.
public struct CalendarFeeds: Sendable {
    let shop: Shop

    /// Makes a feed of a staff member's or a branch's appointments.
    /// - Returns: the feed and its secret (shown once).
    /// - Throws: `.notFound` when the staff member or branch does not exist.
    public func create(_ subject: CalendarFeedSubject, content: CalendarFeedContent, as acting: Acting) async throws -> NewCalendarFeed {
        try await shop.perform(as: acting) { try $0.createCalendarFeed(subject, content: content, actor: acting.name) }
    }

    /// Every feed, revoked ones too, newest first.
    public func list() async throws -> [CalendarFeed] { try await shop.perform { try $0.allCalendarFeeds() } }

    /// One feed.
    /// - Throws: `.notFound`.
    public func feed(_ id: CalendarFeedID) async throws -> CalendarFeed { try await shop.perform { try $0.calendarFeed(id) } }

    /// Revokes a feed: its URL answers 404 from then on, on every box the revocation reaches.
    /// Revoking a revoked feed changes nothing.
    /// - Throws: `.notFound`.
    public func revoke(_ id: CalendarFeedID, as acting: Acting) async throws {
        try await shop.perform(as: acting) { try $0.revokeCalendarFeed(id, actor: acting.name) }
    }

    /// The calendar of the feed whose secret this is.
    /// - Throws: `.notFound` for an unknown or revoked secret (the same answer for both).
    public func document(secret: String) async throws -> CalendarFeedDocument {
        try await shop.perform { try $0.calendarFeedDocument(secret: secret) }
    }
}

extension Shop {
    /// How far back and ahead a feed reaches, by the appointments' (items') starts.
    static let calendarFeedDaysBack = 30
    static let calendarFeedDaysAhead = 180

    /// The statuses a feed shows (a `held` one only until its hold expires).
    static let calendarFeedStatuses: [AppointmentStatus] = [.held, .requested, .confirmed, .checkedIn, .completed]

    static func calendarFeedHash(_ secret: String) -> String { Sodium.sha256(Array(secret.utf8)).hexString }

    package func createCalendarFeed(_ subject: CalendarFeedSubject, content: CalendarFeedContent, actor: String) throws -> NewCalendarFeed {
        try write(.calendarFeedCreate) { transaction in
            let name: String
            let branch: BranchID
            switch subject {
            case .staff(let id):
                let member = try Loader.staff(id, in: transaction)
                (name, branch) = (member.name, member.branchID)
            case .branch(let id):
                (name, branch) = (try Loader.branch(id, in: transaction).name, id)
            }
            let secret = Shop.makeSecret()
            let feed = CalendarFeed(id: .generate(at: now), subject: subject, name: name, content: content, branchID: branch,
                                    createdAt: now, createdBy: actor, revokedAt: nil, revokedBy: "")
            try transaction.insert("calendar_feeds", [
                "id": .text(feed.id.rawValue), "scope": .text(subject.scope), "subject_id": .text(subject.id),
                "token_hash": .text(Shop.calendarFeedHash(secret)), "content": .text(content.rawValue), "name": .text(name),
                "created_at": .instant(now), "created_by": .text(actor),
            ])
            return NewCalendarFeed(feed: feed, secret: secret)
        }
    }

    /// The feed's columns with its subject's current name and branch.
    static let calendarFeedQuery = """
        SELECT f.id, f.scope, f.subject_id, f.content, f.name, f.created_at, f.created_by, f.revoked_at, f.revoked_by,
               COALESCE(s.name, b.name, f.name) AS current_name, COALESCE(s.branch_id, b.id, '') AS branch_id
        FROM calendar_feeds f
        LEFT JOIN staff s ON f.scope = 'staff' AND s.id = f.subject_id
        LEFT JOIN branches b ON f.scope = 'branch' AND b.id = f.subject_id
        """

    static func calendarFeed(_ row: Row) throws -> CalendarFeed {
        guard let id = CalendarFeedID(row["id"].string), let subject = CalendarFeedSubject(scope: row["scope"].string, id: row["subject_id"].string) else {
            throw DomainError(.storage, "calendar feed row with a malformed id or scope")
        }
        let revokedAt = row["revoked_at"].int64
        return CalendarFeed(id: id, subject: subject, name: row["current_name"].string,
                            content: CalendarFeedContent(rawValue: row["content"].string) ?? .busy, branchID: BranchID(row["branch_id"].string),
                            createdAt: Instant(milliseconds: row["created_at"].int64), createdBy: row["created_by"].string,
                            revokedAt: revokedAt == 0 ? nil : Instant(milliseconds: revokedAt), revokedBy: row["revoked_by"].string)
    }

    package func allCalendarFeeds() throws -> [CalendarFeed] {
        try read { transaction in
            try transaction.fetchAll(Shop.calendarFeedQuery + " ORDER BY f.created_at DESC, f.id DESC", []).map(Shop.calendarFeed)
        }
    }

    package func calendarFeed(_ id: CalendarFeedID) throws -> CalendarFeed {
        try read { transaction in
            guard let row = try transaction.fetchOne(Shop.calendarFeedQuery + " WHERE f.id = ?", [.text(id.rawValue)]) else {
                throw DomainError(.notFound, "no calendar feed \(id)")
            }
            return try Shop.calendarFeed(row)
        }
    }

    package func revokeCalendarFeed(_ id: CalendarFeedID, actor: String) throws {
        try write(.calendarFeedRevoke) { transaction in
            guard let row = try transaction.fetchOne("SELECT revoked_at FROM calendar_feeds WHERE id = ?", [.text(id.rawValue)]) else {
                throw DomainError(.notFound, "no calendar feed \(id)")
            }
            guard row["revoked_at"].int64 == 0 else { return }
            try transaction.update("calendar_feeds", key: .text(id.rawValue), ["revoked_at": .instant(now), "revoked_by": .text(actor)])
        }
    }

    /// The feed's calendar, read on a reader connection (it never holds up a booking).
    package func calendarFeedDocument(secret: String) throws -> CalendarFeedDocument {
        // One indexed look-up by the hash, whatever the secret: an unknown and a revoked secret
        // take the same path and get the same answer.
        let hash = Shop.calendarFeedHash(secret)
        let now = now
        return try readSnapshot { transaction in
            guard let row = try transaction.fetchOne(Shop.calendarFeedQuery + " WHERE f.token_hash = ? AND f.revoked_at = 0 ORDER BY f.id LIMIT 1", [.text(hash)]),
                  let feed = try? Shop.calendarFeed(row) else {
                throw DomainError(.notFound, "no calendar feed has this address (or it was revoked)")
            }
            guard let branchID = feed.branchID else {
                throw DomainError(.notFound, "no calendar feed has this address (its \(feed.subject.scope) no longer exists)")
            }
            let branch = try Loader.branch(branchID, in: transaction)
            let events = try CalendarFeedEvents.load(feed, branch: branch, now: now, in: transaction)
            return CalendarFeedDocument(feed: feed, text: CalendarFeedEvents.render(feed, events: events, now: now), eventCount: events.count)
        }
    }
}

/// The events of a feed: read in a few queries whatever their number (no query per event), then written.
enum CalendarFeedEvents {
    struct Event: Hashable {
        var uid: String
        var start: Instant
        var end: Instant
        var sequence: Int
        var lastModified: Instant
        var isTentative: Bool
        var summary: String
        var description: String
    }

    /// The language of a BCP 47 locale (`ru-KZ` → `ru`).
    static func language(of locale: String) -> String {
        locale.split(whereSeparator: { $0 == "-" || $0 == "_" }).first.map { $0.lowercased() } ?? "en"
    }

    /// A word in the branch's language, else English.
    static func localized(_ words: [String: String], locale: String) -> String {
        words[language(of: locale)] ?? words["en"] ?? ""
    }

    static let busy = ["en": "Busy", "ru": "Занято", "kk": "Бос емес"]
    static let order = ["en": "Order", "ru": "Заказ", "kk": "Тапсырыс"]

    static func load(_ feed: CalendarFeed, branch: Branch, now: Instant, in transaction: ReadTransaction) throws -> [Event] {
        let from = now.adding(minutes: -Shop.calendarFeedDaysBack * 1440)
        let to = now.adding(minutes: Shop.calendarFeedDaysAhead * 1440)
        let statuses = Shop.calendarFeedStatuses.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        // SEQUENCE: every move (time or staff) and every confirmation is an `appointment_events`
        // row, which only grows; LAST-MODIFIED: the latest of them.
        let columns = """
            SELECT a.id, a.branch_id, a.items, a.status, a.starts_at, a.ends_at, a.order_number, a.hold_expires_at, a.created_at,
                   a.guest_name, COALESCE(c.name, '') AS client_name,
                   (SELECT count(*) FROM appointment_events e WHERE e.appointment_id = a.id
                        AND (e.action = 'rescheduled' OR (e.action = 'status' AND e.to_status = 'confirmed'))) AS changes,
                   (SELECT max(e.at) FROM appointment_events e WHERE e.appointment_id = a.id) AS modified
            """
        let clients = " LEFT JOIN clients c ON a.client_id != '' AND c.id = a.client_id"
        let rows: [Row]
        switch feed.subject {
        case .branch(let id):
            // The branch's appointments by the (status, branch) index, then by start.
            rows = try transaction.fetchAll(columns + " FROM appointments a" + clients + """
                 WHERE a.branch_id = ? AND a.status IN (\(statuses)) AND a.starts_at >= ? AND a.starts_at < ? ORDER BY a.starts_at, a.id
                """, [.text(id.rawValue), .instant(from), .instant(to)])
        case .staff(let id):
            // The occupancy index (subject, start) finds the staff member's items in the window
            // (it holds only the statuses a feed shows; buffers start a little earlier than the
            // items, which are filtered exactly below), then each appointment by its key: CROSS
            // JOIN keeps SQLite from scanning appointments by status instead.
            rows = try transaction.fetchAll(columns + """
                 FROM (SELECT DISTINCT appointment_id FROM local_occupancy WHERE subject = ? AND kind = 'staff' AND occupied_start >= ? AND occupied_start < ?) o
                 CROSS JOIN appointments a ON a.id = o.appointment_id
                """ + clients + " WHERE a.status IN (\(statuses)) ORDER BY a.starts_at, a.id",
                [.text(id.rawValue), .instant(from.adding(minutes: -1440)), .instant(to)])
        }
        let details = feed.content == .details
        var offeringNames: [String: String] = [:]
        var staffNames: [String: String] = [:]
        if details {
            let branches = Set(rows.map { $0["branch_id"].string }).sorted()
            let marks = branches.map { _ in "?" }.joined(separator: ", ")
            for row in try transaction.fetchAll("SELECT id, names FROM offerings WHERE branch_id IN (\(marks))", branches.map { .text($0) }) {
                let names = JSONColumn.decode([String: String].self, row["names"], default: [:])
                offeringNames[row["id"].string] = localizedName(names, locale: branch.locale)
            }
            if case .branch = feed.subject {
                for row in try transaction.fetchAll("SELECT id, name FROM staff WHERE branch_id IN (\(marks))", branches.map { .text($0) }) {
                    staffNames[row["id"].string] = row["name"].string
                }
            }
        }
        var events: [Event] = []
        for row in rows {
            let status = AppointmentStatus(rawValue: row["status"].string) ?? .requested
            if status == .held, row["hold_expires_at"].int64 <= now.milliseconds { continue }
            let id = row["id"].string
            let items = JSONColumn.decode([AppointmentItem].self, row["items"], default: [])
            let modified = row["modified"].integerValue ?? row["created_at"].int64
            let person = firstName(row["client_name"].string.isEmpty ? row["guest_name"].string : row["client_name"].string)
            let orderLine = localized(order, locale: branch.locale) + " " + row["order_number"].string
            func summary(_ services: [String]) -> String {
                guard details else { return localized(busy, locale: branch.locale) }
                let names = services.filter { !$0.isEmpty }.joined(separator: ", ")
                return [person, names].filter { !$0.isEmpty }.joined(separator: " — ")
            }
            var event = Event(uid: "", start: Instant(milliseconds: 0), end: Instant(milliseconds: 0), sequence: row["changes"].int,
                              lastModified: Instant(milliseconds: modified), isTentative: status == .held || status == .requested,
                              summary: "", description: "")
            switch feed.subject {
            case .branch:
                event.uid = id + "@edgenode"
                event.start = Instant(milliseconds: row["starts_at"].int64)
                event.end = Instant(milliseconds: row["ends_at"].int64)
                event.summary = summary(items.map { offeringNames[$0.offeringID.rawValue] ?? "" })
                if details {
                    var staff: [String] = []
                    for item in items { if let name = staffNames[item.staffID.rawValue], !staff.contains(name) { staff.append(name) } }
                    event.description = ([orderLine] + (staff.isEmpty ? [] : [staff.joined(separator: ", ")])).joined(separator: "\n")
                }
                events.append(event)
            case .staff(let staff):
                for (index, item) in items.enumerated() where item.staffID == staff && item.start >= from && item.start < to {
                    var itemEvent = event
                    itemEvent.uid = "\(id)-\(index)@edgenode"
                    itemEvent.start = item.start
                    itemEvent.end = item.end
                    itemEvent.summary = summary([offeringNames[item.offeringID.rawValue] ?? ""])
                    if details { itemEvent.description = orderLine }
                    events.append(itemEvent)
                }
            }
        }
        return events.sorted { ($0.start, $0.uid) < ($1.start, $1.uid) }
    }

    /// A service's name in the branch's language, else English, else any.
    static func localizedName(_ names: [String: String], locale: String) -> String {
        names[language(of: locale)] ?? names["en"] ?? names.sorted { $0.key < $1.key }.first?.value ?? ""
    }

    /// The first word of a name (`Ерлан Сапаров` → `Ерлан`).
    static func firstName(_ name: String) -> String {
        name.split(whereSeparator: \.isWhitespace).first.map(String.init) ?? ""
    }

    /// The feed as iCalendar text: times in UTC, so no TZID and no VTIMEZONE.
    static func render(_ feed: CalendarFeed, events: [Event], now: Instant) -> String {
        var calendar = ICalendarWriter()
        calendar.begin("VCALENDAR")
        calendar.raw("VERSION", "2.0")
        calendar.raw("PRODID", "-//edgenode//calendar feed//EN")
        calendar.raw("CALSCALE", "GREGORIAN")
        calendar.raw("METHOD", "PUBLISH")
        calendar.text("X-WR-CALNAME", feed.name)
        calendar.raw("REFRESH-INTERVAL", "PT1H", parameters: [("VALUE", "DURATION")])
        calendar.raw("X-PUBLISHED-TTL", "PT1H")
        for event in events {
            calendar.begin("VEVENT")
            calendar.text("UID", event.uid)
            calendar.dateTime("DTSTAMP", now)
            calendar.dateTime("LAST-MODIFIED", event.lastModified)
            calendar.dateTime("DTSTART", event.start)
            calendar.dateTime("DTEND", event.end)
            calendar.raw("SEQUENCE", String(event.sequence))
            calendar.text("SUMMARY", event.summary)
            if !event.description.isEmpty { calendar.text("DESCRIPTION", event.description) }
            calendar.raw("STATUS", event.isTentative ? "TENTATIVE" : "CONFIRMED")
            calendar.end("VEVENT")
        }
        calendar.end("VCALENDAR")
        return calendar.text
    }
}
