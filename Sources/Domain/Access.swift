import Foundation
import Replication
import Synchronization

/// What a device or a person may do. The HTTP layer maps roles to permissions.
public enum Role: String, Hashable, Sendable, Codable, CaseIterable {
    case owner
    case manager
    case staff
    case frontDesk = "front_desk"
    /// A self-service tablet: looks up availability and books, nothing else.
    case kiosk

    /// Whether someone with this role may grant `other` (to a device or a person).
    public func mayGrant(_ other: Role) -> Bool {
        switch self {
        case .owner: true
        case .manager: other != .owner
        case .staff, .frontDesk, .kiosk: false
        }
    }
}

/// Someone who signs in on a shared tablet with a personal PIN. Replicated, so the owner adds a
/// manager once and every branch's box knows them.
public struct Person: Hashable, Sendable, Codable {
    public var id: PersonID
    public var name: String
    public var role: Role
    /// The staff member this person is, if they take appointments.
    public var staffID: StaffID?
    public var isActive: Bool
    public var createdAt: Instant
}

/// A paired tablet (or the box's own console). Local to the box: its token never leaves it.
public struct Device: Hashable, Sendable, Codable {
    public var id: DeviceID
    public var name: String
    public var role: Role
    public var pairedAt: Instant
    public var pairedBy: String
    public var lastUsedAt: Instant?
    public var revokedAt: Instant?
    public var revokedBy: String

    public var isRevoked: Bool { revokedAt != nil }
}

/// A tablet's request to pair, as an approver sees it (without the requester's secret).
public struct PairingRequest: Hashable, Sendable, Codable {
    public enum Status: String, Hashable, Sendable, Codable {
        case pending, approved, rejected, claimed, expired
    }
    public var code: String
    public var deviceName: String
    public var remote: String
    public var requestedAt: Instant
    public var expiresAt: Instant
    public var status: Status
    public var role: Role?
}

/// Who is making a request: the device, and the person signed in on it, if any.
public struct Principal: Hashable, Sendable {
    public var device: Device
    public var person: Person?

    public init(device: Device, person: Person?) {
        self.device = device
        self.person = person
    }

    /// The person's role when one is signed in — except on a kiosk, which never acts as more than a kiosk.
    public var role: Role {
        guard let person, device.role != .kiosk else { return device.role }
        return person.role
    }

    /// How events and audit records name them, e.g. `Aigerim (Front desk tablet)`.
    public var actorName: String {
        if let person { return "\(person.name) (\(device.name))" }
        return device.name
    }
}

/// Who an audit row names (from `Acting`). `Shop.perform(as:_:)` binds it for the blocking core of
/// one component write; every audited write transaction in that scope appends one `audit_events`
/// row naming it and the write's domain operation (`AuditOperation`), in the same changeset.
struct AuditContext: Sendable {
    var deviceID: String
    var deviceName: String
    var personID: String
    var personName: String
    var role: String
    var requestID: String

    init(principal: Principal, requestID: String) {
        deviceID = principal.device.id.rawValue
        deviceName = principal.device.name
        personID = principal.person?.id.rawValue ?? ""
        personName = principal.person?.name ?? ""
        role = principal.role.rawValue
        self.requestID = requestID
    }

    /// For requests without a device (a guest with a tracking token).
    init(anonymous name: String, requestID: String) {
        deviceID = ""
        deviceName = name
        personID = ""
        personName = ""
        role = ""
        self.requestID = requestID
    }

    @TaskLocal static var current: AuditContext?

    func record(_ operation: AuditOperation, in transaction: WriteTransaction, site: String, at now: Instant) throws {
        try transaction.insert("audit_events", [
            "id": .text(UUIDv7.generate(milliseconds: UInt64(max(0, now.milliseconds)))), "at": .instant(now), "site": .text(site),
            "device_id": .text(deviceID), "device_name": .text(deviceName), "person_id": .text(personID),
            "person_name": .text(personName), "role": .text(role), "operation": .text(operation.rawValue), "request_id": .text(requestID),
        ])
    }
}

