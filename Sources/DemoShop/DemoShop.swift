import Domain
import Foundation
import Replication

/// What `DemoShop.seed` created.
public struct DemoSummary: Sendable, Hashable {
    public var branchID: BranchID
    public var staff: Int
    public var services: Int
    public var categories: Int
    public var clients: Int
    /// Appointments (of any status) that started before the end of seeding.
    public var pastAppointments: Int
    /// Appointments (confirmed or cancelled) that start later.
    public var futureAppointments: Int
    /// Products on sale (docs/retail.md).
    public var products: Int = 0
    /// Appointments of the older history (eight weeks back to the two weeks before today) that the reports show.
    public var historyAppointments: Int = 0
}

/// The demo shop that `edgenode serve --demo` seeds into a throw-away replica: a beauty salon in
/// Atyrau, Kazakhstan, with five staff, fifteen services in four categories, two hundred clients
/// and a calendar of two weeks back and two weeks ahead; and its retail side: a dozen products
/// (EAN-13 barcodes, names in ru/kk/en) stocked at the salon and at a second branch (a shop
/// corner in the Avangard mall), one of them low, a transfer in transit, loyalty points, the coupon
/// `WELCOME10` whose uses are split with the mall's box, a gift card sold and partly used, and
/// products sold with some of the past visits; and for the owner reports, eight weeks of older
/// history at both branches (`DemoHistory`: the salon's visits before the walk's two weeks, the
/// mall corner's product sales up to yesterday).
public enum DemoShop {
    /// Seeds an empty replica with the Atyrau salon. `clock` must be the clock the shop's store was opened with.
    /// The branch id is `branchID` (the box's home branch). Throws if the replica already has branches.
    ///
    /// The one exception is the home branch itself, as `edgenode init`-style provisioning leaves it
    /// (a branch and nothing else): its name is kept and everything else (address, zone, hours,
    /// policy) is set to the salon's. Any other branch, or any service, staff member, resource,
    /// client or appointment, makes it throw `DomainError(.invalidArgument)` before writing anything.
    ///
    /// Everything but the older history (written as rows in a handful of transactions, so that
    /// start-up stays quick) is written through the `Shop` API, as a front desk would: the clock is walked
    /// forward through the past two weeks (bookings made two days ahead, walk-ins at 11:00, check-ins,
    /// completions, no-shows and cancellations at their own times), then reset to now for the
    /// future bookings. The same seed gives the same people and services, and on the same date the
    /// same past two weeks.
    public static func seed(_ shop: Shop, branchID: BranchID, clock: DemoClock, seed: UInt64 = 2026) async throws -> DemoSummary {
        defer { clock.reset() }
        let seeder = try await Seeder(shop: shop, branchID: branchID, clock: clock, seed: seed)
        return try await seeder.run()
    }
}

/// One seeding run; not shared between threads.
private final class Seeder {
    typealias ServiceKey = DemoCatalogue.ServiceKey
    typealias StaffKey = DemoCatalogue.StaffKey

    struct SeededClient {
        var id: ClientID
        var person: DemoPeople.Person
        var favourite: StaffKey?
    }

    /// A booked appointment as the seeder tracks it.
    struct Booked {
        var id: AppointmentID
        var date: LocalDate
        var start: Instant
        var end: Instant
        var createdAt: Instant
        var clientID: ClientID?
        var staffID: StaffID?
        var cancelled = false
    }

    enum Action {
        case checkIn(Int)
        case complete(Int)
        case noShow(Int)
        case lateCancel(Int)
        case note(Int)
        case walkIns
        case openDrawer
        case closeDrawer
    }

    /// The seeding acts as tools do: named, not audited. Front-desk actions are named as the
    /// front desk would be in the history.
    static let seeding = Acting.system("demo")
    static let frontDesk = Acting.system("front-desk")

    let shop: Shop
    let branchID: BranchID
    let clock: DemoClock
    let zone: ZoneRules
    let startedAt: Instant
    /// The name of the home branch when provisioning created it already (it is kept).
    let existingName: String?
    let today: LocalDate
    var data: SplitMix64
    var ids: SplitMix64
    let seedValue: UInt64
    /// The walk's current pretend time (the clock may read a few milliseconds more).
    var pretend: Instant
    /// Whether the clock is still walking through the past (false once it is back to real time).
    var walking = true

    var staffIDs: [StaffKey: StaffID] = [:]
    var staffNames: [StaffID: String] = [:]
    var offeringIDs: [ServiceKey: OfferingID] = [:]
    var performers: [ServiceKey: Set<StaffKey>] = [:]
    var clients: [SeededClient] = []
    var women: [(Int, Int)] = []
    var men: [(Int, Int)] = []
    var everyone: [(Int, Int)] = []
    var usedPhones: Set<String> = []
    var usedNames: Set<String> = []
    var booked: [Booked] = []
    /// The products, in the order of `DemoRetail.products`.
    var products: [Product] = []
    /// Starts of face-fitness group sessions per date, so later clients can join them.
    var sessions: [LocalDate: [Instant]] = [:]
    /// The second branch (the mall corner).
    var mall: BranchID?

