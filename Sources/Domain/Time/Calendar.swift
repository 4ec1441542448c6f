/// A point in time: milliseconds since the Unix epoch, UTC. Every instant the domain stores is one of these.
public struct Instant: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// The instants the API accepts and the domain books: 1970-01-01 up to 2200-01-01 (UTC).
    public static let supportedRange = Instant(milliseconds: 0)..<Instant(milliseconds: 7_258_118_400_000)
    public init(seconds: Int64) { self.milliseconds = seconds * 1000 }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public func adding(minutes: Int) -> Instant { Instant(milliseconds: milliseconds + Int64(minutes) * 60_000) }
    public func adding(milliseconds delta: Int64) -> Instant { Instant(milliseconds: milliseconds + delta) }

    /// Whole minutes from `other` to `self` (rounded towards zero).
    public func minutes(since other: Instant) -> Int { Int((milliseconds - other.milliseconds) / 60_000) }

    /// RFC 3339 in UTC, e.g. `2024-03-01T09:00:00Z`.
    public var description: String { iso8601(offsetSeconds: 0) }

    /// RFC 3339 with the given UTC offset, e.g. `2024-03-01T09:00:00+05:00`.
    public func iso8601(offsetSeconds: Int) -> String {
        let local = milliseconds.floorDivided(by: 1000) + Int64(offsetSeconds)
        let days = local.floorDivided(by: 86_400)
        let secondOfDay = Int(local - days * 86_400)
        let date = LocalDate(daysSinceEpoch: Int(days))
        let time = "\(date)T\(twoDigits(secondOfDay / 3600)):\(twoDigits(secondOfDay / 60 % 60)):\(twoDigits(secondOfDay % 60))"
        if offsetSeconds == 0 { return time + "Z" }
        let sign = offsetSeconds < 0 ? "-" : "+"
        let magnitude = abs(offsetSeconds)
        return time + "\(sign)\(twoDigits(magnitude / 3600)):\(twoDigits(magnitude / 60 % 60))"
    }

    /// Parses RFC 3339 (`2024-03-01T09:00:00Z`, `…+05:00`, optional fractional seconds).
    public init?(iso8601 text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") || bytes[10] == UInt8(ascii: " "),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let date = LocalDate(String(decoding: bytes[0..<10], as: UTF8.self)),
              let hour = parseDigits(bytes[11..<13]), let minute = parseDigits(bytes[14..<16]), let second = parseDigits(bytes[17..<19]),
              hour < 24, minute < 60, second < 60 else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, let digit = parseDigits(bytes[index..<index + 1]) {
                if digits < 3 { fraction = fraction * 10 + Int64(digit) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { fraction *= 10 } }
        }
        guard index < bytes.count else { return nil }
        var offset = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                  let hours = parseDigits(bytes[index + 1..<index + 3]), let minutes = parseDigits(bytes[index + 4..<index + 6]),
                  hours < 24, minutes < 60 else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        let seconds = Int64(date.daysSinceEpoch) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
        self.milliseconds = seconds * 1000 + fraction
    }
}

