import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

/// A history written row by row through the replica store's write path (`WriteTransaction.insert`,
/// so the derived ledger and stock tables follow as they do for every local write and merge), with
/// every time and status chosen by the test.
final class ReportHistory: @unchecked Sendable {
    let world: TestWorld
    let shop: Shop
    private var counter: Int64 = 0
    private(set) var zones: [BranchID: ZoneRules] = [:]

    init(now: String, home: BranchID) throws {
        world = TestWorld(now: instant(now))
        shop = try world.makeShop(home: home)
    }

    func newID() -> String {
        counter += 1
        return AppointmentID.generate(at: Instant(milliseconds: 1_700_000_000_000 + counter)).rawValue
    }

    func insert(_ table: String, _ values: [String: SQLValue]) throws {
        try shop.store.write { try $0.insert(table, values) }
    }

    func branch(_ id: BranchID, _ name: String, zone: String, currency: String, hours: WallInterval) throws {
        try shop.save(Branch(id: id, name: name, timeZone: zone, currency: currency, region: "KZ", openingHours: .every(Weekday.allCases, [hours])))
        zones[id] = try ZoneRules.named(zone)
    }

    func staff(_ branch: BranchID, _ name: String) throws -> StaffID {
        let id = StaffID(trusted: newID())
        try shop.save(StaffMember(id: id, branchID: branch, name: name, schedule: .every(Weekday.allCases, [WallInterval("00:00", "24:00")!])))
        return id
    }

    func resource(_ branch: BranchID, _ name: String, units: Int) throws -> ResourceID {
        let id = ResourceID(trusted: newID())
        try shop.save(Resource(id: id, branchID: branch, name: name, units: units))
        return id
    }

    func offering(_ branch: BranchID, _ name: String, category: String, minutes: Int, price: Int64, currency: String,
                  resources: [ResourceRequirement] = [], capacity: Int = 1) throws -> OfferingID {
        let id = OfferingID(trusted: newID())
        try shop.save(Offering(id: id, branchID: branch, category: category, names: ["en": name], durationMinutes: minutes,
                               price: Money(amountMinor: price, currency: currency), capacity: capacity, resources: resources))
        return id
    }

    func client(_ name: String, _ phone: String) throws -> ClientID {
        let id = ClientID(trusted: newID())
        try insert("clients", ["id": .text(id.rawValue), "name": .text(name), "phone": .text(phone), "created_at": .integer(1)])
        return id
    }

    /// The instant of a branch-local wall time.
    func at(_ branch: BranchID, _ day: String, _ time: String) -> Instant {
        zones[branch]!.resolve(date(day), minutes: WallTime(time)!.minutes).instant
    }

    struct Item {
        var offering: OfferingID
        var staff: StaffID
        var start: Instant
        var minutes: Int
        var resources: [ResourceRequirement] = []
        var capacity: Int = 1
    }

    @discardableResult
    func appointment(_ branch: BranchID, client: ClientID?, _ items: [Item], status: AppointmentStatus, late: Bool = false,
                     source: BookingSource = .frontDesk, created: Instant, elsewhere: Bool = false, currency: String = "KZT") throws -> AppointmentID {
        let id = AppointmentID(trusted: newID())
        let stored = items.map { AppointmentItem(offeringID: $0.offering, staffID: $0.staff, start: $0.start, end: $0.start.adding(minutes: $0.minutes),
                                                 bufferBeforeMinutes: 0, bufferAfterMinutes: 0, priceMinor: 0, resources: $0.resources, capacity: $0.capacity) }
        try insert("appointments", [
            "id": .text(id.rawValue), "branch_id": .text(branch.rawValue), "client_id": .text(client?.rawValue ?? ""),
            "guest_name": .text(client == nil ? "Guest" : ""), "items": .text(JSONColumn.encode(stored)),
            "starts_at": .instant(stored.map(\.start).min()!), "ends_at": .instant(stored.map(\.end).max()!), "status": .text(status.rawValue),
            "late_cancellation": .bool(late), "source": .text(source.rawValue), "currency": .text(currency), "created_at": .instant(created),
        ])
        try insert("appointment_events", ["id": .text(newID()), "appointment_id": .text(id.rawValue), "at": .instant(created), "action": .text("created"),
                                          "to_status": .text(elsewhere ? "requested" : "confirmed")])
        return id
    }

