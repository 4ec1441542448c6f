import Foundation
import Replication

extension Shop {
    /// The letters of a generated gift-card code: A–Z and 2–9 without the look-alikes 0, O, 1, I and L.
    static let giftCardAlphabet = Array("ABCDEFGHJKMNPQRSTUVWXYZ23456789")

    /// 16 random characters of `giftCardAlphabet` (rejection sampling: no letter is likelier than another).
    static func makeGiftCardCode() -> String {
        var code: [Character] = []
        let limit = UInt8(256 / giftCardAlphabet.count * giftCardAlphabet.count)
        while code.count < 16 {
            for byte in Sodium.randomBytes(32) where byte < limit && code.count < 16 {
                code.append(giftCardAlphabet[Int(byte) % giftCardAlphabet.count])
            }
        }
        return String(code)
    }

    /// A code as typed or scanned: upper-case, without spaces and dashes.
    static func normaliseGiftCardCode(_ code: String) -> String {
        String(code.uppercased().filter { $0 != " " && $0 != "-" && !$0.isWhitespace })
    }

    // MARK: Checkout hooks

    /// The sale lines of `request.giftCards` (kind `.giftCard`, `reference` the new card's id, no tax).
    func giftCardLines(_ request: CheckoutRequest, currency: String, in transaction: WriteTransaction) throws -> [SaleLine] {
        var codes = Set<String>()
        return try request.giftCards.map { card in
            guard (1...1_000_000_000).contains(card.amountMinor) else { throw DomainError(.invalidArgument, "a gift card's amount is 0.01 to 10000000.00") }
            if let expires = card.expiresAt, expires <= now { throw DomainError(.invalidArgument, "a gift card's expiry is in the future") }
            if let client = card.clientID { _ = try Loader.client(client, in: transaction) }
            if !card.code.isEmpty {
                let code = Self.normaliseGiftCardCode(card.code)
                guard (8...32).contains(code.count), code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                    throw DomainError(.invalidArgument, "a pre-printed gift card's code is 8 to 32 letters and digits (spaces and dashes are ignored)")
                }
                guard codes.insert(code).inserted,
                      try transaction.fetchOne("SELECT 1 AS one FROM gift_cards WHERE code = ?", [.text(code)]) == nil else {
                    throw DomainError(.invalidArgument, "another gift card has the code \(code)")
                }
            }
            return SaleLine(kind: .giftCard, reference: GiftCardID.generate(at: now).rawValue, staffID: nil, appointmentID: nil,
                            names: ["en": "Gift card", "ru": "Подарочная карта", "kk": "Сыйлық картасы"], quantity: 1, unitPriceMinor: card.amountMinor,
                            discountMinor: 0, netMinor: 0, taxRate: nil, taxMinor: 0, totalMinor: 0)
        }
    }

    /// Writes the gift cards the sale issues (a grant of each card's amount to this box).
    func issueGiftCards(sale: SaleID, _ cards: [GiftCardSaleLine], lines: [SaleLine], branch: BranchID, actor: MoneyActor, in transaction: WriteTransaction) throws {
        let cardLines = lines.filter { $0.kind == .giftCard }
        guard cardLines.count == cards.count else { throw DomainError(.invalidArgument, "the sale's gift-card lines do not match its gift cards") }
        guard !cards.isEmpty else { return }
        let currency = try Loader.branch(branch, in: transaction).currency
        for (card, line) in zip(cards, cardLines) {
            guard let id = GiftCardID(line.reference) else { throw DomainError(.invalidArgument, "a gift-card line without its card") }
            var code = Self.normaliseGiftCardCode(card.code)
            if code.isEmpty {
                repeat { code = Self.makeGiftCardCode() } while try transaction.fetchOne("SELECT 1 AS one FROM gift_cards WHERE code = ?", [.text(code)]) != nil
            }
            try transaction.insert("gift_cards", [
                "id": .text(id.rawValue), "code": .text(code), "initial_minor": .integer(card.amountMinor), "currency": .text(currency),
                "expires_at": .integer(card.expiresAt?.milliseconds ?? 0), "sale_id": .text(sale.rawValue), "branch_id": .text(branch.rawValue),
                "client_id": .text(card.clientID?.rawValue ?? ""), "site": .text(siteHex), "created_at": .instant(now), "created_by": .text(actor.name),
            ])
            try writeEscrowEntry(.giftCard(id), kind: .grant, holder: siteHex, amount: card.amountMinor, sale: sale, client: card.clientID, note: "gift card sold",
                                 actor: actor, in: transaction)
        }
    }

    // MARK: Reading

    func loadGiftCard(_ row: Row, in context: some QueryContext) throws -> GiftCard {
        let id = GiftCardID(trusted: row["id"].string)
        let expires = row["expires_at"].int64
        return GiftCard(id: id, code: row["code"].string, initialMinor: row["initial_minor"].int64, currency: row["currency"].string,
                        expiresAt: expires > 0 ? Instant(milliseconds: expires) : nil, saleID: SaleID(row["sale_id"].string),
                        branchID: BranchID(trusted: row["branch_id"].string), clientID: ClientID(row["client_id"].string),
                        state: try giftCardState(expiresAt: expires, sale: row["sale_id"].string, in: context),
                        balance: try escrowBalance(.giftCard(id), in: context), createdAt: Instant(milliseconds: row["created_at"].int64),
                        createdBy: row["created_by"].string)
    }

    package func giftCard(_ id: GiftCardID) throws -> GiftCard {
        try read { transaction in
            guard let row = try transaction.fetchOne("SELECT * FROM gift_cards WHERE id = ? ORDER BY created_at LIMIT 1", [.text(id.rawValue)]) else {
                throw DomainError(.notFound, "no gift card \(id)")
            }
            return try loadGiftCard(row, in: transaction)
        }
    }

    package func giftCard(code: String) throws -> GiftCard {
        let normalised = Self.normaliseGiftCardCode(code)
        guard !normalised.isEmpty else { throw DomainError(.invalidArgument, "a gift card's code is needed") }
        return try read { transaction in
            guard let row = try giftCardRow(code: normalised, in: transaction) else { throw DomainError(.notFound, "no gift card has this code") }
            return try loadGiftCard(row, in: transaction)
        }
    }

    /// The card with a code (the first sold, if a merge brought two).
    func giftCardRow(code: String, in context: some QueryContext) throws -> Row? {
        try context.fetchOne("SELECT * FROM gift_cards WHERE code = ? ORDER BY created_at, id LIMIT 1", [.text(code)])
    }

    package func giftCards(client: ClientID) throws -> [GiftCard] {
        try read { try giftCards(client: client, in: $0) }
    }

    func giftCards(client: ClientID, in context: some QueryContext) throws -> [GiftCard] {
        try context.fetchAll("SELECT * FROM gift_cards WHERE client_id = ? ORDER BY created_at DESC, id DESC", [.text(client.rawValue)])
            .map { try loadGiftCard($0, in: context) }
    }
}
