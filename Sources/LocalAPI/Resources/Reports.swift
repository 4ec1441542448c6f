import Domain
import Foundation

// The owner reports (issue 19, docs/reports.md): JSON per report, CSV per report table, and who
// may report on which branch.

extension ReportHandlers {
    /// The query every ranged report takes.
    static let rangeQuery: [QueryParameter] = [.required("from"), .required("to"), "branch", "compare"]
    /// What a CSV export takes besides its report's query.
    static let csvQuery: [QueryParameter] = ["table", "lang", "decimal"]

    /// The reports, their CSV exports, and report access.
    static let endpoints: [Endpoint] = [
        Endpoint(.get, "/v1/reports/revenue", .reportsRead, query: rangeQuery, answers: [200: .json("RevenueReport")], ReportHandlers.revenue),
        Endpoint(.get, "/v1/reports/utilisation", .reportsRead, query: rangeQuery, answers: [200: .json("UtilisationReport")], ReportHandlers.utilisation),
        Endpoint(.get, "/v1/reports/bookings", .reportsRead, query: rangeQuery, answers: [200: .json("BookingsReport")], ReportHandlers.bookings),
        Endpoint(.get, "/v1/reports/clients", .reportsRead, query: rangeQuery + ["not_seen_days"], answers: [200: .json("ClientsReport")],
                 ReportHandlers.clients),
        Endpoint(.get, "/v1/reports/staff", .reportsRead, query: rangeQuery, answers: [200: .json("StaffReport")], ReportHandlers.staff),
        Endpoint(.get, "/v1/reports/stock", .reportsRead, query: rangeQuery + ["slow_max"], answers: [200: .json("StockReport")], ReportHandlers.stock),
        Endpoint(.get, "/v1/reports/dashboard", .reportsRead, query: ["branch", "today"], answers: [200: .json("Dashboard")], ReportHandlers.dashboard),
    ] + ReportKind.allCases.map { kind in
        Endpoint(.get, "/v1/reports/\(kind.rawValue).csv", .reportsRead, query: rangeQuery + csvQuery + kind.extraQuery, answers: [200: .media("text/csv")]) { call in
            try await ReportHandlers.csv(kind, call)
        }
    } + [
        Endpoint(.put, "/v1/people/{id}/report-access", .reportsGrant, body: .json("ReportAccessInput"), answers: [200: .json("Person")],
                 ReportHandlers.grantAccess),
    ]
}

/// The reports that have a CSV export, and their tables (the first is the default).
enum ReportKind: String, CaseIterable, Sendable {
    case revenue, utilisation, bookings, clients, staff, stock

    var tables: [String] {
        switch self {
        case .revenue: ["summary", "by_day", "by_week", "by_month", "by_method", "by_branch", "by_service", "by_category", "by_product", "by_staff", "tips_by_staff"]
        case .utilisation: ["staff", "resources", "by_day", "by_hour", "bookings_heat", "revenue_heat"]
        case .bookings: ["summary", "by_service", "by_staff", "by_branch", "by_source", "lead_time"]
        case .clients: ["summary", "retention", "frequency", "lifetime_value", "top_clients", "not_seen"]
        case .staff: ["staff"]
        case .stock: ["sales_by_product", "stock_value", "slow_movers"]
        }
    }

    var extraQuery: [QueryParameter] {
        switch self {
        case .clients: ["not_seen_days"]
        case .stock: ["slow_max"]
        default: []
        }
    }
}

enum ReportHandlers {
    // MARK: Who sees which branch

    /// The branches a caller may report on.
    enum Reach: Sendable, Equatable {
        /// Every branch (an owner, or a manager granted `all`).
        case every
        /// These branches (possibly none).
        case some([BranchID])
    }

    /// What the caller may report on: an owner every branch; a manager their own branch (their
    /// staff member's, else the box's home branch; a device without a person: the home branch)
    /// and what the owner granted them; anyone else nothing. Branches this replica does not hold are left out.
    static func reach(_ call: Call, known: Set<BranchID>) async throws -> Reach {
        guard let principal = call.principal, Permission.reportsRead.isGranted(to: principal.role) else { return .some([]) }
        if principal.role == .owner { return .every }
        var own = call.shop.homeBranch
        var access = ReportAccess.own
        if let person = principal.person {
            if let staff = person.staffID {
                do {
                    own = try await call.shop.catalogue.staffMember(staff).branchID
                } catch let error as DomainError where error.code == .notFound {
                    own = call.shop.homeBranch   // the staff member is not in this replica (yet)
                }
            }
            access = try await call.shop.reports.access(of: person.id)
        }
        var list: [BranchID] = own.map { [$0] } ?? []
        switch access {
        case .all: return .every
        case .own: break
        case .branches(let ids): list += ids
        }
        var seen: Set<BranchID> = []
        return .some(list.filter { known.contains($0) && seen.insert($0).inserted })
    }

    /// The branches `/v1/me` lists as `report_branches`.
    static func reportBranches(_ call: Call) async throws -> [String] {
        let branches = try await call.shop.catalogue.branches()
        switch try await reach(call, known: Set(branches.map(\.id))) {
        case .every: return branches.map(\.id.rawValue)
        case .some(let ids): return ids.map(\.rawValue)
        }
    }

    /// The branches a report covers: those the request names (each must exist, 404, and be one the
    /// caller may see, 403), else every branch the caller may see (nil: every branch of the replica).
    static func branches(_ call: Call, requested: [BranchID]?) async throws -> [BranchID]? {
        let all = try await call.shop.catalogue.branches()
        let known = Set(all.map(\.id))
        var seen: Set<BranchID> = []
        let requested = requested?.filter { seen.insert($0).inserted }
        for id in requested ?? [] where !known.contains(id) {
            throw APIError.notFound("no branch \(id) in this box's replica")
        }
        switch try await reach(call, known: known) {
        case .every:
            return requested
        case .some(let allowed):
            if let requested {
                for id in requested where !allowed.contains(id) {
                    let name = all.first { $0.id == id }?.name ?? id.rawValue
                    var error = APIError(status: 403, kind: "forbidden", title: "Not allowed to report on this branch",
                                         detail: "you may not report on the branch \(name) (\(id)): a manager sees their own branch unless the owner grants more")
                    error.errors = [FieldError(field: "branch", message: "\(id) (\(name)) is not a branch you may report on")]
                    throw error
                }
                return requested
            }
            guard !allowed.isEmpty else {
                throw APIError(status: 403, kind: "forbidden", title: "No branch to report on: ask the owner to grant report access",
                               detail: "No branch to report on: ask the owner to grant report access (this person has no staff member and the box has no home branch)")
            }
            return allowed
        }
    }

