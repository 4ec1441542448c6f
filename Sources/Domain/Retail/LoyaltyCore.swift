import Foundation
import Replication

extension Shop {
    static let loyaltyRulesKey = derivedKey("loyalty-rules")

    // MARK: Rules

    static func loyaltyRules(in context: some QueryContext) throws -> LoyaltyRules {
        guard let row = try context.fetchOne("SELECT * FROM loyalty_rules WHERE id = ?", [.text(loyaltyRulesKey)]) else { return LoyaltyRules() }
        let bonus = JSONColumn.decode([String: Int64].self, row["service_bonus"], default: [:])
        return LoyaltyRules(enabled: row["enabled"].bool, earnPoints: row["earn_points"].int64, earnPerMinor: row["earn_per_minor"].int64,
                            visitPoints: row["visit_points"].int64,
                            serviceBonus: Dictionary(uniqueKeysWithValues: bonus.compactMap { key, value in OfferingID(key).map { ($0, value) } }),
                            pointValueMinor: row["point_value_minor"].int64, expiryDays: row["expiry_days"].int,
                            maxRedeemPercent: min(100, max(1, row["max_redeem_percent"].int)))
    }

    package func loyaltyRules() throws -> LoyaltyRules { try read { try Self.loyaltyRules(in: $0) } }

    package func saveLoyaltyRules(_ rules: LoyaltyRules) throws -> LoyaltyRules {
        guard (0...1_000_000).contains(rules.earnPoints) else { throw DomainError(.invalidArgument, "earn_points is 0 to 1000000") }
        guard (0...1_000_000_000_000).contains(rules.earnPerMinor) else { throw DomainError(.invalidArgument, "earn_per_minor is 0 to 1000000000000") }
        guard rules.earnPoints == 0 || rules.earnPerMinor > 0 else { throw DomainError(.invalidArgument, "earning points needs earn_per_minor (the amount paid per earn_points)") }
        guard (0...1_000_000).contains(rules.visitPoints) else { throw DomainError(.invalidArgument, "visit_points is 0 to 1000000") }
        guard rules.serviceBonus.values.allSatisfy({ (0...1_000_000).contains($0) }) else { throw DomainError(.invalidArgument, "a service bonus is 0 to 1000000 points") }
        guard (0...1_000_000_000).contains(rules.pointValueMinor) else { throw DomainError(.invalidArgument, "point_value_minor is 0 to 1000000000") }
        guard (0...3650).contains(rules.expiryDays) else { throw DomainError(.invalidArgument, "expiry_days is 0 (never) to 3650") }
        guard (1...100).contains(rules.maxRedeemPercent) else { throw DomainError(.invalidArgument, "max_redeem_percent is 1 to 100") }
        return try write(.loyaltyRulesSave) { transaction in
            for offering in rules.serviceBonus.keys { _ = try Loader.offering(offering, in: transaction) }
            let bonus = Dictionary(uniqueKeysWithValues: rules.serviceBonus.map { ($0.key.rawValue, $0.value) })
            try transaction.upsert("loyalty_rules", id: Self.loyaltyRulesKey, [
                "enabled": .bool(rules.enabled), "earn_points": .integer(rules.earnPoints), "earn_per_minor": .integer(rules.earnPerMinor),
                "visit_points": .integer(rules.visitPoints), "service_bonus": .text(JSONColumn.encode(bonus)), "point_value_minor": .integer(rules.pointValueMinor),
                "expiry_days": .int(rules.expiryDays), "max_redeem_percent": .int(rules.maxRedeemPercent),
            ])
            return try Self.loyaltyRules(in: transaction)
        }
    }

