import Foundation
@testable import OutboundHTTP
@testable import RelayUplink
import Replication
import Testing

/// The uplink's session logic without a network (`UplinkSession`): events in, actions out.
@Suite("Uplink session state machine")
struct UplinkSessionTests {
    typealias Action = UplinkSession.Action
    typealias Event = UplinkSession.Event

    static let site = SiteID(bytes: [UInt8](repeating: 7, count: 16))!

    /// Feeds `.done` until the machine asks for something other than a plain step; returns the actions.
    func steps(_ session: inout UplinkSession, from event: Event, until stop: (Action) -> Bool) -> [Action] {
        var actions: [Action] = []
        var event = event
        for _ in 0..<50 {
            let action = session.handle(event)
            actions.append(action)
            if stop(action) { return actions }
            event = .done
        }
        Issue.record("the machine never reached the expected action: \(actions)")
        return actions
    }

    func isPush(_ action: Action) -> Bool { action == .sealAndPush }
    func isPull(_ action: Action) -> Bool { if case .pull = action { true } else { false } }
    func pull(_ action: Action) throws -> UplinkSession.Pull {
        guard case .pull(let pull) = action else { throw UplinkError("expected a pull, got \(action)") }
        return pull
    }

    func backoff(_ action: Action) throws -> UplinkSession.Backoff {
        guard case .backOff(let backoff) = action else { throw UplinkError("expected a backoff, got \(action)") }
        return backoff
    }