    // MARK: Query

    /// Reads `from`, `to`, `branch` and `compare` (and whatever the caller read before from `reader`),
    /// refuses every problem at once (400 naming the parameters), then the branches (404, 403).
    static func reportQuery(_ call: Call, _ reader: QueryReader) async throws -> ReportQuery {
        let from = reader.date("from", required: true)
        let to = reader.date("to", required: true)
        let requested = reader.ids("branch", maxCount: 100, as: BranchID.self)
        let compare = reader.bool("compare") ?? true
        if let from, let to {
            if to < from {
                reader.errors.add("to", "is before from (\(from)): the range is backwards")
            } else if let limit = from.adding(months: 12 * ReportQuery.maximumYears), to >= limit {
                reader.errors.add("to", "must be before \(limit): a report covers at most \(ReportQuery.maximumYears) years (\(from)…\(to) is \(to.daysSinceEpoch - from.daysSinceEpoch + 1) days)")
            }
        }
        try reader.validate()
        guard let from, let to else { throw APIError.invalidParameters([]) }
        let branches = try await branches(call, requested: requested)
        return ReportQuery(from: from, to: to, branches: branches, compare: compare)
    }

    /// Runs a report; a range the domain still refuses is the client's (400 naming `to`), never a 5xx or 422.
    static func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DomainError where error.code == .invalidArgument {
            throw APIError.invalidParameters([FieldError(field: "to", message: error.message)])
        }
    }

    // MARK: JSON reports

    static func revenue(_ call: Call) async throws -> Reply {
        let query = try await reportQuery(call, call.query())
        let result = try await run { try await call.shop.reports.revenue(query) }
        return .json(try await envelope(call, result) { RevenueFiguresBody($0) })
    }

    static func utilisation(_ call: Call) async throws -> Reply {
        let query = try await reportQuery(call, call.query())
        let result = try await run { try await call.shop.reports.utilisation(query) }
        return .json(try await envelope(call, result) { UtilisationFiguresBody($0) })
    }

    static func bookings(_ call: Call) async throws -> Reply {
        let query = try await reportQuery(call, call.query())
        let result = try await run { try await call.shop.reports.bookings(query) }
        return .json(try await envelope(call, result) { BookingsFiguresBody($0) })
    }

    static func clients(_ call: Call) async throws -> Reply {
        let reader = call.query()
        let days = reader.int("not_seen_days", range: 1...3650) ?? 90
        let query = try await reportQuery(call, reader)
        let result = try await run { try await call.shop.reports.clients(query, notSeenForDays: days) }
        let zones = call.zones
        return .json(try await envelope(call, result) { ClientsFiguresBody($0, zones: zones) })
    }

    static func staff(_ call: Call) async throws -> Reply {
        let query = try await reportQuery(call, call.query())
        let result = try await run { try await call.shop.reports.staff(query) }
        return .json(try await envelope(call, result) { StaffFiguresBody($0) })
    }

    static func stock(_ call: Call) async throws -> Reply {
        let reader = call.query()
        let maximum = reader.int("slow_max", range: 0...1_000_000) ?? 0
        let query = try await reportQuery(call, reader)
        let result = try await run { try await call.shop.reports.stock(query, slowMoverMaximum: maximum) }
        return .json(try await envelope(call, result) { $0 })
    }

    static func dashboard(_ call: Call) async throws -> Reply {
        let reader = call.query()
        let requested = reader.ids("branch", maxCount: 100, as: BranchID.self)
        let today = reader.date("today")
        try reader.validate()
        let branches = try await branches(call, requested: requested)
        let figures = try await run { try await call.shop.reports.dashboard(branches: branches, today: today) }
        let heard = try await call.shop.reports.lastHeard()
        return .json(DashboardFiguresBody(today: DashboardWindowBody(figures.today), week: DashboardWindowBody(figures.week), sparkline: figures.sparkline,
                                   freshness: figures.freshness.map { ReportFreshnessBody($0, heard: heard, home: call.shop.homeBranch, zones: call.zones) }))
    }

    /// A report's answer: its period, branches, figures (and the previous period's) and freshness.
    static func envelope<F, B: Encodable>(_ call: Call, _ result: ReportResult<F>, _ convert: (F) -> B) async throws -> ReportEnvelopeBody<B> {
        let heard = try await call.shop.reports.lastHeard()
        let home = call.shop.homeBranch
        let freshness = result.freshness.map { ReportFreshnessBody($0, heard: heard, home: home, zones: call.zones) }
        let byID = Dictionary(result.freshness.map { ($0.branchID, $0) }, uniquingKeysWith: { first, _ in first })
        var branches: [ReportBranchBody] = []
        for id in result.branches {
            if let known = byID[id] {
                branches.append(ReportBranchBody(id: id.rawValue, name: known.name, timeZone: known.timeZone, currency: known.currency))
            } else {
                let branch = try await call.shop.catalogue.branch(id)
                branches.append(ReportBranchBody(id: id.rawValue, name: branch.name, timeZone: branch.timeZone, currency: branch.currency))
            }
        }
        return ReportEnvelopeBody(period: result.period, branches: branches, figures: convert(result.figures), previousPeriod: result.previousPeriod,
                          previous: result.previous.map(convert), freshness: freshness)
    }

    // MARK: Report access

    /// `PUT /v1/people/{id}/report-access` `{"branches": "own" | "all" | [ids]}`.
    static func grantAccess(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: PersonID.self)
        let body = try call.bodyReader()
        body.markSeen("branches")
        var access: ReportAccess?
        switch body.object["branches"] {
        case nil, .null?:
            body.reject("branches", "is required: \"own\", \"all\" or an array of branch ids")
        case .string("own")?:
            access = .own
        case .string("all")?:
            access = .all
        case .array(let items)?:
            if items.isEmpty {
                body.reject("branches", "names no branch: send \"own\" for the person's own branch only")
            } else if items.count > 100 {
                body.reject("branches", "has more than 100 items")
            } else {
                var ids: [BranchID] = []
                for (index, item) in items.enumerated() {
                    guard case .string(let text) = item, let branch = BranchID(text) else {
                        body.errors.add("branches[\(index)]", "must be a branch id (a UUIDv7)"); continue
                    }
                    ids.append(branch)
                }
                access = .branches(ids)
            }
        case let other?:
            body.reject("branches", "must be \"own\", \"all\" or an array of branch ids, not \(other.typeName)")
        }
        try body.validate()
        guard let access else { throw APIError.validation([]) }
        let grant = try await call.shop.reports.grant(person: id, branches: access, as: call.acting)
        let person = try await call.shop.access.person(id)
        return .json(PersonBody(person, zones: call.zones, reportAccess: grant.access))
    }
}

