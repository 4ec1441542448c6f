import Domain
import Foundation
import Replication

/// `--retail [...]`: issue 18's benchmarks (docs/benchmarks.md, "Retail").
///
/// 1. **Stock levels.** A replica holding 5,000 products at 3 branches and 1,000,000
///    `stock_movements` rows of every kind (receipts, sales, returns, adjustments, transfer pairs,
///    stocktake corrections) spread over the year before 2024-05-06, written through the replica
///    store's write path (change capture, signed changesets, derived state kept current at every
///    commit) in transactions of 5,000 rows — not through `Retail`'s operations, whose checks would
///    make setup take hours (as the other domain benchmarks do). Then, in the same process, alternating:
///    - the baseline: `DELETE` + `INSERT INTO … SELECT product_id, branch_id, sum(quantity) FROM
///      stock_movements GROUP BY product_id, branch_id` into a local table shaped like
///      `local_stock_levels`, in one write transaction;
///    - the box's derivation: `Shop.rebuildDerivedState()` (every derived table; the stock part is
///      `StockLedger.rebuild`; the rest is timed on a replica with the same catalogue and no movements).
///    Then many sales through `Payments.checkout` with a product line (cash), each followed by the
///    product's level read back through `Retail.levels`, against the same checkout with a custom line.
/// 2. **Redemptions.** A checkout of one line paid in cash, against the same checkout with a coupon
///    (the rest in cash), paid with points, paid with a gift card — interleaved, warmed up.
///
/// The workload is fixed: seeded LCG (20261207), dated; ids derived from the seeded generator.
func retailBenchmark(arguments: [String], makeShop: @escaping (String, BranchID) throws -> Shop, now: Instant) async throws {
    var movementCount = 1_000_000
    var productCount = 5_000
    var branchCount = 3
    var runs = 5
    var sales = 500
    var redemptions = 300
    var couponUses = 0
    var parts: Set<String> = ["stock", "redeem"]
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--movements": movementCount = Int(iterator.next() ?? "") ?? movementCount
        case "--products": productCount = Int(iterator.next() ?? "") ?? productCount
        case "--branches": branchCount = max(2, Int(iterator.next() ?? "") ?? branchCount)
        case "--runs": runs = max(1, Int(iterator.next() ?? "") ?? runs)
        case "--sales": sales = max(10, Int(iterator.next() ?? "") ?? sales)
        case "--redemptions": redemptions = max(10, Int(iterator.next() ?? "") ?? redemptions)
        case "--coupon-uses": couponUses = max(0, Int(iterator.next() ?? "") ?? 0)
        case "--only": parts = [iterator.next() ?? ""]
        default:
            FileHandle.standardError.write(Data("""
                usage: edgenode-domain-bench --retail [--movements N] [--products N] [--branches N] [--runs N] [--sales N] \
                [--redemptions N] [--coupon-uses N] [--only stock|redeem]\n
                """.utf8))
            exit(2)
        }
    }
    let bench = RetailBench(now: now, makeShop: makeShop)
    if parts.contains("stock") {
        try await bench.stockLevels(movements: movementCount, products: productCount, branches: branchCount, runs: runs, sales: sales)
    }
    if parts.contains("redeem") {
        try await bench.redemptions(iterations: redemptions, couponUses: couponUses)
    }
}

/// Prints a line at once (unbuffered, also into a file: a run that fails keeps what it printed).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// Medians and 99th percentiles of millisecond samples.
struct Samples {
    var values: [Double] = []
    mutating func append(_ value: Double) { values.append(value) }
    var sorted: [Double] { values.sorted() }
    var median: Double { let s = sorted; return s.isEmpty ? 0 : s[s.count / 2] }
    var p99: Double { let s = sorted; return s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * 0.99))] }
    var minimum: Double { values.min() ?? 0 }
    var maximum: Double { values.max() ?? 0 }
}

/// Milliseconds `body` took.
func milliseconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try await body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}

