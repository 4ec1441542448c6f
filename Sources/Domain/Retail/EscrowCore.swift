import Foundation
import Replication

/// `local_escrow_balances`: each (account, holder)'s balance before expiry — credits to the holder,
/// less its debits, less transfers out, plus transfers in — kept current in every transaction that
/// changes `escrow_entries` and rebuildable from scratch (docs/retail.md, "The ledger").
///
/// Which rows count:
/// - `grant`, `earn`, `restore` with a positive amount (credits; any box may write them); of several
///   restores with one `reverses` only the first (by time, then id) counts, and of several earns of one
///   sale written by one box only the first;
/// - `spend`, `expire` with a negative amount, and `transfer` with an amount ≤ 0 to another box
///   (`counterpart`), only when written by the holder itself (`site = holder`): a debit written by any
///   other box is ignored and listed as an `escrow_invalid` flag, as is any row of the wrong sign.
///
/// A restore always credits the holder of what it gives back and the amount it took, whichever box
/// writes it, so "only the first counts" never takes a credit away from a box (the proof needs every
/// box's known credits only to grow).
enum EscrowLedger {
    /// The condition of a well-formed row (`e` is `escrow_entries`).
    static let wellFormed = """
        ((e.kind IN ('grant', 'earn', 'restore') AND e.amount > 0)
         OR (e.kind IN ('spend', 'expire') AND e.amount < 0 AND e.site = e.holder)
         OR (e.kind = 'transfer' AND e.amount <= 0 AND e.site = e.holder AND e.counterpart != '' AND e.counterpart != e.holder))
        """

    /// The rows that count (well formed, and the first of duplicate restores and earns). The `!= ''`
    /// terms let SQLite use the partial indexes on `reverses` and `sale_id`.
    static let counts = """
        \(wellFormed)
        AND NOT (e.kind = 'restore' AND (e.reverses = '' OR EXISTS (SELECT 1 FROM escrow_entries o WHERE o.reverses = e.reverses AND o.reverses != '' AND o.account = e.account
            AND o.kind = 'restore' AND o.amount > 0 AND (o.at < e.at OR (o.at = e.at AND o.id < e.id)))))
        AND NOT (e.kind = 'earn' AND (e.sale_id = '' OR EXISTS (SELECT 1 FROM escrow_entries o WHERE o.sale_id = e.sale_id AND o.sale_id != '' AND o.account = e.account
            AND o.kind = 'earn' AND o.site = e.site AND o.amount > 0 AND (o.at < e.at OR (o.at = e.at AND o.id < e.id)))))
        """

    static func update(_ changes: ChangedRows, in transaction: some QueryContext & LocalWriter) throws {
        try applyIncrementally(changes, in: transaction)
    }

    static func rebuild(in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("DELETE FROM local_escrow_balances", [])
        try transaction.execute("DELETE FROM local_escrow_applied", [])
        try insertBalances(filter: "1", [], in: transaction)
        try transaction.execute("INSERT INTO local_escrow_applied (entry_id) SELECT id FROM escrow_entries", [])
    }

    static func insertBalances(filter: String, _ arguments: [SQLValue], in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("""
            INSERT INTO local_escrow_balances (account, holder, amount)
            WITH counted AS (SELECT e.account AS account, e.holder AS holder, e.counterpart AS counterpart, e.kind AS kind, e.amount AS amount
                             FROM escrow_entries e WHERE \(filter) AND \(counts))
            SELECT account, holder, sum(amount) FROM (
                SELECT account, holder, amount FROM counted
                UNION ALL SELECT account, counterpart AS holder, -amount AS amount FROM counted WHERE kind = 'transfer')
            GROUP BY account, holder
            """, arguments)
    }

