import Domain
import Foundation
import Replication

/// `--z-report N`: the Z report of one drawer session holding N sales (a year of a busy branch at
/// 100,000) against a plain SQL sum of the same payment rows, in the same process (issue 16's goal:
/// ≤ 100 ms and ≤ 3× the sum). The workload is fixed: seeded, dated 2024-05-06.
func zReportBenchmark(sales count: Int, makeShop: (String, BranchID) throws -> Shop, now: Instant) async throws {
    let branch = BranchID.generate(at: now)
    let shop = try makeShop("z-report", branch)
    let week = WeeklyHours.every(Weekday.allCases, [WallInterval("09:00", "18:00")!])
    try shop.save(Branch(id: branch, name: "Bench", timeZone: "Asia/Almaty", currency: "KZT", region: "KZ", openingHours: week))
    let staff = (0..<8).map { StaffID.generate(at: Instant(milliseconds: 1_700_000_000_000 + Int64($0))) }
    for (index, id) in staff.enumerated() { try shop.save(StaffMember(id: id, branchID: branch, name: "Staff \(index)", schedule: week)) }
    let session = try await shop.money.openDrawer(branch: branch, floatMinor: 2_000_000, as: .system("bench"))
    var state: UInt64 = 20261207
    func next(_ bound: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(bound))
    }
    let site = shop.store.site.hex
    // Unverified payments are rare (the caps keep them so): one in a thousand.
    let methods = ["cash", "cash", "cash", "card", "card", "card", "card", "bank_transfer", "kaspi_qr", "card"]
    let setup = Date()
    var rows = 0
    for chunk in stride(from: 0, to: count, by: 5_000) {
        try shop.store.write { transaction in
            for index in chunk..<min(chunk + 5_000, count) {
                let sale = UUIDv7.generate()
                let price = Int64(300_000 + 10_000 * next(120))
                let tip = next(10) == 0 ? Int64(50_000) : 0
                let lines = "[{\"discountMinor\":0,\"kind\":\"custom\",\"names\":{\"\":\"Item\"},\"netMinor\":\(price),\"quantity\":1,\"reference\":\"\",\"taxMinor\":0,\"totalMinor\":\(price),\"unitPriceMinor\":\(price)}]"
                let tips = tip > 0 ? "[{\"amountMinor\":\(tip),\"staffID\":\"\(staff[next(staff.count)].rawValue)\"}]" : "[]"
                try transaction.insert("sales", [
                    "id": .text(sale), "branch_id": .text(branch.rawValue), "site": .text(site), "number": .integer(Int64(index + 1)),
                    "lines": .text(lines), "tips": .text(tips), "currency": .text("KZT"), "subtotal_minor": .integer(price),
                    "tips_minor": .integer(tip), "total_minor": .integer(price + tip), "visit_count": .integer(1), "drawer_session_id": .text(session.id.rawValue),
                    "created_at": .integer(now.milliseconds + Int64(index) * 300_000),
                ])
                let method = next(1000) == 0 ? "kaspi_static" : methods[next(methods.count)]
                let payment = UUIDv7.generate()
                try transaction.insert("payments", [
                    "id": .text(payment), "sale_id": .text(sale), "method": .text(method), "amount_minor": .integer(price + tip),
                    "currency": .text("KZT"), "initial_status": .text(method == "kaspi_static" ? "unverified" : "settled"), "site": .text(site),
                    "drawer_session_id": .text(session.id.rawValue), "created_at": .integer(now.milliseconds + Int64(index) * 300_000),
                ])
                rows += 2
                if next(50) == 0 {
                    try transaction.insert("payments", [
                        "id": .text(UUIDv7.generate()), "sale_id": .text(sale), "kind": .text("refund"), "reverses": .text(payment),
                        "method": .text(method), "amount_minor": .integer(price / 2), "currency": .text("KZT"), "initial_status": .text("settled"),
                        "site": .text(site), "drawer_session_id": .text(session.id.rawValue), "created_at": .integer(now.milliseconds + Int64(index) * 300_000 + 1),
                    ])
                    rows += 1
                }
            }
        }
    }
    let setupSeconds = Date().timeIntervalSince(setup)

    func time(_ body: () async throws -> Void) async throws -> (median: Double, max: Double) {
        for _ in 0..<3 { try await body() }
        var samples: [Double] = []
        for _ in 0..<30 {
            let start = DispatchTime.now().uptimeNanoseconds
            try await body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        samples.sort()
        return (samples[samples.count / 2], samples[samples.count - 1])
    }
    var report: DrawerReport?
    let z = try await time { report = try await shop.money.xReport() }
    var sum: [[SQLValue]] = []
    let plain = try await time {
        sum = try shop.store.read { transaction in
            try transaction.rows("SELECT method, kind, sum(amount_minor), count(*) FROM payments WHERE drawer_session_id = ? GROUP BY method, kind",
                                 [.text(session.id.rawValue)])
        }
    }
    if ProcessInfo.processInfo.environment["Z_PROFILE"] != nil {
        let sid = SQLValue.text(session.id.rawValue)
        for (name, sql) in [
            ("methods", "SELECT method, kind, count(*), sum(amount_minor) FROM local_payment_state INDEXED BY local_payment_state_by_session WHERE drawer_session_id = ? AND counts = 1 GROUP BY method, kind"),
            ("sales", "SELECT count(*), sum(discount_minor), sum(tax_minor), sum(visit_count) FROM sales INDEXED BY sales_by_session WHERE drawer_session_id = ? AND id NOT IN (SELECT sale_id FROM sale_voids)"),
            ("tips", "SELECT staff_id, sum(amount_minor) FROM local_sale_tips WHERE drawer_session_id = ? AND sale_id NOT IN (SELECT sale_id FROM sale_voids) GROUP BY staff_id"),
            ("unverified", "SELECT payment_id FROM local_payment_state INDEXED BY local_payment_state_unverified WHERE drawer_session_id = ? AND status = 'unverified'"),
            ("unfiscalised", "SELECT id FROM sales WHERE drawer_session_id = ? AND fiscal_required = 1 AND id NOT IN (SELECT document_id FROM fiscal_receipts)"),
        ] {
            let timing = try await time { _ = try shop.store.read { try $0.rows(sql, [sid]) } }
            print(String(format: "  %-14@ median %.2f ms", name, timing.median))
        }
    }
    let reported = report.map { $0.methods.reduce(0) { $0 + $1.netMinor } } ?? 0
    let summed = sum.reduce(Int64(0)) { $0 + ($1[1].textValue == "refund" ? -($1[2].integerValue ?? 0) : ($1[2].integerValue ?? 0)) }
    print("Z report of one drawer session with \(count) sales (\(rows) ledger rows), 30 runs each")
    print(String(format: "  plain SQL sum of the payments:   median %.2f ms  max %.2f ms", plain.median, plain.max))
    print(String(format: "  Z report (every figure):         median %.2f ms  max %.2f ms", z.median, z.max))
    print(String(format: "  ratio Z / sum:                   median %.2f×", z.median / plain.median))
    print(String(format: "  goals ≤ 100 ms and ≤ 3× the sum: %@ and %@", z.median <= 100 ? "met" : "NOT met", z.median / plain.median <= 3 ? "met" : "NOT met"))
    print("  the same net total: \(reported == summed ? "yes" : "NO") (\(reported) vs \(summed)); sales \(report?.salesCount ?? 0), tips to \(report?.tips.count ?? 0) staff")
    print(String(format: "  setup: %d sales written in %.1f s", count, setupSeconds))
}
