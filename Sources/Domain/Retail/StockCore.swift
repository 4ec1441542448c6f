import Foundation
import Replication

/// `local_stock_levels`: each (product, branch)'s level, the sum of its movements, kept current in
/// every transaction that changes `stock_movements` and rebuildable from scratch.
///
/// A movement counts unless it repeats a fact another box recorded too while apart: of the
/// `transfer_in` movements of one transfer and product, and of the `returned` / `sale_voided`
/// movements of one sale and product, only the first by (`at`, `id`) counts (docs/retail.md, "Stock").
enum StockLedger {
    /// SQL: whether the movement `m` is a repeat that does not count.
    static let repeated = """
        ((m.kind = 'transfer_in' AND EXISTS (SELECT 1 FROM stock_movements e WHERE e.transfer_id = m.transfer_id AND e.transfer_id != ''
              AND e.product_id = m.product_id AND e.kind = 'transfer_in' AND (e.at < m.at OR (e.at = m.at AND e.id < m.id))))
         OR (m.kind = 'returned' AND m.reason = 'sale_voided' AND EXISTS (SELECT 1 FROM stock_movements e WHERE e.sale_id = m.sale_id AND e.sale_id != ''
              AND e.product_id = m.product_id AND e.kind = 'returned' AND e.reason = 'sale_voided' AND (e.at < m.at OR (e.at = m.at AND e.id < m.id)))))
        """

    struct Key: Hashable, Comparable {
        var product: String
        var branch: String
        static func < (lhs: Key, rhs: Key) -> Bool { (lhs.product, lhs.branch) < (rhs.product, rhs.branch) }
    }

    /// Recomputes the levels of the (product, branch) pairs the changed movements touch (and, for a
    /// repeatable movement, those of the movements it may supersede or be superseded by).
    static func update(_ changes: ChangedRows, in transaction: some QueryContext & LocalWriter) throws {
        let keys = changes["stock_movements"]
        guard !keys.isEmpty else { return }
        var touched = Set<Key>()
        for key in keys {
            guard let row = try transaction.fetchOne("SELECT product_id, branch_id, kind, reason, transfer_id, sale_id FROM stock_movements WHERE id = ?", [key]) else { continue }
            let product = row["product_id"].string
            touched.insert(Key(product: product, branch: row["branch_id"].string))
            var siblings: [Row] = []
            if row["kind"].string == "transfer_in", !row["transfer_id"].string.isEmpty {
                siblings = try transaction.fetchAll("""
                    SELECT product_id, branch_id FROM stock_movements WHERE transfer_id = ? AND transfer_id != '' AND product_id = ? AND kind = 'transfer_in'
                    """, [row["transfer_id"], .text(product)])
            } else if row["kind"].string == "returned", row["reason"].string == "sale_voided", !row["sale_id"].string.isEmpty {
                siblings = try transaction.fetchAll("""
                    SELECT product_id, branch_id FROM stock_movements WHERE sale_id = ? AND sale_id != '' AND product_id = ? AND kind = 'returned' AND reason = 'sale_voided'
                    """, [row["sale_id"], .text(product)])
            }
            for sibling in siblings { touched.insert(Key(product: sibling["product_id"].string, branch: sibling["branch_id"].string)) }
        }
        for key in touched.sorted() {
            try transaction.execute("INSERT OR REPLACE INTO local_stock_levels (product_id, branch_id, quantity) VALUES (?, ?, ?)",
                                    [.text(key.product), .text(key.branch), .int(try level(product: key.product, branch: key.branch, in: transaction))])
        }
    }

