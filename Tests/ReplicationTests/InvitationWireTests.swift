import Foundation
import Testing
@testable import Replication

/// Invitations, invitation tokens, join requests and sealed snapshots (docs/relay-protocol.md §12, §13).
@Suite("Invitation and snapshot wire formats")
struct InvitationWireTests {
    static let owner = SigningKey(seed: [UInt8](repeating: 2, count: 32))!
    static let invitationKey = SigningKey(seed: [UInt8](repeating: 3, count: 32))!
    static let box = SigningKey(seed: [UInt8](repeating: 4, count: 32))!
    static let now: Int64 = 1_790_000_000_000

    static func invitation(hours: Int64 = 24, branch: String = "018bcfe5-6800-7000-8000-000000000001") throws -> Invitation {
        try Invitation.issue(by: owner, invitationKey: invitationKey.publicKey, role: "box", branch: branch, relayURL: "http://relay.example:8480",
                             issuedAt: now, notAfter: now + hours * 3_600_000)
    }

    @Test("base64url without padding: the RFC 4648 vectors, and strict decoding", arguments: [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ])
    func base64URL(plain: String, encoded: String) {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(Base64URL.decode(encoded) == Array(plain.utf8))
    }

    @Test("base64url refuses padding, other alphabets, impossible lengths and non-zero spare bits", arguments: ["Zg==", "Zm9v+", "Zm9v/", "Z", "Zh", "Zm9", "Zm 9v"])
    func base64URLStrict(text: String) {
        #expect(Base64URL.decode(text) == nil)
        #expect(Base64URL.decode("_-8") == [0xff, 0xef])
    }

    @Test("an invitation round-trips, names its business and id, and is valid until not_after")
    func invitationRoundTrip() throws {
        let invitation = try Self.invitation()
        let decoded = try Invitation.decode(invitation.encoded)
        #expect(decoded == invitation)
        #expect(decoded.business == BusinessID(ownerKey: Self.owner.publicKey))
        #expect(decoded.id == SiteID(publicKey: Self.invitationKey.publicKey))
        #expect(decoded.isValid(at: Self.now + 24 * 3_600_000) && !decoded.isValid(at: Self.now + 24 * 3_600_000 + 1))
        #expect(Array(invitation.encoded[0..<5]) == Array("EDIV".utf8) + [1])
    }

