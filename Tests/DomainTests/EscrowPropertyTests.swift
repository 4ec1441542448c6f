import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

/// The escrow property test of issue 18: three replicas apart, merged by random pairwise syncs, redeem
/// coupons, earn and spend points, pay with gift cards, refund, void, and move allotments at random.
/// In every replica after every step: no coupon is used beyond its limit, no card or points balance
/// is below zero (per box and in total), and `local_escrow_balances` equals an independent derivation
/// from the ledger rows. After full delivery every replica derives the same balances and flags, and a
/// rebuild from scratch gives what the incremental updates gave.
@Suite("Escrow: limits under partitions")
struct EscrowPropertyTests {
    @Test("random redemptions, earnings, refunds and moves on partitioned replicas never exceed a limit; replicas converge",
          arguments: [3, 18, 2026, 20261207] as [UInt64])
    func partitions(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let e = try EscrowFixture()
        let shops = [e.shop, try e.f.world.makeShop(home: nil), try e.f.world.makeShop(home: nil)]
        let origin = shops[0]
        _ = try origin.saveLoyaltyRules(LoyaltyRules(enabled: true, earnPoints: 1, earnPerMinor: 100, visitPoints: 0, pointValueMinor: 10, maxRedeemPercent: 100))
        var clients = [e.client]
        for name in ["Bota", "Daulet"] { clients.append(try origin.createClient(ClientDraft(name: name), branch: e.f.branchID).id) }
        let limited = try origin.saveCoupon(e.makeCoupon("LIMITED", perClient: 2, limit: 8), allotments: [shops[1].siteHex: 2, shops[2].siteHex: 1], actor: manager)
        _ = try origin.saveCoupon(e.makeCoupon("FREE", value: 5), allotments: [:], actor: manager)
        try syncAll(shops)
        var cards: [GiftCard] = []
        for (index, shop) in [origin, origin, shops[1]].enumerated() {
            let sale = try e.sell(0, on: shop, giftCards: [GiftCardSaleLine(amountMinor: 20_000 + Int64(index) * 5_000, clientID: clients[index])],
                                  payments: [PaymentRequest(method: .card, amountMinor: 20_000 + Int64(index) * 5_000)])
            cards.append(try e.card(of: sale, on: shop))
        }
        try syncAll(shops)
        let accounts: [EscrowAccount] = [.coupon(limited.id)] + cards.map { .giftCard($0.id) } + clients.map { .points($0) }

        func step(_ shop: Shop) throws {
            e.f.clock.advance(milliseconds: Int64.random(in: 1...2_000, using: &random))
            let client = clients.randomElement(using: &random)!
            switch Int.random(in: 0..<9, using: &random) {
            case 0, 1:
                _ = try? e.sell(Int64.random(in: 1_000...50_000, using: &random), on: shop, client: Bool.random(using: &random) ? client : nil,
                                coupon: Int.random(in: 0..<4, using: &random) == 0 ? "FREE" : "LIMITED")
            case 2:
                let amount = Int64.random(in: 1_000...200_000, using: &random)
                _ = try? e.sell(amount, on: shop, client: client, payments: [PaymentRequest(method: .card, amountMinor: amount)])
            case 3:
                guard let sale = try? e.sell(Int64.random(in: 100...20_000, using: &random), on: shop, client: client) else { return }
                let here = try shop.escrowBalance(.points(client)).here
                let points = Int64.random(in: 1...max(1, min(2 * here + 1, sale.totalMinor / 10)), using: &random)
                _ = try? shop.takePayment(sale.id, PaymentRequest(method: .points, amountMinor: points * 10), actor: manager)
            case 4:
                guard let sale = try? e.sell(Int64.random(in: 100...30_000, using: &random), on: shop) else { return }
                let card = cards.randomElement(using: &random)!
                _ = try? shop.takePayment(sale.id, PaymentRequest(method: .giftCard, amountMinor: Int64.random(in: 1...sale.totalMinor, using: &random), giftCardCode: card.code),
                                          actor: manager)
            case 5:
                let payments = try escrowPayments(shop).filter { $0.refundableMinor > 0 }
                guard let payment = payments.randomElement(using: &random) else { return }
                _ = try? shop.refund(payment.id, amountMinor: Int64.random(in: 1...payment.refundableMinor, using: &random), reason: "random",
                                     refundID: .generate(at: shop.now), online: false, actor: manager)
            case 6:
                // Void a coupon sale nothing was paid on (boxes apart may both void it: one restore counts).
                let sales = try shop.sales(where: "discount != '{}'", [], limit: 500).filter { $0.state == .due && $0.paidMinor == 0 && $0.payments.isEmpty }
                guard let sale = sales.randomElement(using: &random) else { return }
                _ = try? shop.voidSale(sale.id, reason: "random", actor: manager)
            case 7:
                let from = shops.randomElement(using: &random)!, to = shops.randomElement(using: &random)!
                guard from !== to else { return }
                _ = try? shop.requestEscrowMove(accounts.randomElement(using: &random)!, from: from.siteHex, to: to.siteHex,
                                                amount: Int64.random(in: 1...10_000, using: &random), reason: "random", actor: manager)
            default:
                _ = try shop.fulfilEscrowRequests(actor: manager)
            }
        }

        for _ in 0..<5 {
            for shop in shops {
                for _ in 0..<8 {
                    try step(shop)
                    try checkInvariants(shop, limited: limited.id)
                }
            }
            for _ in 0..<3 {
                let a = shops.randomElement(using: &random)!, b = shops.randomElement(using: &random)!
                guard a !== b else { continue }
                try sync(a, to: b)
                try checkInvariants(b, limited: limited.id)
            }
        }
        // Full delivery: every request reaches its box, which answers it; the answers travel back.
        try syncAll(shops)
        for shop in shops { _ = try shop.fulfilEscrowRequests(actor: manager) }
        for _ in 0..<2 { try syncAll(shops) }
        #expect(Set(shops.map { $0.store.versionVector }).count == 1)
        let balances = try storedBalances(shops[0])
        let flags = try shops[0].retailFlags()
        #expect(!balances.isEmpty)
        for shop in shops {
            try checkInvariants(shop, limited: limited.id)
            #expect(try storedBalances(shop) == balances)
            #expect(try shop.retailFlags() == flags)
            #expect(try shop.escrowRequests(openOnly: true, limit: 500).isEmpty)
            try shop.rebuildDerivedState()
            #expect(try storedBalances(shop) == balances, "a rebuild from scratch gives what the incremental updates gave")
        }
        #expect(flags.allSatisfy { $0.kind == .couponClientLimit })
        // The run did what it is about: every kind of row, for every kind of account, and moves that moved something.
        let entries = try shops[0].read { try $0.fetchAll("SELECT * FROM escrow_entries", []).compactMap(EscrowLedger.entry) }
        let seen = Set(entries.map { "\($0.account.description.prefix { $0 != ":" }) \($0.kind.rawValue)" })
        let wanted: Set = ["coupon grant", "coupon spend", "coupon restore", "card grant", "card spend", "card restore", "points earn", "points spend", "points restore"]
        #expect(wanted.isSubset(of: seen), "missing: \(wanted.subtracting(seen))")
        #expect(entries.contains { $0.kind == .transfer && $0.amount < 0 && $0.requestID != nil })
    }

