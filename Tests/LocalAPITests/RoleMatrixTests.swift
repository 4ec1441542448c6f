import Domain
import Foundation
import HTTPTypes
import LocalAPI
import Testing

@Suite("Role matrix")
struct RoleMatrixTests {
    struct Row: Hashable {
        var method: String
        var path: String
        var permission: String
        var allowed: [Role: Bool]
    }

    /// The `## Role matrix` table of docs/api.md.
    static func documentedMatrix() throws -> [Row] {
        let text = try String(contentsOfFile: packageRoot + "/docs/api.md", encoding: .utf8)
        guard let start = text.range(of: "## Role matrix") else { return [] }
        let roles: [Role] = [.owner, .manager, .staff, .frontDesk, .kiosk]
        var rows: [Row] = []
        var inTable = false
        for line in text[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("|") {
                inTable = true
                let cells = trimmed.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                guard cells.count == 8, cells[0] != "Method", !cells[0].hasPrefix("-") else { continue }
                rows.append(Row(method: cells[0], path: cells[1].replacingOccurrences(of: "`", with: ""), permission: cells[2],
                                allowed: Dictionary(uniqueKeysWithValues: zip(roles, cells[3...7].map { $0 == "✓" }))))
            } else if inTable {
                break
            }
        }
        return rows
    }

    @Test("docs/api.md lists exactly the router's endpoints with their permissions, and the permissions' roles")
    func documentationMatchesCode() throws {
        let documented = try Self.documentedMatrix()
        let code = LocalAPI.endpointTable
        #expect(documented.count == code.count)
        #expect(documented.map { "\($0.method) \($0.path)" } == code.map { "\($0.method) \($0.path)" })
        for (row, endpoint) in zip(documented, code) {
            #expect(row.permission == endpoint.permission.rawValue, "\(row.method) \(row.path)")
            for role in Role.allCases {
                #expect(row.allowed[role] == endpoint.permission.isGranted(to: role), "\(row.method) \(row.path) for \(role.rawValue)")
            }
        }
    }

    @Test("every endpoint with every role: 403 exactly where the matrix says ✗; 401 without a token on non-open endpoints")
    func walkEveryEndpoint() async throws {
        let fixture = try APIFixture()
        let rows = try Self.documentedMatrix()
        #expect(!rows.isEmpty)
        let booking = try fixture.shop.book(BookingRequest(branchID: fixture.branch, parts: [VisitPart(offeringID: fixture.haircut, staffID: fixture.aigerim)],
                                                           start: Instant(iso8601: "2026-03-03T10:00:00+05:00")!, clientID: fixture.client))
        let victim = try fixture.shop.registerDevice(name: "victim", role: .staff, pairedBy: "test").device
        let person = try fixture.shop.createPerson(name: "Someone", role: .staff, pin: "1234")
        @Sendable func concrete(_ path: String) -> String {
            var result = path
            let id: String
            if path.hasPrefix("/v1/appointments") { id = booking.appointment.id.rawValue }
            else if path.hasPrefix("/v1/clients") { id = fixture.client.rawValue }
            else if path.hasPrefix("/v1/staff") { id = fixture.aigerim.rawValue }
            else if path.hasPrefix("/v1/services") { id = fixture.haircut.rawValue }
            else if path.hasPrefix("/v1/branches") { id = fixture.branch.rawValue }
            else if path.hasPrefix("/v1/devices") { id = victim.id.rawValue }
            else if path.hasPrefix("/v1/people") { id = person.id.rawValue }
            else { id = "0190f5a0-0000-7000-8000-000000000000" }
            result = result.replacingOccurrences(of: "{id}", with: id)
            result = result.replacingOccurrences(of: "{service}", with: fixture.haircut.rawValue)
            result = result.replacingOccurrences(of: "{date}", with: "2026-03-10")
            result = result.replacingOccurrences(of: "{action}", with: "confirm")
            result = result.replacingOccurrences(of: "{token}", with: "aaaaaaaaaaaaaaaaaaaaaaaaaa")
            return result
        }
        try await fixture.test { client in
            for row in rows where row.path != "/v1/events" {
                let method = HTTPRequest.Method(row.method)!
                let hasBody = ["POST", "PUT", "PATCH"].contains(row.method)
                for role in Role.allCases {
                    // Forgetting revokes the calling device: a throw-away device of the role calls it.
                    let token = row.path == "/v1/device/forget" ? try fixture.shop.registerDevice(name: "forgetful", role: role, pairedBy: "test").token : nil
                    let response = try await client.send(method, concrete(row.path), as: role, token: token, json: hasBody ? "{}" : nil)
                    if role == .kiosk, "\(row.method) \(row.path)" == "GET /v1/sessions/people" {
                        // `device` lets every device in; the handler refuses a kiosk (kiosks never sign people in).
                        #expect(response.status == 403, "\(row.method) \(row.path) as kiosk: \(response.status)")
                    } else if row.allowed[role] == true {
                        #expect(response.status != 403 && response.status != 401, "\(row.method) \(row.path) as \(role.rawValue): \(response.status) \(response.text)")
                    } else {
                        #expect(response.status == 403, "\(row.method) \(row.path) as \(role.rawValue): \(response.status)")
                        #expect(response["type"] as? String == "urn:edgenode:problem:forbidden")
                    }
                    #expect(response.status < 500, "\(row.method) \(row.path) as \(role.rawValue): \(response.status) \(response.text)")
                }
                let anonymous = try await client.send(method, concrete(row.path), as: nil, json: hasBody ? "{}" : nil)
                if row.permission == "open" {
                    #expect(anonymous.status != 401 && anonymous.status != 403, "\(row.method) \(row.path) anonymously: \(anonymous.status)")
                } else {
                    #expect(anonymous.status == 401, "\(row.method) \(row.path) anonymously: \(anonymous.status)")
                    #expect(anonymous.header("WWW-Authenticate") != nil)
                }
            }
        }
        // The walk itself never revoked a role's own device.
        #expect(try fixture.shop.devices().filter { $0.isRevoked && $0.name != "forgetful" }.map(\.id) == [victim.id])
    }
}