    /// What each box holds of an account before expiry (from `local_escrow_balances`).
    static func holdings(_ account: EscrowAccount, in context: some QueryContext) throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for row in try context.fetchAll("SELECT holder, amount FROM local_escrow_balances WHERE account = ?", [.text(account.description)]) {
            result[row["holder"].string] = row["amount"].int64
        }
        return result
    }

    static func entry(_ row: Row) -> EscrowEntry? {
        guard let account = EscrowAccount(row["account"].string), let kind = EscrowEntry.Kind(rawValue: row["kind"].string) else { return nil }
        return EscrowEntry(id: EscrowEntryID(trusted: row["id"].string), account: account, kind: kind, holder: row["holder"].string, amount: row["amount"].int64,
                           counterpart: row["counterpart"].string, requestID: EscrowRequestID(row["request_id"].string), reverses: row["reverses"].string,
                           saleID: SaleID(row["sale_id"].string), paymentID: PaymentID(row["payment_id"].string), clientID: ClientID(row["client_id"].string),
                           note: row["note"].string, site: row["site"].string, at: Instant(milliseconds: row["at"].int64), by: row["by"].string)
    }
}

extension Shop {
    // MARK: Writing entries

    /// Appends one ledger row and brings `local_escrow_balances` up to date for the rest of the transaction.
    @discardableResult
    func writeEscrowEntry(_ account: EscrowAccount, kind: EscrowEntry.Kind, holder: String, amount: Int64, counterpart: String = "",
                          request: EscrowRequestID? = nil, reverses: String = "", sale: SaleID? = nil, payment: PaymentID? = nil, client: ClientID? = nil,
                          note: String = "", actor: MoneyActor, in transaction: WriteTransaction) throws -> EscrowEntryID {
        let id = EscrowEntryID.generate(at: now)
        try transaction.insert("escrow_entries", [
            "id": .text(id.rawValue), "account": .text(account.description), "kind": .text(kind.rawValue), "holder": .text(holder), "amount": .integer(amount),
            "counterpart": .text(counterpart), "request_id": .text(request?.rawValue ?? ""), "reverses": .text(reverses), "sale_id": .text(sale?.rawValue ?? ""),
            "payment_id": .text(payment?.rawValue ?? ""), "client_id": .text(client?.rawValue ?? ""), "note": .text(String(note.prefix(500))),
            "site": .text(siteHex), "at": .instant(now), "by": .text(actor.name),
        ])
        try transaction.refreshDerivedState()
        return id
    }

    // MARK: Balances

    /// Whether nothing of an account may be spent now (`blocked`): a card that is unpaid, voided or
    /// expired (its `state`), or points past their expiry (`pointsExpireAt`). A coupon is never blocked
    /// here (its window is checked at checkout).
    func escrowBlock(_ account: EscrowAccount, in context: some QueryContext) throws -> (state: GiftCard.State?, pointsExpireAt: Instant?, blocked: Bool) {
        switch account {
        case .coupon:
            return (nil, nil, false)
        case .giftCard(let id):
            guard let row = try context.fetchOne("SELECT expires_at, sale_id FROM gift_cards WHERE id = ? ORDER BY created_at, id LIMIT 1", [.text(id.rawValue)]) else {
                return (nil, nil, true)
            }
            let state = try giftCardState(expiresAt: row["expires_at"].int64, sale: row["sale_id"].string, in: context)
            return (state, nil, state != .active)
        case .points:
            let expires = try pointsExpiry(account, in: context)
            return (nil, expires, expires.map { now >= $0 } ?? false)
        }
    }

    /// When a client's points expire: `expiry_days` after the last earning this replica knows of (nil: never).
    func pointsExpiry(_ account: EscrowAccount, in context: some QueryContext) throws -> Instant? {
        let rules = try Self.loyaltyRules(in: context)
        guard rules.expiryDays > 0,
              let row = try context.fetchOne("SELECT max(at) AS last FROM escrow_entries WHERE account = ? AND kind = 'earn' AND amount > 0", [.text(account.description)]),
              row["last"].integerValue != nil else { return nil }
        return Instant(milliseconds: row["last"].int64 + Int64(rules.expiryDays) * 86_400_000)
    }

