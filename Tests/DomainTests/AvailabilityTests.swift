import Testing
@testable import Domain

/// One row of the availability rule table: a setup on a fresh branch (Asia/Almaty, open 09:00–18:00
/// every day, now = 2024-05-06 05:00 local, no minimum notice), and the local start times offered
/// on Tuesday 2024-05-07 for the offering the setup returns.
struct AvailabilityCase: Sendable, CustomTestStringConvertible {
    let name: String
    let expected: [String]
    let setup: @Sendable (ShopFixture) throws -> [String]
    var testDescription: String { name }
}

let day = "2024-05-07"

let availabilityCases: [AvailabilityCase] = [
    AvailabilityCase(name: "rule 1: the branch's opening hours bound the grid", expected: grid("09:00", "17:00")) { f in
        let anna = try f.addStaff("Anna")
        return try f.starts(try f.addOffering("Cut", minutes: 60, staff: [anna]), on: day)
    },
    AvailabilityCase(name: "rule 1: staff hours are intersected with the branch's", expected: grid("09:00", "11:00")) { f in
        let anna = try f.addStaff("Anna", schedule: .every(Weekday.allCases, [hours("08:00", "12:00")]))
        return try f.starts(try f.addOffering("Cut", minutes: 60, staff: [anna]), on: day)
    },
    AvailabilityCase(name: "rule 1: several intervals a day", expected: grid("09:00", "10:00") + grid("14:00", "15:00")) { f in
        let anna = try f.addStaff("Anna", schedule: .every(Weekday.allCases, [hours("09:00", "11:00"), hours("14:00", "16:00")]))
        return try f.starts(try f.addOffering("Cut", minutes: 60, staff: [anna]), on: day)
    },
    AvailabilityCase(name: "rules 1, 5: a break removes time and the grid restarts after it", expected: grid("09:00", "09:30") + grid("11:00", "17:30")) { f in
        let anna = try f.addStaff("Anna", breaks: .every(Weekday.allCases, [hours("10:10", "11:00")]))
        return try f.starts(try f.addOffering("Cut", minutes: 30, staff: [anna]), on: day)
    },
    AvailabilityCase(name: "rule 1: a branch override closes the day", expected: []) { f in
        let anna = try f.addStaff("Anna")
        try f.shop.setOverride(DateOverride(date: date(day), intervals: [], note: "holiday"), branch: f.branchID)
        return try f.starts(try f.addOffering("Cut", minutes: 60, staff: [anna]), on: day)
    },
    AvailabilityCase(name: "rule 1: a branch override sets special hours", expected: grid("12:00", "13:00")) { f in
        let anna = try f.addStaff("Anna")
        try f.shop.setOverride(DateOverride(date: date(day), intervals: [hours("12:00", "14:00")]), branch: f.branchID)
        return try f.starts(try f.addOffering("Cut", minutes: 60, staff: [anna]), on: day)
    },
    AvailabilityCase(name: "rule 1: a staff override replaces the weekday's hours and breaks", expected: grid("09:00", "10:00")) { f in
        let anna = try f.addStaff("Anna", breaks: .every(Weekday.allCases, [hours("09:30", "10:00")]))
        try f.shop.setOverride(DateOverride(date: date(day), intervals: [hours("09:00", "11:00")]), staff: anna)
        return try f.starts(try f.addOffering("Cut", minutes: 60, staff: [anna]), on: day)
    },
    AvailabilityCase(name: "rule 1: time off (instants) is removed", expected: ["09:00"] + grid("12:00", "17:00")) { f in
        let anna = try f.addStaff("Anna")
        try f.shop.addTimeOff(staff: anna, range: TimeRange(start: instant("2024-05-07T05:00:00Z"), end: instant("2024-05-07T07:00:00Z")))
        return try f.starts(try f.addOffering("Cut", minutes: 60, staff: [anna]), on: day)
    },
    AvailabilityCase(name: "rules 4, 5: buffers on both sides: first start is opening + buffer before, last ends buffer after before closing",
                     expected: grid("09:10", "17:25")) { f in
        let anna = try f.addStaff("Anna")
        return try f.starts(try f.addOffering("Colour", minutes: 30, before: 10, after: 5, staff: [anna]), on: day)
    },
    AvailabilityCase(name: "rules 2, 4: buffers of neighbouring appointments add up and never overlap",
                     expected: grid("09:10", "11:10") + grid("12:40", "17:25")) { f in
        let anna = try f.addStaff("Anna")
        let colour = try f.addOffering("Colour", minutes: 30, before: 10, after: 5, staff: [anna])
        try f.book(colour, staff: anna, day, "11:55") // occupies 11:45–12:30
        return try f.starts(colour, on: day)
    },
    AvailabilityCase(name: "rule 5: a booking ending at an odd minute leaves no gap", expected: grid("09:37", "17:22")) { f in
        let anna = try f.addStaff("Anna")
        let odd = try f.addOffering("Consultation", minutes: 37, staff: [anna])
        try f.book(odd, day, "09:00")
        return try f.starts(try f.addOffering("Cut", minutes: 30, staff: [anna]), on: day)
    },
    AvailabilityCase(name: "rule 2: cancelled, rejected and no-show appointments occupy nothing", expected: grid("09:00", "17:00")) { f in
        let anna = try f.addStaff("Anna")
        let cut = try f.addOffering("Cut", minutes: 60, staff: [anna])
        try f.shop.cancel(try f.book(cut, day, "10:00").id, by: .client, reason: "", actor: "desk")
        let noShow = try f.book(cut, day, "12:00")
        f.clock.set(instant("2024-05-07T08:00:00Z"))
        try f.shop.markNoShow(noShow.id, actor: "desk")
        f.clock.set(instant("2024-05-06T00:00:00Z"))
        return try f.starts(cut, on: day)
    },
    AvailabilityCase(name: "rule 2: a hold blocks until it expires", expected: ["09:00"] + grid("11:00", "17:00")) { f in
        let anna = try f.addStaff("Anna")
        let cut = try f.addOffering("Cut", minutes: 60, staff: [anna])
        try f.book(cut, day, "10:00", hold: true)
        return try f.starts(cut, on: day)
    },
    AvailabilityCase(name: "rule 2: an expired hold blocks nothing", expected: grid("09:00", "17:00")) { f in
        let anna = try f.addStaff("Anna")
        let cut = try f.addOffering("Cut", minutes: 60, staff: [anna])
        try f.book(cut, day, "10:00", hold: true)
        f.clock.advance(minutes: 10) // the branch's default slot hold
        return try f.starts(cut, on: day)
    },
    AvailabilityCase(name: "rule 6: a start exactly at now + notice is kept, one step earlier is dropped", expected: grid("10:00", "17:00")) { f in
        let anna = try f.addStaff("Anna")
        var branch = try f.shop.branch(f.branchID)
        branch.policy.minimumNoticeMinutes = 60
        try f.shop.save(branch)
        f.clock.set(instant("2024-05-07T04:00:00Z")) // 09:00 local
        return try f.starts(try f.addOffering("Cut", minutes: 60, staff: [anna]), on: day)
    },
    AvailabilityCase(name: "rule 6: the last day inside the horizon is offered", expected: grid("09:00", "17:00")) { f in
        let anna = try f.addStaff("Anna")
        var branch = try f.shop.branch(f.branchID)
        branch.policy.horizonDays = 1
        try f.shop.save(branch)
        return try f.starts(try f.addOffering("Cut", minutes: 60, staff: [anna]), on: day)
    },
    AvailabilityCase(name: "rule 6: the day after the horizon is not", expected: []) { f in
        let anna = try f.addStaff("Anna")
        var branch = try f.shop.branch(f.branchID)
        branch.policy.horizonDays = 1
        try f.shop.save(branch)
        return try f.starts(try f.addOffering("Cut", minutes: 60, staff: [anna]), on: "2024-05-08")
    },
    AvailabilityCase(name: "rule 7: a group session with room is offered again at its start", expected: ["09:00", "10:00"] + grid("11:00", "17:00")) { f in
        let anna = try f.addStaff("Anna")
        let yoga = try f.addOffering("Yoga", minutes: 60, capacity: 3, staff: [anna])
        try f.book(yoga, day, "10:00", guest: "A")
        try f.book(yoga, day, "10:00", guest: "B")
        return try f.starts(yoga, on: day)
    },
    AvailabilityCase(name: "rule 7: a full group session is not offered", expected: ["09:00"] + grid("11:00", "17:00")) { f in
        let anna = try f.addStaff("Anna")
        let yoga = try f.addOffering("Yoga", minutes: 60, capacity: 2, staff: [anna])
        try f.book(yoga, day, "10:00", guest: "A")
        try f.book(yoga, day, "10:00", guest: "B")
        return try f.starts(yoga, on: day)
    },
    AvailabilityCase(name: "rule 7: an appointment strictly inside a candidate interval blocks it", expected: ["09:00", "09:15"] + grid("10:30", "17:00")) { f in
        let anna = try f.addStaff("Anna")
        let yoga = try f.addOffering("Yoga", minutes: 60, capacity: 3, staff: [anna])
        let quick = try f.addOffering("Brow tint", minutes: 15, staff: [anna])
        try f.book(quick, day, "10:15")
        return try f.starts(yoga, on: day)
    },
    AvailabilityCase(name: "rule 8: a resource with no free unit blocks other staff", expected: ["09:00"] + grid("11:00", "17:00")) { f in
        let anna = try f.addStaff("Anna"), bella = try f.addStaff("Bella")
        let room = try f.addResource("Laser room")
        let laser = try f.addOffering("Laser", minutes: 60, resources: [ResourceRequirement(resource: room)], staff: [anna, bella])
        try f.book(laser, staff: anna, day, "10:00")
        return try f.starts(laser, staff: bella, on: day)
    },
    AvailabilityCase(name: "rule 8: a second unit keeps the time free", expected: grid("09:00", "17:00")) { f in
        let anna = try f.addStaff("Anna"), bella = try f.addStaff("Bella")
        let chairs = try f.addResource("Pedicure chair", units: 2)
        let pedicure = try f.addOffering("Pedicure", minutes: 60, resources: [ResourceRequirement(resource: chairs)], staff: [anna, bella])
        try f.book(pedicure, staff: anna, day, "10:00")
        return try f.starts(pedicure, staff: bella, on: day)
    },
    AvailabilityCase(name: "rule 9: any staff is the union over qualified active staff", expected: grid("09:00", "11:00") + grid("13:00", "17:00")) { f in
        let anna = try f.addStaff("Anna", schedule: .every(Weekday.allCases, [hours("09:00", "12:00")]))
        let bella = try f.addStaff("Bella", schedule: .every(Weekday.allCases, [hours("13:00", "18:00")]))
        let carl = try f.addStaff("Carl")
        let cut = try f.addOffering("Cut", minutes: 60, staff: [anna, bella, carl])
        var inactive = try f.shop.staffMember(carl)
        inactive.isActive = false
        try f.shop.save(inactive)
        return try f.starts(cut, on: day)
    },
    AvailabilityCase(name: "staff-specific duration", expected: grid("09:00", "16:30")) { f in
        let anna = try f.addStaff("Anna")
        let cut = try f.addOffering("Cut", minutes: 60, staff: [])
        try f.shop.assign(StaffOffering(staffID: anna, offeringID: cut, durationMinutes: 90))
        return try f.starts(cut, on: day)
    },
]

