/// The owner reports' values (docs/reports.md defines every figure). Money is always per currency,
/// in minor units, never converted; every report carries the previous period's figures when asked
/// and how fresh each branch's data is on this replica.

/// What a report covers: local dates `from`…`to` (inclusive, each branch's own local days), the
/// branches (nil: every branch this replica knows), and whether to compute the previous period of
/// equal length (the same number of days just before `from`) for comparison.
public struct ReportQuery: Hashable, Sendable, Codable {
    public var from: LocalDate
    public var to: LocalDate
    public var branches: [BranchID]?
    public var compare: Bool

    public init(from: LocalDate, to: LocalDate, branches: [BranchID]? = nil, compare: Bool = true) {
        self.from = from
        self.to = to
        self.branches = branches
        self.compare = compare
    }

    /// The longest range a report covers: up to (not including) the same date three years after `from`.
    public static let maximumYears = 3

    /// The number of local days in the range.
    public var days: Int { to.daysSinceEpoch - from.daysSinceEpoch + 1 }

    /// The previous period: as many days, ending the day before `from`.
    public var previous: ReportQuery {
        ReportQuery(from: from.adding(days: -days), to: from.adding(days: -1), branches: branches, compare: false)
    }

    /// - Throws: `DomainError(.invalidArgument)` when `to` is before `from` or the range is longer than three years.
    public func validate() throws(DomainError) {
        guard from <= to else { throw DomainError(.invalidArgument, "the report's range is backwards: \(to) is before \(from)") }
        // From 29 February the same date three years on does not exist: the limit is 1 March then.
        let limit = from.adding(months: 12 * Self.maximumYears)
            ?? from.adding(days: -1).adding(months: 12 * Self.maximumYears).map { $0.adding(days: 1) }
        guard let limit, to < limit else {
            throw DomainError(.invalidArgument, "the report's range \(from)…\(to) is longer than \(Self.maximumYears) years (\(days) days)")
        }
    }
}

/// The dates a result covers.
public struct ReportPeriod: Hashable, Sendable, Codable {
    public var from: LocalDate
    public var to: LocalDate
    public var days: Int
}

/// How fresh one branch's data is on this replica: the boxes certified for the branch with the
/// newest changeset this replica holds from each, and the newest fact about the branch that it
/// holds (docs/reports.md, "Freshness").
public struct BranchFreshness: Hashable, Sendable, Codable {
    public struct Box: Hashable, Sendable, Codable {
        /// The box's site id (hex).
        public var site: String
        /// The highest changeset sequence number of this box that the replica holds (0: none).
        public var sequence: UInt64
    }
    public var branchID: BranchID
    public var name: String
    public var timeZone: String
    public var currency: String
    public var boxes: [Box]
    /// The latest of the branch's appointments' creation, its sales and its stock movements that
    /// this replica holds (each stamped by the box that wrote it); nil when it holds none.
    public var newestFactAt: Instant?
}

/// A report's figures for its period, the previous period's (when asked), and freshness.
public struct ReportResult<Figures: Hashable & Sendable & Codable>: Hashable, Sendable, Codable {
    public var period: ReportPeriod
    public var branches: [BranchID]
    public var figures: Figures
    public var previousPeriod: ReportPeriod?
    public var previous: Figures?
    public var freshness: [BranchFreshness]
}

// MARK: Shared rows

/// A named subject (service, category, product, staff member, branch, payment method) and an amount.
public struct AmountRow: Hashable, Sendable, Codable {
    /// The id (or category name, method, `custom`, `gift_card`).
    public var key: String
    public var name: String
    /// Units sold (for sale lines) or rows counted.
    public var count: Int
    public var amountMinor: Int64
}

/// Paid, refunded and net of one day, week or month (`start`: its first local date).
public struct MoneyBucket: Hashable, Sendable, Codable {
    public var start: LocalDate
    public var paidMinor: Int64
    public var refundedMinor: Int64
    public var netMinor: Int64 { paidMinor - refundedMinor }
}

// MARK: Revenue

public struct RevenueFigures: Hashable, Sendable, Codable {
    public var currencies: [CurrencyRevenue]
}