    func giftCardState(expiresAt: Int64, sale: String, in context: some QueryContext) throws -> GiftCard.State {
        guard let saleID = SaleID(sale) else { return .unpaid }
        let found = try? Ledger.sale(saleID, in: context, prefix: Shop.orderPrefix(hex:))
        guard let found else { return .unpaid }
        if found.state == .voided { return .voided }
        guard found.state == .paid || found.state == .overpaid else { return .unpaid }
        if expiresAt > 0, now.milliseconds >= expiresAt { return .expired }
        return .active
    }

    /// An account's balance as this box can prove it: what it may spend now, what others hold, open requests.
    func escrowBalance(_ account: EscrowAccount, in context: some QueryContext) throws -> EscrowBalance {
        let holdings = try EscrowLedger.holdings(account, in: context)
        let blocked = try escrowBlock(account, in: context).blocked
        let here = blocked ? 0 : max(0, holdings[siteHex] ?? 0)
        let boxes = knownBoxes()
        let elsewhere = holdings.filter { $0.key != siteHex && $0.value > 0 }.sorted { $0.key < $1.key }.map { site, amount in
            EscrowHolding(site: site, boxName: boxes[site]?.name ?? "", branchID: boxes[site]?.branch, amount: blocked ? 0 : amount)
        }.filter { $0.amount > 0 }
        let requests = try escrowRequests(openOnly: true, account: account, limit: 200, in: context)
        return EscrowBalance(account: account, here: here, elsewhere: elsewhere, total: here + elsewhere.reduce(0) { $0 + $1.amount }, openRequests: requests)
    }

    /// The boxes this replica has certificates for: a name ("box" and the receipt prefix) and the branch.
    func knownBoxes() -> [String: (name: String, branch: BranchID?)] {
        var result: [String: (name: String, branch: BranchID?)] = [:]
        for (site, certificates) in store.trustStore.certificates {
            result[site.hex] = ("box \(Shop.orderPrefix(hex: site.hex))", certificates.last.flatMap { BranchID($0.branch) })
        }
        return result
    }

    /// "12 at box K7QD (Almaty), 3 at box M2XE": where the rest of an account is held.
    func describeElsewhere(_ holdings: [EscrowHolding], unit: (Int64) -> String, in context: some QueryContext) -> String {
        holdings.map { holding in
            let name = holding.boxName.isEmpty ? "box \(Shop.orderPrefix(hex: holding.site))" : holding.boxName
            let branch = holding.branchID.flatMap { try? Loader.branch($0, in: context).name }.map { " (\($0))" } ?? ""
            return "\(unit(holding.amount)) at \(name)\(branch)"
        }.joined(separator: ", ")
    }

    package func escrowBalance(_ account: EscrowAccount) throws -> EscrowBalance {
        try read { transaction in
            try requireAccount(account, in: transaction)
            return try escrowBalance(account, in: transaction)
        }
    }

    /// Throws `.notFound` unless the account's coupon, card or client exists.
    func requireAccount(_ account: EscrowAccount, in context: some QueryContext) throws {
        switch account {
        case .coupon(let id):
            guard try context.fetchOne("SELECT 1 AS one FROM coupons WHERE id = ?", [.text(id.rawValue)]) != nil else { throw DomainError(.notFound, "no coupon \(id)") }
        case .giftCard(let id):
            guard try context.fetchOne("SELECT 1 AS one FROM gift_cards WHERE id = ?", [.text(id.rawValue)]) != nil else { throw DomainError(.notFound, "no gift card \(id)") }
        case .points(let id):
            _ = try Loader.client(id, in: context)
        }
    }

    // MARK: Moves

