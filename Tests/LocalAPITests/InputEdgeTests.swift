import Domain
import Foundation
import Testing
@testable import LocalAPI

/// Hostile input found from outside (issue 14, items 5 and 8).
@Suite("Local API input edges")
struct InputEdgeTests {
    @Test("control characters: refused in names and phones (422, nothing written); notes keep line breaks and tabs but never NUL; what is stored is what was sent")
    func controlCharacters() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let before = fixture.shop.store.versionVector
            for (field, value) in [("name", "before\u{0}after"), ("name", "tab\there"), ("name", "bell\u{7}"), ("phone", "+7701\u{0}1234567"), ("email", "a\u{85}@b.kz")] {
                var object: [String: Any] = ["name": "Aruzhan"]
                object[field] = value
                let refused = try await client.send(.post, "/v1/clients", as: .frontDesk, json: body(object))
                #expect(refused.status == 422, "\(field): \(value.debugDescription)")
                #expect(refused["type"] as? String == "urn:edgenode:problem:validation_failed")
                let errors = refused["errors"] as? [[String: Any]] ?? []
                #expect(errors.compactMap { $0["field"] as? String } == [field])
                #expect((errors.first?["message"] as? String)?.contains("control characters") == true)
            }
            let note = try await client.send(.post, "/v1/clients/\(fixture.client.rawValue)/notes", as: .frontDesk,
                                             json: body(["body": "nul\u{0}inside"]))
            #expect(note.status == 422)
            #expect(fixture.shop.store.versionVector == before, "a refused request wrote something")

            let text = "first line\nsecond line\r\n\tindented — «ok» 👍"
            let created = try await client.send(.post, "/v1/clients", as: .frontDesk, json: body(["name": "Aruzhan Bekova", "preferences": text]))
            #expect(created.status == 201)
            let id = try #require(created["id"] as? String)
            let read = try await client.send(.get, "/v1/clients/\(id)", as: .frontDesk)
            #expect(read["name"] as? String == "Aruzhan Bekova")
            #expect(read["preferences"] as? String == text)
            #expect(created["preferences"] as? String == read["preferences"] as? String)
            let added = try await client.send(.post, "/v1/clients/\(id)/notes", as: .frontDesk, json: body(["body": text]))
            #expect(added.status == 201)
            let notes = try await client.send(.get, "/v1/clients/\(id)/notes", as: .frontDesk)
            #expect(notes.items.compactMap { $0["body"] as? String } == [text])
        }
    }

    @Test("a problem lists at most 20 field errors and counts the rest, in errors and detail: 10,000 unknown parameters on /health, 300 unknown fields in a body")
    func fieldErrorsAreCapped() async throws {
        let fixture = try APIFixture()
        try await fixture.test { client in
            let query = (0..<10_000).map { "p\($0)=" }.joined(separator: "&")
            let health = try await client.send(.get, "/health?\(query)", as: nil)
            #expect(health.status == 400)
            #expect(health["type"] as? String == "urn:edgenode:problem:invalid_parameter")
            #expect((health["errors"] as? [[String: Any]])?.count == 20)
            #expect(health["errors_omitted"] as? Int == 9_980)
            #expect((health["detail"] as? String)?.hasSuffix("; and 9980 more") == true)
            #expect(health.text.utf8.count < 4_000, "the answer is \(health.text.utf8.count) bytes")

            var object: [String: Any] = ["name": "Aruzhan"]
            for index in 0..<300 { object["unknown_\(index)"] = index }
            object[String(repeating: "x", count: 5_000)] = 1
            let fields = try await client.send(.post, "/v1/clients", as: .frontDesk, json: body(object))
            #expect(fields.status == 422)
            let errors = fields["errors"] as? [[String: Any]] ?? []
            #expect(errors.count == 20)
            #expect(fields["errors_omitted"] as? Int == 281)
            #expect(errors.allSatisfy { ($0["field"] as? String)?.count ?? 0 <= 201 })
            #expect(fields.text.utf8.count < 8_000, "the answer is \(fields.text.utf8.count) bytes")

            let one = try await client.send(.post, "/v1/clients", as: .frontDesk, json: body(["name": "Aruzhan", "colour": "red"]))
            #expect((one["errors"] as? [[String: Any]])?.count == 1)
            #expect(one["errors_omitted"] == nil)
        }
    }
}