    init(shop: Shop, branchID: BranchID, clock: DemoClock, seed: UInt64) async throws {
        let branches = try await shop.catalogue.branches()
        guard branches.allSatisfy({ $0.id == branchID }) else {
            throw DomainError(.invalidArgument, "the demo shop seeds only an empty replica, and this one already has other branches")
        }
        guard try await !shop.holdsBusinessRecords() else {
            throw DomainError(.invalidArgument, "the demo shop seeds only an empty replica, and this one already has services, staff, clients or appointments")
        }
        existingName = branches.first?.name
        self.shop = shop
        self.branchID = branchID
        self.clock = clock
        zone = try ZoneRules.named(DemoCatalogue.timeZone)
        clock.reset()
        startedAt = clock.now
        today = zone.localDate(of: startedAt)
        data = SplitMix64(seed: seed)
        seedValue = seed
        // Record ids depend on the branch too, so two demo boxes never share ids.
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in branchID.rawValue.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        ids = SplitMix64(seed: seed ^ hash)
        pretend = startedAt
    }

    func run() async throws -> DemoSummary {
        // The catalogue and the client book exist a little before the calendar starts: the one
        // step back in time, after which the clock only moves forward.
        pretend = at(today.adding(days: -16), "09:00").adding(milliseconds: 30_000)
        clock.set(pretend)
        guard abs(shop.now.milliseconds - pretend.milliseconds) < 60_000 else {
            throw DomainError(.invalidArgument, "the shop's replica store must be opened with the demo clock's physicalClock")
        }
        try await createCatalogue()
        try await createClients()
        try await createRetail()
        // Eight weeks of older history (the owner reports' figures), written as rows; draws on its own generators.
        let history = try writeHistory()

        // The past two weeks and today: each day is booked two evenings before, then lived through.
        let first = today.adding(days: -14)
        for day in first.daysSinceEpoch...today.daysSinceEpoch {
            let date = LocalDate(daysSinceEpoch: day)
            advance(to: at(date.adding(days: -2), "20:30"))
            let new = try await bookDay(date, target: pastTarget(date), sources: [(.phone, 45), (.online, 35), (.frontDesk, 20)])
            try await cancelSome(new, percent: 4, reasons: DemoPeople.earlyCancelReasons)
            if date > first { try await live(date.adding(days: -1), until: startedAt) }
        }
        try await live(today, until: startedAt)

        // The next two weeks, booked now.
        finishWalk()
        for ahead in 1...14 {
            let date = today.adding(days: ahead)
            // Fuller tomorrow than in two weeks.
            let target = max(3, weekdayBase(date) * (92 - 4 * ahead) / 100)
            let new = try await bookDay(date, target: target, sources: [(.online, 45), (.phone, 40), (.frontDesk, 15)])
            try await cancelSome(new, percent: 4, reasons: DemoPeople.earlyCancelReasons)
        }

        // The front desk's drawer is open for today (the evening's close may have run already).
        if try await shop.money.drawerSession() == nil {
            _ = try await shop.money.openDrawer(branch: branchID, floatMinor: 2_000_000, as: Self.frontDesk)
        }
        try await sellGiftCard()
        let now = clock.now
        return DemoSummary(branchID: branchID, staff: staffIDs.count, services: offeringIDs.count,
                           categories: Set(DemoCatalogue.services.map(\.category)).count, clients: clients.count,
                           pastAppointments: booked.filter { $0.start < now }.count,
                           futureAppointments: booked.filter { $0.start >= now }.count, products: products.count, historyAppointments: history)
    }

    /// The salon's visits and the mall's product sales of the eight weeks before the walk (`DemoHistory`).
    func writeHistory() throws -> Int {
        guard let mall else { return 0 }
        let offerings = Dictionary(uniqueKeysWithValues: DemoCatalogue.services.map { ($0.key, $0) })
        let performers = try DemoCatalogue.staff.compactMap { spec -> DemoHistory.Performer? in
            guard let staffID = staffIDs[spec.key] else { return nil }
            let services = DemoCatalogue.assignments.filter { $0.staff == spec.key }.compactMap { assignment -> DemoHistory.Service? in
                // Rooms, chairs and group sessions are left to the walk: the history never overlaps.
                guard let service = offerings[assignment.service], service.resources.isEmpty, service.capacity == 1,
                      let offeringID = offeringIDs[assignment.service] else { return nil }
                return DemoHistory.Service(offeringID: offeringID, names: ["en": service.en, "ru": service.ru, "kk": service.kk],
                                           minutes: assignment.minutes ?? service.minutes, priceMinor: (assignment.priceTenge ?? service.priceTenge) * 100,
                                           bufferBefore: service.bufferBefore, bufferAfter: service.bufferAfter)
            }
            return DemoHistory.Performer(staffID: staffID, schedule: try weeklyHours(spec.schedule), breaks: try weeklyHours(spec.breaks), services: services)
        }
        let items = products.filter { $0.barcode != DemoRetail.lowBarcode }
            .map { DemoHistory.Item(id: $0.id, names: $0.names, priceMinor: $0.priceMinor, costMinor: $0.costMinor ?? -1) }
        var history = DemoHistory(shop: shop, salon: branchID, mall: mall, zone: zone, today: today, performers: performers, clients: clients.map(\.id),
                                  products: items, currency: DemoCatalogue.currency, seed: seedValue)
        return try history.write()
    }

