import Foundation
import PostgresNIO
import Testing
@testable import Relay
@testable import Replication
import TestSupport

/// End-to-end encryption: what boxes push through the relay cannot be found in the relay's storage.
@Suite("Relay storage holds no plaintext")
struct PlaintextSearchTests {
    static let name = "Gulnara Abdrakhmanova"
    static let phone = "+77015550142"
    static let dataKey = DataKey(id: DataKeyID(1), bytes: Sodium.randomBytes(32))!

    /// Pushes changesets booked for a client (name and phone) through a live relay.
    func pushClientBookings<S: RelayStorage>(_ storage: S) async throws {
        try await LiveRelay.with(storage) { relay in
            let client = relay.client()
            let business = TestBusiness()
            let a = business.box(), b = business.box()
            try await client.setUp(business, boxes: [a, b])
            let envelopes = (0..<20).map { _ in a.nextEnvelope(dataKey: Self.dataKey, name: Self.name, phone: Self.phone) }
            // The plaintext really is in what was sealed.
            let inside = try RelayEnvelope.decode(envelopes[0].bytes).open(with: Self.dataKey)
            #expect(Data(inside).range(of: Data(Self.name.utf8)) != nil)
            let reply = try await client.push(envelopes, as: a, business: business.id)
            #expect(reply.json["stored"] as? Int == 20)
            let sealed = try SealedDataKey.seal(Self.dataKey, business: business.id, to: b.key.publicKey, sealer: business.owner)
            _ = try await client.send(.post, API.base(business.id) + "/data-keys", json: ["sealed_key": Data(sealed.bytes).base64EncodedString()],
                                      key: business.owner, business: business.id)
            #expect(try await client.pull(as: b, business: business.id).envelopes.count == 20)
        }
    }

    static var needles: [(String, Data)] {
        [(name, Data(name.utf8)), (phone, Data(phone.utf8)), ("name (first word)", Data("Gulnara".utf8)), ("phone digits", Data("7015550142".utf8)),
         ("data key", Data(dataKey.bytes))]
    }

    @Test("SQLite: the database file and its WAL contain neither the client's name nor phone number nor the data key")
    func sqlite() async throws {
        let directory = temporaryDirectory()
        let storage = try SQLiteRelayStorage(path: directory + "/relay.sqlite", logger: quietLogger)
        try await pushClientBookings(storage)
        var scanned = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))
            scanned += bytes.count
            for (label, needle) in Self.needles {
                #expect(bytes.range(of: needle) == nil, "found the \(label) in \(file)")
            }
        }
        #expect(scanned > 20 * 200)
    }

    @Test("PostgreSQL: no relay table holds the client's name, phone number or the data key", .enabled(if: StorageKind.postgresURL != nil))
    func postgres() async throws {
        let url = try #require(StorageKind.postgresURL)
        let storage = PostgresRelayStorage(configuration: try PostgresRelayStorage.configuration(url: url), logger: quietLogger)
        try await pushClientBookings(storage)
        // A pool runs once: a second one to read the tables.
        let reader = PostgresRelayStorage(configuration: try PostgresRelayStorage.configuration(url: url), logger: quietLogger)
        try await withRunningStorage(reader) { storage in
            var scanned = 0
            for table in ["relay_businesses", "relay_certificates", "relay_revocations", "relay_heads", "relay_envelopes",
                          "relay_acknowledgements", "relay_sealed_keys", "relay_nonces"] {
                // Every row as text (bytea as hex) and every bytea column's raw bytes.
                let rows = try await storage.client.query(PostgresQuery(unsafeSQL: "SELECT convert_to(t::text, 'UTF8') FROM \(table) t"), logger: quietLogger)
                for try await text in rows.decode(Data.self) {
                    scanned += text.count
                    for (label, needle) in Self.needles {
                        #expect(text.range(of: needle) == nil, "found the \(label) in \(table)")
                        #expect(text.range(of: Data(Array(needle).hexString.utf8)) == nil, "found the \(label) (hex) in \(table)")
                    }
                }
            }
            let envelopes = try await storage.client.query("SELECT envelope FROM relay_envelopes", logger: quietLogger)
            for try await bytes in envelopes.decode(Data.self) {
                for (label, needle) in Self.needles { #expect(bytes.range(of: needle) == nil, "found the \(label) in an envelope") }
            }
            #expect(scanned > 20 * 200)
        }
    }
}
