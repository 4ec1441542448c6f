import Domain
import Foundation

extension RetailHandlers {
    /// Products, stock, coupons, loyalty, gift cards and escrow (docs/retail.md). The retail parts of
    /// checkout, payments and returns are with the money endpoints (`Money.swift`).
    static let endpoints: [Endpoint] = [
        Endpoint(.get, "/v1/products", .retailRead, query: ["q", "barcode", "category", "include_inactive", "branch"],
                 answers: [200: .json("ProductPage")], RetailHandlers.listProducts),
        Endpoint(.post, "/v1/products", .productsManage, body: .json("ProductInput"), answers: [201: .json("Product")], RetailHandlers.createProduct),
        Endpoint(.get, "/v1/products/{id}", .retailRead, query: ["branch"], answers: [200: .json("Product")], RetailHandlers.getProduct),
        Endpoint(.patch, "/v1/products/{id}", .productsManage, body: .json("ProductPatch"), answers: [200: .json("Product")], RetailHandlers.patchProduct),
        Endpoint(.put, "/v1/products/{id}/branches/{branch}", .productsManage, body: .json("ProductBranchInput"), answers: [200: .json("Product")],
                 RetailHandlers.saveProductBranch),
        Endpoint(.get, "/v1/stock", .retailRead, query: ["branch"], answers: [200: .json("StockLevelPage")], RetailHandlers.levels),
        Endpoint(.get, "/v1/stock/low", .retailRead, query: ["branch"], answers: [200: .json("StockLevelPage")], RetailHandlers.lowStock),
        Endpoint(.get, "/v1/stock/movements", .retailRead, query: ["branch", "product", "limit"], answers: [200: .json("StockMovementPage")],
                 RetailHandlers.movements),
        Endpoint(.get, "/v1/stock/flags", .retailRead, query: ["branch"], answers: [200: .json("StockFlagPage")], RetailHandlers.stockFlags),
        Endpoint(.post, "/v1/stock/receipts", .stockManage, body: .json("StockReceiptInput"), answers: [201: .json("StockMovementPage")],
                 RetailHandlers.receive),
        Endpoint(.post, "/v1/stock/adjustments", .stockManage, body: .json("StockAdjustmentInput"), answers: [201: .json("StockMovement")],
                 RetailHandlers.adjust),
        Endpoint(.get, "/v1/stock/transfers", .retailRead, query: ["branch", "state"], answers: [200: .json("StockTransferPage")], RetailHandlers.transfers),
        Endpoint(.post, "/v1/stock/transfers", .stockManage, body: .json("StockTransferInput"), answers: [201: .json("StockTransfer")],
                 RetailHandlers.sendTransfer),
        Endpoint(.get, "/v1/stock/transfers/{id}", .retailRead, answers: [200: .json("StockTransfer")], RetailHandlers.getTransfer),
        Endpoint(.post, "/v1/stock/transfers/{id}/receive", .stockManage, body: .optionalJSON("EmptyInput"), answers: [200: .json("StockTransfer")],
                 RetailHandlers.receiveTransfer),
        Endpoint(.get, "/v1/stocktakes", .retailRead, query: ["branch"], answers: [200: .json("StocktakePage")], RetailHandlers.stocktakes),
        Endpoint(.post, "/v1/stocktakes", .stockManage, body: .json("StocktakeInput"), answers: [201: .json("Stocktake")], RetailHandlers.stocktake),
        Endpoint(.get, "/v1/coupons", .loyaltyManage, answers: [200: .json("CouponPage")], RetailHandlers.listCoupons),
        Endpoint(.post, "/v1/coupons", .loyaltyManage, body: .json("CouponInput"), answers: [201: .json("Coupon")], RetailHandlers.createCoupon),
        Endpoint(.get, "/v1/coupons/{id}", .loyaltyManage, answers: [200: .json("Coupon")], RetailHandlers.getCoupon),
        Endpoint(.patch, "/v1/coupons/{id}", .loyaltyManage, body: .json("CouponPatch"), answers: [200: .json("Coupon")], RetailHandlers.patchCoupon),
        Endpoint(.get, "/v1/loyalty/rules", .moneyRead, answers: [200: .json("LoyaltyRules")], RetailHandlers.loyaltyRules),
        Endpoint(.put, "/v1/loyalty/rules", .loyaltyManage, body: .json("LoyaltyRulesInput"), answers: [200: .json("LoyaltyRules")],
                 RetailHandlers.saveLoyaltyRules),
        Endpoint(.get, "/v1/clients/{id}/loyalty", .moneyRead, answers: [200: .json("ClientLoyalty")], RetailHandlers.clientLoyalty),
        Endpoint(.get, "/v1/gift-cards", .moneyRead, query: ["code", "client"], answers: [200: .json("GiftCardPage")], RetailHandlers.giftCards),
        Endpoint(.get, "/v1/gift-cards/{id}", .moneyRead, answers: [200: .json("GiftCard")], RetailHandlers.getGiftCard),
        Endpoint(.get, "/v1/escrow/balance", .moneyRead, query: [.required("account")], answers: [200: .json("EscrowBalance")], RetailHandlers.balance),
        Endpoint(.post, "/v1/escrow/moves", .moneyTake, body: .json("EscrowMoveInput"), answers: [201: .json("EscrowRequest")], RetailHandlers.move),
        Endpoint(.get, "/v1/escrow/requests", .loyaltyManage, query: ["open"], answers: [200: .json("EscrowRequestPage")], RetailHandlers.requests),
        Endpoint(.get, "/v1/retail/flags", .moneyReports, answers: [200: .json("RetailFlagPage")], RetailHandlers.flags),
    ]
}

