/// The client book: clients, their search index, notes, duplicates and merges, and visit history.
///
/// One of the shop's per-area components (`Shop.clients`): async, over the shop's one store,
/// which runs the SQLite work off Swift's cooperative pool by itself (inline inside a unit of work).
public struct ClientBook: Sendable {
    let shop: Shop

    /// Creates a client (one per phone number per branch's region; a duplicate is refused).
    public func create(_ draft: ClientDraft, branch: BranchID, as acting: Acting) async throws -> Client {
        try await shop.perform(as: acting) { try $0.createClient(draft, branch: branch) }
    }

    /// Updates a client.
    public func update(_ id: ClientID, _ draft: ClientDraft, branch: BranchID, as acting: Acting) async throws -> Client {
        try await shop.perform(as: acting) { try $0.updateClient(id, draft, branch: branch) }
    }

    /// The client with `id` (following merges to the survivor).
    public func client(_ id: ClientID) async throws -> Client { try await shop.perform { try $0.client(id) } }

    /// The clients with these ids, in one read (an id of no client is left out; a merged id
    /// gives the record as it is, with `mergedInto` naming the survivor).
    public func clients(_ ids: [ClientID]) async throws -> [Client] {
        try await shop.perform { try $0.clients(ids) }
    }

    /// The client with a phone number (normalised in the branch's region), if any.
    public func client(phone: String, branch: BranchID) async throws -> Client? {
        try await shop.perform { try $0.client(phone: phone, branch: branch) }
    }

    /// Clients matching a name or phone fragment.
    public func search(_ query: String, limit: Int = 20) async throws -> [Client] {
        try await shop.perform { try $0.searchClients(query, limit: limit) }
    }

    /// Clients by name, then id, after a keyset position.
    public func list(after: (name: String, id: ClientID)? = nil, limit: Int = 50) async throws -> [Client] {
        let after = after.map { Position(name: $0.name, id: $0.id) }
        return try await shop.perform { try $0.clients(after: after.map { ($0.name, $0.id) }, limit: limit) }
    }

    private struct Position: Sendable {
        let name: String
        let id: ClientID
    }

    /// Appends a note to a client (notes are append-only); its author is `acting`'s name.
    @discardableResult
    public func addNote(to client: ClientID, body: String, as acting: Acting) async throws -> ClientNote {
        try await shop.perform(as: acting) { try $0.addNote(to: client, body: body, author: acting.name) }
    }

    /// A client's notes, newest first.
    public func notes(of client: ClientID) async throws -> [ClientNote] { try await shop.perform { try $0.notes(of: client) } }

    /// Pairs of clients that look like the same person.
    public func duplicateSuggestions() async throws -> [DuplicateSuggestion] { try await shop.perform { try $0.duplicateSuggestions() } }

    /// Merges a duplicate into a survivor.
    public func merge(_ duplicate: ClientID, into survivor: ClientID, as acting: Acting) async throws {
        try await shop.perform(as: acting) { try $0.mergeClients(duplicate, into: survivor, actor: acting.name) }
    }

    /// A client's visits (newest first) and lifetime spend.
    public func history(of client: ClientID) async throws -> ClientHistory { try await shop.perform { try $0.history(of: client) } }
}