    @Test("the owner's box registers, enrols, obtains and distributes keys, reports connected, then rounds of push and long-poll pull")
    func ownerSetUpAndRounds() throws {
        var session = UplinkSession(hasOwnerKey: true, waitSeconds: 25)
        let setUp = steps(&session, from: .started, until: isPush)
        #expect(setUp == [.register, .enrol, .forwardRevocations, .obtainKeys, .followRevocations, .distributeKeys, .reportConnected,
                          .bootstrap, .acknowledge, .answerJoinRequests,
                          .reportClock, .forwardRevocations, .followRevocations, .distributeKeys, .sealAndPush])
        // Nothing of its own to push: a long-poll that local changes abandon, from an empty floor.
        let first = try pull(session.handle(.pushed(ownPending: false)))
        #expect(first == UplinkSession.Pull(waitSeconds: 25, abandonOnLocalChanges: true, floor: VersionVector(), skipMissingGenerations: false,
                                            seen: UplinkSession.Seen()))
        // Envelopes arrived: acknowledge, after-pull work, the next round from what was delivered.
        let delivered = VersionVector([Self.site: 4])
        let seen = UplinkSession.Seen(membership: 2, joinRequests: 1)
        #expect(session.handle(.pulled(.init(count: 3, delivered: delivered, seen: seen))) == .acknowledge)
        let next = steps(&session, from: .done, until: isPush)
        #expect(next == [.afterPull, .reportClock, .forwardRevocations, .followRevocations, .distributeKeys, .sealAndPush])
        let second = try pull(session.handle(.pushed(ownPending: false)))
        #expect(second.floor == delivered && second.seen == seen && second.waitSeconds == 25)
        // An empty answer: no acknowledgement.
        #expect(session.handle(.pulled(.init(count: 0, delivered: delivered, seen: seen))) == .afterPull)
    }

    @Test("a box without the owner key starts at enrolment and answers no registration")
    func boxSetUp() throws {
        var session = UplinkSession(hasOwnerKey: false, waitSeconds: 25)
        let setUp = steps(&session, from: .started, until: isPush)
        #expect(setUp.first == .enrol)
        #expect(!setUp.contains(.register))
        // The owner key imported while the box runs: the next session registers first.
        _ = try backoff(session.handle(.failed(.init(.unreachable, "gone"))))
        session.hasOwnerKey = true
        #expect(session.handle(.timerFired) == .register)
    }

    @Test("this box's own changes: no long-poll when it has something to push; a long-poll they abandon starts the next round at once")
    func wakeUps() throws {
        var session = UplinkSession(hasOwnerKey: false, waitSeconds: 20)
        _ = steps(&session, from: .started, until: isPush)
        let busy = try pull(session.handle(.pushed(ownPending: true)))
        #expect(busy.waitSeconds == 0 && !busy.abandonOnLocalChanges)
        _ = steps(&session, from: .pulled(.init(count: 0, delivered: VersionVector())), until: isPush)
        let idle = try pull(session.handle(.pushed(ownPending: false)))
        #expect(idle.waitSeconds == 20 && idle.abandonOnLocalChanges)
        // Woken by a local write: no acknowledgement, no after-pull work; straight to the next round.
        #expect(steps(&session, from: .localChanges, until: isPush) == [.reportClock, .forwardRevocations, .followRevocations, .distributeKeys, .sealAndPush])
    }

    @Test("an envelope of a generation this box lacks: refetch the keys, pull at once; skip such envelopes only once a refetch brought nothing")
    func missingGeneration() throws {
        var session = UplinkSession(hasOwnerKey: false, waitSeconds: 25)
        _ = steps(&session, from: .started, until: isPush)
        _ = try pull(session.handle(.pushed(ownPending: false)))
        let delivered = VersionVector([Self.site: 2])
        _ = session.handle(.pulled(.init(count: 1, delivered: delivered, missingGeneration: true)))
        #expect(steps(&session, from: .done, until: { $0 == .refetchKeys }) == [.afterPull, .reportClock, .forwardRevocations, .followRevocations, .refetchKeys])
        #expect(session.handle(.keysRefetched(changed: true)) == .distributeKeys)
        _ = session.handle(.done)
        let found = try pull(session.handle(.pushed(ownPending: false)))
        #expect(found.waitSeconds == 0 && !found.skipMissingGenerations && found.floor == delivered)
        // Still missing, and this refetch brought nothing: skip them for the session.
        _ = session.handle(.pulled(.init(count: 0, delivered: delivered, missingGeneration: true)))
        _ = steps(&session, from: .done, until: { $0 == .refetchKeys })
        _ = session.handle(.keysRefetched(changed: false))
        _ = session.handle(.done)
        let skipping = try pull(session.handle(.pushed(ownPending: false)))
        #expect(skipping.skipMissingGenerations && skipping.waitSeconds == 0)
        // Found nothing missing any more: long-polls again, no refetch.
        _ = session.handle(.pulled(.init(count: 0, delivered: delivered)))
        #expect(!steps(&session, from: .done, until: isPush).contains(.refetchKeys))
    }

    @Test("failures back off 1 s doubling to 60 s, log once per reason, and start the session over; a session that connected resets the delay")
    func backoff() throws {
        var session = UplinkSession(hasOwnerKey: true, waitSeconds: 25)
        #expect(session.handle(.started) == .register)
        var pauses: [Double] = []
        var logs: [UplinkSession.Backoff.Log?] = []
        for _ in 0..<8 {
            let backoff = try backoff(session.handle(.failed(.init(.unreachable, "connection refused"))))
            #expect(backoff.state == "unreachable" && backoff.reason == "connection refused")
            pauses.append(backoff.seconds)
            logs.append(backoff.log)
            #expect(session.handle(.timerFired) == .register)
        }
        #expect(pauses == [1, 2, 4, 8, 16, 32, 60, 60])
        #expect(logs == [.unavailable, nil, nil, nil, nil, nil, nil, nil])
        // Reached the relay, then lost it: the delay starts over.
        _ = steps(&session, from: .done, until: isPush)
        let after = try backoff(session.handle(.failed(.init(.unreachable, "reset by peer"))))
        #expect(after.seconds == 1 && after.log == .unavailable)
        // The failure during set-up (before connected) keeps doubling.
        #expect(session.handle(.timerFired) == .register)
        #expect(try backoff(session.handle(.failed(.init(.unreachable, "reset by peer")))).seconds == 2)
    }

    @Test("waiting for the key or the registration asks again within 5 s; a refusal waits at least 30 s and is logged as one")
    func backoffKinds() throws {
        var session = UplinkSession(hasOwnerKey: false, waitSeconds: 25)
        _ = session.handle(.started)
        var waiting: [Double] = []
        for _ in 0..<5 {
            let backoff = try backoff(session.handle(.failed(.init(.waitingForKey, "no data key"))))
            #expect(backoff.state == "waiting_for_key")
            waiting.append(backoff.seconds)
            _ = session.handle(.timerFired)
        }
        #expect(waiting == [1, 2, 4, 5, 5])
        let unregistered = try backoff(session.handle(.failed(.init(.notRegistered, "unknown_principal"))))
        #expect(unregistered.state == "not_registered" && unregistered.seconds == 5 && unregistered.log == .unavailable)
        _ = session.handle(.timerFired)
        let refused = try backoff(session.handle(.failed(.init(.refused, "revoked"))))
        #expect(refused.state == "refused" && refused.seconds == 60 && refused.log == .refused)

        var fresh = UplinkSession(hasOwnerKey: false, waitSeconds: 25)
        _ = fresh.handle(.started)
        #expect(try backoff(fresh.handle(.failed(.init(.refused, "revoked")))).seconds == 30)
    }

    @Test("errors are classified as the status reports them: unknown_principal, no key, a client error, the relay's trouble or no answer")
    func classification() {
        func problem(_ status: Int, _ kind: String) -> RelayClient.Problem { RelayClient.Problem(status: status, kind: kind, detail: "d") }
        #expect(UplinkSession.Failure(problem(401, "unknown_principal")).kind == .notRegistered)
        #expect(UplinkSession.Failure(UplinkService.WaitingForKey()).kind == .waitingForKey)
        #expect(UplinkSession.Failure(problem(403, "revoked")).kind == .refused)
        #expect(UplinkSession.Failure(problem(401, "stale_request")).kind == .refused)
        #expect(UplinkSession.Failure(problem(503, "storage_unavailable")).kind == .unreachable)
        #expect(UplinkSession.Failure(problem(429, "rate_limited")).kind == .unreachable)
        #expect(UplinkSession.Failure(PeerHTTP.Failure(description: "connection refused")).kind == .unreachable)
        #expect(UplinkSession.Failure(problem(403, "revoked")).reason == "the relay answered 403 revoked: d")
    }
}