/// GS1 check digits of EAN-13 and UPC-A barcodes (docs/retail.md, "Products").
enum Barcode {
    /// Why `text` is not a barcode a product may carry, or nil when it is one (empty is allowed).
    static func problem(_ text: String) -> String? {
        if text.isEmpty { return nil }
        guard text.count == 12 || text.count == 13, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return "must be an EAN-13 (13 digits) or UPC-A (12 digits) barcode"
        }
        let digits = text.compactMap { $0.wholeNumberValue }
        // From the right, the check digit (position 1) counts once, position 2 three times, and so on.
        let sum = digits.reversed().enumerated().reduce(0) { $0 + $1.element * ($1.offset % 2 == 1 ? 3 : 1) }
        guard sum % 10 == 0 else {
            let data = digits.dropLast().reversed().enumerated().reduce(0) { $0 + $1.element * ($1.offset % 2 == 0 ? 3 : 1) }
            return "has a wrong check digit (\(digits.last ?? 0); the digits before it need \((10 - data % 10) % 10))"
        }
        return nil
    }
}

enum RetailHandlers {
    static let languages: Set<String> = ["ru", "kk", "en"]

    // MARK: Bodies

    struct ProductBranchBody: Encodable {
        var branch: String
        var priceMinor: Int64?
        var lowStockThreshold: Int?
    }

    struct LevelBody: Encodable {
        var product: String
        var name: String?
        var branch: String
        var quantity: Int
        var inTransitIn: Int
        var inTransitOut: Int
        var threshold: Int?
        var low: Bool

        init(_ level: StockLevel, name: String?) {
            product = level.productID.rawValue
            self.name = name
            branch = level.branchID.rawValue
            quantity = level.quantity
            inTransitIn = level.inTransitIn
            inTransitOut = level.inTransitOut
            threshold = level.threshold
            low = level.low
        }
    }

    struct ProductBody: Encodable {
        var id: String
        var names: [String: String]
        var name: String
        var sku: String
        var barcode: String
        var category: String
        /// The price: at `branch` when the request names one, else the business's.
        var priceMinor: Int64
        /// The business's price (branches may override it).
        var businessPriceMinor: Int64
        var taxRate: String
        var costMinor: Int64?
        var lowStockThreshold: Int?
        var active: Bool
        var branches: [ProductBranchBody]
        /// With `branch`: the branch and the stock there (`price_minor` is the price there).
        var branch: String?
        var stock: LevelBody?
        /// In a barcode lookup: other products with the same barcode (after a merge).
        var duplicates: [String]?

        init(_ product: Product, language: String) {
            id = product.id.rawValue
            names = product.names
            name = product.name(in: language)
            sku = product.sku
            barcode = product.barcode
            category = product.category
            priceMinor = product.priceMinor
            businessPriceMinor = product.priceMinor
            taxRate = product.taxRate
            costMinor = product.costMinor
            lowStockThreshold = product.lowStockThreshold
            active = product.active
            branches = product.branches.sorted { $0.key.rawValue < $1.key.rawValue }.map {
                ProductBranchBody(branch: $0.key.rawValue, priceMinor: $0.value.priceMinor, lowStockThreshold: $0.value.lowStockThreshold)
            }
        }
    }

    struct MovementBody: Encodable {
        var id: String
        var product: String
        var branch: String
        var kind: String
        var quantity: Int
        var reason: String
        var supplier: String
        var unitCostMinor: Int64?
        var sale: String?
        var appointment: String?
        var transfer: String?
        var stocktake: String?
        var override: Bool
        var note: String
        var box: String
        var at: String
        var by: String

        init(_ movement: StockMovement, zones: Zones) {
            id = movement.id.rawValue
            product = movement.productID.rawValue
            branch = movement.branchID.rawValue
            kind = movement.kind.rawValue
            quantity = movement.quantity
            reason = movement.reason.rawValue
            supplier = movement.supplier
            unitCostMinor = movement.unitCostMinor
            sale = movement.saleID?.rawValue
            appointment = movement.appointmentID?.rawValue
            transfer = movement.transferID?.rawValue
            stocktake = movement.stocktakeID?.rawValue
            override = movement.override
            note = movement.note
            box = movement.site
            at = zones.format(movement.at, branch: movement.branchID)
            by = movement.by
        }
    }

    struct QuantityBody: Encodable {
        var product: String
        var quantity: Int
        var unitCostMinor: Int64?
        init(_ line: ProductQuantity) { product = line.productID.rawValue; quantity = line.quantity; unitCostMinor = line.unitCostMinor }
    }

    struct TransferBody: Encodable {
        var id: String
        var fromBranch: String
        var toBranch: String
        var lines: [QuantityBody]
        var note: String
        var state: String
        var createdAt: String
        var createdBy: String
        var receivedAt: String?
        var receivedBy: String

        init(_ transfer: StockTransfer, zones: Zones) {
            id = transfer.id.rawValue
            fromBranch = transfer.fromBranch.rawValue
            toBranch = transfer.toBranch.rawValue
            lines = transfer.lines.map(QuantityBody.init)
            note = transfer.note
            state = transfer.state.rawValue
            createdAt = zones.format(transfer.createdAt, branch: transfer.fromBranch)
            createdBy = transfer.createdBy
            receivedAt = zones.format(optional: transfer.receivedAt, branch: transfer.toBranch)
            receivedBy = transfer.receivedBy
        }
    }

    struct StocktakeBody: Encodable {
        struct Count: Encodable {
            var product: String
            var counted: Int
            var expected: Int
            var difference: Int
        }
        var id: String
        var branch: String
        var counts: [Count]
        var note: String
        var at: String
        var by: String

