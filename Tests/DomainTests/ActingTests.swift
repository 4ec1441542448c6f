import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

/// Who acts is explicit on every write of the components, and the audit trail names the domain operation.
@Suite("Acting and the audit trail")
struct ActingTests {
    @Test("a principal's write is audited with its device, person, role and the domain operation; a system write is named but not audited")
    func explicitActing() async throws {
        let fixture = try ShopFixture()
        let shop = fixture.shop
        let (device, _) = try await shop.access.registerDevice(name: "Front desk tablet", role: .frontDesk, pairedBy: "test")
        let person = try shop.createPerson(name: "Dana", role: .frontDesk, pin: "4821")
        let acting = Acting.principal(Principal(device: device, person: person), requestID: "request-1")
        let client = try await shop.clients.create(ClientDraft(name: "Aigerim", phone: "+7 701 123 45 67"), branch: fixture.branchID, as: acting)
        let note = try await shop.clients.addNote(to: client.id, body: "prefers mornings", as: acting)
        #expect(note.author == "Dana (Front desk tablet)")

        let trail = try await shop.audit.events()
        #expect(trail.map(\.operation) == ["client.note.add", "client.create"])
        for event in trail {
            #expect(event.deviceID == device.id.rawValue && event.personID == person.id.rawValue && event.role == Role.frontDesk.rawValue)
            #expect(event.requestID == "request-1")
        }

        // The box's own upkeep names itself in the history and writes no audit row.
        try await shop.clients.addNote(to: client.id, body: "reminder sent", as: .system("reminders"))
        #expect(try await shop.clients.notes(of: client.id).last?.author == "reminders")
        #expect(try await shop.audit.events().count == 2)
    }
}
