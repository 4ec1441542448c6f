/// Access to the box: paired devices and their tokens, pairing requests, people with PINs and
/// their sessions. These live in local (not replicated) tables of this box.
///
/// One of the shop's per-area components (`Shop.access`): async, over the shop's one store,
/// which runs the SQLite work off Swift's cooperative pool by itself (inline inside a unit of work).
public struct AccessControl: Sendable {
    let shop: Shop

    // MARK: Devices

    /// Registers a device directly (the box's own console, a demo tablet); its token is shown once.
    public func registerDevice(name: String, role: Role, pairedBy: String) async throws -> (device: Device, token: String) {
        try await shop.perform { try $0.registerDevice(name: name, role: role, pairedBy: pairedBy) }
    }

    /// The paired devices, newest first, revoked ones included.
    public func devices() async throws -> [Device] { try await shop.perform { try $0.devices() } }

    /// Revokes a device: its token and its sessions stop working at once. A device cannot revoke itself.
    public func revokeDevice(_ id: DeviceID, as acting: Acting) async throws -> Device {
        try await shop.perform(as: acting) { try $0.revokeDevice(id, by: acting.name, revoker: acting.deviceID) }
    }

    /// A device gives up its own credential (the web app's "forget this tablet"): it is revoked
    /// like any other, by itself.
    public func forgetDevice(_ id: DeviceID, as acting: Acting) async throws -> Device {
        try await shop.perform(as: acting) { try $0.revokeDevice(id, by: acting.name, revoker: nil) }
    }

    /// The device of a token recently authenticated, from memory only (no I/O, no hop), or nil.
    public func cachedDevice(token: String) -> Device? { shop.cachedDevice(token: token) }

    /// The device a token belongs to; `.unauthenticated` for an unknown or revoked token.
    public func authenticateDevice(token: String) async throws -> Device {
        try await shop.perform { try $0.authenticateDevice(token: token) }
    }

    // MARK: Pairing

    /// A new device asks to pair; returns its claim secret and the request (with its code).
    public func requestPairing(deviceName: String, remote: String, policy: AccessPolicy) async throws -> (secret: String, request: PairingRequest) {
        try await shop.perform { try $0.requestPairing(deviceName: deviceName, remote: remote, policy: policy) }
    }

    /// The open pairing requests.
    public func pairingRequests() async throws -> [PairingRequest] { try await shop.perform { try $0.pairingRequests() } }

    /// Approves (with a role) or denies a pairing request; wrong codes count towards a lock-out of
    /// the acting device.
    public func decidePairing(code: String, approve: Bool, role: Role, policy: AccessPolicy, as acting: Acting) async throws -> PairingRequest {
        try await shop.perform(as: acting) {
            try $0.decidePairing(code: code, approve: approve, role: role, approver: acting.name, approverKey: acting.deviceID?.rawValue ?? "", policy: policy)
        }
    }

    /// The new device collects its token once its request is approved.
    public func claimPairing(secret: String) async throws -> Shop.PairingClaim { try await shop.perform { try $0.claimPairing(secret: secret) } }

    // MARK: People and sessions

    /// Creates a person with a role and a PIN.
    public func createPerson(name: String, role: Role, pin: String, staff: StaffID? = nil, as acting: Acting) async throws -> Person {
        try await shop.perform(as: acting) { try $0.createPerson(name: name, role: role, pin: pin, staff: staff) }
    }

    /// Updates a person.
    public func updatePerson(_ id: PersonID, name: String? = nil, role: Role? = nil, pin: String? = nil, isActive: Bool? = nil,
                             as acting: Acting) async throws -> Person {
        try await shop.perform(as: acting) { try $0.updatePerson(id, name: name, role: role, pin: pin, isActive: isActive) }
    }

    /// Everyone with a PIN.
    public func people() async throws -> [Person] { try await shop.perform { try $0.people() } }

    /// The person with `id`.
    public func person(_ id: PersonID) async throws -> Person { try await shop.perform { try $0.person(id) } }

    /// A person signs in on a device with their PIN (attempts are limited per person).
    public func startSession(person: PersonID, pin: String, device: Device, policy: AccessPolicy,
                             as acting: Acting) async throws -> (token: String, person: Person, expiresAt: Instant) {
        try await shop.perform(as: acting) { try $0.startSession(person: person, pin: pin, device: device, policy: policy) }
    }

    /// The person a session token belongs to, on that device.
    /// Checks a manager's PIN for approving one write (see `Shop.verifyApproval`).
    public func verifyApproval(person: PersonID, pin: String, policy: AccessPolicy) async throws -> Person {
        try await shop.perform { try $0.verifyApproval(person: person, pin: pin, policy: policy) }
    }

    public func authenticateSession(token: String, device: Device) async throws -> Person {
        try await shop.perform { try $0.authenticateSession(token: token, device: device) }
    }

    /// Ends a session.
    public func endSession(token: String) async throws { try await shop.perform { try $0.endSession(token: token) } }
}

/// The audit trail: who did what, one replicated, append-only row per audited write.
///
/// One of the shop's per-area components (`Shop.audit`).
public struct AuditTrail: Sendable {
    let shop: Shop

    /// The newest audit records first.
    public func events(limit: Int = 100) async throws -> [AuditEvent] { try await shop.perform { try $0.auditEvents(limit: limit) } }
}

/// The live-event log: one local row per committed change, for `GET /v1/events` and its resumption.
///
/// One of the shop's per-area components (`Shop.events`); wake-ups come from `Shop.changeFeed`.
public struct EventLog: Sendable {
    let shop: Shop

    /// Events after `sequence`, oldest first, at most `limit`.
    public func events(after sequence: Int64, limit: Int = 500) async throws -> [ChangeEvent] {
        try await shop.perform { try $0.events(after: sequence, limit: limit) }
    }

    /// The oldest and newest sequence still in the log (nil when it is empty).
    public func bounds() async throws -> (oldest: Int64, newest: Int64)? { try await shop.perform { try $0.eventBounds() } }

    /// The newest sequence ever logged, 0 if none.
    public func latestSequence() async throws -> Int64 { try await shop.perform { try $0.latestEventSequence() } }

    /// Forgets events older than `instant`.
    @discardableResult
    public func prune(before instant: Instant) async throws -> Int { try await shop.perform { try $0.pruneEvents(before: instant) } }
}
