import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import Domain
@testable import LocalAPI
import Replication
import Testing
import TestSupport

/// The owner reports' API over real HTTP on loopback (issue 19): each report's JSON against
/// `Shop.reports`, who sees which branch (owner, manager's own branch, grants), bad ranges, and
/// the CSV exports (BOM, separators, CRLF, quoting, localized headers, decimals, every table).
@Suite("Reports API")
struct ReportsAPITests {
    /// Runs `body` against the box's router served on a loopback port.
    func live(_ fixture: APIFixture, _ body: @Sendable @escaping (APIClient) async throws -> Void) async throws {
        let application = Application(router: fixture.api.makeRouter(), logger: quietLogger)
        try await application.test(.live) { client in try await body(APIClient(client: client, fixture: fixture)) }
    }

    /// The fixture's shop (Almaty, KZT, the home branch) and a London branch (GBP) with a few
    /// appointments, sales, payments, a refund and a review in February 2026.
    final class History: @unchecked Sendable {
        let fixture: APIFixture
        let london: BranchID
        let olivia: StaffID
        let colour: OfferingID
        let jo: ClientID
        private var counter: Int64 = 0

        var shop: Shop { fixture.shop }

        init() throws {
            fixture = try APIFixture()
            let shop = fixture.shop
            london = BranchID(trusted: "0190f5a0-0000-7000-8000-00000000a001")
            let week = WeeklyHours.every(Weekday.allCases, [WallInterval("09:00", "17:00")!])
            try shop.save(Branch(id: london, name: "London Soho", timeZone: "Europe/London", currency: "GBP", region: "GB", openingHours: week))
            olivia = StaffID(trusted: "0190f5a0-0000-7000-8000-00000000a002")
            try shop.save(StaffMember(id: olivia, branchID: london, name: "Olivia", schedule: week))
            colour = OfferingID(trusted: "0190f5a0-0000-7000-8000-00000000a003")
            try shop.save(Offering(id: colour, branchID: london, category: "Colour", names: ["en": "Cut & colour"], durationMinutes: 90,
                                   price: Money(amountMinor: 6_500, currency: "GBP")))
            jo = ClientID(trusted: "0190f5a0-0000-7000-8000-00000000a004")
            try insert("clients", ["id": .text(jo.rawValue), "name": .text("Smith, \"Jo\""), "phone": .text("+44 20 7946 0000"), "created_at": .integer(1)])

            let almaty = fixture.branch
            // Almaty: a completed haircut paid by card with a tip, a late cancellation, a no-show.
            let haircut = try appointment(almaty, client: fixture.client, offering: fixture.haircut, staff: fixture.aigerim,
                                          start: "2026-02-10T10:00:00+05:00", minutes: 60, status: .completed, created: "2026-02-01T09:00:00+05:00")
            let sale = try self.sale(almaty, currency: "KZT", client: fixture.client, appointments: [haircut],
                                     lines: [Self.line(.service, fixture.haircut.rawValue, name: "Haircut", staff: fixture.aigerim, unit: 800_000, discount: 100_000)],
                                     tips: [Tip(staffID: fixture.aigerim, amountMinor: 50_000)], at: "2026-02-10T11:05:00+05:00")
            try pay(sale, .card, 750_000, currency: "KZT", at: "2026-02-10T11:06:00+05:00")
            try review(haircut, rating: 5)
            try appointment(almaty, client: fixture.client, offering: fixture.haircut, staff: fixture.dana, start: "2026-02-12T15:00:00+05:00",
                            minutes: 60, status: .cancelled, late: true, created: "2026-02-11T18:00:00+05:00", source: .phone)
            try appointment(almaty, client: nil, offering: fixture.haircut, staff: fixture.dana, start: "2026-02-13T12:00:00+05:00",
                            minutes: 60, status: .noShow, created: "2026-02-13T11:30:00+05:00", source: .kiosk)
            // London: Jo's cut and colour, paid in cash, part refunded by card; one in the previous period.
            let visit = try appointment(london, client: jo, offering: colour, staff: olivia, start: "2026-02-11T14:00:00Z", minutes: 90,
                                        status: .completed, created: "2026-01-20T10:00:00Z", source: .online)
            let londonSale = try self.sale(london, currency: "GBP", client: jo, appointments: [visit],
                                           lines: [Self.line(.service, colour.rawValue, name: "Cut & colour", staff: olivia, unit: 6_500)], tips: [],
                                           at: "2026-02-11T15:40:00Z")
            let paid = try pay(londonSale, .cash, 6_500, currency: "GBP", at: "2026-02-11T15:41:00Z")
            try pay(londonSale, .card, 1_000, currency: "GBP", at: "2026-02-20T10:00:00Z", kind: .refund, reverses: paid)
            let earlier = try appointment(london, client: jo, offering: colour, staff: olivia, start: "2026-01-14T14:00:00Z", minutes: 90,
                                          status: .completed, created: "2026-01-02T10:00:00Z")
            let earlierSale = try self.sale(london, currency: "GBP", client: jo, appointments: [earlier],
                                            lines: [Self.line(.service, colour.rawValue, name: "Cut & colour", staff: olivia, unit: 6_500)], tips: [],
                                            at: "2026-01-14T15:40:00Z")
            try pay(earlierSale, .card, 6_500, currency: "GBP", at: "2026-01-14T15:41:00Z")
        }

        func newID() -> String {
            counter += 1
            return AppointmentID.generate(at: Instant(milliseconds: 1_700_000_000_000 + counter)).rawValue
        }

