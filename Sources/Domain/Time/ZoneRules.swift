import Foundation

/// The rules of one IANA time zone, read from the system's time-zone database
/// (`/usr/share/zoneinfo`, Debian's `tzdata` package) in TZif format (RFC 8536), including the
/// POSIX TZ footer that extends the rules past the last listed transition. Reading the system
/// database — not a copy compiled into the binary — means a box follows a zone change (such as
/// Kazakhstan's move to UTC+5 on 2024-03-01) as soon as `tzdata` is updated.
public struct ZoneRules: Sendable, Hashable {
    public let identifier: String
    /// Transition instants (seconds) and the offset (seconds east of UTC) in force from each.
    let transitions: [Int64]
    let offsets: [Int32]
    /// Offset before the first transition.
    let initialOffset: Int32
    let footer: PosixZoneRule?

    /// The directory the time-zone database is read from (`TZDIR` overrides it).
    public static var databaseDirectory: String {
        ProcessInfo.processInfo.environment["TZDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/share/zoneinfo"
    }

    private static let cache = ZoneCache()

    /// Loads (and caches) the rules of `identifier`, e.g. `Asia/Almaty`.
    /// - Throws: `DomainError(.invalidTimeZone)` if the name is not a zone of the database.
    public static func named(_ identifier: String) throws(DomainError) -> ZoneRules {
        if let cached = cache.get(identifier) { return cached }
        let rules = try load(identifier, directory: databaseDirectory)
        cache.put(rules)
        return rules
    }

    static func load(_ identifier: String, directory: String) throws(DomainError) -> ZoneRules {
        let parts = identifier.split(separator: "/", omittingEmptySubsequences: false)
        guard !identifier.isEmpty, identifier.utf8.count <= 64, !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }),
              identifier.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/_+-".contains($0)) }) else {
            throw DomainError(.invalidTimeZone, "\"\(identifier)\" is not an IANA time-zone name (e.g. Asia/Atyrau)")
        }
        guard let data = FileManager.default.contents(atPath: directory + "/" + identifier) else {
            throw DomainError(.invalidTimeZone, "unknown time zone \"\(identifier)\" (not in \(directory); is the tzdata package installed?)")
        }
        do {
            return try parse(identifier: identifier, bytes: [UInt8](data))
        } catch {
            throw DomainError(.invalidTimeZone, "the time-zone file for \(identifier) is unreadable: \(error.message)")
        }
    }

    static func parse(identifier: String, bytes: [UInt8]) throws(DomainError) -> ZoneRules {
        func fail(_ message: String) -> DomainError { DomainError(.invalidTimeZone, message) }
        var position = 0
        func integer(_ width: Int) throws(DomainError) -> Int64 {
            guard position + width <= bytes.count else { throw fail("truncated") }
            var value: UInt64 = 0
            for index in 0..<width { value = value << 8 | UInt64(bytes[position + index]) }
            position += width
            return width == 4 ? Int64(Int32(bitPattern: UInt32(value))) : Int64(bitPattern: value)
        }
        struct Header { var version: UInt8; var isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt: Int }
        func header() throws(DomainError) -> Header {
            guard position + 44 <= bytes.count, Array(bytes[position..<position + 4]) == Array("TZif".utf8) else { throw fail("not a TZif file") }
            let version = bytes[position + 4]
            position += 20
            var counts: [Int] = []
            for _ in 0..<6 {
                let count = try integer(4)
                guard (0...1_000_000).contains(count) else { throw fail("bad count") }
                counts.append(Int(count))
            }
            return Header(version: version, isutcnt: counts[0], isstdcnt: counts[1], leapcnt: counts[2], timecnt: counts[3], typecnt: counts[4], charcnt: counts[5])
        }
        var first = try header()
        var width = 4
        if first.version >= UInt8(ascii: "2") {
            // Skip the 32-bit block and read the 64-bit one.
            position += first.timecnt * 5 + first.typecnt * 6 + first.charcnt + first.leapcnt * 8 + first.isstdcnt + first.isutcnt
            first = try header()
            width = 8
        }
        let count = first
        guard count.typecnt > 0 else { throw fail("no local time types") }
        var times: [Int64] = []
        for _ in 0..<count.timecnt { times.append(try integer(width)) }
        var indices: [Int] = []
        for _ in 0..<count.timecnt { indices.append(Int(try integer(1))) }
        var typeOffsets: [Int32] = []
        for _ in 0..<count.typecnt {
            let offset = try integer(4)
            _ = try integer(1)
            _ = try integer(1)
            guard abs(offset) < 26 * 3600 else { throw fail("offset out of range") }
            typeOffsets.append(Int32(offset))
        }
        guard indices.allSatisfy({ $0 < count.typecnt }) else { throw fail("transition names a missing type") }
        position += count.charcnt + count.leapcnt * (width + 4) + count.isstdcnt + count.isutcnt
        var footer: PosixZoneRule?
        if width == 8, position < bytes.count, bytes[position] == UInt8(ascii: "\n") {
            let rest = bytes[(position + 1)...]
            if let end = rest.firstIndex(of: UInt8(ascii: "\n")) {
                let text = String(decoding: rest[rest.startIndex..<end], as: UTF8.self)
                if !text.isEmpty {
                    guard let rule = PosixZoneRule(text) else { throw fail("unsupported TZ rule \"\(text)\"") }
                    footer = rule
                }
            }
        }
        return ZoneRules(identifier: identifier, transitions: times, offsets: indices.map { typeOffsets[$0] },
                         initialOffset: typeOffsets[0], footer: footer)
    }

    /// The offset from UTC (seconds east) in force at `instant`.
    public func offsetSeconds(at instant: Instant) -> Int {
        offsetSeconds(atUnixSeconds: instant.milliseconds.floorDivided(by: 1000))
    }

    func offsetSeconds(atUnixSeconds seconds: Int64) -> Int {
        if let last = transitions.last, seconds >= last, let footer {
            return footer.offset(atUnixSeconds: seconds)
        }
        var low = 0, high = transitions.count
        while low < high {
            let middle = (low + high) / 2
            if transitions[middle] <= seconds { low = middle + 1 } else { high = middle }
        }
        if low == 0 { return transitions.isEmpty ? (footer?.offset(atUnixSeconds: seconds) ?? Int(initialOffset)) : Int(initialOffset) }
        return Int(offsets[low - 1])
    }

    /// The branch-local date of an instant.
    public func localDate(of instant: Instant) -> LocalDate {
        let local = instant.milliseconds.floorDivided(by: 1000) + Int64(offsetSeconds(at: instant))
        return LocalDate(daysSinceEpoch: Int(local.floorDivided(by: 86_400)))
    }

    /// The local wall time of an instant, in minutes after midnight.
    public func localMinutes(of instant: Instant) -> Int {
        let local = instant.milliseconds.floorDivided(by: 1000) + Int64(offsetSeconds(at: instant))
        return Int(local.floorModulo(86_400) / 60)
    }

    /// What a local wall-clock time means on a date.
    public enum Resolution: Hashable, Sendable {
        /// The time happens once.
        case unique(Instant)
        /// The time happens twice (clocks went back); both instants, earlier first.
        case ambiguous(Instant, Instant)
        /// The time does not happen (clocks went forward); the instant it would be with the offset
        /// in force before the gap — which the new offset shows as the same time shifted forward by the gap.
        case skipped(Instant)

        /// The earliest instant the wall time names (for a skipped time: the shifted one).
        public var instant: Instant {
            switch self {
            case .unique(let instant), .skipped(let instant): instant
            case .ambiguous(let first, _): first
            }
        }

        public var exists: Bool { if case .skipped = self { false } else { true } }
    }

    /// Resolves a wall-clock time (minutes after midnight, up to 1440) on a local date.
    public func resolve(_ date: LocalDate, minutes: Int) -> Resolution {
        let local = Int64(date.daysSinceEpoch) * 86_400 + Int64(minutes) * 60
        let before = offsetSeconds(atUnixSeconds: local - 86_400 - 26 * 3600)
        let after = offsetSeconds(atUnixSeconds: local + 86_400 + 26 * 3600)
        var candidates: [Int64] = []
        for offset in Set([before, after, offsetSeconds(atUnixSeconds: local - Int64(before)), offsetSeconds(atUnixSeconds: local - Int64(after))]) {
            let instant = local - Int64(offset)
            if offsetSeconds(atUnixSeconds: instant) == offset { candidates.append(instant) }
        }
        candidates = Array(Set(candidates)).sorted()
        switch candidates.count {
        case 0:
            // A gap only opens when the offset grows, so the earlier offset is the smaller one.
            return .skipped(Instant(seconds: local - Int64(min(before, after))))
        case 1: return .unique(Instant(seconds: candidates[0]))
        default: return .ambiguous(Instant(seconds: candidates[0]), Instant(seconds: candidates[candidates.count - 1]))
        }
    }

    /// The instant a local date begins (its first existing moment).
    public func startOfDay(_ date: LocalDate) -> Instant { resolve(date, minutes: 0).instant }
}

