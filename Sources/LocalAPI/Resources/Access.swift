import Domain
import HTTPTypes
import Hummingbird
import NIOPosix

// Pairing, devices, people and PIN sessions.

extension AccessHandlers {
    /// Pairing, devices, people and PIN sessions.
    static let endpoints: [Endpoint] = [
        Endpoint(.post, "/v1/pairing-requests", .open,
                 body: .json("PairingRequestInput"), answers: [201: .json("PairingCreated")],
                 AccessHandlers.requestPairing),
        Endpoint(.post, "/v1/pairing-requests/claim", .open,
                 body: .json("PairingClaimInput"), answers: [200: .json("PairingClaimed"), 202: .json("PairingPending")],
                 AccessHandlers.claimPairing),
        Endpoint(.get, "/v1/pairing-requests", .devicesManage,
                 answers: [200: .json("PairingRequestPage")],
                 AccessHandlers.listPairing),
        Endpoint(.post, "/v1/pairing-requests/approve", .devicesManage,
                 body: .json("PairingApproveInput"), answers: [200: .json("PairingRequest")],
                 AccessHandlers.approvePairing),
        Endpoint(.post, "/v1/pairing-requests/reject", .devicesManage,
                 body: .json("PairingRejectInput"), answers: [200: .json("PairingRequest")],
                 AccessHandlers.rejectPairing),
        Endpoint(.get, "/v1/devices", .devicesManage,
                 answers: [200: .json("DevicePage")],
                 AccessHandlers.listDevices),
        Endpoint(.post, "/v1/devices/{id}/revoke", .devicesManage,
                 body: .optionalJSON("EmptyInput"), answers: [200: .json("Device")],
                 AccessHandlers.revokeDevice),
        Endpoint(.get, "/v1/people", .devicesManage,
                 answers: [200: .json("PersonPage")],
                 AccessHandlers.listPeople),
        Endpoint(.post, "/v1/people", .devicesManage,
                 body: .json("PersonInput"), answers: [201: .json("Person")],
                 AccessHandlers.createPerson),
        Endpoint(.patch, "/v1/people/{id}", .devicesManage,
                 body: .json("PersonPatch"), answers: [200: .json("Person")],
                 AccessHandlers.updatePerson),
        Endpoint(.post, "/v1/sessions", .device,
                 body: .json("SessionInput"), answers: [201: .json("Session")],
                 AccessHandlers.startSession),
        Endpoint(.delete, "/v1/sessions/current", .device,
                 answers: [204: .empty],
                 AccessHandlers.endSession),
        Endpoint(.get, "/v1/sessions/people", .device,
                 answers: [200: .json("SignInPeople")],
                 AccessHandlers.signInPeople),
        Endpoint(.post, "/v1/device/forget", .device,
                 body: .optionalJSON("EmptyInput"), answers: [204: .empty],
                 AccessHandlers.forgetDevice),
    ]
}

enum AccessHandlers {
    /// How a paired device or a signed-in person gets their credential: in the body (`token`,
    /// tablet apps) or as an `HttpOnly` cookie (`cookie`, the web app).
    enum CredentialForm: String, CaseIterable {
        case token, cookie
    }

    struct PairingCreated: Encodable {
        var secret: String
        var code: String
        var expiresAt: String
    }

    static func requestPairing(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let name = body.string("device_name", required: true, maxLength: 100, allowEmpty: false)
        try body.validate()
        let policy = call.api.configuration.access
        let remote = call.context.remoteAddress
        let (secret, request) = try await call.shop.access.requestPairing(deviceName: name ?? "", remote: remote, policy: policy)
        return .json(PairingCreated(secret: secret, code: request.code, expiresAt: call.zones.format(request.expiresAt, branch: nil)), status: 201)
    }

    struct Claimed: Encodable {
        var status: String
        var device: DeviceBody?
        var token: String?
        var expiresAt: String?
    }