    // MARK: The walk

    /// Moves the clock forward to `instant`, never back and never past real time; once it
    /// reaches real time it stays there.
    ///
    /// The clock keeps running between two steps, so every step lands half a minute past a whole
    /// minute: "now + minimum notice" then never falls exactly on a slot start (slot starts are
    /// whole minutes), and the milliseconds the clock runs on cannot change what is offered.
    func advance(to instant: Instant) {
        guard walking else { return }
        var target = max(instant, pretend)
        let halfPast = target.milliseconds / 60_000 * 60_000 + 30_000
        target = Instant(milliseconds: halfPast >= target.milliseconds ? halfPast : halfPast + 60_000)
        // The clock has run on (milliseconds) since the last step: a step always moves a whole
        // minute at least, so it never goes back, and the times do not depend on how fast we are.
        if target <= pretend { target = pretend.adding(minutes: 1) }
        if target.milliseconds >= Int64(PhysicalClock.system.now()) {
            finishWalk()
        } else {
            pretend = target
            clock.set(target)
        }
    }

    /// Returns the clock to real time (forward: the walk never passes it).
    func finishWalk() {
        walking = false
        clock.reset()
        pretend = clock.now
    }

    /// A little time passes between two actions at the desk.
    func tick(seconds: ClosedRange<Int>) {
        let seconds = data.int(seconds)
        advance(to: pretend.adding(milliseconds: Int64(seconds) * 1000))
    }

    func at(_ date: LocalDate, _ time: String) -> Instant {
        zone.resolve(date, minutes: WallTime(time)?.minutes ?? 0).instant
    }

    // MARK: Catalogue

    func makeID<Tag>() throws -> Identifier<Tag> {
        let raw = UUIDv7.derived(from: ids.bytes16(), milliseconds: UInt64(max(0, pretend.milliseconds)))
        guard let id = Identifier<Tag>(raw) else { throw DomainError(.invalidArgument, "\(raw) is not a UUIDv7") }
        return id
    }

    func weeklyHours(_ days: [Weekday: [(String, String)]]) throws -> WeeklyHours {
        var result = WeeklyHours()
        for (weekday, intervals) in days {
            result.days[weekday] = try intervals.map { start, end in
                guard let interval = WallInterval(start, end) else { throw DomainError(.invalidArgument, "bad interval \(start)–\(end)") }
                return interval
            }
        }
        return result
    }

    func createCatalogue() async throws {
        try await shop.catalogue.save(Branch(id: branchID, name: existingName ?? DemoCatalogue.branchName, address: DemoCatalogue.address, phone: DemoCatalogue.phone,
                             timeZone: DemoCatalogue.timeZone, currency: DemoCatalogue.currency, locale: "ru-KZ", region: "KZ",
                             openingHours: try weeklyHours(DemoCatalogue.openingHours),
                             policy: BookingPolicy(minimumNoticeMinutes: 60, horizonDays: 60, cancellationCutoffHours: 24, slotHoldMinutes: 10)), as: Self.seeding)
        var resourceIDs: [DemoCatalogue.ResourceKey: ResourceID] = [:]
        for spec in DemoCatalogue.resources {
            tick(seconds: 20...60)
            let id: ResourceID = try makeID()
            try await shop.catalogue.save(Resource(id: id, branchID: branchID, name: spec.name, kind: spec.kind, units: spec.units), as: Self.seeding)
            resourceIDs[spec.key] = id
        }
        for (order, spec) in DemoCatalogue.services.enumerated() {
            tick(seconds: 20...90)
            let id: OfferingID = try makeID()
            let requirements = try spec.resources.map { key in
                guard let resource = resourceIDs[key] else { throw DomainError(.notFound, "demo resource \(key) missing") }
                return ResourceRequirement(resource: resource)
            }
            try await shop.catalogue.save(Offering(id: id, branchID: branchID, category: spec.category.rawValue,
                                   names: ["en": spec.en, "ru": spec.ru, "kk": spec.kk],
                                   descriptions: ["en": spec.descriptionEn, "ru": spec.descriptionRu],
                                   durationMinutes: spec.minutes, price: Money(amountMinor: spec.priceTenge * 100, currency: DemoCatalogue.currency),
                                   bufferBeforeMinutes: spec.bufferBefore, bufferAfterMinutes: spec.bufferAfter, slotStepMinutes: spec.step,
                                   capacity: spec.capacity, resources: requirements, displayOrder: order + 1), as: Self.seeding)
            offeringIDs[spec.key] = id
        }
        for (order, spec) in DemoCatalogue.staff.enumerated() {
            tick(seconds: 20...60)
            let id: StaffID = try makeID()
            try await shop.catalogue.save(StaffMember(id: id, branchID: branchID, name: spec.name, schedule: try weeklyHours(spec.schedule),
                                      breaks: try weeklyHours(spec.breaks), displayOrder: order + 1), as: Self.seeding)
            staffIDs[spec.key] = id
            staffNames[id] = spec.name
        }
        for spec in DemoCatalogue.assignments {
            guard let staff = staffIDs[spec.staff], let offering = offeringIDs[spec.service] else {
                throw DomainError(.notFound, "demo assignment \(spec.staff) → \(spec.service) names a missing record")
            }
            try await shop.catalogue.assign(StaffOffering(staffID: staff, offeringID: offering, durationMinutes: spec.minutes, priceMinor: spec.priceTenge.map { $0 * 100 }), as: Self.seeding)
            performers[spec.service, default: []].insert(spec.staff)
        }
    }