/// A calendar date without a time zone (proleptic Gregorian), e.g. a branch's local date.
public struct LocalDate: Hashable, Comparable, Sendable, Codable, CustomStringConvertible, LosslessStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// - Returns: nil if the day does not exist (e.g. 2023-02-29).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1, day <= LocalDate.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`.
    public init?(_ description: String) {
        let bytes = Array(description.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = parseDigits(bytes[0..<4]), let month = parseDigits(bytes[5..<7]), let day = parseDigits(bytes[8..<10]) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var weekday: Weekday {
        let value = (daysSinceEpoch + 3).floorModulo(7) + 1 // 1970-01-01 was a Thursday
        return Weekday(rawValue: value)!
    }

    public func adding(days: Int) -> LocalDate { LocalDate(daysSinceEpoch: daysSinceEpoch + days) }

    /// The same day of the month `months` later, or nil if that month is shorter.
    public func adding(months: Int) -> LocalDate? {
        let total = year * 12 + (month - 1) + months
        return LocalDate(year: total / 12, month: total % 12 + 1, day: day)
    }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    public var description: String {
        let yearText = String(year)
        return String(repeating: "0", count: max(0, 4 - yearText.count)) + yearText + "-" + twoDigits(month) + "-" + twoDigits(day)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = LocalDate(text) else {
            throw Swift.DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(text) is not a date (YYYY-MM-DD)"))
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// ISO weekdays.
public enum Weekday: Int, Sendable, Codable, CaseIterable, Comparable {
    case monday = 1, tuesday, wednesday, thursday, friday, saturday, sunday

    public static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Three-letter lowercase key used in schedules: `mon` … `sun`.
    public var key: String { ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][rawValue - 1] }

    public init?(key: String) {
        guard let index = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].firstIndex(of: key) else { return nil }
        self.init(rawValue: index + 1)
    }
}

/// A wall-clock time of day in minutes after midnight, 0…1440 (1440 = the end of the day).
public struct WallTime: Hashable, Comparable, Sendable, Codable, CustomStringConvertible, LosslessStringConvertible {
    public let minutes: Int

    public init?(minutes: Int) {
        guard (0...1440).contains(minutes) else { return nil }
        self.minutes = minutes
    }

    public init?(hour: Int, minute: Int) {
        guard (0...59).contains(minute) else { return nil }
        self.init(minutes: hour * 60 + minute)
    }

    /// Parses `HH:MM` (`24:00` is the end of the day).
    public init?(_ description: String) {
        let bytes = Array(description.utf8)
        guard bytes.count == 5, bytes[2] == UInt8(ascii: ":"), let hour = parseDigits(bytes[0..<2]), let minute = parseDigits(bytes[3..<5]),
              hour <= 24, minute < 60 else { return nil }
        self.init(hour: hour, minute: minute)
    }

    public static func < (lhs: WallTime, rhs: WallTime) -> Bool { lhs.minutes < rhs.minutes }
    public var description: String { twoDigits(minutes / 60) + ":" + twoDigits(minutes % 60) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let time = WallTime(text) else {
            throw Swift.DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(text) is not a time of day (HH:MM, 00:00…24:00)"))
        }
        self = time
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A half-open interval of instants [start, end).
public struct TimeRange: Hashable, Sendable, Codable, CustomStringConvertible {
    public var start: Instant
    public var end: Instant

    public init(start: Instant, end: Instant) {
        self.start = start
        self.end = end
    }

    public var isEmpty: Bool { end <= start }
    public var minutes: Int { end.minutes(since: start) }

    public func overlaps(_ other: TimeRange) -> Bool { start < other.end && other.start < end }
    public func contains(_ other: TimeRange) -> Bool { start <= other.start && other.end <= end }
    public func contains(_ instant: Instant) -> Bool { start <= instant && instant < end }
    public var description: String { "[\(start), \(end))" }
}

/// Sorted, disjoint ranges with set operations — working time, free time.
public struct RangeSet: Hashable, Sendable, CustomStringConvertible {
    public private(set) var ranges: [TimeRange]

    public init() { ranges = [] }

    /// Normalises: drops empty ranges, sorts, merges overlapping and touching ranges.
    public init(_ ranges: [TimeRange]) {
        let sorted = ranges.filter { !$0.isEmpty }.sorted { $0.start < $1.start }
        var merged: [TimeRange] = []
        for range in sorted {
            if let last = merged.last, range.start <= last.end {
                merged[merged.count - 1].end = max(last.end, range.end)
            } else {
                merged.append(range)
            }
        }
        self.ranges = merged
    }

    public var isEmpty: Bool { ranges.isEmpty }

    public func intersection(_ other: RangeSet) -> RangeSet {
        var result: [TimeRange] = []
        var i = 0, j = 0
        while i < ranges.count, j < other.ranges.count {
            let start = max(ranges[i].start, other.ranges[j].start)
            let end = min(ranges[i].end, other.ranges[j].end)
            if start < end { result.append(TimeRange(start: start, end: end)) }
            if ranges[i].end < other.ranges[j].end { i += 1 } else { j += 1 }
        }
        var set = RangeSet()
        set.ranges = result
        return set
    }

    public func subtracting(_ other: RangeSet) -> RangeSet {
        var result: [TimeRange] = []
        var j = 0
        for range in ranges {
            var start = range.start
            while j < other.ranges.count, other.ranges[j].end <= start { j += 1 }
            var k = j
            while k < other.ranges.count, other.ranges[k].start < range.end {
                if other.ranges[k].start > start { result.append(TimeRange(start: start, end: other.ranges[k].start)) }
                start = max(start, other.ranges[k].end)
                k += 1
            }
            if start < range.end { result.append(TimeRange(start: start, end: range.end)) }
        }
        var set = RangeSet()
        set.ranges = result
        return set
    }

    /// The free range that wholly contains `range`, if any.
    public func range(containing range: TimeRange) -> TimeRange? {
        var low = 0, high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].end < range.end { low = middle + 1 } else { high = middle }
        }
        guard low < ranges.count, ranges[low].contains(range) else { return nil }
        return ranges[low]
    }

    public var description: String { ranges.map(\.description).joined(separator: " ") }
}

func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

func parseDigits(_ bytes: ArraySlice<UInt8>) -> Int? {
    guard !bytes.isEmpty else { return nil }
    var value = 0
    for byte in bytes {
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        value = value * 10 + Int(byte - UInt8(ascii: "0"))
    }
    return value
}

extension BinaryInteger {
    func floorDivided(by divisor: Self) -> Self {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    func floorModulo(_ divisor: Self) -> Self {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
