import Foundation
import Replication

/// GS1 barcodes as shops scan them: EAN-13 (13 digits) and UPC-A (12 digits), the last digit a
/// check digit (docs/retail.md, "Products").
public enum Barcode {
    /// Whether `code` is an EAN-13 or UPC-A with a correct check digit.
    public static func isValid(_ code: String) -> Bool {
        do { try validate(code) } catch { return false }
        return true
    }

    /// Checks that `code` is 12 or 13 ASCII digits whose last digit is the GS1 check digit of the others.
    /// - Throws: `DomainError(.invalidArgument)` saying what is wrong (non-digits, length, the check digit expected).
    public static func validate(_ code: String) throws(DomainError) {
        guard !code.isEmpty, code.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw DomainError(.invalidArgument, "barcode \"\(code.prefix(40))\" is not digits only: an EAN-13 or UPC-A is 13 or 12 digits with a check digit")
        }
        guard code.utf8.count == 12 || code.utf8.count == 13 else {
            throw DomainError(.invalidArgument, "barcode \(code.prefix(40)) has \(code.utf8.count) digits: an EAN-13 has 13 and a UPC-A 12, check digit included")
        }
        let digits = code.utf8.map { Int($0) - 48 }
        let expected = checkDigit(of: digits.dropLast())
        guard digits.last == expected else {
            throw DomainError(.invalidArgument, "barcode \(code) has a wrong check digit: \(digits.last ?? 0), expected \(expected)")
        }
    }

    /// The GS1 check digit of the digits before it: from the right, digits in odd positions count
    /// three times, even ones once; the check digit brings the sum to a multiple of ten.
    public static func checkDigit(of payload: some BidirectionalCollection<Int>) -> Int {
        var sum = 0
        for (position, digit) in payload.reversed().enumerated() { sum += position % 2 == 0 ? 3 * digit : digit }
        return (10 - sum % 10) % 10
    }

    /// The forms a code is stored under: a UPC-A is also the EAN-13 with a leading zero, and back.
    static func equivalents(_ code: String) -> [String] {
        if code.utf8.count == 12 { return [code, "0" + code] }
        if code.utf8.count == 13, code.hasPrefix("0") { return [code, String(code.dropFirst())] }
        return [code]
    }
}

extension Loader {
    static let productColumns = "id, names, sku, barcode, category, price_minor, tax_rate, cost_minor, low_stock_threshold, active, created_at"

    static func product(_ id: ProductID, in context: some QueryContext) throws -> Product {
        guard let row = try context.fetchOne("SELECT \(productColumns) FROM products WHERE id = ?", [.text(id.rawValue)]) else {
            throw DomainError(.notFound, "no product \(id)")
        }
        let branches = try context.fetchAll("SELECT branch_id, price_minor, low_stock_threshold FROM product_branches WHERE product_id = ?", [.text(id.rawValue)])
        return product(row, branches: branches)
    }

    /// A product from its row and its `product_branches` rows (−1 stands for none in both tables).
    static func product(_ row: Row, branches: [Row]) -> Product {
        var settings: [BranchID: ProductBranchSettings] = [:]
        for branch in branches {
            guard let id = BranchID(branch["branch_id"].string) else { continue }
            let price = branch["price_minor"].int64
            let threshold = branch["low_stock_threshold"].int
            guard price >= 0 || threshold >= 0 else { continue }
            settings[id] = ProductBranchSettings(priceMinor: price >= 0 ? price : nil, lowStockThreshold: threshold >= 0 ? threshold : nil)
        }
        let cost = row["cost_minor"].int64
        let threshold = row["low_stock_threshold"].int
        return Product(id: ProductID(trusted: row["id"].string), names: JSONColumn.decode([String: String].self, row["names"], default: [:]), sku: row["sku"].string,
                       barcode: row["barcode"].string, category: row["category"].string, priceMinor: row["price_minor"].int64, taxRate: row["tax_rate"].string,
                       costMinor: cost >= 0 ? cost : nil, lowStockThreshold: threshold >= 0 ? threshold : nil, active: row["active"].bool, branches: settings)
    }

