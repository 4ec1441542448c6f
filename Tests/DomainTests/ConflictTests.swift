import Foundation
import Replication
import Testing
@testable import Domain
import TestSupport

/// Overlaps beyond capacity computed independently of `ConflictDetector`: every pair of
/// occupying (non-held) appointments of one staff member whose occupied ranges overlap, unless
/// both are participants of one group session within its capacity.
func overlappingPairs(_ shop: Shop, branch: BranchID, dates: [LocalDate]) throws -> [(AppointmentID, AppointmentID)] {
    var all: [Appointment] = []
    for day in dates { all += try shop.appointments(branch: branch, date: day) }
    let occupying = all.filter { $0.status.isBlocking && $0.status != .held }
    var pairs: [(AppointmentID, AppointmentID)] = []
    for (i, a) in occupying.enumerated() {
        for b in occupying[(i + 1)...] {
            for x in a.items {
                for y in b.items where x.staffID == y.staffID && x.occupied.overlaps(y.occupied) {
                    let sameSession = x.capacity > 1 && x.offeringID == y.offeringID && x.start == y.start
                    if !sameSession { pairs.append((a.id, b.id)) }
                }
            }
        }
    }
    return pairs
}

@Suite("No silent double booking across replicas")
struct ConflictTests {
    @Test("a booking made off the home replica is requested; the home replica confirms or rejects it when it sees it")
    func homeReplicaDecides() throws {
        let f = try ShopFixture()
        let anna = try f.addStaff("Anna")
        let cut = try f.addOffering("Cut", minutes: 60, staff: [anna])
        let owner = try f.world.makeShop(home: nil)
        try sync(f.shop, to: owner)
        let request = try owner.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-07", "10:00"),
                                                    guest: Guest(name: "Online")))
        #expect(request.appointment.status == .requested)
        let later = try owner.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-07", "12:00"),
                                                  guest: Guest(name: "Online 2")))
        // Meanwhile the front desk books 10:00 on the home replica.
        let desk = try f.book(cut, "2024-05-07", "10:00", guest: "Walk-in")
        #expect(desk.status == .confirmed)
        // The owner's device may not confirm.
        #expect { try owner.confirm(later.appointment.id, actor: "owner") } throws: { ($0 as? DomainError)?.code == .notAuthority }
        try sync(owner, to: f.shop) // the home replica reviews what arrived
        #expect(try f.shop.appointment(request.appointment.id).status == .rejected)
        #expect(try f.shop.appointment(request.appointment.id).statusReason.contains("already booked"))
        #expect(try f.shop.appointment(later.appointment.id).status == .confirmed)
        try sync(f.shop, to: owner)
        #expect(try owner.appointment(request.appointment.id).status == .rejected)
        #expect(try owner.conflicts().isEmpty && f.shop.conflicts().isEmpty)
    }

    @Test("a box that joined before its branch's row reached it has nothing to review yet (no error); once sync brings the branch, it reviews")
    func reviewBeforeTheBranchArrived() throws {
        let f = try ShopFixture()
        let anna = try f.addStaff("Anna")
        let cut = try f.addOffering("Cut", minutes: 60, staff: [anna])
        let joined = try f.world.makeShop(home: f.branchID)
        #expect(try joined.reviewRequests().isEmpty)
        let owner = try f.world.makeShop(home: nil)
        try sync(f.shop, to: owner)
        let request = try owner.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-07", "10:00"),
                                                    guest: Guest(name: "Online")))
        try sync(owner, to: joined)
        #expect(try joined.appointment(request.appointment.id).status == .confirmed)
    }

    @Test("overlapping requests from elsewhere: the home replica confirms the oldest and rejects the later one")
    func oldestRequestWins() throws {
        let f = try ShopFixture()
        let cut = try f.addOffering("Cut", minutes: 60, staff: [try f.addStaff("Anna")])
        let phone = try f.world.makeShop(home: nil), web = try f.world.makeShop(home: nil)
        try syncAll([f.shop, phone, web])
        let older = try phone.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-07", "10:00"), guest: Guest(name: "Phone")))
        f.clock.advance(minutes: 1)
        let newer = try web.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-07", "10:30"), guest: Guest(name: "Web")))
        try sync(web, to: phone)
        // Both requests are known to the phone device: they overlap, and that is flagged until the home replica decides.
        #expect(try phone.conflicts().map { Set($0.appointments) } == [[older.appointment.id, newer.appointment.id]])
        try sync(phone, to: f.shop)
        #expect(try f.shop.appointment(older.appointment.id).status == .confirmed)
        #expect(try f.shop.appointment(newer.appointment.id).status == .rejected)
        try syncAll([f.shop, phone, web])
        for shop in [f.shop, phone, web] { #expect(try shop.conflicts().isEmpty) }
    }

    @Test("on the home replica a person may confirm one of two overlapping pending requests: pending requests do not block it")
    func manualConfirmAmongRequests() throws {
        let f = try ShopFixture()
        let cut = try f.addOffering("Cut", minutes: 60, staff: [try f.addStaff("Anna")])
        let phone = try f.world.makeShop(home: nil), web = try f.world.makeShop(home: nil)
        try syncAll([f.shop, phone, web])
        let first = try phone.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-07", "10:00"), guest: Guest(name: "A")))
        let second = try web.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-07", "10:30"), guest: Guest(name: "B")))
        // Applied through the store, so the automatic review does not run.
        for device in [phone, web] {
            _ = try f.shop.store.apply(try device.store.changesets(missingFrom: f.shop.store.versionVector, limit: .max).map(\.bytes))
        }
        try f.shop.confirm(second.appointment.id, actor: "desk")
        #expect(try f.shop.appointment(second.appointment.id).status == .confirmed)
        #expect { try f.shop.confirm(first.appointment.id, actor: "desk") } throws: { ($0 as? DomainError)?.code == .slotTaken }
    }

    @Test("two boxes that both confirm for one branch: the overlap is flagged identically on both, and a resolution replicates")
    func detectedAndResolved() throws {
        let f = try ShopFixture()
        let anna = try f.addStaff("Anna")
        let room = try f.addResource("Room")
        let cut = try f.addOffering("Cut", minutes: 60, after: 10, resources: [ResourceRequirement(resource: room)], staff: [anna])
        let second = try f.world.makeShop(home: f.branchID)
        try sync(f.shop, to: second)
        let a = try f.book(cut, "2024-05-07", "10:00", guest: "A")
        let b = try second.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-07", "10:30"), guest: Guest(name: "B"))).appointment
        try syncAll([f.shop, second])
        let here = try f.shop.conflicts(), there = try second.conflicts()
        #expect(here == there)
        #expect(Set(here.map(\.subject)) == [.staff, .resource])
        #expect(here.allSatisfy { Set($0.appointments) == [a.id, b.id] })
        #expect(here.first { $0.subject == .staff }?.range == TimeRange(start: f.at("2024-05-07", "10:30"), end: f.at("2024-05-07", "11:10")))
        // Accepting keeps the overlap listed as accepted; moving resolves it everywhere.
        let staffConflict = try #require(here.first { $0.subject == .staff })
        try second.resolveConflict(staffConflict.id, action: .accept, actor: "owner", note: "Anna can take both")
        try syncAll([f.shop, second])
        #expect(try f.shop.conflicts().first { $0.id == staffConflict.id }?.resolution?.action == .accept)
        #expect(try f.shop.conflicts(includeAccepted: false).map(\.subject) == [.resource])
        let resourceConflict = try #require(try f.shop.conflicts().first { $0.subject == .resource })
        try f.shop.resolveConflict(resourceConflict.id, action: .move, appointment: b.id, newStart: f.at("2024-05-07", "14:10"), actor: "desk")
        try syncAll([f.shop, second])
        #expect(try f.shop.conflicts().isEmpty && second.conflicts().isEmpty)
        #expect(try second.appointment(b.id).start == f.at("2024-05-07", "14:10"))
    }

    @Test("group sessions: participants within capacity are not a conflict; beyond it they are")
    func groupCapacity() throws {
        let f = try ShopFixture()
        let anna = try f.addStaff("Anna")
        let yoga = try f.addOffering("Yoga", minutes: 60, capacity: 2, staff: [anna])
        let second = try f.world.makeShop(home: f.branchID)
        try sync(f.shop, to: second)
        try f.book(yoga, "2024-05-07", "10:00", guest: "A")
        try sync(f.shop, to: second)
        try f.book(yoga, "2024-05-07", "10:00", guest: "B")
        _ = try second.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: yoga)], start: f.at("2024-05-07", "10:00"), guest: Guest(name: "C")))
        #expect(try f.shop.conflicts().isEmpty)
        try syncAll([f.shop, second])
        let conflicts = try f.shop.conflicts()
        #expect(conflicts.count == 1 && conflicts[0].appointments.count == 3)
        #expect(try second.conflicts() == conflicts)
    }

    @Test("randomised partitions: concurrent bookings on every side, merged in random orders: every overlap flagged, identical conflict lists",
          arguments: [1, 2, 3, 20261122] as [UInt64])
    func randomisedPartitions(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let f = try ShopFixture()
        let staff = [try f.addStaff("Anna"), try f.addStaff("Bella")]
        let room = try f.addResource("Room", units: 1)
        let offerings = [try f.addOffering("Cut", minutes: 60, staff: staff),
                         try f.addOffering("Long colour", minutes: 105, after: 10, staff: staff),
                         try f.addOffering("Laser", minutes: 45, resources: [ResourceRequirement(resource: room)], staff: staff),
                         try f.addOffering("Group", minutes: 60, capacity: 2, staff: staff)]
        // Two boxes that both confirm for the branch, and two devices that only request.
        let shops = [f.shop, try f.world.makeShop(home: f.branchID), try f.world.makeShop(home: nil), try f.world.makeShop(home: nil)]
        try syncAll(shops)
        let days = ["2024-05-07", "2024-05-08"]
        for round in 0..<3 {
            // Partitioned: each replica books, moves and cancels on its own.
            for shop in shops {
                for _ in 0..<6 {
                    let start = f.at(days.randomElement(using: &random)!, grid("09:00", "16:00", step: 15).randomElement(using: &random)!)
                    let part = VisitPart(offeringID: offerings.randomElement(using: &random)!, staffID: Bool.random(using: &random) ? staff.randomElement(using: &random)! : nil)
                    _ = try? shop.book(BookingRequest(branchID: f.branchID, parts: [part], start: start, guest: Guest(name: "R\(round)")))
                }
                let mine = try days.flatMap { try shop.appointments(branch: f.branchID, date: date($0)) }.filter { !$0.status.isFinal }
                if let victim = mine.randomElement(using: &random) {
                    _ = try? shop.cancel(victim.id, by: .client, reason: "random", actor: "t")
                }
                if let moved = mine.randomElement(using: &random) {
                    _ = try? shop.reschedule(moved.id, to: f.at(days[1], grid("09:00", "15:00", step: 15).randomElement(using: &random)!), actor: "t")
                }
            }
            // Merge in a random order of pairwise syncs; each receiver's incremental conflicts equal a rebuild.
            for _ in 0..<8 {
                let a = shops.randomElement(using: &random)!, b = shops.randomElement(using: &random)!
                guard a !== b else { continue }
                try sync(a, to: b)
                let incremental = try b.conflicts()
                try b.rebuildDerivedState()
                #expect(try b.conflicts() == incremental)
            }
        }
        // Converge fully (home replicas' reviews write changesets of their own).
        for _ in 0..<6 {
            try syncAll(shops)
            if Set(shops.map { $0.store.versionVector }).count == 1 { break }
        }
        #expect(Set(shops.map { $0.store.versionVector }).count == 1)
        let reference = try shops[0].conflicts()
        print("randomised seed \(seed): \(reference.count) conflicts, \(try overlappingPairs(shops[0], branch: f.branchID, dates: days.map(date)).count) overlapping pairs")
        for shop in shops.dropFirst() { #expect(try shop.conflicts() == reference) }
        // Every overlap is flagged (the local path prevents all others).
        let pairs = try overlappingPairs(shops[0], branch: f.branchID, dates: days.map(date))
        for (a, b) in pairs {
            #expect(reference.contains { $0.subject == .staff && $0.appointments.contains(a) && $0.appointments.contains(b) }, "unflagged overlap \(a) \(b)")
        }
        // And every flagged staff conflict is a real overlap.
        for conflict in reference where conflict.subject == .staff {
            #expect(pairs.contains { conflict.appointments.contains($0.0) && conflict.appointments.contains($0.1) }
                    || conflict.appointments.count > conflict.capacity)
        }
    }
}
