import Foundation
import Replication

extension Shop {
    /// The automatic rule that moves coupon uses between boxes when they are connected
    /// (docs/retail.md, "Moves"): when this box has used up its allotment of an active, limited,
    /// still valid coupon — it holds none and has redeemed it at least once — and another box holds
    /// two or more, this box asks the box holding the most for half of them (rounded up). At most one
    /// open request per coupon; the holder's escrow service answers it when it sees it. A box that was
    /// given no allotment and never redeemed the coupon does not ask (the owner's split stands).
    /// - Returns: how many requests it wrote.
    package func requestCouponRebalance(actor: MoneyActor) throws -> Int {
        let candidatesSQL = """
            SELECT c.id AS id FROM coupons c
            WHERE c.active = 1 AND c.total_limit > 0 AND (c.valid_until = 0 OR c.valid_until > ?)
              AND NOT EXISTS (SELECT 1 FROM local_escrow_balances b WHERE b.account = 'coupon:' || c.id AND b.holder = ? AND b.amount > 0)
              AND EXISTS (SELECT 1 FROM escrow_entries e WHERE e.account = 'coupon:' || c.id AND e.holder = ? AND e.kind = 'spend')
              AND EXISTS (SELECT 1 FROM local_escrow_balances b WHERE b.account = 'coupon:' || c.id AND b.holder != ? AND b.amount >= 2)
              AND NOT EXISTS (SELECT 1 FROM escrow_requests r WHERE r.account = 'coupon:' || c.id AND r.to_site = ?
                  AND NOT EXISTS (SELECT 1 FROM escrow_entries t WHERE t.request_id = r.id AND t.kind = 'transfer' AND t.site = r.from_site))
            ORDER BY c.id
            """
        let arguments: [SQLValue] = [.instant(now), .text(siteHex), .text(siteHex), .text(siteHex), .text(siteHex)]
        // Read first: the service runs this on every change, and a coupon already asked for is not a candidate.
        guard try read({ try $0.fetchOne(candidatesSQL, arguments) }) != nil else { return 0 }
        return try write(.escrowMove) { transaction in
            var written = 0
            for row in try transaction.fetchAll(candidatesSQL, arguments) {
                guard let coupon = CouponID(row["id"].string) else { continue }
                let account = EscrowAccount.coupon(coupon)
                let open = try escrowRequests(openOnly: true, account: account, limit: 200, in: transaction)
                guard !open.contains(where: { $0.toSite == siteHex }) else { continue }
                let holdings = try EscrowLedger.holdings(account, in: transaction).filter { $0.key != siteHex && $0.value >= 2 }
                guard let largest = holdings.max(by: { ($0.value, $1.key) < ($1.value, $0.key) }) else { continue }
                try transaction.insert("escrow_requests", [
                    "id": .text(EscrowRequestID.generate(at: now).rawValue), "account": .text(account.description), "from_site": .text(largest.key),
                    "to_site": .text(siteHex), "amount": .integer((largest.value + 1) / 2), "reason": .text("automatic: this box's allotment is used up"),
                    "site": .text(siteHex), "at": .instant(now), "by": .text(actor.name),
                ])
                written += 1
            }
            return written
        }
    }
}
