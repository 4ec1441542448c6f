import Domain
import Foundation
import Replication

/// The demo shop's older history, so that the owner reports (docs/reports.md) show real figures:
/// the salon's visits from eight weeks back up to the day before the walk's two weeks begin, and the
/// mall corner's product sales from eight weeks back up to yesterday. Seeded (the same seed and date
/// give the same history), and written as rows in a handful of transactions rather than through
/// the front desk's calls one by one, so `serve --demo` stays quick to start:
///
/// - the salon: each working staff member gets a few visits a day inside their hours and outside
///   their breaks (services they perform that need no room and are not group sessions, spaced by
///   their buffers so that nothing overlaps), booked by phone, online, at the desk or the kiosk some
///   hours to two weeks before; most are completed and paid (card, cash, Kaspi QR, bank transfer)
///   with a product now and then, a few are no-shows and a few cancelled (some late);
/// - the mall corner: a few product sales a day (card, Kaspi QR, cash);
/// - a delivery at each branch before the history starts covering exactly what the history sells,
///   so today's stock levels are what the rest of the demo set up.
///
/// Appointments carry their events (created, checked in, completed / no-show / cancelled), sales
/// their lines and payments, product lines their stock movements; a few payments are partly refunded
/// the next day. Everything is derived by the store's change observer like any other write.
struct DemoHistory {
    struct Service {
        var offeringID: OfferingID
        var names: [String: String]
        var minutes: Int
        var priceMinor: Int64
        var bufferBefore: Int
        var bufferAfter: Int
    }

    struct Performer {
        var staffID: StaffID
        var schedule: WeeklyHours
        var breaks: WeeklyHours
        var services: [Service]
    }

    struct Item {
        var id: ProductID
        var names: [String: String]
        var priceMinor: Int64
        var costMinor: Int64
    }

    let shop: Shop
    let salon: BranchID
    let mall: BranchID
    let zone: ZoneRules
    let today: LocalDate
    let performers: [Performer]
    let clients: [ClientID]
    let products: [Item]
    let currency: String
    var random: SplitMix64
    var ids: SplitMix64
    let site: String
    let prefix: String

    /// Rows waiting to be written, by table, in the order they were made.
    var rows: [(String, [String: SQLValue])] = []
    var appointmentNumber = 0
    var saleNumber: Int64 = 0
    /// Units sold per (branch, product), for the covering deliveries.
    var sold: [String: [ProductID: Int]] = [:]
    var appointments = 0

    init(shop: Shop, salon: BranchID, mall: BranchID, zone: ZoneRules, today: LocalDate, performers: [Performer], clients: [ClientID],
         products: [Item], currency: String, seed: UInt64) {
        self.shop = shop
        self.salon = salon
        self.mall = mall
        self.zone = zone
        self.today = today
        self.performers = performers
        self.clients = clients
        self.products = products
        self.currency = currency
        random = SplitMix64(seed: seed ^ 0x5EED_0019_4EC0_7D5)
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in salon.rawValue.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        ids = SplitMix64(seed: seed ^ hash ^ 0x0019)
        site = shop.store.site.hex
        prefix = Self.orderPrefix(hex: site)
    }

    /// The first local date of the history (eight weeks back).
    var first: LocalDate { today.adding(days: -56) }

    /// Writes the history; returns how many appointments it made.
    mutating func write() throws -> Int {
        // The salon up to the day before the walk's first day (today − 14), the mall up to yesterday.
        var batches: [[(String, [String: SQLValue])]] = []
        for day in first.daysSinceEpoch...today.adding(days: -1).daysSinceEpoch {
            let date = LocalDate(daysSinceEpoch: day)
            if date < today.adding(days: -14) { salonDay(date) }
            mallDay(date)
            if date.weekday == .sunday || date == today.adding(days: -1) {
                batches.append(rows)
                rows = []
            }
        }
        // The deliveries that cover what was sold, the day before the history starts.
        let delivered = at(first.adding(days: -1), minutes: 10 * 60)
        var deliveries: [(String, [String: SQLValue])] = []
        for (branch, quantities) in sold.sorted(by: { $0.key < $1.key }) {
            for item in products {
                guard let quantity = quantities[item.id], quantity > 0 else { continue }
                deliveries.append(("stock_movements", [
                    "id": .text(makeID(delivered)), "product_id": .text(item.id.rawValue), "branch_id": .text(branch), "kind": .text("received"),
                    "quantity": .integer(Int64(quantity)), "supplier": .text("ТОО «Бьюти Дистрибьюшн»"), "unit_cost_minor": .integer(item.costMinor),
                    "note": .text("Поставка № 0"), "site": .text(site), "at": .integer(delivered.milliseconds), "by": .text("front-desk"),
                ]))
            }
        }
        batches.insert(deliveries, at: 0)
        for batch in batches where !batch.isEmpty {
            try shop.store.write { transaction in
                for (table, values) in batch { try transaction.insert(table, values) }
            }
        }
        return appointments
    }

