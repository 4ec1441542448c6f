import DemoShop
import Domain
import Foundation
import Logging
import Replication
import Testing
import TestSupport

/// A throw-away replica in a temporary directory whose store runs on a `DemoClock`, as `serve --demo` opens it.
final class DemoReplica: Sendable {
    let fixture = TestFixture(prefix: "edgenode-demo")
    var directory: String { fixture.directory }
    let clock = DemoClock()
    let branchID: BranchID
    let shop: Shop

    /// - Parameter clocked: open the store on `clock` (as `serve --demo` must); false leaves it on the system clock.
    init(branchID: BranchID = BranchID.generate(at: Instant(milliseconds: Int64(PhysicalClock.system.now()))), synchronous: String = "OFF",
         clocked: Bool = true) throws {
        self.branchID = branchID
        let store = try fixture.makeStore(physicalClock: clocked ? clock.physicalClock : .system, name: "demo", branch: branchID.rawValue,
                                          synchronous: synchronous)
        shop = try Shop(store: store, logger: testLogger)
    }

    /// Every client, through the domain's own reader.
    func clients() throws -> [Client] {
        let ids = try shop.store.read { try $0.rows("SELECT id FROM clients ORDER BY id") }.compactMap { $0.first?.textValue.flatMap(ClientID.init) }
        return try ids.map { try shop.client($0) }
    }

    /// Appointments starting on each local date, by date.
    func appointments(_ dates: [LocalDate]) throws -> [LocalDate: [Appointment]] {
        Dictionary(uniqueKeysWithValues: try dates.map { ($0, try shop.appointments(branch: branchID, date: $0)) })
    }
}

/// One seeded salon (seed 2026), shared by the tests that only read it.
final class SeededDemo: Sendable {
    let replica: DemoReplica
    let summary: DemoSummary
    let zone: ZoneRules
    let today: LocalDate

    init() async throws {
        replica = try DemoReplica()
        summary = try await DemoShop.seed(replica.shop, branchID: replica.branchID, clock: replica.clock)
        zone = try ZoneRules.named("Asia/Atyrau")
        today = zone.localDate(of: replica.shop.now)
    }

    var past: [LocalDate] { (1...14).map { today.adding(days: -$0) } }
    var future: [LocalDate] { (1...14).map { today.adding(days: $0) } }
}

/// Seeded once, on first use, by whichever test asks first.
let sharedDemo = Task { try await SeededDemo() }

func demo() async throws -> SeededDemo { try await sharedDemo.value }

/// Letters of the Kazakh Cyrillic alphabet that Russian does not have.
let kazakhLetters: Set<Character> = ["ә", "ғ", "қ", "ң", "ө", "ұ", "ү", "һ", "і", "Ә", "Ғ", "Қ", "Ң", "Ө", "Ұ", "Ү", "Һ", "І"]

let russianFirstNames: Set<String> = [
    "Ольга", "Елена", "Татьяна", "Наталья", "Ирина", "Светлана", "Анна", "Мария", "Екатерина", "Юлия", "Анастасия", "Марина",
    "Людмила", "Валентина", "Оксана", "Галина", "Ксения", "Дарья", "Виктория", "Алёна", "Вера", "Надежда",
    "Алексей", "Сергей", "Дмитрий", "Андрей", "Игорь", "Владимир", "Николай", "Павел", "Евгений", "Максим",
]

/// The past two weeks as comparable lines: start, status, who, services and staff (ids differ between replicas).
func pastCalendar(_ replica: DemoReplica, today: LocalDate) throws -> [String] {
    let shop = replica.shop
    let staff = Dictionary(uniqueKeysWithValues: try shop.staff(branch: replica.branchID).map { ($0.id, $0.name) })
    let services = Dictionary(uniqueKeysWithValues: try shop.offerings(branch: replica.branchID).map { ($0.id, $0.name(in: "en")) })
    return try (1...14).flatMap { try shop.appointments(branch: replica.branchID, date: today.adding(days: -$0)) }.map { appointment in
        let who = try appointment.clientID.map { try shop.client($0).name } ?? "guest \(appointment.guest?.name ?? "")"
        let items = appointment.items.map { "\(services[$0.offeringID] ?? "?") by \(staff[$0.staffID] ?? "?")" }
        return "\(appointment.start) \(appointment.status.rawValue) \(who) \(items) \(appointment.price.amountMinor)"
    }.sorted()
}

