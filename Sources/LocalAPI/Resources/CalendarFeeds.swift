import Domain
import Foundation

extension CalendarFeedHandlers {
    /// Calendar feeds (docs/calendar-feeds.md): made, listed and revoked by owners and managers;
    /// the calendar itself is open, its secret being the credential.
    static let endpoints: [Endpoint] = [
        Endpoint(.get, "/v1/calendar-feeds", .calendarFeeds,
                 answers: [200: .json("CalendarFeedPage")],
                 CalendarFeedHandlers.list),
        Endpoint(.post, "/v1/calendar-feeds", .calendarFeeds,
                 body: .json("CalendarFeedInput"), answers: [201: .json("CalendarFeed")],
                 CalendarFeedHandlers.create),
        Endpoint(.delete, "/v1/calendar-feeds/{id}", .calendarFeeds,
                 answers: [204: .empty],
                 CalendarFeedHandlers.revoke),
        Endpoint(.get, "/feeds/{secret}.ics", .open,
                 answers: [200: .media("text/calendar")],
                 CalendarFeedHandlers.calendar),
    ]
}

enum CalendarFeedHandlers {
    /// A feed as the API shows it; `url` only in the answer that made it (the secret is shown once).
    struct FeedBody: Encodable {
        var id: String
        var scope: String
        var subject: String
        var name: String
        var content: String
        var createdAt: String
        var revoked: Bool
        var url: String?

        init(_ feed: CalendarFeed, zones: Zones, url: String? = nil) {
            id = feed.id.rawValue
            scope = feed.subject.scope
            subject = feed.subject.id
            name = feed.name
            content = feed.content.rawValue
            createdAt = zones.format(feed.createdAt, branch: feed.branchID)
            revoked = feed.isRevoked
            self.url = url
        }
    }

    enum Scope: String { case staff, branch }

    static func list(_ call: Call) async throws -> Reply {
        let feeds = try await call.shop.calendarFeeds.list()
        return .json(Page(items: feeds.map { FeedBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func create(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let scope = body.enumeration("scope", required: true, as: Scope.self, allowed: [.staff, .branch])
        let subject = body.string("subject", required: true, maxLength: 64)
        let content = body.enumeration("content", required: true, as: CalendarFeedContent.self, allowed: CalendarFeedContent.allCases)
        var named: CalendarFeedSubject?
        if let subject {
            switch scope {
            case .staff?: named = StaffID(subject).map { .staff($0) }
            case .branch?: named = BranchID(subject).map { .branch($0) }
            case nil: break
            }
            if scope != nil, named == nil { body.errors.add("subject", "\"\(subject)\" is not a UUIDv7 id") }
        }
        try body.validate()
        guard let named, let content else { throw APIError.validation([]) }
        let made = try await call.shop.calendarFeeds.create(named, content: content, as: call.acting)
        let url = "http://\(host(of: call))/feeds/\(made.secret).ics"
        return .json(FeedBody(made.feed, zones: call.zones, url: url), status: 201)
    }

    static func revoke(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: CalendarFeedID.self)
        try await call.shop.calendarFeeds.revoke(id, as: call.acting)
        return .noContent
    }

    /// `GET /feeds/{secret}.ics`: the calendar; 404 `not_found` for an unknown or revoked secret.
    static func calendar(_ call: Call) async throws -> Reply {
        let document = try await call.shop.calendarFeeds.document(secret: call.parameter("secret"))
        var reply = Reply(body: Array(document.text.utf8), contentType: "text/calendar; charset=utf-8")
        // Calendar apps poll; each poll should get the current calendar.
        reply.extraHeaders = [("Cache-Control", "no-cache")]
        return reply
    }

    /// The host (and port) the request was sent to, as the URL a phone on the same network can
    /// reach; the default address when the request named none usable.
    static func host(of call: Call) -> String {
        let authority = call.request.head.authority ?? ""
        let allowed = authority.utf8.allSatisfy { byte in
            (byte >= 48 && byte <= 58) || (byte >= 65 && byte <= 93 && byte != 92) || (byte >= 97 && byte <= 122) || byte == 45 || byte == 46
        }
        return !authority.isEmpty && authority.utf8.count <= 255 && allowed ? authority : "127.0.0.1:8470"
    }
}