    /// Every product (or those `matching` an SQL condition on `products`), with their branch settings, by id.
    static func products(where condition: String = "1", _ arguments: [SQLValue] = [], in context: some QueryContext) throws -> [ProductID: Product] {
        var branches: [String: [Row]] = [:]
        for row in try context.fetchAll("SELECT product_id, branch_id, price_minor, low_stock_threshold FROM product_branches", []) {
            branches[row["product_id"].string, default: []].append(row)
        }
        var products: [ProductID: Product] = [:]
        for row in try context.fetchAll("SELECT \(productColumns) FROM products WHERE \(condition)", arguments) {
            let product = product(row, branches: branches[row["id"].string] ?? [])
            products[product.id] = product
        }
        return products
    }
}

extension Shop {
    static let productLanguages: Set<String> = ["ru", "kk", "en"]

    // MARK: Products

    /// Creates or updates a product; its per-branch settings are saved with `saveProductBranch`.
    /// - Throws: `.invalidArgument` for a bad name, SKU, barcode (check digit), category, price, cost,
    ///   threshold or tax rate (`""`, `none` or a rate id of some branch's money settings).
    package func saveProduct(_ product: Product) throws -> Product {
        var names: [String: String] = [:]
        for (language, name) in product.names {
            guard Self.productLanguages.contains(language) else { throw DomainError(.invalidArgument, "a product's names are in ru, kk or en, not \"\(language.prefix(10))\"") }
            let text = name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { continue }
            guard text.count <= 200 else { throw DomainError(.invalidArgument, "a product's \(language) name is longer than 200 characters") }
            names[language] = text
        }
        guard !names.isEmpty else { throw DomainError(.invalidArgument, "a product needs a name (ru, kk or en) of 1 to 200 characters") }
        let sku = product.sku.trimmingCharacters(in: .whitespacesAndNewlines)
        guard sku.count <= 64 else { throw DomainError(.invalidArgument, "a SKU has at most 64 characters") }
        let barcode = product.barcode.trimmingCharacters(in: .whitespacesAndNewlines)
        if !barcode.isEmpty { try Barcode.validate(barcode) }
        let category = product.category.trimmingCharacters(in: .whitespacesAndNewlines)
        guard category.count <= 100 else { throw DomainError(.invalidArgument, "a category has at most 100 characters") }
        guard (0...1_000_000_000_00).contains(product.priceMinor) else { throw DomainError(.invalidArgument, "a product's price is 0 to 1000000000.00") }
        if let cost = product.costMinor, !(0...1_000_000_000_00).contains(cost) { throw DomainError(.invalidArgument, "a product's cost is 0 to 1000000000.00") }
        if let threshold = product.lowStockThreshold, !(0...1_000_000).contains(threshold) {
            throw DomainError(.invalidArgument, "a low-stock threshold is 0 to 1000000")
        }
        return try write(.productSave) { transaction in
            if !product.taxRate.isEmpty, product.taxRate != "none" {
                let known = try transaction.fetchAll("SELECT tax_rates FROM money_settings", [])
                    .flatMap { JSONColumn.decode([TaxRate].self, $0["tax_rates"], default: []) }.map(\.id)
                guard known.contains(product.taxRate) else {
                    throw DomainError(.invalidArgument, "no branch has a tax rate \"\(product.taxRate.prefix(40))\" (use \"\" for the branch's default or \"none\")")
                }
            }
            var values: [String: SQLValue] = [
                "names": .text(JSONColumn.encode(names)), "sku": .text(sku), "barcode": .text(barcode), "category": .text(category),
                "price_minor": .integer(product.priceMinor), "tax_rate": .text(product.taxRate), "cost_minor": .integer(product.costMinor ?? -1),
                "low_stock_threshold": .int(product.lowStockThreshold ?? -1), "active": .bool(product.active),
            ]
            if try transaction.fetchOne("SELECT 1 AS one FROM products WHERE id = ?", [.text(product.id.rawValue)]) == nil { values["created_at"] = .instant(now) }
            try transaction.upsert("products", id: product.id.rawValue, values)
            return try Loader.product(product.id, in: transaction)
        }
    }

