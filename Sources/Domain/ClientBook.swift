import Replication

extension Shop {
    /// Creates a client. The phone is normalised to E.164 with the branch's region.
    /// - Throws: `DomainError(.duplicatePhone)` naming the client who already has the number,
    ///   `.invalidPhone`, `.invalidArgument`.
    @discardableResult
    package func createClient(_ draft: ClientDraft, branch: BranchID) throws -> Client {
        try write(.clientCreate) { transaction in
            let region = try Loader.branch(branch, in: transaction).region
            let fields = try validated(draft, region: region)
            if !fields.phone.isEmpty { try requireUniquePhone(fields.phone, except: nil, in: transaction) }
            let client = Client(id: .generate(at: now), name: fields.name, phone: fields.phone, email: fields.email, tags: fields.tags,
                                preferences: fields.preferences, marketingConsent: fields.marketingConsent, createdAt: now)
            try transaction.insert("clients", [
                "id": .text(client.id.rawValue), "name": .text(client.name), "phone": .text(client.phone), "email": .text(client.email),
                "tags": .text(JSONColumn.encode(client.tags)), "preferences": .text(client.preferences),
                "marketing_consent": .bool(client.marketingConsent), "created_at": .instant(now),
            ])
            return client
        }
    }

    /// Updates a client's details (only changed fields are written, so concurrent edits of
    /// different fields on two replicas both survive).
    @discardableResult
    package func updateClient(_ id: ClientID, _ draft: ClientDraft, branch: BranchID) throws -> Client {
        try write(.clientUpdate) { transaction in
            _ = try Loader.client(id, in: transaction)
            let region = try Loader.branch(branch, in: transaction).region
            let fields = try validated(draft, region: region)
            if !fields.phone.isEmpty { try requireUniquePhone(fields.phone, except: id, in: transaction) }
            try transaction.upsert("clients", id: id.rawValue, [
                "name": .text(fields.name), "phone": .text(fields.phone), "email": .text(fields.email),
                "tags": .text(JSONColumn.encode(fields.tags)), "preferences": .text(fields.preferences),
                "marketing_consent": .bool(fields.marketingConsent),
            ])
            return try Loader.client(id, in: transaction)
        }
    }

    package func client(_ id: ClientID) throws -> Client {
        try read { try Loader.client(id, in: $0) }
    }

    /// The clients with these ids that exist, in the order asked.
    package func clients(_ ids: [ClientID]) throws -> [Client] {
        try read { transaction in
            try ids.compactMap { id -> Client? in
                do { return try Loader.client(id, in: transaction) } catch let error as DomainError where error.code == .notFound { return nil }
            }
        }
    }

    /// The client with this phone number (any format the branch's region understands).
    package func client(phone: String, branch: BranchID) throws -> Client? {
        try read { transaction in
            let normalised = try PhoneNumber.normalise(phone, region: try Loader.branch(branch, in: transaction).region)
            guard let row = try transaction.fetchOne("SELECT id FROM clients WHERE phone = ? AND merged_into = '' ORDER BY id LIMIT 1", [.text(normalised)]),
                  let id = ClientID(row["id"].string) else { return nil }
            return try Loader.client(id, in: transaction)
        }
    }

