import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

/// A branch (KZT, VAT 12 % included by default, 5 % added as another rate) with helpers for products and stock.
final class StockFixture: @unchecked Sendable {
    let m: MoneyFixture
    var f: ShopFixture { m.f }
    var shop: Shop { m.shop }
    var branch: BranchID { f.branchID }

    init() throws {
        m = try MoneyFixture()
        var settings = try shop.moneySettings(branch: branch)
        settings.taxRates = [TaxRate(id: "vat12", name: "VAT 12 %", rateBasisPoints: 1200, included: true),
                             TaxRate(id: "add5", name: "Sales tax 5 %", rateBasisPoints: 500, included: false)]
        settings.defaultTaxRate = "vat12"
        _ = try shop.saveMoneySettings(settings)
    }

    @discardableResult
    func product(_ name: String, price: Int64 = 10_000, barcode: String = "", sku: String = "", category: String = "", threshold: Int? = nil,
                 tax: String = "", on shop: Shop? = nil) throws -> Product {
        let shop = shop ?? self.shop
        return try shop.saveProduct(Product(id: .generate(at: shop.now), names: ["en": name], sku: sku, barcode: barcode, category: category, priceMinor: price,
                                            taxRate: tax, lowStockThreshold: threshold))
    }

    func receive(_ product: Product, _ quantity: Int, at branch: BranchID? = nil, on shop: Shop? = nil) throws {
        _ = try (shop ?? self.shop).receiveStock(branch: branch ?? self.branch, supplier: "Supplier", lines: [ProductQuantity(productID: product.id, quantity: quantity)],
                                                 note: "", actor: manager)
    }

    func level(_ product: Product, at branch: BranchID? = nil, on shop: Shop? = nil) throws -> StockLevel {
        try (shop ?? self.shop).stockLevels(branch: branch ?? self.branch, products: [product.id])[0]
    }

    func sell(_ lines: [(Product, Int)], override: Bool = false, actor: Shop.MoneyActor = manager, at branch: BranchID? = nil, on shop: Shop? = nil,
              payments: [PaymentRequest] = []) throws -> Sale {
        try (shop ?? self.shop).checkout(CheckoutRequest(branchID: branch ?? self.branch, payments: payments,
                                                         products: lines.map { ProductSaleLine(productID: $0.0.id, quantity: $0.1) }, stockOverride: override),
                                         actor: actor, fiscalRequired: false)
    }

    /// Rows of every replicated table.
    func rowCounts(_ shop: Shop? = nil) throws -> [String: Int] {
        try (shop ?? self.shop).read { transaction in
            var counts: [String: Int] = [:]
            for (table, _) in DomainSchema.replicated { counts[table] = try transaction.fetchOne("SELECT count(*) AS n FROM \(table)", [])!["n"].int }
            return counts
        }
    }

    /// Expects `body` to fail with `code` (and a message containing `text`) and to write nothing.
    func refused(_ code: DomainError.Code, _ text: String = "", sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) throws {
        let before = try rowCounts()
        let vector = shop.store.versionVector
        #expect(sourceLocation: sourceLocation) { try body() } throws: { error in
            guard let error = error as? DomainError else { return false }
            return error.code == code && (text.isEmpty || error.message.contains(text))
        }
        #expect(try rowCounts() == before, "a refused write changed rows", sourceLocation: sourceLocation)
        #expect(shop.store.versionVector == vector, "a refused write made a changeset", sourceLocation: sourceLocation)
    }
}

/// `local_stock_levels` as it stands, and what a rebuild and a plain SUM over the raw rows make of the same rows.
func derivedLevels(_ shop: Shop) throws -> [String: Int] {
    try shop.read { transaction in
        var levels: [String: Int] = [:]
        for row in try transaction.fetchAll("SELECT product_id, branch_id, quantity FROM local_stock_levels", []) {
            levels[row["product_id"].string + "@" + row["branch_id"].string] = row["quantity"].int
        }
        return levels
    }
}

func expectRebuildAgrees(_ shop: Shop, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let incremental = try derivedLevels(shop)
    let transit = try derivedTransit(shop)
    #expect(transit == (try directTransit(shop)), "what is in transit is not what the raw transfers say", sourceLocation: sourceLocation)
    try shop.rebuildDerivedState()
    #expect(try derivedLevels(shop) == incremental, "a rebuild derives other levels", sourceLocation: sourceLocation)
    #expect(try derivedTransit(shop) == transit, "a rebuild derives another transit", sourceLocation: sourceLocation)
}

/// `local_stock_transit` as "transfer/product from→to": quantity.
func derivedTransit(_ shop: Shop) throws -> [String: Int] {
    try shop.read { transaction in
        var result: [String: Int] = [:]
        for row in try transaction.fetchAll("SELECT transfer_id, product_id, from_branch, to_branch, quantity FROM local_stock_transit", []) {
            result["\(row["transfer_id"].string)/\(row["product_id"].string) \(row["from_branch"].string)→\(row["to_branch"].string)"] = row["quantity"].int
        }
        return result
    }
}