        func insert(_ table: String, _ values: [String: SQLValue]) throws {
            try shop.store.write { try $0.insert(table, values) }
        }

        @discardableResult
        func appointment(_ branch: BranchID, client: ClientID?, offering: OfferingID, staff: StaffID, start: String, minutes: Int,
                         status: AppointmentStatus, late: Bool = false, created: String, source: BookingSource = .frontDesk) throws -> AppointmentID {
            let id = AppointmentID(trusted: newID())
            let begin = Instant(iso8601: start)!
            let item = AppointmentItem(offeringID: offering, staffID: staff, start: begin, end: begin.adding(minutes: minutes),
                                       bufferBeforeMinutes: 0, bufferAfterMinutes: 0, priceMinor: 0, resources: [], capacity: 1)
            try insert("appointments", [
                "id": .text(id.rawValue), "branch_id": .text(branch.rawValue), "client_id": .text(client?.rawValue ?? ""),
                "guest_name": .text(client == nil ? "Guest" : ""), "items": .text(JSONColumn.encode([item])),
                "starts_at": .instant(item.start), "ends_at": .instant(item.end), "status": .text(status.rawValue),
                "late_cancellation": .bool(late), "source": .text(source.rawValue), "currency": .text(branch == london ? "GBP" : "KZT"),
                "created_at": .instant(Instant(iso8601: created)!),
            ])
            try insert("appointment_events", ["id": .text(newID()), "appointment_id": .text(id.rawValue), "at": .instant(Instant(iso8601: created)!),
                                              "action": .text("created"), "to_status": .text("confirmed")])
            return id
        }

        static func line(_ kind: SaleLine.Kind, _ reference: String, name: String, staff: StaffID? = nil, quantity: Int = 1, unit: Int64, discount: Int64 = 0) -> SaleLine {
            let net = Int64(quantity) * unit - discount
            return SaleLine(kind: kind, reference: reference, staffID: staff, appointmentID: nil, names: ["en": name], quantity: quantity,
                            unitPriceMinor: unit, discountMinor: discount, netMinor: net, taxRate: nil, taxMinor: 0, totalMinor: net)
        }

        func sale(_ branch: BranchID, currency: String, client: ClientID?, appointments: [AppointmentID], lines: [SaleLine], tips: [Tip], at: String) throws -> SaleID {
            let id = SaleID(trusted: newID())
            let discount = lines.reduce(0) { $0 + $1.discountMinor }
            let tipsTotal = tips.reduce(0) { $0 + $1.amountMinor }
            let subtotal = lines.reduce(0) { $0 + $1.totalMinor }
            try insert("sales", [
                "id": .text(id.rawValue), "branch_id": .text(branch.rawValue), "site": .text(shop.store.site.hex), "client_id": .text(client?.rawValue ?? ""),
                "appointments": .text(JSONColumn.encode(appointments.map(\.rawValue))), "lines": .text(JSONColumn.encode(lines)),
                "tips": .text(JSONColumn.encode(tips)), "currency": .text(currency), "subtotal_minor": .integer(subtotal),
                "discount_minor": .integer(discount), "tips_minor": .integer(tipsTotal), "total_minor": .integer(subtotal + tipsTotal),
                "created_at": .instant(Instant(iso8601: at)!),
            ])
            return id
        }

        @discardableResult
        func pay(_ sale: SaleID, _ method: PaymentMethod, _ amount: Int64, currency: String, at: String, kind: Payment.Kind = .payment,
                 reverses: PaymentID? = nil) throws -> PaymentID {
            let id = PaymentID(trusted: newID())
            try insert("payments", [
                "id": .text(id.rawValue), "sale_id": .text(sale.rawValue), "kind": .text(kind.rawValue), "reverses": .text(reverses?.rawValue ?? ""),
                "method": .text(method.rawValue), "amount_minor": .integer(amount), "currency": .text(currency), "initial_status": .text("settled"),
                "created_at": .instant(Instant(iso8601: at)!),
            ])
            return id
        }

        func review(_ appointment: AppointmentID, rating: Int) throws {
            try insert("visit_reviews", ["id": .text(newID()), "appointment_id": .text(appointment.rawValue), "rating": .int(rating),
                                         "at": .instant(Instant(iso8601: "2026-02-10T12:00:00+05:00")!)])
        }

        /// A person of `role` (with a PIN), signed in on the front-desk tablet: the session token.
        func signIn(_ client: APIClient, role: String, staff: StaffID? = nil) async throws -> (person: String, session: String) {
            var fields: [String: Any] = ["name": "\(role) \(newID().suffix(4))", "role": role, "pin": "4821"]
            if let staff { fields["staff"] = staff.rawValue }
            let created = try await client.send(.post, "/v1/people", as: .owner, json: body(fields))
            #expect(created.status == 201, "\(created.text)")
            let person = created["id"] as? String ?? ""
            let session = try await client.send(.post, "/v1/sessions", as: .frontDesk, json: body(["person": person, "pin": "4821"]))
            #expect(session.status == 201, "\(session.text)")
            return (person, session["token"] as? String ?? "")
        }
    }

    static let february = "from=2026-02-01&to=2026-02-28"