    package func clientLoyalty(_ client: ClientID) throws -> ClientLoyalty {
        try read { transaction in
            _ = try Loader.client(client, in: transaction)
            let account = EscrowAccount.points(client)
            let ledger = try transaction.fetchAll("SELECT * FROM escrow_entries WHERE account = ? ORDER BY at DESC, id DESC LIMIT 500", [.text(account.description)])
                .compactMap(EscrowLedger.entry)
            return ClientLoyalty(clientID: client, points: try escrowBalance(account, in: transaction), pointsExpireAt: try pointsExpiry(account, in: transaction),
                                 ledger: ledger, giftCards: try giftCards(client: client, in: transaction))
        }
    }

    // MARK: Earning

    /// Earns the client's points once the sale is paid (by the loyalty rules; once per sale: not when
    /// this replica knows an earning of the sale already).
    func earnPointsIfPaid(_ saleID: SaleID, actor: MoneyActor, in transaction: WriteTransaction) throws {
        let rules = try Self.loyaltyRules(in: transaction)
        guard rules.enabled else { return }
        let sale = try Ledger.sale(saleID, in: transaction, prefix: Shop.orderPrefix(hex:))
        guard sale.state == .paid || sale.state == .overpaid, let client = sale.clientID else { return }
        guard try transaction.fetchOne("SELECT 1 AS one FROM escrow_entries WHERE sale_id = ? AND kind = 'earn' LIMIT 1", [.text(saleID.rawValue)]) == nil else { return }
        let byMoney = sale.payments.filter { $0.status.counts && $0.method != .points && $0.method != .giftCard }
            .reduce(Int64(0)) { $0 + ($1.kind == .payment ? $1.amount.amountMinor : $1.kind == .refund ? -$1.amount.amountMinor : 0) }
        // Tips are not spending at the shop.
        let paid = max(0, min(byMoney, sale.totalMinor - sale.tipsMinor))
        var points = rules.earnPoints > 0 && rules.earnPerMinor > 0 ? paid * rules.earnPoints / rules.earnPerMinor : 0
        if !sale.appointmentIDs.isEmpty { points += rules.visitPoints }
        for line in sale.lines where line.kind == .service {
            if let offering = OfferingID(line.reference) { points += (rules.serviceBonus[offering] ?? 0) * Int64(line.quantity) }
        }
        guard points > 0 else { return }
        try writeEscrowEntry(.points(client), kind: .earn, holder: siteHex, amount: points, reverses: saleID.rawValue, sale: saleID, client: client,
                             note: "sale \(sale.number)", actor: actor, in: transaction)
    }

    // MARK: Paying with points or a gift card