/// The same computed in Swift from the raw rows: the lines of every transfer without a booking-in.
func directTransit(_ shop: Shop) throws -> [String: Int] {
    try shop.read { transaction in
        let received = Set(try transaction.fetchAll("SELECT transfer_id FROM stock_movements WHERE kind = 'transfer_in'", []).map { $0["transfer_id"].string })
        var result: [String: Int] = [:]
        for row in try transaction.fetchAll("SELECT id, from_branch, to_branch, lines FROM stock_transfers", []) where !received.contains(row["id"].string) {
            for line in JSONColumn.decode([ProductQuantity].self, row["lines"], default: []) {
                result["\(row["id"].string)/\(line.productID.rawValue) \(row["from_branch"].string)→\(row["to_branch"].string)", default: 0] += line.quantity
            }
        }
        return result
    }
}

@Suite("Stock: products, barcodes, movements, checkout, returns, transfers, stocktakes")
struct StockTests {
    @Test("EAN-13 and UPC-A check digits", arguments: [
        ("4006381333931", true), ("5901234123457", true), ("036000291452", true), ("0036000291452", true), ("012345678905", true),
        ("4006381333932", false), ("036000291453", false), ("03600029145", false), ("40063813339311", false), ("400638133393a", false),
        ("", false), ("4006 381333931", false), ("٤٠٠٦٣٨١٣٣٣٩٣١", false), ("96385074", false),
    ])
    func barcodes(code: String, valid: Bool) throws {
        #expect(Barcode.isValid(code) == valid)
        if !valid {
            #expect { try Barcode.validate(code) } throws: { ($0 as? DomainError)?.code == .invalidArgument && ($0 as? DomainError)?.message.contains("check digit") == true }
        }
    }

    @Test("the check digit of a payload (GS1: from the right, ×3 and ×1)")
    func checkDigit() {
        #expect(Barcode.checkDigit(of: [4, 0, 0, 6, 3, 8, 1, 3, 3, 3, 9, 3]) == 1)
        #expect(Barcode.checkDigit(of: [0, 3, 6, 0, 0, 0, 2, 9, 1, 4, 5]) == 2)
        #expect(Barcode.checkDigit(of: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) == 0)
    }

    @Test("products: create, update, per-branch price and threshold; every bad field refused and nothing written")
    func products() throws {
        let s = try StockFixture()
        let created = try s.shop.saveProduct(Product(id: .generate(at: s.shop.now), names: ["ru": " Шампунь ", "en": "Shampoo"], sku: "SH-1",
                                                     barcode: "4006381333931", category: "Hair", priceMinor: 450_000, taxRate: "add5", costMinor: 200_000,
                                                     lowStockThreshold: 3))
        #expect(created.names == ["ru": "Шампунь", "en": "Shampoo"] && created.costMinor == 200_000 && created.lowStockThreshold == 3 && created.active)
        var changed = created
        changed.priceMinor = 460_000
        changed.costMinor = nil
        changed.taxRate = "none"
        s.f.clock.advance(milliseconds: 1000)
        let updated = try s.shop.saveProduct(changed)
        #expect(updated.priceMinor == 460_000 && updated.costMinor == nil && updated.taxRate == "none")
        let createdAt = try s.shop.read { try $0.fetchOne("SELECT created_at FROM products WHERE id = ?", [.text(created.id.rawValue)])!["created_at"].int64 }
        #expect(createdAt == s.f.clock.milliseconds - 1000, "an update keeps when the product was created")
        var branchSettings = try s.shop.saveProductBranch(ProductBranchSettings(priceMinor: 400_000, lowStockThreshold: 1), product: created.id, branch: s.branch)
        #expect(branchSettings.price(at: s.branch) == 400_000 && branchSettings.threshold(at: s.branch) == 1)
        branchSettings = try s.shop.saveProductBranch(ProductBranchSettings(priceMinor: nil, lowStockThreshold: nil), product: created.id, branch: s.branch)
        #expect(branchSettings.price(at: s.branch) == 460_000 && branchSettings.threshold(at: s.branch) == 3 && branchSettings.branches.isEmpty)

        func bad(_ change: (inout Product) -> Void, _ text: String) throws {
            var product = Product(id: .generate(at: s.shop.now), names: ["en": "Comb"], priceMinor: 100)
            change(&product)
            try s.refused(.invalidArgument, text) { _ = try s.shop.saveProduct(product) }
        }
        try bad({ $0.names = [:] }, "needs a name")
        try bad({ $0.names = ["en": "   "] }, "needs a name")
        try bad({ $0.names = ["de": "Kamm"] }, "ru, kk or en")
        try bad({ $0.names = ["en": String(repeating: "x", count: 201)] }, "200")
        try bad({ $0.sku = String(repeating: "s", count: 65) }, "64")
        try bad({ $0.barcode = "4006381333932" }, "check digit")
        try bad({ $0.barcode = "12345" }, "check digit")
        try bad({ $0.priceMinor = -1 }, "price")
        try bad({ $0.costMinor = -5 }, "cost")
        try bad({ $0.lowStockThreshold = -1 }, "threshold")
        try bad({ $0.taxRate = "vat99" }, "tax rate")
        try s.refused(.invalidArgument, "price") {
            _ = try s.shop.saveProductBranch(ProductBranchSettings(priceMinor: -1), product: created.id, branch: s.branch)
        }
        try s.refused(.notFound) { _ = try s.shop.saveProductBranch(ProductBranchSettings(priceMinor: 1), product: .generate(at: s.shop.now), branch: s.branch) }
        try s.refused(.notFound) { _ = try s.shop.saveProductBranch(ProductBranchSettings(priceMinor: 1), product: created.id, branch: .generate(at: s.shop.now)) }
    }