// MARK: Bodies

/// A person's report access as JSON: `"own"`, `"all"` or an array of branch ids.
struct ReportAccessBody: Encodable {
    let access: ReportAccess
    init(_ access: ReportAccess) { self.access = access }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch access {
        case .own: try container.encode("own")
        case .all: try container.encode("all")
        case .branches(let ids): try container.encode(ids.map(\.rawValue))
        }
    }
}

struct ReportBranchBody: Encodable {
    var id: String
    var name: String
    var timeZone: String
    var currency: String
}

/// `{period, branches, figures, previous_period, previous, freshness}`; the previous period's keys are null when not compared.
struct ReportEnvelopeBody<Figures: Encodable>: Encodable {
    var period: ReportPeriod
    var branches: [ReportBranchBody]
    var figures: Figures
    var previousPeriod: ReportPeriod?
    var previous: Figures?
    var freshness: [ReportFreshnessBody]

    enum CodingKeys: String, CodingKey { case period, branches, figures, previousPeriod, previous, freshness }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(period, forKey: .period)
        try container.encode(branches, forKey: .branches)
        try container.encode(figures, forKey: .figures)
        try container.encode(previousPeriod, forKey: .previousPeriod)
        try container.encode(previous, forKey: .previous)
        try container.encode(freshness, forKey: .freshness)
    }
}

struct ReportFreshnessBody: Encodable {
    var branchID: String
    var name: String
    var timeZone: String
    var currency: String
    var thisBox: Bool
    var newestFactAt: String?
    var lastHeardAt: String?
    var boxes: [BranchFreshness.Box]

    init(_ freshness: BranchFreshness, heard: [BranchID: Instant], home: BranchID?, zones: Zones) {
        branchID = freshness.branchID.rawValue
        name = freshness.name
        timeZone = freshness.timeZone
        currency = freshness.currency
        thisBox = freshness.branchID == home
        newestFactAt = zones.format(optional: freshness.newestFactAt, branch: freshness.branchID)
        lastHeardAt = zones.format(optional: heard[freshness.branchID], branch: freshness.branchID)
        boxes = freshness.boxes
    }

    enum CodingKeys: String, CodingKey { case branchID, name, timeZone, currency, thisBox, newestFactAt, lastHeardAt, boxes }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(branchID, forKey: .branchID)
        try container.encode(name, forKey: .name)
        try container.encode(timeZone, forKey: .timeZone)
        try container.encode(currency, forKey: .currency)
        try container.encode(thisBox, forKey: .thisBox)
        try container.encode(newestFactAt, forKey: .newestFactAt)
        try container.encode(lastHeardAt, forKey: .lastHeardAt)
        try container.encode(boxes, forKey: .boxes)
    }
}

struct MoneyBucketBody: Encodable {
    var start: LocalDate
    var paidMinor: Int64
    var refundedMinor: Int64
    var netMinor: Int64
    init(_ bucket: MoneyBucket) { start = bucket.start; paidMinor = bucket.paidMinor; refundedMinor = bucket.refundedMinor; netMinor = bucket.netMinor }
}

struct RevenueFiguresBody: Encodable {
    var currencies: [CurrencyRevenueBody]
    init(_ figures: RevenueFigures) { currencies = figures.currencies.map(CurrencyRevenueBody.init) }
}

struct CurrencyRevenueBody: Encodable {
    struct BranchRowBody: Encodable {
        var branchID: BranchID
        var name: String
        var paidMinor: Int64
        var refundedMinor: Int64
        var netMinor: Int64
    }
    var currency: String
    var paidMinor: Int64
    var refundedMinor: Int64
    var netMinor: Int64
    var payments: Int
    var refunds: Int
    var byMethod: [CurrencyRevenue.Method]
    var byBranch: [BranchRowBody]
    var byDay: [MoneyBucketBody]
    var byWeek: [MoneyBucketBody]
    var byMonth: [MoneyBucketBody]
    var sales: Int
    var salesMinor: Int64
    var averageTicketMinor: Int64
    var discountsMinor: Int64
    var tipsMinor: Int64
    var tipsByStaff: [AmountRow]
    var byService: [AmountRow]
    var byCategory: [AmountRow]
    var byProduct: [AmountRow]
    var byStaff: [AmountRow]

    init(_ revenue: CurrencyRevenue) {
        currency = revenue.currency
        paidMinor = revenue.paidMinor
        refundedMinor = revenue.refundedMinor
        netMinor = revenue.netMinor
        payments = revenue.payments
        refunds = revenue.refunds
        byMethod = revenue.byMethod
        byBranch = revenue.byBranch.map { BranchRowBody(branchID: $0.branchID, name: $0.name, paidMinor: $0.paidMinor, refundedMinor: $0.refundedMinor, netMinor: $0.netMinor) }
        byDay = revenue.byDay.map(MoneyBucketBody.init)
        byWeek = revenue.byWeek.map(MoneyBucketBody.init)
        byMonth = revenue.byMonth.map(MoneyBucketBody.init)
        sales = revenue.sales
        salesMinor = revenue.salesMinor
        averageTicketMinor = revenue.averageTicketMinor
        discountsMinor = revenue.discountsMinor
        tipsMinor = revenue.tipsMinor
        tipsByStaff = revenue.tipsByStaff
        byService = revenue.byService
        byCategory = revenue.byCategory
        byProduct = revenue.byProduct
        byStaff = revenue.byStaff
    }
}

struct UtilisationFiguresBody: Encodable {
    struct DayBody: Encodable {
        var date: LocalDate
        var availableMinutes: Int
        var bookedMinutes: Int
    }
    var staff: [UtilisationRow]
    var resources: [UtilisationRow]
    /// The domain's `byDay` dictionary as an array sorted by date.
    var byDay: [DayBody]
    var byHour: [MinutesBucket]
    var availableMinutes: Int
    var bookedMinutes: Int
    var bookingsHeat: [[Int]]
    var revenueHeat: [String: [[Int64]]]

    init(_ figures: UtilisationFigures) {
        staff = figures.staff
        resources = figures.resources
        byDay = figures.byDay.sorted { $0.key < $1.key }.map { DayBody(date: $0.key, availableMinutes: $0.value.availableMinutes, bookedMinutes: $0.value.bookedMinutes) }
        byHour = figures.byHour
        availableMinutes = figures.availableMinutes
        bookedMinutes = figures.bookedMinutes
        bookingsHeat = figures.bookingsHeat
        revenueHeat = figures.revenueHeat
    }
}