    // MARK: Clients

    func uniquePerson(_ gender: DemoPeople.Gender) -> DemoPeople.Person {
        var person = DemoPeople.person(gender, &data)
        var attempts = 0
        while usedNames.contains(person.name), attempts < 20 {
            person = DemoPeople.person(gender, &data)
            attempts += 1
        }
        usedNames.insert(person.name)
        return person
    }

    func newPhone() -> String {
        let national = DemoPeople.mobileNumber(&data, avoiding: usedPhones)
        usedPhones.insert(national)
        return national
    }

    func createClients() async throws {
        let staffFirstNames = Dictionary(uniqueKeysWithValues: DemoCatalogue.staff.map { ($0.key, $0.firstName) })
        for index in 0..<200 {
            tick(seconds: 40...150)
            let gender: DemoPeople.Gender = data.chance(82) ? .female : .male
            let person = uniquePerson(gender)
            let phone = DemoPeople.typed(newPhone(), &data)
            let email = data.chance(40) ? DemoPeople.email(for: person, &data) : ""
            var tags: [String] = []
            for _ in 0..<(data.weighted([(0, 45), (1, 40), (2, 15)]) ?? 0) {
                if let tag = data.weighted(DemoPeople.tags) { tags.append(tag) }
            }
            var favourite: StaffKey?
            var preferences: [String] = []
            if data.chance(30) {
                favourite = gender == .male ? data.pick([StaffKey.dinara, .svetlana]) : data.pick(StaffKey.allCases)
                if let favourite, let name = staffFirstNames[favourite] { preferences.append("Любимый мастер — \(name).") }
            }
            if data.chance(20), let preference = data.pick(DemoPeople.preferences) { preferences.append(preference) }
            let client = try await shop.clients.create(ClientDraft(name: person.name, phone: phone, email: email, tags: tags,
                                                           preferences: preferences.joined(separator: " "), marketingConsent: data.chance(55)),
                                               branch: branchID, as: Self.seeding)
            clients.append(SeededClient(id: client.id, person: person, favourite: favourite))
            // A quarter of the clients are regulars who come four times as often.
            let weight = index < 50 ? 4 : 1
            everyone.append((index, weight))
            if gender == .female { women.append((index, weight)) } else { men.append((index, weight)) }
            if data.chance(8), let body = data.pick(DemoPeople.notes) {
                try await shop.clients.addNote(to: client.id, body: body, as: .system("Администратор"))
            }
        }
    }

    // MARK: Booking

    func weekdayBase(_ date: LocalDate) -> Int {
        switch date.weekday {
        case .monday, .tuesday: 12
        case .wednesday, .thursday: 15
        case .friday: 17
        case .saturday: 21
        case .sunday: 10
        }
    }

    func pastTarget(_ date: LocalDate) -> Int { weekdayBase(date) * data.int(90...110) / 100 }

    struct Visit {
        var services: [ServiceKey]
        var parts: [VisitPart]
        var client: Int?
        var guest: Guest?
    }