    func escrowPayments(_ shop: Shop) throws -> [Payment] {
        try shop.read { transaction in
            try transaction.fetchAll("SELECT id FROM payments WHERE kind = 'payment' AND method IN ('points', 'gift_card')", [])
                .map { try Ledger.payment(PaymentID($0["id"].string)!, in: transaction) }
        }
    }

    func storedBalances(_ shop: Shop) throws -> [String: Int64] {
        try shop.read { transaction in
            var result: [String: Int64] = [:]
            for row in try transaction.fetchAll("SELECT account, holder, amount FROM local_escrow_balances", []) {
                result[row["account"].string + "@" + row["holder"].string] = row["amount"].int64
            }
            return result
        }
    }

    /// The balances derived in Swift from the ledger rows, independently of the SQL that keeps the table.
    func derivedBalances(_ entries: [EscrowEntry]) -> [String: Int64] {
        let ordered = entries.sorted { ($0.at, $0.id.rawValue) < ($1.at, $1.id.rawValue) }
        var restored = Set<String>(), earned = Set<String>()
        var result: [String: Int64] = [:]
        for entry in ordered {
            let account = entry.account.description
            switch entry.kind {
            case .grant:
                guard entry.amount > 0 else { continue }
            case .earn:
                guard entry.amount > 0, let sale = entry.saleID, earned.insert("\(account)|\(sale)|\(entry.site)").inserted else { continue }
            case .restore:
                guard entry.amount > 0, !entry.reverses.isEmpty, restored.insert("\(account)|\(entry.reverses)").inserted else { continue }
            case .spend, .expire:
                guard entry.amount < 0, entry.site == entry.holder else { continue }
            case .transfer:
                guard entry.amount <= 0, entry.site == entry.holder, !entry.counterpart.isEmpty, entry.counterpart != entry.holder else { continue }
                result[account + "@" + entry.counterpart, default: 0] -= entry.amount
            }
            result[account + "@" + entry.holder, default: 0] += entry.amount
        }
        return result
    }

    func checkInvariants(_ shop: Shop, limited: CouponID) throws {
        let entries = try shop.read { try $0.fetchAll("SELECT * FROM escrow_entries", []).compactMap(EscrowLedger.entry) }
        let stored = try storedBalances(shop)
        #expect(stored == derivedBalances(entries), "local_escrow_balances is what the ledger rows say")
        let limitedAccount = EscrowAccount.coupon(limited).description
        for (key, amount) in stored where !key.hasPrefix("coupon:") || key.hasPrefix(limitedAccount) {
            #expect(amount >= 0, "\(key) is below zero")
        }
        // Σ spends ≤ Σ grants + earns + restores, per account (the sum over its holders; transfers cancel out).
        var totals: [String: Int64] = [:]
        for (key, amount) in stored { totals[String(key.prefix { $0 != "@" }), default: 0] += amount }
        for (account, total) in totals where !account.hasPrefix("coupon:") || account == limitedAccount {
            #expect(total >= 0, "\(account) spent more than it was given")
        }
        let coupon = try shop.coupon(limited)
        #expect(coupon.usesKnown <= coupon.totalLimit, "coupon used \(coupon.usesKnown) times, its limit \(coupon.totalLimit)")
        let credits = entries.filter { $0.account.description == limitedAccount && ($0.kind == .grant) }.reduce(0) { $0 + $1.amount }
        #expect(coupon.totalLimit == credits)
        #expect(try shop.retailFlags().filter { $0.kind == .escrowInvalid }.isEmpty)
    }
}
