import Domain
import Foundation
import Replication

/// `--reports N`: each owner report over one year of a three-branch business holding N
/// appointments and N sales with one payment each (issue 19: N = 300,000; goal every report
/// ≤ 200 ms, the dashboard ≤ 100 ms), against a plain SQL aggregate of the same rows in the same
/// run. The workload is fixed: seeded, the year 2025 (local dates 2025-01-01…2025-12-31), 3
/// branches × 20 staff, 30 clients per staff member, 10 % cancelled, 3 % no-shows, 2 % refunds.
func reportsBenchmark(count: Int, makeShop: (String, BranchID) throws -> Shop) async throws {
    let zones = ["Asia/Almaty", "Asia/Aqtobe", "Asia/Atyrau"]
    let start = Instant(iso8601: "2025-01-01T00:00:00Z")!
    let branches = (0..<3).map { BranchID.generate(at: start.adding(minutes: $0)) }
    let shop = try makeShop("reports", branches[0])
    let week = WeeklyHours.every(Weekday.allCases, [WallInterval("09:00", "21:00")!])
    var staff: [[StaffID]] = [], offerings: [[OfferingID]] = []
    for (index, branch) in branches.enumerated() {
        try shop.save(Branch(id: branch, name: "Branch \(index)", timeZone: zones[index], currency: "KZT", region: "KZ", openingHours: week))
        staff.append(try (0..<20).map { n in
            let id = StaffID.generate(at: Instant(milliseconds: 1_700_000_000_000 + Int64(index * 100 + n)))
            try shop.save(StaffMember(id: id, branchID: branch, name: "Staff \(index)-\(n)", schedule: week))
            return id
        })
        offerings.append(try [30, 45, 60, 90].enumerated().map { n, minutes in
            let id = OfferingID.generate(at: Instant(milliseconds: 1_700_000_010_000 + Int64(index * 100 + n)))
            try shop.save(Offering(id: id, branchID: branch, category: n < 2 ? "hair" : "nails", names: ["en": "Service \(minutes)"],
                                   durationMinutes: minutes, price: Money(amountMinor: Int64(minutes) * 10_000, currency: "KZT")))
            return id
        })
    }
    var state: UInt64 = 20261207
    func next(_ bound: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(bound))
    }
    let clients = (0..<(3 * 20 * 30)).map { _ in UUIDv7.generate() }
    let site = shop.store.site.hex
    let methods = ["cash", "card", "card", "kaspi_qr", "bank_transfer"]
    let statuses = (0..<100).map { $0 < 10 ? "cancelled" : $0 < 13 ? "no_show" : "completed" }
    let setup = Date()
    try shop.store.write { transaction in
        for client in clients {
            try transaction.insert("clients", ["id": .text(client), "name": .text("Client"), "phone": .text(""), "created_at": .integer(start.milliseconds)])
        }
    }
    let dayMinutes = 12 * 60
    for chunk in stride(from: 0, to: count, by: 5_000) {
        try shop.store.write { transaction in
            for index in chunk..<min(chunk + 5_000, count) {
                // Spread evenly over the year, then a random branch, staff member, service and time of day.
                let day = index * 365 / count
                let b = next(3), s = next(20), o = next(4)
                let minutes = [30, 45, 60, 90][o]
                let offset = Int64(9 * 60 - 5 * 60 + next((dayMinutes - minutes) / 15) * 15) // local 09:00 at UTC+5
                let begins = start.adding(minutes: day * 1440 + Int(offset))
                let ends = begins.adding(minutes: minutes)
                let price = Int64(minutes) * 10_000
                let client = clients[next(clients.count)]
                let status = statuses[next(100)]
                let appointment = UUIDv7.generate()
                let items = "[{\"bufferAfterMinutes\":0,\"bufferBeforeMinutes\":0,\"capacity\":1,\"end\":{\"milliseconds\":\(ends.milliseconds)},\"offeringID\":\"\(offerings[b][o].rawValue)\",\"priceMinor\":\(price),\"resources\":[],\"staffID\":\"\(staff[b][s].rawValue)\",\"start\":{\"milliseconds\":\(begins.milliseconds)}}]"
                try transaction.insert("appointments", [
                    "id": .text(appointment), "branch_id": .text(branches[b].rawValue), "client_id": .text(client), "items": .text(items),
                    "starts_at": .integer(begins.milliseconds), "ends_at": .integer(ends.milliseconds), "status": .text(status),
                    "source": .text(["front_desk", "online", "kiosk"][next(3)]), "price_minor": .integer(price), "currency": .text("KZT"),
                    "created_at": .integer(begins.milliseconds - Int64(next(14 * 1440)) * 60_000),
                ])
                let sale = UUIDv7.generate()
                let lines = "[{\"discountMinor\":0,\"kind\":\"service\",\"names\":{\"en\":\"Service\"},\"netMinor\":\(price),\"quantity\":1,\"reference\":\"\(offerings[b][o].rawValue)\",\"staffID\":\"\(staff[b][s].rawValue)\",\"taxMinor\":0,\"totalMinor\":\(price),\"unitPriceMinor\":\(price)}]"
                try transaction.insert("sales", [
                    "id": .text(sale), "branch_id": .text(branches[b].rawValue), "site": .text(site), "number": .integer(Int64(index + 1)),
                    "client_id": .text(client), "appointments": .text("[\"\(appointment)\"]"), "lines": .text(lines), "currency": .text("KZT"),
                    "subtotal_minor": .integer(price), "total_minor": .integer(price), "visit_count": .integer(1), "created_at": .integer(ends.milliseconds),
                ])
                let payment = UUIDv7.generate()
                let method = methods[next(methods.count)]
                try transaction.insert("payments", [
                    "id": .text(payment), "sale_id": .text(sale), "method": .text(method), "amount_minor": .integer(price), "currency": .text("KZT"),
                    "initial_status": .text("settled"), "site": .text(site), "created_at": .integer(ends.milliseconds),
                ])
                if next(50) == 0 {
                    try transaction.insert("payments", [
                        "id": .text(UUIDv7.generate()), "sale_id": .text(sale), "kind": .text("refund"), "reverses": .text(payment), "method": .text(method),
                        "amount_minor": .integer(price / 2), "currency": .text("KZT"), "initial_status": .text("settled"), "site": .text(site),
                        "created_at": .integer(ends.milliseconds + 60_000),
                    ])
                }
            }
        }
    }
    let setupSeconds = Date().timeIntervalSince(setup)

    func time(runs: Int = 5, _ body: () async throws -> Void) async throws -> (median: Double, max: Double) {
        try await body()
        var samples: [Double] = []
        for _ in 0..<runs {
            let begin = DispatchTime.now().uptimeNanoseconds
            try await body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
        }
        samples.sort()
        return (samples[samples.count / 2], samples[samples.count - 1])
    }
    let year = ReportQuery(from: LocalDate("2025-01-01")!, to: LocalDate("2025-12-31")!, compare: false)
    let bounds: [SQLValue] = [.integer(start.milliseconds - 5 * 3_600_000), .integer(start.milliseconds + 365 * 86_400_000)]
    var plainNet: Int64 = 0
    let plain = try await time {
        plainNet = try shop.store.read { transaction in
            try transaction.rows("""
                SELECT sum(CASE p.kind WHEN 'refund' THEN -p.amount_minor ELSE p.amount_minor END) FROM payments p JOIN sales s ON s.id = p.sale_id
                WHERE p.created_at >= ? AND p.created_at < ? GROUP BY s.currency
                """, bounds).first?[0].integerValue ?? 0
        }
    }
    let plainAppointments = try await time {
        _ = try shop.store.read { transaction in
            try transaction.rows("SELECT branch_id, status, count(*), sum(ends_at - starts_at) FROM appointments WHERE starts_at >= ? AND starts_at < ? GROUP BY branch_id, status", bounds)
        }
    }
    var revenueNet: Int64 = 0
    var timings: [(String, (median: Double, max: Double))] = []
    timings.append(("revenue", try await time { revenueNet = try await shop.reports.revenue(year).figures.currencies.first?.netMinor ?? 0 }))
    timings.append(("utilisation", try await time { _ = try await shop.reports.utilisation(year) }))
    timings.append(("bookings", try await time { _ = try await shop.reports.bookings(year) }))
    timings.append(("clients", try await time { _ = try await shop.reports.clients(year) }))
    timings.append(("staff", try await time { _ = try await shop.reports.staff(year) }))
    timings.append(("stock", try await time { _ = try await shop.reports.stock(year) }))
    let dashboard = try await time { _ = try await shop.reports.dashboard(today: LocalDate("2025-12-31")!) }
    print("owner reports over one year (2025), 3 branches, \(count) appointments and \(count) sales with their payments, 5 runs each")
    print(String(format: "  plain SQL sum of the payments:        median %8.1f ms  max %8.1f ms", plain.median, plain.max))
    print(String(format: "  plain SQL count of the appointments:  median %8.1f ms  max %8.1f ms", plainAppointments.median, plainAppointments.max))
    for (name, timing) in timings {
        let label = name.padding(toLength: 12, withPad: " ", startingAt: 0)
        print(String(format: "  %@ median %8.1f ms  max %8.1f ms  (%.1f× the payment sum)%@", label, timing.median, timing.max, timing.median / plain.median,
                     timing.median <= 200 ? "" : "  over 200 ms"))
    }
    print(String(format: "  dashboard    median %8.1f ms  max %8.1f ms%@", dashboard.median, dashboard.max, dashboard.median <= 100 ? "" : "  over 100 ms"))
    print("  the same net revenue: \(revenueNet == plainNet ? "yes" : "NO") (\(revenueNet) vs \(plainNet))")
    print(String(format: "  setup: written in %.1f s", setupSeconds))
}
