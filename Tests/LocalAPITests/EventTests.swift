import Domain
import Foundation
@testable import LocalAPI
import Testing

@Suite("Event stream")
struct EventTests {
    @Test("every committed change is logged once, in order, local writes and merges alike; kiosks see availability without personal data")
    func changeLogAndRendering() async throws {
        let fixture = try APIFixture()
        let before = try fixture.shop.latestEventSequence()
        let booking = try fixture.shop.book(BookingRequest(branchID: fixture.branch, parts: [VisitPart(offeringID: fixture.haircut)],
                                                           start: Instant(iso8601: "2026-03-03T11:00:00+05:00")!, guest: Guest(name: "Жанна", phone: "+77015550000")))
        let events = try fixture.shop.events(after: before)
        #expect(events.map(\.table).contains("appointments"))
        #expect(!events.map(\.table).contains("appointment_events"))
        #expect(events.map(\.sequence) == events.map(\.sequence).sorted())
        let event = try #require(events.first { $0.table == "appointments" })
        #expect(event.key == booking.appointment.id.rawValue)
        #expect(event.at == fixture.clock.now)   // the replica's clock, which pruning compares with

        let full = try await EventStream.render(event, kind: "appointment", role: .frontDesk, api: fixture.api)
        #expect(full.hasPrefix("id: \(event.sequence)\nevent: appointment\ndata: "))
        #expect(full.contains("Жанна"))
        let kiosk = try await EventStream.render(event, kind: "appointment", role: .kiosk, api: fixture.api)
        #expect(kiosk.contains("event: availability"))
        #expect(!kiosk.contains("Жанна") && !kiosk.contains("+77015550000"))

        // A rolled-back write logs nothing.
        let after = try fixture.shop.latestEventSequence()
        #expect(throws: DomainError.self) {
            try fixture.shop.book(BookingRequest(branchID: fixture.branch, parts: [VisitPart(offeringID: fixture.haircut, staffID: booking.appointment.staff[0])],
                                                 start: Instant(iso8601: "2026-03-03T11:00:00+05:00")!, guest: Guest(name: "Second")))
        }
        #expect(try fixture.shop.latestEventSequence() == after)

        // A reader is woken by a commit.
        let wakeUps = fixture.shop.changeFeed.changes()
        var iterator = wakeUps.makeAsyncIterator()
        _ = try fixture.shop.createClient(ClientDraft(name: "Марат"), branch: fixture.branch)
        #expect(await iterator.next() != nil)
        #expect(try fixture.shop.events(after: after).map(\.table) == ["clients"])
    
    }

    @Test("changes merged from another replica reach the event log and wake readers, like local writes")
    func mergedChanges() async throws {
        let fixture = try APIFixture()
        let peer = try fixture.makePeer()
        try peer.apply(try fixture.shop.store.changesets(missingFrom: peer.store.versionVector, limit: .max).map(\.bytes))
        let client = try peer.createClient(ClientDraft(name: "Гульнара Ахметова", phone: "+77027770000"), branch: fixture.branch)
        let before = try fixture.shop.latestEventSequence()
        let wakeUps = fixture.shop.changeFeed.changes()
        var iterator = wakeUps.makeAsyncIterator()
        try fixture.shop.apply(try peer.store.changesets(missingFrom: fixture.shop.store.versionVector, limit: .max).map(\.bytes))
        #expect(await iterator.next() != nil)
        let events = try fixture.shop.events(after: before)
        #expect(events.contains { $0.table == "clients" && $0.key == client.id.rawValue })
        let rendered = try await EventStream.render(try #require(events.first { $0.table == "clients" }), kind: "client", role: .frontDesk, api: fixture.api)
        #expect(rendered.contains(client.id.rawValue))
    }
}