    func drawVisit() -> Visit? {
        var services: [ServiceKey]
        if data.chance(12), let combination = data.weighted(DemoCatalogue.combinations) {
            services = combination
        } else if let single = data.weighted(DemoCatalogue.services.map { ($0.key, $0.demand) }) {
            services = [single]
        } else {
            return nil
        }
        let audience = DemoCatalogue.services.first { $0.key == services[0] }?.audience ?? .women
        let pool: [(Int, Int)] = switch audience {
        case .women: women
        case .men: men
        case .anyone: everyone
        }
        var visit = Visit(services: services, parts: [], client: nil, guest: nil)
        var favourite: StaffKey?
        if data.chance(10) {
            let person = uniquePerson(audience == .men ? .male : (audience == .women || data.chance(75) ? .female : .male))
            visit.guest = Guest(name: person.name, phone: data.chance(90) ? "+7" + newPhone() : "",
                                email: data.chance(30) ? DemoPeople.email(for: person, &data) : "")
        } else {
            guard let index = data.weighted(pool) else { return nil }
            visit.client = index
            favourite = clients[index].favourite
        }
        // Clients with a favourite master usually ask for them; others take whoever is free.
        let asksForFavourite = favourite != nil && data.chance(70)
        let named = asksForFavourite ? nil : (data.chance(45) ? data.pick(StaffKey.allCases.filter { performers[services[0]]?.contains($0) ?? false }) : nil)
        visit.parts = services.compactMap { key in
            guard let offering = offeringIDs[key] else { return nil }
            let performs = performers[key] ?? []
            let wanted = asksForFavourite ? favourite : named
            let staff = wanted.flatMap { performs.contains($0) ? staffIDs[$0] : nil }
            return VisitPart(offeringID: offering, staffID: staff)
        }
        return visit.parts.count == services.count ? visit : nil
    }

    func chooseSlot(_ slots: [Slot], for visit: Visit, on date: LocalDate) -> Slot? {
        if visit.services == [.faceFitness] {
            let open = slots.filter { sessions[date, default: []].contains($0.start) }
            if !open.isEmpty, data.chance(85) { return data.pick(open) }
            let classTimes = slots.filter { [11 * 60, 18 * 60].contains(zone.localMinutes(of: $0.start)) }
            if !classTimes.isEmpty, data.chance(80) { return data.pick(classTimes) }
        }
        // People mostly ask for round times when there are any.
        let round = slots.filter { zone.localMinutes(of: $0.start) % 30 == 0 }
        if !round.isEmpty, data.chance(65) { return data.pick(round) }
        return data.pick(slots)
    }

    /// Books about `target` visits on `date` at the current clock, only at offered starts.
    func bookDay(_ date: LocalDate, target: Int, sources: [(BookingSource, Int)]) async throws -> [Int] {
        var new: [Int] = []
        var attempts = 0
        while new.count < target, attempts < target * 3 + 5 {
            attempts += 1
            guard let visit = drawVisit() else { continue }
            let slots = try await shop.calendar.availability(branch: branchID, parts: visit.parts, dates: [date])
            guard let slot = chooseSlot(slots, for: visit, on: date) else { continue }
            let source = visit.guest != nil ? .online : (data.weighted(sources) ?? .phone)
            let requests = data.chance(8) ? (data.pick(DemoPeople.specialRequests) ?? "") : ""
            let request = BookingRequest(branchID: branchID, parts: visit.parts, start: slot.start, clientID: visit.client.map { clients[$0].id },
                                         guest: visit.guest, source: source, specialRequests: requests,
                                         actor: source == .online ? "online" : "front-desk")
            let appointment: Appointment
            do {
                appointment = try await shop.calendar.book(request, as: .system(request.actor)).appointment
            } catch let error as DomainError where error.code == .slotTaken || error.code == .notAvailable {
                continue
            }
            if visit.services == [.faceFitness] { sessions[date, default: []].append(appointment.start) }
            booked.append(Booked(id: appointment.id, date: date, start: appointment.start, end: appointment.end, createdAt: appointment.createdAt,
                                 clientID: appointment.clientID, staffID: appointment.items.first?.staffID))
            new.append(booked.count - 1)
            tick(seconds: 30...150)
        }
        return new
    }

    /// Cancels about `percent` of `indices` now, by the client.
    func cancelSome(_ indices: [Int], percent: Int, reasons: [String]) async throws {
        for index in indices where data.chance(percent) {
            tick(seconds: 60...600)
            try await shop.calendar.cancel(booked[index].id, by: .client, reason: data.pick(reasons) ?? "", as: Self.frontDesk)
            booked[index].cancelled = true
        }
    }

    /// Lives through one day up to `limit`: walk-ins at 11:00, check-ins, completions, no-shows,
    /// late cancellations and notes, each at its own time.
    /// A completed visit is paid at the desk: by card, cash or bank transfer, in turn by the
    /// visit's number (not the seeded generator, so the rest of the walk is as before money existed).
    func checkout(_ index: Int) async throws {
        let appointment = booked[index]
        let price = try await shop.calendar.appointment(appointment.id).price.amountMinor
        let method: PaymentMethod = index % 10 < 5 ? .card : index % 10 < 9 ? .cash : .bankTransfer
        let tendered: Int64? = method == .cash ? (price + 99_999) / 100_000 * 100_000 : nil
        // Every fifth visit also buys a product (in turn, by the visit's number; never the low one).
        let sellable = products.filter { $0.barcode != DemoRetail.lowBarcode }
        let bought: [ProductSaleLine] = index % 5 == 1 && !sellable.isEmpty ? [ProductSaleLine(productID: sellable[(index / 5) % sellable.count].id, quantity: 1)] : []
        var payment = PaymentRequest(method: method, amountMinor: price, tenderedMinor: tendered,
                                     cardLast4: method == .card ? Self.digits((index * 7919) % 10_000, 4) : "",
                                     approvalCode: method == .card ? "A" + Self.digits(index * 31 % 100_000, 5) : "")
        if let line = bought.first, let product = sellable.first(where: { $0.id == line.productID }) {
            payment.amountMinor += product.price(at: branchID)
            if method == .cash { payment.tenderedMinor = (payment.amountMinor + 99_999) / 100_000 * 100_000 }
        }
        let request = CheckoutRequest(branchID: branchID, appointmentIDs: [appointment.id], payments: payment.amountMinor > 0 ? [payment] : [], products: bought)
        _ = try await shop.money.checkout(request, rights: .all, fiscalRequired: false, as: Self.frontDesk)
    }