    // MARK: The salon

    mutating func salonDay(_ date: LocalDate) {
        for performer in performers {
            guard !performer.services.isEmpty else { continue }
            let intervals = performer.schedule.days[date.weekday] ?? []
            let breaks = performer.breaks.days[date.weekday] ?? []
            for interval in intervals {
                var cursor = interval.start.minutes + 15 * random.int(0...3)
                while true {
                    guard let service = random.pick(performer.services) else { break }
                    let begins = cursor + service.bufferBefore
                    let ends = begins + service.minutes
                    guard ends + service.bufferAfter <= interval.end.minutes else { break }
                    if let pause = breaks.first(where: { begins < $0.end.minutes && ends + service.bufferAfter > $0.start.minutes }) {
                        cursor = pause.end.minutes
                        continue
                    }
                    visit(date, performer: performer, service: service, begins: begins, ends: ends)
                    // A gap of a quarter to an hour and a half between clients.
                    cursor = ends + service.bufferAfter + 15 * random.int(1...6)
                    cursor = (cursor + 14) / 15 * 15
                }
            }
        }
    }

    mutating func visit(_ date: LocalDate, performer: Performer, service: Service, begins: Int, ends: Int) {
        let start = at(date, minutes: begins)
        let end = at(date, minutes: ends)
        let source = random.weighted([("phone", 40), ("online", 25), ("front_desk", 30), ("kiosk", 5)]) ?? "phone"
        let leadMinutes = source == "front_desk" && random.chance(50) ? random.int(5...50) : random.int(2...(14 * 24)) * 60 + random.int(0...59)
        let created = start.adding(minutes: -leadMinutes)
        let client = random.weighted(clients.enumerated().map { ($0.element, $0.offset < 50 ? 4 : 1) }) ?? clients[0]
        let roll = random.int(0...99)
        let status = roll < 5 ? "no_show" : roll < 8 ? "late" : roll < 12 ? "cancelled" : "completed"
        let id = makeID(created)
        appointmentNumber += 1
        appointments += 1
        let item: [String: Any] = [
            "offeringID": service.offeringID.rawValue, "staffID": performer.staffID.rawValue,
            "start": ["milliseconds": start.milliseconds], "end": ["milliseconds": end.milliseconds],
            "bufferBeforeMinutes": service.bufferBefore, "bufferAfterMinutes": service.bufferAfter,
            "priceMinor": service.priceMinor, "resources": [Any](), "capacity": 1,
        ]
        let finalStatus = status == "late" ? "cancelled" : status
        rows.append(("appointments", [
            "id": .text(id), "branch_id": .text(salon.rawValue), "client_id": .text(client.rawValue), "items": .text(Self.json([item])),
            "starts_at": .integer(start.milliseconds), "ends_at": .integer(end.milliseconds), "status": .text(finalStatus),
            "cancelled_by": .text(finalStatus == "cancelled" ? "client" : ""), "late_cancellation": .integer(status == "late" ? 1 : 0),
            "status_reason": .text(finalStatus == "cancelled" ? (random.pick(status == "late" ? DemoPeople.lateCancelReasons : DemoPeople.earlyCancelReasons) ?? "") : ""),
            "source": .text(source), "price_minor": .integer(service.priceMinor), "currency": .text(currency),
            "order_number": .text(prefix + "-" + Self.digits(appointmentNumber, 5)), "created_at": .integer(created.milliseconds),
        ]))
        let actor = source == "online" ? "online" : source == "kiosk" ? "kiosk" : "front-desk"
        event(id, at: created, actor: actor, action: "created", from: "", to: "confirmed")
        switch status {
        case "completed":
            let arrived = start.adding(minutes: -random.int(0...10))
            event(id, at: arrived, actor: "front-desk", action: "status", from: "confirmed", to: "checked_in")
            let done = end.adding(minutes: random.int(2...12))
            event(id, at: done, actor: "front-desk", action: "status", from: "checked_in", to: "completed")
            checkout(appointment: id, client: client, performer: performer, service: service, at: done.adding(minutes: 1))
        case "no_show":
            event(id, at: start.adding(minutes: random.int(15...30)), actor: "front-desk", action: "status", from: "confirmed", to: "no_show")
        case "late":
            let when = max(created.adding(minutes: 20), start.adding(minutes: -60 * random.int(1...5)))
            event(id, at: when, actor: "front-desk", action: "status", from: "confirmed", to: "cancelled")
        default:
            let when = Instant(milliseconds: created.milliseconds + (start.milliseconds - 24 * 3_600_000 - created.milliseconds) / 2)
            event(id, at: max(created.adding(minutes: 5), when), actor: "front-desk", action: "status", from: "confirmed", to: "cancelled")
        }
    }