@Suite("Demo shop")
struct DemoShopTests {
    @Test func branchIsAnAtyrauSalon() async throws {
        let demo = try await demo()
        let branch = try demo.replica.shop.branch(demo.replica.branchID)
        #expect(demo.summary.branchID == demo.replica.branchID)
        #expect(branch.timeZone == "Asia/Atyrau")
        #expect(branch.currency == "KZT")
        #expect(branch.locale == "ru-KZ")
        #expect(branch.region == "KZ")
        #expect(branch.address.contains("Атырау"))
        #expect(branch.phone.hasPrefix("+77122"))
        #expect(branch.openingHours[.monday].map(\.description) == ["09:00–20:00"])
        #expect(branch.openingHours[.saturday].map(\.description) == ["09:00–20:00"])
        #expect(branch.openingHours[.sunday].map(\.description) == ["10:00–18:00"])
    }

    @Test func catalogueCounts() async throws {
        let demo = try await demo()
        let shop = demo.replica.shop
        let offerings = try shop.offerings(branch: demo.replica.branchID)
        let staff = try shop.staff(branch: demo.replica.branchID)
        #expect(demo.summary.staff == 5 && staff.count == 5)
        #expect(demo.summary.services == 15 && offerings.count == 15)
        #expect(demo.summary.categories == 4 && Set(offerings.map(\.category)).count == 4)
        for offering in offerings {
            #expect(["en", "ru", "kk"].allSatisfy { !(offering.names[$0] ?? "").isEmpty }, "\(offering.names)")
            #expect(offering.price.currency == "KZT")
            // Whole tenge, between 1 000 and 50 000 ₸.
            #expect(offering.price.amountMinor % 100 == 0 && (100_000...5_000_000).contains(offering.price.amountMinor))
        }
        #expect(offerings.contains { $0.capacity > 1 }, "a group session")
        #expect(offerings.contains { !$0.resources.isEmpty }, "a service that needs a room or chair")
        #expect(offerings.contains { $0.bufferBeforeMinutes > 0 } && offerings.contains { $0.bufferAfterMinutes > 0 })
        // Schedules differ, everyone has days off and a lunch break.
        #expect(Set(staff.map(\.schedule)).count == 5)
        for member in staff {
            #expect(member.schedule.days.count < 7, "\(member.name) has a day off")
            #expect(!member.breaks.days.isEmpty, "\(member.name) has breaks")
        }
    }

    @Test func clientsArePeopleOfAtyrau() async throws {
        let demo = try await demo()
        let clients = try demo.replica.clients()
        #expect(demo.summary.clients == 200 && clients.count == 200)
        let mobile = /^\+77(00|01|02|05|07|08|47|71|75|76|77|78)\d{7}$/
        #expect(clients.allSatisfy { $0.phone.wholeMatch(of: mobile) != nil }, "\(clients.map(\.phone).filter { $0.wholeMatch(of: mobile) == nil })")
        #expect(Set(clients.map(\.phone)).count == 200, "phones are unique")
        let kazakh = clients.filter { $0.name.contains { kazakhLetters.contains($0) } }
        #expect(kazakh.count >= 40, "\(kazakh.count) names in Kazakh spelling")
        #expect(Set(kazakh.flatMap { $0.name.filter { kazakhLetters.contains($0) }.lowercased() }).count >= 7, "most Kazakh-specific letters appear")
        let russian = clients.filter { russianFirstNames.contains(String($0.name.split(separator: " ").first ?? "")) }
        #expect(russian.count >= 30, "\(russian.count) Russian names")
        #expect(clients.allSatisfy { $0.name.split(separator: " ").count == 2 && $0.name.unicodeScalars.allSatisfy { (0x0400...0x04FF).contains($0.value) || $0 == " " } })
        #expect((20...120).contains(clients.filter { !$0.email.isEmpty }.count))
        #expect((40...160).contains(clients.filter(\.marketingConsent).count))
        #expect(clients.contains { !$0.tags.isEmpty } && clients.contains { !$0.preferences.isEmpty })
        let notes = try clients.reduce(0) { $0 + (try demo.replica.shop.notes(of: $1.id)).count }
        #expect(notes >= 5)
    }

    @Test func searchFindsAClientByACyrillicFragment() async throws {
        let demo = try await demo()
        let clients = try demo.replica.clients()
        let target = try #require(clients.first { client in client.name.split(separator: " ").last.map { $0.contains { kazakhLetters.contains($0) } } ?? false })
        let surname = String(target.name.split(separator: " ").last ?? "")
        let fragment = String(surname.prefix(5)).lowercased()
        let found = try demo.replica.shop.searchClients(fragment, limit: 200)
        #expect(found.contains { $0.id == target.id }, "\(fragment) should find \(target.name)")
        #expect(found.allSatisfy { $0.name.lowercased().contains(fragment) })
        // A Russian name by the middle of its surname.
        let russian = try #require(clients.first { russianFirstNames.contains(String($0.name.split(separator: " ").first ?? "")) })
        let middle = String(String(russian.name.split(separator: " ").last ?? "").dropFirst(1).prefix(4))
        #expect(try demo.replica.shop.searchClients(middle, limit: 200).contains { $0.id == russian.id }, "\(middle) should find \(russian.name)")
    }

