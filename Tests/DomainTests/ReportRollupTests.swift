import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

/// The reports read from the rollups (`ReportRollups`) give exactly the `ReportResult`s the direct
/// computation from the facts gives (`shop.reports.direct`), over random histories that change
/// after they are written — status changes, reschedules, deletions, payments settled and voided,
/// refunds, sales voided, changesets merged from another replica, a branch moving to another time
/// zone — and the rollups kept by the change observer equal the ones a rebuild derives.
@Suite("Reports: the rollups give the direct computation's figures")
struct ReportRollupTests {
    let atyrau = BranchID(trusted: "01900000-0000-7000-8000-00000000a001")
    let london = BranchID(trusted: "01900000-0000-7000-8000-00000000b001")

    @Test("random histories with changes and merges: every report both ways, and the rollups equal a rebuild", arguments: [5, 23, 2027] as [UInt64])
    func randomHistories(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let h = try ReportHistory(now: "2026-12-01T00:00:00Z", home: atyrau)
        try h.branch(atyrau, "Atyrau", zone: "Asia/Atyrau", currency: "KZT", hours: hours("09:00", "18:00"))
        try h.branch(london, "London", zone: "Europe/London", currency: "GBP", hours: hours("09:00", "18:00"))
        let shop = h.shop
        let branches = [atyrau, london], currencies = [atyrau: "KZT", london: "GBP"]
        var staff: [BranchID: [StaffID]] = [:], offerings: [BranchID: [OfferingID]] = [:]
        for branch in branches {
            staff[branch] = [try h.staff(branch, "A"), try h.staff(branch, "B")]
            offerings[branch] = [try h.offering(branch, "S", category: "c", minutes: 30, price: 1000, currency: currencies[branch]!),
                                 try h.offering(branch, "T", category: "d", minutes: 60, price: 2000, currency: currencies[branch]!)]
        }
        let clients = [try h.client("Dana", "+77010000001"), try h.client("Erlan", "+77010000002"), try h.client("Farida", "+77010000003")]
        // Around both of London's clock changes (29 March and 25 October 2026).
        let bases = [instant("2026-03-20T00:00:00Z"), instant("2026-10-17T00:00:00Z")]
        func randomInstant() -> Instant { bases.randomElement(using: &random)!.adding(minutes: Int.random(in: 0..<(16 * 1440), using: &random) / 15 * 15) }
        var appointments: [AppointmentID] = [], sales: [SaleID] = [], pending: [PaymentID] = []
        func write(appointments count: Int, sales saleCount: Int) throws {
            for _ in 0..<count {
                let branch = branches.randomElement(using: &random)!
                let start = randomInstant()
                let items = (0..<Int.random(in: 1...2, using: &random)).map { k in
                    ReportHistory.Item(offering: offerings[branch]!.randomElement(using: &random)!, staff: staff[branch]!.randomElement(using: &random)!,
                                       start: start.adding(minutes: 60 * k), minutes: [30, 60, 90].randomElement(using: &random)!)
                }
                appointments.append(try h.appointment(branch, client: Bool.random(using: &random) ? clients.randomElement(using: &random)! : nil, items,
                                                      status: AppointmentStatus.allCases.randomElement(using: &random)!, late: Bool.random(using: &random),
                                                      source: BookingSource.allCases.randomElement(using: &random)!,
                                                      created: start.adding(minutes: -Int.random(in: 0..<(40 * 1440), using: &random)),
                                                      elsewhere: Int.random(in: 0..<4, using: &random) == 0, currency: currencies[branch]!))
            }
            for _ in 0..<saleCount {
                let branch = branches.randomElement(using: &random)!, currency = currencies[branch]!
                let at = randomInstant()
                let lines = (0..<Int.random(in: 1...3, using: &random)).map { k in
                    k == 2 ? ReportHistory.line(.custom, "", quantity: 1, unit: 300)
                           : ReportHistory.line(.service, offerings[branch]![k].rawValue, staff: Bool.random(using: &random) ? staff[branch]![k] : nil,
                                                quantity: Int.random(in: 1...2, using: &random), unit: Int64.random(in: 1...5000, using: &random))
                }
                let sale = try h.sale(branch, currency: currency, client: Bool.random(using: &random) ? clients.randomElement(using: &random)! : nil, lines: lines,
                                      tips: Bool.random(using: &random) ? [Tip(staffID: staff[branch]![1], amountMinor: 100)] : [], at: at)
                sales.append(sale)
                for _ in 0..<Int.random(in: 0...3, using: &random) {
                    let paidAt = at.adding(minutes: Int.random(in: 0..<(2 * 1440), using: &random))
                    let status: PaymentStatus = [.settled, .settled, .unverified, .pending, .failed].randomElement(using: &random)!
                    let payment = try h.pay(sale, PaymentMethod.allCases.randomElement(using: &random)!, Int64.random(in: 1...10_000, using: &random),
                                            at: paidAt, currency: currency, status: status)
                    if status == .pending { pending.append(payment) }
                    if Int.random(in: 0..<4, using: &random) == 0 {
                        try h.pay(sale, .cash, Int64.random(in: 1...500, using: &random), at: paidAt.adding(minutes: Int.random(in: 1...2000, using: &random)),
                                  currency: currency, kind: .refund, reverses: payment)
                    }
                }
            }
        }
        try write(appointments: 50, sales: 30)
        try await expectSame(shop)

        // Changes after the facts: statuses, reschedules, deletions, a pending payment settled, payments and sales voided.
        try shop.store.write { t in
            for id in appointments.shuffled(using: &random).prefix(12) {
                try t.update("appointments", key: .text(id.rawValue), ["status": .text(AppointmentStatus.allCases.randomElement(using: &random)!.rawValue),
                                                                       "late_cancellation": .bool(Bool.random(using: &random))])
            }
            for id in appointments.shuffled(using: &random).prefix(4) {
                let start = randomInstant()
                let row = try t.fetchOne("SELECT branch_id FROM appointments WHERE id = ?", [.text(id.rawValue)])
                let branch = BranchID(trusted: row!["branch_id"].string)
                let item = AppointmentItem(offeringID: offerings[branch]![0], staffID: staff[branch]![0], start: start, end: start.adding(minutes: 45),
                                           bufferBeforeMinutes: 0, bufferAfterMinutes: 0, priceMinor: 0, resources: [], capacity: 1)
                try t.update("appointments", key: .text(id.rawValue), ["items": .text(JSONColumn.encode([item])), "starts_at": .instant(start),
                                                                       "ends_at": .instant(item.end)])
            }
            for id in appointments.shuffled(using: &random).prefix(3) { try t.delete("appointments", key: .text(id.rawValue)) }
        }
        for payment in pending.prefix(3) {
            try h.insert("payment_events", ["id": .text(h.newID()), "payment_id": .text(payment.rawValue), "status": .text("settled"),
                                            "at": .instant(instant("2026-11-01T00:00:00Z"))])
        }
        for sale in sales.shuffled(using: &random).prefix(3) { try h.voidSale(sale, at: instant("2026-11-01T00:00:00Z")) }
        let paid = try shop.store.read { t in try t.fetchAll("SELECT id, sale_id FROM payments WHERE kind = 'payment' ORDER BY id", []) }
        for row in paid.shuffled(using: &random).prefix(3) {
            try h.pay(SaleID(trusted: row["sale_id"].string), .cash, 0, at: instant("2026-11-01T00:00:00Z"), currency: "KZT", kind: .void,
                      reverses: PaymentID(trusted: row["id"].string))
        }
        try await expectSame(shop)

        // Farida's record is merged into Dana's: her visits and payments count for Dana.
        try shop.store.write { t in try t.update("clients", key: .text(clients[2].rawValue), ["merged_into": .text(clients[0].rawValue)]) }
        try await expectSame(shop)

        // Facts written on another replica arrive by merge (both ways).
        let other = try h.world.makeShop(home: london)
        try sync(shop, to: other)
        let remote = try ReportHistory.Writer(shop: other, start: 500_000)
        for n in 0..<20 {
            let branch = branches[n % 2]
            let start = randomInstant()
            try remote.insert("appointments", [
                "id": .text(remote.newID()), "branch_id": .text(branch.rawValue), "client_id": .text(""), "guest_name": .text("Guest"),
                "items": .text(JSONColumn.encode([AppointmentItem(offeringID: offerings[branch]![1], staffID: staff[branch]![n % 2], start: start,
                                                                  end: start.adding(minutes: 60), bufferBeforeMinutes: 0, bufferAfterMinutes: 0,
                                                                  priceMinor: 0, resources: [], capacity: 1)])),
                "starts_at": .instant(start), "ends_at": .instant(start.adding(minutes: 60)),
                "status": .text(["completed", "cancelled", "no_show", "confirmed"][n % 4]), "source": .text("online"),
                "currency": .text(currencies[branch]!), "created_at": .instant(start.adding(minutes: -600 * n)),
            ])
            let sale = remote.newID()
            try remote.insert("sales", [
                "id": .text(sale), "branch_id": .text(branch.rawValue), "site": .text(other.store.site.hex), "client_id": .text(""),
                "lines": .text(JSONColumn.encode([ReportHistory.line(.service, offerings[branch]![1].rawValue, staff: staff[branch]![0], unit: 700)])),
                "currency": .text(currencies[branch]!), "subtotal_minor": .integer(700), "total_minor": .integer(700), "created_at": .instant(start),
            ])
            try remote.insert("payments", [
                "id": .text(remote.newID()), "sale_id": .text(sale), "kind": .text("payment"), "method": .text("card"), "amount_minor": .integer(700),
                "currency": .text(currencies[branch]!), "initial_status": .text("settled"), "created_at": .instant(start.adding(minutes: 5)),
            ])
        }
        try sync(other, to: shop)
        try await expectSame(shop)
        try await expectSame(other)

        // London moves to another zone: its facts move to other local days.
        try shop.store.write { t in try t.update("branches", key: .text(london.rawValue), ["time_zone": .text("America/New_York")]) }
        try await expectSame(shop)

        // What the observer kept equals what a rebuild derives.
        let kept = try rollups(shop)
        #expect(kept.values.contains { !$0.isEmpty })
        try shop.rebuildDerivedState()
        let rebuilt = try rollups(shop)
        for table in kept.keys.sorted() {
            #expect(kept[table] == rebuilt[table], "\(table) kept by the observer differs from a rebuild")
        }
        try await expectSame(shop)
    }

