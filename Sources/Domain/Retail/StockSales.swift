import Foundation
import Replication

/// The retail part of checkout: product lines, the stock a sale takes, what a void puts back, and returns.
extension Shop {
    // MARK: Checkout hooks (called by MoneyCore inside the checkout's transaction)

    /// The sale lines of `request.products`: kind `.product`, `reference` the product's id, its names,
    /// the branch's price (its override, else the product's), and the product's tax rate (`""`: the
    /// branch's default; `none`: none).
    /// - Throws: `.invalidArgument` for a quantity outside 1–10000, an inactive product, or a tax
    ///   rate the branch does not have; `.notFound` for an unknown product.
    func productLines(_ request: CheckoutRequest, settings: MoneySettings, in transaction: WriteTransaction) throws -> [SaleLine] {
        guard request.products.count <= 500 else { throw DomainError(.invalidArgument, "a sale has at most 500 product lines") }
        return try request.products.map { line in
            guard (1...10_000).contains(line.quantity) else { throw DomainError(.invalidArgument, "a product's quantity is 1 to 10000") }
            let product = try Loader.product(line.productID, in: transaction)
            guard product.active else { throw DomainError(.invalidArgument, "\(product.name(in: "en")) is not sold any more (inactive)") }
            let rate: TaxRate?
            switch product.taxRate {
            case "": rate = settings.defaultRate
            case "none": rate = nil
            default:
                guard let found = settings.taxRates.first(where: { $0.id == product.taxRate }) else {
                    throw DomainError(.invalidArgument, "\(product.name(in: "en"))'s tax rate \(product.taxRate) is not one of this branch's rates")
                }
                rate = found
            }
            return SaleLine(kind: .product, reference: product.id.rawValue, staffID: nil, appointmentID: nil, names: product.names, quantity: line.quantity,
                            unitPriceMinor: product.price(at: request.branchID), discountMinor: 0, netMinor: 0, taxRate: rate, taxMinor: 0, totalMinor: 0)
        }
    }

    /// Writes a `sold` movement per product line at the sale's branch.
    /// - Throws: `.insufficientStock` when a line would take its product below zero here, unless
    ///   `override` and the actor has `mayOverrideStock` (else `.approvalRequired`, `stock.override: …`).
    func recordSaleStock(sale: SaleID, branch: BranchID, lines: [SaleLine], override: Bool, actor: MoneyActor, in transaction: WriteTransaction) throws {
        for line in lines where line.kind == .product {
            let product = try Loader.product(ProductID(trusted: line.reference), in: transaction)
            let below = try checkTaking(line.quantity, of: product, at: branch, override: override, actor: actor, in: transaction)
            try insertMovement(product: product.id, branch: branch, kind: .sold, quantity: -line.quantity, sale: sale, override: below, actor: actor, in: transaction)
        }
    }

    /// Puts a voided sale's products back: a `returned` movement (`sale_voided`) per product, of what
    /// it sold less what came back already.
    func restockVoidedSale(_ sale: SaleID, actor: MoneyActor, in transaction: WriteTransaction) throws {
        let found = try Ledger.sale(sale, in: transaction, prefix: Shop.orderPrefix(hex:))
        let returned = try returnedQuantities(sale, in: transaction)
        for (product, sold) in Self.soldQuantities(found) {
            let left = sold - (returned[product] ?? 0)
            guard left > 0 else { continue }
            try insertMovement(product: product, branch: found.branchID, kind: .returned, quantity: left, reason: .saleVoided, sale: sale,
                               note: "sale \(found.number) voided", actor: actor, in: transaction)
        }
    }

    /// What a sale sold of each product, in the order of its lines.
    static func soldQuantities(_ sale: Sale) -> [(ProductID, Int)] {
        var order: [ProductID] = []
        var sold: [ProductID: Int] = [:]
        for line in sale.lines where line.kind == .product {
            let id = ProductID(trusted: line.reference)
            if sold[id] == nil { order.append(id) }
            sold[id, default: 0] += line.quantity
        }
        return order.map { ($0, sold[$0] ?? 0) }
    }