struct BookingCountsBody: Encodable {
    var scheduled: Int
    var completed: Int
    var cancelled: Int
    var lateCancelled: Int
    var noShows: Int
    var open: Int
    var cancellationRate: Double
    var noShowRate: Double
    var completionRate: Double

    init(_ counts: BookingCounts) {
        scheduled = counts.scheduled
        completed = counts.completed
        cancelled = counts.cancelled
        lateCancelled = counts.lateCancelled
        noShows = counts.noShows
        open = counts.open
        cancellationRate = counts.cancellationRate
        noShowRate = counts.noShowRate
        completionRate = counts.completionRate
    }
}

struct BookingsRowBody: Encodable {
    var key: String
    var name: String
    var counts: BookingCountsBody
    init(_ row: BookingsRow) { key = row.key; name = row.name; counts = BookingCountsBody(row.counts) }
}

struct BookingsFiguresBody: Encodable {
    var created: Int
    var counts: BookingCountsBody
    var byService: [BookingsRowBody]
    var byStaff: [BookingsRowBody]
    var byBranch: [BookingsRowBody]
    var bySource: [String: Int]
    var bookedElsewhere: Int
    var leadTime: [String: Int]

    init(_ figures: BookingsFigures) {
        created = figures.created
        counts = BookingCountsBody(figures.counts)
        byService = figures.byService.map(BookingsRowBody.init)
        byStaff = figures.byStaff.map(BookingsRowBody.init)
        byBranch = figures.byBranch.map(BookingsRowBody.init)
        bySource = figures.bySource
        bookedElsewhere = figures.bookedElsewhere
        leadTime = figures.leadTime
    }
}

struct ReportClientRowBody: Encodable {
    var clientID: ClientID
    var name: String
    var phone: String
    var visits: Int
    var lastVisit: String?
    var amountMinor: Int64
    var currency: String

    init(_ row: ClientRow, zones: Zones) {
        clientID = row.clientID
        name = row.name
        phone = row.phone
        visits = row.visits
        lastVisit = zones.format(optional: row.lastVisit, branch: nil)
        amountMinor = row.amountMinor
        currency = row.currency
    }

    enum CodingKeys: String, CodingKey { case clientID, name, phone, visits, lastVisit, amountMinor, currency }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(clientID, forKey: .clientID)
        try container.encode(name, forKey: .name)
        try container.encode(phone, forKey: .phone)
        try container.encode(visits, forKey: .visits)
        try container.encode(lastVisit, forKey: .lastVisit)
        try container.encode(amountMinor, forKey: .amountMinor)
        try container.encode(currency, forKey: .currency)
    }
}

struct ClientsFiguresBody: Encodable {
    var visiting: Int
    var new: Int
    var returning: Int
    var retention: [ClientsFigures.Retention]
    var frequency: [String: Int]
    var lifetimeValue: [ClientsFigures.LifetimeValue]
    var topClients: [ReportClientRowBody]
    var notSeen: [ReportClientRowBody]
    var notSeenForDays: Int

    init(_ figures: ClientsFigures, zones: Zones) {
        visiting = figures.visiting
        new = figures.new
        returning = figures.returning
        retention = figures.retention
        frequency = figures.frequency
        lifetimeValue = figures.lifetimeValue
        topClients = figures.topClients.map { ReportClientRowBody($0, zones: zones) }
        notSeen = figures.notSeen.map { ReportClientRowBody($0, zones: zones) }
        notSeenForDays = figures.notSeenForDays
    }
}

struct StaffReportRowBody: Encodable {
    var row: StaffRow

    enum CodingKeys: String, CodingKey {
        case staffID, name, branchID, servicesPerformed, revenue, tips, availableMinutes, bookedMinutes, completedVisits, rebooked, ratings, ratingSum, averageRating
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(row.staffID, forKey: .staffID)
        try container.encode(row.name, forKey: .name)
        try container.encode(row.branchID, forKey: .branchID)
        try container.encode(row.servicesPerformed, forKey: .servicesPerformed)
        try container.encode(row.revenue, forKey: .revenue)
        try container.encode(row.tips, forKey: .tips)
        try container.encode(row.availableMinutes, forKey: .availableMinutes)
        try container.encode(row.bookedMinutes, forKey: .bookedMinutes)
        try container.encode(row.completedVisits, forKey: .completedVisits)
        try container.encode(row.rebooked, forKey: .rebooked)
        try container.encode(row.ratings, forKey: .ratings)
        try container.encode(row.ratingSum, forKey: .ratingSum)
        try container.encode(row.averageRating, forKey: .averageRating)
    }
}

struct StaffFiguresBody: Encodable {
    var staff: [StaffReportRowBody]
    init(_ figures: StaffFigures) { staff = figures.staff.map { StaffReportRowBody(row: $0) } }
}

struct DashboardWindowBody: Encodable {
    var from: LocalDate
    var to: LocalDate
    var netMinor: [String: Int64]
    var bookings: BookingCountsBody
    var availableMinutes: Int
    var bookedMinutes: Int

    init(_ window: DashboardFigures.Window) {
        from = window.from
        to = window.to
        netMinor = window.netMinor
        bookings = BookingCountsBody(window.bookings)
        availableMinutes = window.availableMinutes
        bookedMinutes = window.bookedMinutes
    }
}

struct DashboardFiguresBody: Encodable {
    var today: DashboardWindowBody
    var week: DashboardWindowBody
    var sparkline: [DashboardFigures.Day]
    var freshness: [ReportFreshnessBody]
}

// MARK: CSV

extension ReportHandlers {
    /// The languages CSV headers come in.
    enum Language: String, CaseIterable, Sendable { case en, ru, kk }

    /// `decimal=point` (`,` between fields) or `decimal=comma` (`;` between fields, what Excel expects in ru/kk locales).
    enum DecimalMark: String, CaseIterable, Sendable { case point, comma }

    /// The language of a CSV's headers: `lang`, else the first of ru/kk/en in `Accept-Language` by preference, else en.
    static func language(_ call: Call, _ lang: Language?) -> Language {
        if let lang { return lang }
        let header = call.request.headers[.acceptLanguage] ?? ""
        var ranked: [(language: Language, weight: Double, position: Int)] = []
        for (position, part) in header.split(separator: ",").enumerated() {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let tag = pieces.first, let primary = tag.split(separator: "-").first, let language = Language(rawValue: String(primary)) else { continue }
            let weight = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if weight > 0 { ranked.append((language, weight, position)) }
        }
        return ranked.sorted { ($0.weight, -$0.position) > ($1.weight, -$1.position) }.first?.language ?? .en
    }

