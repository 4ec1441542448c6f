import Foundation
import Testing
@testable import Domain

/// The legal transitions, written out (not derived from the code's table).
let legalTransitions: Set<String> = [
    "held→requested", "held→confirmed", "held→cancelled",
    "requested→confirmed", "requested→rejected", "requested→cancelled",
    "confirmed→checked_in", "confirmed→cancelled", "confirmed→no_show",
    "checked_in→completed", "checked_in→cancelled",
]

let statusPairs: [(AppointmentStatus, AppointmentStatus)] = AppointmentStatus.allCases.flatMap { from in AppointmentStatus.allCases.map { (from, $0) } }

@Suite("Appointment lifecycle")
struct LifecycleTests {
    /// A fixture with one stylist and a 60-minute cut; an appointment brought into `status`.
    static func appointment(in status: AppointmentStatus, _ f: ShopFixture, cut: OfferingID) throws -> AppointmentID {
        let hold = status == .held || status == .requested || status == .rejected
        let id = try f.book(cut, "2024-05-07", "10:00", hold: hold).id
        switch status {
        case .held, .confirmed: break
        case .requested: try f.shop.transition(id, to: .requested, actor: "t")
        case .rejected:
            try f.shop.transition(id, to: .requested, actor: "t")
            try f.shop.reject(id, reason: "no", actor: "t")
        case .checkedIn: try f.shop.checkIn(id, actor: "t")
        case .completed:
            try f.shop.checkIn(id, actor: "t")
            try f.shop.complete(id, actor: "t")
        case .cancelled: try f.shop.cancel(id, by: .shop, reason: "", actor: "t")
        case .noShow: try f.shop.markNoShow(id, actor: "t")
        }
        #expect(try f.shop.appointment(id).status == status)
        return id
    }

    @Test("every status pair: legal transitions succeed and are recorded, illegal ones are refused and change nothing", arguments: statusPairs)
    func transitions(from: AppointmentStatus, to: AppointmentStatus) throws {
        let f = try ShopFixture()
        let cut = try f.addOffering("Cut", minutes: 60, staff: [try f.addStaff("Anna")])
        let id = try Self.appointment(in: from, f, cut: cut)
        let before = try f.shop.history(of: id).count
        let legal = legalTransitions.contains("\(from.rawValue)→\(to.rawValue)")
        if legal {
            try f.shop.transition(id, to: to, actor: "desk-1", reason: "test", cancelledBy: to == .cancelled ? .client : nil)
            #expect(try f.shop.appointment(id).status == to)
            let last = try #require(try f.shop.history(of: id).last)
            #expect(last.fromStatus == from && last.toStatus == to && last.actor == "desk-1")
        } else {
            #expect { try f.shop.transition(id, to: to, actor: "desk-1") } throws: { ($0 as? DomainError)?.code == .illegalTransition }
            #expect(try f.shop.appointment(id).status == from)
            #expect(try f.shop.history(of: id).count == before)
        }
    }

    @Test("a cancellation inside the cut-off is late; outside it is not")
    func lateCancellation() throws {
        let f = try ShopFixture() // cut-off 24 h; now 2024-05-06 05:00 local
        let cut = try f.addOffering("Cut", minutes: 60, staff: [try f.addStaff("Anna")])
        let early = try f.book(cut, "2024-05-07", "10:00")
        let late = try f.book(cut, "2024-05-07", "12:00")
        f.clock.set(f.at("2024-05-06", "10:00")) // exactly 24 h before `early`: inside the cut-off
        try f.shop.cancel(early.id, by: .client, reason: "ill", actor: "phone")
        f.clock.set(f.at("2024-05-06", "11:59"))
        try f.shop.cancel(late.id, by: .shop, reason: "", actor: "desk")
        #expect(try f.shop.appointment(early.id).isLateCancellation)
        #expect(try f.shop.appointment(early.id).cancelledBy == .client)
        #expect(try f.shop.appointment(late.id).isLateCancellation == false)
        #expect(try f.shop.appointment(late.id).cancelledBy == .shop)
    }