    @Test("barcode lookup: validated first, UPC-A finds its EAN-13 form, the active product created first; search by name, SKU, barcode, category")
    func lookup() throws {
        let s = try StockFixture()
        let shampoo = try s.shop.saveProduct(Product(id: .generate(at: s.shop.now), names: ["ru": "Шампунь Ёлка", "en": "Pine shampoo"], sku: "SH-1",
                                                     barcode: "0036000291452", category: "Hair", priceMinor: 100))
        s.f.clock.advance(milliseconds: 10)
        let second = try s.product("Second with the same code", barcode: "0036000291452")
        let gel = try s.product("Gel", barcode: "4006381333931", sku: "GL-7", category: "Hair")
        var old = try s.product("Old comb", category: "Tools")
        old.active = false
        old = try s.shop.saveProduct(old)

        #expect(try s.shop.product(barcode: "0036000291452").id == shampoo.id)
        #expect(try s.shop.product(barcode: "036000291452").id == shampoo.id, "a UPC-A finds the EAN-13 form")
        #expect(try s.shop.product(barcode: " 4006381333931\n").id == gel.id)
        #expect { try s.shop.product(barcode: "4006381333932") } throws: { ($0 as? DomainError)?.code == .invalidArgument && ($0 as? DomainError)!.message.contains("check digit") }
        #expect { try s.shop.product(barcode: "5901234123457") } throws: { ($0 as? DomainError)?.code == .notFound }
        var inactive = shampoo
        inactive.active = false
        _ = try s.shop.saveProduct(inactive)
        #expect(try s.shop.product(barcode: "036000291452").id == second.id, "an inactive product is not found by its barcode")

        #expect(try s.shop.products(query: "ёлка", category: "", includeInactive: true, limit: 50).map(\.id) == [shampoo.id], "Cyrillic, any case, ё as е")
        #expect(try s.shop.products(query: "елка", category: "", includeInactive: true, limit: 50).map(\.id) == [shampoo.id])
        #expect(try s.shop.products(query: "gl-", category: "", includeInactive: false, limit: 50).map(\.id) == [gel.id])
        #expect(try s.shop.products(query: "333931", category: "", includeInactive: false, limit: 50).map(\.id) == [gel.id])
        #expect(try s.shop.products(query: "", category: "Hair", includeInactive: false, limit: 50).map(\.id) == [gel.id])
        #expect(try s.shop.products(query: "", category: "", includeInactive: false, limit: 50).map(\.id) == [gel.id, second.id])
        #expect(try s.shop.products(query: "", category: "", includeInactive: true, limit: 50).map(\.id) == [gel.id, old.id, shampoo.id, second.id])
        #expect(try s.shop.products(query: "", category: "", includeInactive: true, limit: 2).count == 2)
        #expect { try s.shop.products(query: "", category: "", includeInactive: true, limit: 0) } throws: { ($0 as? DomainError)?.code == .invalidArgument }
    }