    mutating func checkout(appointment: String, client: ClientID, performer: Performer, service: Service, at time: Instant) {
        var lines: [[String: Any]] = [Self.line(kind: "service", reference: service.offeringID.rawValue, staff: performer.staffID.rawValue,
                                                appointment: appointment, names: service.names, quantity: 1, unitPrice: service.priceMinor)]
        var products: [(Item, Int)] = []
        if random.chance(20), let item = random.pick(self.products) {
            lines.append(Self.line(kind: "product", reference: item.id.rawValue, staff: nil, appointment: nil, names: item.names, quantity: 1, unitPrice: item.priceMinor))
            products.append((item, 1))
        }
        let method = random.weighted([("card", 45), ("cash", 30), ("kaspi_qr", 20), ("bank_transfer", 5)]) ?? "card"
        sale(branch: salon, client: client.rawValue, appointments: [appointment], lines: lines, products: products, method: method, at: time)
    }

    // MARK: The mall corner

    mutating func mallDay(_ date: LocalDate) {
        let count = date.weekday == .saturday || date.weekday == .sunday ? random.int(5...9) : random.int(3...6)
        var times = (0..<count).map { _ in random.int(10 * 60...(21 * 60 + 45)) }
        times.sort()
        for minutes in times {
            var products: [(Item, Int)] = []
            for _ in 0..<(random.chance(30) ? 2 : 1) {
                guard let item = random.pick(self.products), !products.contains(where: { $0.0.id == item.id }) else { continue }
                products.append((item, random.chance(15) ? 2 : 1))
            }
            let lines = products.map { Self.line(kind: "product", reference: $0.0.id.rawValue, staff: nil, appointment: nil, names: $0.0.names,
                                                 quantity: $0.1, unitPrice: $0.0.priceMinor) }
            let client = random.chance(25) ? (random.pick(clients)?.rawValue ?? "") : ""
            let method = random.weighted([("card", 45), ("kaspi_qr", 35), ("cash", 20)]) ?? "card"
            sale(branch: mall, client: client, appointments: [], lines: lines, products: products, method: method,
                 at: at(date, minutes: minutes).adding(milliseconds: Int64(random.int(0...59_999))))
        }
    }

    // MARK: Rows

