import Domain
import HTTPTypes
import Hummingbird
import NIOPosix

extension LocalAPI {
    /// Every endpoint of the API, in the order docs/api.md lists them.
    static let endpoints: [Endpoint] = [
        // System
        Endpoint(.get, "/health", .open,
                 answers: [200: .json("HealthStatus")],
                 SystemHandlers.health),
        Endpoint(.get, "/ready", .open,
                 answers: [200: .json("ReadyStatus")],
                 SystemHandlers.ready),
        Endpoint(.get, "/metrics", .open,
                 answers: [200: .media("text/plain")],
                 SystemHandlers.metrics),
        Endpoint(.get, "/openapi.json", .open,
                 answers: [200: .media("application/json")],
                 SystemHandlers.openAPI),
        Endpoint(.get, "/v1/status", .systemRead,
                 answers: [200: .json("NodeStatus")],
                 SystemHandlers.status),
        Endpoint(.get, "/v1/audit", .systemRead,
                 query: ["limit"], answers: [200: .json("AuditPage")],
                 SystemHandlers.audit),
        Endpoint(.get, "/v1/me", .device,
                 answers: [200: .json("Me")],
                 SystemHandlers.me),
        Endpoint(.get, "/v1/events", .events,
                 query: ["after"], answers: [200: .media("text/event-stream")],
                 EventStream.handle),

        // Pairing, devices, people, sessions
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

        // Catalogue
        Endpoint(.get, "/v1/branches", .catalogueRead,
                 answers: [200: .json("BranchPage")],
                 CatalogueHandlers.listBranches),
        Endpoint(.post, "/v1/branches", .catalogueWrite,
                 body: .json("BranchInput"), answers: [201: .json("Branch")],
                 CatalogueHandlers.createBranch),
        Endpoint(.get, "/v1/branches/{id}", .catalogueRead,
                 answers: [200: .json("Branch")],
                 CatalogueHandlers.getBranch),
        Endpoint(.put, "/v1/branches/{id}", .catalogueWrite,
                 body: .json("BranchInput"), answers: [200: .json("Branch")],
                 CatalogueHandlers.replaceBranch),
        Endpoint(.get, "/v1/branches/{id}/overrides", .catalogueRead,
                 query: ["from"], answers: [200: .json("DateOverridePage")],
                 CatalogueHandlers.listBranchOverrides),
        Endpoint(.put, "/v1/branches/{id}/overrides/{date}", .catalogueWrite,
                 body: .json("DateOverrideInput"), answers: [200: .json("DateOverride")],
                 CatalogueHandlers.setBranchOverride),
        Endpoint(.delete, "/v1/branches/{id}/overrides/{date}", .catalogueWrite,
                 answers: [204: .empty],
                 CatalogueHandlers.removeBranchOverride),
        Endpoint(.get, "/v1/categories", .catalogueRead,
                 query: ["branch"], answers: [200: .json("CategoryPage")],
                 CatalogueHandlers.listCategories),
        Endpoint(.get, "/v1/services", .catalogueRead,
                 query: ["branch", "include_inactive", "category"], answers: [200: .json("ServicePage")],
                 CatalogueHandlers.listServices),
        Endpoint(.post, "/v1/services", .catalogueWrite,
                 body: .json("ServiceInput"), answers: [201: .json("Service")],
                 CatalogueHandlers.createService),
        Endpoint(.get, "/v1/services/{id}", .catalogueRead,
                 answers: [200: .json("Service")],
                 CatalogueHandlers.getService),
        Endpoint(.put, "/v1/services/{id}", .catalogueWrite,
                 body: .json("ServiceInput"), answers: [200: .json("Service")],
                 CatalogueHandlers.replaceService),
        Endpoint(.get, "/v1/staff", .catalogueRead,
                 query: ["branch", "include_inactive"], answers: [200: .json("StaffPage")],
                 CatalogueHandlers.listStaff),
        Endpoint(.post, "/v1/staff", .catalogueWrite,
                 body: .json("StaffInput"), answers: [201: .json("Staff")],
                 CatalogueHandlers.createStaff),
        Endpoint(.get, "/v1/staff/{id}", .catalogueRead,
                 answers: [200: .json("Staff")],
                 CatalogueHandlers.getStaff),
        Endpoint(.put, "/v1/staff/{id}", .catalogueWrite,
                 body: .json("StaffInput"), answers: [200: .json("Staff")],
                 CatalogueHandlers.replaceStaff),
        Endpoint(.get, "/v1/staff/{id}/services", .catalogueRead,
                 answers: [200: .json("StaffServicePage")],
                 CatalogueHandlers.listStaffServices),
        Endpoint(.put, "/v1/staff/{id}/services/{service}", .catalogueWrite,
                 body: .optionalJSON("StaffServiceInput"), answers: [200: .json("StaffService")],
                 CatalogueHandlers.assignService),
        Endpoint(.delete, "/v1/staff/{id}/services/{service}", .catalogueWrite,
                 answers: [204: .empty],
                 CatalogueHandlers.unassignService),
        Endpoint(.get, "/v1/staff/{id}/overrides", .catalogueRead,
                 query: ["from"], answers: [200: .json("DateOverridePage")],
                 CatalogueHandlers.listStaffOverrides),
        Endpoint(.put, "/v1/staff/{id}/overrides/{date}", .catalogueWrite,
                 body: .json("DateOverrideInput"), answers: [200: .json("DateOverride")],
                 CatalogueHandlers.setStaffOverride),
        Endpoint(.delete, "/v1/staff/{id}/overrides/{date}", .catalogueWrite,
                 answers: [204: .empty],
                 CatalogueHandlers.removeStaffOverride),
        Endpoint(.get, "/v1/staff/{id}/time-off", .catalogueRead,
                 query: ["from"], answers: [200: .json("TimeOffPage")],
                 CatalogueHandlers.listTimeOff),
        Endpoint(.post, "/v1/staff/{id}/time-off", .catalogueWrite,
                 body: .json("TimeOffInput"), answers: [201: .json("TimeOff")],
                 CatalogueHandlers.addTimeOff),
        Endpoint(.delete, "/v1/time-off/{id}", .catalogueWrite,
                 answers: [204: .empty],
                 CatalogueHandlers.removeTimeOff),
        Endpoint(.get, "/v1/resources", .catalogueRead,
                 query: ["branch", "include_inactive"], answers: [200: .json("ResourcePage")],
                 CatalogueHandlers.listResources),
        Endpoint(.post, "/v1/resources", .catalogueWrite,
                 body: .json("ResourceInput"), answers: [201: .json("Resource")],
                 CatalogueHandlers.createResource),
        Endpoint(.get, "/v1/resources/{id}", .catalogueRead,
                 answers: [200: .json("Resource")],
                 CatalogueHandlers.getResource),
        Endpoint(.put, "/v1/resources/{id}", .catalogueWrite,
                 body: .json("ResourceInput"), answers: [200: .json("Resource")],
                 CatalogueHandlers.replaceResource),

        // Availability and appointments
        Endpoint(.get, "/v1/availability", .catalogueRead,
                 query: [.required("service"), .required("date"), "staff", "days", "branch"], answers: [200: .json("Availability")],
                 BookingHandlers.availability),
        Endpoint(.post, "/v1/appointments", .book,
                 body: .json("BookingInput"), answers: [201: .json("Appointment")],
                 BookingHandlers.create),
        Endpoint(.get, "/v1/appointments", .appointmentsRead,
                 query: [.required("from"), .required("to"), "staff", "client", "branch", "status", "limit", "cursor"], answers: [200: .json("AppointmentPage")],
                 BookingHandlers.list),
        Endpoint(.get, "/v1/appointments/{id}", .appointmentsRead,
                 answers: [200: .json("Appointment")],
                 BookingHandlers.get),
        Endpoint(.patch, "/v1/appointments/{id}", .appointmentsManage,
                 body: .json("AppointmentPatch"), answers: [200: .json("Appointment")],
                 BookingHandlers.patch),
        Endpoint(.get, "/v1/appointments/{id}/events", .appointmentsRead,
                 answers: [200: .json("AppointmentEventPage")],
                 BookingHandlers.history),
        Endpoint(.post, "/v1/appointments/{id}/{action}", .appointmentsManage,
                 body: .optionalJSON("AppointmentActionInput"), answers: [200: .json("Appointment")],
                 BookingHandlers.action),
        Endpoint(.post, "/v1/series", .appointmentsManage,
                 body: .json("SeriesInput"), answers: [201: .json("SeriesReport")],
                 BookingHandlers.createSeries),
        Endpoint(.get, "/v1/series/{id}", .appointmentsRead,
                 answers: [200: .json("AppointmentPage")],
                 BookingHandlers.getSeries),
        Endpoint(.post, "/v1/series/{id}/cancel", .appointmentsManage,
                 body: .json("SeriesCancelInput"), answers: [200: .json("SeriesCancelled")],
                 BookingHandlers.cancelSeries),
        Endpoint(.post, "/v1/series/{id}/move", .appointmentsManage,
                 body: .json("SeriesMoveInput"), answers: [200: .json("SeriesReport")],
                 BookingHandlers.moveSeries),
        Endpoint(.get, "/v1/waitlist", .appointmentsRead,
                 query: ["branch"], answers: [200: .json("WaitlistPage")],
                 BookingHandlers.listWaitlist),
        Endpoint(.post, "/v1/waitlist", .appointmentsManage,
                 body: .json("WaitlistInput"), answers: [201: .json("WaitlistEntry")],
                 BookingHandlers.joinWaitlist),
        Endpoint(.get, "/v1/waitlist/{id}", .appointmentsRead,
                 answers: [200: .json("WaitlistEntry")],
                 BookingHandlers.getWaitlistEntry),
        Endpoint(.post, "/v1/waitlist/{id}/{action}", .appointmentsManage,
                 body: .optionalJSON("EmptyInput"), answers: [200: .json("WaitlistEntry"), 201: .json("Appointment")],
                 BookingHandlers.waitlistAction),
        Endpoint(.get, "/v1/conflicts", .conflictsRead,
                 query: ["include_accepted"], answers: [200: .json("ConflictPage")],
                 BookingHandlers.listConflicts),
        Endpoint(.post, "/v1/conflicts/{id}/resolve", .conflictsResolve,
                 body: .json("ConflictResolveInput"), answers: [200: .json("ConflictPage")],
                 BookingHandlers.resolveConflict),

        // Guests, by tracking token
        Endpoint(.get, "/v1/bookings/{token}", .open,
                 answers: [200: .json("Appointment")],
                 GuestHandlers.get),
        Endpoint(.post, "/v1/bookings/{token}/cancel", .open,
                 body: .inline(required: false), answers: [200: .json("Appointment")],
                 GuestHandlers.cancel),
        Endpoint(.post, "/v1/bookings/{token}/reschedule", .open,
                 body: .inline(required: true), answers: [200: .json("Appointment")],
                 GuestHandlers.reschedule),

        // Clients
        Endpoint(.get, "/v1/clients", .clientsRead,
                 query: ["q", "limit", "cursor"], answers: [200: .json("ClientPage")],
                 ClientHandlers.list),
        Endpoint(.post, "/v1/clients", .clientsWrite,
                 body: .json("ClientInput"), answers: [201: .json("Client")],
                 ClientHandlers.create),
        Endpoint(.get, "/v1/clients/duplicates", .clientsRead,
                 answers: [200: .json("DuplicateSuggestionPage")],
                 ClientHandlers.duplicates),
        Endpoint(.get, "/v1/clients/{id}", .clientsRead,
                 answers: [200: .json("Client")],
                 ClientHandlers.get),
        Endpoint(.patch, "/v1/clients/{id}", .clientsWrite,
                 body: .json("ClientPatch"), answers: [200: .json("Client")],
                 ClientHandlers.update),
        Endpoint(.get, "/v1/clients/{id}/notes", .clientsRead,
                 answers: [200: .json("NotePage")],
                 ClientHandlers.notes),
        Endpoint(.post, "/v1/clients/{id}/notes", .clientsNotes,
                 body: .json("NoteInput"), answers: [201: .json("Note")],
                 ClientHandlers.addNote),
        Endpoint(.get, "/v1/clients/{id}/history", .clientsRead,
                 answers: [200: .json("ClientHistory")],
                 ClientHandlers.history),
        Endpoint(.post, "/v1/clients/{id}/merge", .clientsMerge,
                 body: .json("MergeInput"), answers: [200: .json("Client")],
                 ClientHandlers.merge),
    ]
}