    @Test("a guest's tracking token shows, moves and cancels the booking within policy, and links it to an account")
    func guestToken() throws {
        let f = try ShopFixture()
        let cut = try f.addOffering("Cut", minutes: 60, staff: [try f.addStaff("Anna")])
        let booking = try f.shop.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-08", "10:00"),
                                                     guest: Guest(name: "Aigerim", phone: "8 701 123 45 67"), source: .online))
        let token = try #require(booking.trackingToken)
        #expect(token.count == 26) // 128 bits in base 32
        #expect(booking.appointment.guest?.phone == "+77011234567")
        #expect(booking.appointment.orderNumber.hasPrefix(f.shop.orderPrefix + "-"))
        #expect(try f.shop.guestBooking(token: token).id == booking.appointment.id)
        // Wrong or malformed tokens name nothing.
        var wrong = Array(token)
        wrong[0] = wrong[0] == "a" ? "b" : "a"
        for bad in [String(wrong), "", "x", token.uppercased(), token + "a"] {
            #expect { try f.shop.guestBooking(token: bad) } throws: { ($0 as? DomainError)?.code == .invalidToken }
        }
        let moved = try f.shop.rescheduleGuestBooking(token: token, to: f.at("2024-05-09", "11:00"))
        #expect(moved.id == booking.appointment.id && f.local(moved.start) == "11:00")
        // Inside the 24 h cut-off the guest must call.
        f.clock.set(f.at("2024-05-08", "12:00"))
        #expect { try f.shop.cancelGuestBooking(token: token) } throws: { ($0 as? DomainError)?.code == .insideCancellationCutoff }
        #expect { try f.shop.rescheduleGuestBooking(token: token, to: f.at("2024-05-10", "11:00")) } throws: { ($0 as? DomainError)?.code == .insideCancellationCutoff }
        #expect(try f.shop.appointment(booking.appointment.id).status == .confirmed)
        let client = try f.shop.createClient(ClientDraft(name: "Aigerim"), branch: f.branchID)
        try f.shop.linkGuestBooking(token: token, to: client.id)
        #expect(try f.shop.appointment(booking.appointment.id).clientID == client.id)
        f.clock.set(f.at("2024-05-06", "12:00"))
        try f.shop.cancelGuestBooking(token: token, reason: "changed plans")
        let cancelled = try f.shop.appointment(booking.appointment.id)
        #expect(cancelled.status == .cancelled && cancelled.cancelledBy == .client && !cancelled.isLateCancellation)
    }

    @Test("rescheduling keeps the appointment's id and history and frees the old time")
    func reschedule() throws {
        let f = try ShopFixture()
        let anna = try f.addStaff("Anna")
        let cut = try f.addOffering("Cut", minutes: 60, staff: [anna])
        let original = try f.book(cut, "2024-05-07", "10:00")
        let moved = try f.shop.reschedule(original.id, to: f.at("2024-05-07", "14:00"), actor: "desk")
        #expect(moved.id == original.id && moved.orderNumber == original.orderNumber && moved.status == .confirmed)
        #expect(try f.shop.history(of: original.id).map(\.action) == ["created", "rescheduled"])
        #expect(try f.starts(cut, on: "2024-05-07").contains("10:00"))
        #expect(try f.starts(cut, on: "2024-05-07").contains("14:00") == false)
        // Moving onto a taken time is refused and changes nothing.
        let other = try f.book(cut, "2024-05-07", "16:00")
        #expect { try f.shop.reschedule(other.id, to: f.at("2024-05-07", "14:30"), actor: "desk") } throws: { ($0 as? DomainError)?.code == .slotTaken }
        #expect(try f.shop.appointment(other.id).start == f.at("2024-05-07", "16:00"))
    }

    @Test("booking refuses bad input with a specific error and writes nothing")
    func badBookings() throws {
        let f = try ShopFixture()
        let anna = try f.addStaff("Anna")
        let cut = try f.addOffering("Cut", minutes: 60, staff: [anna])
        let bella = try f.addStaff("Bella")
        let before = try f.shop.store.statistics().ownChangesets
        func code(_ request: BookingRequest) -> DomainError.Code? {
            do { _ = try f.shop.book(request); return nil } catch let error as DomainError { return error.code } catch { return nil }
        }
        let start = f.at("2024-05-07", "10:00")
        #expect(code(BookingRequest(branchID: f.branchID, parts: [], start: start, guest: Guest(name: "A"))) == .invalidArgument)
        #expect(code(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: start)) == .invalidArgument)
        #expect(code(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: start, guest: Guest(name: "  "))) == .invalidArgument)
        #expect(code(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: start, guest: Guest(name: "A", phone: "12"))) == .invalidPhone)
        #expect(code(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut, staffID: bella)], start: start, guest: Guest(name: "A"))) == .invalidArgument)
        #expect(code(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: .generate(at: start))], start: start, guest: Guest(name: "A"))) == .notFound)
        #expect(code(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-07", "10:07"), guest: Guest(name: "A"))) == .notAvailable)
        #expect(code(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-07", "20:00"), guest: Guest(name: "A"))) == .notAvailable)
        #expect(code(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-05", "10:00"), guest: Guest(name: "A"))) == .notAvailable)
        #expect(code(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: start, clientID: .generate(at: start))) == .notFound)
        #expect(try f.shop.store.statistics().ownChangesets == before)
        #expect(try f.shop.appointments(branch: f.branchID, date: date("2024-05-07")).isEmpty)
    }

    @Test("a free start off the grid left by a neighbouring booking is not_available and names the nearest offered starts")
    func offGrid() throws {
        let f = try ShopFixture()
        let anna = try f.addStaff("Anna")
        let odd = try f.addOffering("Consultation", minutes: 37, staff: [anna])
        let cut = try f.addOffering("Cut", minutes: 30, staff: [anna])
        try f.book(odd, "2024-05-07", "09:00") // the grid now restarts at 09:37
        #expect { try f.book(cut, "2024-05-07", "10:00") } throws: { error in
            guard let error = error as? DomainError else { return false }
            return error.code == .notAvailable && error.message.contains("09:52:00+05:00, 2024-05-07T10:07:00+05:00")
        }
        #expect { try f.book(cut, "2024-05-07", "09:15") } throws: { ($0 as? DomainError)?.code == .slotTaken }
    }

    @Test("two concurrent requests for the last free slot: one succeeds, the other gets slot_taken")
    func lastSlotRace() async throws {
        let f = try ShopFixture(hours: .every(Weekday.allCases, [WallInterval("10:00", "11:00")!]))
        let cut = try f.addOffering("Cut", minutes: 60, staff: [try f.addStaff("Anna")])
        let shop = f.shop, branch = f.branchID, start = f.at("2024-05-07", "10:00")
        let results = await withTaskGroup(of: DomainError.Code?.self) { group in
            for name in ["A", "B", "C", "D"] {
                group.addTask {
                    do {
                        _ = try shop.book(BookingRequest(branchID: branch, parts: [VisitPart(offeringID: cut)], start: start, guest: Guest(name: name)))
                        return nil
                    } catch let error as DomainError { return error.code } catch { return .storage }
                }
            }
            var all: [DomainError.Code?] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.filter { $0 == nil }.count == 1)
        #expect(results.filter { $0 == .slotTaken }.count == 3)
        #expect(try f.shop.appointments(branch: branch, date: date("2024-05-07")).count == 1)
    }

    @Test("a recurring series books what it can and reports the occurrences it could not")
    func series() throws {
        let f = try ShopFixture(policy: BookingPolicy(minimumNoticeMinutes: 0, horizonDays: 120))
        let anna = try f.addStaff("Anna")
        let cut = try f.addOffering("Cut", minutes: 60, staff: [anna])
        try f.book(cut, "2024-05-21", "10:00", guest: "Blocker")                         // 3rd week taken
        try f.shop.setOverride(DateOverride(date: date("2024-06-04"), intervals: []), branch: f.branchID) // 5th week closed
        let request = BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut, staffID: anna)], start: f.at("2024-05-07", "10:00"),
                                     guest: Guest(name: "Regular"))
        let report = try f.shop.bookSeries(request, frequency: .weekly, count: 6)
        #expect(report.booked.map { f.zone.localDate(of: $0.start).description } == ["2024-05-07", "2024-05-14", "2024-05-28", "2024-06-11"])
        #expect(report.failed.map(\.date.description) == ["2024-05-21", "2024-06-04"])
        #expect(report.failed.map(\.reason.code) == [.slotTaken, .notAvailable])
        #expect(report.booked.allSatisfy { $0.seriesID == report.seriesID })
        #expect(try report.booked.allSatisfy { try f.shop.guestBooking(token: try #require(report.trackingTokens[$0.id])).id == $0.id })
        // Move from 2024-05-28 on to 15:00; cancel from 2024-06-11 on.
        let moved = try f.shop.moveSeries(report.seriesID, from: date("2024-05-28"), to: WallTime("15:00")!, actor: "desk")
        #expect(moved.booked.map { f.local($0.start) } == ["15:00", "15:00"] && moved.failed.isEmpty)
        let cancelled = try f.shop.cancelSeries(report.seriesID, from: date("2024-06-11"), by: .client, reason: "moving away", actor: "desk")
        #expect(cancelled.count == 1)
        #expect(try f.shop.occurrences(of: report.seriesID).map(\.status) == [.confirmed, .confirmed, .confirmed, .cancelled])
        // Monthly on the 31st skips months without one.
        let monthly = try f.shop.bookSeries(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-31", "12:00"),
                                                           guest: Guest(name: "Monthly")), frequency: .monthly, until: date("2024-07-31"))
        #expect(monthly.booked.map { f.zone.localDate(of: $0.start).description } == ["2024-05-31", "2024-07-31"])
        #expect(monthly.failed.map(\.date.description) == ["2024-06-01"])
    }

    @Test("a freed slot is offered to waitlist entries in order; declining passes it on; accepting books it")
    func waitlist() throws {
        let f = try ShopFixture()
        let anna = try f.addStaff("Anna"), bella = try f.addStaff("Bella")
        let cut = try f.addOffering("Cut", minutes: 60, staff: [anna, bella])
        let booked = try f.book(cut, staff: anna, "2024-05-07", "10:00")
        let first = try f.shop.createClient(ClientDraft(name: "First"), branch: f.branchID)
        let wrongStaff = try f.shop.createClient(ClientDraft(name: "Wants Bella"), branch: f.branchID)
        let second = try f.shop.createClient(ClientDraft(name: "Second"), branch: f.branchID)
        let e1 = try f.shop.joinWaitlist(client: first.id, branch: f.branchID, offering: cut, staff: anna, from: date("2024-05-07"), to: date("2024-05-07"))
        f.clock.advance(minutes: 1)
        let eBella = try f.shop.joinWaitlist(client: wrongStaff.id, branch: f.branchID, offering: cut, staff: bella, from: date("2024-05-01"), to: date("2024-05-31"))
        f.clock.advance(minutes: 1)
        let e2 = try f.shop.joinWaitlist(client: second.id, branch: f.branchID, offering: cut, from: date("2024-05-06"), to: date("2024-05-08"))
        try f.shop.cancel(booked.id, by: .client, reason: "", actor: "phone")
        #expect(try f.shop.waitlistEntry(e1.id).status == .offered)
        #expect(try f.shop.waitlistEntry(e1.id).offeredStart == f.at("2024-05-07", "10:00"))
        #expect(try f.shop.waitlistEntry(eBella.id).status == .waiting)
        #expect(try f.shop.waitlistEntry(e2.id).status == .waiting)
        try f.shop.declineWaitlistOffer(e1.id)
        #expect(try f.shop.waitlistEntry(e1.id).status == .waiting)
        #expect(try f.shop.waitlistEntry(eBella.id).status == .waiting)
        #expect(try f.shop.waitlistEntry(e2.id).status == .offered)
        let booking = try f.shop.acceptWaitlistOffer(e2.id, actor: "desk")
        #expect(booking.appointment.clientID == second.id && booking.appointment.staff == [anna])
        #expect(try f.shop.waitlistEntry(e2.id).status == .booked)
        #expect { try f.shop.acceptWaitlistOffer(e2.id, actor: "desk") } throws: { ($0 as? DomainError)?.code == .illegalTransition }
    }

    @Test("a hold becomes a booking before it expires; expired holds are tidied up")
    func holds() throws {
        let f = try ShopFixture()
        let cut = try f.addOffering("Cut", minutes: 60, staff: [try f.addStaff("Anna")])
        let held = try f.book(cut, "2024-05-07", "10:00", hold: true)
        #expect(held.status == .held && held.holdExpiresAt == f.clock.now.adding(minutes: 10))
        try f.shop.completeHold(held.id, actor: "web")
        #expect(try f.shop.appointment(held.id).status == .confirmed)
        let other = try f.book(cut, "2024-05-07", "12:00", hold: true)
        f.clock.advance(minutes: 11)
        #expect(try f.shop.expireHolds() == 1)
        let expired = try f.shop.appointment(other.id)
        #expect(expired.status == .cancelled && expired.statusReason == "hold expired")
    }
}
