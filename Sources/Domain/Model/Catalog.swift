/// A wall-clock interval on one local date, e.g. 09:00–13:00. `end` may be 24:00.
public struct WallInterval: Hashable, Sendable, Codable, CustomStringConvertible {
    public var start: WallTime
    public var end: WallTime

    public init(_ start: WallTime, _ end: WallTime) {
        self.start = start
        self.end = end
    }

    /// `"09:00"`, `"13:00"`; nil if either is malformed.
    public init?(_ start: String, _ end: String) {
        guard let start = WallTime(start), let end = WallTime(end) else { return nil }
        self.init(start, end)
    }

    public var description: String { "\(start)–\(end)" }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        start = try container.decode(WallTime.self)
        end = try container.decode(WallTime.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(start)
        try container.encode(end)
    }
}

/// Hours per weekday; several intervals a day are allowed; a missing weekday means closed / not working.
public struct WeeklyHours: Hashable, Sendable, Codable {
    public var days: [Weekday: [WallInterval]]

    public init(_ days: [Weekday: [WallInterval]] = [:]) { self.days = days }

    /// The same intervals on each of `weekdays`.
    public static func every(_ weekdays: [Weekday], _ intervals: [WallInterval]) -> WeeklyHours {
        WeeklyHours(Dictionary(uniqueKeysWithValues: weekdays.map { ($0, intervals) }))
    }

    public subscript(weekday: Weekday) -> [WallInterval] { days[weekday] ?? [] }

    /// Every interval must have start < end and intervals of a day must not overlap.
    func validate(_ what: String) throws(DomainError) {
        for (weekday, intervals) in days {
            try WallInterval.validate(intervals, "\(what) on \(weekday.key)")
        }
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode([String: [WallInterval]].self)
        var days: [Weekday: [WallInterval]] = [:]
        for (key, intervals) in raw {
            guard let weekday = Weekday(key: key) else {
                throw Swift.DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(key) is not a weekday (mon…sun)"))
            }
            days[weekday] = intervals
        }
        self.days = days
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Dictionary(uniqueKeysWithValues: days.map { ($0.key.key, $0.value) }))
    }
}

extension WallInterval {
    static func validate(_ intervals: [WallInterval], _ what: String) throws(DomainError) {
        let sorted = intervals.sorted { $0.start < $1.start }
        for (index, interval) in sorted.enumerated() {
            guard interval.start < interval.end else {
                throw DomainError(.invalidArgument, "\(what): \(interval) ends before it starts")
            }
            if index > 0, sorted[index - 1].end > interval.start {
                throw DomainError(.invalidArgument, "\(what): \(sorted[index - 1]) and \(interval) overlap")
            }
        }
    }
}

/// How far ahead and how close to the start clients may book and cancel.
public struct BookingPolicy: Hashable, Sendable, Codable {
    /// Starts earlier than now + this are not offered.
    public var minimumNoticeMinutes: Int = 60
    /// Local dates later than today + this are not offered.
    public var horizonDays: Int = 60
    /// Cancelling within this many hours of the start is a late cancellation (and guests may not
    /// cancel or move online then). Separate from the minimum notice.
    public var cancellationCutoffHours: Int = 24
    /// How long a `held` appointment blocks its slot while the client completes the booking.
    public var slotHoldMinutes: Int = 10

    public init(minimumNoticeMinutes: Int = 60, horizonDays: Int = 60, cancellationCutoffHours: Int = 24, slotHoldMinutes: Int = 10) {
        self.minimumNoticeMinutes = minimumNoticeMinutes
        self.horizonDays = horizonDays
        self.cancellationCutoffHours = cancellationCutoffHours
        self.slotHoldMinutes = slotHoldMinutes
    }

    func validate() throws(DomainError) {
        guard (0...525_600).contains(minimumNoticeMinutes) else { throw DomainError(.invalidArgument, "minimum notice must be 0…525600 minutes") }
        guard (0...730).contains(horizonDays) else { throw DomainError(.invalidArgument, "booking horizon must be 0…730 days") }
        guard (0...8760).contains(cancellationCutoffHours) else { throw DomainError(.invalidArgument, "cancellation cut-off must be 0…8760 hours") }
        guard (1...1440).contains(slotHoldMinutes) else { throw DomainError(.invalidArgument, "slot hold must be 1…1440 minutes") }
    }
}

public struct Branch: Hashable, Sendable, Codable {
    public var id: BranchID
    public var name: String
    public var address: String
    public var phone: String
    /// IANA zone, e.g. `Asia/Atyrau`.
    public var timeZone: String
    /// ISO 4217, e.g. `KZT`.
    public var currency: String
    /// BCP 47, e.g. `ru-KZ`.
    public var locale: String
    /// ISO 3166 alpha-2 region used to normalise local phone numbers, e.g. `KZ`.
    public var region: String
    public var openingHours: WeeklyHours
    public var policy: BookingPolicy
    public var isActive: Bool