        init(_ stocktake: Stocktake, zones: Zones) {
            id = stocktake.id.rawValue
            branch = stocktake.branchID.rawValue
            counts = stocktake.counts.map { Count(product: $0.productID.rawValue, counted: $0.counted, expected: $0.expected, difference: $0.difference) }
            note = stocktake.note
            at = zones.format(stocktake.at, branch: stocktake.branchID)
            by = stocktake.by
        }
    }

    struct StockFlagBody: Encodable {
        var id: String
        var product: String
        var branch: String
        var quantity: Int
        var overrides: [String]
        var fromMerge: Bool
        init(_ flag: StockFlag) {
            id = flag.id
            product = flag.productID.rawValue
            branch = flag.branchID.rawValue
            quantity = flag.quantity
            overrides = flag.overrides.map(\.rawValue)
            fromMerge = flag.fromMerge
        }
    }

    struct RequestBody: Encodable {
        var id: String
        var account: String
        var from: String
        var to: String
        var amount: Int64
        var reason: String
        var state: String
        var movedAmount: Int64
        var at: String
        var by: String
        init(_ request: EscrowRequest, zones: Zones) {
            id = request.id.rawValue
            account = request.account.description
            from = request.fromSite
            to = request.toSite
            amount = request.amount
            reason = request.reason
            state = request.state.rawValue
            movedAmount = request.movedAmount
            at = zones.format(request.at, branch: nil)
            by = request.by
        }
    }

    struct BalanceBody: Encodable {
        var account: String
        var here: Int64
        var elsewhere: [ElsewhereBody]
        var total: Int64
        var openRequests: [RequestBody]
        init(_ balance: EscrowBalance, zones: Zones) {
            account = balance.account.description
            here = balance.here
            elsewhere = balance.elsewhere.map(ElsewhereBody.init)
            total = balance.total
            openRequests = balance.openRequests.map { RequestBody($0, zones: zones) }
        }
    }

    struct EntryBody: Encodable {
        var id: String
        var account: String
        var kind: String
        /// The box (site id) whose allotment it is.
        var holder: String
        var amount: Int64
        var counterpart: String
        var request: String?
        var reverses: String
        var sale: String?
        var payment: String?
        var client: String?
        var note: String
        var at: String
        var by: String
        init(_ entry: EscrowEntry, zones: Zones) {
            id = entry.id.rawValue
            account = entry.account.description
            kind = entry.kind.rawValue
            holder = entry.holder
            amount = entry.amount
            counterpart = entry.counterpart
            request = entry.requestID?.rawValue
            reverses = entry.reverses
            sale = entry.saleID?.rawValue
            payment = entry.paymentID?.rawValue
            client = entry.clientID?.rawValue
            note = entry.note
            at = zones.format(entry.at, branch: nil)
            by = entry.by
        }
    }

    struct GiftCardBody: Encodable {
        var id: String
        /// In full for callers with `money.take`, else `•••• •••• •••• WXYZ`.
        var code: String
        var initialMinor: Int64
        var currency: String
        var expiresAt: String?
        var sale: String?
        var branch: String
        var client: String?
        var state: String
        var balance: BalanceBody
        var createdAt: String
        var createdBy: String

        init(_ card: GiftCard, zones: Zones, fullCode: Bool) {
            id = card.id.rawValue
            let grouped = stride(from: 0, to: card.code.count, by: 4).map { start -> String in
                let from = card.code.index(card.code.startIndex, offsetBy: start)
                return String(card.code[from..<card.code.index(from, offsetBy: min(4, card.code.count - start))])
            }
            code = fullCode ? grouped.joined(separator: " ") : grouped.enumerated().map { $0.offset == grouped.count - 1 ? $0.element : "••••" }.joined(separator: " ")
            initialMinor = card.initialMinor
            currency = card.currency
            expiresAt = zones.format(optional: card.expiresAt, branch: card.branchID)
            sale = card.saleID?.rawValue
            branch = card.branchID.rawValue
            client = card.clientID?.rawValue
            state = card.state.rawValue
            balance = BalanceBody(card.balance, zones: zones)
            createdAt = zones.format(card.createdAt, branch: card.branchID)
            createdBy = card.createdBy
        }
    }

    struct CouponBody: Encodable {
        var id: String
        var code: String
        var name: String
        var kind: String
        /// The percent or the amount in minor units (as `percent` or `amount_minor`).
        var value: Int64
        var percent: Int64?
        var amountMinor: Int64?
        var currency: String
        var services: [String]
        var products: [String]
        var categories: [String]
        var validFrom: String?
        var validUntil: String?
        var minSpendMinor: Int64
        var perClientLimit: Int
        var totalLimit: Int64
        var active: Bool
        var usesKnown: Int64
        /// What each box holds (with a total limit).
        var balance: BalanceBody?
        var createdAt: String
        var createdBy: String

        init(_ coupon: Coupon, balance: EscrowBalance?, zones: Zones) {
            id = coupon.id.rawValue
            code = coupon.code
            name = coupon.name
            kind = coupon.kind.rawValue
            value = coupon.value
            percent = coupon.kind == .percent ? coupon.value : nil
            amountMinor = coupon.kind == .amount ? coupon.value : nil
            currency = coupon.currency
            services = coupon.services.map(\.rawValue)
            products = coupon.products.map(\.rawValue)
            categories = coupon.categories
            validFrom = zones.format(optional: coupon.validFrom, branch: nil)
            validUntil = zones.format(optional: coupon.validUntil, branch: nil)
            minSpendMinor = coupon.minSpendMinor
            perClientLimit = coupon.perClientLimit
            totalLimit = coupon.totalLimit
            active = coupon.active
            usesKnown = coupon.usesKnown
            self.balance = balance.map { BalanceBody($0, zones: zones) }
            createdAt = zones.format(coupon.createdAt, branch: nil)
            createdBy = coupon.createdBy
        }
    }