enum SystemHandlers {
    static func health(_ call: Call) async throws -> Reply {
        .json(["status": "ok"])
    }

    static func ready(_ call: Call) async throws -> Reply {
        guard call.api.configuration.isReady(), !call.api.shuttingDown.load(ordering: .relaxed) else {
            throw APIError(status: 503, kind: "not_ready", title: "Not ready", detail: "the box is starting or shutting down")
        }
        _ = try await call.shop.events.latestSequence()
        return .json(["status": "ready"])
    }

    static func metrics(_ call: Call) async throws -> Reply {
        let text = await call.api.configuration.metricsText()
        return Reply(body: Array(text.utf8), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    static func openAPI(_ call: Call) async throws -> Reply {
        Reply(body: call.api.configuration.openAPIDocument)
    }

    static func status(_ call: Call) async throws -> Reply {
        // The node's status closure reads the replica (blocking): off Swift's cooperative threads.
        let status = try await NIOThreadPool.singleton.runIfActive { try call.api.configuration.status() }
        return .json(status)
    }

    struct AuditBody: Encodable {
        var id: String
        var at: String
        var site: String
        var device: String
        var deviceName: String
        var person: String?
        var personName: String?
        var role: String
        var operation: String
        var requestId: String
    }

    static func audit(_ call: Call) async throws -> Reply {
        let query = call.query()
        let limit = query.int("limit", range: 1...500) ?? 100
        try query.validate()
        let events = try await call.shop.audit.events(limit: limit)
        return .json(Page(items: events.map {
            AuditBody(id: $0.id, at: call.zones.format($0.at, branch: nil), site: $0.site, device: $0.deviceID, deviceName: $0.deviceName,
                      person: $0.personID.isEmpty ? nil : $0.personID, personName: $0.personName.isEmpty ? nil : $0.personName,
                      role: $0.role, operation: $0.operation, requestId: $0.requestID)
        }, nextCursor: nil))
    }

    struct MeBody: Encodable {
        var device: DeviceBody
        var person: PersonBody?
        var role: String
        var permissions: [String]
        var homeBranch: String?
    }

    static func me(_ call: Call) async throws -> Reply {
        guard let principal = call.principal else { throw APIError.unauthenticated("no device") }
        return .json(MeBody(device: DeviceBody(principal.device, zones: call.zones), person: principal.person.map { PersonBody($0, zones: call.zones) },
                            role: principal.role.rawValue,
                            permissions: Permission.allCases.filter { $0 != .open && $0.isGranted(to: principal.role) }.map(\.rawValue),
                            homeBranch: call.shop.homeBranch?.rawValue))
    }
}

enum AccessHandlers {
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
        try body.validate()
        switch try await call.shop.access.claimPairing(secret: secret ?? "") {
        case .pending(let request):
            return .json(Claimed(status: "pending", expiresAt: call.zones.format(request.expiresAt, branch: nil)), status: 202)
        case .paired(let device, let token):
            return .json(Claimed(status: "paired", device: DeviceBody(device, zones: call.zones), token: token), status: 200)
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
        return .json(Page(items: people.map { PersonBody($0, zones: call.zones) }, nextCursor: nil))
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
        return .json(PersonBody(person, zones: call.zones), status: 201, location: "/v1/people/\(person.id)")
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
        return .json(PersonBody(person, zones: call.zones))
    }

    struct SessionBody: Encodable {
        var token: String
        var person: PersonBody
        var role: String
        var expiresAt: String
    }

    static func startSession(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let person = body.id("person", required: true, as: PersonID.self)
        let pin = body.string("pin", required: true, maxLength: 8)
        try body.validate()
        guard let person, let pin, let device = call.principal?.device else { throw APIError.validation([]) }
        guard device.role != .kiosk else { throw APIError.forbidden("people do not sign in on a kiosk") }
        let policy = call.api.configuration.access
        let session = try await call.shop.access.startSession(person: person, pin: pin, device: device, policy: policy, as: call.acting)
        let principal = Principal(device: device, person: session.person)
        return .json(SessionBody(token: session.token, person: PersonBody(session.person, zones: call.zones), role: principal.role.rawValue,
                                 expiresAt: call.zones.format(session.expiresAt, branch: nil)), status: 201)
    }

    static func endSession(_ call: Call) async throws -> Reply {
        guard let token = call.request.headers[HTTPField.Name("Edgenode-Session")!] else {
            throw APIError(status: 400, kind: "no_session", title: "No session", detail: "send the session token in the Edgenode-Session header")
        }
        try await call.shop.access.endSession(token: token)
        return .noContent
    }
}
