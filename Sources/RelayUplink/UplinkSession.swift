import Foundation
import Replication

/// The uplink's session logic without I/O (docs/relay-protocol.md §11): events in, actions out.
///
/// `UplinkService` is the driver: it performs each action (a request to the relay, sealing or
/// opening keys, applying changesets, updating the status, sleeping) and hands the outcome back
/// as the next event. Every action is answered by exactly one event: `.done` unless the action
/// says otherwise, `.failed` when it threw. The machine decides what comes next: the set-up
/// (register → enrol → revocations → keys → connected → bootstrap → acknowledge → join
/// requests), the rounds (revocations → keys → seal and push → long-poll pull → acknowledge →
/// after-pull work), and the backoff after a failure, which starts the session over.
package struct UplinkSession: Sendable {
    /// What the driver does next.
    package enum Action: Sendable, Equatable {
        /// Registers the business (§5.1); only on the box that holds the owner key.
        case register
        /// Enrols this box's certificate (§5.2).
        case enrol
        /// Posts the revocations the relay has not been given in this session (§5.3).
        case forwardRevocations
        /// Loads the keyring and opens the keys sealed to this box (the owner's box creates the
        /// first generation); throws `WaitingForKey` when there is none anywhere.
        case obtainKeys
        /// Rotates (owner's box) or refetches the data key after a box was revoked.
        case followRevocations
        /// Asks the relay again for keys sealed to this box, because an envelope named a generation
        /// this box lacks; answered by `.keysRefetched`.
        case refetchKeys
        /// Seals the keys this box holds to every box it knows (§5.7).
        case distributeKeys
        /// The session reached the relay: status `connected`, the backoff starts over.
        case reportConnected
        /// A new replica fetches the business from the relay's snapshot (§13.3).
        case bootstrap
        /// Tells the relay what this box holds (§5.6).
        case acknowledge
        /// The owner's box answers waiting join requests (§12.4).
        case answerJoinRequests
        /// Logs (once per episode) whether the relay refuses this box's clock (RelayTime).
        case reportClock
        /// Seals this box's new changesets into the outbox and pushes it (§5.4); answered by
        /// `.pushed` with whether this box still has changesets of its own to send.
        case sealAndPush
        /// One pull (§5.5); answered by `.pulled`, or `.localChanges` when the long-poll was
        /// abandoned because this box has something of its own to push.
        case pull(Pull)
        /// Snapshot, compaction and join-request work after a pull (Bootstrap.swift).
        case afterPull
        /// The session failed: report `state` and `reason`, log when `log` says so, sleep about
        /// `seconds` (the driver adds ±50 % jitter), then answer `.timerFired`.
        case backOff(Backoff)
    }

    /// A pull's parameters.
    package struct Pull: Sendable, Equatable {
        /// Long-poll seconds (0: answer at once).
        package var waitSeconds: Int
        /// Abandon the long-poll as soon as this box has changesets of its own to push.
        package var abandonOnLocalChanges: Bool
        /// Per author, what this session already received (or skipped): not asked for again.
        package var floor: VersionVector
        /// Skip envelopes of a data-key generation this box lacks instead of leaving them.
        package var skipMissingGenerations: Bool
        /// The membership and join-request counts of the last answer (a change ends the long-poll).
        package var seen: Seen
    }

    /// The business's membership and waiting join requests as the last pull's answer gave them.
    package struct Seen: Sendable, Equatable {
        package var membership: Int?
        package var joinRequests: Int?
        package init(membership: Int? = nil, joinRequests: Int? = nil) {
            self.membership = membership
            self.joinRequests = joinRequests
        }
    }

    /// What a pull brought.
    package struct Pulled: Sendable, Equatable {
        /// How many envelopes arrived.
        package var count: Int
        /// The newest envelope seen per author (those that could not be opened included).
        package var delivered: VersionVector
        /// An envelope named a data-key generation this box does not hold.
        package var missingGeneration = false
        /// The relay's counts in this answer, for the next pull.
        package var seen = Seen()
        package init(count: Int, delivered: VersionVector, missingGeneration: Bool = false, seen: Seen = Seen()) {
            self.count = count
            self.delivered = delivered
            self.missingGeneration = missingGeneration
            self.seen = seen
        }
    }

    package enum Event: Sendable, Equatable {
        /// The service started (or the driver starts the first session).
        case started
        /// The last action finished.
        case done
        /// `.refetchKeys` finished; `changed` when it brought a generation this box lacked.
        case keysRefetched(changed: Bool)
        /// `.sealAndPush` finished; `ownPending` when this box has changesets not yet sealed.
        case pushed(ownPending: Bool)
        /// `.pull` finished.
        case pulled(Pulled)
        /// `.pull` was abandoned: this box has changesets of its own to push.
        case localChanges
        /// The last action threw.
        case failed(Failure)
        /// The backoff's sleep ended.
        case timerFired
    }

    /// Why a session ended, as the status reports it.
    package struct Failure: Sendable, Equatable {
        package enum Kind: String, Sendable, Equatable {
            /// The business is not registered (or this box not enrolled) yet: ask again soon.
            case notRegistered = "not_registered"
            /// No data key has been sealed to this box yet: ask again soon.
            case waitingForKey = "waiting_for_key"
            /// The relay answered with a client error (revoked, not valid…): ask again later.
            case refused
            /// The relay could not be reached or had trouble of its own.
            case unreachable
        }
        package var kind: Kind
        package var reason: String
        package init(_ kind: Kind, _ reason: String) {
            self.kind = kind
            self.reason = reason
        }
    }

    /// A backoff after a failure.
    package struct Backoff: Sendable, Equatable {
        package enum Log: Sendable, Equatable { case refused, unavailable }
        /// The status state (`Failure.Kind`'s raw value) and last error.
        package var state: String
        package var reason: String
        /// Log the failure (it differs from the last one logged), as a refusal or as unavailability.
        package var log: Log?
        /// The pause before jitter.
        package var seconds: Double
    }

    private enum Step: Sendable, Equatable {
        case idle
        case setUp(Action)
        case round(Action)
        case backingOff
    }

    /// Whether this box holds the owner key (it registers the business at the start of each
    /// session); the driver keeps it current (the key may be imported while the box runs).
    package var hasOwnerKey: Bool
    /// The long-poll's seconds when this box has nothing of its own to push.
    package let waitSeconds: Int

    private var step = Step.idle
    /// Per session: what was received (or skipped), the relay's counts, the missing-key state.
    private var floor = VersionVector()
    private var seen = Seen()
    private var missingGeneration = false
    private var refetchFound = true
    private var ownPending = false
    /// Across sessions: the next backoff's base, whether this session reached the relay, and the
    /// failure last logged.
    private var delay = 1.0
    private var connected = false
    private var reportedFailure: String?

    package init(hasOwnerKey: Bool, waitSeconds: Int) {
        self.hasOwnerKey = hasOwnerKey
        self.waitSeconds = waitSeconds
    }

    /// The action that follows `event`.
    package mutating func handle(_ event: Event) -> Action {
        if case .failed(let failure) = event { return backOff(failure) }
        switch (step, event) {
        case (.idle, _), (.backingOff, _):
            return startSession()
        case (.setUp(let action), _):
            return setUp(after: action)
        case (.round(let action), _):
            return round(after: action, event)
        }
    }

    // MARK: Set-up

    private mutating func startSession() -> Action {
        floor = VersionVector()
        seen = Seen()
        missingGeneration = false
        refetchFound = true
        connected = false
        return setUpStep(hasOwnerKey ? .register : .enrol)
    }

    private static let setUpOrder: [Action] = [
        .register, .enrol, .forwardRevocations, .obtainKeys, .followRevocations, .distributeKeys, .reportConnected,
        .bootstrap, .acknowledge, .answerJoinRequests,
    ]

    private mutating func setUp(after action: Action) -> Action {
        if action == .reportConnected { connected = true }
        guard let index = Self.setUpOrder.firstIndex(of: action), index + 1 < Self.setUpOrder.count else {
            return roundStep(.reportClock)
        }
        return setUpStep(Self.setUpOrder[index + 1])
    }

    private mutating func setUpStep(_ action: Action) -> Action {
        step = .setUp(action)
        return action
    }

    // MARK: Rounds

    private mutating func round(after action: Action, _ event: Event) -> Action {
        switch action {
        case .reportClock:
            // The relay hears of a revocation before any key rotated for it is sealed to anyone.
            return roundStep(.forwardRevocations)
        case .forwardRevocations:
            return roundStep(.followRevocations)
        case .followRevocations:
            // An envelope named a generation this box lacks: the relay may hold it sealed to us.
            return roundStep(missingGeneration ? .refetchKeys : .distributeKeys)
        case .refetchKeys:
            if case .keysRefetched(let changed) = event { refetchFound = changed }
            return roundStep(.distributeKeys)
        case .distributeKeys:
            return roundStep(.sealAndPush)
        case .sealAndPush:
            if case .pushed(let pending) = event { ownPending = pending }
            // Long-poll unless this box has something of its own to push, abandoned as soon as it
            // has; had a refetch brought nothing, envelopes of a generation this box lacks are
            // skipped for the session rather than asked for again and again.
            let wait = ownPending ? 0 : waitSeconds
            return roundStep(.pull(Pull(waitSeconds: missingGeneration ? 0 : wait, abandonOnLocalChanges: wait > 0, floor: floor,
                                        skipMissingGenerations: missingGeneration && !refetchFound, seen: seen)))
        case .pull:
            missingGeneration = false
            guard case .pulled(let pulled) = event else { return roundStep(.reportClock) }
            seen = pulled.seen
            floor = pulled.delivered
            missingGeneration = pulled.missingGeneration
            return roundStep(pulled.count > 0 ? .acknowledge : .afterPull)
        case .acknowledge:
            return roundStep(.afterPull)
        default: // .afterPull
            return roundStep(.reportClock)
        }
    }

    private mutating func roundStep(_ action: Action) -> Action {
        step = .round(action)
        return action
    }

    // MARK: Backoff

    /// The backoff after `failure`: 1 s doubling to 60 s, starting over once a session reached
    /// the relay; a box waiting for its key or its registration asks again within 5 s, a refused
    /// one waits at least 30 s. A failure is logged when it differs from the last one logged.
    private mutating func backOff(_ failure: Failure) -> Action {
        step = .backingOff
        if connected { delay = 1 }
        connected = false
        let log: Backoff.Log? = reportedFailure == failure.reason ? nil : failure.kind == .refused ? .refused : .unavailable
        reportedFailure = failure.reason
        let seconds = switch failure.kind {
        case .notRegistered, .waitingForKey: min(delay, 5)
        case .refused: max(delay, 30)
        case .unreachable: delay
        }
        delay = min(delay * 2, 60)
        return .backOff(Backoff(state: failure.kind.rawValue, reason: failure.reason, log: log, seconds: seconds))
    }
}
