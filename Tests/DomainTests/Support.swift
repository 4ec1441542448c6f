import Foundation
import Logging
import Replication

@testable import Domain
import TestSupport

func instant(_ text: String) -> Instant { Instant(iso8601: text)! }
func date(_ text: String) -> LocalDate { LocalDate(text)! }
func hours(_ start: String, _ end: String) -> WallInterval { WallInterval(start, end)! }

/// A business: owner key, a temporary directory of real SQLite replicas, one shared clock.
final class TestWorld: @unchecked Sendable {
    let fixture: TestFixture
    var owner: SigningKey { fixture.owner }
    var directory: String { fixture.directory }
    var clock: TestClock { fixture.clock }

    init(now: Instant) { fixture = TestFixture(clock: TestClock(now), prefix: "edgenode-domain") }

    /// A replica whose certificate names `branch` (its home branch), or an owner device with none.
    func makeShop(home branch: BranchID?) throws -> Shop { try fixture.makeShop(home: branch) }
}

/// Sends everything `from` has that `to` lacks (through the domain, so home replicas review requests).
@discardableResult
func sync(_ from: Shop, to: Shop) throws -> ApplyReport {
    try to.apply(try from.store.changesets(missingFrom: to.store.versionVector, limit: .max).map(\.bytes))
}

func syncAll(_ shops: [Shop]) throws {
    for _ in 0..<2 {
        for a in shops { for b in shops where a !== b { try sync(a, to: b) } }
    }
}

/// One branch with a catalogue, on its home replica.
final class ShopFixture: @unchecked Sendable {
    let world: TestWorld
    let branchID = BranchID.generate(at: Instant(milliseconds: 1_700_000_000_000))
    let shop: Shop
    let zone: ZoneRules
    var clock: TestClock { world.clock }

    init(zone: String = "Asia/Almaty", now: String = "2024-05-06T00:00:00Z", region: String = "KZ", currency: String = "KZT",
         hours: WeeklyHours = .every(Weekday.allCases, [WallInterval("09:00", "18:00")!]), policy: BookingPolicy = BookingPolicy(minimumNoticeMinutes: 0)) throws {
        world = TestWorld(now: instant(now))
        shop = try world.makeShop(home: branchID)
        self.zone = try ZoneRules.named(zone)
        try shop.save(Branch(id: branchID, name: "Test branch", timeZone: zone, currency: currency, region: region, openingHours: hours, policy: policy))
    }

    private var idCounter: Int64 = 0
    private func nextInstant() -> Instant {
        idCounter += 1
        return Instant(milliseconds: 1_700_000_000_000 + idCounter)
    }

    @discardableResult
    func addStaff(_ name: String, schedule: WeeklyHours? = nil, breaks: WeeklyHours = WeeklyHours()) throws -> StaffID {
        let id = StaffID.generate(at: nextInstant())
        try shop.save(StaffMember(id: id, branchID: branchID, name: name, schedule: schedule ?? .every(Weekday.allCases, [WallInterval("00:00", "24:00")!]), breaks: breaks))
        return id
    }

    @discardableResult
    func addResource(_ name: String, units: Int = 1) throws -> ResourceID {
        let id = ResourceID.generate(at: nextInstant())
        try shop.save(Resource(id: id, branchID: branchID, name: name, units: units))
        return id
    }

    @discardableResult
    func addOffering(_ name: String, minutes: Int, before: Int = 0, after: Int = 0, step: Int = 15, capacity: Int = 1, price: Int64 = 1000,
                     resources: [ResourceRequirement] = [], staff: [StaffID]) throws -> OfferingID {
        let id = OfferingID.generate(at: nextInstant())
        try shop.save(Offering(id: id, branchID: branchID, names: ["en": name], durationMinutes: minutes, price: Money(amountMinor: price, currency: "KZT"),
                               bufferBeforeMinutes: before, bufferAfterMinutes: after, slotStepMinutes: step, capacity: capacity, resources: resources))
        for member in staff { try shop.assign(StaffOffering(staffID: member, offeringID: id)) }
        return id
    }

    /// Local wall-clock start times ("HH:MM") offered on a date.
    func starts(_ offering: OfferingID, staff: StaffID? = nil, on day: String) throws -> [String] {
        try shop.availability(branch: branchID, offering: offering, staff: staff, date: date(day)).map(local)
    }

    func local(_ slot: Slot) -> String { local(slot.start) }
    func local(_ instant: Instant) -> String {
        let minutes = zone.localMinutes(of: instant)
        return twoDigitsTest(minutes / 60) + ":" + twoDigitsTest(minutes % 60)
    }

    /// The instant of a local wall time on a date.
    func at(_ day: String, _ time: String) -> Instant { zone.resolve(date(day), minutes: WallTime(time)!.minutes).instant }

    @discardableResult
    func book(_ offering: OfferingID, staff: StaffID? = nil, _ day: String, _ time: String, guest: String = "Guest",
              hold: Bool = false) throws -> Appointment {
        try shop.book(BookingRequest(branchID: branchID, parts: [VisitPart(offeringID: offering, staffID: staff)], start: at(day, time),
                                     guest: Guest(name: guest), hold: hold)).appointment
    }
}

func twoDigitsTest(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

/// "09:00", "09:15", … up to and including `last`.
func grid(_ first: String, _ last: String, step: Int = 15) -> [String] {
    var result: [String] = []
    var minutes = WallTime(first)!.minutes
    while minutes <= WallTime(last)!.minutes {
        result.append(WallTime(minutes: minutes)!.description)
        minutes += step
    }
    return result
}
