import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

/// The stock property test of issue 18: random sales (some with overrides), returns, voids,
/// transfers, booking-ins, receipts, adjustments and stocktakes on three replicas — two branches'
/// boxes and an owner's — that are apart, merged by random pairwise syncs. After full delivery
/// every replica derives the same levels and the same flags (same ids); every negative level is
/// flagged; the incremental levels equal a direct sum over the raw rows and a rebuild.
@Suite("Stock: levels under partitions")
struct StockPropertyTests {
    @Test("random stock operations on partitioned replicas converge to the same levels and flags; nothing counted twice",
          arguments: [3, 18, 2026, 20261207] as [UInt64])
    func partitions(seed: UInt64) async throws {
        // Off Swift's cooperative pool: seconds of blocking SQLite work per seed would starve the
        // suite's async tests (two pool threads on two cores).
        let suite = self
        try await offPool { try suite.run(seed: seed) }
    }

    func run(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let s = try StockFixture()
        let branchB = BranchID.generate(at: s.shop.now)
        try s.shop.save(Branch(id: branchB, name: "Branch B", timeZone: "Asia/Almaty", currency: "KZT", region: "KZ", openingHours: WeeklyHours()))
        let shops = [s.shop, try s.f.world.makeShop(home: branchB), try s.f.world.makeShop(home: nil)]
        let branches = [s.branch, branchB]
        let products = try (0..<4).map { try s.product("P\($0)", price: Int64(1_000 * ($0 + 1)), threshold: 2) }
        for product in products {
            for branch in branches { try s.receive(product, Int.random(in: 1...6, using: &random), at: branch) }
        }
        try syncAll(shops)
        let clerk = Shop.MoneyActor(name: "Clerk", deviceID: "", rights: MoneyRights(mayDiscount: false, mayRefund: true, mayExceedCaps: false))
        var operations: [String: Int] = [:]
        for round in 0..<5 {
            for (index, shop) in shops.enumerated() {
                for _ in 0..<8 {
                    s.f.clock.advance(milliseconds: Int64.random(in: 0...3, using: &random))
                    // A branch's box works at its branch; the owner's anywhere.
                    let branch = index < 2 ? branches[index] : branches.randomElement(using: &random)!
                    let other = branches.first { $0 != branch }!
                    let product = products.randomElement(using: &random)!
                    let override = Int.random(in: 0..<4, using: &random) == 0
                    let actor = override ? manager : clerk
                    var name = ""
                    var done = true
                    switch Int.random(in: 0..<10, using: &random) {
                    case 0, 1:
                        name = "sale"
                        let lines = (0..<Int.random(in: 1...2, using: &random)).map { _ in (products.randomElement(using: &random)!, Int.random(in: 1...3, using: &random)) }
                        done = (try? s.sell(lines, override: override, actor: actor, at: branch, on: shop)) != nil
                    case 2:
                        name = "sale below zero"
                        done = (try? s.sell([(product, Int.random(in: 3...6, using: &random))], override: true, actor: manager, at: branch, on: shop)) != nil
                    case 3:
                        name = "void"
                        let due = try shop.sales(where: "1", [], limit: 1000).filter { $0.state == .due && $0.lines.contains { $0.kind == .product } }
                        if let sale = due.randomElement(using: &random) { done = (try? shop.voidSale(sale.id, reason: "random", actor: manager)) != nil } else { done = false }
                    case 4:
                        name = "transfer"
                        let lines = [ProductQuantity(productID: product.id, quantity: Int.random(in: 1...3, using: &random))]
                        done = (try? shop.transferStock(from: branch, to: other, lines: lines, note: "", override: override, actor: actor)) != nil
                    case 5:
                        name = "booking-in"
                        // A branch's box books in what comes to its branch; the owner's any.
                        let open = try branches.flatMap { try shop.stockTransfers(branch: $0, inTransitOnly: true, limit: 100) }.filter { index == 2 || $0.toBranch == branch }
                        if let transfer = open.randomElement(using: &random) { done = (try? shop.receiveTransfer(transfer.id, actor: clerk)) != nil } else { done = false }
                    case 6:
                        name = "receipt"
                        done = (try? s.receive(product, Int.random(in: 1...4, using: &random), at: branch, on: shop)) != nil
                    case 7:
                        name = "adjustment"
                        let reasons: [StockMovement.Reason] = [.damaged, .expired, .usedInService, .other]
                        let quantity = Bool.random(using: &random) ? -Int.random(in: 1...2, using: &random) : 1
                        done = (try? shop.adjustStock(branch: branch, product: product.id, quantity: quantity, reason: reasons.randomElement(using: &random)!,
                                                      note: "", appointment: nil, actor: clerk)) != nil
                    case 8:
                        name = "stocktake"
                        let counts = products.shuffled(using: &random).prefix(2).map { ProductQuantity(productID: $0.id, quantity: Int.random(in: 0...5, using: &random)) }
                        done = (try? shop.stocktake(branch: branch, counts: counts, note: "", actor: clerk)) != nil
                    default:
                        name = "return"
                        let sold = try shop.sales(where: "branch_id = ?", [.text(branch.rawValue)], limit: 1000).filter { $0.state != .voided }
                            .flatMap { sale in sale.lines.filter { $0.kind == .product }.map { (sale.id, ProductID(trusted: $0.reference)) } }
                        if let pick = sold.randomElement(using: &random) {
                            done = (try? shop.returnProducts(sale: pick.0, lines: [ProductQuantity(productID: pick.1, quantity: 1)], restock: Bool.random(using: &random),
                                                             reason: "random", actor: clerk)) != nil
                        } else {
                            done = false
                        }
                    }
                    if done { operations[name, default: 0] += 1 }
                    if round == 0 {
                        // Before any box has met another, every level below zero is explained by its overrides.
                        #expect(try shop.stockFlags(branch: nil).allSatisfy { !$0.fromMerge && !$0.overrides.isEmpty })
                    }
                }
            }
            // Random delivery: pairwise syncs in a random order, not all of them.
            for _ in 0..<3 {
                let a = shops.randomElement(using: &random)!, b = shops.randomElement(using: &random)!
                if a !== b { try sync(a, to: b) }
            }
        }
        for _ in 0..<2 { try syncAll(shops) }
        #expect(Set(shops.map { $0.store.versionVector }).count == 1)

        // Every replica derives the same levels and flags, with the same ids.
        let levels = try derivedLevels(shops[0])
        let flags = try shops[0].stockFlags(branch: nil)
        for shop in shops {
            #expect(try derivedLevels(shop) == levels)
            #expect(try shop.stockFlags(branch: nil) == flags)
            #expect(try directLevels(shop) == levels, "the incremental levels are not the sum over the raw rows")
            try expectRebuildAgrees(shop)
            for branch in branches {
                #expect(try shop.stockLevels(branch: branch, products: products.map(\.id)).map(\.quantity)
                        == products.map { levels[$0.id.rawValue + "@" + branch.rawValue] ?? 0 })
            }
        }
        // The only negative levels are flagged, each once, with the id derived from the product and branch.
        let negative = levels.filter { $0.value < 0 }
        #expect(Set(flags.map { $0.productID.rawValue + "@" + $0.branchID.rawValue }) == Set(negative.keys))
        #expect(flags.allSatisfy { $0.id == derivedKey("stock-negative", $0.productID.rawValue, $0.branchID.rawValue) })
        #expect(Set(flags.map(\.id)).count == flags.count)
        // Every booking-in counted once: each received transfer moved exactly its lines.
        let transfers = try branches.flatMap { try shops[0].stockTransfers(branch: $0, inTransitOnly: false, limit: 1000) }
        #expect(try shops[0].read { try $0.fetchOne("SELECT count(DISTINCT transfer_id) AS n FROM stock_movements WHERE kind = 'transfer_in'", [])!["n"].int }
                == Set(transfers.filter { $0.state == .received }.map(\.id)).count)
        let repeats = try shops[0].read { transaction in
            try transaction.fetchOne("""
                SELECT (SELECT count(*) FROM stock_movements m WHERE \(StockLedger.repeated)) AS n
                """, [])!["n"].int
        }
        print("stock seed \(seed): \(operations.sorted { $0.key < $1.key }), \(flags.count) flags (\(flags.filter(\.fromMerge).count) from merges), \(repeats) repeated rows")
    }

    /// Levels summed in Swift over the raw movements: of the booking-ins of one transfer and product,
    /// and of the void restocks of one sale and product, only the first by (at, id) counts.
    func directLevels(_ shop: Shop) throws -> [String: Int] {
        let rows = try shop.read { try $0.fetchAll("SELECT id, product_id, branch_id, kind, reason, quantity, transfer_id, sale_id, at FROM stock_movements", []) }
        var first: [String: (Int64, String)] = [:]
        func onceKey(_ row: Row) -> String? {
            if row["kind"].string == "transfer_in" { return "in/" + row["transfer_id"].string + "/" + row["product_id"].string }
            if row["kind"].string == "returned", row["reason"].string == "sale_voided" { return "void/" + row["sale_id"].string + "/" + row["product_id"].string }
            return nil
        }
        for row in rows {
            guard let key = onceKey(row) else { continue }
            let order = (row["at"].int64, row["id"].string)
            if let seen = first[key], seen <= order { continue }
            first[key] = order
        }
        var levels: [String: Int] = [:]
        for row in rows {
            let key = row["product_id"].string + "@" + row["branch_id"].string
            var quantity = row["quantity"].int
            if let once = onceKey(row), let seen = first[once], seen != (row["at"].int64, row["id"].string) { quantity = 0 }
            levels[key, default: 0] += quantity
        }
        return levels
    }
}