    /// One `SUM … GROUP BY` over every movement (the covering index `(product_id, branch_id,
    /// quantity)`), then the repeats taken back out. Repeats exist only where boxes apart recorded a
    /// fact twice, and the candidates are found without reading every row: a transfer with more
    /// movements than twice its lines (booked in more than once), a sale with more than one void
    /// (a void restock is written with its sale's void). `repeated` decides for each candidate row.
    static func rebuild(in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("DELETE FROM local_stock_levels", [])
        try transaction.execute("""
            INSERT INTO local_stock_levels (product_id, branch_id, quantity)
            SELECT product_id, branch_id, SUM(quantity) FROM stock_movements GROUP BY product_id, branch_id
            """, [])
        let candidates = [
            """
            (SELECT transfer_id, count(*) AS n FROM stock_movements WHERE transfer_id != '' GROUP BY transfer_id HAVING count(*) > 2) c
            CROSS JOIN stock_transfers t ON t.id = c.transfer_id
            CROSS JOIN stock_movements m ON m.transfer_id = c.transfer_id AND m.transfer_id != ''
            WHERE c.n > 2 * json_array_length(t.lines) AND m.kind = 'transfer_in'
            """,
            """
            (SELECT sale_id FROM sale_voids GROUP BY sale_id HAVING count(*) > 1) v
            CROSS JOIN stock_movements m ON m.sale_id = v.sale_id AND m.sale_id != ''
            WHERE m.kind = 'returned'
            """,
        ]
        for candidate in candidates {
            try transaction.execute("""
                INSERT INTO local_stock_levels (product_id, branch_id, quantity)
                SELECT m.product_id, m.branch_id, -SUM(m.quantity) FROM \(candidate) AND \(repeated)
                GROUP BY m.product_id, m.branch_id
                ON CONFLICT (product_id, branch_id) DO UPDATE SET quantity = quantity + excluded.quantity
                """, [])
        }
    }

    /// A product's level at a branch computed from its movements (not from `local_stock_levels`,
    /// so that it is exact inside a transaction that has just written movements).
    static func level(product: String, branch: String, in context: some QueryContext) throws -> Int {
        try context.fetchOne("""
            SELECT COALESCE(SUM(m.quantity), 0) AS level FROM stock_movements m WHERE m.product_id = ? AND m.branch_id = ? AND NOT \(repeated)
            """, [.text(product), .text(branch)])?["level"].int ?? 0
    }
}

extension Loader {
    static let movementColumns = """
        id, product_id, branch_id, kind, quantity, reason, supplier, unit_cost_minor, sale_id, appointment_id, transfer_id, stocktake_id,
        override, note, site, at, by
        """

    static func movement(_ row: Row) -> StockMovement {
        let cost = row["unit_cost_minor"].int64
        return StockMovement(id: StockMovementID(trusted: row["id"].string), productID: ProductID(trusted: row["product_id"].string),
                             branchID: BranchID(trusted: row["branch_id"].string), kind: StockMovement.Kind(rawValue: row["kind"].string) ?? .adjusted,
                             quantity: row["quantity"].int, reason: StockMovement.Reason(rawValue: row["reason"].string) ?? .other,
                             supplier: row["supplier"].string, unitCostMinor: cost >= 0 ? cost : nil, saleID: SaleID(row["sale_id"].string),
                             appointmentID: AppointmentID(row["appointment_id"].string), transferID: TransferID(row["transfer_id"].string),
                             stocktakeID: StocktakeID(row["stocktake_id"].string), override: row["override"].bool, note: row["note"].string,
                             site: row["site"].string, at: Instant(milliseconds: row["at"].int64), by: row["by"].string)
    }

    static func transfer(_ id: TransferID, in context: some QueryContext) throws -> StockTransfer {
        guard let row = try context.fetchOne("SELECT id, from_branch, to_branch, lines, note, created_at, created_by FROM stock_transfers WHERE id = ?",
                                             [.text(id.rawValue)]) else { throw DomainError(.notFound, "no transfer \(id)") }
        return try transfer(row, in: context)
    }

    /// A transfer, received when any box booked it in (`receivedAt`/`By` from the first booking-in).
    static func transfer(_ row: Row, in context: some QueryContext) throws -> StockTransfer {
        let id = row["id"].string
        let received = try context.fetchOne("""
            SELECT at, by FROM stock_movements WHERE transfer_id = ? AND transfer_id != '' AND kind = 'transfer_in' ORDER BY at, id LIMIT 1
            """, [.text(id)])
        return StockTransfer(id: TransferID(trusted: id), fromBranch: BranchID(trusted: row["from_branch"].string), toBranch: BranchID(trusted: row["to_branch"].string),
                             lines: JSONColumn.decode([ProductQuantity].self, row["lines"], default: []), note: row["note"].string,
                             state: received == nil ? .inTransit : .received, createdAt: Instant(milliseconds: row["created_at"].int64),
                             createdBy: row["created_by"].string, receivedAt: received.map { Instant(milliseconds: $0["at"].int64) },
                             receivedBy: received?["by"].string ?? "")
    }

    static func stocktake(_ row: Row) -> Stocktake {
        Stocktake(id: StocktakeID(trusted: row["id"].string), branchID: BranchID(trusted: row["branch_id"].string),
                  counts: JSONColumn.decode([Stocktake.Count].self, row["counts"], default: []), note: row["note"].string,
                  at: Instant(milliseconds: row["at"].int64), by: row["by"].string)
    }
}