    struct RulesBody: Encodable {
        struct Bonus: Encodable {
            var service: String
            var points: Int64
        }
        var enabled: Bool
        var earnPoints: Int64
        var earnPerMinor: Int64
        var visitPoints: Int64
        var serviceBonus: [Bonus]
        var pointValueMinor: Int64
        var expiryDays: Int
        var maxRedeemPercent: Int
        init(_ rules: LoyaltyRules) {
            enabled = rules.enabled
            earnPoints = rules.earnPoints
            earnPerMinor = rules.earnPerMinor
            visitPoints = rules.visitPoints
            serviceBonus = rules.serviceBonus.sorted { $0.key.rawValue < $1.key.rawValue }.map { Bonus(service: $0.key.rawValue, points: $0.value) }
            pointValueMinor = rules.pointValueMinor
            expiryDays = rules.expiryDays
            maxRedeemPercent = rules.maxRedeemPercent
        }
    }

    struct LoyaltyBody: Encodable {
        var client: String
        var points: BalanceBody
        var pointsExpireAt: String?
        var pointValueMinor: Int64
        var ledger: [EntryBody]
        var giftCards: [GiftCardBody]
    }

    struct FlagBody: Encodable {
        var id: String
        var kind: String
        var account: String
        var detail: String
    }

    // MARK: Helpers

    static func fullCodes(_ call: Call) -> Bool { Permission.moneyTake.isGranted(to: call.role) }

    /// `names: {ru, kk, en}`: at least one, 1–200 characters each.
    static func names(_ body: BodyReader, required: Bool) -> [String: String]? {
        guard let names = body.stringMap("names", required: required, maxCount: 3, maxLength: 200) else { return nil }
        var valid = true
        for (language, name) in names {
            if !languages.contains(language) { body.errors.add(body.name("names.\(language)"), "is not a language of the shop (ru, kk, en)"); valid = false }
            else if name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { body.errors.add(body.name("names.\(language)"), "must not be empty"); valid = false }
        }
        if names.isEmpty { body.errors.add(body.name("names"), "needs a name in at least one language (ru, kk, en)"); valid = false }
        return valid ? names : nil
    }

    /// `lines: [{product, quantity}]` (with `unit_cost_minor` for receipts); quantities in `range`.
    static func quantities(_ body: BodyReader, _ key: String, quantityKey: String = "quantity", range: ClosedRange<Int> = 1...100_000,
                           costs: Bool = false) -> [ProductQuantity] {
        var lines: [ProductQuantity] = []
        guard let readers = body.objects(key, required: true, maxCount: 200) else { return [] }
        if readers.isEmpty { body.errors.add(body.name(key), "needs at least one line") }
        for reader in readers {
            let product = reader.id("product", required: true, as: ProductID.self)
            let quantity = reader.int(quantityKey, required: true, range: range)
            let cost = costs ? reader.integer("unit_cost_minor", range: 0...100_000_000_000) : nil
            reader.finish()
            if let product, let quantity { lines.append(ProductQuantity(productID: product, quantity: quantity, unitCostMinor: cost)) }
        }
        return lines
    }

    /// Reads a value that may be null (null clears it): `.some(nil)` for null, nil when absent.
    static func nullable<T>(_ body: BodyReader, _ key: String, _ read: (BodyReader, String) -> T?) -> T?? {
        guard body.has(key) else { return nil }
        if body.object[key] == .null { body.markSeen(key); return .some(nil) }
        guard let value = read(body, key) else { return nil }
        return .some(value)
    }

    static func productBody(_ product: Product, call: Call, branch: BranchID?) async throws -> ProductBody {
        var body = ProductBody(product, language: MoneyHandlers.language(call))
        if let branch {
            body.branch = branch.rawValue
            body.priceMinor = product.price(at: branch)
            let level = try await call.shop.retail.levels(branch: branch, products: [product.id]).first
                ?? StockLevel(productID: product.id, branchID: branch, quantity: 0, threshold: product.threshold(at: branch))
            body.stock = LevelBody(level, name: nil)
        }
        return body
    }

    /// A named branch must exist (404), else the box's home branch.
    static func existingBranch(_ call: Call, _ named: BranchID?) async throws -> BranchID {
        let branch = try call.branch(named)
        _ = try await call.shop.catalogue.branch(branch)
        return branch
    }

    static func levelBodies(_ levels: [StockLevel], call: Call) async throws -> [LevelBody] {
        let language = MoneyHandlers.language(call)
        var names: [ProductID: String] = [:]
        for product in try await call.shop.retail.products(includeInactive: true, limit: 5000) { names[product.id] = product.name(in: language) }
        return levels.map { LevelBody($0, name: names[$0.productID]) }
    }

    /// Turns `held_elsewhere` into the problem with the `elsewhere` list of `account` (as this box knows it).
    static func elsewhere<T>(_ call: Call, account: @escaping @Sendable () async throws -> EscrowAccount?, _ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as DomainError where error.code == .heldElsewhere {
            var problem = APIError(error, now: call.shop.now)
            if let account = try? await account(), let balance = try? await call.shop.retail.balance(account) {
                problem.elsewhere = balance.elsewhere.filter { $0.amount > 0 }.map(ElsewhereBody.init)
            } else {
                problem.elsewhere = []
            }
            throw problem
        }
    }

    // MARK: Products