    // MARK: Retail

    /// Products, stock at both branches (one product low, a transfer in transit), the loyalty rules
    /// and the coupon, before the walk starts (so past visits can buy products and earn points).
    /// Draws only on the id generator, never on the data generator: the calendar stays as it was.
    func createRetail() async throws {
        let mall: BranchID = try makeID()
        self.mall = mall
        try await shop.catalogue.save(Branch(id: mall, name: DemoRetail.mallName, address: DemoRetail.mallAddress, phone: DemoCatalogue.phone,
                                             timeZone: DemoCatalogue.timeZone, currency: DemoCatalogue.currency, locale: "ru-KZ", region: "KZ",
                                             openingHours: try weeklyHours(Dictionary(uniqueKeysWithValues: Weekday.allCases.map { ($0, [("10:00", "22:00")]) }))),
                                      as: Self.seeding)
        for spec in DemoRetail.products {
            let id: ProductID = try makeID()
            products.append(try await shop.retail.save(Product(id: id, names: ["ru": spec.ru, "kk": spec.kk, "en": spec.en], sku: spec.sku, barcode: spec.barcode,
                                                               category: spec.category, priceMinor: spec.priceTenge * 100, costMinor: spec.costTenge * 100,
                                                               lowStockThreshold: spec.threshold), as: Self.seeding))
        }
        // The salon's delivery: plenty of everything but the lash serum, which is low.
        let salon = zip(products, DemoRetail.products).map { ProductQuantity(productID: $0.id, quantity: $1.salonStock, unitCostMinor: $1.costTenge * 100) }
        _ = try await shop.retail.receive(branch: branchID, supplier: "ТОО «Бьюти Дистрибьюшн»", lines: salon, note: "Поставка № 1", as: Self.frontDesk)
        let corner = zip(products, DemoRetail.products).filter { $1.mallStock > 0 }
            .map { ProductQuantity(productID: $0.id, quantity: $1.mallStock, unitCostMinor: $1.costTenge * 100) }
        _ = try await shop.retail.receive(branch: mall, supplier: "ТОО «Бьюти Дистрибьюшн»", lines: corner, note: "Поставка № 1", as: Self.frontDesk)
        // Hair masks on their way to the mall's shelf.
        if let mask = zip(products, DemoRetail.products).first(where: { $1.sku == DemoRetail.transferSKU })?.0 {
            _ = try await shop.retail.transfer(from: branchID, to: mall, lines: [ProductQuantity(productID: mask.id, quantity: 4)], note: "Для витрины в «Авангарде»",
                                               override: false, rights: .all, as: Self.frontDesk)
        }
        _ = try await shop.retail.saveLoyaltyRules(LoyaltyRules(enabled: true, earnPoints: 1, earnPerMinor: 10_000, visitPoints: 20, pointValueMinor: 100,
                                                                expiryDays: 365, maxRedeemPercent: 30), as: Self.seeding)
        // WELCOME10: 100 uses, 40 of them held by the mall's box (it spends only what it holds).
        let mallBox = ids.bytes16().map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        var coupon = try await newCoupon()
        coupon.code = "WELCOME10"
        coupon.name = "Добро пожаловать: −10% на первый визит"
        coupon.kind = .percent
        coupon.value = 10
        coupon.perClientLimit = 1
        coupon.totalLimit = 100
        _ = try await shop.retail.save(coupon, allotments: [mallBox: 40], as: Self.seeding)
    }

    /// An empty coupon (the model has no public initialiser; it is Codable).
    func newCoupon() async throws -> Coupon {
        let id: CouponID = try makeID()
        let fields = """
            {"id":"\(id.rawValue)","code":"","name":"","kind":"percent","value":0,"currency":"","services":[],"products":[],"categories":[],
             "minSpendMinor":0,"perClientLimit":0,"totalLimit":0,"active":true,"usesKnown":0,"createdAt":{"milliseconds":\(shop.now.milliseconds)},"createdBy":"demo"}
            """
        return try JSONDecoder().decode(Coupon.self, from: Data(fields.utf8))
    }

