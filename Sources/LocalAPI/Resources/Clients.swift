import Domain
import Foundation

extension ClientHandlers {
    /// Clients, their notes, history, duplicates and merges.
    static let endpoints: [Endpoint] = [
        Endpoint(.get, "/v1/clients", .clientsRead,
                 query: ["q", "ids", "limit", "cursor"], answers: [200: .json("ClientPage")],
                 ClientHandlers.list),
        Endpoint(.post, "/v1/clients", .clientsWrite,
                 body: .json("ClientInput"), answers: [201: .json("Client")],
                 ClientHandlers.create),
        Endpoint(.get, "/v1/clients/duplicates", .clientsRead,
                 answers: [200: .json("DuplicateSuggestionPage")],
                 ClientHandlers.duplicates),
        Endpoint(.get, "/v1/clients/{id}", .clientsRead,
                 answers: [200: .json("Client")],
                 ClientHandlers.get),
        Endpoint(.patch, "/v1/clients/{id}", .clientsWrite,
                 body: .json("ClientPatch"), answers: [200: .json("Client")],
                 ClientHandlers.update),
        Endpoint(.get, "/v1/clients/{id}/notes", .clientsRead,
                 answers: [200: .json("NotePage")],
                 ClientHandlers.notes),
        Endpoint(.post, "/v1/clients/{id}/notes", .clientsNotes,
                 body: .json("NoteInput"), answers: [201: .json("Note")],
                 ClientHandlers.addNote),
        Endpoint(.get, "/v1/clients/{id}/history", .clientsRead,
                 answers: [200: .json("ClientHistory")],
                 ClientHandlers.history),
        Endpoint(.post, "/v1/clients/{id}/merge", .clientsMerge,
                 body: .json("MergeInput"), answers: [200: .json("Client")],
                 ClientHandlers.merge),
    ]
}

enum ClientHandlers {
    static func list(_ call: Call) async throws -> Reply {
        let query = call.query()
        let text = query.string("q", maxLength: 200)
        let ids = query.ids("ids", maxCount: 200, as: ClientID.self)
        let limit = query.int("limit", range: 1...200) ?? 50
        let cursor = query.string("cursor", maxLength: 512)
        try query.validate()
        if let ids {
            // The records of the clients a screen shows (a day's appointments name only ids): one
            // request instead of one per client.
            guard text == nil, cursor == nil else {
                throw APIError.invalidParameters([FieldError(field: "ids", message: "cannot be combined with q or cursor")])
            }
            return .json(Page(items: try await call.shop.clients.clients(ids).map { ClientBody($0, zones: call.zones) }, nextCursor: nil))
        }
        let fields = try cursor.map { cursor throws(APIError) -> [String: String] in
            guard let fields = Cursor.decode(cursor) else { throw APIError.invalidParameters([FieldError(field: "cursor", message: "is not a cursor this endpoint returned")]) }
            return fields
        }
        if let text, !text.trimmingCharacters(in: .whitespaces).isEmpty {
            // Ranked search: the cursor is an offset into at most 200 best matches.
            let offset = fields.flatMap { $0["o"].flatMap { Int($0) } } ?? 0
            guard (0...200).contains(offset) else { throw APIError.invalidParameters([FieldError(field: "cursor", message: "is not a cursor this endpoint returned")]) }
            let found = try await call.shop.clients.search(text, limit: min(200, offset + limit + 1))
            let page = Array(found.dropFirst(offset).prefix(limit))
            let next = found.count > offset + limit && offset + limit < 200 ? Cursor.encode(["o": String(offset + limit)]) : nil
            return .json(Page(items: page.map { ClientBody($0, zones: call.zones) }, nextCursor: next))
        }
        var after: (name: String, id: ClientID)?
        if let fields {
            guard let name = fields["n"], let id = fields["i"].flatMap(ClientID.init) else {
                throw APIError.invalidParameters([FieldError(field: "cursor", message: "is not a cursor this endpoint returned")])
            }
            after = (name, id)
        }
        let resume = after
        var clients = try await call.shop.clients.list(after: resume, limit: limit + 1)
        var next: String?
        if clients.count > limit {
            clients.removeLast()
            if let last = clients.last { next = Cursor.encode(["n": last.name, "i": last.id.rawValue]) }
        }
        return .json(Page(items: clients.map { ClientBody($0, zones: call.zones) }, nextCursor: next))
    }