    static func listProducts(_ call: Call) async throws -> Reply {
        let query = call.query()
        let text = query.string("q", maxLength: 200) ?? ""
        let barcode = query.string("barcode", maxLength: 32)
        let category = query.string("category", maxLength: 100) ?? ""
        let inactive = query.bool("include_inactive") ?? false
        let branch = query.id("branch", as: BranchID.self)
        try query.validate()
        if let barcode, let problem = Barcode.problem(barcode) {
            throw APIError.invalidParameters([FieldError(field: "barcode", message: problem)])
        }
        var branchID: BranchID?
        if let branch { branchID = try await existingBranch(call, branch) }
        var found: [Product]
        var duplicates: [String]?
        if let barcode, !barcode.isEmpty {
            let same = try await call.shop.retail.products(query: barcode, includeInactive: true).filter { $0.barcode == barcode }
            do {
                let first = try await call.shop.retail.product(barcode: barcode)
                found = [first]
                duplicates = same.filter { $0.id != first.id }.map(\.id.rawValue)
            } catch let error as DomainError where error.code == .notFound {
                found = []
            }
        } else {
            found = try await call.shop.retail.products(query: text, category: category, includeInactive: inactive)
        }
        var items: [ProductBody] = []
        for product in found {
            var body = try await productBody(product, call: call, branch: branchID)
            body.duplicates = duplicates
            items.append(body)
        }
        return .json(Page(items: items, nextCursor: nil))
    }