    @Test func calendarCoversFourWeeksWithinOpeningHours() async throws {
        let demo = try await demo()
        let byDate = try demo.replica.appointments(demo.past + [demo.today] + demo.future)
        for date in demo.past + demo.future {
            #expect((byDate[date] ?? []).count >= 3, "appointments on \(date)")
        }
        for (date, appointments) in byDate {
            let open: Int = date.weekday == .sunday ? 600 : 540
            let close: Int = date.weekday == .sunday ? 1080 : 1200
            for appointment in appointments {
                for item in appointment.items {
                    #expect(demo.zone.localDate(of: item.occupied.start) == date)
                    #expect(demo.zone.localMinutes(of: item.occupied.start) >= open, "\(appointment.orderNumber) starts \(item.start)")
                    let end = demo.zone.localDate(of: item.occupied.end) == date ? demo.zone.localMinutes(of: item.occupied.end) : 24 * 60
                    #expect(end <= close, "\(appointment.orderNumber) ends \(item.end)")
                }
                #expect(appointment.createdAt <= appointment.start.adding(minutes: -60), "booked with the minimum notice")
            }
        }
        let total = byDate.values.reduce(0) { $0 + $1.count }
        #expect((250...700).contains(total), "\(total) appointments")
        #expect(demo.summary.pastAppointments + demo.summary.futureAppointments == total)
        #expect(demo.summary.pastAppointments > 150 && demo.summary.futureAppointments > 60)
    }

    @Test func pastAppointmentsAreSettledAndFutureOnesConfirmed() async throws {
        let demo = try await demo()
        let past = try demo.replica.appointments(demo.past).values.flatMap { $0 }
        let future = try demo.replica.appointments(demo.future).values.flatMap { $0 }
        let settled: Set<AppointmentStatus> = [.completed, .noShow, .cancelled]
        #expect(past.allSatisfy { settled.contains($0.status) }, "\(Set(past.map(\.status)))")
        #expect(past.filter { $0.status == .completed }.count > past.count * 3 / 4)
        #expect(past.contains { $0.status == .noShow })
        #expect(past.contains { $0.status == .cancelled && $0.isLateCancellation })
        #expect(past.contains { $0.status == .cancelled && !$0.isLateCancellation })
        #expect(future.allSatisfy { $0.status == .confirmed || $0.status == .cancelled }, "\(Set(future.map(\.status)))")
        #expect(future.filter { $0.status == .confirmed }.count > future.count * 3 / 4)
        #expect(future.contains { $0.status == .cancelled })
        let all = past + future
        #expect(all.filter { $0.guest != nil }.count >= 10, "guest bookings")
        #expect(all.filter { $0.items.count > 1 }.count >= 10, "multi-service visits")
        #expect(all.allSatisfy { $0.price.currency == "KZT" && $0.price.amountMinor > 0 })
        #expect(Set(all.flatMap(\.staff)).count == 5, "everyone works")
        // Completion was recorded after the visit, check-in before it ended.
        let sample = try #require(past.first { $0.status == .completed })
        let events = try demo.replica.shop.history(of: sample.id)
        #expect(events.map(\.toStatus) == [.confirmed, .checkedIn, .completed])
        #expect(events.last.map { $0.at >= sample.end } == true)
    }