    static func line(_ kind: SaleLine.Kind, _ reference: String, staff: StaffID? = nil, quantity: Int = 1, unit: Int64, discount: Int64 = 0) -> SaleLine {
        let net = Int64(quantity) * unit - discount
        return SaleLine(kind: kind, reference: reference, staffID: staff, appointmentID: nil, names: ["en": reference], quantity: quantity,
                        unitPriceMinor: unit, discountMinor: discount, netMinor: net, taxRate: nil, taxMinor: 0, totalMinor: net)
    }

    @discardableResult
    func sale(_ branch: BranchID, currency: String, client: ClientID?, appointments: [AppointmentID] = [], lines: [SaleLine], tips: [Tip] = [],
              at: Instant) throws -> SaleID {
        let id = SaleID(trusted: newID())
        let discount = lines.reduce(0) { $0 + $1.discountMinor }
        let tipsTotal = tips.reduce(0) { $0 + $1.amountMinor }
        let subtotal = lines.reduce(0) { $0 + $1.totalMinor }
        try insert("sales", [
            "id": .text(id.rawValue), "branch_id": .text(branch.rawValue), "site": .text(shop.store.site.hex), "client_id": .text(client?.rawValue ?? ""),
            "appointments": .text(JSONColumn.encode(appointments.map(\.rawValue))), "lines": .text(JSONColumn.encode(lines)),
            "tips": .text(JSONColumn.encode(tips)), "currency": .text(currency), "subtotal_minor": .integer(subtotal),
            "discount_minor": .integer(discount), "tips_minor": .integer(tipsTotal), "total_minor": .integer(subtotal + tipsTotal), "created_at": .instant(at),
        ])
        return id
    }

    @discardableResult
    func pay(_ sale: SaleID, _ method: PaymentMethod, _ amount: Int64, at: Instant, currency: String, kind: Payment.Kind = .payment,
             reverses: PaymentID? = nil, status: PaymentStatus = .settled) throws -> PaymentID {
        let id = PaymentID(trusted: newID())
        try insert("payments", [
            "id": .text(id.rawValue), "sale_id": .text(sale.rawValue), "kind": .text(kind.rawValue), "reverses": .text(reverses?.rawValue ?? ""),
            "method": .text(method.rawValue), "amount_minor": .integer(amount), "currency": .text(currency), "initial_status": .text(status.rawValue),
            "created_at": .instant(at),
        ])
        return id
    }

    func voidSale(_ sale: SaleID, at: Instant) throws {
        try insert("sale_voids", ["id": .text(newID()), "sale_id": .text(sale.rawValue), "reason": .text("mistake"), "at": .instant(at)])
    }

    func review(_ appointment: AppointmentID, rating: Int, at: Instant) throws {
        try insert("visit_reviews", ["id": .text(newID()), "appointment_id": .text(appointment.rawValue), "rating": .int(rating), "at": .instant(at)])
    }

    func product(_ name: String, category: String, cost: Int64) throws -> ProductID {
        let id = ProductID(trusted: newID())
        try insert("products", ["id": .text(id.rawValue), "names": .text(JSONColumn.encode(["en": name])), "category": .text(category),
                                "cost_minor": .integer(cost), "price_minor": .integer(150_000)])
        return id
    }

    func movement(_ product: ProductID, _ branch: BranchID, _ kind: StockMovement.Kind, _ quantity: Int, at: Instant, sale: SaleID? = nil) throws {
        try insert("stock_movements", ["id": .text(newID()), "product_id": .text(product.rawValue), "branch_id": .text(branch.rawValue),
                                       "kind": .text(kind.rawValue), "quantity": .int(quantity), "sale_id": .text(sale?.rawValue ?? ""), "at": .instant(at)])
    }
}

/// The hand-computed history of docs/reports.md's worked example: two branches (Atyrau, UTC+5,
/// no DST, KZT; London, GBP, clocks go forward on Sunday 29 March 2026), the week of 23–29 March
/// 2026 and the week before it.
final class TwoBranchHistory: @unchecked Sendable {
    let h: ReportHistory
    let atyrau = BranchID(trusted: "01900000-0000-7000-8000-00000000a001")
    let london = BranchID(trusted: "01900000-0000-7000-8000-00000000b001")
    var aigul: StaffID!, ben: StaffID!, chair: ResourceID!
    var cut: OfferingID!, colour: OfferingID!, shampoo: ProductID!, conditioner: ProductID!
    var c1: ClientID!, c2: ClientID!, c3: ClientID!, c4: ClientID!, c5: ClientID!
    var a1: AppointmentID!, a4: AppointmentID!, l1: AppointmentID!, l2: AppointmentID!

