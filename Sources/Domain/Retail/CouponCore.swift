import Foundation
import Replication

/// A coupon applied to a sale's lines: its share of discount per line.
struct CouponApplication {
    var couponID: CouponID
    var code: String
    var shares: [Int64]
}

/// What a coupon applies to (the `applies_to` column).
private struct CouponScope: Codable {
    var services: [String] = []
    var products: [String] = []
    var categories: [String] = []
}

extension Shop {
    // MARK: Coupons

    /// A coupon code as stored: trimmed, upper-case; 3–32 of A–Z, 0–9 and `-`.
    static func normaliseCouponCode(_ code: String) throws -> String {
        let text = code.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        guard (3...32).contains(text.count), text.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
            throw DomainError(.invalidArgument, "a coupon code is 3 to 32 of A–Z, 0–9 and -")
        }
        return text
    }

    package func saveCoupon(_ coupon: Coupon, allotments: [String: Int64], actor: MoneyActor) throws -> Coupon {
        var coupon = coupon
        coupon.code = try Self.normaliseCouponCode(coupon.code)
        coupon.name = coupon.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard coupon.name.count <= 200 else { throw DomainError(.invalidArgument, "a coupon's name has at most 200 characters") }
        switch coupon.kind {
        case .percent:
            guard (1...100).contains(coupon.value) else { throw DomainError(.invalidArgument, "a percent coupon is 1 to 100 percent") }
            coupon.currency = ""
        case .amount:
            guard (1...1_000_000_000_00).contains(coupon.value) else { throw DomainError(.invalidArgument, "an amount coupon is more than zero (at most 1000000000.00)") }
            coupon.currency = coupon.currency.uppercased()
            guard coupon.currency.count == 3, coupon.currency.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                throw DomainError(.invalidArgument, "an amount coupon needs its currency (ISO 4217, e.g. KZT)")
            }
        }
        if let from = coupon.validFrom, let until = coupon.validUntil, until <= from {
            throw DomainError(.invalidArgument, "a coupon's validity ends after it starts")
        }
        guard coupon.minSpendMinor >= 0 else { throw DomainError(.invalidArgument, "a coupon's minimum spend cannot be negative") }
        guard coupon.perClientLimit >= 0 else { throw DomainError(.invalidArgument, "a coupon's limit per client cannot be negative") }
        guard (0...1_000_000_000).contains(coupon.totalLimit) else { throw DomainError(.invalidArgument, "a coupon's total limit is 0 (none) to 1000000000") }
        coupon.categories = coupon.categories.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard coupon.categories.allSatisfy({ (1...100).contains($0.count) }) else { throw DomainError(.invalidArgument, "a category is 1 to 100 characters") }
        var grants: [(String, Int64)] = []
        for (site, uses) in allotments {
            guard let hex = SiteID(hex: site.lowercased())?.hex else { throw DomainError(.invalidArgument, "an allotment names a box by its site id (32 hex digits): \(site)") }
            guard uses >= 0 else { throw DomainError(.invalidArgument, "an allotment cannot be negative") }
            grants.append((hex, uses))
        }
        return try write(.couponSave) { transaction in
            for service in coupon.services { _ = try Loader.offering(service, in: transaction) }
            for product in coupon.products {
                guard try transaction.fetchOne("SELECT 1 AS one FROM products WHERE id = ?", [.text(product.rawValue)]) != nil else {
                    throw DomainError(.notFound, "no product \(product)")
                }
            }
            if coupon.active, let other = try transaction.fetchOne("SELECT id FROM coupons WHERE code = ? AND active = 1 AND id != ? LIMIT 1",
                                                                   [.text(coupon.code), .text(coupon.id.rawValue)]) {
                throw DomainError(.invalidArgument, "another active coupon (\(other["id"].string)) has the code \(coupon.code)")
            }
            let existing = try transaction.fetchOne("SELECT total_limit, created_at, created_by FROM coupons WHERE id = ?", [.text(coupon.id.rawValue)])
            let account = EscrowAccount.coupon(coupon.id)
            let granted = try grantedTotal(account, in: transaction)
            if let existing {
                guard allotments.isEmpty else { throw DomainError(.invalidArgument, "allotments are given when a coupon is created; later, move uses between boxes") }
                let limited = existing["total_limit"].int64 > 0
                guard limited == (coupon.totalLimit > 0) else {
                    throw DomainError(.invalidArgument, "a coupon's total limit cannot be switched between none (0) and a number; make a new coupon")
                }
                if limited {
                    guard coupon.totalLimit >= granted else {
                        throw DomainError(.invalidArgument, "the total limit cannot go below the \(granted) uses already given out to boxes")
                    }
                    if coupon.totalLimit > granted {
                        try writeEscrowEntry(account, kind: .grant, holder: siteHex, amount: coupon.totalLimit - granted, note: "limit raised", actor: actor, in: transaction)
                    }
                }
                coupon.createdAt = Instant(milliseconds: existing["created_at"].int64)
                coupon.createdBy = existing["created_by"].string
            } else {
                let allotted = grants.reduce(0) { $0 + $1.1 }
                guard coupon.totalLimit > 0 || allotted == 0 else { throw DomainError(.invalidArgument, "allotments need a total limit") }
                guard allotted <= coupon.totalLimit else {
                    throw DomainError(.invalidArgument, "the allotments (\(allotted)) are more than the total limit (\(coupon.totalLimit))")
                }
                var bySite: [String: Int64] = [:]
                for (site, uses) in grants { bySite[site, default: 0] += uses }
                bySite[siteHex, default: 0] += coupon.totalLimit - allotted
                for (site, uses) in bySite.sorted(by: { $0.key < $1.key }) where uses > 0 {
                    try writeEscrowEntry(account, kind: .grant, holder: site, amount: uses, note: "allotment", actor: actor, in: transaction)
                }
                coupon.createdAt = now
                coupon.createdBy = actor.name
            }
            let scope = CouponScope(services: coupon.services.map(\.rawValue), products: coupon.products.map(\.rawValue), categories: coupon.categories)
            try transaction.upsert("coupons", id: coupon.id.rawValue, [
                "code": .text(coupon.code), "name": .text(coupon.name), "kind": .text(coupon.kind.rawValue), "value": .integer(coupon.value),
                "currency": .text(coupon.currency), "applies_to": .text(JSONColumn.encode(scope)), "valid_from": .integer(coupon.validFrom?.milliseconds ?? 0),
                "valid_until": .integer(coupon.validUntil?.milliseconds ?? 0), "min_spend_minor": .integer(coupon.minSpendMinor),
                "per_client_limit": .int(coupon.perClientLimit), "total_limit": .integer(coupon.totalLimit), "active": .bool(coupon.active),
                "created_at": .instant(coupon.createdAt), "created_by": .text(coupon.createdBy),
            ])
            return try loadCoupon(coupon.id, in: transaction)
        }
    }

    /// Σ of an account's grants this replica knows (a coupon's limit across boxes).
    func grantedTotal(_ account: EscrowAccount, in context: some QueryContext) throws -> Int64 {
        try context.fetchOne("SELECT coalesce(sum(amount), 0) AS total FROM escrow_entries WHERE account = ? AND kind = 'grant' AND amount > 0",
                             [.text(account.description)])?["total"].int64 ?? 0
    }

    func loadCoupon(_ id: CouponID, in context: some QueryContext) throws -> Coupon {
        guard let row = try context.fetchOne("SELECT * FROM coupons WHERE id = ?", [.text(id.rawValue)]) else { throw DomainError(.notFound, "no coupon \(id)") }
        return try coupon(row, in: context)
    }

    /// A coupon read back; `counted: false` skips what needs its whole ledger (`usesKnown` is 0 and
    /// `totalLimit` is the row's), for checkout, which runs on every use.
    private func coupon(_ row: Row, counted: Bool = true, in context: some QueryContext) throws -> Coupon {
        let id = CouponID(trusted: row["id"].string)
        let scope = JSONColumn.decode(CouponScope.self, row["applies_to"], default: CouponScope())
        let limit = row["total_limit"].int64
        let account = EscrowAccount.coupon(id)
        let uses = !counted ? 0 : try context.fetchOne("""
            SELECT coalesce(sum(-e.amount), 0) AS uses FROM escrow_entries e
            WHERE e.account = ? AND ((e.kind = 'spend' AND \(EscrowLedger.wellFormed)) OR (e.kind = 'restore' AND \(EscrowLedger.counts)))
            """, [.text(account.description)])?["uses"].int64 ?? 0
        let from = row["valid_from"].int64, until = row["valid_until"].int64
        return Coupon(id: id, code: row["code"].string, name: row["name"].string, kind: Coupon.Kind(rawValue: row["kind"].string) ?? .percent,
                      value: row["value"].int64, currency: row["currency"].string, services: scope.services.compactMap(OfferingID.init),
                      products: scope.products.compactMap(ProductID.init), categories: scope.categories,
                      validFrom: from > 0 ? Instant(milliseconds: from) : nil, validUntil: until > 0 ? Instant(milliseconds: until) : nil,
                      minSpendMinor: row["min_spend_minor"].int64, perClientLimit: row["per_client_limit"].int,
                      totalLimit: limit > 0 ? (counted ? max(limit, try grantedTotal(account, in: context)) : limit) : 0, active: row["active"].bool,
                      usesKnown: uses, createdAt: Instant(milliseconds: row["created_at"].int64), createdBy: row["created_by"].string)
    }

    package func coupon(_ id: CouponID) throws -> Coupon { try read { try loadCoupon(id, in: $0) } }

    package func coupon(code: String) throws -> Coupon {
        let normalised = try Self.normaliseCouponCode(code)
        return try read { transaction in
            guard let row = try transaction.fetchOne("SELECT * FROM coupons WHERE code = ? ORDER BY active DESC, created_at, id LIMIT 1", [.text(normalised)]) else {
                throw DomainError(.notFound, "no coupon has the code \(normalised)")
            }
            return try coupon(row, in: transaction)
        }
    }

    package func coupons(includeInactive: Bool) throws -> [Coupon] {
        try read { transaction in
            try transaction.fetchAll("SELECT * FROM coupons WHERE ? OR active = 1 ORDER BY code, created_at, id", [.bool(includeInactive)]).map { try coupon($0, in: transaction) }
        }
    }

    /// Uses of a coupon by a client this replica knows (spends not given back).
    func couponUses(_ id: CouponID, client: ClientID, in context: some QueryContext) throws -> Int64 {
        try context.fetchOne("""
            SELECT count(*) AS uses FROM escrow_entries e WHERE e.account = ? AND e.kind = 'spend' AND e.client_id = ? AND \(EscrowLedger.wellFormed)
              AND NOT EXISTS (SELECT 1 FROM escrow_entries r WHERE r.reverses = e.id AND r.kind = 'restore' AND r.amount > 0)
            """, [.text(EscrowAccount.coupon(id).description), .text(client.rawValue)])?["uses"].int64 ?? 0
    }

    // MARK: Checkout

    /// Checks a coupon against the sale (code, window, minimum spend, what it applies to, the client's
    /// limit, this box's allotment) and spreads its discount over the matching lines.
    /// - Throws: `.couponRefused` with the reason; `.heldElsewhere` when only other boxes hold uses.
    func applyCoupon(code: String, lines: [SaleLine], clientID: ClientID?, branch: BranchID, currency: String, in transaction: WriteTransaction) throws -> CouponApplication {
        let typed = code.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        guard let normalised = try? Self.normaliseCouponCode(typed),
              let row = try transaction.fetchOne("SELECT * FROM coupons WHERE code = ? ORDER BY active DESC, created_at, id LIMIT 1", [.text(normalised)]) else {
            throw DomainError(.couponRefused, "no coupon has the code \(typed)")
        }
        let coupon = try coupon(row, counted: false, in: transaction)
        let name = coupon.code
        guard coupon.active else { throw DomainError(.couponRefused, "coupon \(name) is no longer active") }
        if let from = coupon.validFrom, now < from { throw DomainError(.couponRefused, "coupon \(name) is valid from \(from)") }
        if let until = coupon.validUntil, now >= until { throw DomainError(.couponRefused, "coupon \(name) expired at \(until)") }
        if coupon.kind == .amount, coupon.currency != currency {
            throw DomainError(.couponRefused, "coupon \(name) is an amount in \(coupon.currency); this sale is in \(currency)")
        }
        let matching = try lines.map { try couponMatches(coupon, $0, in: transaction) }
        let gross = zip(lines, matching).map { $1 ? Int64($0.quantity) * $0.unitPriceMinor : 0 }
        let sum = gross.reduce(0, +)
        guard matching.contains(true) else { throw DomainError(.couponRefused, "nothing in this sale is something coupon \(name) applies to") }
        guard sum >= coupon.minSpendMinor else {
            throw DomainError(.couponRefused, "what coupon \(name) applies to comes to \(sum), below its minimum spend of \(coupon.minSpendMinor)")
        }
        if coupon.perClientLimit > 0 {
            guard let clientID else { throw DomainError(.couponRefused, "coupon \(name) is limited per client: name the client") }
            let used = try couponUses(coupon.id, client: clientID, in: transaction)
            guard used < Int64(coupon.perClientLimit) else {
                throw DomainError(.couponRefused, "the client has used coupon \(name) \(used) times, its limit per client")
            }
        }
        if coupon.totalLimit > 0 {
            let balance = try escrowBalance(.coupon(coupon.id), in: transaction)
            if balance.here < 1 {
                let elsewhere = balance.elsewhere.reduce(0) { $0 + $1.amount }
                guard elsewhere > 0 else { throw DomainError(.couponRefused, "coupon \(name) has reached its limit of \(coupon.totalLimit) uses") }
                throw DomainError(.heldElsewhere, "this box has no uses of coupon \(name) left; \(elsewhere) are held by other boxes (\(describeElsewhere(balance.elsewhere, unit: { "\($0) uses" }, in: transaction))): move some here when the boxes are connected")
            }
        }
        let discount = coupon.kind == .percent ? Pricing.divideRounded(sum * coupon.value, 100) : min(coupon.value, sum)
        return CouponApplication(couponID: coupon.id, code: coupon.code, shares: Pricing.allocate(discount, over: gross))
    }

    /// Whether a sale line is one the coupon applies to (never a gift card; no scope: every other line).
    private func couponMatches(_ coupon: Coupon, _ line: SaleLine, in context: some QueryContext) throws -> Bool {
        guard line.kind != .giftCard else { return false }
        if coupon.services.isEmpty, coupon.products.isEmpty, coupon.categories.isEmpty { return true }
        switch line.kind {
        case .service:
            if let offering = OfferingID(line.reference), coupon.services.contains(offering) { return true }
        case .product:
            if let product = ProductID(line.reference), coupon.products.contains(product) { return true }
        case .custom, .giftCard:
            return false
        }
        guard !coupon.categories.isEmpty else { return false }
        var category = ""
        if line.kind == .service, let offering = OfferingID(line.reference) {
            category = (try? Loader.offering(offering, in: context))?.category ?? ""
        } else if line.kind == .product {
            category = try context.fetchOne("SELECT category FROM products WHERE id = ?", [.text(line.reference)])?["category"].string ?? ""
        }
        let folded = category.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return !folded.isEmpty && coupon.categories.contains { $0.lowercased() == folded }
    }

    /// Writes the coupon's use (a spend of one from this box's allotment; for a coupon without a
    /// limit too, so that its uses are counted).
    func recordCouponUse(_ use: CouponApplication, sale: SaleID, clientID: ClientID?, actor: MoneyActor, in transaction: WriteTransaction) throws {
        try writeEscrowEntry(.coupon(use.couponID), kind: .spend, holder: siteHex, amount: -1, sale: sale, client: clientID, note: "coupon \(use.code)",
                             actor: actor, in: transaction)
    }

    /// Gives back a voided sale's coupon use (a restore of each of its coupon spends not given back yet).
    func restoreForVoidedSale(_ sale: SaleID, actor: MoneyActor, in transaction: WriteTransaction) throws {
        for row in try transaction.fetchAll("""
            SELECT e.* FROM escrow_entries e WHERE e.sale_id = ? AND e.kind = 'spend' AND e.account LIKE 'coupon:%' AND \(EscrowLedger.wellFormed)
              AND NOT EXISTS (SELECT 1 FROM escrow_entries r WHERE r.reverses = e.id AND r.kind = 'restore')
            ORDER BY e.at, e.id
            """, [.text(sale.rawValue)]) {
            guard let spend = EscrowLedger.entry(row) else { continue }
            try writeEscrowEntry(spend.account, kind: .restore, holder: spend.holder, amount: -spend.amount, reverses: spend.id.rawValue, sale: sale,
                                 client: spend.clientID, note: "sale voided", actor: actor, in: transaction)
        }
    }
}
