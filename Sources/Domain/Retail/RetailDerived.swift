import Foundation
import Replication

/// `local_stock_transit`: the lines of every transfer no box has booked in yet — one row per
/// (transfer, product) with its sending and receiving branch — so that what is in transit to or
/// from a branch is an indexed read of a small table, not a walk over every transfer it ever had.
/// Kept current with `stock_transfers` and the `transfer_in` movements, and rebuildable.
enum StockTransit {
    static func update(_ changes: ChangedRows, in transaction: some QueryContext & LocalWriter) throws {
        var transfers = Set(changes["stock_transfers"].map(\.string))
        for key in changes["stock_movements"] {
            if let row = try transaction.fetchOne("SELECT transfer_id FROM stock_movements WHERE id = ? AND kind = 'transfer_in'", [key]),
               !row["transfer_id"].string.isEmpty {
                transfers.insert(row["transfer_id"].string)
            }
        }
        for id in transfers.sorted() { try refresh(id, in: transaction) }
    }

    static func refresh(_ id: String, in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("DELETE FROM local_stock_transit WHERE transfer_id = ?", [.text(id)])
        guard let row = try transaction.fetchOne("""
            SELECT from_branch, to_branch, lines FROM stock_transfers t WHERE id = ?
            AND NOT EXISTS (SELECT 1 FROM stock_movements m WHERE m.transfer_id = t.id AND m.kind = 'transfer_in')
            """, [.text(id)]) else { return }
        var quantities: [String: Int] = [:]
        for line in JSONColumn.decode([ProductQuantity].self, row["lines"], default: []) { quantities[line.productID.rawValue, default: 0] += line.quantity }
        for (product, quantity) in quantities.sorted(by: { $0.key < $1.key }) {
            try transaction.execute("""
                INSERT INTO local_stock_transit (transfer_id, product_id, from_branch, to_branch, quantity) VALUES (?, ?, ?, ?, ?)
                """, [.text(id), .text(product), row["from_branch"], row["to_branch"], .int(quantity)])
        }
    }

    static func rebuild(in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("DELETE FROM local_stock_transit", [])
        try transaction.execute("""
            INSERT INTO local_stock_transit (transfer_id, product_id, from_branch, to_branch, quantity)
            SELECT t.id, json_extract(l.value, '$.productID'), t.from_branch, t.to_branch, sum(json_extract(l.value, '$.quantity'))
            FROM stock_transfers t, json_each(CASE WHEN json_valid(t.lines) THEN t.lines ELSE '[]' END) l
            WHERE NOT EXISTS (SELECT 1 FROM stock_movements m WHERE m.transfer_id = t.id AND m.kind = 'transfer_in')
            GROUP BY t.id, json_extract(l.value, '$.productID')
            """, [])
    }

    /// What is in transit from and to a branch, by product (all products, or only `products`).
    static func quantities(branch: String, products: [String], in context: some QueryContext) throws -> (incoming: [String: Int], outgoing: [String: Int]) {
        var incoming: [String: Int] = [:]
        var outgoing: [String: Int] = [:]
        if products.isEmpty {
            for row in try context.fetchAll("SELECT product_id, sum(quantity) AS q FROM local_stock_transit WHERE from_branch = ? GROUP BY product_id", [.text(branch)]) {
                outgoing[row["product_id"].string] = row["q"].int
            }
            for row in try context.fetchAll("SELECT product_id, sum(quantity) AS q FROM local_stock_transit WHERE to_branch = ? GROUP BY product_id", [.text(branch)]) {
                incoming[row["product_id"].string] = row["q"].int
            }
        } else {
            for product in products {
                if let q = try context.fetchOne("SELECT sum(quantity) AS q FROM local_stock_transit WHERE from_branch = ? AND product_id = ?",
                                                [.text(branch), .text(product)])?["q"].integerValue { outgoing[product] = Int(q) }
                if let q = try context.fetchOne("SELECT sum(quantity) AS q FROM local_stock_transit WHERE to_branch = ? AND product_id = ?",
                                                [.text(branch), .text(product)])?["q"].integerValue { incoming[product] = Int(q) }
            }
        }
        return (incoming, outgoing)
    }
}

extension EscrowLedger {
    /// Brings `local_escrow_balances` up to date with new ledger rows. Rows are immutable once written,
    /// so a plain credit, spend, expiry or transfer adds its amount once (`local_escrow_applied` records
    /// which rows are in, so a row seen again — derived state refreshed twice in one transaction — is
    /// not added twice). Restores and earns, where only the first of duplicates counts, recompute their
    /// account from its rows.
    static func applyIncrementally(_ changes: ChangedRows, in transaction: some QueryContext & LocalWriter) throws {
        let keys = changes["escrow_entries"]
        guard !keys.isEmpty else { return }
        var rows: [Row] = []
        var recompute = Set<String>()
        for key in keys {
            guard let row = try transaction.fetchOne("""
                SELECT e.id AS id, e.account AS account, e.kind AS kind, e.holder AS holder, e.counterpart AS counterpart, e.amount AS amount, e.site AS site,
                    EXISTS (SELECT 1 FROM local_escrow_applied a WHERE a.entry_id = e.id) AS applied
                FROM escrow_entries e WHERE e.id = ?
                """, [key]) else { continue }
            if row["kind"].string == "restore" || row["kind"].string == "earn" { recompute.insert(row["account"].string) }
            rows.append(row)
        }
        for row in rows where !recompute.contains(row["account"].string) && !row["applied"].bool {
            try transaction.execute("INSERT INTO local_escrow_applied (entry_id) VALUES (?)", [row["id"]])
            let kind = row["kind"].string, amount = row["amount"].int64, holder = row["holder"].string, site = row["site"].string
            let counterpart = row["counterpart"].string
            let wellFormed: Bool
            switch kind {
            case "grant": wellFormed = amount > 0
            case "spend", "expire": wellFormed = amount < 0 && site == holder
            case "transfer": wellFormed = amount <= 0 && site == holder && !counterpart.isEmpty && counterpart != holder
            default: wellFormed = false
            }
            guard wellFormed else { continue }
            try add(row["account"].string, holder, amount, in: transaction)
            if kind == "transfer" { try add(row["account"].string, counterpart, -amount, in: transaction) }
        }
        for account in recompute.sorted() {
            try transaction.execute("DELETE FROM local_escrow_balances WHERE account = ?", [.text(account)])
            try insertBalances(filter: "e.account = ?", [.text(account)], in: transaction)
            try transaction.execute("INSERT OR IGNORE INTO local_escrow_applied (entry_id) SELECT id FROM escrow_entries WHERE account = ?", [.text(account)])
        }
    }

    private static func add(_ account: String, _ holder: String, _ amount: Int64, in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("""
            INSERT INTO local_escrow_balances (account, holder, amount) VALUES (?, ?, ?)
            ON CONFLICT (account, holder) DO UPDATE SET amount = amount + excluded.amount
            """, [.text(account), .text(holder), .integer(amount)])
    }
}