    init() throws {
        h = try ReportHistory(now: "2026-07-01T00:00:00Z", home: atyrau)
        try h.branch(atyrau, "Atyrau", zone: "Asia/Atyrau", currency: "KZT", hours: hours("10:00", "18:00"))
        try h.branch(london, "London", zone: "Europe/London", currency: "GBP", hours: hours("09:00", "17:00"))
        aigul = try h.staff(atyrau, "Aigul")
        ben = try h.staff(london, "Ben")
        chair = try h.resource(atyrau, "Chair", units: 2)
        cut = try h.offering(atyrau, "Cut", category: "hair", minutes: 60, price: 500_000, currency: "KZT", resources: [ResourceRequirement(resource: chair)])
        colour = try h.offering(london, "Colour", category: "colour", minutes: 90, price: 6000, currency: "GBP")
        c1 = try h.client("Dana", "+77010000001")
        c2 = try h.client("Erlan", "+77010000002")
        c3 = try h.client("Farida", "+77010000003")
        c4 = try h.client("Grace", "+447700900004")
        c5 = try h.client("Harry", "+447700900005")
        shampoo = try h.product("Shampoo", category: "retail", cost: 80_000)
        conditioner = try h.product("Conditioner", category: "retail", cost: -1)
        try h.movement(shampoo, atyrau, .received, 10, at: instant("2026-03-01T05:00:00Z"))
        try h.movement(conditioner, atyrau, .received, 5, at: instant("2026-03-01T05:00:00Z"))

        func cutAt(_ day: String, _ time: String) -> ReportHistory.Item {
            ReportHistory.Item(offering: cut, staff: aigul, start: h.at(atyrau, day, time), minutes: 60, resources: [ResourceRequirement(resource: chair)])
        }
        func colourAt(_ day: String, _ time: String) -> ReportHistory.Item {
            ReportHistory.Item(offering: colour, staff: ben, start: h.at(london, day, time), minutes: 90)
        }
        // The week before.
        let a0 = try h.appointment(atyrau, client: c1, [cutAt("2026-03-16", "10:00")], status: .completed, created: h.at(atyrau, "2026-03-01", "12:00"))
        let s0 = try h.sale(atyrau, currency: "KZT", client: c1, appointments: [a0], lines: [ReportHistory.line(.service, cut.rawValue, staff: aigul, unit: 500_000)],
                            at: h.at(atyrau, "2026-03-16", "10:30"))
        try h.pay(s0, .cash, 500_000, at: h.at(atyrau, "2026-03-16", "10:31"), currency: "KZT")
        // Atyrau, 23–29 March.
        a1 = try h.appointment(atyrau, client: c1, [cutAt("2026-03-23", "10:00")], status: .completed, created: h.at(atyrau, "2026-03-20", "10:00"))
        try h.appointment(atyrau, client: nil, [cutAt("2026-03-24", "11:00")], status: .noShow, source: .phone, created: h.at(atyrau, "2026-03-24", "09:00"))
        try h.appointment(atyrau, client: c2, [cutAt("2026-03-25", "12:00")], status: .cancelled, late: true, source: .online,
                          created: h.at(atyrau, "2026-03-10", "12:00"))
        a4 = try h.appointment(atyrau, client: c1, [cutAt("2026-03-26", "14:00")], status: .completed, created: h.at(atyrau, "2026-03-23", "10:30"))
        try h.appointment(atyrau, client: c3, [cutAt("2026-03-27", "16:00")], status: .confirmed, source: .kiosk, created: h.at(atyrau, "2026-03-27", "15:30"))
        let s1 = try h.sale(atyrau, currency: "KZT", client: c1, appointments: [a1],
                            lines: [ReportHistory.line(.service, cut.rawValue, staff: aigul, unit: 500_000, discount: 50_000),
                                    ReportHistory.line(.product, shampoo.rawValue, quantity: 2, unit: 150_000)],
                            tips: [Tip(staffID: aigul, amountMinor: 20_000)], at: h.at(atyrau, "2026-03-23", "11:00"))
        try h.movement(shampoo, atyrau, .sold, -2, at: h.at(atyrau, "2026-03-23", "11:00"), sale: s1)
        try h.pay(s1, .cash, 500_000, at: h.at(atyrau, "2026-03-23", "11:00"), currency: "KZT")
        let p2 = try h.pay(s1, .card, 270_000, at: h.at(atyrau, "2026-03-23", "11:01"), currency: "KZT")
        try h.pay(s1, .card, 100_000, at: h.at(atyrau, "2026-03-25", "13:00"), currency: "KZT", kind: .refund, reverses: p2)
        let s2 = try h.sale(atyrau, currency: "KZT", client: c1, appointments: [a4], lines: [ReportHistory.line(.service, cut.rawValue, staff: aigul, unit: 500_000)],
                            at: h.at(atyrau, "2026-03-26", "15:10"))
        try h.pay(s2, .kaspiQR, 500_000, at: h.at(atyrau, "2026-03-26", "15:11"), currency: "KZT", status: .pending)
        try h.pay(s2, .cash, 500_000, at: h.at(atyrau, "2026-03-26", "15:12"), currency: "KZT")
        let p5 = try h.pay(s2, .card, 500_000, at: h.at(atyrau, "2026-03-26", "15:13"), currency: "KZT")
        try h.pay(s2, .card, 500_000, at: h.at(atyrau, "2026-03-26", "15:14"), currency: "KZT", kind: .void, reverses: p5)
        let s3 = try h.sale(atyrau, currency: "KZT", client: nil, lines: [ReportHistory.line(.product, shampoo.rawValue, unit: 150_000)],
                            at: h.at(atyrau, "2026-03-27", "12:00"))
        try h.voidSale(s3, at: h.at(atyrau, "2026-03-27", "12:01"))
        try h.review(a1, rating: 5, at: h.at(atyrau, "2026-03-23", "13:00"))
        try h.review(a4, rating: 4, at: h.at(atyrau, "2026-03-26", "17:00"))
        // London, 23–29 March (Sunday the 29th is 23 hours long).
        l1 = try h.appointment(london, client: c4, [colourAt("2026-03-28", "09:00")], status: .completed, created: h.at(london, "2026-03-28", "08:00"), currency: "GBP")
        l2 = try h.appointment(london, client: c5, [colourAt("2026-03-29", "09:00")], status: .completed, source: .phone,
                               created: instant("2026-03-25T10:00:00Z"), elsewhere: true, currency: "GBP")
        let s4 = try h.sale(london, currency: "GBP", client: c4, appointments: [l1], lines: [ReportHistory.line(.service, colour.rawValue, staff: ben, unit: 6000)],
                            tips: [Tip(staffID: ben, amountMinor: 500)], at: h.at(london, "2026-03-28", "10:40"))
        try h.pay(s4, .card, 6500, at: h.at(london, "2026-03-28", "10:41"), currency: "GBP")
        let s5 = try h.sale(london, currency: "GBP", client: c5, appointments: [l2], lines: [ReportHistory.line(.service, colour.rawValue, staff: ben, unit: 6000)],
                            at: h.at(london, "2026-03-29", "10:45"))
        let p7 = try h.pay(s5, .cash, 6000, at: h.at(london, "2026-03-29", "10:46"), currency: "GBP")
        try h.pay(s5, .cash, 1000, at: h.at(london, "2026-03-30", "09:00"), currency: "GBP", kind: .refund, reverses: p7)
        try h.review(l1, rating: 3, at: h.at(london, "2026-03-28", "12:00"))
        try h.review(l2, rating: 0, at: h.at(london, "2026-03-29", "12:00"))
        // Later: Grace comes back in May.
        try h.appointment(london, client: c4, [colourAt("2026-05-10", "10:00")], status: .completed, created: h.at(london, "2026-04-20", "12:00"), currency: "GBP")
    }