    package func requestEscrowMove(_ account: EscrowAccount, from: String, to: String, amount: Int64, reason: String, actor: MoneyActor) throws -> EscrowRequest {
        guard let fromSite = SiteID(hex: from.lowercased())?.hex else { throw DomainError(.invalidArgument, "from is a box's site id (32 hex digits)") }
        guard let toSite = SiteID(hex: to.lowercased())?.hex else { throw DomainError(.invalidArgument, "to is a box's site id (32 hex digits)") }
        guard fromSite != toSite else { throw DomainError(.invalidArgument, "a move goes from one box to another") }
        guard amount > 0 else { throw DomainError(.invalidArgument, "a move is of more than zero") }
        let text = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count <= 500 else { throw DomainError(.invalidArgument, "a move's reason has at most 500 characters") }
        return try write(.escrowMove) { transaction in
            try requireAccount(account, in: transaction)
            let boxes = knownBoxes()
            for site in [fromSite, toSite] where site != siteHex && boxes[site] == nil {
                throw DomainError(.invalidArgument, "no box \(site) is known to this replica (it has no certificate of it)")
            }
            let id = EscrowRequestID.generate(at: now)
            if fromSite == siteHex {
                let held = try escrowBalance(account, in: transaction).here
                guard held > 0 else { throw DomainError(.insufficientBalance, "this box holds none of \(account)") }
                try insertRequest(id, account, from: fromSite, to: toSite, amount: amount, reason: text, actor: actor, in: transaction)
                try writeEscrowEntry(account, kind: .transfer, holder: siteHex, amount: -min(amount, held), counterpart: toSite, request: id, note: text,
                                     actor: actor, in: transaction)
            } else {
                try insertRequest(id, account, from: fromSite, to: toSite, amount: amount, reason: text, actor: actor, in: transaction)
            }
            guard let request = try escrowRequests(openOnly: false, account: account, limit: 1, id: id, in: transaction).first else {
                throw DomainError(.storage, "the request \(id) was not written")
            }
            return request
        }
    }

    private func insertRequest(_ id: EscrowRequestID, _ account: EscrowAccount, from: String, to: String, amount: Int64, reason: String, actor: MoneyActor,
                               in transaction: WriteTransaction) throws {
        try transaction.insert("escrow_requests", [
            "id": .text(id.rawValue), "account": .text(account.description), "from_site": .text(from), "to_site": .text(to), "amount": .integer(amount),
            "reason": .text(reason), "site": .text(siteHex), "at": .instant(now), "by": .text(actor.name),
        ])
    }

    /// Answers the open requests addressed to this box: a transfer of what it holds, at most the amount
    /// asked; a request it cannot serve (it holds none) is declined with a transfer of zero, so that
    /// every request ends in exactly one row its `from` box wrote.
    /// - Returns: how many it answered. With none open it does not write (a write wakes the change feed).
    package func fulfilEscrowRequests(actor: MoneyActor) throws -> Int {
        let openSQL = """
            SELECT r.id AS id, r.account AS account, r.to_site AS to_site, r.amount AS amount FROM escrow_requests r
            WHERE r.from_site = ? AND NOT EXISTS (SELECT 1 FROM escrow_entries e WHERE e.request_id = r.id AND e.kind = 'transfer' AND e.site = r.from_site)
            ORDER BY r.at, r.id
            """
        guard try read({ try $0.fetchOne(openSQL, [.text(siteHex)]) }) != nil else { return 0 }
        return try write(.escrowFulfil) { transaction in
            let open = try transaction.fetchAll(openSQL, [.text(siteHex)])
            var answered = 0
            for row in open {
                guard let account = EscrowAccount(row["account"].string), let request = EscrowRequestID(row["id"].string),
                      let to = SiteID(hex: row["to_site"].string)?.hex, to != siteHex, row["amount"].int64 > 0 else { continue }
                let held = try escrowBalance(account, in: transaction).here
                let moved = min(row["amount"].int64, held)
                try writeEscrowEntry(account, kind: .transfer, holder: siteHex, amount: -max(0, moved), counterpart: to, request: request,
                                     note: moved > 0 ? "moved on request" : "declined: this box holds none", actor: actor, in: transaction)
                answered += 1
            }
            return answered
        }
    }

    package func escrowRequests(openOnly: Bool, limit: Int) throws -> [EscrowRequest] {
        try read { try escrowRequests(openOnly: openOnly, account: nil, limit: limit, in: $0) }
    }