    @Test("receipts and adjustments: levels are sums; bad input refused with nothing written; no adjustment below zero")
    func receiptsAndAdjustments() throws {
        let s = try StockFixture()
        let wax = try s.product("Wax")
        let movements = try s.shop.receiveStock(branch: s.branch, supplier: " Acme ", lines: [ProductQuantity(productID: wax.id, quantity: 12, unitCostMinor: 150)],
                                                note: "invoice 7", actor: manager)
        #expect(movements.count == 1 && movements[0].kind == .received && movements[0].supplier == "Acme" && movements[0].unitCostMinor == 150)
        #expect(try s.level(wax).quantity == 12)
        let damaged = try s.shop.adjustStock(branch: s.branch, product: wax.id, quantity: -2, reason: .damaged, note: "dropped", appointment: nil, actor: manager)
        #expect(damaged.quantity == -2 && damaged.reason == .damaged)
        let visit = try s.m.visit()
        let used = try s.shop.adjustStock(branch: s.branch, product: wax.id, quantity: -1, reason: .usedInService, note: "", appointment: visit, actor: manager)
        #expect(used.appointmentID == visit)
        #expect(try s.level(wax).quantity == 9)
        #expect(try s.shop.stockMovements(branch: s.branch, product: wax.id, limit: 10).map(\.id) == [used.id, damaged.id, movements[0].id].sorted(by: >))

        let line = [ProductQuantity(productID: wax.id, quantity: 1)]
        try s.refused(.invalidArgument, "1 to 500") { _ = try s.shop.receiveStock(branch: s.branch, supplier: "", lines: [], note: "", actor: manager) }
        try s.refused(.invalidArgument, "quantity") {
            _ = try s.shop.receiveStock(branch: s.branch, supplier: "", lines: [ProductQuantity(productID: wax.id, quantity: 0)], note: "", actor: manager)
        }
        try s.refused(.invalidArgument, "twice") { _ = try s.shop.receiveStock(branch: s.branch, supplier: "", lines: line + line, note: "", actor: manager) }
        try s.refused(.invalidArgument, "unit cost") {
            _ = try s.shop.receiveStock(branch: s.branch, supplier: "", lines: [ProductQuantity(productID: wax.id, quantity: 1, unitCostMinor: -1)], note: "", actor: manager)
        }
        try s.refused(.notFound) {
            _ = try s.shop.receiveStock(branch: s.branch, supplier: "", lines: [ProductQuantity(productID: .generate(at: s.shop.now), quantity: 1)], note: "", actor: manager)
        }
        try s.refused(.notFound) { _ = try s.shop.receiveStock(branch: .generate(at: s.shop.now), supplier: "", lines: line, note: "", actor: manager) }
        try s.refused(.invalidArgument, "not 0") {
            _ = try s.shop.adjustStock(branch: s.branch, product: wax.id, quantity: 0, reason: .damaged, note: "", appointment: nil, actor: manager)
        }
        for reason in [StockMovement.Reason.none, .saleVoided] {
            try s.refused(.invalidArgument, "reason") {
                _ = try s.shop.adjustStock(branch: s.branch, product: wax.id, quantity: 1, reason: reason, note: "", appointment: nil, actor: manager)
            }
        }
        try s.refused(.invalidArgument, "visit") {
            _ = try s.shop.adjustStock(branch: s.branch, product: wax.id, quantity: -1, reason: .damaged, note: "", appointment: visit, actor: manager)
        }
        try s.refused(.notFound, "appointment") {
            _ = try s.shop.adjustStock(branch: s.branch, product: wax.id, quantity: -1, reason: .usedInService, note: "", appointment: .generate(at: s.shop.now), actor: manager)
        }
        try s.refused(.insufficientStock, "Wax: 9 in stock") {
            _ = try s.shop.adjustStock(branch: s.branch, product: wax.id, quantity: -10, reason: .expired, note: "", appointment: nil, actor: manager)
        }
        #expect(try s.level(wax).quantity == 9)
        try expectRebuildAgrees(s.shop)
    }

    @Test("checkout with products: the level drops, the branch's price, the product's tax; inactive and bad quantities refused")
    func checkout() throws {
        let s = try StockFixture()
        let shampoo = try s.product("Shampoo", price: 11_200)
        let brush = try s.product("Brush", price: 10_000, tax: "add5")
        let card = try s.product("Card", price: 500, tax: "none")
        for product in [shampoo, brush, card] { try s.receive(product, 10) }
        _ = try s.shop.saveProductBranch(ProductBranchSettings(priceMinor: 8_000), product: brush.id, branch: s.branch)
        let sale = try s.sell([(shampoo, 2), (brush, 1), (card, 3)])
        let lines = sale.lines
        #expect(lines.map(\.kind) == [.product, .product, .product] && lines.map(\.reference) == [shampoo.id, brush.id, card.id].map(\.rawValue))
        #expect(lines[0].names == ["en": "Shampoo"] && lines[0].unitPriceMinor == 11_200 && lines[0].taxRate?.id == "vat12" && lines[0].taxMinor == 2_400)
        #expect(lines[1].unitPriceMinor == 8_000 && lines[1].taxRate?.id == "add5" && lines[1].taxMinor == 400 && lines[1].totalMinor == 8_400)
        #expect(lines[2].taxRate == nil && lines[2].totalMinor == 1_500)
        #expect(sale.totalMinor == 22_400 + 8_400 + 1_500)
        #expect(try [shampoo, brush, card].map { try s.level($0).quantity } == [8, 9, 7])
        let sold = try s.shop.stockMovements(branch: s.branch, product: shampoo.id, limit: 1)[0]
        #expect(sold.kind == .sold && sold.quantity == -2 && sold.saleID == sale.id && !sold.override)
        // The movement is in the change feed (the API's live events turn level changes into `stock_low`).
        #expect(try s.shop.read { try $0.fetchOne("SELECT count(*) AS n FROM local_events WHERE tbl = 'stock_movements' AND key = ?", [.text(sold.id.rawValue)])!["n"].int } >= 1)

        var retired = card
        retired.active = false
        _ = try s.shop.saveProduct(retired)
        try s.refused(.invalidArgument, "inactive") { _ = try s.sell([(card, 1)]) }
        try s.refused(.invalidArgument, "1 to 10000") { _ = try s.sell([(shampoo, 0)]) }
        try s.refused(.invalidArgument, "1 to 10000") { _ = try s.sell([(shampoo, 10_001)]) }
        try s.refused(.notFound) { _ = try s.sell([(Product(id: .generate(at: s.shop.now), names: ["en": "Ghost"], priceMinor: 1), 1)]) }
        try expectRebuildAgrees(s.shop)
    }