    @Test("an invitation valid longer than 7 days, ending before it begins or with a bad role is refused")
    func invitationLimits() throws {
        #expect(throws: RelayWireError.self) { try Self.invitation(hours: 7 * 24 + 1) }
        _ = try Self.invitation(hours: 7 * 24)
        #expect(throws: RelayWireError.self) {
            try Invitation.issue(by: Self.owner, invitationKey: Self.invitationKey.publicKey, role: "box", branch: "", relayURL: "http://r",
                                 issuedAt: Self.now, notAfter: Self.now - 1)
        }
        #expect(throws: RelayWireError.self) {
            try Invitation.issue(by: Self.owner, invitationKey: Self.invitationKey.publicKey, role: "bo x", branch: "", relayURL: "http://r",
                                 issuedAt: Self.now, notAfter: Self.now)
        }
        #expect(throws: RelayWireError.self) {
            try Invitation.issue(by: Self.owner, invitationKey: Self.invitationKey.publicKey, role: "box", branch: "", relayURL: "",
                                 issuedAt: Self.now, notAfter: Self.now)
        }
    }

    @Test("any changed byte of an invitation is refused; so are truncation and trailing bytes")
    func invitationTampering() throws {
        let bytes = try Self.invitation().encoded
        for index in bytes.indices {
            var tampered = bytes
            tampered[index] ^= 0x01
            #expect(throws: RelayWireError.self, "byte \(index)") { try Invitation.decode(tampered) }
        }
        for length in [0, 4, 5, 84, bytes.count - 1] {
            #expect(throws: RelayWireError.self) { try Invitation.decode(Array(bytes.prefix(length))) }
        }
        #expect(throws: RelayWireError.self) { try Invitation.decode(bytes + [0]) }
    }

    @Test("a token round-trips through its text, also pasted with spaces and line breaks around it")
    func tokenRoundTrip() throws {
        let token = InvitationToken(invitation: try Self.invitation(), key: Self.invitationKey)
        #expect(token.text.hasPrefix("edgenode-invite-1:"))
        #expect(!token.text.contains("=") && !token.text.contains("+") && !token.text.contains("/"))
        let parsed = try InvitationToken.parse("  " + token.text + "\n")
        #expect(parsed.invitation == token.invitation)
        #expect(parsed.key.publicKey == Self.invitationKey.publicKey)
    }

    @Test("a tampered, truncated, foreign or future token is refused with a message that says which")
    func tokenRefusals() throws {
        let token = InvitationToken(invitation: try Self.invitation(), key: Self.invitationKey)
        let payload = Base64URL.decode(String(token.text.dropFirst(InvitationToken.prefix.count)))!
        func text(_ bytes: [UInt8]) -> String { InvitationToken.prefix + Base64URL.encode(bytes) }
        func message(_ text: String) -> (RelayWireError.Code, String) {
            do {
                _ = try InvitationToken.parse(text)
                return (.malformed, "accepted")
            } catch { return (error.code, error.message) }
        }
        var branchChanged = payload
        branchChanged[90] ^= 0x01 // inside the branch string: the owner's signature breaks
        #expect(message(text(branchChanged)).0 == .badSignature)
        #expect(message(text(branchChanged)).1.contains("altered"))
        var seedChanged = payload
        seedChanged[seedChanged.count - 1] ^= 0x01 // another key than the invitation's
        #expect(message(text(seedChanged)).0 == .badSignature)
        #expect(message(text(Array(payload.dropLast()))).1.contains("damaged"))
        #expect(message(String(token.text.dropLast(3))).0 == .malformed)
        #expect(message("edgenode-invite-2:" + Base64URL.encode(payload)).0 == .unsupportedVersion)
        #expect(message("hello").1.contains("not an edgenode invitation token"))
        #expect(message(token.text + "=").0 == .malformed)
    }

    @Test("a join request carries both signatures; another invitation key, a changed byte or the invitation key as box key is refused")
    func joinRequest() throws {
        let business = BusinessID(ownerKey: Self.owner.publicKey)
        let request = try JoinRequest.make(business: business, invitation: Self.invitationKey, box: Self.box, label: "box-2 · Сатпаева", requestedAt: Self.now)
        let decoded = try JoinRequest.decode(request.encoded)
        #expect(decoded == request)
        #expect(decoded.boxSite == SiteID(publicKey: Self.box.publicKey))
        #expect(decoded.invitationID == SiteID(publicKey: Self.invitationKey.publicKey))
        #expect(decoded.label == "box-2 · Сатпаева")
        for index in request.encoded.indices {
            var tampered = request.encoded
            tampered[index] ^= 0x01
            #expect(throws: RelayWireError.self, "byte \(index)") { try JoinRequest.decode(tampered) }
        }
        // Signed by some other key than the invitation's it names.
        var forged = Array(request.encoded.dropLast(64))
        forged += SigningKey.generate().sign(Array(request.encoded.dropLast(128)))
        #expect { try JoinRequest.decode(forged) } throws: { ($0 as? RelayWireError)?.code == .badSignature }
        #expect(throws: RelayWireError.self) { try JoinRequest.make(business: business, invitation: Self.box, box: Self.box, label: "", requestedAt: 0) }
        let long = try JoinRequest.make(business: business, invitation: Self.invitationKey, box: Self.box, label: String(repeating: "ж", count: 50), requestedAt: 0)
        #expect(long.label.utf8.count <= 64)
    }

    @Test("a sealed snapshot round-trips, opens only with its key and refuses tampering")
    func sealedSnapshot() throws {
        let business = TestBusiness()
        let producer = SigningKey.generate()
        let store = try business.makeReplica(key: producer)
        try store.write { try $0.insert("clients", ["id": .text("018bcfe5-6800-7000-8000-000000000001"), "name": .text("Aigerim")]) }
        let vector = store.versionVector
        let snapshot = try store.makeSnapshot()
        let key = DataKey.generate(id: DataKeyID(2))
        let sealed = try SealedSnapshot.seal(snapshot, business: store.business, vector: vector, producer: producer, dataKey: key, createdAt: Self.now)
        let decoded = try SealedSnapshot.decode(sealed.bytes, maxBytes: 1 << 20)
        #expect(decoded.vector == vector && decoded.producer == store.site && decoded.keyID == DataKeyID(2) && decoded.createdAt == Self.now)
        #expect(try decoded.open(producerKey: producer.publicKey, keyring: DataKeyring([key])) == snapshot)
        #expect(try decoded.open(with: DataKeyring([key])) == snapshot)
        #expect { try decoded.open(with: DataKeyring([DataKey.generate(id: DataKeyID(2))])) } throws: { ($0 as? RelayWireError)?.code == .decryptionFailed }
        #expect { try decoded.open(with: DataKeyring([DataKey.generate(id: DataKeyID(1))])) } throws: { ($0 as? RelayWireError)?.code == .unknownDataKey }
        #expect { try decoded.open(producerKey: SigningKey.generate().publicKey, keyring: DataKeyring([key])) } throws: {
            ($0 as? RelayWireError)?.code == .badSignature
        }
        #expect { try SealedSnapshot.decode(sealed.bytes, maxBytes: sealed.bytes.count - 1) } throws: { ($0 as? RelayWireError)?.code == .tooLarge }
        // A changed header byte (the vector in clear) breaks the signature and the AEAD tag.
        var tampered = sealed.bytes
        tampered[80] ^= 0x01
        if let changed = try? SealedSnapshot.decode(tampered, maxBytes: .max) {
            #expect(!changed.verifySignature(with: producer.publicKey))
            #expect(throws: RelayWireError.self) { try changed.open(with: DataKeyring([key])) }
        }
        for length in [0, 76, 100, sealed.bytes.count - 1] {
            #expect(throws: RelayWireError.self) { try SealedSnapshot.decode(Array(sealed.bytes.prefix(length)), maxBytes: .max) }
        }
        // A snapshot of another replica sealed under this producer's header is refused after decryption.
        let other = try business.makeReplica().makeSnapshot()
        let mislabelled = try SealedSnapshot.seal(other, business: store.business, vector: vector, producer: producer, dataKey: key, createdAt: Self.now)
        #expect { try mislabelled.open(with: DataKeyring([key])) } throws: { ($0 as? RelayWireError)?.code == .mismatchedPayload }
        #expect(Array(sealed.bytes[0..<5]) == Array("EDSS".utf8) + [1])
    }
}