    func escrowRequests(openOnly: Bool, account: EscrowAccount?, limit: Int, id: EscrowRequestID? = nil, in context: some QueryContext) throws -> [EscrowRequest] {
        var filters = ["1"]
        var arguments: [SQLValue] = []
        if let account { filters.append("r.account = ?"); arguments.append(.text(account.description)) }
        if let id { filters.append("r.id = ?"); arguments.append(.text(id.rawValue)) }
        // The answer is the first transfer the requested box wrote for it (it writes one).
        let rows = try context.fetchAll("""
            SELECT r.id AS id, r.account AS account, r.from_site AS from_site, r.to_site AS to_site, r.amount AS amount, r.reason AS reason, r.at AS at, r.by AS by,
                   (SELECT e.amount FROM escrow_entries e WHERE e.request_id = r.id AND e.kind = 'transfer' AND e.site = r.from_site ORDER BY e.at, e.id LIMIT 1) AS moved
            FROM escrow_requests r WHERE \(filters.joined(separator: " AND ")) ORDER BY r.at DESC, r.id DESC
            """, arguments)
        var requests: [EscrowRequest] = rows.compactMap { row in
            guard let account = EscrowAccount(row["account"].string) else { return nil }
            let moved = row["moved"].integerValue.map { -$0 }
            let state: EscrowRequest.State = moved == nil ? .open : moved! > 0 ? .done : .declined
            return EscrowRequest(id: EscrowRequestID(trusted: row["id"].string), account: account, fromSite: row["from_site"].string, toSite: row["to_site"].string,
                                 amount: row["amount"].int64, reason: row["reason"].string, state: state, movedAmount: max(0, moved ?? 0),
                                 at: Instant(milliseconds: row["at"].int64), by: row["by"].string)
        }
        if openOnly { requests = requests.filter { $0.state == .open } }
        // Open ones first, each group newest first.
        let ordered = requests.filter { $0.state == .open } + requests.filter { $0.state != .open }
        return Array(ordered.prefix(max(0, limit)))
    }

    // MARK: Flags

    package func retailFlags() throws -> [RetailFlag] { try readSnapshot { try retailFlags(in: $0) } }

    func retailFlags(in context: some QueryContext) throws -> [RetailFlag] {
        var flags: [RetailFlag] = []
        for row in try context.fetchAll("SELECT e.id AS id, e.account AS account, e.kind AS kind, e.holder AS holder, e.site AS site, e.amount AS amount FROM escrow_entries e WHERE NOT \(EscrowLedger.wellFormed) ORDER BY e.id", []) {
            guard let account = EscrowAccount(row["account"].string) else { continue }
            flags.append(RetailFlag(id: derivedKey("escrow-invalid", row["id"].string), kind: .escrowInvalid, account: account,
                                    detail: "entry \(row["id"].string) (\(row["kind"].string) of \(row["amount"].int64) held by \(row["holder"].string), written by \(row["site"].string)) is not valid and is not counted"))
        }
        for coupon in try context.fetchAll("SELECT id, code, per_client_limit FROM coupons WHERE per_client_limit > 0 ORDER BY id", []) {
            let account = "coupon:\(coupon["id"].string)"
            for row in try context.fetchAll("""
                SELECT e.client_id AS client, count(*) AS uses FROM escrow_entries e
                WHERE e.account = ? AND e.kind = 'spend' AND e.client_id != '' AND \(EscrowLedger.wellFormed)
                  AND NOT EXISTS (SELECT 1 FROM escrow_entries r WHERE r.reverses = e.id AND r.kind = 'restore' AND r.amount > 0)
                GROUP BY e.client_id HAVING count(*) > ? ORDER BY e.client_id
                """, [.text(account), coupon["per_client_limit"]]) {
                guard let id = CouponID(coupon["id"].string) else { continue }
                flags.append(RetailFlag(id: derivedKey("coupon-client-limit", id.rawValue, row["client"].string), kind: .couponClientLimit, account: .coupon(id),
                                        detail: "client \(row["client"].string) used coupon \(coupon["code"].string) \(row["uses"].int64) times; its limit per client is \(coupon["per_client_limit"].int64)"))
            }
        }
        return flags.sorted { ($0.kind.rawValue, $0.id) < ($1.kind.rawValue, $1.id) }
    }
}