extension Shop {
    /// Who a stock row names: the person, and the manager who approved for them.
    func stockActor(_ actor: MoneyActor) -> String {
        actor.rights.approvedBy.isEmpty ? actor.name : "\(actor.name), approved by \(actor.rights.approvedBy)"
    }

    /// Appends one movement (the level follows at commit, or at `refreshDerivedState`).
    @discardableResult
    func insertMovement(product: ProductID, branch: BranchID, kind: StockMovement.Kind, quantity: Int, reason: StockMovement.Reason = .none,
                        supplier: String = "", unitCostMinor: Int64? = nil, sale: SaleID? = nil, appointment: AppointmentID? = nil,
                        transfer: TransferID? = nil, stocktake: StocktakeID? = nil, override: Bool = false, note: String = "",
                        actor: MoneyActor, in transaction: WriteTransaction) throws -> StockMovement {
        let movement = StockMovement(id: .generate(at: now), productID: product, branchID: branch, kind: kind, quantity: quantity, reason: reason,
                                     supplier: supplier, unitCostMinor: unitCostMinor, saleID: sale, appointmentID: appointment, transferID: transfer,
                                     stocktakeID: stocktake, override: override, note: note, site: siteHex, at: now, by: stockActor(actor))
        try transaction.insert("stock_movements", [
            "id": .text(movement.id.rawValue), "product_id": .text(product.rawValue), "branch_id": .text(branch.rawValue), "kind": .text(kind.rawValue),
            "quantity": .int(quantity), "reason": .text(reason.rawValue), "supplier": .text(supplier), "unit_cost_minor": .integer(unitCostMinor ?? -1),
            "sale_id": .text(sale?.rawValue ?? ""), "appointment_id": .text(appointment?.rawValue ?? ""), "transfer_id": .text(transfer?.rawValue ?? ""),
            "stocktake_id": .text(stocktake?.rawValue ?? ""), "override": .bool(override), "note": .text(note), "site": .text(siteHex),
            "at": .instant(now), "by": .text(movement.by),
        ])
        return movement
    }

    /// Checks taking `quantity` of a product at a branch (its level as this box knows it, movements
    /// written earlier in the transaction included).
    /// - Returns: whether the movement goes below zero by override (its `override` flag).
    /// - Throws: `.insufficientStock` naming the product and level; `.approvalRequired` (`stock.override: …`)
    ///   when the override is asked by someone without the right.
    func checkTaking(_ quantity: Int, of product: Product, at branch: BranchID, override: Bool, actor: MoneyActor, in transaction: WriteTransaction) throws -> Bool {
        let level = try StockLedger.level(product: product.id.rawValue, branch: branch.rawValue, in: transaction)
        guard level - quantity < 0 else { return false }
        let name = product.name(in: "en")
        guard override else {
            throw DomainError(.insufficientStock, "\(name): \(level) in stock at \(try Loader.branch(branch, in: transaction).name), \(quantity) asked")
        }
        guard actor.rights.mayOverrideStock else {
            throw DomainError(.approvalRequired, "stock.override: a manager must approve taking \(name) below zero (\(level) in stock, \(quantity) asked)")
        }
        return true
    }

    /// Lines of a receipt, transfer or stocktake: 1–500 of them, each product once and known, quantities in `range`.
    func checkLines(_ lines: [ProductQuantity], quantities range: ClosedRange<Int>, in transaction: WriteTransaction) throws -> [Product] {
        guard (1...500).contains(lines.count) else { throw DomainError(.invalidArgument, "name 1 to 500 products") }
        guard Set(lines.map(\.productID)).count == lines.count else { throw DomainError(.invalidArgument, "a product is named twice") }
        guard lines.allSatisfy({ range.contains($0.quantity) }) else { throw DomainError(.invalidArgument, "a quantity is \(range.lowerBound) to \(range.upperBound)") }
        return try lines.map { try Loader.product($0.productID, in: transaction) }
    }

    static func checkText(_ text: String, _ what: String, max: Int) throws(DomainError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count <= max else { throw DomainError(.invalidArgument, "\(what) has at most \(max) characters") }
        return trimmed
    }

    // MARK: Movements