@Suite("Availability rules")
struct AvailabilityTests {
    @Test("offered starts", arguments: availabilityCases)
    func offered(_ example: AvailabilityCase) throws {
        let fixture = try ShopFixture()
        #expect(try example.setup(fixture) == example.expected)
    }

    @Test("rule 9: booking with any staff picks the qualified one with the fewest booked minutes, ties by id")
    func anyStaffAssignment() throws {
        let f = try ShopFixture()
        let first = try f.addStaff("First"), second = try f.addStaff("Second")
        let (low, high) = first < second ? (first, second) : (second, first)
        let cut = try f.addOffering("Cut", minutes: 60, staff: [first, second])
        // A tie: the lower id is chosen.
        #expect(try f.book(cut, day, "09:00").staff == [low])
        // Now `high` has fewer booked minutes.
        #expect(try f.book(cut, day, "11:00").staff == [high])
        try f.book(cut, staff: high, day, "13:00")
        try f.book(cut, staff: high, day, "14:00")
        #expect(try f.book(cut, day, "16:00").staff == [low])
    }

    @Test("rule 10: a multi-service visit chains its services, each with its own staff and buffers")
    func chains() throws {
        let f = try ShopFixture()
        let anna = try f.addStaff("Anna"), bella = try f.addStaff("Bella", schedule: .every(Weekday.allCases, [hours("10:00", "12:00")]))
        let cut = try f.addOffering("Cut", minutes: 60, after: 5, staff: [anna])
        let colour = try f.addOffering("Colour", minutes: 45, before: 10, staff: [bella])
        let slots = try f.shop.availability(branch: f.branchID, parts: [VisitPart(offeringID: cut), VisitPart(offeringID: colour)], dates: [date(day)])
        // Colour starts 15 minutes after the cut ends (5 after + 10 before); with its buffer it must lie
        // within Bella's 10:00–12:00, so the cut starts between 08:55 and 10:00.
        #expect(slots.map(f.local) == grid("09:00", "10:00"))
        let slot = try #require(slots.first)
        #expect(slot.items.map(\.staffID) == [anna, bella])
        #expect(f.local(slot.items[1].start) == "10:15")
        #expect(f.local(slot.end) == "11:00")
        let booked = try f.shop.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut), VisitPart(offeringID: colour)],
                                                    start: slot.start, guest: Guest(name: "Dana"))).appointment
        #expect(booked.items.count == 2 && booked.price.amountMinor == 2000)
        // Bella is now busy 10:05–11:00 and Anna 09:00–10:05, so no other chain fits.
        #expect(try f.shop.availability(branch: f.branchID, parts: [VisitPart(offeringID: cut), VisitPart(offeringID: colour)], dates: [date(day)]).isEmpty)
    }

    /// Rule 11 on DST-change days: starts in RFC 3339 with the branch's offset.
    @Test("rule 11: 2023-11-05 New York (clocks back): the repeated hour is offered twice, with distinct offsets")
    func newYorkFallBack() throws {
        let f = try ShopFixture(zone: "America/New_York", now: "2023-11-01T00:00:00Z", region: "US",
                                hours: .every(Weekday.allCases, [hours("00:00", "04:00")]))
        let cut = try f.addOffering("Cut", minutes: 60, step: 60, staff: [try f.addStaff("Anna")])
        let slots = try f.shop.availability(branch: f.branchID, offering: cut, date: date("2023-11-05"))
        #expect(slots.map(\.localStart) == ["2023-11-05T00:00:00-04:00", "2023-11-05T01:00:00-04:00", "2023-11-05T01:00:00-05:00",
                                            "2023-11-05T02:00:00-05:00", "2023-11-05T03:00:00-05:00"])
    }

    @Test("rule 11: 2023-03-12 New York (clocks forward): 02:00 does not exist and is skipped")
    func newYorkSpringForward() throws {
        let f = try ShopFixture(zone: "America/New_York", now: "2023-03-10T00:00:00Z", region: "US",
                                hours: .every(Weekday.allCases, [hours("00:00", "04:00")]))
        let cut = try f.addOffering("Cut", minutes: 60, step: 60, staff: [try f.addStaff("Anna")])
        #expect(try f.shop.availability(branch: f.branchID, offering: cut, date: date("2023-03-12")).map(\.localStart)
                == ["2023-03-12T00:00:00-05:00", "2023-03-12T01:00:00-05:00", "2023-03-12T03:00:00-04:00"])
    }

    @Test("rule 11: 2023-03-26 London (clocks forward): 01:00–02:00 does not exist; wall-clock hours keep their meaning")
    func londonSpringForward() throws {
        let f = try ShopFixture(zone: "Europe/London", now: "2023-03-20T00:00:00Z", region: "GB", currency: "GBP",
                                hours: .every(Weekday.allCases, [hours("00:00", "03:00"), hours("09:00", "10:00")]))
        let cut = try f.addOffering("Cut", minutes: 30, step: 30, staff: [try f.addStaff("Anna")])
        #expect(try f.shop.availability(branch: f.branchID, offering: cut, date: date("2023-03-26")).map(\.localStart)
                == ["2023-03-26T00:00:00Z", "2023-03-26T00:30:00Z", "2023-03-26T02:00:00+01:00", "2023-03-26T02:30:00+01:00",
                    "2023-03-26T09:00:00+01:00", "2023-03-26T09:30:00+01:00"])
    }

    @Test("rule 11: 2024-03-01 Almaty moves from UTC+6 to UTC+5: 09:00 is 03:00Z the day before and 04:00Z that day")
    func almatyZoneChange() throws {
        let f = try ShopFixture(zone: "Asia/Almaty", now: "2024-02-26T00:00:00Z",
                                hours: .every(Weekday.allCases, [hours("09:00", "10:00"), hours("22:00", "24:00")]))
        let cut = try f.addOffering("Cut", minutes: 60, step: 60, staff: [try f.addStaff("Anna")])
        let slots = try f.shop.availability(branch: f.branchID, parts: [VisitPart(offeringID: cut)], dates: [date("2024-02-29"), date("2024-03-01")])
        #expect(slots.map(\.localStart) == ["2024-02-29T09:00:00+06:00", "2024-02-29T22:00:00+06:00", "2024-02-29T23:00:00+06:00",
                                            "2024-02-29T23:00:00+05:00", "2024-03-01T09:00:00+05:00", "2024-03-01T22:00:00+05:00",
                                            "2024-03-01T23:00:00+05:00"])
        #expect(slots.first?.start == instant("2024-02-29T03:00:00Z"))
        #expect(slots[4].start == instant("2024-03-01T04:00:00Z"))
    }
}