    mutating func sale(branch: BranchID, client: String, appointments: [String], lines: [[String: Any]], products: [(Item, Int)],
                       method: String, at time: Instant) {
        let id = makeID(time)
        saleNumber += 1
        let total = lines.reduce(Int64(0)) { $0 + (($1["totalMinor"] as? Int64) ?? 0) }
        rows.append(("sales", [
            "id": .text(id), "branch_id": .text(branch.rawValue), "site": .text(site), "number": .integer(saleNumber), "client_id": .text(client),
            "appointments": .text(Self.json(appointments)), "lines": .text(Self.json(lines)), "currency": .text(currency),
            "subtotal_minor": .integer(total), "total_minor": .integer(total), "visit_count": .integer(Int64(appointments.count)),
            "receipt_token": .text(token()), "created_at": .integer(time.milliseconds), "created_by": .text("front-desk"),
        ]))
        for (item, quantity) in products {
            rows.append(("stock_movements", [
                "id": .text(makeID(time)), "product_id": .text(item.id.rawValue), "branch_id": .text(branch.rawValue), "kind": .text("sold"),
                "quantity": .integer(Int64(-quantity)), "sale_id": .text(id), "site": .text(site), "at": .integer(time.milliseconds), "by": .text("front-desk"),
            ]))
            sold[branch.rawValue, default: [:]][item.id, default: 0] += quantity
        }
        let paymentID = makeID(time)
        var payment: [String: SQLValue] = [
            "id": .text(paymentID), "sale_id": .text(id), "method": .text(method), "amount_minor": .integer(total), "currency": .text(currency),
            "initial_status": .text("settled"), "site": .text(site), "created_at": .integer(time.milliseconds), "created_by": .text("front-desk"),
        ]
        switch method {
        case "cash":
            let tendered = (total + 99_999) / 100_000 * 100_000
            payment["tendered_minor"] = .integer(tendered)
            payment["change_minor"] = .integer(tendered - total)
        case "card":
            payment["card_last4"] = .text(Self.digits(random.int(0...9999), 4))
            payment["approval_code"] = .text("A" + Self.digits(random.int(0...99_999), 5))
        case "kaspi_qr":
            payment["reference"] = .text("KQ" + Self.digits(random.int(0...99_999_999), 8))
        default:
            payment["reference"] = .text("TR-" + Self.digits(random.int(0...999_999), 6))
        }
        rows.append(("payments", payment))
        // Now and then part of it is given back the next day (a complaint about a service).
        if !appointments.isEmpty, random.chance(2) {
            let refunded = time.adding(minutes: 24 * 60 + random.int(0...120))
            rows.append(("payments", [
                "id": .text(makeID(refunded)), "sale_id": .text(id), "kind": .text("refund"), "reverses": .text(paymentID), "method": .text(method),
                "amount_minor": .integer(total / 200 * 100), "currency": .text(currency), "initial_status": .text("settled"),
                "reason": .text("Жалоба клиента: скидка 50 %"), "site": .text(site), "created_at": .integer(refunded.milliseconds),
                "created_by": .text("front-desk"), "approved_by": .text("Администратор"),
            ]))
        }
    }

    mutating func event(_ appointment: String, at time: Instant, actor: String, action: String, from: String, to: String) {
        rows.append(("appointment_events", [
            "id": .text(makeID(time)), "appointment_id": .text(appointment), "at": .integer(time.milliseconds), "actor": .text(actor),
            "action": .text(action), "from_status": .text(from), "to_status": .text(to), "hlc": .integer(time.milliseconds << 16),
        ]))
    }

    static func line(kind: String, reference: String, staff: String?, appointment: String?, names: [String: String], quantity: Int, unitPrice: Int64) -> [String: Any] {
        var line: [String: Any] = [
            "kind": kind, "reference": reference, "names": names, "quantity": quantity, "unitPriceMinor": unitPrice,
            "discountMinor": Int64(0), "netMinor": Int64(quantity) * unitPrice, "taxMinor": Int64(0), "totalMinor": Int64(quantity) * unitPrice,
        ]
        if let staff { line["staffID"] = staff }
        if let appointment { line["appointmentID"] = appointment }
        return line
    }

    func at(_ date: LocalDate, minutes: Int) -> Instant { zone.resolve(date, minutes: minutes).instant }

    mutating func makeID(_ time: Instant) -> String {
        UUIDv7.derived(from: ids.bytes16(), milliseconds: UInt64(max(0, time.milliseconds)))
    }

    /// A receipt token like the box's own (26 characters of base 32).
    mutating func token() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        return String((0..<26).map { _ in alphabet[random.int(0...31)] })
    }

    static func json(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }

    static func digits(_ value: Int, _ count: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, count - text.count)) + text
    }

    /// The box's order-number prefix (as the domain derives it from the site id).
    static func orderPrefix(hex: String) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        let digits = Array(hex.utf8.prefix(6))
        guard digits.count == 6, let bits = UInt32(String(decoding: digits, as: UTF8.self), radix: 16) else { return "XXXX" }
        return String((0..<4).map { alphabet[Int(bits >> (19 - 5 * $0) & 31)] })
    }
}