    /// Goods received from a supplier: a `received` movement per line (with its unit cost).
    package func receiveStock(branch: BranchID, supplier: String, lines: [ProductQuantity], note: String, actor: MoneyActor) throws -> [StockMovement] {
        let supplier = try Self.checkText(supplier, "a supplier", max: 200)
        let note = try Self.checkText(note, "a note", max: 1000)
        guard lines.allSatisfy({ ($0.unitCostMinor ?? 0) >= 0 && ($0.unitCostMinor ?? 0) <= 1_000_000_000_00 }) else {
            throw DomainError(.invalidArgument, "a unit cost is 0 to 1000000000.00")
        }
        return try write(.stockReceive) { transaction in
            _ = try Loader.branch(branch, in: transaction)
            _ = try checkLines(lines, quantities: 1...1_000_000, in: transaction)
            return try lines.map { line in
                try insertMovement(product: line.productID, branch: branch, kind: .received, quantity: line.quantity, supplier: supplier,
                                   unitCostMinor: line.unitCostMinor, note: note, actor: actor, in: transaction)
            }
        }
    }

    /// An adjustment (signed): damaged, expired, used in a service (optionally naming the visit),
    /// a count correction or other. It cannot take the level below zero (count it with a stocktake).
    package func adjustStock(branch: BranchID, product: ProductID, quantity: Int, reason: StockMovement.Reason, note: String, appointment: AppointmentID?,
                             actor: MoneyActor) throws -> StockMovement {
        guard quantity != 0, (-1_000_000...1_000_000).contains(quantity) else { throw DomainError(.invalidArgument, "an adjustment is -1000000 to 1000000, not 0") }
        guard [.damaged, .expired, .usedInService, .countCorrection, .other].contains(reason) else {
            throw DomainError(.invalidArgument, "an adjustment's reason is damaged, expired, used_in_service, count_correction or other")
        }
        guard appointment == nil || reason == .usedInService else { throw DomainError(.invalidArgument, "only stock used in a service names a visit") }
        let note = try Self.checkText(note, "a note", max: 1000)
        return try write(.stockAdjust) { transaction in
            _ = try Loader.branch(branch, in: transaction)
            let found = try Loader.product(product, in: transaction)
            if let appointment {
                let visit = try Loader.appointment(appointment, in: transaction)
                guard visit.branchID == branch else { throw DomainError(.invalidArgument, "appointment \(visit.orderNumber) is at another branch") }
            }
            if quantity < 0 { _ = try checkTaking(-quantity, of: found, at: branch, override: false, actor: actor, in: transaction) }
            return try insertMovement(product: product, branch: branch, kind: .adjusted, quantity: quantity, reason: reason, appointment: appointment,
                                      note: note, actor: actor, in: transaction)
        }
    }

    // MARK: Transfers

    /// Sends goods to another branch: the transfer and its `transfer_out` movements now; in transit
    /// until the receiving branch books it in.
    package func transferStock(from: BranchID, to: BranchID, lines: [ProductQuantity], note: String, override: Bool, actor: MoneyActor) throws -> StockTransfer {
        guard from != to else { throw DomainError(.invalidArgument, "a transfer goes to another branch") }
        let note = try Self.checkText(note, "a note", max: 1000)
        return try write(.stockTransfer) { transaction in
            _ = try Loader.branch(from, in: transaction)
            _ = try Loader.branch(to, in: transaction)
            let products = try checkLines(lines, quantities: 1...1_000_000, in: transaction)
            let id = TransferID.generate(at: now)
            let clean = lines.map { ProductQuantity(productID: $0.productID, quantity: $0.quantity) }
            for (line, product) in zip(clean, products) {
                let below = try checkTaking(line.quantity, of: product, at: from, override: override, actor: actor, in: transaction)
                try insertMovement(product: line.productID, branch: from, kind: .transferOut, quantity: -line.quantity, transfer: id, override: below,
                                   note: note, actor: actor, in: transaction)
            }
            try transaction.insert("stock_transfers", [
                "id": .text(id.rawValue), "from_branch": .text(from.rawValue), "to_branch": .text(to.rawValue), "lines": .text(JSONColumn.encode(clean)),
                "note": .text(note), "site": .text(siteHex), "created_at": .instant(now), "created_by": .text(stockActor(actor)),
            ])
            return try Loader.transfer(id, in: transaction)
        }
    }