/// The fixed generator of the workload (the same LCG as the Z report benchmark).
struct SeededGenerator {
    var state: UInt64
    mutating func next64() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
    mutating func next(_ bound: Int) -> Int { Int((next64() >> 33) % UInt64(bound)) }
    /// A UUIDv7 at `milliseconds` whose random bits come from the generator: the same ids every run.
    mutating func uuid(at milliseconds: Int64) -> String {
        var bytes: [UInt8] = []
        for _ in 0..<2 {
            let word = next64()
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return UUIDv7.derived(from: bytes, milliseconds: UInt64(milliseconds))
    }
}

/// An EAN-13 barcode: 12 digits and the GS1 check digit.
func ean13(_ body: String) -> String {
    let digits = body.compactMap(\.wholeNumberValue)
    let sum = digits.enumerated().reduce(0) { $0 + $1.element * ($1.offset % 2 == 0 ? 1 : 3) }
    return body + String((10 - sum % 10) % 10)
}

/// A stocktake's count as `stocktakes.counts` holds it (`Stocktake.Count`'s coding keys).
struct CountRow: Encodable {
    var productID: String
    var counted: Int
    var expected: Int
}

struct RetailBench {
    let now: Instant
    let makeShop: (String, BranchID) throws -> Shop
    let acting = Acting.system("bench")
    let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }

    /// Branches (Asia/Almaty, KZT) and products, written through the domain (products in units of work of 500).
    func setUpCatalogue(_ shop: Shop, branches: [BranchID], products count: Int) async throws -> [Product] {
        let week = WeeklyHours.every(Weekday.allCases, [WallInterval("09:00", "21:00")!])
        for (index, branch) in branches.enumerated() {
            try shop.save(Branch(id: branch, name: "Branch \(index + 1)", timeZone: "Asia/Almaty", currency: "KZT", region: "KZ", openingHours: week))
        }
        let categories = ["hair care", "skin care", "nails", "colour", "tools", "gifts", "men", "kids", "accessories", "fragrance", "styling", "supplements"]
        var products: [Product] = []
        for index in 0..<count {
            let id = ProductID.derived(from: "bench-product", String(index), at: Instant(milliseconds: 1_700_000_000_000 + Int64(index)))
            products.append(Product(id: id, names: ["en": "Product \(index + 1)", "ru": "Товар \(index + 1)"], sku: String(format: "SKU-%05d", index + 1),
                                    barcode: ean13(String(format: "4870000%05d", index + 1)), category: categories[index % categories.count],
                                    priceMinor: Int64(50_000 + 1_000 * (index % 200)), costMinor: Int64(30_000 + 500 * (index % 200)),
                                    lowStockThreshold: index % 10 == 0 ? 5 : nil))
        }
        for chunk in stride(from: 0, to: products.count, by: 500) {
            let slice = Array(products[chunk..<min(chunk + 500, products.count)])
            try await shop.unitOfWork {
                for product in slice { _ = try await shop.retail.save(product, as: acting) }
            }
        }
        return products
    }

    // MARK: 1. Stock levels