    @Test("below zero: refused with the level named; an override needs the right; override movements are flagged, not from a merge")
    func belowZero() throws {
        let s = try StockFixture()
        let oil = try s.product("Oil")
        try s.receive(oil, 2)
        try s.refused(.insufficientStock, "Oil: 2 in stock at Test branch, 3 asked") { _ = try s.sell([(oil, 3)]) }
        try s.refused(.insufficientStock, "Oil: 0 in stock at Test branch, 1 asked") { _ = try s.sell([(oil, 2), (oil, 1)]) }
        try s.refused(.approvalRequired, "stock.override:") { _ = try s.sell([(oil, 3)], override: true, actor: desk) }
        // An override asked when none is needed changes nothing.
        _ = try s.sell([(oil, 1)], override: true, actor: desk)
        #expect(try s.stockFlagsAreEmpty())
        let sale = try s.sell([(oil, 3)], override: true)
        let movement = try s.shop.stockMovements(branch: s.branch, product: oil.id, limit: 1)[0]
        #expect(movement.saleID == sale.id && movement.override)
        #expect(try s.level(oil).quantity == -2)
        let flags = try s.shop.stockFlags(branch: nil)
        #expect(flags.count == 1)
        #expect(flags[0].id == derivedKey("stock-negative", oil.id.rawValue, s.branch.rawValue))
        #expect(flags[0].quantity == -2 && flags[0].overrides == [movement.id] && !flags[0].fromMerge)
        #expect(try s.shop.stockFlags(branch: .generate(at: s.shop.now)).isEmpty)
        try s.receive(oil, 2)
        #expect(try s.stockFlagsAreEmpty())
        try expectRebuildAgrees(s.shop)
    }

    @Test("returns: restocked or written off, at most what is left, the refundable share exact in total; a void puts the rest back")
    func returnsAndVoid() throws {
        let s = try StockFixture()
        let cream = try s.product("Cream", price: 1_000)
        let comb = try s.product("Comb", price: 700)
        try s.receive(cream, 10)
        try s.receive(comb, 10)
        let sale = try s.sell([(cream, 3), (comb, 1)])
        let total = sale.lines[0].totalMinor
        #expect(try s.level(cream).quantity == 7)
        try s.refused(.approvalRequired, "money.refund:") {
            _ = try s.shop.returnProducts(sale: sale.id, lines: [ProductQuantity(productID: cream.id, quantity: 1)], restock: true, reason: "", actor: desk)
        }
        let first = try s.shop.returnProducts(sale: sale.id, lines: [ProductQuantity(productID: cream.id, quantity: 1)], restock: true, reason: "unopened", actor: manager)
        #expect(first.refundableMinor == total / 3 && first.movements.count == 1)
        #expect(try s.level(cream).quantity == 8)
        let second = try s.shop.returnProducts(sale: sale.id, lines: [ProductQuantity(productID: cream.id, quantity: 2)], restock: false, reason: "leaking", actor: manager)
        #expect(first.refundableMinor + second.refundableMinor == total, "all units together are worth the line's total")
        #expect(second.movements.count == 2 && !second.restock)
        #expect(try s.level(cream).quantity == 8, "written off: back and out again")
        let written = try s.shop.stockMovements(branch: s.branch, product: cream.id, limit: 1)[0]
        #expect(written.kind == .adjusted && written.reason == .damaged && written.quantity == -2 && written.saleID == sale.id)
        try s.refused(.invalidArgument, "0 of product") {
            _ = try s.shop.returnProducts(sale: sale.id, lines: [ProductQuantity(productID: cream.id, quantity: 1)], restock: true, reason: "", actor: manager)
        }
        try s.refused(.invalidArgument, "1 of product") {
            _ = try s.shop.returnProducts(sale: sale.id, lines: [ProductQuantity(productID: comb.id, quantity: 2)], restock: true, reason: "", actor: manager)
        }
        try s.refused(.invalidArgument, "sold no product") {
            _ = try s.shop.returnProducts(sale: sale.id, lines: [ProductQuantity(productID: .generate(at: s.shop.now), quantity: 1)], restock: true, reason: "", actor: manager)
        }
        try s.refused(.notFound) {
            _ = try s.shop.returnProducts(sale: .generate(at: s.shop.now), lines: [ProductQuantity(productID: comb.id, quantity: 1)], restock: true, reason: "", actor: manager)
        }

        // A void puts back what is left: the comb, not the cream that came back already.
        _ = try s.shop.voidSale(sale.id, reason: "mistake", actor: manager)
        #expect(try s.level(comb).quantity == 10 && s.level(cream).quantity == 8)
        let back = try s.shop.stockMovements(branch: s.branch, product: comb.id, limit: 1)[0]
        #expect(back.kind == .returned && back.reason == .saleVoided && back.quantity == 1 && back.saleID == sale.id)
        try s.refused(.illegalTransition, "voided") {
            _ = try s.shop.returnProducts(sale: sale.id, lines: [ProductQuantity(productID: comb.id, quantity: 1)], restock: true, reason: "", actor: manager)
        }
        try expectRebuildAgrees(s.shop)
    }