    @Test("the hand-computed history: every report the same both ways, for each week and day")
    func fixture() async throws {
        let f = try TwoBranchHistory()
        try await expectSameReports(f.h.shop, queries: [f.week, ReportQuery(from: date("2026-03-16"), to: date("2026-03-22")),
                                                        ReportQuery(from: date("2026-03-29"), to: date("2026-03-29"), branches: [f.london]),
                                                        ReportQuery(from: date("2026-03-01"), to: date("2026-05-31"), branches: [f.atyrau, f.london])])
    }

    @Test("a visit's rebooking and ratings follow what is written after it: the client's next appointment, its rejection, a review")
    func rebookingLater() async throws {
        let h = try ReportHistory(now: "2026-06-01T00:00:00Z", home: atyrau)
        try h.branch(atyrau, "Atyrau", zone: "Asia/Atyrau", currency: "KZT", hours: hours("09:00", "18:00"))
        let aigul = try h.staff(atyrau, "Aigul")
        let cut = try h.offering(atyrau, "Cut", category: "hair", minutes: 30, price: 1000, currency: "KZT")
        let dana = try h.client("Dana", "+77010000001")
        let visit = try h.appointment(atyrau, client: dana, [ReportHistory.Item(offering: cut, staff: aigul, start: h.at(atyrau, "2026-03-23", "10:00"), minutes: 30)],
                                      status: .completed, created: h.at(atyrau, "2026-03-01", "10:00"))
        let week = ReportQuery(from: date("2026-03-23"), to: date("2026-03-29"), compare: false)
        func row() async throws -> StaffRow? { try await h.shop.reports.staff(week).figures.staff.first { $0.staffID == aigul } }
        #expect(try await row()?.rebooked == 0)
        // Dana books her next visit at the desk that day, 45 minutes after her visit began: rebooked.
        let next = try h.appointment(atyrau, client: dana, [ReportHistory.Item(offering: cut, staff: aigul, start: h.at(atyrau, "2026-04-20", "10:00"), minutes: 30)],
                                     status: .confirmed, created: h.at(atyrau, "2026-03-23", "10:45"))
        #expect(try await row()?.rebooked == 1)
        try await expectSameReports(h.shop, queries: [week])
        // The home box rejects it: no longer a booking.
        try h.shop.store.write { t in try t.update("appointments", key: .text(next.rawValue), ["status": .text("rejected")]) }
        #expect(try await row()?.rebooked == 0)
        // A review arrives later.
        try h.review(visit, rating: 4, at: h.at(atyrau, "2026-03-24", "12:00"))
        #expect(try await row().map { ($0.ratings, $0.ratingSum) } ?? (0, 0) == (1, 4))
        try await expectSameReports(h.shop, queries: [week])
    }