    /// Clients whose name, phone or email contains every word of `query` (Cyrillic and Latin,
    /// case and diacritics ignored; `ё` finds `е`), best matches first.
    package func searchClients(_ query: String, limit: Int = 20) throws -> [Client] {
        let words = DerivedState.fold(query).split(separator: " ").map(String.init).filter { !$0.isEmpty }
        guard !words.isEmpty else { return [] }
        guard (1...200).contains(limit) else { throw DomainError(.invalidArgument, "limit must be 1…200") }
        return try read { transaction in
            // Words of three or more characters go through the trigram index; shorter ones filter the hits.
            let long = words.filter { $0.count >= 3 }
            let short = words.filter { $0.count < 3 }
            var sql: String
            var arguments: [SQLValue] = []
            if long.isEmpty {
                sql = "SELECT client_id AS client_id FROM local_client_index WHERE 1"
            } else {
                sql = """
                    SELECT i.client_id AS client_id FROM local_client_search s JOIN local_client_index i ON i.rowid = s.rowid
                    WHERE local_client_search MATCH ?
                    """
                arguments.append(.text(long.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " AND ")))
            }
            for word in short {
                sql += " AND instr(\(long.isEmpty ? "" : "i.")body, ?) > 0"
                arguments.append(.text(word))
            }
            sql += long.isEmpty ? " ORDER BY client_id LIMIT ?" : " ORDER BY rank, i.client_id LIMIT ?"
            arguments.append(.int(limit))
            return try transaction.fetchAll(sql, arguments).compactMap { ClientID($0["client_id"].string) }.map { try Loader.client($0, in: transaction) }
        }
    }

    /// Adds an append-only note to a client.
    @discardableResult
    package func addNote(to client: ClientID, body: String, author: String) throws -> ClientNote {
        guard !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, body.count <= 10_000 else {
            throw DomainError(.invalidArgument, "a note has 1 to 10000 characters")
        }
        return try write(.clientNoteAdd) { transaction in
            _ = try Loader.client(client, in: transaction)
            let note = ClientNote(id: UUIDv7.generate(milliseconds: UInt64(now.milliseconds)), clientID: client, author: author, body: body, createdAt: now)
            try transaction.insert("client_notes", ["id": .text(note.id), "client_id": .text(client.rawValue), "author": .text(author),
                                                    "body": .text(body), "created_at": .instant(now)])
            return note
        }
    }

    /// A client's notes (and those of records merged into it), oldest first.
    package func notes(of client: ClientID) throws -> [ClientNote] {
        try read { transaction in
            let ids = try Loader.mergedFamily(client, in: transaction)
            return try transaction.fetchAll("SELECT id, client_id, author, body, created_at FROM client_notes WHERE client_id IN (\(ids.map { _ in "?" }.joined(separator: ","))) ORDER BY created_at, id",
                                        ids.map { .text($0) }).map { row in
                ClientNote(id: row["id"].string, clientID: ClientID(row["client_id"].string) ?? client, author: row["author"].string, body: row["body"].string,
                           createdAt: Instant(milliseconds: row["created_at"].int64))
            }
        }
    }

    /// Phone numbers that several (unmerged) clients share — what a merge of replicas can create.
    /// They are never merged silently: a person merges them with `mergeClients`.
    package func duplicateSuggestions() throws -> [DuplicateSuggestion] {
        try read { transaction in
            try transaction.fetchAll("""
                SELECT phone, group_concat(id) AS clients FROM (SELECT phone, id FROM clients WHERE phone <> '' AND merged_into = '' ORDER BY phone, id)
                GROUP BY phone HAVING count(*) > 1 ORDER BY phone
                """).map { row in
                DuplicateSuggestion(phone: row["phone"].string, clients: row["clients"].string.split(separator: ",").compactMap { ClientID(String($0)) }.sorted())
            }
        }
    }

    /// Merges `duplicate` into `survivor`: the duplicate's appointments move to the survivor and
    /// the duplicate record is marked merged (its notes stay and are listed with the survivor's).
    package func mergeClients(_ duplicate: ClientID, into survivor: ClientID, actor: String) throws {
        guard duplicate != survivor else { throw DomainError(.invalidArgument, "a client cannot be merged into itself") }
        try write(.clientMerge) { transaction in
            let kept = try Loader.client(survivor, in: transaction)
            let merged = try Loader.client(duplicate, in: transaction)
            guard kept.mergedInto == nil, merged.mergedInto == nil else { throw DomainError(.invalidArgument, "one of the clients was merged already") }
            for row in try transaction.fetchAll("SELECT id FROM appointments WHERE client_id = ?", [.text(duplicate.rawValue)]) {
                try transaction.update("appointments", key: row["id"], ["client_id": .text(survivor.rawValue)])
            }
            var values: [String: SQLValue] = [:]
            if kept.email.isEmpty && !merged.email.isEmpty { values["email"] = .text(merged.email) }
            if kept.phone.isEmpty && !merged.phone.isEmpty { values["phone"] = .text(merged.phone) }
            let tags = Array(Set(kept.tags + merged.tags)).sorted()
            if tags != kept.tags { values["tags"] = .text(JSONColumn.encode(tags)) }
            if merged.marketingConsent != kept.marketingConsent { values["marketing_consent"] = .bool(kept.marketingConsent && merged.marketingConsent) }
            if !values.isEmpty { try transaction.update("clients", key: .text(survivor.rawValue), values) }
            try transaction.update("clients", key: .text(duplicate.rawValue), ["merged_into": .text(survivor.rawValue)])
            try transaction.insert("client_notes", ["id": .text(UUIDv7.generate(milliseconds: UInt64(now.milliseconds))),
                                                    "client_id": .text(survivor.rawValue), "author": .text(actor),
                                                    "body": .text("Merged client record \(merged.name) (\(duplicate)) into this one."),
                                                    "created_at": .instant(now)])
        }
    }

    /// Visits (newest first) and what the client actually paid: the sales of the client or of
    /// their visits, net of refunds (issue 16); each visit's share of its sale's payments.
    package func history(of client: ClientID) throws -> ClientHistory {
        try read { transaction in
            let ids = try Loader.mergedFamily(client, in: transaction)
            let marks = ids.map { _ in "?" }.joined(separator: ",")
            let visits = try transaction.fetchAll("SELECT \(Loader.appointmentColumns) FROM appointments WHERE client_id IN (\(marks)) ORDER BY starts_at DESC, id",
                                              ids.map { .text($0) }).map(Loader.appointment)
            let saleIDs = try transaction.fetchAll("""
                SELECT id FROM sales WHERE client_id IN (\(marks))
                UNION SELECT a.sale_id AS id FROM local_sale_appointments a JOIN appointments p ON p.id = a.appointment_id WHERE p.client_id IN (\(marks))
                """, (ids + ids).map { .text($0) }).map { SaleID(trusted: $0["id"].string) }
            var spend: [String: Int64] = [:]
            var paidVisits: [VisitPaid] = []
            for id in saleIDs {
                let sale = try Ledger.sale(id, in: transaction, prefix: Shop.orderPrefix(hex:))
                guard sale.state != .voided else { continue }
                spend[sale.currency, default: 0] += sale.paidMinor
                // Each visit's share of what was paid, in proportion to its lines.
                let lineTotals = sale.appointmentIDs.map { visit in sale.lines.filter { $0.appointmentID == visit }.reduce(0) { $0 + $1.totalMinor } }
                let shares = Pricing.allocate(max(0, sale.paidMinor), over: lineTotals)
                for (visit, share) in zip(sale.appointmentIDs, shares) {
                    paidVisits.append(VisitPaid(appointmentID: visit, saleID: sale.id, saleNumber: sale.number, paidMinor: share, currency: sale.currency, state: sale.state))
                }
            }
            let lifetime = spend.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { Money(amountMinor: $0.value, currency: $0.key) }
            return ClientHistory(visits: visits, completedVisits: visits.filter { $0.status == .completed }.count,
                                 noShows: visits.filter { $0.status == .noShow }.count,
                                 lateCancellations: visits.filter { $0.status == .cancelled && $0.isLateCancellation }.count,
                                 lifetimeSpend: lifetime, visitsPaid: paidVisits)
        }
    }

    private func validated(_ draft: ClientDraft, region: String) throws -> ClientDraft {
        var fields = draft
        fields.name = draft.name.trimmingCharacters(in: .whitespacesAndNewlines)
        try requireName(fields.name, "client name")
        if !draft.phone.trimmingCharacters(in: .whitespaces).isEmpty { fields.phone = try PhoneNumber.normalise(draft.phone, region: region) } else { fields.phone = "" }
        if !draft.email.trimmingCharacters(in: .whitespaces).isEmpty { fields.email = try Shop.validateEmail(draft.email) } else { fields.email = "" }
        fields.tags = Array(Set(draft.tags.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })).sorted()
        guard fields.tags.count <= 50, fields.tags.allSatisfy({ $0.count <= 50 }) else { throw DomainError(.invalidArgument, "at most 50 tags of up to 50 characters") }
        guard draft.preferences.count <= 5000 else { throw DomainError(.invalidArgument, "preferences are longer than 5000 characters") }
        return fields
    }

    private func requireUniquePhone(_ phone: String, except id: ClientID?, in transaction: WriteTransaction) throws {
        if let row = try transaction.fetchOne("SELECT id, name FROM clients WHERE phone = ? AND merged_into = '' AND id <> ? LIMIT 1",
                                         [.text(phone), .text(id?.rawValue ?? "")]) {
            throw DomainError(.duplicatePhone, "\(phone) already belongs to \(row["name"].string) (\(row["id"].string))")
        }
    }
}

extension Loader {
    static func client(_ id: ClientID, in context: some QueryContext) throws -> Client {
        guard let row = try context.fetchOne("SELECT name, phone, email, tags, preferences, marketing_consent, created_at, merged_into FROM clients WHERE id = ?",
                                        [.text(id.rawValue)]) else { throw DomainError(.notFound, "no client \(id)") }
        return Client(id: id, name: row["name"].string, phone: row["phone"].string, email: row["email"].string,
                      tags: JSONColumn.decode([String].self, row["tags"], default: []), preferences: row["preferences"].string,
                      marketingConsent: row["marketing_consent"].bool, createdAt: Instant(milliseconds: row["created_at"].int64), mergedInto: ClientID(row["merged_into"].string))
    }

    /// A client and every record merged into it (transitively).
    static func mergedFamily(_ id: ClientID, in context: some QueryContext) throws -> [String] {
        _ = try client(id, in: context)
        var family = [id.rawValue]
        var frontier = [id.rawValue]
        while let next = frontier.popLast() {
            for row in try context.fetchAll("SELECT id FROM clients WHERE merged_into = ?", [.text(next)]) where !family.contains(row["id"].string) {
                family.append(row["id"].string)
                frontier.append(row["id"].string)
            }
        }
        return family
    }
}