    /// For a points or gift-card payment: checks and spends this box's escrow; returns the account.
    /// - Throws: `.insufficientBalance`, `.heldElsewhere` (the message says how much other boxes hold), `.expired`.
    func escrowPayment(sale: Sale, _ request: PaymentRequest, paymentID: PaymentID, actor: MoneyActor, in transaction: WriteTransaction) throws -> EscrowAccount {
        let account: EscrowAccount
        let needed: Int64
        let unit: (Int64) -> String
        switch request.method {
        case .points:
            guard let client = sale.clientID else { throw DomainError(.invalidArgument, "sale \(sale.number) has no client: it cannot be paid with points") }
            let rules = try Self.loyaltyRules(in: transaction)
            guard rules.enabled, rules.pointValueMinor > 0 else { throw DomainError(.invalidArgument, "paying with points is not set up (loyalty rules)") }
            guard request.amountMinor % rules.pointValueMinor == 0 else {
                throw DomainError(.invalidArgument, "a points payment is a multiple of the point value (\(rules.pointValueMinor))")
            }
            let byPoints = sale.payments.filter { $0.method == .points && $0.status.counts }
                .reduce(Int64(0)) { $0 + ($1.kind == .payment ? $1.amount.amountMinor : $1.kind == .refund ? -$1.amount.amountMinor : 0) }
            let cap = sale.totalMinor * Int64(rules.maxRedeemPercent) / 100
            guard byPoints + request.amountMinor <= cap else {
                throw DomainError(.invalidArgument, "at most \(cap) of sale \(sale.number) can be paid with points (\(rules.maxRedeemPercent) %); \(max(0, cap - byPoints)) is left")
            }
            account = .points(client)
            needed = request.amountMinor / rules.pointValueMinor
            unit = { "\($0) points" }
        case .giftCard:
            let row: Row?
            if !request.giftCardCode.isEmpty {
                row = try giftCardRow(code: Self.normaliseGiftCardCode(request.giftCardCode), in: transaction)
            } else if case .giftCard(let id)? = EscrowAccount(request.reference) {
                row = try transaction.fetchOne("SELECT * FROM gift_cards WHERE id = ? LIMIT 1", [.text(id.rawValue)])
            } else {
                throw DomainError(.invalidArgument, "a gift-card payment names the card: its code, or card:<id> as the reference")
            }
            guard let row else { throw DomainError(.notFound, "no gift card has this code") }
            let card = try loadGiftCard(row, in: transaction)
            guard card.currency == sale.currency else { throw DomainError(.invalidArgument, "the gift card is in \(card.currency); the sale is in \(sale.currency)") }
            switch card.state {
            case .active: break
            case .unpaid: throw DomainError(.illegalTransition, "the gift card's sale is not paid yet")
            case .voided: throw DomainError(.insufficientBalance, "the gift card was voided")
            case .expired: throw DomainError(.expired, "the gift card expired at \(card.expiresAt.map(\.description) ?? "")")
            }
            guard card.saleID != sale.id else { throw DomainError(.invalidArgument, "a gift card cannot pay for its own sale") }
            account = .giftCard(card.id)
            needed = request.amountMinor
            unit = { "\($0)" }
        default:
            throw DomainError(.invalidArgument, "only points and gift-card payments spend escrow")
        }
        let balance = try escrowBalance(account, in: transaction)
        if balance.here < needed {
            if case .points = account, try escrowBlock(account, in: transaction).blocked {
                throw DomainError(.expired, "the client's points expired at \(try pointsExpiry(account, in: transaction).map(\.description) ?? "")")
            }
            guard balance.total >= needed else {
                throw DomainError(.insufficientBalance, "\(unit(needed)) are needed; \(unit(balance.total)) are known (\(unit(balance.here)) on this box)")
            }
            throw DomainError(.heldElsewhere, "this box holds \(unit(balance.here)) of the \(unit(needed)) needed; other boxes hold \(describeElsewhere(balance.elsewhere, unit: unit, in: transaction)): move it here when the boxes are connected")
        }
        try writeEscrowEntry(account, kind: .spend, holder: siteHex, amount: -needed, sale: sale.id, payment: paymentID, client: sale.clientID,
                             note: "payment", actor: actor, in: transaction)
        return account
    }

    /// Gives back to the holder what a points or gift-card payment's refund or void returns (for points,
    /// the refunded share of the points the payment spent).
    func restoreEscrow(refund: PaymentID, of original: Payment, amountMinor: Int64, actor: MoneyActor, in transaction: WriteTransaction) throws {
        guard let row = try transaction.fetchOne("SELECT * FROM escrow_entries WHERE payment_id = ? AND kind = 'spend' ORDER BY at, id LIMIT 1",
                                                 [.text(original.id.rawValue)]),
              let spend = EscrowLedger.entry(row), original.amount.amountMinor > 0 else { return }
        let spent = -spend.amount
        let amount: Int64
        switch spend.account {
        case .points: amount = min(spent, amountMinor * spent / original.amount.amountMinor)
        default: amount = min(spent, amountMinor)
        }
        guard amount > 0 else { return }
        try writeEscrowEntry(spend.account, kind: .restore, holder: spend.holder, amount: amount, reverses: refund.rawValue, sale: original.saleID,
                             payment: refund, client: spend.clientID, note: "payment given back", actor: actor, in: transaction)
    }
}