/// One row of the audit trail.
public struct AuditEvent: Hashable, Sendable, Codable {
    public var id: String
    public var at: Instant
    public var site: String
    public var deviceID: String
    public var deviceName: String
    public var personID: String
    public var personName: String
    public var role: String
    /// The domain operation (`AuditOperation`), e.g. `appointment.create`; rows written before
    /// those names existed carry the route instead, e.g. `POST /v1/appointments`.
    public var operation: String
    public var requestID: String
}

/// Limits for PINs, pairing codes and sessions (from the node's configuration).
public struct AccessPolicy: Hashable, Sendable {
    public var pinAttempts: Int = 5
    public var lockoutMinutes: Int = 15
    public var pairingCodeMinutes: Int = 10
    public var sessionHours: Int = 12
    /// Pairing requests one address may open within the lock-out window.
    public var pairingRequestsPerAddress: Int = 10
    public init() {}
}

/// Authenticated devices and sessions by token hash, so a request costs no database write:
/// `last_used_at` is written at most once a minute per device.
final class AccessCache: Sendable {
    struct Entry {
        var device: Device
        var cachedAt: Int64
        var lastUseWritten: Int64
    }
    let devices = Mutex<[String: Entry]>([:])
    let sessions = Mutex<[String: (person: Person, deviceID: DeviceID, expiresAt: Instant, cachedAt: Int64)]>([:])

    func clear() {
        devices.withLock { $0.removeAll() }
        sessions.withLock { $0.removeAll() }
    }
}

extension Shop {
    static func secretHash(_ purpose: String, _ secret: String) -> String {
        Sodium.blake2b(Array("edgenode.\(purpose).v1:\(secret)".utf8), length: 32).hexString
    }