/// One currency's revenue (only branches using that currency contribute).
public struct CurrencyRevenue: Hashable, Sendable, Codable {
    public struct Method: Hashable, Sendable, Codable {
        public var method: String
        public var paidMinor: Int64
        public var refundedMinor: Int64
        public var payments: Int
        public var refunds: Int
    }
    public struct BranchRow: Hashable, Sendable, Codable {
        public var branchID: BranchID
        public var name: String
        public var paidMinor: Int64
        public var refundedMinor: Int64
        public var netMinor: Int64 { paidMinor - refundedMinor }
    }
    public var currency: String
    /// Σ counting payments taken in the period.
    public var paidMinor: Int64
    /// Σ counting refunds made in the period.
    public var refundedMinor: Int64
    public var netMinor: Int64 { paidMinor - refundedMinor }
    public var payments: Int
    public var refunds: Int
    public var byMethod: [Method]
    public var byBranch: [BranchRow]
    public var byDay: [MoneyBucket]
    public var byWeek: [MoneyBucket]
    public var byMonth: [MoneyBucket]
    /// Sales made in the period that are not voided.
    public var sales: Int
    /// Σ their totals.
    public var salesMinor: Int64
    /// salesMinor ÷ sales, rounded half away from zero (0 with no sales).
    public var averageTicketMinor: Int64
    public var discountsMinor: Int64
    public var tipsMinor: Int64
    public var tipsByStaff: [AmountRow]
    /// Sale lines by kind of subject (line totals of the period's sales that are not voided).
    public var byService: [AmountRow]
    public var byCategory: [AmountRow]
    public var byProduct: [AmountRow]
    public var byStaff: [AmountRow]
}

// MARK: Utilisation

public struct UtilisationRow: Hashable, Sendable, Codable {
    /// Staff or resource id.
    public var id: String
    public var name: String
    public var branchID: BranchID
    public var availableMinutes: Int
    public var bookedMinutes: Int
}

public struct MinutesBucket: Hashable, Sendable, Codable {
    public var availableMinutes: Int
    public var bookedMinutes: Int
}

public struct UtilisationFigures: Hashable, Sendable, Codable {
    public var staff: [UtilisationRow]
    public var resources: [UtilisationRow]
    /// Staff minutes per local date.
    public var byDay: [LocalDate: MinutesBucket]
    /// Staff minutes per local wall-clock hour (0…23) over the period.
    public var byHour: [MinutesBucket]
    /// Staff totals.
    public var availableMinutes: Int
    public var bookedMinutes: Int
    /// Appointments starting at each local weekday × hour: `bookingsHeat[weekday - 1][hour]` (Monday = 0).
    public var bookingsHeat: [[Int]]
    /// Counting payments taken at each local weekday × hour, per currency.
    public var revenueHeat: [String: [[Int64]]]
}

// MARK: Bookings

public struct BookingCounts: Hashable, Sendable, Codable {
    /// Appointments whose visit starts in the period (not held, not rejected).
    public var scheduled: Int = 0
    public var completed: Int = 0
    public var cancelled: Int = 0
    /// Part of `cancelled`: cancelled by the client inside the branch's cutoff.
    public var lateCancelled: Int = 0
    public var noShows: Int = 0
    /// Still requested, confirmed or checked in.
    public var open: Int = 0

    public var cancellationRate: Double { scheduled == 0 ? 0 : Double(cancelled) / Double(scheduled) }
    public var noShowRate: Double { scheduled == 0 ? 0 : Double(noShows) / Double(scheduled) }
    public var completionRate: Double { scheduled == 0 ? 0 : Double(completed) / Double(scheduled) }
}

public struct BookingsRow: Hashable, Sendable, Codable {
    public var key: String
    public var name: String
    public var counts: BookingCounts
}

public struct BookingsFigures: Hashable, Sendable, Codable {
    /// Appointments created (booked) in the period, whenever their visit is; not held, not rejected.
    public var created: Int
    public var counts: BookingCounts
    public var byService: [BookingsRow]
    public var byStaff: [BookingsRow]
    public var byBranch: [BookingsRow]
    /// Appointments created in the period by source (`front_desk`, `phone`, `online`, `kiosk`).
    public var bySource: [String: Int]
    /// Of those, booked on another box than the branch's own (they started as `requested`).
    public var bookedElsewhere: Int
    /// Lead time (visit start − creation) of the period's scheduled appointments, by bucket:
    /// `same_hour` (< 1 h), `same_day` (< 24 h), `days_1_3`, `days_3_7`, `days_7_30`, `days_30_plus`.
    public var leadTime: [String: Int]
}

// MARK: Clients

public struct ClientRow: Hashable, Sendable, Codable {
    public var clientID: ClientID
    public var name: String
    public var phone: String
    public var visits: Int
    public var lastVisit: Instant?
    public var amountMinor: Int64
    public var currency: String
}