    static func getProduct(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ProductID.self)
        let query = call.query()
        let branch = query.id("branch", as: BranchID.self)
        try query.validate()
        let product = try await call.shop.retail.product(id)
        var branchID: BranchID?
        if let branch { branchID = try await existingBranch(call, branch) }
        return .json(try await productBody(product, call: call, branch: branchID))
    }

    /// The fields of a product a body may set (all for a new one); nil fields are left as they are.
    static func readProduct(_ body: BodyReader, into product: inout Product, creating: Bool) {
        if let names = names(body, required: creating) { product.names = names }
        if let sku = body.string("sku", maxLength: 64) { product.sku = sku.trimmingCharacters(in: .whitespaces) }
        if let barcode = body.string("barcode", maxLength: 32) {
            if let problem = Barcode.problem(barcode) { body.reject("barcode", problem) } else { product.barcode = barcode }
        }
        if let category = body.string("category", maxLength: 100) { product.category = category.trimmingCharacters(in: .whitespaces) }
        if let price = body.integer("price_minor", required: creating, range: 0...100_000_000_000) { product.priceMinor = price }
        if let rate = body.string("tax_rate", maxLength: 32) { product.taxRate = rate }
        if let cost = nullable(body, "cost_minor", { $0.integer($1, range: 0...100_000_000_000) }) { product.costMinor = cost }
        if let threshold = nullable(body, "low_stock_threshold", { $0.int($1, range: 0...1_000_000) }) { product.lowStockThreshold = threshold }
        if let active = body.bool("active") { product.active = active }
    }

    static func createProduct(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        var product = Product(id: .generate(at: call.shop.now), names: [:], priceMinor: 0)
        readProduct(body, into: &product, creating: true)
        try body.validate()
        let saved = try await call.shop.retail.save(product, as: call.acting)
        return .json(try await productBody(saved, call: call, branch: nil), status: 201, location: "/v1/products/\(saved.id)")
    }

    static func patchProduct(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ProductID.self)
        let body = try call.bodyReader()
        var product = try await call.shop.retail.product(id)
        readProduct(body, into: &product, creating: false)
        try body.validate()
        let saved = try await call.shop.retail.save(product, as: call.acting)
        return .json(try await productBody(saved, call: call, branch: nil))
    }

    static func saveProductBranch(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ProductID.self)
        let branch = try call.id("branch", as: BranchID.self)
        let body = try call.bodyReader()
        let price = nullable(body, "price_minor", { $0.integer($1, range: 0...100_000_000_000) }) ?? nil
        let threshold = nullable(body, "low_stock_threshold", { $0.int($1, range: 0...1_000_000) }) ?? nil
        try body.validate()
        _ = try await existingBranch(call, branch)
        let saved = try await call.shop.retail.saveBranchSettings(ProductBranchSettings(priceMinor: price, lowStockThreshold: threshold), product: id,
                                                                  branch: branch, as: call.acting)
        return .json(try await productBody(saved, call: call, branch: branch))
    }

    // MARK: Stock

    static func levels(_ call: Call) async throws -> Reply {
        let query = call.query()
        let branch = query.id("branch", as: BranchID.self)
        try query.validate()
        let branchID = try await existingBranch(call, branch)
        return .json(Page(items: try await levelBodies(try await call.shop.retail.levels(branch: branchID), call: call), nextCursor: nil))
    }

    static func lowStock(_ call: Call) async throws -> Reply {
        let query = call.query()
        let branch = query.id("branch", as: BranchID.self)
        try query.validate()
        let branchID = try await existingBranch(call, branch)
        return .json(Page(items: try await levelBodies(try await call.shop.retail.lowStock(branch: branchID), call: call), nextCursor: nil))
    }

    static func movements(_ call: Call) async throws -> Reply {
        let query = call.query()
        let branch = query.id("branch", as: BranchID.self)
        let product = query.id("product", as: ProductID.self)
        let limit = query.int("limit", range: 1...1000) ?? 200
        try query.validate()
        let branchID = try await existingBranch(call, branch)
        let found = try await call.shop.retail.movements(branch: branchID, product: product, limit: limit)
        return .json(Page(items: found.map { MovementBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func stockFlags(_ call: Call) async throws -> Reply {
        let query = call.query()
        let branch = query.id("branch", as: BranchID.self)
        try query.validate()
        if let branch { _ = try await existingBranch(call, branch) }
        return .json(Page(items: try await call.shop.retail.stockFlags(branch: branch).map(StockFlagBody.init), nextCursor: nil))
    }

    static func receive(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let branch = body.id("branch", as: BranchID.self)
        let supplier = body.string("supplier", maxLength: 200) ?? ""
        let lines = quantities(body, "lines", costs: true)
        let note = body.string("note", maxLength: 1000, multiline: true) ?? ""
        try body.validate()
        let branchID = try await existingBranch(call, branch)
        let written = try await call.shop.retail.receive(branch: branchID, supplier: supplier, lines: lines, note: note, as: call.acting)
        return .json(Page(items: written.map { MovementBody($0, zones: call.zones) }, nextCursor: nil), status: 201)
    }

    static let adjustmentReasons: [StockMovement.Reason] = [.damaged, .expired, .usedInService, .other]

    static func adjust(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let branch = body.id("branch", as: BranchID.self)
        let product = body.id("product", required: true, as: ProductID.self)
        let quantity = body.int("quantity", required: true, range: -100_000...100_000)
        let reason = body.enumeration("reason", required: true, as: StockMovement.Reason.self, allowed: adjustmentReasons)
        let note = body.string("note", maxLength: 1000, multiline: true) ?? ""
        let appointment = body.id("appointment", as: AppointmentID.self)
        if quantity == 0 { body.reject("quantity", "must not be 0 (negative takes stock away, positive adds)") }
        if appointment != nil, let reason, reason != .usedInService { body.reject("appointment", "is only for reason used_in_service") }
        let rights = try await MoneyHandlers.rights(call, body)
        try body.validate()
        guard let product, let quantity, let reason else { throw APIError.validation([]) }
        let branchID = try await existingBranch(call, branch)
        let movement = try await call.shop.retail.adjust(branch: branchID, product: product, quantity: quantity, reason: reason, note: note,
                                                         appointment: appointment, rights: rights, as: call.acting)
        return .json(MovementBody(movement, zones: call.zones), status: 201)
    }

    static func transfers(_ call: Call) async throws -> Reply {
        let query = call.query()
        let branch = query.id("branch", as: BranchID.self)
        let state = query.string("state", maxLength: 16)
        try query.validate()
        if let state, state != "in_transit" { throw APIError.invalidParameters([FieldError(field: "state", message: "must be in_transit")]) }
        let branchID = try await existingBranch(call, branch)
        let found = try await call.shop.retail.transfers(branch: branchID, inTransitOnly: state == "in_transit")
        return .json(Page(items: found.map { TransferBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func sendTransfer(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let from = body.id("from_branch", as: BranchID.self)
        let to = body.id("to_branch", required: true, as: BranchID.self)
        let lines = quantities(body, "lines")
        let note = body.string("note", maxLength: 1000, multiline: true) ?? ""
        let override = body.bool("stock_override") ?? false
        let rights = try await MoneyHandlers.rights(call, body)
        try body.validate()
        guard let to else { throw APIError.validation([]) }
        let fromID = try await existingBranch(call, from)
        if fromID == to { throw APIError.validation([FieldError(field: "to_branch", message: "must be another branch than from_branch")]) }
        _ = try await existingBranch(call, to)
        let transfer = try await call.shop.retail.transfer(from: fromID, to: to, lines: lines, note: note, override: override, rights: rights, as: call.acting)
        return .json(TransferBody(transfer, zones: call.zones), status: 201, location: "/v1/stock/transfers/\(transfer.id)")
    }

    static func getTransfer(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: TransferID.self)
        return .json(TransferBody(try await call.shop.retail.transfer(id), zones: call.zones))
    }

    static func receiveTransfer(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: TransferID.self)
        if !call.body.isEmpty { try call.bodyReader().validate() }
        return .json(TransferBody(try await call.shop.retail.receiveTransfer(id, as: call.acting), zones: call.zones))
    }

    static func stocktakes(_ call: Call) async throws -> Reply {
        let query = call.query()
        let branch = query.id("branch", as: BranchID.self)
        try query.validate()
        let branchID = try await existingBranch(call, branch)
        return .json(Page(items: try await call.shop.retail.stocktakes(branch: branchID).map { StocktakeBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func stocktake(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let branch = body.id("branch", as: BranchID.self)
        let counts = quantities(body, "counts", quantityKey: "counted", range: 0...1_000_000)
        let note = body.string("note", maxLength: 1000, multiline: true) ?? ""
        var seen = Set<ProductID>()
        for (index, count) in counts.enumerated() where !seen.insert(count.productID).inserted {
            body.reject("counts[\(index)].product", "is counted twice")
        }
        try body.validate()
        let branchID = try await existingBranch(call, branch)
        let taken = try await call.shop.retail.stocktake(branch: branchID, counts: counts, note: note, as: call.acting)
        return .json(StocktakeBody(taken, zones: call.zones), status: 201)
    }

    // MARK: Coupons

    static func couponBody(_ coupon: Coupon, call: Call) async throws -> CouponBody {
        let balance = coupon.totalLimit > 0 ? try await call.shop.retail.balance(.coupon(coupon.id)) : nil
        return CouponBody(coupon, balance: balance, zones: call.zones)
    }

    /// The currency of an amount coupon that names none: the home branch's (else the first branch's).
    static func homeCurrency(_ call: Call) async throws -> String {
        if let home = call.shop.homeBranch, let branch = try? await call.shop.catalogue.branch(home) { return branch.currency }
        return try await call.shop.catalogue.branches().first?.currency ?? ""
    }

    static func listCoupons(_ call: Call) async throws -> Reply {
        var items: [CouponBody] = []
        for coupon in try await call.shop.retail.coupons() { items.append(try await couponBody(coupon, call: call)) }
        return .json(Page(items: items, nextCursor: nil))
    }

    static func getCoupon(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: CouponID.self)
        return .json(try await couponBody(try await call.shop.retail.coupon(id), call: call))
    }

    /// The coupon fields a body may set (code, name and a value are required for a new one).
    static func readCoupon(_ body: BodyReader, into coupon: inout Coupon, creating: Bool, currency home: String) {
        if let code = body.string("code", required: creating, maxLength: 32) {
            let upper = code.uppercased()
            if (3...32).contains(upper.count), upper.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" }) { coupon.code = upper }
            else { body.reject("code", "must be 3–32 of A–Z, 0–9 and -") }
        }
        if let name = body.string("name", required: creating, maxLength: 200, allowEmpty: false) { coupon.name = name }
        // `percent` or `amount_minor`; or `kind` with `value`.
        var percent = body.integer("percent", range: 1...100)
        var amount = body.integer("amount_minor", range: 1...100_000_000_000)
        let kind = body.enumeration("kind", as: Coupon.Kind.self, allowed: [.percent, .amount])
        let value = body.integer("value", range: 1...100_000_000_000)
        let currency = body.string("currency", maxLength: 3)
        if kind != nil || value != nil {
            if percent != nil || amount != nil { body.reject("kind", "give percent or amount_minor, or kind with value, not both") }
            else if let kind, let value {
                if kind == .percent, value > 100 { body.reject("value", "must be between 1 and 100 for a percent coupon") } else if kind == .percent { percent = value } else { amount = value }
            } else { body.reject(kind == nil ? "kind" : "value", "is required with \(kind == nil ? "value" : "kind")") }
        }
        if percent != nil, amount != nil { body.reject("percent", "give either percent or amount_minor") }
        else if let percent { coupon.kind = .percent; coupon.value = percent; coupon.currency = "" }
        else if let amount {
            coupon.kind = .amount
            coupon.value = amount
            if let currency, !currency.isEmpty {
                if currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLetter }) { coupon.currency = currency.uppercased() }
                else { body.reject("currency", "must be an ISO 4217 code, e.g. KZT") }
            } else if coupon.currency.isEmpty {
                coupon.currency = home
            }
        } else if creating, !body.has("percent"), !body.has("amount_minor"), !body.has("kind") {
            body.reject("percent", "give either percent or amount_minor")
        }
        if let services = body.strings("services", maxCount: 100, maxLength: 64) {
            coupon.services = services.enumerated().compactMap { index, raw in
                guard let id = OfferingID(raw) else { body.reject("services[\(index)]", "is not a UUIDv7 id"); return nil }
                return id
            }
        }
        if let products = body.strings("products", maxCount: 100, maxLength: 64) {
            coupon.products = products.enumerated().compactMap { index, raw in
                guard let id = ProductID(raw) else { body.reject("products[\(index)]", "is not a UUIDv7 id"); return nil }
                return id
            }
        }
        if let categories = body.strings("categories", maxCount: 50, maxLength: 100) { coupon.categories = categories }
        if let from = nullable(body, "valid_from", { $0.instant($1) }) { coupon.validFrom = from }
        if let until = nullable(body, "valid_until", { $0.instant($1) }) { coupon.validUntil = until }
        if let from = coupon.validFrom, let until = coupon.validUntil, until <= from { body.reject("valid_until", "must be after valid_from") }
        if let minimum = body.integer("min_spend_minor", range: 0...100_000_000_000) { coupon.minSpendMinor = minimum }
        if let limit = body.int("per_client_limit", range: 0...1_000_000) { coupon.perClientLimit = limit }
        if let limit = body.integer("total_limit", range: 0...100_000_000) { coupon.totalLimit = limit }
        if let active = body.bool("active") { coupon.active = active }
    }

    /// An empty coupon to fill from a body. `Coupon` has no public memberwise initialiser; it is
    /// Codable, so the empty one is decoded from its fields.
    static func newCoupon(id: CouponID, at now: Instant, by name: String) throws -> Coupon {
        let fields: [String: Any] = [
            "id": id.rawValue, "code": "", "name": "", "kind": "percent", "value": 0, "currency": "", "services": [String](), "products": [String](),
            "categories": [String](), "minSpendMinor": 0, "perClientLimit": 0, "totalLimit": 0, "active": true, "usesKnown": 0,
            "createdAt": ["milliseconds": now.milliseconds], "createdBy": name,
        ]
        return try JSONDecoder().decode(Coupon.self, from: JSONSerialization.data(withJSONObject: fields))
    }

    static func createCoupon(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let now = call.shop.now
        var coupon = try newCoupon(id: .generate(at: now), at: now, by: call.acting.name)
        readCoupon(body, into: &coupon, creating: true, currency: try await homeCurrency(call))
        var allotments: [String: Int64] = [:]
        if let object = body.object("allotments") {
            for key in object.object.keys.sorted() {
                guard key.count == 64 || key.count == 32, key.allSatisfy({ $0.isHexDigit }) else {
                    object.reject(key, "is not a box's site id (hex)"); object.markSeen(key); continue
                }
                if let uses = object.integer(key, required: true, range: 0...100_000_000) { allotments[key.lowercased()] = uses }
            }
            object.finish()
            if allotments.values.reduce(0, +) > coupon.totalLimit { body.reject("allotments", "give more uses (\(allotments.values.reduce(0, +))) than total_limit (\(coupon.totalLimit))") }
        }
        try body.validate()
        let saved = try await call.shop.retail.save(coupon, allotments: allotments, as: call.acting)
        return .json(try await couponBody(saved, call: call), status: 201, location: "/v1/coupons/\(saved.id)")
    }

    static func patchCoupon(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: CouponID.self)
        let body = try call.bodyReader()
        var coupon = try await call.shop.retail.coupon(id)
        readCoupon(body, into: &coupon, creating: false, currency: try await homeCurrency(call))
        try body.validate()
        let saved = try await call.shop.retail.save(coupon, as: call.acting)
        return .json(try await couponBody(saved, call: call))
    }

    // MARK: Loyalty and gift cards

    static func loyaltyRules(_ call: Call) async throws -> Reply {
        .json(RulesBody(try await call.shop.retail.loyaltyRules()))
    }

    static func saveLoyaltyRules(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        var rules = try await call.shop.retail.loyaltyRules()
        if let value = body.bool("enabled") { rules.enabled = value }
        if let value = body.integer("earn_points", range: 0...1_000_000) { rules.earnPoints = value }
        if let value = body.integer("earn_per_minor", range: 0...100_000_000_000) { rules.earnPerMinor = value }
        if let value = body.integer("visit_points", range: 0...1_000_000) { rules.visitPoints = value }
        if let bonuses = body.objects("service_bonus", maxCount: 500) {
            var map: [OfferingID: Int64] = [:]
            for bonus in bonuses {
                let service = bonus.id("service", required: true, as: OfferingID.self)
                let points = bonus.integer("points", required: true, range: 0...1_000_000)
                bonus.finish()
                if let service, let points { map[service] = points }
            }
            rules.serviceBonus = map
        }
        if let value = body.integer("point_value_minor", range: 0...100_000_000) { rules.pointValueMinor = value }
        if let value = body.int("expiry_days", range: 0...3650) { rules.expiryDays = value }
        if let value = body.int("max_redeem_percent", range: 1...100) { rules.maxRedeemPercent = value }
        if rules.enabled, rules.earnPoints > 0, rules.earnPerMinor == 0 { body.reject("earn_per_minor", "must be more than 0 when earn_points is") }
        try body.validate()
        return .json(RulesBody(try await call.shop.retail.saveLoyaltyRules(rules, as: call.acting)))
    }

    static func clientLoyalty(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ClientID.self)
        _ = try await call.shop.clients.client(id)
        let loyalty = try await call.shop.retail.loyalty(client: id)
        let rules = try await call.shop.retail.loyaltyRules()
        let full = fullCodes(call)
        return .json(LoyaltyBody(client: id.rawValue, points: BalanceBody(loyalty.points, zones: call.zones),
                                 pointsExpireAt: call.zones.format(optional: loyalty.pointsExpireAt, branch: nil), pointValueMinor: rules.pointValueMinor,
                                 ledger: loyalty.ledger.map { EntryBody($0, zones: call.zones) },
                                 giftCards: loyalty.giftCards.map { GiftCardBody($0, zones: call.zones, fullCode: full) }))
    }

    static func giftCards(_ call: Call) async throws -> Reply {
        let query = call.query()
        let code = query.string("code", maxLength: 40)
        let client = query.id("client", as: ClientID.self)
        try query.validate()
        let full = fullCodes(call)
        if let code {
            do {
                let card = try await call.shop.retail.giftCard(code: code)
                return .json(Page(items: [GiftCardBody(card, zones: call.zones, fullCode: full)], nextCursor: nil))
            } catch let error as DomainError where error.code == .notFound {
                return .json(Page(items: [GiftCardBody](), nextCursor: nil))
            }
        }
        guard let client else { throw APIError.invalidParameters([FieldError(field: "code", message: "give code (a balance enquiry) or client")]) }
        _ = try await call.shop.clients.client(client)
        return .json(Page(items: try await call.shop.retail.giftCards(client: client).map { GiftCardBody($0, zones: call.zones, fullCode: full) }, nextCursor: nil))
    }

    static func getGiftCard(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: GiftCardID.self)
        return .json(GiftCardBody(try await call.shop.retail.giftCard(id), zones: call.zones, fullCode: fullCodes(call)))
    }

    // MARK: Escrow

    static func balance(_ call: Call) async throws -> Reply {
        let query = call.query()
        let raw = query.string("account", required: true, maxLength: 100)
        try query.validate()
        guard let raw, let account = EscrowAccount(raw) else {
            throw APIError.invalidParameters([FieldError(field: "account", message: "must be coupon:<id>, card:<id> or points:<client id>")])
        }
        return .json(BalanceBody(try await call.shop.retail.balance(account), zones: call.zones))
    }

    static func move(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let raw = body.string("account", required: true, maxLength: 100)
        let account = raw.flatMap(EscrowAccount.init)
        if raw != nil, account == nil { body.reject("account", "must be coupon:<id>, card:<id> or points:<client id>") }
        let here = call.shop.messaging.site
        let from = body.string("from", required: true, maxLength: 64, allowEmpty: false)?.lowercased()
        let to = body.string("to", maxLength: 64, allowEmpty: false)?.lowercased() ?? here
        let amount = body.integer("amount", required: true, range: 1...100_000_000_000)
        let reason = body.string("reason", maxLength: 500) ?? ""
        for (key, site) in [("from", from), ("to", to)] {
            if let site, !(site.count == 64 || site.count == 32) || !site.allSatisfy(\.isHexDigit) { body.reject(key, "is not a box's site id (hex)") }
        }
        if let from, from == to { body.reject("to", "must be another box than from") }
        try body.validate()
        guard let account, let from, let amount else { throw APIError.validation([]) }
        if to != here, !Permission.loyaltyManage.isGranted(to: call.role) {
            throw APIError.forbidden("the role \(call.role.rawValue) may move escrow only to this box (moving it to another box needs loyalty.manage)")
        }
        let request = try await call.shop.retail.requestMove(account, from: from, to: to, amount: amount, reason: reason, as: call.acting)
        return .json(RequestBody(request, zones: call.zones), status: 201)
    }

    static func requests(_ call: Call) async throws -> Reply {
        let query = call.query()
        let open = query.bool("open") ?? false
        try query.validate()
        return .json(Page(items: try await call.shop.retail.requests(openOnly: open).map { RequestBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func flags(_ call: Call) async throws -> Reply {
        let found = try await call.shop.retail.flags()
        return .json(Page(items: found.map { FlagBody(id: $0.id, kind: $0.kind.rawValue, account: $0.account.description, detail: $0.detail) }, nextCursor: nil))
    }
}