/// A POSIX TZ rule such as `EST5EDT,M3.2.0,M11.1.0` or `<+05>-5` (the TZif footer).
struct PosixZoneRule: Sendable, Hashable {
    /// Offsets in seconds east of UTC.
    let standardOffset: Int
    let daylight: Daylight?

    struct Daylight: Sendable, Hashable {
        let offset: Int
        let start: Rule
        let end: Rule
    }

    enum DateRule: Sendable, Hashable {
        case julianNoLeap(Int)      // Jn: 1…365, February 29 never counted
        case zeroBased(Int)         // n: 0…365
        case monthWeekDay(month: Int, week: Int, weekday: Int) // Mm.w.d, d: 0 = Sunday
    }

    struct Rule: Sendable, Hashable {
        let date: DateRule
        /// Local time of the change in seconds (may be negative or past 24h).
        let time: Int
    }

    init?(_ text: String) {
        var scanner = Array(text.utf8)[...]
        func name() -> Bool {
            if scanner.first == UInt8(ascii: "<") {
                guard let close = scanner.firstIndex(of: UInt8(ascii: ">")) else { return false }
                scanner = scanner[(close + 1)...]
                return true
            }
            var length = 0
            while let byte = scanner.first, (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) { scanner.removeFirst(); length += 1 }
            return length >= 3
        }
        func number() -> Int? {
            var value = 0, digits = 0
            while let byte = scanner.first, byte >= 48, byte <= 57 { value = value * 10 + Int(byte - 48); scanner.removeFirst(); digits += 1 }
            return digits > 0 ? value : nil
        }
        /// [+-]hh[:mm[:ss]] in seconds.
        func time() -> Int? {
            var sign = 1
            if scanner.first == UInt8(ascii: "+") { scanner.removeFirst() } else if scanner.first == UInt8(ascii: "-") { sign = -1; scanner.removeFirst() }
            guard let hours = number() else { return nil }
            var seconds = hours * 3600
            if scanner.first == UInt8(ascii: ":") {
                scanner.removeFirst()
                guard let minutes = number() else { return nil }
                seconds += minutes * 60
                if scanner.first == UInt8(ascii: ":") {
                    scanner.removeFirst()
                    guard let secs = number() else { return nil }
                    seconds += secs
                }
            }
            return sign * seconds
        }
        func rule() -> Rule? {
            let date: DateRule
            switch scanner.first {
            case UInt8(ascii: "J"):
                scanner.removeFirst()
                guard let day = number(), (1...365).contains(day) else { return nil }
                date = .julianNoLeap(day)
            case UInt8(ascii: "M"):
                scanner.removeFirst()
                guard let month = number(), scanner.popFirst() == UInt8(ascii: "."), let week = number(), scanner.popFirst() == UInt8(ascii: "."),
                      let weekday = number(), (1...12).contains(month), (1...5).contains(week), (0...6).contains(weekday) else { return nil }
                date = .monthWeekDay(month: month, week: week, weekday: weekday)
            default:
                guard let day = number(), (0...365).contains(day) else { return nil }
                date = .zeroBased(day)
            }
            var at = 7200
            if scanner.first == UInt8(ascii: "/") {
                scanner.removeFirst()
                guard let value = time() else { return nil }
                at = value
            }
            return Rule(date: date, time: at)
        }
        guard name(), let standard = time() else { return nil }
        standardOffset = -standard
        if scanner.isEmpty {
            daylight = nil
            return
        }
        guard name() else { return nil }
        var dstOffset = standardOffset + 3600
        if let first = scanner.first, first != UInt8(ascii: ",") {
            guard let value = time() else { return nil }
            dstOffset = -value
        }
        guard scanner.popFirst() == UInt8(ascii: ","), let start = rule(), scanner.popFirst() == UInt8(ascii: ","), let end = rule(), scanner.isEmpty else { return nil }
        daylight = Daylight(offset: dstOffset, start: start, end: end)
    }