    static func claimPairing(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let secret = body.string("secret", required: true, maxLength: 100, allowEmpty: false)
        let form = body.enumeration("credential", as: CredentialForm.self, allowed: CredentialForm.allCases) ?? .token
        try body.validate()
        switch try await call.shop.access.claimPairing(secret: secret ?? "") {
        case .pending(let request):
            return .json(Claimed(status: "pending", expiresAt: call.zones.format(request.expiresAt, branch: nil)), status: 202)
        case .paired(let device, let token):
            guard form == .cookie else {
                return .json(Claimed(status: "paired", device: DeviceBody(device, zones: call.zones), token: token), status: 200)
            }
            var reply = Reply.json(Claimed(status: "paired", device: DeviceBody(device, zones: call.zones), token: nil), status: 200)
            reply.extraHeaders = [("Set-Cookie", BrowserCredentials.setting(BrowserCredentials.deviceCookie, value: token, maxAge: BrowserCredentials.deviceCookieSeconds))]
            return reply
        }
    }

    static func listPairing(_ call: Call) async throws -> Reply {
        try call.query().validate()
        let requests = try await call.shop.access.pairingRequests()
        return .json(Page(items: requests.map { PairingBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func approvePairing(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let code = body.string("code", required: true, maxLength: 12, allowEmpty: false)
        let role = body.enumeration("role", required: true, as: Role.self, allowed: Role.allCases)
        try body.validate()
        guard let code, let role else { throw APIError.validation([]) }
        guard call.role.mayGrant(role) else { throw APIError.forbidden("a \(call.role.rawValue) may not pair a device as \(role.rawValue)") }
        let policy = call.api.configuration.access
        let request = try await call.shop.access.decidePairing(code: code, approve: true, role: role, policy: policy, as: call.acting)
        return .json(PairingBody(request, zones: call.zones))
    }

    static func rejectPairing(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let code = body.string("code", required: true, maxLength: 12, allowEmpty: false)
        try body.validate()
        let policy = call.api.configuration.access
        let request = try await call.shop.access.decidePairing(code: code ?? "", approve: false, role: .kiosk, policy: policy, as: call.acting)
        return .json(PairingBody(request, zones: call.zones))
    }

    static func listDevices(_ call: Call) async throws -> Reply {
        try call.query().validate()
        let devices = try await call.shop.access.devices()
        return .json(Page(items: devices.map { DeviceBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func revokeDevice(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: DeviceID.self)
        if !call.body.isEmpty { try call.bodyReader().validate() }
        let device = try await call.shop.access.revokeDevice(id, as: call.acting)
        return .json(DeviceBody(device, zones: call.zones))
    }

    static func listPeople(_ call: Call) async throws -> Reply {
        try call.query().validate()
        let people = try await call.shop.access.people()
        let grants = try await call.shop.reports.grants()
        return .json(Page(items: people.map { PersonBody($0, zones: call.zones, reportAccess: grants[$0.id]?.access ?? .own) }, nextCursor: nil))
    }

    static func createPerson(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let name = body.string("name", required: true, maxLength: 200, allowEmpty: false)
        let role = body.enumeration("role", required: true, as: Role.self, allowed: Role.allCases.filter { $0 != .kiosk })
        let pin = body.string("pin", required: true, maxLength: 8)
        let staff = body.id("staff", as: StaffID.self)
        try body.validate()
        guard let name, let role, let pin else { throw APIError.validation([]) }
        guard call.role.mayGrant(role) else { throw APIError.forbidden("a \(call.role.rawValue) may not add a person with the role \(role.rawValue)") }
        let person = try await call.shop.access.createPerson(name: name, role: role, pin: pin, staff: staff, as: call.acting)
        return .json(PersonBody(person, zones: call.zones, reportAccess: try await call.shop.reports.access(of: person.id)), status: 201,
                     location: "/v1/people/\(person.id)")
    }

    static func updatePerson(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: PersonID.self)
        let body = try call.bodyReader()
        let name = body.string("name", maxLength: 200, allowEmpty: false)
        let role = body.enumeration("role", as: Role.self, allowed: Role.allCases.filter { $0 != .kiosk })
        let pin = body.string("pin", maxLength: 8)
        let active = body.bool("active")
        try body.validate()
        let callerRole = call.role
        if let role, !callerRole.mayGrant(role) { throw APIError.forbidden("a \(callerRole.rawValue) may not give the role \(role.rawValue)") }
        let current = try await call.shop.access.person(id)
        guard callerRole.mayGrant(current.role) else { throw APIError.forbidden("a \(callerRole.rawValue) may not change a \(current.role.rawValue)") }
        let person = try await call.shop.access.updatePerson(id, name: name, role: role, pin: pin, isActive: active, as: call.acting)
        return .json(PersonBody(person, zones: call.zones, reportAccess: try await call.shop.reports.access(of: person.id)))
    }

    struct SessionBody: Encodable {
        var token: String?
        var person: PersonBody
        var role: String
        var expiresAt: String
    }

    static func startSession(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let person = body.id("person", required: true, as: PersonID.self)
        let pin = body.string("pin", required: true, maxLength: 8)
        let form = body.enumeration("credential", as: CredentialForm.self, allowed: CredentialForm.allCases) ?? .token
        try body.validate()
        guard let person, let pin, let device = call.principal?.device else { throw APIError.validation([]) }
        guard device.role != .kiosk else { throw APIError.forbidden("people do not sign in on a kiosk") }
        let policy = call.api.configuration.access
        let session = try await call.shop.access.startSession(person: person, pin: pin, device: device, policy: policy, as: call.acting)
        let principal = Principal(device: device, person: session.person)
        let access = try await call.shop.reports.access(of: session.person.id)
        let answer = SessionBody(token: form == .token ? session.token : nil, person: PersonBody(session.person, zones: call.zones, reportAccess: access),
                                 role: principal.role.rawValue, expiresAt: call.zones.format(session.expiresAt, branch: nil))
        var reply = Reply.json(answer, status: 201)
        if form == .cookie {
            let seconds = Int((session.expiresAt.milliseconds - call.shop.now.milliseconds) / 1000)
            reply.extraHeaders = [("Set-Cookie", BrowserCredentials.setting(BrowserCredentials.sessionCookie, value: session.token, maxAge: seconds))]
        }
        return reply
    }

    static func endSession(_ call: Call) async throws -> Reply {
        let cookie = call.context.credentials.flatMap { $0.viaCookie ? $0.session : nil }
        guard let token = call.request.headers[HTTPField.Name("Edgenode-Session")!] ?? cookie else {
            throw APIError(status: 400, kind: "no_session", title: "No session",
                           detail: "send the session token in the Edgenode-Session header (or, from the web app, the edgenode_session cookie)")
        }
        try await call.shop.access.endSession(token: token)
        var reply = Reply.noContent
        if cookie != nil { reply.extraHeaders = [("Set-Cookie", BrowserCredentials.clearing(BrowserCredentials.sessionCookie))] }
        return reply
    }

    struct SignInPerson: Encodable {
        var id: String
        var name: String
        var role: String
        var staff: String?
    }

    /// The active people a shared tablet's lock screen offers (never their PIN hashes).
    static func signInPeople(_ call: Call) async throws -> Reply {
        try call.query().validate()
        guard let device = call.principal?.device, device.role != .kiosk else {
            throw APIError.forbidden("people do not sign in on a kiosk, so a kiosk does not list them")
        }
        let people = try await call.shop.access.people().filter(\.isActive)
        return .json(Page(items: people.map { SignInPerson(id: $0.id.rawValue, name: $0.name, role: $0.role.rawValue, staff: $0.staffID?.rawValue) },
                          nextCursor: nil))
    }

    /// The device gives up its credential: it is revoked (by itself) and the answer clears the
    /// web app's cookies.
    static func forgetDevice(_ call: Call) async throws -> Reply {
        if !call.body.isEmpty { try call.bodyReader().validate() }
        guard let device = call.principal?.device else { throw APIError.unauthenticated("no device") }
        _ = try await call.shop.access.forgetDevice(device.id, as: call.acting)
        var reply = Reply.noContent
        reply.extraHeaders = [("Set-Cookie", BrowserCredentials.clearing(BrowserCredentials.deviceCookie)),
                              ("Set-Cookie", BrowserCredentials.clearing(BrowserCredentials.sessionCookie))]
        return reply
    }
}