    static func csv(_ kind: ReportKind, _ call: Call) async throws -> Reply {
        let reader = call.query()
        let table = reader.string("table", maxLength: 64) ?? kind.tables[0]
        if !kind.tables.contains(table) {
            reader.errors.add("table", "\"\(table.prefix(64))\" is not a table of the \(kind.rawValue) report; the tables are \(kind.tables.joined(separator: ", "))")
        }
        let lang = reader.enumeration("lang", as: Language.self)
        if let lang, lang.count != 1 { reader.errors.add("lang", "names one language: ru, kk or en") }
        let mark = reader.enumeration("decimal", as: DecimalMark.self)
        if let mark, mark.count != 1 { reader.errors.add("decimal", "is one of point, comma") }
        let days = kind == .clients ? reader.int("not_seen_days", range: 1...3650) ?? 90 : 90
        let maximum = kind == .stock ? reader.int("slow_max", range: 0...1_000_000) ?? 0 : 0
        let query = try await reportQuery(call, reader)
        let language = language(call, lang?.first)
        let shop = call.shop
        let zones = call.zones
        let sheet: CSVSheet
        switch kind {
        case .revenue: sheet = CSVTables.revenue(try await run { try await shop.reports.revenue(query) }, table: table)
        case .utilisation: sheet = CSVTables.utilisation(try await run { try await shop.reports.utilisation(query) }, table: table, language: language)
        case .bookings: sheet = CSVTables.bookings(try await run { try await shop.reports.bookings(query) }, table: table)
        case .clients: sheet = CSVTables.clients(try await run { try await shop.reports.clients(query, notSeenForDays: days) }, table: table, zones: zones)
        case .staff: sheet = CSVTables.staff(try await run { try await shop.reports.staff(query) })
        case .stock: sheet = CSVTables.stock(try await run { try await shop.reports.stock(query, slowMoverMaximum: maximum) }, table: table)
        }
        var reply = Reply(body: sheet.bytes(language: language, mark: mark?.first ?? .point), contentType: "text/csv; charset=utf-8")
        reply.extraHeaders = [("Content-Disposition", "attachment; filename=\"\(kind.rawValue)-\(table)-\(query.from)-\(query.to).csv\"")]
        return reply
    }
}

/// One value of a CSV table; formatted when the sheet is written (the decimal mark depends on the request).
enum CSVCell: Sendable, Hashable {
    case text(String)
    case integer(Int64)
    /// An amount in minor units of a currency, written in major units with the currency's digits.
    case money(Int64, currency: String)
    /// A share (0…1), written as a percentage with one decimal.
    case rate(Double)
    /// A number written with one decimal (an average rating), or empty.
    case decimal(Double?)

    static func int(_ value: Int) -> CSVCell { .integer(Int64(value)) }
    static func date(_ value: LocalDate) -> CSVCell { .text(value.description) }

    /// The digits after the decimal mark of a currency's minor unit (ISO 4217; 2 unless listed).
    static func minorDigits(_ currency: String) -> Int {
        switch currency {
        case "JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG", "RWF": 0
        case "BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD": 3
        default: 2
        }
    }

    /// A text that a spreadsheet would run as a formula (a client named `=HYPERLINK(…)`) gets a
    /// leading `'`: anything starting with `=` or `@`, or with `+`/`-` followed by more than a
    /// phone number's digits, spaces, brackets and dashes (OWASP's CSV injection advice).
    static func inert(_ text: String) -> String {
        guard let first = text.first else { return text }
        if first == "=" || first == "@" || first == "\t" || first == "\r" { return "'" + text }
        if first == "+" || first == "-", !text.dropFirst().allSatisfy({ $0.isNumber || " ()-".contains($0) }) { return "'" + text }
        return text
    }

    func text(mark: ReportHandlers.DecimalMark) -> String {
        let separator = mark == .comma ? "," : "."
        switch self {
        case .text(let text): return Self.inert(text)
        case .integer(let value): return String(value)
        case .money(let minor, let currency):
            let digits = Self.minorDigits(currency)
            guard digits > 0 else { return String(minor) }
            var scale: Int64 = 1
            for _ in 0..<digits { scale *= 10 }
            let magnitude = minor.magnitude
            let whole = magnitude / UInt64(scale)
            let fraction = String(magnitude % UInt64(scale))
            return (minor < 0 ? "-" : "") + String(whole) + separator + String(repeating: "0", count: digits - fraction.count) + fraction
        case .rate(let share):
            return Self.oneDecimal(share * 100, separator: separator)
        case .decimal(let value):
            return value.map { Self.oneDecimal($0, separator: separator) } ?? ""
        }
    }

    /// One decimal, rounded half away from zero, e.g. 33.35 → "33.4" (no exponent, no grouping).
    static func oneDecimal(_ value: Double, separator: String) -> String {
        let tenths = Int64((value * 10).rounded(.toNearestOrAwayFromZero))
        let magnitude = tenths.magnitude
        return (tenths < 0 ? "-" : "") + String(magnitude / 10) + separator + String(magnitude % 10)
    }
}

/// A table of a report as CSV: column ids (localized when written, `CSVHeaders`) and rows.
struct CSVSheet: Sendable {
    var columns: [String]
    var rows: [[CSVCell]]

    /// UTF-8 with a BOM; fields separated by `,` (or `;` with the decimal comma), quoted per RFC 4180, CRLF line ends.
    func bytes(language: ReportHandlers.Language, mark: ReportHandlers.DecimalMark) -> [UInt8] {
        let separator = mark == .comma ? ";" : ","
        var text = ""
        func line(_ fields: [String]) {
            text += fields.map { Self.quoted($0, separator: separator) }.joined(separator: separator) + "\r\n"
        }
        line(columns.map { CSVHeaders.label($0, language) })
        for row in rows { line(row.map { $0.text(mark: mark) }) }
        return [0xEF, 0xBB, 0xBF] + Array(text.utf8)
    }