    public init(id: BranchID, name: String, address: String = "", phone: String = "", timeZone: String, currency: String,
                locale: String = "en", region: String, openingHours: WeeklyHours, policy: BookingPolicy = BookingPolicy(), isActive: Bool = true) {
        self.id = id
        self.name = name
        self.address = address
        self.phone = phone
        self.timeZone = timeZone
        self.currency = currency
        self.locale = locale
        self.region = region
        self.openingHours = openingHours
        self.policy = policy
        self.isActive = isActive
    }
}

/// Hours that replace the weekly hours on one local date; no intervals = closed.
public struct DateOverride: Hashable, Sendable, Codable {
    public var date: LocalDate
    public var intervals: [WallInterval]
    public var note: String

    public init(date: LocalDate, intervals: [WallInterval], note: String = "") {
        self.date = date
        self.intervals = intervals
        self.note = note
    }
}

public struct ResourceRequirement: Hashable, Sendable, Codable {
    public var resource: ResourceID
    public var quantity: Int

    public init(resource: ResourceID, quantity: Int = 1) {
        self.resource = resource
        self.quantity = quantity
    }
}

/// A bookable service (named so it does not clash with swift-service-lifecycle's `Service`).
public struct Offering: Hashable, Sendable, Codable {
    public var id: OfferingID
    public var branchID: BranchID
    public var category: String
    /// Name per language tag, e.g. `["en": "Haircut", "ru": "Стрижка"]`.
    public var names: [String: String]
    public var descriptions: [String: String]
    public var durationMinutes: Int
    public var price: Money
    public var bufferBeforeMinutes: Int
    public var bufferAfterMinutes: Int
    public var slotStepMinutes: Int
    /// 1 = one client at a time; more = a group session of up to this many clients.
    public var capacity: Int
    public var resources: [ResourceRequirement]
    public var isActive: Bool
    public var displayOrder: Int

    public init(id: OfferingID, branchID: BranchID, category: String = "", names: [String: String], descriptions: [String: String] = [:],
                durationMinutes: Int, price: Money, bufferBeforeMinutes: Int = 0, bufferAfterMinutes: Int = 0, slotStepMinutes: Int = 15,
                capacity: Int = 1, resources: [ResourceRequirement] = [], isActive: Bool = true, displayOrder: Int = 0) {
        self.id = id
        self.branchID = branchID
        self.category = category
        self.names = names
        self.descriptions = descriptions
        self.durationMinutes = durationMinutes
        self.price = price
        self.bufferBeforeMinutes = bufferBeforeMinutes
        self.bufferAfterMinutes = bufferAfterMinutes
        self.slotStepMinutes = slotStepMinutes
        self.capacity = capacity
        self.resources = resources
        self.isActive = isActive
        self.displayOrder = displayOrder
    }

    /// The name in `language`, else English, else any.
    public func name(in language: String) -> String {
        names[language] ?? names["en"] ?? names.sorted { $0.key < $1.key }.first?.value ?? ""
    }
}

public struct StaffMember: Hashable, Sendable, Codable {
    public var id: StaffID
    /// The home branch: its replica is the authority for this person's calendar.
    public var branchID: BranchID
    public var name: String
    public var schedule: WeeklyHours
    /// Recurring breaks per weekday (e.g. lunch).
    public var breaks: WeeklyHours
    public var isActive: Bool
    public var displayOrder: Int

    public init(id: StaffID, branchID: BranchID, name: String, schedule: WeeklyHours, breaks: WeeklyHours = WeeklyHours(), isActive: Bool = true, displayOrder: Int = 0) {
        self.id = id
        self.branchID = branchID
        self.name = name
        self.schedule = schedule
        self.breaks = breaks
        self.isActive = isActive
        self.displayOrder = displayOrder
    }
}

/// That a staff member performs an offering, optionally with their own duration and price.
public struct StaffOffering: Hashable, Sendable, Codable {
    public var staffID: StaffID
    public var offeringID: OfferingID
    public var durationMinutes: Int?
    public var priceMinor: Int64?

    public init(staffID: StaffID, offeringID: OfferingID, durationMinutes: Int? = nil, priceMinor: Int64? = nil) {
        self.staffID = staffID
        self.offeringID = offeringID
        self.durationMinutes = durationMinutes
        self.priceMinor = priceMinor
    }
}

public struct TimeOff: Hashable, Sendable, Codable {
    public var id: TimeOffID
    public var staffID: StaffID
    public var range: TimeRange
    public var reason: String

    public init(id: TimeOffID, staffID: StaffID, range: TimeRange, reason: String = "") {
        self.id = id
        self.staffID = staffID
        self.range = range
        self.reason = reason
    }
}

public struct Resource: Hashable, Sendable, Codable {
    public var id: ResourceID
    public var branchID: BranchID
    public var name: String
    /// `room`, `chair`, `device`, …
    public var kind: String
    public var units: Int
    public var isActive: Bool

    public init(id: ResourceID, branchID: BranchID, name: String, kind: String = "room", units: Int = 1, isActive: Bool = true) {
        self.id = id
        self.branchID = branchID
        self.name = name
        self.kind = kind
        self.units = units
        self.isActive = isActive
    }
}