    /// Books a transfer in at its receiving branch: a `transfer_in` movement per line.
    /// - Throws: `.illegalTransition` when this box knows it was booked in already.
    package func receiveTransfer(_ id: TransferID, actor: MoneyActor) throws -> StockTransfer {
        try write(.stockTransferReceive) { transaction in
            let transfer = try Loader.transfer(id, in: transaction)
            guard transfer.state == .inTransit else {
                throw DomainError(.illegalTransition, "transfer \(id) was booked in already (by \(transfer.receivedBy))")
            }
            for line in transfer.lines {
                try insertMovement(product: line.productID, branch: transfer.toBranch, kind: .transferIn, quantity: line.quantity, transfer: id,
                                   actor: actor, in: transaction)
            }
            return try Loader.transfer(id, in: transaction)
        }
    }

    package func stockTransfer(_ id: TransferID) throws -> StockTransfer { try read { try Loader.transfer(id, in: $0) } }

    /// Transfers from or to a branch, newest first.
    package func stockTransfers(branch: BranchID, inTransitOnly: Bool, limit: Int) throws -> [StockTransfer] {
        guard (1...1000).contains(limit) else { throw DomainError(.invalidArgument, "limit must be 1…1000") }
        return try read { transaction in
            let received = "EXISTS (SELECT 1 FROM stock_movements m WHERE m.transfer_id = t.id AND m.transfer_id != '' AND m.kind = 'transfer_in')"
            return try transaction.fetchAll("""
                SELECT id, from_branch, to_branch, lines, note, created_at, created_by FROM stock_transfers t
                WHERE (from_branch = ? OR to_branch = ?) AND (? = 0 OR NOT \(received)) ORDER BY created_at DESC, id DESC LIMIT ?
                """, [.text(branch.rawValue), .text(branch.rawValue), .bool(inTransitOnly), .int(limit)]).map { try Loader.transfer($0, in: transaction) }
        }
    }

    // MARK: Stocktakes

    /// A count: each named product's counted quantity against its level now on this box; every
    /// difference becomes an `adjusted` / `count_correction` movement. Products not named are not touched.
    package func stocktake(branch: BranchID, counts: [ProductQuantity], note: String, actor: MoneyActor) throws -> Stocktake {
        let note = try Self.checkText(note, "a note", max: 1000)
        return try write(.stocktake) { transaction in
            _ = try Loader.branch(branch, in: transaction)
            _ = try checkLines(counts, quantities: 0...1_000_000, in: transaction)
            let id = StocktakeID.generate(at: now)
            var result: [Stocktake.Count] = []
            for count in counts {
                let expected = try StockLedger.level(product: count.productID.rawValue, branch: branch.rawValue, in: transaction)
                result.append(Stocktake.Count(productID: count.productID, counted: count.quantity, expected: expected))
                if count.quantity != expected {
                    try insertMovement(product: count.productID, branch: branch, kind: .adjusted, quantity: count.quantity - expected, reason: .countCorrection,
                                       stocktake: id, note: note, actor: actor, in: transaction)
                }
            }
            let stocktake = Stocktake(id: id, branchID: branch, counts: result, note: note, at: now, by: stockActor(actor))
            try transaction.insert("stocktakes", [
                "id": .text(id.rawValue), "branch_id": .text(branch.rawValue), "counts": .text(JSONColumn.encode(result)), "note": .text(note),
                "site": .text(siteHex), "at": .instant(now), "by": .text(stocktake.by),
            ])
            return stocktake
        }
    }

    package func stocktakes(branch: BranchID, limit: Int) throws -> [Stocktake] {
        guard (1...1000).contains(limit) else { throw DomainError(.invalidArgument, "limit must be 1…1000") }
        return try read { transaction in
            try transaction.fetchAll("SELECT id, branch_id, counts, note, at, by FROM stocktakes WHERE branch_id = ? ORDER BY at DESC, id DESC LIMIT ?",
                                     [.text(branch.rawValue), .int(limit)]).map(Loader.stocktake)
        }
    }

    // MARK: Levels

    /// Levels at a branch: every product with a movement there, in transit to or from it, or with a
    /// threshold there (active ones) — or only `products` — by name then id.
    package func stockLevels(branch: BranchID, products: [ProductID]) throws -> [StockLevel] {
        try read { try stockLevels(branch: branch, only: products, in: $0).map(\.level) }
    }

