import Domain
import Foundation
@testable import LocalAPI
import Replication
import Synchronization
import Testing

/// The reply to an idempotent request is stored in the transaction that makes its change
/// (issue 14 item 4). The crash test with real processes is `IdempotencyCrashTests` (EdgeNodeTests).
@Suite("Idempotency across a crash")
struct IdempotencyTests {
    struct InjectedCrash: Error {}

    /// Throws once, the first time it runs.
    final class OneCrash: Sendable {
        let fired = Mutex(false)
        func fire() throws {
            if fired.withLock({ fired in defer { fired = true }; return !fired }) { throw InjectedCrash() }
        }
    }

    @Test("a failure between a booking and the storing of its reply leaves neither; the retry books once and gets 201")
    func failureBetweenWriteAndReply() async throws {
        let fixture = try APIFixture()
        let crash = OneCrash()
        fixture.api.beforeStoringReply.withLock { $0 = { try crash.fire() } }
        let request = body(["services": [["service": fixture.haircut.rawValue, "staff": fixture.aigerim.rawValue]],
                            "start": "2026-03-05T11:00:00+05:00", "client": fixture.client.rawValue])
        try await fixture.test { client in
            let first = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: request, headers: ["Idempotency-Key": "tablet-1-0042"])
            #expect(first.status == 500)
            // Nothing of the failed attempt is left: no appointment, no stored reply.
            #expect(try fixture.bookedOnMarch5().isEmpty)
            #expect(try await IdempotencyStore(shop: fixture.shop).reply(key: "\(fixture.devices[.frontDesk]!.id.rawValue):tablet-1-0042") == nil)
            let retry = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: request, headers: ["Idempotency-Key": "tablet-1-0042"])
            #expect(retry.status == 201, "the retry was told: \(retry.text)")
            #expect(retry.header("Idempotent-Replayed") == nil)
            let again = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: request, headers: ["Idempotency-Key": "tablet-1-0042"])
            #expect(again.status == 201 && again.text == retry.text && again.header("Idempotent-Replayed") == "true")
        }
        let booked = try fixture.bookedOnMarch5()
        #expect(booked.count == 1)
    }

    @Test("every write of one idempotent request commits with its reply: a cancel that fails after its write changed nothing")
    func actionRollsBackWithItsReply() async throws {
        let fixture = try APIFixture()
        let appointment = try fixture.shop.book(BookingRequest(branchID: fixture.branch, parts: [VisitPart(offeringID: fixture.haircut)],
                                                               start: Instant(iso8601: "2026-03-05T11:00:00+05:00")!, clientID: fixture.client)).appointment
        let crash = OneCrash()
        fixture.api.beforeStoringReply.withLock { $0 = { try crash.fire() } }
        try await fixture.test { client in
            let path = "/v1/appointments/\(appointment.id)/cancel"
            let first = try await client.send(.post, path, as: .frontDesk, json: body(["by": "shop"]), headers: ["Idempotency-Key": "cancel-1"])
            #expect(first.status == 500)
            #expect(try fixture.shop.appointment(appointment.id).status == .confirmed)
            let retry = try await client.send(.post, path, as: .frontDesk, json: body(["by": "shop"]), headers: ["Idempotency-Key": "cancel-1"])
            #expect(retry.status == 200, "the retry was told: \(retry.text)")
            #expect(retry["status"] as? String == "cancelled")
        }
    }

    @Test("a 4xx reply is stored with the request; concurrent idempotent bookings each store their own reply")
    func concurrentRequests() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let statuses = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for index in 0..<12 {
                    group.addTask {
                        // Six starts, two requests each: one of each pair gets 201, the other 409 (Aigerim is named).
                        let start = Instant(iso8601: "2026-03-05T10:00:00+05:00")!.adding(minutes: 60 * (index % 6))
                        let response = try await client.send(.post, "/v1/appointments", as: .frontDesk, json: body([
                            "services": [["service": fixture.haircut.rawValue, "staff": fixture.aigerim.rawValue]],
                            "start": fixture.zoned(start), "client": fixture.client.rawValue]), headers: ["Idempotency-Key": "k-\(index)"])
                        return (index, response.status)
                    }
                }
                return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
            }
            #expect(statuses.values.filter { $0 == 201 }.count == 6)
            #expect(statuses.values.filter { $0 == 409 }.count == 6)
            let store = IdempotencyStore(shop: fixture.shop)
            let device = fixture.devices[.frontDesk]!.id.rawValue
            for (index, status) in statuses {
                #expect(try await store.reply(key: "\(device):k-\(index)")?.status == status)
            }
        }
        #expect(try fixture.bookedOnMarch5().count == 6)
    }
}

extension APIFixture {
    func bookedOnMarch5() throws -> [Appointment] {
        try shop.appointments(matching: .init(from: Instant(iso8601: "2026-03-05T00:00:00+05:00")!, to: Instant(iso8601: "2026-03-06T00:00:00+05:00")!))
            .filter { $0.status != .cancelled }
    }

    /// RFC 3339 in Almaty's offset (+05:00, no DST).
    func zoned(_ instant: Instant) -> String { instant.iso8601(offsetSeconds: 5 * 3600) }
}