    /// A field in double quotes (with its quotes doubled) when it holds the separator, a quote or a line break.
    static func quoted(_ field: String, separator: String) -> String {
        guard field.contains(separator) || field.contains("\"") || field.contains("\n") || field.contains("\r") else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// Every report table's columns and rows (docs/api.md, "CSV export", lists them).
enum CSVTables {
    static func money(_ revenue: CurrencyRevenue, _ bucket: MoneyBucket) -> [CSVCell] {
        [.text(revenue.currency), .date(bucket.start), .money(bucket.paidMinor, currency: revenue.currency),
         .money(bucket.refundedMinor, currency: revenue.currency), .money(bucket.netMinor, currency: revenue.currency)]
    }

    static func revenue(_ result: ReportResult<RevenueFigures>, table: String) -> CSVSheet {
        let currencies = result.figures.currencies
        switch table {
        case "by_day", "by_week", "by_month":
            let column = table == "by_day" ? "date" : table == "by_week" ? "week_start" : "month_start"
            return CSVSheet(columns: ["currency", column, "paid", "refunded", "net"], rows: currencies.flatMap { revenue in
                (table == "by_day" ? revenue.byDay : table == "by_week" ? revenue.byWeek : revenue.byMonth).map { money(revenue, $0) }
            })
        case "by_method":
            return CSVSheet(columns: ["currency", "method", "paid", "refunded", "payments", "refunds"], rows: currencies.flatMap { revenue in
                revenue.byMethod.map { [.text(revenue.currency), .text($0.method), .money($0.paidMinor, currency: revenue.currency),
                                        .money($0.refundedMinor, currency: revenue.currency), .int($0.payments), .int($0.refunds)] }
            })
        case "by_branch":
            return CSVSheet(columns: ["currency", "branch", "paid", "refunded", "net"], rows: currencies.flatMap { revenue in
                revenue.byBranch.map { [.text(revenue.currency), .text($0.name), .money($0.paidMinor, currency: revenue.currency),
                                        .money($0.refundedMinor, currency: revenue.currency), .money($0.netMinor, currency: revenue.currency)] }
            })
        case "by_service", "by_category", "by_product", "by_staff":
            let subject = String(table.dropFirst(3))
            return CSVSheet(columns: ["currency", subject, "quantity", "amount"], rows: currencies.flatMap { revenue in
                let rows: [AmountRow] = table == "by_service" ? revenue.byService : table == "by_category" ? revenue.byCategory
                    : table == "by_product" ? revenue.byProduct : revenue.byStaff
                return rows.map { row -> [CSVCell] in [.text(revenue.currency), .text(row.name), .int(row.count), .money(row.amountMinor, currency: revenue.currency)] }
            })
        case "tips_by_staff":
            return CSVSheet(columns: ["currency", "staff", "tips_count", "tips"], rows: currencies.flatMap { revenue in
                revenue.tipsByStaff.map { [.text(revenue.currency), .text($0.name), .int($0.count), .money($0.amountMinor, currency: revenue.currency)] }
            })
        default:   // summary
            let compared = result.previous != nil
            var columns = ["currency", "paid", "refunded", "net", "payments", "refunds", "sales", "sales_total", "average_ticket", "discounts", "tips"]
            if compared { columns += ["previous_paid", "previous_net"] }
            return CSVSheet(columns: columns, rows: currencies.map { revenue in
                let currency = revenue.currency
                var row: [CSVCell] = [.text(currency), .money(revenue.paidMinor, currency: currency), .money(revenue.refundedMinor, currency: currency),
                                      .money(revenue.netMinor, currency: currency), .int(revenue.payments), .int(revenue.refunds), .int(revenue.sales),
                                      .money(revenue.salesMinor, currency: currency), .money(revenue.averageTicketMinor, currency: currency),
                                      .money(revenue.discountsMinor, currency: currency), .money(revenue.tipsMinor, currency: currency)]
                if let previous = result.previous {
                    let before = previous.currencies.first { $0.currency == currency }
                    row += [.money(before?.paidMinor ?? 0, currency: currency), .money(before?.netMinor ?? 0, currency: currency)]
                }
                return row
            })
        }
    }

    static func branchNames<F>(_ result: ReportResult<F>) -> [BranchID: String] {
        Dictionary(result.freshness.map { ($0.branchID, $0.name) }, uniquingKeysWith: { first, _ in first })
    }

    static func utilisation(_ result: ReportResult<UtilisationFigures>, table: String, language: ReportHandlers.Language) -> CSVSheet {
        let figures = result.figures
        let names = branchNames(result)
        func share(_ booked: Int, _ available: Int) -> CSVCell { .rate(available == 0 ? 0 : Double(booked) / Double(available)) }
        let hours = (0..<24).map { "hour_\($0)" }
        switch table {
        case "resources":
            return CSVSheet(columns: ["resource", "branch", "available_minutes", "booked_minutes", "utilisation"], rows: figures.resources.map {
                [.text($0.name), .text(names[$0.branchID] ?? $0.branchID.rawValue), .int($0.availableMinutes), .int($0.bookedMinutes), share($0.bookedMinutes, $0.availableMinutes)]
            })
        case "by_day":
            return CSVSheet(columns: ["date", "available_minutes", "booked_minutes", "utilisation"], rows: figures.byDay.sorted { $0.key < $1.key }.map {
                [.date($0.key), .int($0.value.availableMinutes), .int($0.value.bookedMinutes), share($0.value.bookedMinutes, $0.value.availableMinutes)]
            })
        case "by_hour":
            return CSVSheet(columns: ["hour", "available_minutes", "booked_minutes", "utilisation"], rows: figures.byHour.enumerated().map { hour, bucket in
                [.int(hour), .int(bucket.availableMinutes), .int(bucket.bookedMinutes), share(bucket.bookedMinutes, bucket.availableMinutes)]
            })
        case "bookings_heat":
            return CSVSheet(columns: ["weekday"] + hours, rows: figures.bookingsHeat.enumerated().map { day, counts in
                [.text(CSVHeaders.weekday(day, language))] + counts.map { .int($0) }
            })
        case "revenue_heat":
            return CSVSheet(columns: ["currency", "weekday"] + hours, rows: figures.revenueHeat.keys.sorted().flatMap { currency in
                (figures.revenueHeat[currency] ?? []).enumerated().map { day, amounts in
                    [.text(currency), .text(CSVHeaders.weekday(day, language))] + amounts.map { .money($0, currency: currency) }
                }
            })
        default:   // staff
            return CSVSheet(columns: ["staff", "branch", "available_minutes", "booked_minutes", "utilisation"], rows: figures.staff.map {
                [.text($0.name), .text(names[$0.branchID] ?? $0.branchID.rawValue), .int($0.availableMinutes), .int($0.bookedMinutes), share($0.bookedMinutes, $0.availableMinutes)]
            })
        }
    }

    static let countColumns = ["scheduled", "completed", "cancelled", "late_cancelled", "no_shows", "open", "cancellation_rate", "no_show_rate", "completion_rate"]

    static func counts(_ counts: BookingCounts) -> [CSVCell] {
        [.int(counts.scheduled), .int(counts.completed), .int(counts.cancelled), .int(counts.lateCancelled), .int(counts.noShows), .int(counts.open),
         .rate(counts.cancellationRate), .rate(counts.noShowRate), .rate(counts.completionRate)]
    }

    /// Sources and lead-time buckets in their documented order, then any other key.
    static func ordered(_ dictionary: [String: Int], _ order: [String]) -> [(String, Int)] {
        order.compactMap { key in dictionary[key].map { (key, $0) } } + dictionary.filter { !order.contains($0.key) }.sorted { $0.key < $1.key }
    }

    static func bookings(_ result: ReportResult<BookingsFigures>, table: String) -> CSVSheet {
        let figures = result.figures
        switch table {
        case "by_service", "by_staff", "by_branch":
            let rows = table == "by_service" ? figures.byService : table == "by_staff" ? figures.byStaff : figures.byBranch
            return CSVSheet(columns: [String(table.dropFirst(3))] + countColumns, rows: rows.map { [.text($0.name)] + counts($0.counts) })
        case "by_source":
            return CSVSheet(columns: ["source", "bookings"], rows: ordered(figures.bySource, ["front_desk", "phone", "online", "kiosk"]).map { [.text($0.0), .int($0.1)] })
        case "lead_time":
            return CSVSheet(columns: ["lead_time", "bookings"], rows: ordered(figures.leadTime, ["same_hour", "same_day", "days_1_3", "days_3_7", "days_7_30", "days_30_plus"])
                .map { [.text($0.0), .int($0.1)] })
        default:   // summary
            return CSVSheet(columns: ["created", "booked_elsewhere"] + countColumns,
                            rows: [[.int(figures.created), .int(figures.bookedElsewhere)] + counts(figures.counts)])
        }
    }

    static func clients(_ result: ReportResult<ClientsFigures>, table: String, zones: Zones) -> CSVSheet {
        let figures = result.figures
        func lastVisit(_ row: ClientRow) -> CSVCell {
            guard let instant = row.lastVisit else { return .text("") }
            return .text(String(zones.format(instant, branch: nil).prefix(10)))
        }
        switch table {
        case "retention":
            return CSVSheet(columns: ["days", "eligible", "returned", "retention_rate"], rows: figures.retention.map {
                [.int($0.days), .int($0.eligible), .int($0.returned), .rate($0.eligible == 0 ? 0 : Double($0.returned) / Double($0.eligible))]
            })
        case "frequency":
            return CSVSheet(columns: ["visits", "clients"], rows: ordered(figures.frequency, ["1", "2", "3", "4-5", "6+"]).map { [.text($0.0), .int($0.1)] })
        case "lifetime_value":
            return CSVSheet(columns: ["currency", "clients", "total", "minimum", "p25", "median", "p75", "p90", "maximum"], rows: figures.lifetimeValue.map {
                let currency = $0.currency
                return [.text(currency), .int($0.clients), .money($0.totalMinor, currency: currency), .money($0.minimumMinor, currency: currency),
                        .money($0.p25Minor, currency: currency), .money($0.medianMinor, currency: currency), .money($0.p75Minor, currency: currency),
                        .money($0.p90Minor, currency: currency), .money($0.maximumMinor, currency: currency)]
            })
        case "top_clients":
            return CSVSheet(columns: ["currency", "client", "phone", "visits", "amount"], rows: figures.topClients.map {
                [.text($0.currency), .text($0.name), .text($0.phone), .int($0.visits), .money($0.amountMinor, currency: $0.currency)]
            })
        case "not_seen":
            return CSVSheet(columns: ["client", "phone", "visits", "last_visit"], rows: figures.notSeen.map {
                [.text($0.name), .text($0.phone), .int($0.visits), lastVisit($0)]
            })
        default:   // summary
            return CSVSheet(columns: ["visiting", "new", "returning"], rows: [[.int(figures.visiting), .int(figures.new), .int(figures.returning)]])
        }
    }

    /// One row per staff member and currency of their revenue or tips (their branch's currency when they have none).
    static func staff(_ result: ReportResult<StaffFigures>) -> CSVSheet {
        let names = branchNames(result)
        let currencies = Dictionary(result.freshness.map { ($0.branchID, $0.currency) }, uniquingKeysWith: { first, _ in first })
        let columns = ["staff", "branch", "services_performed", "available_minutes", "booked_minutes", "utilisation", "completed_visits", "rebooked",
                       "rebooking_rate", "ratings", "average_rating", "currency", "revenue", "tips"]
        var rows: [[CSVCell]] = []
        for row in result.figures.staff {
            var held = Set(row.revenue.keys).union(row.tips.keys).sorted()
            if held.isEmpty { held = [currencies[row.branchID] ?? ""] }
            for currency in held {
                rows.append([.text(row.name), .text(names[row.branchID] ?? row.branchID.rawValue), .int(row.servicesPerformed), .int(row.availableMinutes),
                             .int(row.bookedMinutes), .rate(row.availableMinutes == 0 ? 0 : Double(row.bookedMinutes) / Double(row.availableMinutes)),
                             .int(row.completedVisits), .int(row.rebooked), .rate(row.completedVisits == 0 ? 0 : Double(row.rebooked) / Double(row.completedVisits)),
                             .int(row.ratings), .decimal(row.averageRating), .text(currency),
                             .money(row.revenue[currency] ?? 0, currency: currency), .money(row.tips[currency] ?? 0, currency: currency)])
            }
        }
        return CSVSheet(columns: columns, rows: rows)
    }

    static func stock(_ result: ReportResult<StockFigures>, table: String) -> CSVSheet {
        let figures = result.figures
        let names = branchNames(result)
        switch table {
        case "stock_value":
            return CSVSheet(columns: ["branch", "currency", "value", "without_cost"], rows: figures.stockValue.map {
                [.text(names[$0.branchID] ?? $0.branchID.rawValue), .text($0.currency), .money($0.valueMinor, currency: $0.currency), .int($0.withoutCost)]
            })
        case "slow_movers":
            return CSVSheet(columns: ["product", "branch", "in_stock", "sold"], rows: figures.slowMovers.map {
                [.text($0.name), .text(names[$0.branchID] ?? $0.branchID.rawValue), .int($0.quantity), .int($0.sold)]
            })
        default:   // sales_by_product
            return CSVSheet(columns: ["currency", "product", "quantity", "amount"], rows: figures.salesByProduct.keys.sorted().flatMap { currency in
                (figures.salesByProduct[currency] ?? []).map { [.text(currency), .text($0.name), .int($0.count), .money($0.amountMinor, currency: currency)] }
            })
        }
    }
}

/// The CSV column headers in each language, by column id (one table: add a column here and in docs/api.md).
enum CSVHeaders {
    static let labels: [String: (en: String, ru: String, kk: String)] = [
        "currency": ("Currency", "Валюта", "Валюта"),
        "paid": ("Paid", "Оплачено", "Төленді"),
        "refunded": ("Refunded", "Возвращено", "Қайтарылды"),
        "net": ("Net", "Итого", "Таза түсім"),
        "payments": ("Payments", "Платежи", "Төлемдер"),
        "refunds": ("Refunds", "Возвраты", "Қайтарулар"),
        "sales": ("Sales", "Продажи", "Сатылымдар"),
        "sales_total": ("Sales total", "Сумма продаж", "Сатылым сомасы"),
        "average_ticket": ("Average ticket", "Средний чек", "Орташа чек"),
        "discounts": ("Discounts", "Скидки", "Жеңілдіктер"),
        "tips": ("Tips", "Чаевые", "Шайпұл"),
        "tips_count": ("Tips given", "Число чаевых", "Шайпұл саны"),
        "previous_paid": ("Paid, previous period", "Оплачено, прошлый период", "Төленді, алдыңғы кезең"),
        "previous_net": ("Net, previous period", "Итого, прошлый период", "Таза түсім, алдыңғы кезең"),
        "date": ("Date", "Дата", "Күні"),
        "week_start": ("Week from", "Неделя с", "Апта басы"),
        "month_start": ("Month from", "Месяц с", "Ай басы"),
        "method": ("Method", "Способ оплаты", "Төлем тәсілі"),
        "branch": ("Branch", "Филиал", "Филиал"),
        "service": ("Service", "Услуга", "Қызмет"),
        "category": ("Category", "Категория", "Санат"),
        "product": ("Product", "Товар", "Тауар"),
        "staff": ("Staff member", "Сотрудник", "Қызметкер"),
        "quantity": ("Quantity", "Количество", "Саны"),
        "amount": ("Amount", "Сумма", "Сома"),
        "resource": ("Resource", "Ресурс", "Ресурс"),
        "available_minutes": ("Available minutes", "Доступно, мин", "Қолжетімді, мин"),
        "booked_minutes": ("Booked minutes", "Занято, мин", "Брондалған, мин"),
        "utilisation": ("Utilisation, %", "Загрузка, %", "Жүктеме, %"),
        "hour": ("Hour", "Час", "Сағат"),
        "weekday": ("Weekday", "День недели", "Апта күні"),
        "scheduled": ("Scheduled", "Записей", "Жазылулар"),
        "completed": ("Completed", "Состоялось", "Өтті"),
        "cancelled": ("Cancelled", "Отменено", "Болдырылмады"),
        "late_cancelled": ("Cancelled late", "Поздние отмены", "Кеш болдырылмады"),
        "no_shows": ("No-shows", "Неявки", "Келмеді"),
        "open": ("Open", "Ожидается", "Күтілуде"),
        "cancellation_rate": ("Cancellation rate, %", "Доля отмен, %", "Болдырмау үлесі, %"),
        "no_show_rate": ("No-show rate, %", "Доля неявок, %", "Келмеу үлесі, %"),
        "completion_rate": ("Completion rate, %", "Доля состоявшихся, %", "Өткендер үлесі, %"),
        "created": ("Booked in period", "Создано записей", "Жасалған жазылулар"),
        "booked_elsewhere": ("Booked elsewhere", "Записано в другом месте", "Басқа жерде жазылған"),
        "source": ("Source", "Источник", "Көзі"),
        "bookings": ("Bookings", "Записи", "Жазылулар"),
        "lead_time": ("Lead time", "Запись заранее", "Алдын ала жазылу"),
        "visiting": ("Visiting clients", "Клиентов с визитами", "Келген клиенттер"),
        "new": ("New", "Новые", "Жаңа"),
        "returning": ("Returning", "Повторные", "Қайта келген"),
        "days": ("Days", "Дней", "Күн"),
        "eligible": ("Eligible", "Учтено", "Есепке алынды"),
        "returned": ("Returned", "Вернулись", "Қайта келді"),
        "retention_rate": ("Retention, %", "Удержание, %", "Ұстап қалу, %"),
        "visits": ("Visits", "Визиты", "Келулер"),
        "clients": ("Clients", "Клиенты", "Клиенттер"),
        "total": ("Total", "Всего", "Барлығы"),
        "minimum": ("Minimum", "Минимум", "Ең аз"),
        "p25": ("25th percentile", "25-й перцентиль", "25-процентиль"),
        "median": ("Median", "Медиана", "Медиана"),
        "p75": ("75th percentile", "75-й перцентиль", "75-процентиль"),
        "p90": ("90th percentile", "90-й перцентиль", "90-процентиль"),
        "maximum": ("Maximum", "Максимум", "Ең көп"),
        "client": ("Client", "Клиент", "Клиент"),
        "phone": ("Phone", "Телефон", "Телефон"),
        "last_visit": ("Last visit", "Последний визит", "Соңғы келу"),
        "services_performed": ("Services performed", "Оказано услуг", "Көрсетілген қызметтер"),
        "completed_visits": ("Completed visits", "Состоявшиеся визиты", "Өткен келулер"),
        "rebooked": ("Rebooked", "Записались снова", "Қайта жазылды"),
        "rebooking_rate": ("Rebooking rate, %", "Доля повторных записей, %", "Қайта жазылу үлесі, %"),
        "ratings": ("Ratings", "Оценки", "Бағалар"),
        "average_rating": ("Average rating", "Средняя оценка", "Орташа баға"),
        "revenue": ("Revenue", "Выручка", "Түсім"),
        "value": ("Stock value", "Стоимость запаса", "Қор құны"),
        "without_cost": ("Products without cost", "Товары без себестоимости", "Өзіндік құнсыз тауарлар"),
        "in_stock": ("In stock", "На складе", "Қоймада"),
        "sold": ("Sold", "Продано", "Сатылды"),
    ]

    static let weekdays: [ReportHandlers.Language: [String]] = [
        .en: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
        .ru: ["Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота", "Воскресенье"],
        .kk: ["Дүйсенбі", "Сейсенбі", "Сәрсенбі", "Бейсенбі", "Жұма", "Сенбі", "Жексенбі"],
    ]

    /// A column's header; the hour columns of the heat maps are `00` … `23` in every language.
    static func label(_ column: String, _ language: ReportHandlers.Language) -> String {
        if column.hasPrefix("hour_"), let hour = Int(column.dropFirst(5)) { return hour < 10 ? "0\(hour)" : "\(hour)" }
        guard let label = labels[column] else { return column }
        switch language {
        case .en: return label.en
        case .ru: return label.ru
        case .kk: return label.kk
        }
    }

    /// Monday = 0.
    static func weekday(_ index: Int, _ language: ReportHandlers.Language) -> String {
        weekdays[language]?[safe: index] ?? String(index + 1)
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