    /// A gift card of 20 000 ₸ sold today to a regular, who then paid part of a product with it.
    func sellGiftCard() async throws {
        guard let client = clients.first, let oil = zip(products, DemoRetail.products).first(where: { $1.sku == DemoRetail.giftCardSKU })?.0 else { return }
        let alphabet = Array("ACDEFHKMNPRTWXY3479")
        let code = String(ids.bytes16().map { alphabet[Int($0) % alphabet.count] })
        let card = GiftCardSaleLine(amountMinor: 2_000_000, code: code, expiresAt: shop.now.adding(minutes: 365 * 24 * 60), clientID: client.id)
        _ = try await shop.money.checkout(CheckoutRequest(branchID: branchID, clientID: client.id,
                                                          payments: [PaymentRequest(method: .card, amountMinor: 2_000_000, cardLast4: "4417", approvalCode: "A20417")],
                                                          giftCards: [card]),
                                          rights: .all, fiscalRequired: false, as: Self.frontDesk)
        let price = oil.price(at: branchID)
        _ = try await shop.money.checkout(CheckoutRequest(branchID: branchID, clientID: client.id,
                                                          payments: [PaymentRequest(method: .giftCard, amountMinor: price, giftCardCode: code)],
                                                          products: [ProductSaleLine(productID: oil.id, quantity: 1)]),
                                          rights: .all, fiscalRequired: false, as: Self.frontDesk)
    }

    static func digits(_ value: Int, _ count: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, count - text.count)) + text
    }

    /// Evening close: the cash counted by denomination is what the drawer should hold.
    func closeDrawer() async throws {
        guard try await shop.money.drawerSession() != nil else { return }
        var left = try await shop.money.xReport().expectedCashMinor
        var counted: [Int64: Int] = [:]
        for value in Denominations.of("KZT") where left >= value {
            counted[value] = Int(left / value)
            left %= value
        }
        _ = try await shop.money.closeDrawer(counted: counted, note: "", as: Self.frontDesk)
    }

    func live(_ date: LocalDate, until limit: Instant) async throws {
        var events: [(at: Instant, order: Int, action: Action)] = []
        var order = 0
        func schedule(_ at: Instant, _ action: Action) {
            order += 1
            events.append((at, order, action))
        }
        func plan(_ index: Int) {
            let appointment = booked[index]
            let roll = data.int(0...99)
            if roll < 5 {
                schedule(appointment.start.adding(minutes: data.int(15...30)), .noShow(index))
            } else if roll < 9 {
                let early = appointment.start.adding(minutes: -60 * data.int(1...5))
                schedule(max(early, at(date, "07:00"), appointment.createdAt.adding(minutes: 20)), .lateCancel(index))
            } else {
                schedule(appointment.start.adding(minutes: -data.int(0...10)), .checkIn(index))
                let done = appointment.end.adding(minutes: data.int(2...12))
                schedule(done, .complete(index))
                if data.chance(8) { schedule(done.adding(minutes: data.int(1...20)), .note(index)) }
            }
        }
        for index in booked.indices where booked[index].date == date && !booked[index].cancelled { plan(index) }
        schedule(at(date, "11:00"), .walkIns)
        schedule(at(date, "08:50"), .openDrawer)
        schedule(at(date, "21:05"), .closeDrawer)

        while let next = events.min(by: { ($0.at, $0.order) < ($1.at, $1.order) }) {
            guard next.at <= limit else { break }
            events.removeAll { $0.order == next.order }
            advance(to: next.at)
            switch next.action {
            case .walkIns:
                let new = try await bookDay(date, target: data.int(2...3), sources: [(.frontDesk, 70), (.phone, 30)])
                for index in new { plan(index) }
            case .checkIn(let index):
                try await shop.calendar.checkIn(booked[index].id, as: Self.frontDesk)
            case .complete(let index):
                try await shop.calendar.complete(booked[index].id, as: Self.frontDesk)
                try await checkout(index)
            case .openDrawer:
                if try await shop.money.drawerSession() == nil {
                    _ = try await shop.money.openDrawer(branch: branchID, floatMinor: 2_000_000, as: Self.frontDesk)
                }
            case .closeDrawer:
                try await closeDrawer()
            case .noShow(let index):
                try await shop.calendar.markNoShow(booked[index].id, as: Self.frontDesk)
            case .lateCancel(let index):
                try await shop.calendar.cancel(booked[index].id, by: .client, reason: data.pick(DemoPeople.lateCancelReasons) ?? "", as: Self.frontDesk)
                booked[index].cancelled = true
            case .note(let index):
                if let client = booked[index].clientID, let body = data.pick(DemoPeople.notes) {
                    try await shop.clients.addNote(to: client, body: body, as: .system(booked[index].staffID.flatMap { staffNames[$0] } ?? "Администратор"))
                }
            }
        }
    }
}

/// The demo's retail data: products (EAN-13 barcodes with the Kazakh prefix 487, check digits valid),
/// the second branch (a shop corner in a mall) and what is stocked where.
enum DemoRetail {
    struct ProductSpec {
        var sku: String
        var barcode: String
        var category: String
        var ru: String
        var kk: String
        var en: String
        var priceTenge: Int64
        var costTenge: Int64
        var threshold: Int?
        var salonStock: Int
        var mallStock: Int
    }