    var week: ReportQuery { ReportQuery(from: date("2026-03-23"), to: date("2026-03-29")) }
}

@Suite("Reports: a hand-computed two-branch history")
struct ReportFixtureTests {
    @Test("revenue: paid, refunded, net per currency; methods, days, weeks, lines, tips, discounts; the week before")
    func revenue() async throws {
        let f = try TwoBranchHistory()
        let report = try await f.h.shop.reports.revenue(f.week)
        #expect(report.period == ReportPeriod(from: date("2026-03-23"), to: date("2026-03-29"), days: 7))
        #expect(report.previousPeriod == ReportPeriod(from: date("2026-03-16"), to: date("2026-03-22"), days: 7))
        #expect(report.figures.currencies.map(\.currency) == ["GBP", "KZT"])
        let gbp = report.figures.currencies[0], kzt = report.figures.currencies[1]
        // KZT: cash 500,000 + card 270,000 (Mon) + cash 500,000 (Thu); the pending QR and the voided card do not count.
        #expect(kzt.paidMinor == 1_270_000)
        #expect(kzt.refundedMinor == 100_000)
        #expect(kzt.netMinor == 1_170_000)
        #expect(kzt.payments == 3 && kzt.refunds == 1)
        #expect(kzt.byMethod == [CurrencyRevenue.Method(method: "card", paidMinor: 270_000, refundedMinor: 100_000, payments: 1, refunds: 1),
                                 CurrencyRevenue.Method(method: "cash", paidMinor: 1_000_000, refundedMinor: 0, payments: 2, refunds: 0)])
        #expect(kzt.byBranch == [CurrencyRevenue.BranchRow(branchID: f.atyrau, name: "Atyrau", paidMinor: 1_270_000, refundedMinor: 100_000)])
        #expect(kzt.byDay == [MoneyBucket(start: date("2026-03-23"), paidMinor: 770_000, refundedMinor: 0),
                              MoneyBucket(start: date("2026-03-25"), paidMinor: 0, refundedMinor: 100_000),
                              MoneyBucket(start: date("2026-03-26"), paidMinor: 500_000, refundedMinor: 0)])
        #expect(kzt.byWeek == [MoneyBucket(start: date("2026-03-23"), paidMinor: 1_270_000, refundedMinor: 100_000)])
        #expect(kzt.byMonth == [MoneyBucket(start: date("2026-03-01"), paidMinor: 1_270_000, refundedMinor: 100_000)])
        // Sales: S1 (770,000) and S2 (500,000); the voided S3 is left out.
        #expect(kzt.sales == 2 && kzt.salesMinor == 1_270_000 && kzt.averageTicketMinor == 635_000)
        #expect(kzt.discountsMinor == 50_000 && kzt.tipsMinor == 20_000)
        #expect(kzt.tipsByStaff == [AmountRow(key: f.aigul.rawValue, name: "Aigul", count: 0, amountMinor: 20_000)])
        #expect(kzt.byService == [AmountRow(key: f.cut.rawValue, name: "Cut", count: 2, amountMinor: 950_000)])
        #expect(kzt.byProduct == [AmountRow(key: f.shampoo.rawValue, name: "Shampoo", count: 2, amountMinor: 300_000)])
        #expect(kzt.byCategory == [AmountRow(key: "hair", name: "hair", count: 2, amountMinor: 950_000),
                                   AmountRow(key: "retail", name: "retail", count: 2, amountMinor: 300_000)])
        #expect(kzt.byStaff == [AmountRow(key: f.aigul.rawValue, name: "Aigul", count: 2, amountMinor: 950_000)])
        // GBP: Saturday's card 6,500 and Sunday's cash 6,000 (10:46 BST = 09:46 UTC); Monday's refund is outside.
        #expect(gbp.paidMinor == 12_500 && gbp.refundedMinor == 0 && gbp.netMinor == 12_500)
        #expect(gbp.byDay == [MoneyBucket(start: date("2026-03-28"), paidMinor: 6500, refundedMinor: 0),
                              MoneyBucket(start: date("2026-03-29"), paidMinor: 6000, refundedMinor: 0)])
        #expect(gbp.byMethod.map(\.method) == ["card", "cash"])
        #expect(gbp.sales == 2 && gbp.salesMinor == 12_500 && gbp.averageTicketMinor == 6250 && gbp.tipsMinor == 500 && gbp.discountsMinor == 0)
        #expect(gbp.byStaff == [AmountRow(key: f.ben.rawValue, name: "Ben", count: 2, amountMinor: 12_000)])
        #expect(gbp.byCategory == [AmountRow(key: "colour", name: "colour", count: 2, amountMinor: 12_000)])
        // The week before: one cash payment at Atyrau.
        let previous = try #require(report.previous)
        #expect(previous.currencies.map(\.currency) == ["KZT"])
        #expect(previous.currencies[0].paidMinor == 500_000 && previous.currencies[0].sales == 1)
        // Freshness: this box is Atyrau's; London's newest fact is Grace's May booking, made on 20 April.
        #expect(report.freshness.map(\.name) == ["Atyrau", "London"])
        #expect(report.freshness[0].boxes.map(\.site) == [f.h.shop.store.site.hex])
        #expect(report.freshness[0].boxes[0].sequence == f.h.shop.store.versionVector[f.h.shop.store.site])
        #expect(report.freshness[0].newestFactAt == f.h.at(f.atyrau, "2026-03-27", "15:30"))
        #expect(report.freshness[1].boxes.isEmpty)
        #expect(report.freshness[1].newestFactAt == f.h.at(f.london, "2026-04-20", "12:00"))
    }

    @Test("a branch alone: only its currency and its facts")
    func oneBranch() async throws {
        let f = try TwoBranchHistory()
        var query = f.week
        query.branches = [f.london]
        let report = try await f.h.shop.reports.revenue(query)
        #expect(report.branches == [f.london])
        #expect(report.figures.currencies.map(\.currency) == ["GBP"])
        #expect(report.freshness.map(\.name) == ["London"])
        let bookings = try await f.h.shop.reports.bookings(query)
        #expect(bookings.figures.counts == BookingCounts(scheduled: 2, completed: 2, cancelled: 0, lateCancelled: 0, noShows: 0, open: 0))
    }

    @Test("bookings: scheduled, completed, cancelled, late, no-shows, sources, booked elsewhere, lead times")
    func bookings() async throws {
        let f = try TwoBranchHistory()
        let report = try await f.h.shop.reports.bookings(f.week)
        let figures = report.figures
        #expect(figures.counts == BookingCounts(scheduled: 7, completed: 4, cancelled: 1, lateCancelled: 1, noShows: 1, open: 1))
        #expect(figures.created == 5)
        #expect(figures.bySource == ["front_desk": 2, "phone": 2, "kiosk": 1])
        #expect(figures.bookedElsewhere == 1)
        #expect(figures.leadTime == ["days_3_7": 3, "same_day": 2, "days_7_30": 1, "same_hour": 1])
        #expect(figures.byStaff == [BookingsRow(key: f.aigul.rawValue, name: "Aigul", counts: BookingCounts(scheduled: 5, completed: 2, cancelled: 1, lateCancelled: 1, noShows: 1, open: 1)),
                                    BookingsRow(key: f.ben.rawValue, name: "Ben", counts: BookingCounts(scheduled: 2, completed: 2))])
        #expect(figures.byService.map(\.name) == ["Cut", "Colour"])
        #expect(figures.byBranch.map(\.counts.scheduled) == [5, 2])
        #expect(report.previous?.counts == BookingCounts(scheduled: 1, completed: 1))
        #expect(report.previous?.created == 1)
        #expect(figures.counts.noShowRate == 1.0 / 7.0)
    }

    @Test("utilisation: available and booked minutes per staff member and resource, by day and hour; heat maps")
    func utilisation() async throws {
        let f = try TwoBranchHistory()
        let figures = try await f.h.shop.reports.utilisation(f.week).figures
        #expect(figures.staff == [UtilisationRow(id: f.aigul.rawValue, name: "Aigul", branchID: f.atyrau, availableMinutes: 3360, bookedMinutes: 240),
                                  UtilisationRow(id: f.ben.rawValue, name: "Ben", branchID: f.london, availableMinutes: 3360, bookedMinutes: 180)])
        #expect(figures.resources == [UtilisationRow(id: f.chair.rawValue, name: "Chair", branchID: f.atyrau, availableMinutes: 6720, bookedMinutes: 240)])
        #expect(figures.availableMinutes == 6720 && figures.bookedMinutes == 420)
        #expect(figures.byDay.count == 7)
        #expect(figures.byDay[date("2026-03-29")] == MinutesBucket(availableMinutes: 960, bookedMinutes: 90))
        #expect(figures.byDay[date("2026-03-25")] == MinutesBucket(availableMinutes: 960, bookedMinutes: 0))
        var hours = [MinutesBucket](repeating: MinutesBucket(availableMinutes: 0, bookedMinutes: 0), count: 24)
        hours[9] = MinutesBucket(availableMinutes: 420, bookedMinutes: 120)
        for hour in 10...16 { hours[hour] = MinutesBucket(availableMinutes: 840, bookedMinutes: 0) }
        hours[10].bookedMinutes = 120
        hours[11].bookedMinutes = 60
        hours[14].bookedMinutes = 60
        hours[16].bookedMinutes = 60
        hours[17] = MinutesBucket(availableMinutes: 420, bookedMinutes: 0)
        #expect(figures.byHour == hours)
        var heat = [[Int]](repeating: [Int](repeating: 0, count: 24), count: 7)
        heat[0][10] = 1; heat[1][11] = 1; heat[2][12] = 1; heat[3][14] = 1; heat[4][16] = 1; heat[5][9] = 1; heat[6][9] = 1
        #expect(figures.bookingsHeat == heat)
        var kzt = [[Int64]](repeating: [Int64](repeating: 0, count: 24), count: 7)
        kzt[0][11] = 770_000; kzt[3][15] = 500_000
        var gbp = [[Int64]](repeating: [Int64](repeating: 0, count: 24), count: 7)
        gbp[5][10] = 6500; gbp[6][10] = 6000
        #expect(figures.revenueHeat == ["KZT": kzt, "GBP": gbp])
    }

    @Test("clients: new and returning, retention, frequency, lifetime value, top clients, not seen")
    func clients() async throws {
        let f = try TwoBranchHistory()
        let figures = try await f.h.shop.reports.clients(f.week, notSeenForDays: 60).figures
        #expect(figures.visiting == 3 && figures.new == 2 && figures.returning == 1)
        #expect(figures.frequency == ["2": 1, "1": 2])
        #expect(figures.retention == [ClientsFigures.Retention(days: 30, eligible: 3, returned: 1), ClientsFigures.Retention(days: 60, eligible: 3, returned: 2),
                                      ClientsFigures.Retention(days: 90, eligible: 3, returned: 2)])
        #expect(figures.lifetimeValue == [
            ClientsFigures.LifetimeValue(currency: "GBP", clients: 2, totalMinor: 11_500, minimumMinor: 5000, p25Minor: 5000, medianMinor: 5000, p75Minor: 6500,
                                         p90Minor: 6500, maximumMinor: 6500),
            ClientsFigures.LifetimeValue(currency: "KZT", clients: 1, totalMinor: 1_670_000, minimumMinor: 1_670_000, p25Minor: 1_670_000,
                                         medianMinor: 1_670_000, p75Minor: 1_670_000, p90Minor: 1_670_000, maximumMinor: 1_670_000),
        ])
        #expect(figures.topClients.map { "\($0.currency) \($0.name) \($0.amountMinor) \($0.phone)" } ==
                ["GBP Grace 6500 +447700900004", "GBP Harry 6000 +447700900005", "KZT Dana 1170000 +77010000001"])
        #expect(figures.notSeen.map { "\($0.name) \($0.phone) \($0.visits)" } == ["Harry +447700900005 1", "Dana +77010000001 3"])
        #expect(figures.notSeen.map(\.lastVisit) == [f.h.at(f.london, "2026-03-29", "09:00"), f.h.at(f.atyrau, "2026-03-26", "14:00")])
    }

    @Test("staff: services, revenue and tips, utilisation, rebooking, ratings — the same numbers as the other reports")
    func staff() async throws {
        let f = try TwoBranchHistory()
        let figures = try await f.h.shop.reports.staff(f.week).figures
        #expect(figures.staff == [
            StaffRow(staffID: f.aigul, name: "Aigul", branchID: f.atyrau, servicesPerformed: 2, revenue: ["KZT": 950_000], tips: ["KZT": 20_000],
                     availableMinutes: 3360, bookedMinutes: 240, completedVisits: 2, rebooked: 1, ratings: 2, ratingSum: 9),
            StaffRow(staffID: f.ben, name: "Ben", branchID: f.london, servicesPerformed: 2, revenue: ["GBP": 12_000], tips: ["GBP": 500],
                     availableMinutes: 3360, bookedMinutes: 180, completedVisits: 2, rebooked: 0, ratings: 1, ratingSum: 3),
        ])
        #expect(figures.staff[0].averageRating == 4.5)
        let revenue = try await f.h.shop.reports.revenue(f.week).figures
        let utilisation = try await f.h.shop.reports.utilisation(f.week).figures
        for row in figures.staff {
            for (currency, amount) in row.revenue {
                #expect(revenue.currencies.first { $0.currency == currency }?.byStaff.first { $0.key == row.staffID.rawValue }?.amountMinor == amount)
            }
            #expect(utilisation.staff.first { $0.id == row.staffID.rawValue }?.bookedMinutes == row.bookedMinutes)
        }
    }

    @Test("stock: sales by product, stock value at cost, slow movers")
    func stock() async throws {
        let f = try TwoBranchHistory()
        let figures = try await f.h.shop.reports.stock(f.week).figures
        #expect(figures.salesByProduct == ["KZT": [AmountRow(key: f.shampoo.rawValue, name: "Shampoo", count: 2, amountMinor: 300_000)]])
        #expect(figures.stockValue == [StockValueRow(branchID: f.atyrau, currency: "KZT", valueMinor: 640_000, withoutCost: 1),
                                       StockValueRow(branchID: f.london, currency: "GBP", valueMinor: 0, withoutCost: 0)])
        #expect(figures.slowMovers == [SlowMover(productID: f.conditioner, name: "Conditioner", branchID: f.atyrau, quantity: 5, sold: 0)])
        let two = try await f.h.shop.reports.stock(f.week, slowMoverMaximum: 2).figures
        #expect(two.slowMovers.map(\.name) == ["Conditioner", "Shampoo"])
    }

    @Test("utilisation's available minutes honour time off, a staff member's day override and a branch's closed day")
    func availableExceptions() async throws {
        let f = try TwoBranchHistory()
        _ = try f.h.shop.addTimeOff(staff: f.aigul, range: TimeRange(start: f.h.at(f.atyrau, "2026-03-24", "12:00"), end: f.h.at(f.atyrau, "2026-03-24", "14:00")))
        try f.h.shop.setOverride(DateOverride(date: date("2026-03-25"), intervals: [hours("10:00", "12:00")]), staff: f.aigul)
        try f.h.shop.setOverride(DateOverride(date: date("2026-03-26"), intervals: []), branch: f.atyrau)
        // Two weeks: the first week's ordinary days come first, so the exceptions must not reuse them.
        let query = ReportQuery(from: date("2026-03-16"), to: date("2026-03-29"), branches: [f.atyrau])
        let figures = try await f.h.shop.reports.utilisation(query).figures
        var expected: [LocalDate: Int] = [:]
        for day in 16...29 { expected[date("2026-03-\(day)")] = 480 }
        expected[date("2026-03-24")] = 360
        expected[date("2026-03-25")] = 120
        expected[date("2026-03-26")] = 0
        #expect(figures.byDay.mapValues(\.availableMinutes).filter { $0.value > 0 } == expected.filter { $0.value > 0 })
        #expect(figures.byDay[date("2026-03-26")]?.availableMinutes == 0)
        #expect(figures.staff.map(\.availableMinutes) == [7 * 480 + 2400])
        #expect(figures.resources.map(\.availableMinutes) == [2 * 13 * 480])
        #expect(figures.byHour[12].availableMinutes == 60 * 11 && figures.byHour[10].availableMinutes == 60 * 13)
    }

    @Test("a group session books its staff member and resource once, however many join it")
    func groupSession() async throws {
        let branch = BranchID(trusted: "01900000-0000-7000-8000-00000000c001")
        let h = try ReportHistory(now: "2026-07-01T00:00:00Z", home: branch)
        try h.branch(branch, "Studio", zone: "Asia/Atyrau", currency: "KZT", hours: hours("10:00", "18:00"))
        let coach = try h.staff(branch, "Coach")
        let room = try h.resource(branch, "Room", units: 1)
        let yoga = try h.offering(branch, "Yoga", category: "class", minutes: 60, price: 1000, currency: "KZT",
                                  resources: [ResourceRequirement(resource: room)], capacity: 3)
        let start = h.at(branch, "2026-03-23", "10:00")
        for _ in 0..<3 {
            try h.appointment(branch, client: nil, [ReportHistory.Item(offering: yoga, staff: coach, start: start, minutes: 60,
                                                                        resources: [ResourceRequirement(resource: room)], capacity: 3)],
                              status: .confirmed, created: start.adding(minutes: -600))
        }
        let figures = try await h.shop.reports.utilisation(ReportQuery(from: date("2026-03-23"), to: date("2026-03-23"))).figures
        #expect(figures.staff.map(\.bookedMinutes) == [60])
        #expect(figures.resources.map(\.bookedMinutes) == [60])
        #expect(figures.bookingsHeat[0][10] == 3)
    }

    @Test("dashboard: today, this week and a 14-day sparkline from the same facts as the reports")
    func dashboard() async throws {
        let f = try TwoBranchHistory()
        let dashboard = try await f.h.shop.reports.dashboard(today: date("2026-03-29"))
        #expect(dashboard.today == DashboardFigures.Window(from: date("2026-03-29"), to: date("2026-03-29"), netMinor: ["GBP": 6000],
                                                            bookings: BookingCounts(scheduled: 1, completed: 1), availableMinutes: 960, bookedMinutes: 90))
        #expect(dashboard.week == DashboardFigures.Window(from: date("2026-03-23"), to: date("2026-03-29"), netMinor: ["KZT": 1_170_000, "GBP": 12_500],
                                                           bookings: BookingCounts(scheduled: 7, completed: 4, cancelled: 1, lateCancelled: 1, noShows: 1, open: 1),
                                                           availableMinutes: 6720, bookedMinutes: 420))
        #expect(dashboard.sparkline.map(\.date) == (0..<14).map { date("2026-03-16").adding(days: $0) })
        #expect(dashboard.sparkline[0] == DashboardFigures.Day(date: date("2026-03-16"), netMinor: ["KZT": 500_000], scheduled: 1, noShows: 0,
                                                                availableMinutes: 960, bookedMinutes: 60))
        #expect(dashboard.sparkline[8].noShows == 1)
        #expect(dashboard.freshness.map(\.name) == ["Atyrau", "London"])
        // The home branch's today by default (1 July 2026 at 05:00 in Atyrau).
        #expect(try await f.h.shop.reports.dashboard().today.from == date("2026-07-01"))
    }
}
