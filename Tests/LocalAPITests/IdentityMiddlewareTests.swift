import Domain
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import LocalAPI

/// The identity middleware puts who sends a request on its context before any handler runs.
@Suite("Identity on the request context")
struct IdentityMiddlewareTests {
    /// A router with only the middleware and a probe that answers what the context says.
    static func withProbe(_ fixture: APIFixture, _ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router(context: APIContext.self)
        router.add(middleware: IdentityMiddleware(api: fixture.api))
        router.get("/probe") { _, context -> String in
            switch context.identity {
            case .anonymous: return "anonymous"
            case .authenticated(let principal): return "device \(principal.device.id.rawValue) role \(principal.role.rawValue) person \(principal.person?.name ?? "-")"
            case .refused(let error): return "refused \(error.status) \(error.kind)"
            }
        }
        try await Application(router: router, logger: quietLogger).test(.router, body)
    }

    static func ask(_ client: any TestClientProtocol, _ headers: HTTPFields = [:]) async throws -> String {
        try await client.execute(uri: "/probe", method: .get, headers: headers, body: nil) { String(buffer: $0.body) }
    }

    @Test("no credential is anonymous; a device token names the device and its role; a session adds the person; a bad or revoked token is refused with its reason")
    func identities() async throws {
        let fixture = try APIFixture()
        let frontDesk = try #require(fixture.devices[.frontDesk])
        let person = try fixture.shop.createPerson(name: "Aliya", role: .manager, pin: "4821")
        let session = try fixture.shop.startSession(person: person.id, pin: "4821", device: frontDesk, policy: AccessPolicy())
        let revoked = try #require(fixture.devices[.kiosk])
        _ = try fixture.shop.revokeDevice(revoked.id, by: "test")
        try await Self.withProbe(fixture) { client in
            let bearer: HTTPFields = [.authorization: "Bearer \(fixture.tokens[.frontDesk]!)"]
            var signedIn = bearer
            signedIn[HTTPField.Name("Edgenode-Session")!] = session.token
            let answers = [
                try await Self.ask(client),
                try await Self.ask(client, bearer),
                try await Self.ask(client, signedIn),
                try await Self.ask(client, [.authorization: "Bearer not-a-token"]),
                try await Self.ask(client, [.authorization: "Basic abc"]),
                try await Self.ask(client, [.authorization: "Bearer \(fixture.tokens[.kiosk]!)"]),
            ]
            #expect(answers == [
                "anonymous",
                "device \(frontDesk.id.rawValue) role front_desk person -",
                "device \(frontDesk.id.rawValue) role manager person Aliya",
                "refused 401 unauthenticated",
                "refused 401 unauthenticated",
                "refused 401 unauthenticated",
            ])
        }
    }

    @Test("an open endpoint ignores a refused credential; a protected one answers its reason")
    func openIgnoresRefused() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let health = try await client.send(.get, "/health", as: nil, token: "not-a-token")
            #expect(health.status == 200)
            let me = try await client.send(.get, "/v1/me", as: nil, token: "not-a-token")
            #expect(me.status == 401)
        }
    }
}