    /// The domain value as the API's encoder writes it (snake_case keys), as a JSON object.
    static func encoded<T: Encodable>(_ value: T) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(APIEncoding.encode(value)), options: [.fragmentsAllowed])) ?? [:]
    }

    /// Every key the domain's own encoding has is in the API's answer with the same value (the API
    /// adds the computed figures and writes instants as timestamps; those are compared by the tests).
    static func expectContains(_ api: Any?, _ domain: Any, path: String, skipping: Set<String> = [], sourceLocation: SourceLocation = #_sourceLocation) {
        switch domain {
        case let object as [String: Any]:
            guard let answer = api as? [String: Any] else { Issue.record("\(path): not an object in the answer", sourceLocation: sourceLocation); return }
            if object.keys.sorted() == ["milliseconds"] { return }   // an Instant: the API writes a timestamp
            for (key, value) in object where !skipping.contains(key) {
                expectContains(answer[key], value, path: "\(path).\(key)", skipping: skipping, sourceLocation: sourceLocation)
            }
        case let array as [Any]:
            guard let answer = api as? [Any], answer.count == array.count else {
                Issue.record("\(path): \(String(describing: api)) is not an array of \(array.count)", sourceLocation: sourceLocation); return
            }
            for (index, value) in array.enumerated() { expectContains(answer[index], value, path: "\(path)[\(index)]", skipping: skipping, sourceLocation: sourceLocation) }
        default:
            #expect("\(api ?? "nil")" == "\(domain)", "\(path)", sourceLocation: sourceLocation)
        }
    }

    @Test("each report's JSON is Shop.reports' result: period, branches, figures with the computed ones, the previous period, freshness")
    func reportsEqualTheDomain() async throws {
        let history = try History()
        let fixture = history.fixture
        let query = ReportQuery(from: LocalDate("2026-02-01")!, to: LocalDate("2026-02-28")!)
        try await live(fixture) { client in
            let revenue = try await client.send(.get, "/v1/reports/revenue?\(Self.february)")
            #expect(revenue.status == 200, "\(revenue.text)")
            let expected = try await fixture.shop.reports.revenue(query)
            let period = revenue["period"] as? [String: Any] ?? [:]
            #expect(period["from"] as? String == "2026-02-01" && period["to"] as? String == "2026-02-28" && period["days"] as? Int == 28)
            #expect((revenue["previous_period"] as? [String: Any])?["from"] as? String == "2026-01-04")
            let branches = revenue["branches"] as? [[String: Any]] ?? []
            #expect(branches.map { $0["id"] as? String } == expected.branches.map(\.rawValue))
            #expect(Set(branches.compactMap { $0["currency"] as? String }) == ["KZT", "GBP"])
            #expect(branches.first { $0["currency"] as? String == "GBP" }?["time_zone"] as? String == "Europe/London")
            // Revenue, field by field.
            let currencies = (revenue["figures"] as? [String: Any])?["currencies"] as? [[String: Any]] ?? []
            #expect(currencies.count == expected.figures.currencies.count && currencies.count == 2)
            for domain in expected.figures.currencies {
                let answer = currencies.first { $0["currency"] as? String == domain.currency } ?? [:]
                #expect(answer["paid_minor"] as? Int64 == domain.paidMinor)
                #expect(answer["refunded_minor"] as? Int64 == domain.refundedMinor)
                #expect(answer["net_minor"] as? Int64 == domain.netMinor)
                #expect(answer["payments"] as? Int == domain.payments && answer["refunds"] as? Int == domain.refunds)
                #expect(answer["sales"] as? Int == domain.sales && answer["sales_minor"] as? Int64 == domain.salesMinor)
                #expect(answer["average_ticket_minor"] as? Int64 == domain.averageTicketMinor)
                #expect(answer["discounts_minor"] as? Int64 == domain.discountsMinor && answer["tips_minor"] as? Int64 == domain.tipsMinor)
                let days = answer["by_day"] as? [[String: Any]] ?? []
                #expect(days.map { $0["start"] as? String } == domain.byDay.map(\.start.description))
                #expect(days.map { $0["net_minor"] as? Int64 } == domain.byDay.map(\.netMinor))
                let rows = answer["by_branch"] as? [[String: Any]] ?? []
                #expect(rows.map { $0["branch_id"] as? String } == domain.byBranch.map(\.branchID.rawValue))
                #expect(rows.map { $0["net_minor"] as? Int64 } == domain.byBranch.map(\.netMinor))
                #expect((answer["by_method"] as? [[String: Any]] ?? []).map { $0["method"] as? String } == domain.byMethod.map(\.method))
                #expect((answer["by_staff"] as? [[String: Any]] ?? []).map { $0["amount_minor"] as? Int64 } == domain.byStaff.map(\.amountMinor))
            }
            let gbp = currencies.first { $0["currency"] as? String == "GBP" } ?? [:]
            #expect(gbp["paid_minor"] as? Int == 6_500 && gbp["refunded_minor"] as? Int == 1_000 && gbp["net_minor"] as? Int == 5_500)
            let kzt = currencies.first { $0["currency"] as? String == "KZT" } ?? [:]
            #expect(kzt["discounts_minor"] as? Int == 100_000 && kzt["tips_minor"] as? Int == 50_000)
            Self.expectContains(revenue["figures"], Self.encoded(expected.figures), path: "revenue")
            Self.expectContains(revenue["previous"], Self.encoded(expected.previous), path: "revenue.previous")
            // Freshness: this box's branch, and every branch's newest fact.
            let freshness = revenue["freshness"] as? [[String: Any]] ?? []
            #expect(freshness.count == 2)
            #expect(freshness.first { $0["branch_id"] as? String == fixture.branch.rawValue }?["this_box"] as? Bool == true)
            #expect(freshness.first { $0["branch_id"] as? String == history.london.rawValue }?["this_box"] as? Bool == false)
            for entry in freshness {
                #expect(entry.keys.contains("last_heard_at") && entry.keys.contains("newest_fact_at"), "\(entry)")
                #expect((entry["newest_fact_at"] as? String)?.count ?? 0 >= 20, "\(entry)")
            }

            // Bookings, field by field.
            let bookings = try await client.send(.get, "/v1/reports/bookings?\(Self.february)")
            #expect(bookings.status == 200, "\(bookings.text)")
            let expectedBookings = try await fixture.shop.reports.bookings(query).figures
            let figures = bookings["figures"] as? [String: Any] ?? [:]
            let counts = figures["counts"] as? [String: Any] ?? [:]
            #expect(counts["scheduled"] as? Int == expectedBookings.counts.scheduled && expectedBookings.counts.scheduled == 4)
            #expect(counts["completed"] as? Int == expectedBookings.counts.completed)
            #expect(counts["cancelled"] as? Int == expectedBookings.counts.cancelled && counts["late_cancelled"] as? Int == expectedBookings.counts.lateCancelled)
            #expect(counts["no_shows"] as? Int == expectedBookings.counts.noShows && counts["open"] as? Int == expectedBookings.counts.open)
            #expect(counts["cancellation_rate"] as? Double == expectedBookings.counts.cancellationRate && expectedBookings.counts.cancellationRate == 0.25)
            #expect(counts["no_show_rate"] as? Double == expectedBookings.counts.noShowRate)
            #expect(counts["completion_rate"] as? Double == expectedBookings.counts.completionRate)
            #expect(figures["created"] as? Int == expectedBookings.created)
            #expect(figures["by_source"] as? [String: Int] == expectedBookings.bySource)
            #expect(figures["lead_time"] as? [String: Int] == expectedBookings.leadTime)
            #expect((figures["by_staff"] as? [[String: Any]] ?? []).map { $0["key"] as? String } == expectedBookings.byStaff.map(\.key))
            Self.expectContains(bookings["figures"], Self.encoded(expectedBookings), path: "bookings")

            // Utilisation: by_day is an array sorted by date; the rest as the domain has it.
            let utilisation = try await client.send(.get, "/v1/reports/utilisation?\(Self.february)&compare=false")
            #expect(utilisation.status == 200, "\(utilisation.text)")
            #expect(utilisation.json.keys.contains("previous") && utilisation["previous"] is NSNull && utilisation["previous_period"] is NSNull)
            let expectedUtilisation = try await fixture.shop.reports.utilisation(ReportQuery(from: query.from, to: query.to, compare: false)).figures
            let byDay = (utilisation["figures"] as? [String: Any])?["by_day"] as? [[String: Any]] ?? []
            #expect(byDay.map { $0["date"] as? String } == expectedUtilisation.byDay.keys.sorted().map(\.description))
            #expect(byDay.map { $0["booked_minutes"] as? Int } == expectedUtilisation.byDay.sorted { $0.key < $1.key }.map(\.value.bookedMinutes))
            #expect(((utilisation["figures"] as? [String: Any])?["revenue_heat"] as? [String: Any])?.keys.sorted() == ["GBP", "KZT"])
            Self.expectContains(utilisation["figures"], Self.encoded(expectedUtilisation), path: "utilisation", skipping: ["by_day"])

            // Clients, staff, stock.
            let clients = try await client.send(.get, "/v1/reports/clients?\(Self.february)&not_seen_days=30")
            #expect(clients.status == 200, "\(clients.text)")
            let expectedClients = try await fixture.shop.reports.clients(query, notSeenForDays: 30).figures
            Self.expectContains(clients["figures"], Self.encoded(expectedClients), path: "clients")
            let top = (clients["figures"] as? [String: Any])?["top_clients"] as? [[String: Any]] ?? []
            #expect(top.contains { $0["name"] as? String == "Smith, \"Jo\"" && $0["amount_minor"] as? Int == 5_500 && $0["last_visit"] is NSNull }, "\(clients.text)")
            let staff = try await client.send(.get, "/v1/reports/staff?\(Self.february)")
            #expect(staff.status == 200, "\(staff.text)")
            let expectedStaff = try await fixture.shop.reports.staff(query).figures
            Self.expectContains(staff["figures"], Self.encoded(expectedStaff), path: "staff")
            let rows = (staff["figures"] as? [String: Any])?["staff"] as? [[String: Any]] ?? []
            #expect(rows.first { $0["staff_id"] as? String == fixture.aigerim.rawValue }?["average_rating"] as? Double == 5)
            #expect(rows.first { $0["staff_id"] as? String == fixture.dana.rawValue }.map { $0["average_rating"] is NSNull } == true)
            let stock = try await client.send(.get, "/v1/reports/stock?\(Self.february)&slow_max=3")
            #expect(stock.status == 200, "\(stock.text)")
            let expectedStock = try await fixture.shop.reports.stock(query, slowMoverMaximum: 3).figures
            Self.expectContains(stock["figures"], Self.encoded(expectedStock), path: "stock")
            #expect((stock["figures"] as? [String: Any])?["slow_mover_maximum"] as? Int == 3)

            // The dashboard, field by field.
            let dashboard = try await client.send(.get, "/v1/reports/dashboard?today=2026-02-13")
            #expect(dashboard.status == 200, "\(dashboard.text)")
            let expectedDashboard = try await fixture.shop.reports.dashboard(branches: nil, today: LocalDate("2026-02-13")!)
            for (name, window) in [("today", expectedDashboard.today), ("week", expectedDashboard.week)] {
                let answer = dashboard[name] as? [String: Any] ?? [:]
                #expect(answer["from"] as? String == window.from.description && answer["to"] as? String == window.to.description)
                #expect(answer["net_minor"] as? [String: Int64] == window.netMinor, "\(name)")
                let bookings = answer["bookings"] as? [String: Any] ?? [:]
                #expect(bookings["scheduled"] as? Int == window.bookings.scheduled && bookings["no_shows"] as? Int == window.bookings.noShows)
                #expect(bookings["no_show_rate"] as? Double == window.bookings.noShowRate)
                #expect(answer["available_minutes"] as? Int == window.availableMinutes && answer["booked_minutes"] as? Int == window.bookedMinutes)
            }
            #expect((dashboard["week"] as? [String: Any])?["net_minor"] as? [String: Int] == ["KZT": 750_000, "GBP": 6_500])
            let sparkline = dashboard["sparkline"] as? [[String: Any]] ?? []
            #expect(sparkline.count == 14 && sparkline.last?["date"] as? String == "2026-02-13")
            Self.expectContains(dashboard["sparkline"], Self.encoded(expectedDashboard.sparkline), path: "dashboard.sparkline")
            #expect((dashboard["freshness"] as? [[String: Any]])?.count == 2)
        }
    }

    @Test("freshness: last_heard_at is when this box last received changesets from a box of that branch; null before")
    func lastHeard() async throws {
        let history = try History()
        let fixture = history.fixture
        let londonBox = try fixture.fixture.makeShop(home: history.london)
        try londonBox.apply(try fixture.shop.store.changesets(missingFrom: londonBox.store.versionVector, limit: .max).map(\.bytes))
        let query = "/v1/reports/revenue?\(Self.february)&branch=\(history.london.rawValue)"
        try await live(fixture) { client in
            let before = try await client.send(.get, query)
            #expect((before["freshness"] as? [[String: Any]])?.first?["last_heard_at"] is NSNull, "\(before.text)")
            try londonBox.save(StaffMember(id: StaffID(trusted: "0190f5a0-0000-7000-8000-00000000a010"), branchID: history.london, name: "Harry",
                                           schedule: .every(Weekday.allCases, [WallInterval("09:00", "17:00")!])))
            fixture.clock.advance(minutes: 1)
            try fixture.shop.apply(try londonBox.store.changesets(missingFrom: fixture.shop.store.versionVector, limit: .max).map(\.bytes))
            let after = try await client.send(.get, query)
            let entry = (after["freshness"] as? [[String: Any]])?.first ?? [:]
            #expect(entry["last_heard_at"] as? String == "2026-03-02T03:01:00Z", "\(after.text)")
            #expect((entry["boxes"] as? [[String: Any]])?.contains { $0["site"] as? String == londonBox.store.site.hex && ($0["sequence"] as? Int ?? 0) > 0 } == true,
                    "\(after.text)")
        }
    }

    @Test("who sees what: owner every branch; a manager their own (staff member's, else the home branch), 403 naming another; grants all and a list; others 403")
    func roleMatrix() async throws {
        let history = try History()
        let fixture = history.fixture
        let almaty = fixture.branch.rawValue
        let london = history.london.rawValue
        try await live(fixture) { client in
            func branchesOf(_ response: APIResponse) -> [String] { (response["branches"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } }
            let paths = ["revenue", "utilisation", "bookings", "clients", "staff", "stock"].map { "/v1/reports/\($0)?\(Self.february)" }
                + ["/v1/reports/dashboard", "/v1/reports/revenue.csv?\(Self.february)"]
            for path in paths {
                let owner = try await client.send(.get, path, as: .owner)
                #expect(owner.status == 200, "\(path): \(owner.text)")
                // The manager tablet with nobody signed in: the box's home branch.
                #expect(try await client.send(.get, path, as: .manager).status == 200, "\(path)")
                for role in [Role.staff, .frontDesk, .kiosk] {
                    let refused = try await client.send(.get, path, as: role)
                    #expect(refused.status == 403 && refused["type"] as? String == "urn:edgenode:problem:forbidden", "\(path) as \(role): \(refused.text)")
                }
            }
            #expect(Set(branchesOf(try await client.send(.get, "/v1/reports/revenue?\(Self.february)", as: .owner))) == [almaty, london])
            #expect(branchesOf(try await client.send(.get, "/v1/reports/revenue?\(Self.february)", as: .manager)) == [almaty])
            let named = try await client.send(.get, "/v1/reports/revenue?\(Self.february)&branch=\(london)", as: .manager)
            #expect(named.status == 403 && (named["detail"] as? String ?? "").contains(london) && (named["detail"] as? String ?? "").contains("London Soho"),
                    "\(named.text)")
            let dashboardNamed = try await client.send(.get, "/v1/reports/dashboard?branch=\(almaty),\(london)", as: .manager)
            #expect(dashboardNamed.status == 403 && dashboardNamed.text.contains(london))
            #expect((try await client.send(.get, "/v1/me", as: .manager))["report_branches"] as? [String] == [almaty])
            #expect(Set((try await client.send(.get, "/v1/me", as: .owner))["report_branches"] as? [String] ?? []) == [almaty, london])
            #expect((try await client.send(.get, "/v1/me", as: .frontDesk))["report_branches"] as? [String] == [])

            // A manager who is London's staff member: London is their own branch.
            let olivia = try await history.signIn(client, role: "manager", staff: history.olivia)
            let oliviaHeaders = ["Edgenode-Session": olivia.session]
            #expect(branchesOf(try await client.send(.get, "/v1/reports/revenue?\(Self.february)", as: .frontDesk, headers: oliviaHeaders)) == [london])
            let oliviaAlmaty = try await client.send(.get, "/v1/reports/revenue?\(Self.february)&branch=\(almaty)", as: .frontDesk, headers: oliviaHeaders)
            #expect(oliviaAlmaty.status == 403 && oliviaAlmaty.text.contains("Almaty Central"), "\(oliviaAlmaty.text)")

            // A manager without a staff member: the home branch; granted all, every branch; granted a list, their own and the list.
            let manager = try await history.signIn(client, role: "manager")
            let headers = ["Edgenode-Session": manager.session]
            #expect(branchesOf(try await client.send(.get, "/v1/reports/staff?\(Self.february)", as: .frontDesk, headers: headers)) == [almaty])
            // Grants are the owner's: a manager may not grant, not even themselves.
            let byManager = try await client.send(.put, "/v1/people/\(manager.person)/report-access", as: .manager, json: body(["branches": "all"]))
            #expect(byManager.status == 403)
            let selfGrant = try await client.send(.put, "/v1/people/\(manager.person)/report-access", as: .frontDesk, json: body(["branches": "all"]), headers: headers)
            #expect(selfGrant.status == 403)
            let all = try await client.send(.put, "/v1/people/\(manager.person)/report-access", as: .owner, json: body(["branches": "all"]))
            #expect(all.status == 200 && all["report_access"] as? String == "all" && all["id"] as? String == manager.person, "\(all.text)")
            #expect(Set(branchesOf(try await client.send(.get, "/v1/reports/staff?\(Self.february)", as: .frontDesk, headers: headers))) == [almaty, london])
            #expect(Set((try await client.send(.get, "/v1/me", as: .frontDesk, headers: headers))["report_branches"] as? [String] ?? []) == [almaty, london])
            let listed = try await client.send(.put, "/v1/people/\(olivia.person)/report-access", as: .owner, json: body(["branches": [almaty, almaty]]))
            #expect(listed.status == 200 && listed["report_access"] as? [String] == [almaty], "\(listed.text)")
            #expect(Set(branchesOf(try await client.send(.get, "/v1/reports/revenue?\(Self.february)", as: .frontDesk, headers: oliviaHeaders))) == [almaty, london])
            #expect((try await client.send(.get, "/v1/me", as: .frontDesk, headers: oliviaHeaders))["report_branches"] as? [String] == [london, almaty])
            let people = try await client.send(.get, "/v1/people", as: .owner)
            #expect(people.items.first { $0["id"] as? String == manager.person }?["report_access"] as? String == "all")
            #expect(people.items.first { $0["id"] as? String == olivia.person }?["report_access"] as? [String] == [almaty])
            #expect(people.items.allSatisfy { $0["report_access"] != nil })
            let own = try await client.send(.put, "/v1/people/\(manager.person)/report-access", as: .owner, json: body(["branches": "own"]))
            #expect(own["report_access"] as? String == "own")
            #expect(branchesOf(try await client.send(.get, "/v1/reports/staff?\(Self.february)", as: .frontDesk, headers: headers)) == [almaty])
            // The grant is replicated and audited.
            let grants = try await fixture.shop.reports.grants()
            #expect(grants[PersonID(olivia.person)!]?.access == .branches([fixture.branch]))
            #expect(try await fixture.shop.audit.events(limit: 20).contains { $0.operation == "report_access.grant" && $0.role == "owner" })
            // Bad grants: refused, nothing written.
            let vector = fixture.shop.store.versionVector
            for bad: Any in ["some", 3, [String](), ["not-an-id"]] {
                let refused = try await client.send(.put, "/v1/people/\(manager.person)/report-access", as: .owner, json: body(["branches": bad]))
                #expect(refused.status == 422 && refused.text.contains("branches"), "\(bad): \(refused.text)")
            }
            let unknownBranch = try await client.send(.put, "/v1/people/\(manager.person)/report-access", as: .owner,
                                                      json: body(["branches": ["0190f5a0-0000-7000-8000-0000000000ff"]]))
            #expect(unknownBranch.status == 404, "\(unknownBranch.text)")
            let unknownPerson = try await client.send(.put, "/v1/people/0190f5a0-0000-7000-8000-0000000000fe/report-access", as: .owner,
                                                      json: body(["branches": "all"]))
            #expect(unknownPerson.status == 404, "\(unknownPerson.text)")
            #expect(fixture.shop.store.versionVector == vector)
        }
    }

    @Test("a manager with no own branch (no staff member, a box without a home branch) and no grant: 403 No branch to report on")
    func noBranch() async throws {
        let history = try History()
        let laptop = try history.fixture.makePeer()   // the owner's laptop: no home branch
        try laptop.apply(try history.shop.store.changesets(missingFrom: laptop.store.versionVector, limit: .max).map(\.bytes))
        let (_, token) = try laptop.registerDevice(name: "manager laptop", role: .manager, pairedBy: "test")
        let api = LocalAPI(shop: laptop, configuration: LocalAPIConfiguration(), logger: quietLogger)
        let application = Application(router: api.makeRouter(), logger: quietLogger)
        try await application.test(.live) { client in
            let client = APIClient(client: client, fixture: history.fixture)
            let refused = try await client.send(.get, "/v1/reports/revenue?\(Self.february)", as: nil, token: token)
            #expect(refused.status == 403 && refused["title"] as? String == "No branch to report on: ask the owner to grant report access", "\(refused.text)")
            #expect(try await client.send(.get, "/v1/reports/dashboard", as: nil, token: token).status == 403)
            #expect((try await client.send(.get, "/v1/me", as: nil, token: token))["report_branches"] as? [String] == [])
        }
    }

    @Test("bad queries: 400 naming the parameter (backwards, three years, malformed date, compare, not_seen_days, slow_max, table); unknown branch 404; nothing written")
    func badQueries() async throws {
        let history = try History()
        let fixture = history.fixture
        let vector = fixture.shop.store.versionVector
        try await live(fixture) { client in
            let cases: [(String, String)] = [
                ("/v1/reports/revenue?from=2026-02-10&to=2026-02-01", "to"),
                ("/v1/reports/revenue?from=2023-01-01&to=2026-01-01", "to"),
                ("/v1/reports/bookings?from=2026-02-30&to=2026-03-01", "from"),
                ("/v1/reports/bookings?from=2026-02-01&to=tomorrow", "to"),
                ("/v1/reports/bookings?to=2026-03-01", "from"),
                ("/v1/reports/utilisation?\(Self.february)&compare=maybe", "compare"),
                ("/v1/reports/clients?\(Self.february)&not_seen_days=0", "not_seen_days"),
                ("/v1/reports/clients?\(Self.february)&not_seen_days=3651", "not_seen_days"),
                ("/v1/reports/stock?\(Self.february)&slow_max=-1", "slow_max"),
                ("/v1/reports/staff?\(Self.february)&branch=atyrau", "branch"),
                ("/v1/reports/staff?\(Self.february)&colour=red", "colour"),
                ("/v1/reports/dashboard?today=13.02.2026", "today"),
                ("/v1/reports/revenue.csv?\(Self.february)&table=by_planet", "table"),
                ("/v1/reports/revenue.csv?\(Self.february)&lang=de", "lang"),
                ("/v1/reports/revenue.csv?\(Self.february)&decimal=dot", "decimal"),
                ("/v1/reports/staff.csv?\(Self.february)&not_seen_days=3", "not_seen_days"),
            ]
            for (path, parameter) in cases {
                let response = try await client.send(.get, path)
                #expect(response.status == 400 && response["type"] as? String == "urn:edgenode:problem:invalid_parameter", "\(path): \(response.text)")
                #expect((response["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } == [parameter], "\(path): \(response.text)")
            }
            let threeYears = try await client.send(.get, "/v1/reports/revenue?from=2023-01-01&to=2026-01-01")
            #expect(threeYears.text.contains("at most 3 years"), "\(threeYears.text)")
            let table = try await client.send(.get, "/v1/reports/revenue.csv?\(Self.february)&table=by_planet")
            #expect(table.text.contains("summary, by_day, by_week, by_month, by_method, by_branch, by_service, by_category, by_product, by_staff, tips_by_staff"))
            #expect(try await client.send(.get, "/v1/reports/revenue?from=2023-01-01&to=2025-12-31").status == 200)
            let unknown = try await client.send(.get, "/v1/reports/revenue?\(Self.february)&branch=0190f5a0-0000-7000-8000-0000000000ff")
            #expect(unknown.status == 404 && unknown["type"] as? String == "urn:edgenode:problem:not_found", "\(unknown.text)")
        }
        #expect(fixture.shop.store.versionVector == vector)
    }

    /// A CSV body parsed per RFC 4180 (after the BOM).
    static func parse(_ text: String, separator: Character) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text)
        characters.append("\r\n")
        var index = 0
        while index < characters.count - 1 {
            let character = characters[index]
            if quoted {
                if character == "\"" {
                    if characters[index + 1] == "\"" { field.append("\""); index += 1 } else { quoted = false }
                } else {
                    field.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == separator {
                row.append(field); field = ""
            } else if character == "\r\n" {
                row.append(field); field = ""
                rows.append(row); row = []
            } else {
                field.append(character)
            }
            index += 1
        }
        return rows
    }

    @Test("CSV: BOM, `,` or `;` with the decimal comma, CRLF, quoting, headers in en/ru/kk (lang, then Accept-Language), amounts with the currency's decimals")
    func csvFormat() async throws {
        let history = try History()
        try await live(history.fixture) { client in
            let summary = try await client.send(.get, "/v1/reports/revenue.csv?\(Self.february)")
            #expect(summary.status == 200 && summary.header("Content-Type") == "text/csv; charset=utf-8")
            #expect(summary.header("Content-Disposition") == "attachment; filename=\"revenue-summary-2026-02-01-2026-02-28.csv\"")
            #expect(summary.text.hasPrefix("\u{FEFF}Currency,Paid,Refunded,Net,"), "\(summary.text)")
            #expect(summary.text.hasSuffix("\r\n") && !summary.text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
            let rows = Self.parse(summary.text, separator: ",")
            #expect(rows.first == ["Currency", "Paid", "Refunded", "Net", "Payments", "Refunds", "Sales", "Sales total", "Average ticket", "Discounts", "Tips",
                                   "Paid, previous period", "Net, previous period"])
            #expect(rows.contains(["GBP", "65.00", "10.00", "55.00", "1", "1", "1", "65.00", "65.00", "0.00", "0.00", "65.00", "65.00"]), "\(rows)")
            #expect(rows.contains(["KZT", "7500.00", "0.00", "7500.00", "1", "0", "1", "7500.00", "7500.00", "1000.00", "500.00", "0.00", "0.00"]), "\(rows)")
            // The decimal comma: `;` between fields, `,` in amounts (and a header with a comma stays one field).
            let comma = try await client.send(.get, "/v1/reports/revenue.csv?\(Self.february)&decimal=comma&lang=ru")
            #expect(comma.text.hasPrefix("\u{FEFF}Валюта;Оплачено;Возвращено;Итого;"), "\(comma.text)")
            let commaRows = Self.parse(comma.text, separator: ";")
            #expect(commaRows.first?.last == "Итого, прошлый период")
            #expect(commaRows.contains(["GBP", "65,00", "10,00", "55,00", "1", "1", "1", "65,00", "65,00", "0,00", "0,00", "65,00", "65,00"]), "\(commaRows)")
            #expect(comma.text.contains("\"Итого, прошлый период\"") == false)   // no comma separator there, so no quotes
            // Kazakh by lang, and by Accept-Language when lang is absent; English otherwise.
            let kk = try await client.send(.get, "/v1/reports/revenue.csv?\(Self.february)&lang=kk")
            #expect(kk.text.hasPrefix("\u{FEFF}Валюта,Төленді,Қайтарылды,"), "\(kk.text)")
            let accepted = try await client.send(.get, "/v1/reports/revenue.csv?\(Self.february)", headers: ["Accept-Language": "de-DE, kk;q=0.9, ru;q=0.8"])
            #expect(accepted.text.hasPrefix("\u{FEFF}Валюта,Төленді,"), "\(accepted.text)")
            let russian = try await client.send(.get, "/v1/reports/bookings.csv?\(Self.february)", headers: ["Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"])
            #expect(russian.text.hasPrefix("\u{FEFF}Создано записей,"), "\(russian.text)")
            let german = try await client.send(.get, "/v1/reports/bookings.csv?\(Self.february)&table=summary", headers: ["Accept-Language": "de"])
            #expect(german.text.hasPrefix("\u{FEFF}Booked in period,Booked elsewhere,Scheduled,"), "\(german.text)")
            #expect(Self.parse(german.text, separator: ",").last == ["3", "0", "4", "2", "1", "1", "1", "0", "25.0", "25.0", "50.0"], "\(german.text)")
            // Quoting: a name with a comma and a quote.
            let top = try await client.send(.get, "/v1/reports/clients.csv?\(Self.february)&table=top_clients")
            #expect(top.text.contains("GBP,\"Smith, \"\"Jo\"\"\",+44 20 7946 0000,1,55.00\r\n"), "\(top.text)")
            #expect(Self.parse(top.text, separator: ",").contains(["GBP", "Smith, \"Jo\"", "+44 20 7946 0000", "1", "55.00"]))
            let topComma = try await client.send(.get, "/v1/reports/clients.csv?\(Self.february)&table=top_clients&decimal=comma")
            #expect(topComma.text.contains("GBP;\"Smith, \"\"Jo\"\"\";+44 20 7946 0000;1;55,00\r\n"), "\(topComma.text)")
            // Rates as percentages with one decimal; an average rating with one decimal, empty without ratings.
            let staff = try await client.send(.get, "/v1/reports/staff.csv?\(Self.february)")
            let staffRows = Self.parse(staff.text, separator: ",")
            #expect(staffRows.first?.contains("Average rating") == true)
            let aigerim = staffRows.first { $0.first == "Aigerim" } ?? []
            #expect(aigerim.suffix(4) == ["5.0", "KZT", "7000.00", "500.00"], "\(staffRows)")
            let heat = Self.parse(try await client.send(.get, "/v1/reports/utilisation.csv?\(Self.february)&table=revenue_heat&lang=ru").text, separator: ",")
            #expect(heat.first == ["Валюта", "День недели"] + (0..<24).map { $0 < 10 ? "0\($0)" : "\($0)" })
            #expect(heat.count == 15 && heat[1][1] == "Понедельник", "\(heat)")
            #expect(heat.contains { $0[0] == "KZT" && $0[1] == "Вторник" && $0[13] == "7500.00" }, "\(heat)")
        }
    }

    @Test("CSV: every table of every report answers 200 with its header row")
    func everyTable() async throws {
        let history = try History()
        try await live(history.fixture) { client in
            for kind in ReportKind.allCases {
                for table in kind.tables {
                    let response = try await client.send(.get, "/v1/reports/\(kind.rawValue).csv?\(Self.february)&table=\(table)")
                    #expect(response.status == 200, "\(kind.rawValue) \(table): \(response.text)")
                    #expect(response.header("Content-Disposition") == "attachment; filename=\"\(kind.rawValue)-\(table)-2026-02-01-2026-02-28.csv\"")
                    let rows = Self.parse(response.text, separator: ",")
                    #expect(!(rows.first ?? []).isEmpty && rows.allSatisfy { $0.count == rows[0].count }, "\(kind.rawValue) \(table): \(rows)")
                    #expect(!(rows.first ?? []).contains { $0.contains("_") }, "\(kind.rawValue) \(table): a header without a label: \(rows.first ?? [])")
                }
            }
        }
    }

    @Test("a CSV text cell a spreadsheet would run as a formula is made inert with a leading quote; phones and numbers are left alone")
    func csvFormulaInjection() {
        let sheet = CSVSheet(columns: ["name"], rows: [[.text("=HYPERLINK(\"http://x\")")], [.text("@SUM(A1)")], [.text("+1+cmd|' /C calc'!A0")],
                                                       [.text("-2+3")], [.text("+7 (701) 555-01-01")], [.text("Aigerim")], [.integer(-500)]])
        let text = String(decoding: sheet.bytes(language: .en, mark: .point).dropFirst(3), as: UTF8.self)
        let rows = text.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }
        #expect(rows == ["\"'=HYPERLINK(\"\"http://x\"\")\"", "'@SUM(A1)", "'+1+cmd|' /C calc'!A0", "'-2+3", "+7 (701) 555-01-01", "Aigerim", "-500"])
    }
}