    @Test("a query outside the dates the rollups cover is computed directly")
    func outsideCoverage() throws {
        let f = try TwoBranchHistory()
        let flags = try f.h.shop.store.read { t in
            [try ReportScope(ReportQuery(from: date("2026-03-01"), to: date("2026-03-31")), source: .rollups, in: t).rollups,
             try ReportScope(ReportQuery(from: date("2026-03-01"), to: date("2026-03-31")), source: .direct, in: t).rollups,
             try ReportScope(ReportQuery(from: date("2099-12-01"), to: date("2100-01-31")), source: .rollups, in: t).rollups,
             try ReportScope(ReportQuery(from: date("1969-12-01"), to: date("1970-01-31")), source: .rollups, in: t).rollups]
        }
        #expect(flags == [true, false, false, false])
    }

    // MARK: Helpers

    func expectSame(_ shop: Shop, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let queries = [ReportQuery(from: date("2026-03-20"), to: date("2026-04-05")), ReportQuery(from: date("2026-03-23"), to: date("2026-03-29")),
                       ReportQuery(from: date("2026-10-19"), to: date("2026-10-25"), branches: [london]),
                       ReportQuery(from: date("2026-10-25"), to: date("2026-10-26"), compare: false),
                       ReportQuery(from: date("2026-01-01"), to: date("2026-12-31"), compare: false)]
        try await expectSameReports(shop, queries: queries, sourceLocation: sourceLocation)
    }