    func stockLevels(movements count: Int, products productCount: Int, branches branchCount: Int, runs: Int, sales: Int) async throws {
        let branches = (0..<branchCount).map { BranchID.derived(from: "bench-branch", String($0), at: now) }
        let home = branches[0]
        let shop = try makeShop("stock", home)
        var started = Date()
        let products = try await setUpCatalogue(shop, branches: branches, products: productCount)
        let catalogueSeconds = Date().timeIntervalSince(started)

        // The movements, in time order over the year before `now`, written in transactions of 5,000.
        var random = SeededGenerator(state: 20261207)
        let site = shop.store.site.hex
        let first = now.milliseconds - 366 * 86_400_000
        let span = Int64(365 * 86_400_000)
        var levels: [Int: Int] = [:]  // product index * branchCount + branch index → level, for stocktakes
        var kinds: [String: Int] = [:]
        var inTransit = 0
        var transfers = 0
        var stocktakes = 0
        var written = 0
        var nextStocktake = first + 30 * 86_400_000
        started = Date()
        while written < count {
            try shop.store.write { transaction in
                var inChunk = 0
                func movement(_ kind: String, product: Int, branch: Int, quantity: Int, at: Int64, _ extra: [String: SQLValue] = [:]) throws {
                    var values: [String: SQLValue] = [
                        "id": .text(random.uuid(at: at)), "product_id": .text(products[product].id.rawValue), "branch_id": .text(branches[branch].rawValue),
                        "kind": .text(kind), "quantity": .integer(Int64(quantity)), "site": .text(site), "at": .integer(at), "by": .text("bench"),
                    ]
                    values.merge(extra) { $1 }
                    try transaction.insert("stock_movements", values)
                    levels[product * branchCount + branch, default: 0] += quantity
                    kinds[kind, default: 0] += 1
                    written += 1
                    inChunk += 1
                }
                while inChunk < 5_000, written < count {
                    let at = first + span * Int64(written) / Int64(count)
                    if at >= nextStocktake, count - written > 60 {
                        // A monthly stocktake at one branch: 40 products counted, each difference an adjustment.
                        nextStocktake += 30 * 86_400_000 / Int64(branchCount)
                        let branch = stocktakes % branchCount
                        let stocktake = random.uuid(at: at)
                        var counts: [CountRow] = []
                        var lines: [(product: Int, difference: Int)] = []
                        for _ in 0..<40 {
                            let product = random.next(productCount)
                            guard !counts.contains(where: { $0.productID == products[product].id.rawValue }) else { continue }
                            let expected = levels[product * branchCount + branch, default: 0]
                            let counted = max(0, expected + random.next(4) - 2)
                            counts.append(CountRow(productID: products[product].id.rawValue, counted: counted, expected: expected))
                            if counted != expected { lines.append((product, counted - expected)) }
                        }
                        try transaction.insert("stocktakes", [
                            "id": .text(stocktake), "branch_id": .text(branches[branch].rawValue), "counts": .text(try json(counts)),
                            "note": .text("monthly count"), "site": .text(site), "at": .integer(at), "by": .text("bench"),
                        ])
                        for line in lines {
                            try movement("adjusted", product: line.product, branch: branch, quantity: line.difference, at: at,
                                         ["reason": .text("count_correction"), "stocktake_id": .text(stocktake)])
                        }
                        stocktakes += 1
                        continue
                    }
                    let product = random.next(productCount)
                    let branch = random.next(branchCount)
                    let roll = random.next(100)
                    switch roll {
                    case 0..<8:
                        try movement("received", product: product, branch: branch, quantity: 12 + random.next(49), at: at,
                                     ["supplier": .text("Supplier \(1 + product % 7)"), "unit_cost_minor": .integer(products[product].costMinor ?? 0)])
                    case 8..<85:
                        try movement("sold", product: product, branch: branch, quantity: -(1 + random.next(3)), at: at, ["sale_id": .text(random.uuid(at: at))])
                    case 85..<88:
                        try movement("returned", product: product, branch: branch, quantity: 1, at: at, ["sale_id": .text(random.uuid(at: at - 86_400_000))])
                    case 88..<97:
                        let reasons = ["damaged", "expired", "used_in_service", "other"]
                        let reason = reasons[random.next(reasons.count)]
                        let quantity = reason == "other" ? random.next(5) - 2 : -(1 + random.next(2))
                        try movement("adjusted", product: product, branch: branch, quantity: quantity == 0 ? 1 : quantity, at: at, ["reason": .text(reason)])
                    default:
                        guard count - written >= 2 else {
                            try movement("sold", product: product, branch: branch, quantity: -1, at: at, ["sale_id": .text(random.uuid(at: at))])
                            continue
                        }
                        // A transfer: out at one branch now, booked in at the other a day later (in transit
                        // when that day is after the year's end).
                        let to = (branch + 1 + random.next(branchCount - 1)) % branchCount
                        let quantity = 1 + random.next(10)
                        let transfer = random.uuid(at: at)
                        try transaction.insert("stock_transfers", [
                            "id": .text(transfer), "from_branch": .text(branches[branch].rawValue), "to_branch": .text(branches[to].rawValue),
                            "lines": .text(try json([ProductQuantity(productID: products[product].id, quantity: quantity)])),
                            "note": .text("rebalance"), "site": .text(site), "created_at": .integer(at), "created_by": .text("bench"),
                        ])
                        try movement("transfer_out", product: product, branch: branch, quantity: -quantity, at: at, ["transfer_id": .text(transfer)])
                        transfers += 1
                        let arrives = at + 86_400_000
                        if arrives < first + span {
                            try movement("transfer_in", product: product, branch: to, quantity: quantity, at: arrives, ["transfer_id": .text(transfer)])
                        } else {
                            inTransit += 1
                        }
                    }
                }
            }
        }
        let loadSeconds = Date().timeIntervalSince(started)
        let pairs = try shop.store.read { try $0.scalar("SELECT count(*) FROM (SELECT DISTINCT product_id, branch_id FROM stock_movements)")?.integerValue ?? 0 }
        say("Stock levels: \(productCount) products × \(branchCount) branches (\(pairs) levels), \(written) movements, \(transfers) transfers (\(inTransit) in transit), \(stocktakes) stocktakes")
        say("  movements by kind: " + kinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        say(String(format: "  setup: catalogue %.1f s; movements through the replica's write path (derived levels kept at each commit) %.1f s (%.0f rows/s)",
                     catalogueSeconds, loadSeconds, Double(written) / loadSeconds))

        // The plain SQL baseline's table, shaped like local_stock_levels.
        try shop.store.write { transaction in
            try transaction.execute("""
                CREATE TABLE IF NOT EXISTS bench_plain_levels (product_id TEXT NOT NULL, branch_id TEXT NOT NULL, quantity INTEGER NOT NULL,
                    PRIMARY KEY (product_id, branch_id))
                """)
        }
        func plainSum() throws {
            try shop.store.write { transaction in
                try transaction.execute("DELETE FROM bench_plain_levels")
                try transaction.execute("""
                    INSERT INTO bench_plain_levels (product_id, branch_id, quantity)
                    SELECT product_id, branch_id, sum(quantity) FROM stock_movements GROUP BY product_id, branch_id
                    """)
            }
        }
        func sameLevels() throws -> (same: Int, total: Int) {
            try shop.store.read { transaction in
                let same = try transaction.scalar("""
                    SELECT count(*) FROM bench_plain_levels p JOIN local_stock_levels l ON l.product_id = p.product_id AND l.branch_id = p.branch_id
                    WHERE l.quantity = p.quantity
                    """)?.integerValue ?? 0
                let total = try transaction.scalar("SELECT count(*) FROM bench_plain_levels")?.integerValue ?? 0
                return (Int(same), Int(total))
            }
        }
        try plainSum()
        let incremental = try sameLevels()
        say("  levels kept at each commit equal the plain sum: \(incremental.same == incremental.total ? "yes" : "NO") (\(incremental.same) of \(incremental.total))")

        // Alternating runs after one warm-up of each.
        try plainSum()
        try shop.rebuildDerivedState()
        var plain = Samples()
        var derived = Samples()
        var ratios: [Double] = []
        for _ in 0..<runs {
            let p = try await milliseconds { try plainSum() }
            let d = try await milliseconds { try shop.rebuildDerivedState() }
            plain.append(p)
            derived.append(d)
            ratios.append(d / p)
        }
        let rebuilt = try sameLevels()
        var aggregate = Samples()
        for _ in 0..<runs {
            aggregate.append(try await milliseconds {
                _ = try shop.store.read { try $0.rows("SELECT product_id, branch_id, sum(quantity) FROM stock_movements GROUP BY product_id, branch_id").count }
            })
        }
        // What the rest of the derived state costs: the same catalogue, no movements.
        let bare = try makeShop("stock-bare", home)
        _ = try await setUpCatalogue(bare, branches: branches, products: productCount)
        try bare.rebuildDerivedState()
        var rest = Samples()
        for _ in 0..<runs { rest.append(try await milliseconds { try bare.rebuildDerivedState() }) }
        ratios.sort()
        say("  rebuild from \(written) movements, \(runs) runs each (alternating, after a warm-up):")
        say(String(format: "    plain SQL sum … GROUP BY into a table:        median %8.1f ms  min %8.1f  max %8.1f", plain.median, plain.minimum, plain.maximum))
        say(String(format: "    Shop.rebuildDerivedState (the box's rebuild): median %8.1f ms  min %8.1f  max %8.1f", derived.median, derived.minimum, derived.maximum))
        say(String(format: "    ratio derived / plain:                         median %.2f×  (runs %.2f–%.2f)   goal ≤ 1.5×: %@",
                     ratios[ratios.count / 2], ratios.first ?? 0, ratios.last ?? 0, ratios[ratios.count / 2] <= 1.5 ? "met" : "NOT met"))
        say(String(format: "    breakdown: the GROUP BY read alone (reader connection) median %.1f ms; the rest of the derived state (same catalogue, no movements) median %.1f ms",
                     aggregate.median, rest.median))
        say("    rebuilt levels equal the plain sum: \(rebuilt.same == rebuilt.total ? "yes" : "NO") (\(rebuilt.same) of \(rebuilt.total))")

        // Sales: a checkout with a product line, paid in cash, and the product's level read back; the same
        // checkout with a custom line of the same price as the baseline. Interleaved, after a warm-up.
        let sold = Array(products.prefix(20))
        _ = try await shop.retail.receive(branch: home, supplier: "Bench supplier", lines: sold.map { ProductQuantity(productID: $0.id, quantity: 100_000, unitCostMinor: $0.costMinor) },
                                          note: "stock for the sales benchmark", as: acting)
        _ = try await shop.money.openDrawer(branch: home, floatMinor: 2_000_000, as: acting)
        var expected: [ProductID: Int] = [:]
        for level in try await shop.retail.levels(branch: home, products: sold.map(\.id)) { expected[level.productID] = level.quantity }
        var productCheckout = Samples()
        var customCheckout = Samples()
        var levelRead = Samples()
        var levelRow = Samples()
        var movementSum = Samples()
        var mismatches = 0
        let warmUp = 30
        for index in 0..<(warmUp + sales) {
            let product = sold[index % sold.count]
            let price = product.price(at: home)
            let cash = [PaymentRequest(method: .cash, amountMinor: price, tenderedMinor: price)]
            let withProduct = CheckoutRequest(branchID: home, payments: cash, products: [ProductSaleLine(productID: product.id, quantity: 1)])
            let withLine = CheckoutRequest(branchID: home, lines: [.init(name: "Item", quantity: 1, unitPriceMinor: price)], payments: cash)
            // Alternate which of the two checkouts comes first; the level is read right after the product's sale.
            var times: (product: Double, custom: Double, read: Double) = (0, 0, 0)
            var level: [StockLevel] = []
            if index % 2 == 1 { times.custom = try await milliseconds { _ = try await shop.money.checkout(withLine, rights: .all, fiscalRequired: false, as: acting) } }
            times.product = try await milliseconds { _ = try await shop.money.checkout(withProduct, rights: .all, fiscalRequired: false, as: acting) }
            times.read = try await milliseconds { level = try await shop.retail.levels(branch: home, products: [product.id]) }
            if index % 2 == 0 { times.custom = try await milliseconds { _ = try await shop.money.checkout(withLine, rights: .all, fiscalRequired: false, as: acting) } }
            expected[product.id, default: 0] -= 1
            if level.first?.quantity != expected[product.id] { mismatches += 1 }
            let key: [SQLValue] = [.text(product.id.rawValue), .text(home.rawValue)]
            let row = try await milliseconds { _ = try shop.store.read { try $0.scalar("SELECT quantity FROM local_stock_levels WHERE product_id = ? AND branch_id = ?", key) } }
            let sum = try await milliseconds { _ = try shop.store.read { try $0.scalar("SELECT sum(quantity) FROM stock_movements WHERE product_id = ? AND branch_id = ?", key) } }
            guard index >= warmUp else { continue }
            productCheckout.append(times.product)
            customCheckout.append(times.custom)
            levelRead.append(times.read)
            levelRow.append(row)
            movementSum.append(sum)
        }
        say("  a sale and the level after it (\(sales) sales of 20 products at one branch, each ≈ \(written / max(1, Int(pairs))) movements deep, after \(warmUp) warm-ups):")
        say(String(format: "    checkout, custom line, cash (baseline):  median %6.3f ms  p99 %7.3f ms", customCheckout.median, customCheckout.p99))
        say(String(format: "    checkout, product line, cash:            median %6.3f ms  p99 %7.3f ms  ratio median %.2f×  p99 %.2f×",
                     productCheckout.median, productCheckout.p99, productCheckout.median / customCheckout.median, productCheckout.p99 / customCheckout.p99))
        say(String(format: "      the product line's extra work (stock check, movement, level kept current), medians: %.3f ms",
                     productCheckout.median - customCheckout.median))
        say(String(format: "    level read back (Retail.levels, after the sale): median %6.3f ms  p99 %7.3f ms   goal ≤ 1 ms: %@",
                     levelRead.median, levelRead.p99, levelRead.p99 <= 1 ? "met" : "NOT met"))
        say(String(format: "      its row of local_stock_levels (SQL):     median %6.3f ms  p99 %7.3f ms", levelRow.median, levelRow.p99))
        say(String(format: "      sum of its movements (SQL, for scale):   median %6.3f ms  p99 %7.3f ms", movementSum.median, movementSum.p99))
        say("    every level read back was the level before less the sale: \(mismatches == 0 ? "yes" : "NO (\(mismatches) differ)")")
    }

    // MARK: 2. Redemptions

    /// - Parameter couponUses: uses of the coupon before the measured checkouts (its history), written
    ///   as this box's own spends through the replica's write path, 5,000 a transaction.
    func redemptions(iterations: Int, couponUses: Int) async throws {
        let branch = BranchID.derived(from: "bench-branch", "0", at: now)
        let shop = try makeShop("redeem", branch)
        let week = WeeklyHours.every(Weekday.allCases, [WallInterval("09:00", "21:00")!])
        try shop.save(Branch(id: branch, name: "Branch 1", timeZone: "Asia/Almaty", currency: "KZT", region: "KZ", openingHours: week))
        _ = try await shop.money.openDrawer(branch: branch, floatMinor: 2_000_000, as: acting)
        // 1 point per 100 ₸ minor units paid by money; a point pays 1 ₸ (100 minor units).
        _ = try await shop.retail.saveLoyaltyRules(LoyaltyRules(enabled: true, earnPoints: 1, earnPerMinor: 100, pointValueMinor: 100, expiryDays: 365,
                                                                maxRedeemPercent: 100), as: acting)
        let couponJSON = """
            {"id":"\(CouponID.derived(from: "bench-coupon", at: now).rawValue)","code":"BENCH10","name":"Ten percent","kind":"percent","value":10,
             "currency":"KZT","services":[],"products":[],"categories":[],"minSpendMinor":0,"perClientLimit":0,"totalLimit":1000000,"active":true,
             "usesKnown":0,"createdAt":{"milliseconds":\(now.milliseconds)},"createdBy":"bench"}
            """
        let coupon = try await shop.retail.save(try JSONDecoder().decode(Coupon.self, from: Data(couponJSON.utf8)), as: acting)
        var random = SeededGenerator(state: 20261207)
        let site = shop.store.site.hex
        for chunk in stride(from: 0, to: couponUses, by: 5_000) {
            try shop.store.write { transaction in
                for index in chunk..<min(chunk + 5_000, couponUses) {
                    let at = now.milliseconds - Int64(couponUses - index) * 60_000
                    try transaction.insert("escrow_entries", [
                        "id": .text(random.uuid(at: at)), "account": .text(EscrowAccount.coupon(coupon.id).description), "kind": .text("spend"),
                        "holder": .text(site), "amount": .integer(-1), "sale_id": .text(random.uuid(at: at)), "note": .text("coupon BENCH10"),
                        "site": .text(site), "at": .integer(at), "by": .text("bench"),
                    ])
                }
            }
        }

        // 50 clients, each with points from one large cash sale; 50 gift cards sold for cash.
        let price: Int64 = 1_000_000  // 10,000 ₸
        let funding: Int64 = 100 * price
        var clients: [ClientID] = []
        var cards: [String] = []
        for index in 0..<50 {
            let client = try await shop.clients.create(ClientDraft(name: "Client \(index + 1)", phone: String(format: "+7701%07d", index + 1)), branch: branch, as: acting)
            clients.append(client.id)
            _ = try await shop.money.checkout(CheckoutRequest(branchID: branch, clientID: client.id, lines: [.init(name: "Package", quantity: 1, unitPriceMinor: funding)],
                                                              payments: [PaymentRequest(method: .cash, amountMinor: funding)]), rights: .all, fiscalRequired: false, as: acting)
            let sale = try await shop.money.checkout(CheckoutRequest(branchID: branch, payments: [PaymentRequest(method: .cash, amountMinor: funding)],
                                                                     giftCards: [GiftCardSaleLine(amountMinor: funding)]), rights: .all, fiscalRequired: false, as: acting)
            guard let line = sale.lines.first(where: { $0.kind == .giftCard }), let card = GiftCardID(line.reference) else {
                throw DomainError(.invalidArgument, "the gift card's sale has no gift card line")
            }
            cards.append(try await shop.retail.giftCard(card).code)
        }

        enum Variant: String, CaseIterable { case cash, coupon, points, giftCard = "gift card" }
        func request(_ variant: Variant, _ index: Int) -> CheckoutRequest {
            let client = clients[index % clients.count]
            let line = [CheckoutRequest.CustomLine(name: "Item", quantity: 1, unitPriceMinor: price)]
            switch variant {
            case .cash:
                return CheckoutRequest(branchID: branch, clientID: client, lines: line, payments: [PaymentRequest(method: .cash, amountMinor: price)])
            case .coupon:
                return CheckoutRequest(branchID: branch, clientID: client, lines: line, payments: [PaymentRequest(method: .cash, amountMinor: price - price / 10)],
                                       coupon: "BENCH10")
            case .points:
                return CheckoutRequest(branchID: branch, clientID: client, lines: line,
                                       payments: [PaymentRequest(method: .points, amountMinor: price, reference: "points:\(client.rawValue)")])
            case .giftCard:
                return CheckoutRequest(branchID: branch, clientID: client, lines: line,
                                       payments: [PaymentRequest(method: .giftCard, amountMinor: price, giftCardCode: cards[index % cards.count])])
            }
        }
        // Rows each variant writes (one checkout each), for the breakdown.
        func counts() throws -> [String: Int64] {
            try shop.store.read { transaction in
                var result: [String: Int64] = [:]
                for table in shop.store.replicatedTables + ["local_escrow_balances", "local_payment_state"] {
                    result[table] = try transaction.scalar("SELECT count(*) FROM \(table)")?.integerValue ?? 0
                }
                return result
            }
        }
        var written: [Variant: String] = [:]
        for (offset, variant) in Variant.allCases.enumerated() {
            let before = try counts()
            let sale = try await shop.money.checkout(request(variant, offset), rights: .all, fiscalRequired: false, as: acting)
            guard sale.state == .paid else { throw DomainError(.invalidArgument, "the \(variant.rawValue) checkout left the sale \(sale.state.rawValue)") }
            let after = try counts()
            written[variant] = after.keys.sorted().compactMap { table in
                let delta = after[table, default: 0] - before[table, default: 0]
                return delta == 0 ? nil : "\(table) +\(delta)"
            }.joined(separator: ", ")
        }

        var samples: [Variant: Samples] = [:]
        let warmUp = 30
        for round in 0..<(warmUp + iterations) {
            // Rotate the order every round so that no variant always follows another.
            for step in 0..<Variant.allCases.count {
                let variant = Variant.allCases[(round + step) % Variant.allCases.count]
                let checkout = request(variant, round * Variant.allCases.count + step)
                let time = try await milliseconds { _ = try await shop.money.checkout(checkout, rights: .all, fiscalRequired: false, as: acting) }
                if round >= warmUp { samples[variant, default: Samples()].append(time) }
            }
        }
        let cash = samples[.cash] ?? Samples()
        say("Redemptions: one checkout of one line (10,000 ₸) for a client, paid in full in the same call; \(iterations) of each, interleaved, after \(warmUp) warm-ups; the coupon used \(couponUses) times before")
        for variant in Variant.allCases {
            let measured = samples[variant] ?? Samples()
            let ratio = measured.median / cash.median
            let goal = variant == .cash ? "" : String(format: "  ratio median %.2f×  p99 %.2f×  goal ≤ 1.3×: %@", ratio, measured.p99 / cash.p99, ratio <= 1.3 ? "met" : "NOT met")
            say("  " + variant.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: " median %6.3f ms  p99 %7.3f ms", measured.median, measured.p99) + goal)
        }
        // Whether a variant slows down as its history grows (the coupon's uses, a client's points ledger, a card's spends).
        let third = iterations / 3
        say("  medians of the first and the last \(third) of each (does it slow down as the history grows?):")
        for variant in Variant.allCases {
            let values = samples[variant]?.values ?? []
            let early = Samples(values: Array(values.prefix(third))), late = Samples(values: Array(values.suffix(third)))
            say("    " + variant.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: " %6.3f ms → %6.3f ms", early.median, late.median))
        }
        let uses = try await shop.retail.coupon(code: "BENCH10").usesKnown
        say("  at the end: the coupon has \(uses) uses; \(warmUp + iterations + 1) points and as many gift-card payments spread over \(clients.count) clients and \(cards.count) cards")
        say("  rows written by one checkout of each:")
        for variant in Variant.allCases { say("    \(variant.rawValue): \(written[variant] ?? "")") }
    }
}