    @Test("refundable share per line: rounded down per return, exact when every unit is back")
    func refundShares() {
        let line = SaleLine(kind: .product, reference: "", staffID: nil, appointmentID: nil, names: [:], quantity: 3, unitPriceMinor: 0, discountMinor: 0,
                            netMinor: 0, taxRate: nil, taxMinor: 0, totalMinor: 1_000)
        var other = line
        other.quantity = 2
        other.totalMinor = 501
        #expect(Shop.refundShare(of: [line], returnedBefore: 0, returning: 1) == 333)
        #expect(Shop.refundShare(of: [line], returnedBefore: 1, returning: 1) == 333)
        #expect(Shop.refundShare(of: [line], returnedBefore: 2, returning: 1) == 334)
        #expect(Shop.refundShare(of: [line, other], returnedBefore: 2, returning: 2) == 334 + 250)
        #expect(Shop.refundShare(of: [line, other], returnedBefore: 0, returning: 5) == 1_501)
    }

    @Test("a transfer on one box: out now, in transit on both branches, booked in once; bad transfers refused")
    func transfers() throws {
        let s = try StockFixture()
        let second = BranchID.generate(at: s.shop.now)
        try s.shop.save(Branch(id: second, name: "Second", timeZone: "Asia/Almaty", currency: "KZT", region: "KZ", openingHours: WeeklyHours()))
        let gel = try s.product("Gel")
        try s.receive(gel, 5)
        let line = [ProductQuantity(productID: gel.id, quantity: 3)]
        let transfer = try s.shop.transferStock(from: s.branch, to: second, lines: line, note: "for the weekend", override: false, actor: manager)
        #expect(transfer.state == .inTransit && transfer.lines == line && transfer.receivedAt == nil)
        #expect(try s.level(gel) == StockLevel(productID: gel.id, branchID: s.branch, quantity: 2, inTransitOut: 3))
        #expect(try s.level(gel, at: second) == StockLevel(productID: gel.id, branchID: second, quantity: 0, inTransitIn: 3))
        #expect(try s.shop.stockTransfers(branch: second, inTransitOnly: true, limit: 10).map(\.id) == [transfer.id])
        s.f.clock.advance(milliseconds: 5000)
        let received = try s.shop.receiveTransfer(transfer.id, actor: Shop.MoneyActor(name: "Second desk", deviceID: "", rights: desk.rights))
        #expect(received.state == .received && received.receivedBy == "Second desk" && received.receivedAt == s.shop.now)
        #expect(try s.level(gel, at: second) == StockLevel(productID: gel.id, branchID: second, quantity: 3))
        #expect(try s.level(gel) == StockLevel(productID: gel.id, branchID: s.branch, quantity: 2))
        #expect(try s.shop.stockTransfers(branch: s.branch, inTransitOnly: true, limit: 10).isEmpty)
        #expect(try s.shop.stockTransfers(branch: s.branch, inTransitOnly: false, limit: 10).map(\.id) == [transfer.id])
        #expect(try s.shop.stockTransfer(transfer.id) == received)
        try s.refused(.illegalTransition, "booked in already") { _ = try s.shop.receiveTransfer(transfer.id, actor: manager) }
        try s.refused(.notFound) { _ = try s.shop.receiveTransfer(.generate(at: s.shop.now), actor: manager) }

        try s.refused(.invalidArgument, "another branch") { _ = try s.shop.transferStock(from: s.branch, to: s.branch, lines: line, note: "", override: false, actor: manager) }
        try s.refused(.invalidArgument, "1 to 500") { _ = try s.shop.transferStock(from: s.branch, to: second, lines: [], note: "", override: false, actor: manager) }
        try s.refused(.insufficientStock, "Gel: 2 in stock") {
            _ = try s.shop.transferStock(from: s.branch, to: second, lines: line, note: "", override: false, actor: manager)
        }
        try s.refused(.approvalRequired, "stock.override:") {
            _ = try s.shop.transferStock(from: s.branch, to: second, lines: line, note: "", override: true, actor: desk)
        }
        let forced = try s.shop.transferStock(from: s.branch, to: second, lines: line, note: "", override: true, actor: manager)
        let out = try s.shop.stockMovements(branch: s.branch, product: gel.id, limit: 1)[0]
        #expect(out.kind == .transferOut && out.transferID == forced.id && out.override && out.quantity == -3)
        #expect(try s.shop.stockFlags(branch: s.branch).map(\.overrides) == [[out.id]])
        try expectRebuildAgrees(s.shop)
    }