    @Test("retail: a dozen products with valid barcodes in three languages, stock at both branches with one low and a transfer in transit, loyalty on, WELCOME10 split between the boxes, a gift card partly used, products sold with past visits")
    func retailIsStocked() async throws {
        let demo = try await demo()
        let shop = demo.replica.shop
        let home = demo.replica.branchID
        let products = try shop.products(query: "", category: "", includeInactive: true, limit: 100)
        #expect(demo.summary.products == 12 && products.count == 12)
        for product in products {
            #expect(["en", "ru", "kk"].allSatisfy { !(product.names[$0] ?? "").isEmpty }, "\(product.names)")
            #expect(try shop.product(barcode: product.barcode).id == product.id, "\(product.barcode) is a valid EAN-13 of one product")
            #expect(product.priceMinor % 100 == 0 && !product.category.isEmpty)
        }
        #expect(Set(products.map(\.category)).count >= 4)
        let mall = try #require(try shop.branches().first { $0.id != home })
        let levels = try shop.stockLevels(branch: home, products: [])
        #expect(levels.count == 12 && levels.allSatisfy { $0.quantity >= 0 })
        #expect(try shop.lowStock(branch: home).count == 1)
        #expect(try shop.stockLevels(branch: mall.id, products: []).filter { $0.quantity > 0 }.count >= 8)
        let inTransit = try shop.stockTransfers(branch: mall.id, inTransitOnly: true, limit: 10)
        #expect(inTransit.count == 1 && inTransit.first?.fromBranch == home)
        #expect(try shop.loyaltyRules().enabled)
        let coupon = try shop.coupon(code: "WELCOME10")
        let uses = try shop.escrowBalance(.coupon(coupon.id))
        #expect(coupon.totalLimit == 100 && uses.here == 60 && uses.elsewhere.map(\.amount).reduce(0, +) == 40, "\(uses)")
        let cards = try shop.store.read { try $0.rows("SELECT id FROM gift_cards") }.compactMap { $0.first?.textValue.flatMap(GiftCardID.init) }
        let card = try shop.giftCard(try #require(cards.first))
        #expect(cards.count == 1 && card.state == .active && card.initialMinor == 2_000_000 && (1..<2_000_000).contains(card.balance.here), "\(card)")
        let sold = try shop.store.read { try $0.rows("SELECT COUNT(*) FROM stock_movements WHERE kind = 'sold'") }.first?.first?.integerValue ?? 0
        #expect(sold > 20, "products sold with past visits: \(sold)")
    }

    @Test("history: eight weeks of visits at the salon and product sales at the mall, paid by cash, card and Kaspi, for the owner reports")
    func historyFeedsTheReports() async throws {
        let demo = try await demo()
        let shop = demo.replica.shop
        let home = demo.replica.branchID
        #expect((200...1000).contains(demo.summary.historyAppointments), "\(demo.summary.historyAppointments) appointments in the history")
        let weeks = ReportQuery(from: demo.today.adding(days: -56), to: demo.today.adding(days: -1), compare: false)
        let revenue = try #require(try await shop.reports.revenue(weeks).figures.currencies.first { $0.currency == "KZT" })
        #expect(revenue.byBranch.count == 2 && revenue.byBranch.allSatisfy { $0.paidMinor > 0 }, "\(revenue.byBranch)")
        #expect(Set(revenue.byMethod.filter { $0.paidMinor > 0 }.map(\.method)).isSuperset(of: ["cash", "card", "kaspi_qr"]), "\(revenue.byMethod)")
        #expect(revenue.byDay.count == 56, "money every day")
        #expect(revenue.byProduct.count >= 8 && revenue.refunds > 0 && revenue.byStaff.count == 5)
        // The older part is the history alone: every appointment of it, with no-shows and cancellations.
        let older = ReportQuery(from: demo.today.adding(days: -56), to: demo.today.adding(days: -15), branches: [home], compare: false)
        let counts = try await shop.reports.bookings(older).figures.counts
        #expect(counts.scheduled == demo.summary.historyAppointments)
        #expect(counts.completed > counts.scheduled * 3 / 4 && counts.noShows > 0 && counts.lateCancelled > 0 && counts.cancelled > counts.lateCancelled)
        // Inside everyone's hours: nobody is booked beyond their available time.
        let utilisation = try await shop.reports.utilisation(older).figures
        #expect(utilisation.staff.count == 5 && utilisation.staff.allSatisfy { $0.bookedMinutes > 0 && $0.bookedMinutes <= $0.availableMinutes }, "\(utilisation.staff)")
        // The history's sales came out of a delivery that covered them: today's levels are the demo's.
        let mall = try #require(try shop.branches().first { $0.id != home })
        #expect(try shop.stockLevels(branch: mall.id, products: []).allSatisfy { $0.quantity >= 0 })
    }

    @Test func noConflicts() async throws {
        let demo = try await demo()
        #expect(try demo.replica.shop.conflicts().isEmpty)
    }

    @Test func clockIsBackToNow() async throws {
        let demo = try await demo()
        let system = Int64(PhysicalClock.system.now())
        #expect(abs(demo.replica.shop.now.milliseconds - system) < 1000)
    }

    @Test func sameSeedSameShop() async throws {
        let first = try await demo()
        let second = try DemoReplica()
        let summary = try await DemoShop.seed(second.shop, branchID: second.branchID, clock: second.clock, seed: 2026)
        func names(_ replica: DemoReplica) throws -> [String] { try replica.clients().map(\.name).sorted() }
        func services(_ replica: DemoReplica) throws -> [String] {
            try replica.shop.offerings(branch: replica.branchID).map { "\($0.names["ru"] ?? "") \($0.durationMinutes) \($0.price.amountMinor)" }.sorted()
        }
        func phones(_ replica: DemoReplica) throws -> [String] { try replica.clients().map(\.phone).sorted() }
        #expect(try names(first.replica) == names(second))
        #expect(try phones(first.replica) == phones(second))
        #expect(try services(first.replica) == services(second))
        #expect(try first.replica.shop.staff(branch: first.replica.branchID).map(\.name) == second.shop.staff(branch: second.branchID).map(\.name))
        #expect(summary.clients == first.summary.clients && summary.staff == first.summary.staff)
        // The past two weeks do not depend on the time of day (only on the date).
        if first.zone.localDate(of: second.shop.now) == first.today {
            let calendar = try pastCalendar(second, today: first.today)
            #expect(calendar.count > 150)
            #expect(try pastCalendar(first.replica, today: first.today) == calendar)
        }

        let other = try DemoReplica()
        _ = try await DemoShop.seed(other.shop, branchID: other.branchID, clock: other.clock, seed: 7)
        #expect(try names(other) != names(second), "another seed gives other people")
        #expect(try services(other) == services(second), "but the same salon")
    }

    @Test func seedingANonEmptyReplicaThrows() async throws {
        let hours = try #require(WallInterval("09:00", "18:00"))
        // Another branch.
        let replica = try DemoReplica()
        let other = BranchID.generate(at: Instant(milliseconds: 1_700_000_000_000))
        try replica.shop.save(Branch(id: other, name: "Existing", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ",
                                     openingHours: .every(Weekday.allCases, [hours])))
        await #expect(throws: DomainError.self) { try await DemoShop.seed(replica.shop, branchID: replica.branchID, clock: replica.clock) }
        #expect(try replica.shop.branches().map(\.name) == ["Existing"])
        #expect(try replica.clients().isEmpty)
        // The home branch with a client already.
        let used = try DemoReplica()
        try used.shop.save(Branch(id: used.branchID, name: "Used", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ",
                                  openingHours: .every(Weekday.allCases, [hours])))
        try used.shop.createClient(ClientDraft(name: "Ольга Смирнова", phone: "8 701 555 12 34"), branch: used.branchID)
        await #expect(throws: DomainError.self) { try await DemoShop.seed(used.shop, branchID: used.branchID, clock: used.clock) }
        #expect(try used.clients().count == 1)
        #expect(try used.shop.offerings(branch: used.branchID).isEmpty)
        #expect(used.clock.physicalClock.now() >= PhysicalClock.system.now() - 1000, "the clock is back to now")
    }

    @Test func seedingAProvisionedHomeBranchKeepsItsName() async throws {
        let replica = try DemoReplica()
        let hours = try #require(WallInterval("09:00", "19:00"))
        try replica.shop.save(Branch(id: replica.branchID, name: "Atyrau Beauty — Satpayev St", timeZone: "Asia/Atyrau", currency: "KZT",
                                     locale: "ru-KZ", region: "KZ", openingHours: .every([.monday, .tuesday], [hours])))
        let summary = try await DemoShop.seed(replica.shop, branchID: replica.branchID, clock: replica.clock)
        let branch = try replica.shop.branch(replica.branchID)
        #expect(branch.name == "Atyrau Beauty — Satpayev St")
        #expect(branch.openingHours[.sunday].map(\.description) == ["10:00–18:00"])
        #expect(summary.clients == 200 && summary.pastAppointments > 150)
        #expect(try replica.shop.conflicts().isEmpty)
    }

    @Test func seedingNeedsTheDemoClock() async throws {
        let replica = try DemoReplica(clocked: false)
        await #expect(throws: DomainError.self) { try await DemoShop.seed(replica.shop, branchID: replica.branchID, clock: replica.clock) }
        #expect(try replica.shop.offerings(branch: replica.branchID).isEmpty)
    }

    @Test func demoClockShiftsAndResets() {
        let clock = DemoClock()
        let target = Instant(milliseconds: 1_700_000_000_000)
        clock.set(target)
        let shifted = Int64(clock.physicalClock.now())
        #expect(shifted >= target.milliseconds && shifted < target.milliseconds + 1000)
        clock.reset()
        #expect(abs(Int64(clock.physicalClock.now()) - Int64(PhysicalClock.system.now())) < 1000)
    }
}
