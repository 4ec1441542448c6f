import Foundation
import Testing
@testable import Domain

@Suite("Calendar and time zones")
struct TimeTests {
    @Test("local dates round-trip through days since the epoch and know their weekday")
    func dates() {
        for days in stride(from: -719_162, through: 2_932_896, by: 997) {
            let date = LocalDate(daysSinceEpoch: days)
            #expect(date.daysSinceEpoch == days)
            #expect(LocalDate(date.description) == date)
        }
        #expect(date("2024-03-01").weekday == .friday)
        #expect(date("1970-01-01").weekday == .thursday)
        #expect(date("2023-11-05").weekday == .sunday)
        #expect(LocalDate("2023-02-29") == nil)
        #expect(LocalDate("2024-02-29") != nil)
        #expect(LocalDate("2024-2-29") == nil)
        #expect(date("2024-01-31").adding(months: 1) == nil)
        #expect(date("2024-01-31").adding(months: 2) == date("2024-03-31"))
    }

    @Test("RFC 3339 instants parse and print with offsets", arguments: [
        ("2024-03-01T09:00:00Z", 1_709_283_600_000 as Int64),
        ("2024-03-01T14:00:00+05:00", 1_709_283_600_000),
        ("2024-03-01T09:00:00.250Z", 1_709_283_600_250),
        ("1969-12-31T23:59:59Z", -1000),
    ])
    func instants(text: String, milliseconds: Int64) {
        #expect(Instant(iso8601: text)?.milliseconds == milliseconds)
    }

    @Test("malformed instants are refused", arguments: ["2024-03-01", "2024-03-01T09:00:00", "2024-03-01T25:00:00Z", "2024-02-30T09:00:00Z",
                                                         "2024-03-01T09:00:00+5:00", "2024-03-01T09:00:00.Z", "x"])
    func badInstants(text: String) {
        #expect(Instant(iso8601: text) == nil)
    }

    @Test("offsets read from the system tzdata agree with Foundation's time-zone database", arguments: [
        "America/New_York", "Europe/London", "Asia/Almaty", "Asia/Atyrau", "Asia/Dhaka", "Australia/Sydney", "America/Sao_Paulo",
        "Asia/Kolkata", "Europe/Moscow", "Pacific/Chatham", "America/St_Johns", "UTC",
    ])
    func agreesWithFoundation(identifier: String) throws {
        let rules = try ZoneRules.named(identifier)
        let foundation = try #require(TimeZone(identifier: identifier))
        // Hourly through 2022–2026, then daily far past the last listed transition (the POSIX footer).
        var checked = 0
        for seconds in stride(from: Int64(1_640_995_200), to: 1_798_761_600, by: 3600) {
            let expected = foundation.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
            #expect(rules.offsetSeconds(at: Instant(seconds: seconds)) == expected, "\(identifier) at \(seconds)")
            checked += 1
        }
        for seconds in stride(from: Int64(2_200_000_000), to: 2_700_000_000, by: 86_400 + 3_600) {
            let expected = foundation.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
            #expect(rules.offsetSeconds(at: Instant(seconds: seconds)) == expected, "\(identifier) at \(seconds)")
        }
        #expect(checked > 40_000)
    }

    @Test("wall-clock times on DST-change days: skipped, ambiguous, unique")
    func resolution() throws {
        let newYork = try ZoneRules.named("America/New_York")
        #expect(newYork.resolve(date("2023-11-05"), minutes: 90) == .ambiguous(instant("2023-11-05T05:30:00Z"), instant("2023-11-05T06:30:00Z")))
        #expect(newYork.resolve(date("2023-03-12"), minutes: 150) == .skipped(instant("2023-03-12T07:30:00Z")))
        #expect(newYork.resolve(date("2023-03-12"), minutes: 180) == .unique(instant("2023-03-12T07:00:00Z")))
        let london = try ZoneRules.named("Europe/London")
        #expect(london.resolve(date("2023-03-26"), minutes: 60) == .skipped(instant("2023-03-26T01:00:00Z")))
        #expect(london.resolve(date("2023-03-26"), minutes: 120) == .unique(instant("2023-03-26T01:00:00Z")))
        let almaty = try ZoneRules.named("Asia/Almaty")
        #expect(almaty.resolve(date("2024-02-29"), minutes: 9 * 60) == .unique(instant("2024-02-29T03:00:00Z")))
        #expect(almaty.resolve(date("2024-03-01"), minutes: 9 * 60) == .unique(instant("2024-03-01T04:00:00Z")))
        #expect(almaty.resolve(date("2024-02-29"), minutes: 23 * 60 + 30) == .ambiguous(instant("2024-02-29T17:30:00Z"), instant("2024-02-29T18:30:00Z")))
        #expect(almaty.localDate(of: instant("2024-02-29T18:30:00Z")) == date("2024-02-29"))
    }

    @Test("unknown or unsafe zone names are refused", arguments: ["Mars/Olympus", "../../etc/passwd", "", "Asia//Almaty", "Asia/Almaty\u{0}"])
    func badZones(name: String) {
        #expect(throws: DomainError.self) { try ZoneRules.named(name) }
    }

    @Test("POSIX TZ rules: northern and southern daylight time, numeric offsets", arguments: [
        ("EST5EDT,M3.2.0,M11.1.0", "2023-07-01T12:00:00Z", -4 * 3600),
        ("EST5EDT,M3.2.0,M11.1.0", "2023-12-01T12:00:00Z", -5 * 3600),
        ("<+05>-5", "2030-01-01T00:00:00Z", 5 * 3600),
        ("AEST-10AEDT,M10.1.0,M4.1.0/3", "2030-01-15T00:00:00Z", 11 * 3600),
        ("AEST-10AEDT,M10.1.0,M4.1.0/3", "2030-07-15T00:00:00Z", 10 * 3600),
        ("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2030-07-15T00:00:00Z", -2 * 3600),
    ])
    func posixRules(rule: String, at: String, offset: Int) throws {
        let parsed = try #require(PosixZoneRule(rule))
        #expect(parsed.offset(atUnixSeconds: instant(at).milliseconds / 1000) == offset)
    }
}
