import Domain
import Foundation
import Replication
import Synchronization

/// `--reports N`: each owner report over one year of a three-branch business holding N
/// appointments and N sales with one payment each (issue 19: N = 300,000; goal every report
/// ≤ 200 ms, the dashboard ≤ 100 ms), against a plain SQL aggregate of the same rows in the same
/// run. The workload is fixed: seeded, the year 2025 (local dates 2025-01-01…2025-12-31), 3
/// branches × 20 staff, 30 clients per staff member, 10 % cancelled, 3 % no-shows, 2 % refunds.
///
/// Then, in the same run: the rebuild time of the report rollups; 300 bookings through `Shop`
/// (one transaction each, in May–June 2024) with the rollups maintained, 300 with their
/// maintenance off (the added cost of one booking write), and 300 while another task runs the
/// reports one after another on the reader connections (latency p50/p99 of each); and a merge of
/// 2,000 small changesets (an appointment, a sale and its payment each) into a fresh replica with
/// the rollups maintained and without.
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
    for member in staff[0] { try shop.assign(StaffOffering(staffID: member, offeringID: offerings[0][0])) }
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
    let rebuildStart = DispatchTime.now().uptimeNanoseconds
    try shop.rebuildReportRollups()
    let rebuildMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - rebuildStart) / 1e6

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
    print(String(format: "  setup: written in %.1f s; the report rollups rebuilt from scratch in %.0f ms", setupSeconds, rebuildMilliseconds))

    // Bookings through Shop: one transaction each, at free starts in May–June 2024 (Branch 0, its 30-minute service).
    let almaty = try ZoneRules.named(zones[0])
    var slot = 0
    func bookings(_ n: Int) async throws -> [Double] {
        var samples: [Double] = []
        for _ in 0..<n {
            let day = LocalDate("2024-05-08")!.adding(days: slot / (20 * 24))
            let request = BookingRequest(branchID: branches[0], parts: [VisitPart(offeringID: offerings[0][0], staffID: staff[0][(slot / 24) % 20])],
                                         start: almaty.resolve(day, minutes: 9 * 60 + (slot % 24) * 30).instant, guest: Guest(name: "Bench"))
            slot += 1
            let begin = DispatchTime.now().uptimeNanoseconds
            _ = try await shop.calendar.book(request, as: .system("bench"))
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
        }
        return samples.sorted()
    }
    func percentiles(_ samples: [Double]) -> String {
        String(format: "p50 %6.2f ms  p99 %6.2f ms", samples[samples.count / 2], samples[min(samples.count - 1, samples.count * 99 / 100)])
    }
    _ = try await bookings(50) // warm-up
    let idle = try await bookings(300)
    ReportRollups.maintained.store(false, ordering: .relaxed)
    let unmaintained = try await bookings(300)
    ReportRollups.maintained.store(true, ordering: .relaxed)
    try shop.rebuildReportRollups()
    let stop = Atomic<Bool>(false)
    let reportRuns = Atomic<Int>(0)
    async let reading: Void = {
        let queries = [year, ReportQuery(from: LocalDate("2025-06-01")!, to: LocalDate("2025-06-30")!)]
        var n = 0
        while !stop.load(ordering: .relaxed) {
            let query = queries[n % 2]
            switch n % 7 {
            case 0: _ = try await shop.reports.revenue(query)
            case 1: _ = try await shop.reports.bookings(query)
            case 2: _ = try await shop.reports.utilisation(query)
            case 3: _ = try await shop.reports.dashboard(today: LocalDate("2025-12-31")!)
            case 4: _ = try await shop.reports.stock(query)
            case 5: _ = try await shop.reports.staff(query)
            default: _ = try await shop.reports.clients(query)
            }
            n += 1
            reportRuns.store(n, ordering: .relaxed)
        }
    }()
    let busy = try await bookings(300)
    stop.store(true, ordering: .relaxed)
    try await reading
    print("  bookings through Shop (300 each, one transaction each):")
    print("    rollups maintained, no reports running:  \(percentiles(idle))")
    print("    rollups not maintained (the write alone): \(percentiles(unmaintained))")
    print("    rollups maintained, reports running:      \(percentiles(busy))  (\(reportRuns.load(ordering: .relaxed)) reports ran meanwhile)")
    print(String(format: "    added by the maintenance: %+.2f ms at p50", idle[idle.count / 2] - unmaintained[unmaintained.count / 2]))

    // A merge of 2,000 small changesets into a fresh replica, with the rollups maintained and without.
    let source = try makeShop("merge-source", branches[0])
    try source.save(Branch(id: branches[0], name: "Branch 0", timeZone: zones[0], currency: "KZT", region: "KZ", openingHours: week))
    for index in 0..<2_000 {
        try source.store.write { transaction in
            let begins = start.adding(minutes: index * 60)
            let appointment = UUIDv7.generate(), sale = UUIDv7.generate()
            try transaction.insert("appointments", [
                "id": .text(appointment), "branch_id": .text(branches[0].rawValue), "status": .text("completed"), "starts_at": .integer(begins.milliseconds),
                "ends_at": .integer(begins.adding(minutes: 30).milliseconds), "created_at": .integer(begins.milliseconds - 86_400_000),
                "items": .text("[{\"bufferAfterMinutes\":0,\"bufferBeforeMinutes\":0,\"capacity\":1,\"end\":{\"milliseconds\":\(begins.adding(minutes: 30).milliseconds)},\"offeringID\":\"\(offerings[0][0].rawValue)\",\"priceMinor\":300000,\"resources\":[],\"staffID\":\"\(staff[0][index % 20].rawValue)\",\"start\":{\"milliseconds\":\(begins.milliseconds)}}]"),
                "currency": .text("KZT"),
            ])
            try transaction.insert("sales", [
                "id": .text(sale), "branch_id": .text(branches[0].rawValue), "site": .text(source.store.site.hex), "number": .integer(Int64(index + 1)),
                "lines": .text("[{\"kind\":\"service\",\"quantity\":1,\"reference\":\"\(offerings[0][0].rawValue)\",\"staffID\":\"\(staff[0][index % 20].rawValue)\",\"totalMinor\":300000}]"),
                "currency": .text("KZT"), "subtotal_minor": .integer(300_000), "total_minor": .integer(300_000), "created_at": .integer(begins.milliseconds),
            ])
            try transaction.insert("payments", [
                "id": .text(UUIDv7.generate()), "sale_id": .text(sale), "method": .text("cash"), "amount_minor": .integer(300_000), "currency": .text("KZT"),
                "initial_status": .text("settled"), "site": .text(source.store.site.hex), "created_at": .integer(begins.milliseconds),
            ])
        }
    }
    var merges: [(String, Double)] = []
    for maintained in [true, false, true, false] {
        ReportRollups.maintained.store(maintained, ordering: .relaxed)
        let target = try makeShop("merge-target-\(merges.count)", branches[0])
        let changesets = try source.store.changesets(missingFrom: target.store.versionVector, limit: .max).map(\.bytes)
        let begin = DispatchTime.now().uptimeNanoseconds
        _ = try target.apply(changesets)
        merges.append((maintained ? "with" : "without", Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6))
    }
    ReportRollups.maintained.store(true, ordering: .relaxed)
    print("  merging 2,001 changesets (2,000 × an appointment, a sale and its payment) into a fresh replica:")
    for (label, ms) in merges { print(String(format: "    %@ the rollups: %8.0f ms", label.padding(toLength: 7, withPad: " ", startingAt: 0), ms)) }
}