    func stockLevels(branch: BranchID, only: [ProductID], in transaction: ReadTransaction) throws -> [(level: StockLevel, product: Product)] {
        _ = try Loader.branch(branch, in: transaction)
        var quantities: [String: Int] = [:]
        if only.isEmpty {
            for row in try transaction.fetchAll("SELECT product_id, quantity FROM local_stock_levels WHERE branch_id = ?", [.text(branch.rawValue)]) {
                quantities[row["product_id"].string] = row["quantity"].int
            }
        } else {
            for id in only {
                let row = try transaction.fetchOne("SELECT quantity FROM local_stock_levels WHERE product_id = ? AND branch_id = ?", [.text(id.rawValue), .text(branch.rawValue)])
                quantities[id.rawValue] = row?["quantity"].int
            }
        }
        let (incoming, outgoing) = try StockTransit.quantities(branch: branch.rawValue, products: only.map(\.rawValue), in: transaction)
        let products: [ProductID: Product]
        var ids: Set<ProductID>
        if only.isEmpty {
            products = try Loader.products(in: transaction)
            ids = Set(quantities.keys.compactMap(ProductID.init) + incoming.keys.compactMap(ProductID.init) + outgoing.keys.compactMap(ProductID.init))
            ids.formUnion(products.values.filter { $0.active && $0.threshold(at: branch) != nil }.map(\.id))
        } else {
            // A few products (a sale's, a scan's): only those are loaded.
            products = Dictionary(try only.map { ($0, try Loader.product($0, in: transaction)) }, uniquingKeysWith: { first, _ in first })
            ids = Set(only)
        }
        return ids.compactMap { id in products[id] }.map { product in
            let key = product.id.rawValue
            return (StockLevel(productID: product.id, branchID: branch, quantity: quantities[key] ?? 0, inTransitIn: incoming[key] ?? 0,
                               inTransitOut: outgoing[key] ?? 0, threshold: product.threshold(at: branch)), product)
        }
        .sorted { (DerivedState.fold($0.product.name(in: "en")), $0.product.id) < (DerivedState.fold($1.product.name(in: "en")), $1.product.id) }
    }

    /// Active products at or below their threshold at a branch.
    package func lowStock(branch: BranchID) throws -> [StockLevel] {
        try read { try stockLevels(branch: branch, only: [], in: $0).filter { $0.product.active && $0.level.low }.map(\.level) }
    }

    /// A branch's movements, newest first (optionally of one product).
    package func stockMovements(branch: BranchID, product: ProductID?, limit: Int) throws -> [StockMovement] {
        guard (1...1000).contains(limit) else { throw DomainError(.invalidArgument, "limit must be 1…1000") }
        return try read { transaction in
            try transaction.fetchAll("""
                SELECT \(Loader.movementColumns) FROM stock_movements WHERE branch_id = ? AND (? = '' OR product_id = ?) ORDER BY at DESC, id DESC LIMIT ?
                """, [.text(branch.rawValue), .text(product?.rawValue ?? ""), .text(product?.rawValue ?? ""), .int(limit)]).map(Loader.movement)
        }
    }

    /// Every level below zero (at `branch`, or anywhere), by product then branch. A pure function of
    /// the merged movements, so every box lists the same flags with the same ids: `overrides` are the
    /// override movements of the product at the branch; `fromMerge` holds when the level would still
    /// be below zero with those movements counted as zero (docs/retail.md, "Below zero").
    package func stockFlags(branch: BranchID?) throws -> [StockFlag] {
        try read { transaction in
            try transaction.fetchAll("""
                SELECT product_id, branch_id, quantity FROM local_stock_levels WHERE quantity < 0 AND (? = '' OR branch_id = ?) ORDER BY product_id, branch_id
                """, [.text(branch?.rawValue ?? ""), .text(branch?.rawValue ?? "")]).map { row in
                let product = row["product_id"].string, at = row["branch_id"].string
                let overrides = try transaction.fetchAll("""
                    SELECT m.id AS id, m.quantity AS quantity FROM stock_movements m WHERE m.product_id = ? AND m.branch_id = ? AND m.override = 1 AND NOT \(StockLedger.repeated)
                    ORDER BY m.id
                    """, [.text(product), .text(at)])
                let quantity = row["quantity"].int
                let overridden = overrides.reduce(0) { $0 + $1["quantity"].int }
                return StockFlag(id: derivedKey("stock-negative", product, at), productID: ProductID(trusted: product), branchID: BranchID(trusted: at),
                                 quantity: quantity, overrides: overrides.map { StockMovementID(trusted: $0["id"].string) }, fromMerge: quantity - overridden < 0)
            }
        }
    }
}