public struct ClientsFigures: Hashable, Sendable, Codable {
    /// Clients with a completed visit in the period.
    public var visiting: Int
    /// Of them, whose first completed visit ever is in the period.
    public var new: Int
    public var returning: Int
    /// Retention: of the clients whose first completed visit in the period is at t0 and for whom
    /// t0 + N days has passed (`eligible`), how many had another completed visit in (t0, t0 + N days].
    public var retention: [Retention]
    /// Clients by completed visits in the period: `1`, `2`, `3`, `4-5`, `6+`.
    public var frequency: [String: Int]
    /// Lifetime value (net paid over all time) of the visiting clients, per currency.
    public var lifetimeValue: [LifetimeValue]
    /// Top clients by net paid in the period, per currency (at most 20 each).
    public var topClients: [ClientRow]
    /// Clients whose last completed visit (in these branches) is more than `notSeenForDays` days
    /// before now, most recently seen first (at most 500).
    public var notSeen: [ClientRow]
    public var notSeenForDays: Int

    public struct Retention: Hashable, Sendable, Codable {
        public var days: Int
        public var eligible: Int
        public var returned: Int
    }
    /// Nearest-rank percentiles of the visiting clients' lifetime values in one currency.
    public struct LifetimeValue: Hashable, Sendable, Codable {
        public var currency: String
        public var clients: Int
        public var totalMinor: Int64
        public var minimumMinor: Int64
        public var p25Minor: Int64
        public var medianMinor: Int64
        public var p75Minor: Int64
        public var p90Minor: Int64
        public var maximumMinor: Int64
    }
}

// MARK: Staff

public struct StaffRow: Hashable, Sendable, Codable {
    public var staffID: StaffID
    public var name: String
    public var branchID: BranchID
    /// Completed appointment items this staff member performed.
    public var servicesPerformed: Int
    /// Service lines sold for this staff member, per currency (the revenue report's `byStaff`).
    public var revenue: [String: Int64]
    /// Tips per currency (the revenue report's `tipsByStaff`).
    public var tips: [String: Int64]
    public var availableMinutes: Int
    public var bookedMinutes: Int
    /// Completed visits with this staff member, and how many of their clients booked again the same local day.
    public var completedVisits: Int
    public var rebooked: Int
    public var ratings: Int
    public var ratingSum: Int
    public var averageRating: Double? { ratings == 0 ? nil : Double(ratingSum) / Double(ratings) }
}

public struct StaffFigures: Hashable, Sendable, Codable {
    public var staff: [StaffRow]
}

// MARK: Stock

public struct StockValueRow: Hashable, Sendable, Codable {
    public var branchID: BranchID
    public var currency: String
    /// Σ current level × unit cost of products with a known cost and a positive level.
    public var valueMinor: Int64
    /// Products with a positive level but no cost recorded (not in the value).
    public var withoutCost: Int
}

public struct SlowMover: Hashable, Sendable, Codable {
    public var productID: ProductID
    public var name: String
    public var branchID: BranchID
    public var quantity: Int
    /// Units sold in the period at that branch.
    public var sold: Int
}

public struct StockFigures: Hashable, Sendable, Codable {
    /// Product lines of the period's sales that are not voided, per currency (the revenue report's `byProduct`).
    public var salesByProduct: [String: [AmountRow]]
    public var stockValue: [StockValueRow]
    /// Products in stock (level > 0) that sold at most `slowMoverMaximum` units in the period at that branch.
    public var slowMovers: [SlowMover]
    public var slowMoverMaximum: Int
}

// MARK: Dashboard

public struct DashboardFigures: Hashable, Sendable, Codable {
    public struct Window: Hashable, Sendable, Codable {
        public var from: LocalDate
        public var to: LocalDate
        /// Net revenue per currency.
        public var netMinor: [String: Int64]
        public var bookings: BookingCounts
        public var availableMinutes: Int
        public var bookedMinutes: Int
    }
    public struct Day: Hashable, Sendable, Codable {
        public var date: LocalDate
        public var netMinor: [String: Int64]
        public var scheduled: Int
        public var noShows: Int
        public var availableMinutes: Int
        public var bookedMinutes: Int
    }
    public var today: Window
    /// Monday of this week up to today.
    public var week: Window
    /// The last 14 local days, today last.
    public var sparkline: [Day]
    public var freshness: [BranchFreshness]
}