    /// What came back of a sale's products by returns (not by its void).
    func returnedQuantities(_ sale: SaleID, in context: some QueryContext) throws -> [ProductID: Int] {
        var returned: [ProductID: Int] = [:]
        for row in try context.fetchAll("""
            SELECT product_id, SUM(quantity) AS quantity FROM stock_movements WHERE sale_id = ? AND sale_id != '' AND kind = 'returned' AND reason != 'sale_voided'
            GROUP BY product_id
            """, [.text(sale.rawValue)]) {
            returned[ProductID(trusted: row["product_id"].string)] = row["quantity"].int
        }
        return returned
    }

    // MARK: Returns

    /// Products brought back against the sale that sold them: at most what it sold less what came
    /// back already. A `returned` movement per line; with `restock` false also an `adjusted` /
    /// `damaged` one (written off). `refundableMinor` is the returned units' share of their lines'
    /// totals: for a line of total T and quantity Q of which r came back before, q more are worth
    /// ⌊T·(r+q)/Q⌋ − ⌊T·r/Q⌋ (so all units together are worth exactly T).
    /// - Throws: `.approvalRequired` (`money.refund: …`) without the refund right; `.invalidArgument`
    ///   for a product the sale did not sell or more than is left to return; `.illegalTransition` for a voided sale.
    package func returnProducts(sale: SaleID, lines: [ProductQuantity], restock: Bool, reason: String, actor: MoneyActor) throws -> SaleReturn {
        guard actor.rights.mayRefund else { throw DomainError(.approvalRequired, "money.refund: a manager must approve a return") }
        let reason = try Self.checkText(reason, "a reason", max: 500)
        return try write(.saleReturn) { transaction in
            let found = try Ledger.sale(sale, in: transaction, prefix: Shop.orderPrefix(hex:))
            guard found.state != .voided else { throw DomainError(.illegalTransition, "sale \(found.number) is voided: its products are back already") }
            guard (1...500).contains(lines.count) else { throw DomainError(.invalidArgument, "name 1 to 500 products") }
            guard Set(lines.map(\.productID)).count == lines.count else { throw DomainError(.invalidArgument, "a product is named twice") }
            let returned = try returnedQuantities(sale, in: transaction)
            let sold = Dictionary(uniqueKeysWithValues: Self.soldQuantities(found))
            var refundable: Int64 = 0
            var movements: [StockMovementID] = []
            for line in lines {
                guard let soldQuantity = sold[line.productID] else { throw DomainError(.invalidArgument, "sale \(found.number) sold no product \(line.productID)") }
                let before = returned[line.productID] ?? 0
                guard line.quantity >= 1, line.quantity <= soldQuantity - before else {
                    throw DomainError(.invalidArgument, "\(max(0, soldQuantity - before)) of product \(line.productID) can still be returned against sale \(found.number)")
                }
                refundable += Self.refundShare(of: found.lines.filter { $0.kind == .product && $0.reference == line.productID.rawValue },
                                               returnedBefore: before, returning: line.quantity)
                let back = try insertMovement(product: line.productID, branch: found.branchID, kind: .returned, quantity: line.quantity, sale: sale,
                                              note: reason, actor: actor, in: transaction)
                movements.append(back.id)
                if !restock {
                    let off = try insertMovement(product: line.productID, branch: found.branchID, kind: .adjusted, quantity: -line.quantity, reason: .damaged,
                                                 sale: sale, note: reason, actor: actor, in: transaction)
                    movements.append(off.id)
                }
            }
            return SaleReturn(saleID: sale, lines: lines.map { ProductQuantity(productID: $0.productID, quantity: $0.quantity) }, restock: restock,
                              reason: reason, refundableMinor: refundable, movements: movements)
        }
    }

    /// The worth of `returning` more units of a product whose lines are `lines` (units come back from
    /// the first line on), `returnedBefore` of them having come back already.
    static func refundShare(of lines: [SaleLine], returnedBefore: Int, returning: Int) -> Int64 {
        var skip = returnedBefore
        var left = returning
        var total: Int64 = 0
        for line in lines where left > 0 {
            let earlier = min(skip, line.quantity)
            skip -= earlier
            let now = min(left, line.quantity - earlier)
            guard now > 0, line.quantity > 0 else { continue }
            left -= now
            let quantity = Int64(line.quantity)
            total += line.totalMinor * Int64(earlier + now) / quantity - line.totalMinor * Int64(earlier) / quantity
        }
        return total
    }
}