    /// 256 random bits, base64url without padding (43 characters).
    static func makeSecret(bytes: Int = 32) -> String {
        Data(Sodium.randomBytes(bytes)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    // MARK: Devices

    /// Registers a device directly (the box's own console at `init`, a demo tablet). Returns its token, shown once.
    package func registerDevice(name: String, role: Role, pairedBy: String) throws -> (device: Device, token: String) {
        try requireName(name, "device name")
        let token = Self.makeSecret()
        let device = Device(id: .generate(at: now), name: name, role: role, pairedAt: now, pairedBy: pairedBy, lastUsedAt: nil, revokedAt: nil, revokedBy: "")
        try store.write { transaction in
            try transaction.execute("""
                INSERT INTO local_devices (id, name, role, token_hash, paired_at, paired_by) VALUES (?, ?, ?, ?, ?, ?)
                """, [.text(device.id.rawValue), .text(name), .text(role.rawValue), .text(Self.secretHash("device-token", token)),
                      .instant(now), .text(pairedBy)])
        }
        return (device, token)
    }

    /// The paired devices, newest first, revoked ones included.
    package func devices() throws -> [Device] {
        try read { transaction in
            try transaction.fetchAll("SELECT id, name, role, paired_at, paired_by, last_used_at, revoked_at, revoked_by FROM local_devices ORDER BY paired_at DESC, id DESC", [])
                .map(Self.device)
        }
    }

    static func device(_ row: Row) -> Device {
        Device(id: DeviceID(trusted: row["id"].string), name: row["name"].string, role: Role(rawValue: row["role"].string) ?? .kiosk,
               pairedAt: Instant(milliseconds: row["paired_at"].int64), pairedBy: row["paired_by"].string,
               lastUsedAt: row["last_used_at"].int64 == 0 ? nil : Instant(milliseconds: row["last_used_at"].int64),
               revokedAt: row["revoked_at"].int64 == 0 ? nil : Instant(milliseconds: row["revoked_at"].int64), revokedBy: row["revoked_by"].string)
    }

    /// Revokes a device: its token stops working at once, its sessions end.
    package func revokeDevice(_ id: DeviceID, by actor: String, revoker: DeviceID? = nil) throws -> Device {
        guard id != revoker else { throw DomainError(.conflict, "a device cannot revoke itself; revoke it from another owner or manager device") }
        let device = try write(.deviceRevoke) { transaction -> Device in
            guard let row = try transaction.fetchOne("SELECT id, name, role, paired_at, paired_by, last_used_at, revoked_at, revoked_by FROM local_devices WHERE id = ?",
                                                [.text(id.rawValue)]) else { throw DomainError(.notFound, "no device \(id)") }
            var device = Self.device(row)
            guard device.revokedAt == nil else { return device }
            device.revokedAt = now
            device.revokedBy = actor
            try transaction.execute("UPDATE local_devices SET revoked_at = ?, revoked_by = ? WHERE id = ?", [.instant(now), .text(actor), .text(id.rawValue)])
            try transaction.execute("DELETE FROM local_sessions WHERE device_id = ?", [.text(id.rawValue)])
            return device
        }
        accessCache.clear()
        credentialFeed.signal()
        return device
    }

    /// The device of a token recently authenticated, from memory only (no I/O), or nil when
    /// `authenticateDevice` must look it up or record its use.
    package func cachedDevice(token: String) -> Device? {
        let hash = Self.secretHash("device-token", token)
        let clock = now.milliseconds
        guard let entry = accessCache.devices.withLock({ $0[hash] }), clock - entry.cachedAt < 30_000, clock - entry.lastUseWritten < 60_000 else { return nil }
        return entry.device
    }

    /// The device a token belongs to; `.unauthenticated` for an unknown or revoked token.
    package func authenticateDevice(token: String) throws -> Device {
        let hash = Self.secretHash("device-token", token)
        let clock = now.milliseconds
        if let entry = accessCache.devices.withLock({ $0[hash] }), clock - entry.cachedAt < 30_000 {
            if clock - entry.lastUseWritten >= 60_000 { try touch(entry.device, hash: hash, at: clock) }
            return entry.device
        }
        let found = try read { transaction in
            try transaction.fetchOne("SELECT id, name, role, paired_at, paired_by, last_used_at, revoked_at, revoked_by FROM local_devices WHERE token_hash = ?", [.text(hash)])
                .map(Self.device)
        }
        guard let device = found, !device.isRevoked else {
            throw DomainError(.unauthenticated, found == nil ? "the device token is not known to this box; pair the device again" : "this device was revoked; pair it again")
        }
        accessCache.devices.withLock { $0[hash] = AccessCache.Entry(device: device, cachedAt: clock, lastUseWritten: device.lastUsedAt?.milliseconds ?? 0) }
        if clock - (device.lastUsedAt?.milliseconds ?? 0) >= 60_000 { try touch(device, hash: hash, at: clock) }
        return device
    }

    private func touch(_ device: Device, hash: String, at clock: Int64) throws {
        try store.write { transaction in
            try transaction.execute("UPDATE local_devices SET last_used_at = ? WHERE id = ?", [.integer(clock), .text(device.id.rawValue)])
        }
        accessCache.devices.withLock { $0[hash]?.lastUseWritten = clock }
    }

    // MARK: Pairing

    /// A tablet asks to pair. Returns the secret the tablet keeps to claim its token, and the
    /// six-digit code it shows so a person can approve it.
    package func requestPairing(deviceName: String, remote: String, policy: AccessPolicy) throws -> (secret: String, request: PairingRequest) {
        try requireName(deviceName, "device name")
        return try store.write { transaction in
            try checkLock("pairing-request:\(remote)", in: transaction)
            try recordFailure("pairing-request:\(remote)", limit: policy.pairingRequestsPerAddress, lockoutMinutes: policy.lockoutMinutes, in: transaction)
            try transaction.execute("DELETE FROM local_pairing_requests WHERE expires_at < ?", [.instant(now.adding(minutes: -24 * 60))])
            var code = ""
            repeat {
                let value = Sodium.randomBytes(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } % 1_000_000
                code = String(format: "%06u", value)
            } while try transaction.row("SELECT 1 FROM local_pairing_requests WHERE code = ? AND status IN ('pending', 'approved')", [.text(code)]) != nil
            let secret = Self.makeSecret()
            let request = PairingRequest(code: code, deviceName: deviceName, remote: remote, requestedAt: now,
                                         expiresAt: now.adding(minutes: policy.pairingCodeMinutes), status: .pending, role: nil)
            try transaction.execute("""
                INSERT INTO local_pairing_requests (id_hash, code, device_name, remote, requested_at, expires_at, status) VALUES (?, ?, ?, ?, ?, ?, 'pending')
                """, [.text(Self.secretHash("pairing", secret)), .text(code), .text(deviceName), .text(remote), .instant(now), .instant(request.expiresAt)])
            return (secret, request)
        }
    }

    /// Pending pairing requests, oldest first.
    package func pairingRequests() throws -> [PairingRequest] {
        try read { transaction in
            try transaction.fetchAll("SELECT code, device_name, remote, requested_at, expires_at, status, role FROM local_pairing_requests WHERE status = 'pending' AND expires_at > ? ORDER BY requested_at, code",
                                 [.instant(now)]).map(Self.pairingRequest)
        }
    }

    static func pairingRequest(_ row: Row) -> PairingRequest {
        PairingRequest(code: row["code"].string, deviceName: row["device_name"].string, remote: row["remote"].string, requestedAt: Instant(milliseconds: row["requested_at"].int64),
                       expiresAt: Instant(milliseconds: row["expires_at"].int64), status: PairingRequest.Status(rawValue: row["status"].string) ?? .expired,
                       role: Role(rawValue: row["role"].string))
    }

    /// Approves (or rejects) the pending request showing `code`. Wrong codes count towards a
    /// lock-out of the approver (`approverKey`), so codes cannot be guessed through the API.
    package func decidePairing(code: String, approve: Bool, role: Role, approver: String, approverKey: String, policy: AccessPolicy) throws -> PairingRequest {
        let key = "pairing-code:\(approverKey)"
        let decided = try write(approve ? .pairingApprove : .pairingReject) { transaction -> PairingRequest? in
            try checkLock(key, in: transaction)
            guard code.count == 6, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber),
                  let row = try transaction.fetchOne("SELECT code, device_name, remote, requested_at, expires_at, status, role FROM local_pairing_requests WHERE code = ? AND status = 'pending' AND expires_at > ?",
                                                [.text(code), .instant(now)]) else { return nil }
            try transaction.execute("DELETE FROM local_attempts WHERE key = ?", [.text(key)])
            var request = Self.pairingRequest(row)
            request.status = approve ? .approved : .rejected
            request.role = approve ? role : nil
            try transaction.execute("UPDATE local_pairing_requests SET status = ?, role = ?, decided_by = ? WHERE code = ? AND status = 'pending'",
                                    [.text(request.status.rawValue), .text(approve ? role.rawValue : ""), .text(approver), .text(code)])
            return request
        }
        guard let decided else {
            // Counted in its own transaction: the refusal must not roll the count back.
            try store.write { transaction in try recordFailure(key, limit: policy.pinAttempts, lockoutMinutes: policy.lockoutMinutes, in: transaction) }
            throw DomainError(.notFound, "no pending pairing request shows the code \(code.prefix(12)); check the code on the tablet (codes expire after \(policy.pairingCodeMinutes) minutes)")
        }
        return decided
    }

    public enum PairingClaim: Sendable {
        case pending(PairingRequest)
        case paired(Device, token: String)
    }

    /// The tablet collects its token with its secret: once, after approval.
    package func claimPairing(secret: String) throws -> PairingClaim {
        let hash = Self.secretHash("pairing", secret)
        return try store.write { transaction in
            guard let row = try transaction.fetchOne("SELECT code, device_name, remote, requested_at, expires_at, status, role, decided_by FROM local_pairing_requests WHERE id_hash = ?", [.text(hash)]) else {
                throw DomainError(.notFound, "no pairing request with this id; ask to pair again")
            }
            let request = Self.pairingRequest(row)
            switch request.status {
            case .pending:
                guard request.expiresAt > now else { throw DomainError(.expired, "the pairing code expired before anyone approved it; ask to pair again") }
                return .pending(request)
            case .rejected:
                throw DomainError(.unauthenticated, "the pairing request was rejected")
            case .claimed, .expired:
                throw DomainError(.expired, "this pairing request was already used; ask to pair again")
            case .approved:
                let token = Self.makeSecret()
                let device = Device(id: .generate(at: now), name: request.deviceName, role: request.role ?? .kiosk, pairedAt: now,
                                    pairedBy: row["decided_by"].string, lastUsedAt: nil, revokedAt: nil, revokedBy: "")
                try transaction.execute("INSERT INTO local_devices (id, name, role, token_hash, paired_at, paired_by) VALUES (?, ?, ?, ?, ?, ?)",
                                        [.text(device.id.rawValue), .text(device.name), .text(device.role.rawValue),
                                         .text(Self.secretHash("device-token", token)), .instant(now), .text(device.pairedBy)])
                try transaction.execute("UPDATE local_pairing_requests SET status = 'claimed', device_id = ? WHERE id_hash = ?", [.text(device.id.rawValue), .text(hash)])
                return .paired(device, token: token)
            }
        }
    }

    // MARK: People and PIN sessions

    /// Adds a person who signs in with a PIN (4–8 digits).
    package func createPerson(name: String, role: Role, pin: String, staff: StaffID? = nil) throws -> Person {
        try requireName(name, "name")
        let hash = try Self.hashPIN(pin)
        let person = Person(id: .generate(at: now), name: name.trimmingCharacters(in: .whitespacesAndNewlines), role: role, staffID: staff, isActive: true, createdAt: now)
        try write(.personCreate) { transaction in
            if let staff { _ = try Loader.staff(staff, in: transaction) }
            try transaction.insert("people", ["id": .text(person.id.rawValue), "name": .text(person.name), "role": .text(role.rawValue),
                                              "pin_hash": .text(hash), "staff_id": .text(staff?.rawValue ?? ""), "active": .bool(true),
                                              "created_at": .instant(now)])
        }
        return person
    }

    /// Changes a person; nil fields stay as they are.
    package func updatePerson(_ id: PersonID, name: String? = nil, role: Role? = nil, pin: String? = nil, isActive: Bool? = nil) throws -> Person {
        if let name { try requireName(name, "name") }
        let hash = try pin.map(Self.hashPIN)
        let updated = try write(.personUpdate) { transaction -> Person in
            var person = try Self.person(id, in: transaction)
            var values: [String: SQLValue] = [:]
            if let name { person.name = name.trimmingCharacters(in: .whitespacesAndNewlines); values["name"] = .text(person.name) }
            if let role { person.role = role; values["role"] = .text(role.rawValue) }
            if let hash { values["pin_hash"] = .text(hash) }
            if let isActive { person.isActive = isActive; values["active"] = .bool(isActive) }
            if !values.isEmpty { try transaction.update("people", key: .text(id.rawValue), values) }
            if pin != nil || isActive == false || role != nil {
                try transaction.execute("DELETE FROM local_sessions WHERE person_id = ?", [.text(id.rawValue)])
            }
            return person
        }
        accessCache.clear()
        credentialFeed.signal()
        return updated
    }

    package func people() throws -> [Person] {
        try read { transaction in
            try transaction.fetchAll("SELECT id, name, role, staff_id, active, created_at FROM people ORDER BY name COLLATE NOCASE, id", []).map(Self.person)
        }
    }

    package func person(_ id: PersonID) throws -> Person {
        try read { transaction in try Self.person(id, in: transaction) }
    }

    static func person(_ id: PersonID, in context: some QueryContext) throws -> Person {
        guard let row = try context.fetchOne("SELECT id, name, role, staff_id, active, created_at FROM people WHERE id = ?", [.text(id.rawValue)]) else {
            throw DomainError(.notFound, "no person \(id)")
        }
        return person(row)
    }

    static func person(_ row: Row) -> Person {
        Person(id: PersonID(trusted: row["id"].string), name: row["name"].string, role: Role(rawValue: row["role"].string) ?? .staff,
               staffID: StaffID(row["staff_id"].string), isActive: row["active"].bool, createdAt: Instant(milliseconds: row["created_at"].int64))
    }

    static func hashPIN(_ pin: String) throws(DomainError) -> String {
        guard (4...8).contains(pin.count), pin.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw DomainError(.invalidArgument, "a PIN is 4 to 8 digits")
        }
        guard let hash = Sodium.passwordHash(pin) else { throw DomainError(.storage, "could not hash the PIN") }
        return hash
    }