    static let mallName = "Atyrau Beauty — ТРЦ «Авангард»"
    static let mallAddress = "Атырау, ул. Азаттык, 48, ТРЦ «Авангард», 1 этаж"
    /// Below its threshold at the salon from the start (and never sold by the walk).
    static let lowBarcode = "4870000000104"
    static let transferSKU = "HC-MASK-200"
    static let giftCardSKU = "HC-OIL-50"

    static let products: [ProductSpec] = [
        ProductSpec(sku: "HC-SHAMPOO-250", barcode: "4870000000012", category: "hair_care", ru: "Шампунь восстанавливающий, 250 мл",
                    kk: "Қалпына келтіретін сусабын, 250 мл", en: "Repair shampoo, 250 ml", priceTenge: 6_500, costTenge: 3_900, threshold: 5, salonStock: 30, mallStock: 12),
        ProductSpec(sku: "HC-COND-250", barcode: "4870000000029", category: "hair_care", ru: "Бальзам-кондиционер, 250 мл",
                    kk: "Шаш бальзамы, 250 мл", en: "Conditioner, 250 ml", priceTenge: 6_200, costTenge: 3_700, threshold: 5, salonStock: 30, mallStock: 12),
        ProductSpec(sku: "HC-MASK-200", barcode: "4870000000036", category: "hair_care", ru: "Маска для волос, 200 мл",
                    kk: "Шашқа арналған маска, 200 мл", en: "Hair mask, 200 ml", priceTenge: 8_900, costTenge: 5_200, threshold: 4, salonStock: 24, mallStock: 0),
        ProductSpec(sku: "HC-OIL-50", barcode: "4870000000043", category: "hair_care", ru: "Масло для кончиков волос, 50 мл",
                    kk: "Шаш ұштарына арналған май, 50 мл", en: "Hair tip oil, 50 ml", priceTenge: 7_400, costTenge: 4_100, threshold: 4, salonStock: 24, mallStock: 8),
        ProductSpec(sku: "HC-SPRAY-150", barcode: "4870000000050", category: "hair_care", ru: "Термозащитный спрей, 150 мл",
                    kk: "Термоқорғаныш спрейі, 150 мл", en: "Heat protection spray, 150 ml", priceTenge: 5_800, costTenge: 3_300, threshold: 4, salonStock: 24, mallStock: 8),
        ProductSpec(sku: "NC-POLISH-RED", barcode: "4870000000067", category: "nail_care", ru: "Лак для ногтей, красный",
                    kk: "Тырнақ лагы, қызыл", en: "Nail polish, red", priceTenge: 3_500, costTenge: 1_800, threshold: 6, salonStock: 30, mallStock: 15),
        ProductSpec(sku: "NC-CUTICLE-15", barcode: "4870000000074", category: "nail_care", ru: "Масло для кутикулы, 15 мл",
                    kk: "Кутикулаға арналған май, 15 мл", en: "Cuticle oil, 15 ml", priceTenge: 2_900, costTenge: 1_400, threshold: 6, salonStock: 30, mallStock: 15),
        ProductSpec(sku: "SC-HAND-75", barcode: "4870000000081", category: "skin_care", ru: "Крем для рук, 75 мл",
                    kk: "Қолға арналған крем, 75 мл", en: "Hand cream, 75 ml", priceTenge: 3_200, costTenge: 1_600, threshold: 6, salonStock: 30, mallStock: 20),
        ProductSpec(sku: "SC-SERUM-30", barcode: "4870000000098", category: "skin_care", ru: "Сыворотка для лица, 30 мл",
                    kk: "Бетке арналған сарысу, 30 мл", en: "Face serum, 30 ml", priceTenge: 14_500, costTenge: 8_700, threshold: 3, salonStock: 18, mallStock: 6),
        ProductSpec(sku: "BL-LASH-3", barcode: "4870000000104", category: "brows_lashes", ru: "Сыворотка для роста ресниц, 3 мл",
                    kk: "Кірпік өсіруге арналған сарысу, 3 мл", en: "Lash growth serum, 3 ml", priceTenge: 11_000, costTenge: 6_500, threshold: 3, salonStock: 2, mallStock: 0),
        ProductSpec(sku: "BL-BROW-GEL", barcode: "4870000000111", category: "brows_lashes", ru: "Гель для бровей, прозрачный",
                    kk: "Қасқа арналған гель, мөлдір", en: "Brow gel, clear", priceTenge: 4_200, costTenge: 2_100, threshold: 4, salonStock: 24, mallStock: 10),
        ProductSpec(sku: "AC-BRUSH", barcode: "4870000000128", category: "accessories", ru: "Массажная расчёска",
                    kk: "Массаж тарағы", en: "Massage hair brush", priceTenge: 5_500, costTenge: 2_600, threshold: nil, salonStock: 20, mallStock: 10),
    ]
}