    /// Sets (or, with nil fields, clears) a product's price and low-stock threshold at one branch.
    package func saveProductBranch(_ settings: ProductBranchSettings, product: ProductID, branch: BranchID) throws -> Product {
        if let price = settings.priceMinor, !(0...1_000_000_000_00).contains(price) { throw DomainError(.invalidArgument, "a product's price is 0 to 1000000000.00") }
        if let threshold = settings.lowStockThreshold, !(0...1_000_000).contains(threshold) {
            throw DomainError(.invalidArgument, "a low-stock threshold is 0 to 1000000")
        }
        return try write(.productBranchSave) { transaction in
            _ = try Loader.product(product, in: transaction)
            _ = try Loader.branch(branch, in: transaction)
            try transaction.upsert("product_branches", id: derivedKey("product-branch", product.rawValue, branch.rawValue), [
                "product_id": .text(product.rawValue), "branch_id": .text(branch.rawValue),
                "price_minor": .integer(settings.priceMinor ?? -1), "low_stock_threshold": .int(settings.lowStockThreshold ?? -1),
            ])
            return try Loader.product(product, in: transaction)
        }
    }

    package func product(_ id: ProductID) throws -> Product { try read { try Loader.product(id, in: $0) } }

    /// The product a scanner read: the barcode is validated first; of several products with it (a
    /// merge can make two), the active one created first. A UPC-A also finds its EAN-13 form
    /// (a leading zero) and back.
    /// - Throws: `.invalidArgument` for a malformed barcode (check digit), `.notFound` when no active product has it.
    package func product(barcode: String) throws -> Product {
        let code = barcode.trimmingCharacters(in: .whitespacesAndNewlines)
        try Barcode.validate(code)
        let forms = Barcode.equivalents(code)
        return try read { transaction in
            guard let row = try transaction.fetchOne("""
                SELECT id FROM products WHERE barcode IN (\(forms.map { _ in "?" }.joined(separator: ", "))) AND active = 1 ORDER BY created_at, id LIMIT 1
                """, forms.map { .text($0) }) else { throw DomainError(.notFound, "no product has barcode \(code)") }
            return try Loader.product(ProductID(trusted: row["id"].string), in: transaction)
        }
    }

    /// Products whose name (any language), SKU or barcode contains `query` (case- and
    /// diacritic-insensitive; empty: all), in `category` (empty: any), by name then id.
    package func products(query: String, category: String, includeInactive: Bool, limit: Int) throws -> [Product] {
        guard (1...5000).contains(limit) else { throw DomainError(.invalidArgument, "limit must be 1…5000") }
        let needle = DerivedState.fold(query.trimmingCharacters(in: .whitespacesAndNewlines))
        let wanted = category.trimmingCharacters(in: .whitespacesAndNewlines)
        let found = try read { transaction in
            try Loader.products(where: "(active = 1 OR ?) AND (? = '' OR category = ?)", [.bool(includeInactive), .text(wanted), .text(wanted)], in: transaction)
        }
        return found.values.filter { product in
            needle.isEmpty || product.names.values.contains { DerivedState.fold($0).contains(needle) }
                || DerivedState.fold(product.sku).contains(needle) || product.barcode.contains(needle)
        }
        .map { (key: DerivedState.fold($0.name(in: "en")), product: $0) }
        .sorted { ($0.key, $0.product.id) < ($1.key, $1.product.id) }
        .prefix(limit).map(\.product)
    }
}