    /// Every report and the dashboard, from the rollups and directly: the same results.
    func expectSameReports(_ shop: Shop, queries: [ReportQuery], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let fast = shop.reports, direct = shop.reports.direct
        for query in queries {
            #expect(try await fast.revenue(query) == direct.revenue(query), "revenue \(query.from)…\(query.to)", sourceLocation: sourceLocation)
            #expect(try await fast.bookings(query) == direct.bookings(query), "bookings \(query.from)…\(query.to)", sourceLocation: sourceLocation)
            #expect(try await fast.utilisation(query) == direct.utilisation(query), "utilisation \(query.from)…\(query.to)", sourceLocation: sourceLocation)
            #expect(try await fast.staff(query) == direct.staff(query), "staff \(query.from)…\(query.to)", sourceLocation: sourceLocation)
            #expect(try await fast.stock(query, slowMoverMaximum: 3) == direct.stock(query, slowMoverMaximum: 3), "stock \(query.from)…\(query.to)",
                    sourceLocation: sourceLocation)
            #expect(try await fast.clients(query) == direct.clients(query), "clients \(query.from)…\(query.to)", sourceLocation: sourceLocation)
            #expect(try await fast.dashboard(today: query.to) == direct.dashboard(today: query.to), "dashboard \(query.to)", sourceLocation: sourceLocation)
        }
    }

    /// Every memo row, and every rollup row whose group is not empty, as text per table.
    func rollups(_ shop: Shop) throws -> [String: Set<String>] {
        try shop.store.read { t in
            var result: [String: Set<String>] = [:]
            for memo in ReportRollups.all {
                result[memo.table] = Set(try t.rows("SELECT * FROM \(memo.table)", []).map { "\($0)" })
                for rollup in memo.rollups {
                    result[rollup.table] = Set(try t.rows("SELECT * FROM \(rollup.table) WHERE n != 0", []).map { "\($0)" })
                }
            }
            result["local_report_offsets"] = Set(try t.rows("SELECT * FROM local_report_offsets", []).map { "\($0)" })
            return result
        }
    }
}

extension ReportHistory {
    /// Inserts rows through another replica's write path.
    struct Writer {
        let shop: Shop
        var start: Int64
        private let counter = Counter()

        final class Counter: @unchecked Sendable { var value: Int64 = 0 }

        init(shop: Shop, start: Int64) throws {
            self.shop = shop
            self.start = start
        }

        func newID() -> String {
            counter.value += 1
            return AppointmentID.generate(at: Instant(milliseconds: 1_700_000_000_000 + start + counter.value)).rawValue
        }

        func insert(_ table: String, _ values: [String: SQLValue]) throws {
            try shop.store.write { try $0.insert(table, values) }
        }
    }
}
