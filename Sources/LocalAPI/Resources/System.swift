import Domain
import HTTPTypes
import Hummingbird
import NIOPosix

// The system resource: Health, readiness, metrics, the OpenAPI document, status, audit, the caller, live events.

extension SystemHandlers {
    /// Health, readiness, metrics, the OpenAPI document, status, audit, the caller, live events.
    static let endpoints: [Endpoint] = [
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
        Endpoint(.get, "/v1/connectivity", .events,
                 answers: [200: .json("Connectivity")],
                 SystemHandlers.connectivity),
        Endpoint(.get, "/v1/events", .events,
                 query: ["after"], answers: [200: .media("text/event-stream")],
                 EventStream.handle),
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
        /// The signed-in person's staff member ("my day"), if they are one.
        var staff: String?
        /// The home branch's name, zone, currency and locale, for formatting times and money.
        var branch: MeBranch?
        /// The branches this caller may report on (empty when none; see docs/reports.md, "Who sees what").
        var reportBranches: [String]
    }

    struct MeBranch: Encodable {
        var id: String
        var name: String
        var timeZone: String
        var currency: String
        var locale: String
    }

    static func me(_ call: Call) async throws -> Reply {
        guard let principal = call.principal else { throw APIError.unauthenticated("no device") }
        var branch: MeBranch?
        if let home = call.shop.homeBranch {
            do {
                let found = try await call.shop.catalogue.branch(home)
                branch = MeBranch(id: found.id.rawValue, name: found.name, timeZone: found.timeZone, currency: found.currency, locale: found.locale)
            } catch let error as DomainError where error.code == .notFound {
                branch = nil   // the home branch is not in the replica yet (a box still joining)
            }
        }
        var person: PersonBody?
        if let signedIn = principal.person {
            person = PersonBody(signedIn, zones: call.zones, reportAccess: try await call.shop.reports.access(of: signedIn.id))
        }
        return .json(MeBody(device: DeviceBody(principal.device, zones: call.zones), person: person,
                            role: principal.role.rawValue,
                            permissions: Permission.allCases.filter { $0 != .open && $0.isGranted(to: principal.role) }.map(\.rawValue),
                            homeBranch: call.shop.homeBranch?.rawValue, staff: principal.person?.staffID?.rawValue, branch: branch,
                            reportBranches: try await ReportHandlers.reportBranches(call)))
    }

    /// `GET /v1/connectivity`: the truth for the web app's status line, from the node's status
    /// document without its secrets or internals (keys, addresses, errors, the data directory).
    static func connectivity(_ call: Call) async throws -> Reply {
        try call.query().validate()
        let status = try await NIOThreadPool.singleton.runIfActive { try call.api.configuration.status() }
        return .json(Connectivity.document(status: status, now: call.zones.format(call.shop.now, branch: nil)))
    }
}

/// The projection of the node's status for `GET /v1/connectivity`.
enum Connectivity {
    static func document(status: [String: StatusValue], now: String) -> [String: StatusValue] {
        func field(_ object: [String: StatusValue], _ key: String) -> StatusValue { object[key] ?? .null }
        var relay: [String: StatusValue] = ["configured": .bool(false), "state": .null, "reachable": .bool(false), "since": .null,
                                            "last_push": .null, "last_pull": .null, "pending_push": .null, "pending_pull": .null, "clock_warning": .null]
        if case .object(let uplink)? = status["uplink"] {
            relay = [
                "configured": .bool(true),
                "state": field(uplink, "state"),
                "reachable": .bool(field(uplink, "connected") == .bool(true)),
                "since": field(uplink, "state_since"),
                "last_push": field(uplink, "last_push"),
                "last_pull": field(uplink, "last_pull"),
                "pending_push": field(uplink, "pending_push"),
                "pending_pull": field(uplink, "pending_pull"),
                "clock_warning": field(uplink, "clock_warning"),
            ]
        }
        var boxes: [StatusValue] = []
        if case .array(let peers)? = status["peers"] {
            for case .object(let peer) in peers {
                boxes.append(.object([
                    "name": field(peer, "name"),
                    "branch": field(peer, "branch"),
                    "state": field(peer, "state"),
                    "last_synced_at": field(peer, "last_sync"),
                    "pending_to_peer": field(peer, "pending_to_peer"),
                    "pending_from_peer": field(peer, "pending_from_peer"),
                ]))
            }
        }
        return ["box_time": .string(now), "relay": .object(relay), "boxes": .array(boxes)]
    }
}