    static func draft(_ body: BodyReader, base: Client?) -> ClientDraft? {
        let name = body.string("name", required: base == nil, maxLength: 200, allowEmpty: false)
        let phone = body.string("phone", maxLength: 40)
        let email = body.string("email", maxLength: 254)
        let tags = body.strings("tags", maxCount: 50, maxLength: 50)
        let preferences = body.string("preferences", maxLength: 2000, multiline: true)
        let consent = body.bool("marketing_consent")
        guard let resolvedName = name ?? base?.name else { return nil }
        return ClientDraft(name: resolvedName, phone: phone ?? base?.phone ?? "", email: email ?? base?.email ?? "", tags: tags ?? base?.tags ?? [],
                           preferences: preferences ?? base?.preferences ?? "", marketingConsent: consent ?? base?.marketingConsent ?? false)
    }

    static func create(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let branch = body.id("branch", as: BranchID.self)
        let draft = draft(body, base: nil)
        try body.validate()
        guard let draft else { throw APIError.validation([]) }
        let branchID = try call.branch(branch)
        let client = try await call.shop.clients.create(draft, branch: branchID, as: call.acting)
        return .json(ClientBody(client, zones: call.zones), status: 201, location: "/v1/clients/\(client.id)")
    }

    static func duplicates(_ call: Call) async throws -> Reply {
        try call.query().validate()
        struct DuplicateBody: Encodable { var phone: String; var clients: [String] }
        let suggestions = try await call.shop.clients.duplicateSuggestions()
        return .json(Page(items: suggestions.map { DuplicateBody(phone: $0.phone, clients: $0.clients.map(\.rawValue)) }, nextCursor: nil))
    }

    static func get(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ClientID.self)
        return .json(ClientBody(try await call.shop.clients.client(id), zones: call.zones))
    }

    /// PATCH changes only the fields sent.
    static func update(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ClientID.self)
        let body = try call.bodyReader()
        let branch = body.id("branch", as: BranchID.self)
        let raw = body
        let branchID = try call.branch(branch)
        let current = try await call.shop.clients.client(id)
        let draft = draft(raw, base: current)
        try raw.validate()
        guard let draft else { throw APIError.validation([]) }
        let client = try await call.shop.clients.update(id, draft, branch: branchID, as: call.acting)
        return .json(ClientBody(client, zones: call.zones))
    }

    static func notes(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ClientID.self)
        try call.query().validate()
        _ = try await call.shop.clients.client(id)
        let notes = try await call.shop.clients.notes(of: id)
        return .json(Page(items: notes.map { NoteBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func addNote(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ClientID.self)
        let body = try call.bodyReader()
        let text = body.string("body", required: true, maxLength: 10_000, allowEmpty: false, multiline: true)
        try body.validate()
        guard let text else { throw APIError.validation([]) }
        let note = try await call.shop.clients.addNote(to: id, body: text, as: call.acting)
        return .json(NoteBody(note, zones: call.zones), status: 201)
    }

    static func history(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ClientID.self)
        _ = try await call.shop.clients.client(id)
        let history = try await call.shop.clients.history(of: id)
        return .json(ClientHistoryBody(visits: history.visits.map { AppointmentBody($0, zones: call.zones) }, completedVisits: history.completedVisits,
                                       noShows: history.noShows, lateCancellations: history.lateCancellations,
                                       lifetimeSpend: history.lifetimeSpend.map(MoneyBody.init), lifetimePaid: history.lifetimeSpend.map(MoneyBody.init),
                                       visitsPaid: history.visitsPaid.map(VisitPaidBody.init)))
    }

    /// Merges this client (a duplicate) into `into`, the record that survives.
    static func merge(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ClientID.self)
        let body = try call.bodyReader()
        let into = body.id("into", required: true, as: ClientID.self)
        try body.validate()
        guard let into else { throw APIError.validation([]) }
        try await call.shop.clients.merge(id, into: into, as: call.acting)
        let survivor = try await call.shop.clients.client(into)
        return .json(ClientBody(survivor, zones: call.zones))
    }
}