    /// A person signs in on a device with their PIN. Wrong PINs count per person; after
    /// `policy.pinAttempts` the person is locked out for `policy.lockoutMinutes`.
    package func startSession(person id: PersonID, pin: String, device: Device, policy: AccessPolicy) throws -> (token: String, person: Person, expiresAt: Instant) {
        let stored = try read { transaction -> (Person, String)? in
            guard let row = try transaction.fetchOne("SELECT id, name, role, staff_id, active, created_at, pin_hash FROM people WHERE id = ?", [.text(id.rawValue)]) else { return nil }
            return (Self.person(row), row["pin_hash"].string)
        }
        let key = "pin:\(id.rawValue)"
        try store.write { transaction in try checkLock(key, in: transaction) }
        guard let (person, hash) = stored, person.isActive, Sodium.passwordVerify(pin, hash: hash) else {
            try store.write { transaction in
                try recordFailure(key, limit: policy.pinAttempts, lockoutMinutes: policy.lockoutMinutes, in: transaction)
            }
            throw DomainError(.unauthenticated, "wrong person or PIN")
        }
        let token = Self.makeSecret()
        let expiresAt = now.adding(minutes: 60 * policy.sessionHours)
        try write(.sessionStart) { transaction in
            try transaction.execute("DELETE FROM local_attempts WHERE key = ?", [.text(key)])
            try transaction.execute("DELETE FROM local_sessions WHERE expires_at < ?", [.instant(now)])
            try transaction.execute("INSERT INTO local_sessions (token_hash, person_id, device_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                                    [.text(Self.secretHash("session", token)), .text(person.id.rawValue), .text(device.id.rawValue), .instant(now), .instant(expiresAt)])
        }
        return (token, person, expiresAt)
    }

    /// A manager approves one write with their PIN (a discount, a refund, a payment above a cap):
    /// the PIN is checked like a sign-in's, wrong PINs count towards the same lock-out, and no
    /// session starts.
    package func verifyApproval(person id: PersonID, pin: String, policy: AccessPolicy) throws -> Person {
        let stored = try read { transaction -> (Person, String)? in
            guard let row = try transaction.fetchOne("SELECT id, name, role, staff_id, active, created_at, pin_hash FROM people WHERE id = ?", [.text(id.rawValue)]) else { return nil }
            return (Self.person(row), row["pin_hash"].string)
        }
        let key = "pin:\(id.rawValue)"
        try store.write { transaction in try checkLock(key, in: transaction) }
        guard let (person, hash) = stored, person.isActive, Sodium.passwordVerify(pin, hash: hash) else {
            try store.write { transaction in
                try recordFailure(key, limit: policy.pinAttempts, lockoutMinutes: policy.lockoutMinutes, in: transaction)
            }
            throw DomainError(.unauthenticated, "wrong person or PIN for the approval")
        }
        try store.write { transaction in try transaction.execute("DELETE FROM local_attempts WHERE key = ?", [.text(key)]) }
        return person
    }

    /// The person signed in with `token` on `device`.
    package func authenticateSession(token: String, device: Device) throws -> Person {
        let hash = Self.secretHash("session", token)
        let clock = now
        if let cached = accessCache.sessions.withLock({ $0[hash] }), clock.milliseconds - cached.cachedAt < 30_000 {
            guard cached.deviceID == device.id, cached.expiresAt > clock else { throw DomainError(.unauthenticated, "the session ended; sign in again with your PIN") }
            return cached.person
        }
        let found = try read { transaction -> (Person, DeviceID, Instant)? in
            guard let row = try transaction.fetchOne("""
                SELECT p.id AS id, p.name AS name, p.role AS role, p.staff_id AS staff_id, p.active AS active, p.created_at AS created_at,
                       s.device_id AS device_id, s.expires_at AS expires_at
                FROM local_sessions s JOIN people p ON p.id = s.person_id WHERE s.token_hash = ?
                """, [.text(hash)]) else { return nil }
            return (Self.person(row), DeviceID(trusted: row["device_id"].string), Instant(milliseconds: row["expires_at"].int64))
        }
        guard let (person, deviceID, expiresAt) = found, person.isActive, deviceID == device.id, expiresAt > clock else {
            throw DomainError(.unauthenticated, "the session ended or belongs to another device; sign in again with your PIN")
        }
        accessCache.sessions.withLock { $0[hash] = (person, deviceID, expiresAt, clock.milliseconds) }
        return person
    }

    /// Ends a session.
    package func endSession(token: String) throws {
        let hash = Self.secretHash("session", token)
        try store.write { transaction in try transaction.execute("DELETE FROM local_sessions WHERE token_hash = ?", [.text(hash)]) }
        accessCache.sessions.withLock { _ = $0.removeValue(forKey: hash) }
        credentialFeed.signal()
    }

    // MARK: Attempts and lock-out

    func checkLock(_ key: String, in transaction: WriteTransaction) throws {
        if let until = try transaction.fetchOne("SELECT locked_until FROM local_attempts WHERE key = ?", [.text(key)])?["locked_until"].int64, until > now.milliseconds {
            let at = Instant(milliseconds: until)
            throw DomainError(.locked, "too many attempts; try again after \(at)", retryAt: at)
        }
    }

    /// Counts one attempt against `key` within a window of `lockoutMinutes`; the `limit`-th locks it.
    func recordFailure(_ key: String, limit: Int, lockoutMinutes: Int, in transaction: WriteTransaction) throws {
        let window = Int64(lockoutMinutes) * 60_000
        let clock = now.milliseconds
        var failures = 1
        var start = clock
        if let row = try transaction.fetchOne("SELECT failures, window_start FROM local_attempts WHERE key = ?", [.text(key)]), clock - row["window_start"].int64 < window {
            failures = row["failures"].int + 1
            start = row["window_start"].int64
        }
        let locked = failures >= limit ? clock + window : 0
        try transaction.execute("INSERT OR REPLACE INTO local_attempts (key, failures, window_start, locked_until) VALUES (?, ?, ?, ?)",
                                [.text(key), .int(failures >= limit ? 0 : failures), .integer(failures >= limit ? clock : start), .integer(locked)])
    }

    // MARK: Audit

    /// The newest audit records first.
    package func auditEvents(limit: Int = 100) throws -> [AuditEvent] {
        try readSnapshot { transaction in
            try transaction.fetchAll("SELECT id, at, site, device_id, device_name, person_id, person_name, role, operation, request_id FROM audit_events ORDER BY at DESC, rowid DESC LIMIT ?",
                                 [.int(limit)]).map {
                AuditEvent(id: $0["id"].string, at: Instant(milliseconds: $0["at"].int64), site: $0["site"].string, deviceID: $0["device_id"].string, deviceName: $0["device_name"].string,
                           personID: $0["person_id"].string, personName: $0["person_name"].string, role: $0["role"].string, operation: $0["operation"].string, requestID: $0["request_id"].string)
            }
        }
    }
}