    func offset(atUnixSeconds seconds: Int64) -> Int {
        guard let daylight else { return standardOffset }
        let year = LocalDate(daysSinceEpoch: Int((seconds + Int64(standardOffset)).floorDivided(by: 86_400))).year
        // DST starts at a local standard time and ends at a local daylight time.
        let start = Int64(day(of: daylight.start.date, in: year)) * 86_400 + Int64(daylight.start.time) - Int64(standardOffset)
        let end = Int64(day(of: daylight.end.date, in: year)) * 86_400 + Int64(daylight.end.time) - Int64(daylight.offset)
        if start < end {
            return seconds >= start && seconds < end ? daylight.offset : standardOffset
        }
        // Southern hemisphere: daylight time spans the new year.
        return seconds >= end && seconds < start ? standardOffset : daylight.offset
    }

    /// Days since the epoch of the rule's date in `year`.
    private func day(of rule: DateRule, in year: Int) -> Int {
        // Years outside 1…9999 are clamped: the API refuses such dates, and this must never trap.
        let january1 = LocalDate(year: min(max(year, 1), 9999), month: 1, day: 1)!.daysSinceEpoch
        let isLeap = LocalDate.daysIn(month: 2, year: year) == 29
        switch rule {
        case .julianNoLeap(let day):
            return january1 + day - 1 + (isLeap && day >= 60 ? 1 : 0)
        case .zeroBased(let day):
            return january1 + day
        case .monthWeekDay(let month, let week, let weekday):
            let first = LocalDate(year: year, month: month, day: 1)!
            let firstWeekday = first.weekday.rawValue % 7 // 0 = Sunday
            var day = 1 + (weekday - firstWeekday + 7) % 7 + (week - 1) * 7
            let length = LocalDate.daysIn(month: month, year: year)
            while day > length { day -= 7 }
            return first.daysSinceEpoch + day - 1
        }
    }
}

private final class ZoneCache: @unchecked Sendable {
    private let lock = NSLock()
    private var zones: [String: ZoneRules] = [:]

    func get(_ identifier: String) -> ZoneRules? { lock.withLock { zones[identifier] } }
    func put(_ rules: ZoneRules) { lock.withLock { zones[rules.identifier] = rules } }
}