    @Test("stocktake: expected is the level now, differences become count corrections, products not named are untouched")
    func stocktake() throws {
        let s = try StockFixture()
        let a = try s.product("A"), b = try s.product("B"), c = try s.product("C")
        try s.receive(a, 5)
        try s.receive(b, 5)
        try s.receive(c, 5)
        let take = try s.shop.stocktake(branch: s.branch, counts: [ProductQuantity(productID: a.id, quantity: 3), ProductQuantity(productID: b.id, quantity: 5),
                                                                   ProductQuantity(productID: c.id, quantity: 8)], note: "monthly", actor: manager)
        #expect(take.counts.map(\.expected) == [5, 5, 5] && take.counts.map(\.difference) == [-2, 0, 3])
        #expect(try [a, b, c].map { try s.level($0).quantity } == [3, 5, 8])
        let corrections = try s.shop.stockMovements(branch: s.branch, product: nil, limit: 10).filter { $0.stocktakeID == take.id }
        #expect(corrections.count == 2 && corrections.allSatisfy { $0.kind == .adjusted && $0.reason == .countCorrection })
        #expect(try s.shop.stocktakes(branch: s.branch, limit: 5) == [take])
        try s.refused(.invalidArgument, "quantity is 0 to") {
            _ = try s.shop.stocktake(branch: s.branch, counts: [ProductQuantity(productID: a.id, quantity: -1)], note: "", actor: manager)
        }
        try s.refused(.invalidArgument, "1 to 500") { _ = try s.shop.stocktake(branch: s.branch, counts: [], note: "", actor: manager) }
        try expectRebuildAgrees(s.shop)
    }

    @Test("low stock: at or below the threshold (the branch's own, else the product's); inactive products are not listed")
    func lowStock() throws {
        let s = try StockFixture()
        let a = try s.product("A", threshold: 2), b = try s.product("B", threshold: 2), c = try s.product("C"), d = try s.product("D", threshold: 5)
        try s.receive(a, 2)
        try s.receive(b, 3)
        try s.receive(c, 1)
        _ = try s.shop.saveProductBranch(ProductBranchSettings(lowStockThreshold: 1), product: c.id, branch: s.branch)
        var retired = d
        retired.active = false
        _ = try s.shop.saveProduct(retired)
        #expect(try s.shop.lowStock(branch: s.branch).map(\.productID) == [a.id, c.id])
        #expect(try s.shop.stockLevels(branch: s.branch, products: []).map(\.productID) == [a.id, b.id, c.id])
        _ = try s.sell([(b, 1)])
        #expect(try s.shop.lowStock(branch: s.branch).map(\.productID) == [a.id, b.id, c.id])
        #expect { try s.shop.stockLevels(branch: s.branch, products: [.generate(at: s.shop.now)]) } throws: { ($0 as? DomainError)?.code == .notFound }
    }

    @Test("a transfer between two branches' boxes that are apart: in transit on both until received, nothing counted twice or lost")
    func transferApart() throws {
        let s = try StockFixture()
        let branchB = BranchID.generate(at: s.shop.now)
        try s.shop.save(Branch(id: branchB, name: "Branch B", timeZone: "Asia/Almaty", currency: "KZT", region: "KZ", openingHours: WeeklyHours()))
        let boxA = s.shop
        let boxB = try s.f.world.makeShop(home: branchB)
        let owner = try s.f.world.makeShop(home: nil)
        let dye = try s.product("Dye")
        try s.receive(dye, 10)
        try syncAll([boxA, boxB, owner])

        let transfer = try boxA.transferStock(from: s.branch, to: branchB, lines: [ProductQuantity(productID: dye.id, quantity: 4)], note: "", override: false, actor: manager)
        try sync(boxA, to: boxB)
        // Apart from here on: both show it in transit.
        #expect(try s.level(dye, on: boxA) == StockLevel(productID: dye.id, branchID: s.branch, quantity: 6, inTransitOut: 4))
        #expect(try s.level(dye, at: branchB, on: boxB) == StockLevel(productID: dye.id, branchID: branchB, quantity: 0, inTransitIn: 4))
        #expect(try s.level(dye, on: boxB) == StockLevel(productID: dye.id, branchID: s.branch, quantity: 6, inTransitOut: 4))
        s.f.clock.advance(milliseconds: 1000)
        _ = try boxB.receiveTransfer(transfer.id, actor: manager)
        _ = try s.sell([(dye, 1)], at: branchB, on: boxB)
        #expect(try s.level(dye, at: branchB, on: boxB).quantity == 3)
        #expect(try s.level(dye, at: branchB, on: boxA) == StockLevel(productID: dye.id, branchID: branchB, quantity: 0, inTransitIn: 4), "A does not know yet")
        #expect(try boxA.stockTransfer(transfer.id).state == .inTransit)
        _ = try s.sell([(dye, 2)], on: boxA)
        try syncAll([boxA, boxB, owner])
        for box in [boxA, boxB, owner] {
            #expect(try s.level(dye, on: box) == StockLevel(productID: dye.id, branchID: s.branch, quantity: 4))
            #expect(try s.level(dye, at: branchB, on: box) == StockLevel(productID: dye.id, branchID: branchB, quantity: 3))
            #expect(try box.stockTransfer(transfer.id).state == .received)
            #expect(try box.stockFlags(branch: nil).isEmpty)
        }

        // Both boxes book the next transfer in while apart: both rows replicate, one counts.
        let next = try boxA.transferStock(from: s.branch, to: branchB, lines: [ProductQuantity(productID: dye.id, quantity: 2)], note: "", override: false, actor: manager)
        try syncAll([boxA, boxB, owner])
        s.f.clock.advance(milliseconds: 1000)
        _ = try owner.receiveTransfer(next.id, actor: Shop.MoneyActor(name: "Owner", deviceID: "", rights: .all))
        s.f.clock.advance(milliseconds: 1000)
        _ = try boxB.receiveTransfer(next.id, actor: Shop.MoneyActor(name: "Desk B", deviceID: "", rights: desk.rights))
        #expect(try s.level(dye, at: branchB, on: boxB).quantity == 5 && s.level(dye, at: branchB, on: owner).quantity == 5)
        try syncAll([boxA, boxB, owner])
        for box in [boxA, boxB, owner] {
            #expect(try s.level(dye, at: branchB, on: box) == StockLevel(productID: dye.id, branchID: branchB, quantity: 5))
            #expect(try s.level(dye, on: box).quantity == 2)
            let received = try box.stockTransfer(next.id)
            #expect(received.state == .received && received.receivedBy == "Owner", "the first booking-in is the one shown")
            #expect(try box.read { try $0.fetchOne("SELECT count(*) AS n FROM stock_movements WHERE transfer_id = ? AND kind = 'transfer_in'", [.text(next.id.rawValue)])!["n"].int } == 2)
            try expectRebuildAgrees(box)
        }
    }

    @Test("a sale voided on two boxes apart puts its products back once; selling the last unit on both is flagged as from a merge")
    func voidTwiceAndMergeFlag() throws {
        let s = try StockFixture()
        let boxA = s.shop
        let owner = try s.f.world.makeShop(home: nil)
        let mask = try s.product("Mask")
        try s.receive(mask, 3)
        let sale = try s.sell([(mask, 2)])
        try syncAll([boxA, owner])
        _ = try boxA.voidSale(sale.id, reason: "wrong client", actor: manager)
        s.f.clock.advance(milliseconds: 10)
        _ = try owner.voidSale(sale.id, reason: "duplicate", actor: manager)
        try syncAll([boxA, owner])
        for box in [boxA, owner] {
            #expect(try s.level(mask, on: box).quantity == 3)
            try expectRebuildAgrees(box)
        }
        // Both sell all three while apart: -3, flagged the same everywhere, not explained by overrides.
        _ = try s.sell([(mask, 3)], on: boxA)
        _ = try s.sell([(mask, 3)], on: owner)
        try syncAll([boxA, owner])
        let flags = try boxA.stockFlags(branch: s.branch)
        #expect(flags.count == 1 && flags[0].quantity == -3 && flags[0].fromMerge && flags[0].overrides.isEmpty)
        #expect(try owner.stockFlags(branch: nil) == flags)
    }
}

extension StockFixture {
    func stockFlagsAreEmpty() throws -> Bool { try shop.stockFlags(branch: nil).isEmpty }
}
