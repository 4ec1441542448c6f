import Foundation
import Testing
@testable import Replication

/// The relay's wire types: envelopes, sealed data keys, signed requests (docs/relay-protocol.md).
@Suite("Relay wire formats")
struct RelayWireTests {
    static let owner = SigningKey(seed: [UInt8](repeating: 2, count: 32))!
    static let author = SigningKey(seed: [UInt8](repeating: 1, count: 32))!
    static var business: BusinessID { BusinessID(ownerKey: owner.publicKey) }

    /// A real signed changeset carrying a client's name and phone number.
    static func changeset(sequence: UInt64 = 1, previousHash: [UInt8] = RelayEnvelope.noPreviousHash) -> SignedChangeset {
        let clock = HLCTimestamp(rawValue: 1_700_000_000_000 << 16)
        let row = RowChange(table: "clients", key: .text("018bcfe5-6800-7000-8000-000000000001"), causalLength: 1,
                            cells: [CellChange(column: "name", value: .text("Aigerim Sultanova"), timestamp: clock),
                                    CellChange(column: "phone", value: .text("+77011234567"), timestamp: clock)])
        return Changeset(business: business, author: SiteID(publicKey: author.publicKey), sequence: sequence, previousHash: previousHash,
                         clockMin: clock, clockMax: clock, rows: [row]).signed(with: author)
    }

    static let key = DataKey(id: DataKeyID(1), bytes: [UInt8](repeating: 7, count: 32))!

    static func envelope(sequence: UInt64 = 1, previousHash: [UInt8] = RelayEnvelope.noPreviousHash) throws -> RelayEnvelope {
        try RelayEnvelope.seal(changeset(sequence: sequence), author: author, previousHash: previousHash, dataKey: key, sealedAt: 1_700_000_000_000)
    }

    @Test("an envelope round-trips: decode, signature, decryption, the changeset inside")
    func roundTrip() throws {
        let changeset = Self.changeset()
        let envelope = try Self.envelope()
        let decoded = try RelayEnvelope.decode(envelope.bytes)
        #expect(decoded == envelope)
        #expect(decoded.business == Self.business)
        #expect(decoded.author == SiteID(publicKey: Self.author.publicKey))
        #expect(decoded.sequence == 1)
        #expect(decoded.sealedAt == 1_700_000_000_000)
        #expect(decoded.keyID == DataKeyID(1))
        #expect(decoded.previousHash == RelayEnvelope.noPreviousHash)
        #expect(decoded.nonce.count == 24)
        #expect(decoded.bytes.count == RelayEnvelope.headerLength + changeset.bytes.count + 16 + 64)
        #expect(decoded.hash == Sodium.blake2b(envelope.bytes, length: 32))
        #expect(decoded.verifySignature(with: Self.author.publicKey))
        #expect(try decoded.open(with: Self.key) == changeset.bytes)
        let inside = try decoded.openChangeset(authorKey: Self.author.publicKey, keyring: DataKeyring([Self.key]))
        #expect(inside == changeset)
        // The payload is encrypted: neither the name nor the phone number appears in the bytes.
        #expect(!Data(envelope.bytes).contains(Data("Aigerim".utf8)))
        #expect(!Data(envelope.bytes).contains(Data("+7701".utf8)))
        // A fresh nonce each time.
        #expect(try Self.envelope().nonce != envelope.nonce)
    }

    @Test("the hash chain: the next envelope names this one's hash")
    func chain() throws {
        let first = try Self.envelope()
        let second = try Self.envelope(sequence: 2, previousHash: first.hash)
        #expect(try RelayEnvelope.decode(second.bytes).previousHash == first.hash)
        #expect(throws: RelayWireError.self) {
            try RelayEnvelope.seal([1, 2, 3], business: Self.business, author: Self.author, sequence: 1, previousHash: first.hash, dataKey: Self.key, sealedAt: 0)
        }
        #expect(throws: RelayWireError.self) {
            try RelayEnvelope.seal([1, 2, 3], business: Self.business, author: Self.author, sequence: 0, previousHash: RelayEnvelope.noPreviousHash, dataKey: Self.key, sealedAt: 0)
        }
    }

    /// Each field of an envelope, by its offset and length.
    static let fields: [(name: String, offset: Int, length: Int)] = [
        ("magic", 0, 4), ("version", 4, 1), ("business", 5, 16), ("author", 21, 16), ("sequence", 37, 8),
        ("sealed at", 45, 8), ("key generation", 53, 4), ("previous hash", 57, 32), ("nonce", 89, 24),
        ("ciphertext length", 113, 4), ("ciphertext", 117, -1), ("signature", -64, 64),
    ]

    @Test("tampering with any field is refused: by the decoder, the signature and the AEAD tag", arguments: fields.map(\.name))
    func tamper(field: String) throws {
        let envelope = try Self.envelope()
        let (_, offset, length) = Self.fields.first { $0.name == field }!
        let start = offset < 0 ? envelope.bytes.count + offset : offset
        let count = length < 0 ? envelope.bytes.count - 64 - start : length
        for position in [start, start + count / 2, start + count - 1] {
            var bytes = envelope.bytes
            bytes[position] ^= 0x01
            guard let decoded = try? RelayEnvelope.decode(bytes) else { continue } // refused structurally
            #expect(!decoded.verifySignature(with: Self.author.publicKey), "a tampered \(field) kept a valid signature")
            if field != "signature" {
                #expect(throws: RelayWireError.self, "a tampered \(field) still decrypted") {
                    _ = try decoded.open(with: DataKeyring([Self.key, DataKey(id: decoded.keyID, bytes: Self.key.bytes)!]))
                }
            } else {
                #expect(try decoded.open(with: Self.key) == Self.changeset().bytes)
            }
            #expect(throws: RelayWireError.self) {
                _ = try decoded.openChangeset(authorKey: Self.author.publicKey, keyring: DataKeyring([Self.key]))
            }
        }
    }

    @Test("a signature from another key, or checked against another key, is refused")
    func wrongAuthorKey() throws {
        let envelope = try Self.envelope()
        let stranger = SigningKey.generate()
        #expect(!envelope.verifySignature(with: stranger.publicKey))
        // A stranger re-signing the bytes does not make a valid envelope of the author.
        var bytes = Array(envelope.signedPart)
        bytes += stranger.sign(bytes)
        let forged = try RelayEnvelope.decode(bytes)
        #expect(!forged.verifySignature(with: Self.author.publicKey))
        #expect(!forged.verifySignature(with: stranger.publicKey)) // the author site is not the stranger's
    }

    @Test("the wrong data key does not open an envelope")
    func wrongDataKey() throws {
        let envelope = try Self.envelope()
        let other = DataKey.generate(id: DataKeyID(1))
        #expect(throws: RelayWireError(.decryptionFailed, "the envelope does not decrypt with data key generation 1")) { try envelope.open(with: other) }
        let rotated = DataKey.generate(id: DataKeyID(2))
        #expect { try envelope.open(with: rotated) } throws: { ($0 as? RelayWireError)?.code == .unknownDataKey }
        #expect { try envelope.open(with: DataKeyring([rotated])) } throws: { ($0 as? RelayWireError)?.code == .unknownDataKey }
    }

    @Test("truncated input and trailing bytes are refused, never a crash")
    func truncated() throws {
        let envelope = try Self.envelope()
        for length in 0..<envelope.bytes.count {
            #expect(throws: RelayWireError.self) { try RelayEnvelope.decode(Array(envelope.bytes.prefix(length))) }
        }
        #expect { try RelayEnvelope.decode(envelope.bytes + [0]) } throws: { ($0 as? RelayWireError)?.code == .malformed }
        #expect { try RelayEnvelope.decode(envelope.bytes, maxBytes: 100) } throws: { ($0 as? RelayWireError)?.code == .tooLarge }
        var version = envelope.bytes
        version[4] = 2
        #expect { try RelayEnvelope.decode(version) } throws: { ($0 as? RelayWireError)?.code == .unsupportedVersion }
    }

    @Test("a payload that names another sequence than its envelope is refused after decryption")
    func mismatchedPayload() throws {
        let changeset = Self.changeset(sequence: 5, previousHash: [UInt8](repeating: 9, count: 32))
        let envelope = try RelayEnvelope.seal(changeset.bytes, business: Self.business, author: Self.author, sequence: 6,
                                              previousHash: [UInt8](repeating: 3, count: 32), dataKey: Self.key, sealedAt: 0)
        #expect { try envelope.openChangeset(authorKey: Self.author.publicKey, keyring: DataKeyring([Self.key])) } throws: {
            ($0 as? RelayWireError)?.code == .mismatchedPayload
        }
        let garbage = try RelayEnvelope.seal([1, 2, 3], business: Self.business, author: Self.author, sequence: 1,
                                             previousHash: RelayEnvelope.noPreviousHash, dataKey: Self.key, sealedAt: 0)
        #expect { try garbage.openChangeset(authorKey: Self.author.publicKey, keyring: DataKeyring([Self.key])) } throws: {
            ($0 as? RelayWireError)?.code == .malformed
        }
    }

    // MARK: Data keys

    @Test("a sealed data key opens only with the recipient box's key")
    func sealedKey() throws {
        let box = SigningKey.generate(), other = SigningKey.generate()
        let key = DataKey.generate(id: DataKeyID(3))
        let sealed = try SealedDataKey.seal(key, business: Self.business, to: box.publicKey, sealer: Self.owner)
        #expect(sealed.bytes.count == SealedDataKey.byteCount)
        let decoded = try SealedDataKey.decode(sealed.bytes)
        #expect(decoded == sealed)
        #expect(decoded.recipientSite == SiteID(publicKey: box.publicKey))
        #expect(decoded.sealer == Self.owner.publicKey)
        #expect(decoded.keyID == DataKeyID(3))
        #expect(try decoded.open(with: box) == key)
        #expect { try decoded.open(with: other) } throws: { ($0 as? RelayWireError)?.code == .wrongRecipient }
        // The key bytes are not visible in the sealed form.
        #expect(!Data(sealed.bytes).contains(Data(key.bytes)))
    }

    @Test("tampered, truncated or re-addressed sealed keys are refused")
    func sealedKeyTamper() throws {
        let box = SigningKey.generate(), other = SigningKey.generate(), relay = SigningKey.generate()
        let key = DataKey.generate(id: DataKeyID(1))
        let sealed = try SealedDataKey.seal(key, business: Self.business, to: box.publicKey, sealer: Self.owner)
        for position in stride(from: 0, to: sealed.bytes.count, by: 7) {
            var bytes = sealed.bytes
            bytes[position] ^= 0x80
            #expect(throws: RelayWireError.self) { try SealedDataKey.decode(bytes) }
        }
        for length in [0, 4, 100, SealedDataKey.byteCount - 1] {
            #expect(throws: RelayWireError.self) { try SealedDataKey.decode(Array(sealed.bytes.prefix(length))) }
        }
        // Someone who re-signs a sealed key with a changed header (another generation) is found
        // out when the box opens it: the sealed content names generation 1.
        var bytes = Array(sealed.bytes.prefix(SealedDataKey.byteCount - 64))
        bytes[24] = 9
        bytes.replaceSubrange(57..<89, with: relay.publicKey.bytes)
        bytes += relay.sign(bytes)
        let resigned = try SealedDataKey.decode(bytes)
        #expect(resigned.sealer == relay.publicKey)
        #expect { try resigned.open(with: box) } throws: { ($0 as? RelayWireError)?.code == .mismatchedPayload }
        // A key sealed to another box does not open even if re-addressed.
        let forOther = try SealedDataKey.seal(key, business: Self.business, to: other.publicKey, sealer: relay)
        var readdressed = Array(forOther.bytes.prefix(SealedDataKey.byteCount - 64))
        readdressed.replaceSubrange(25..<57, with: box.publicKey.bytes)
        readdressed += relay.sign(readdressed)
        #expect { try SealedDataKey.decode(readdressed).open(with: box) } throws: { ($0 as? RelayWireError)?.code == .decryptionFailed }
    }

    @Test("a keyring rotates to the next generation and refuses a second key for one generation")
    func keyring() throws {
        var keyring = DataKeyring()
        #expect(keyring.current == nil)
        let first = keyring.rotate()
        #expect(first.id == DataKeyID(1))
        let second = keyring.rotate()
        #expect(second.id == DataKeyID(2))
        #expect(keyring.current == second)
        #expect(keyring[DataKeyID(1)] == first)
        try keyring.insert(first)
        #expect(throws: RelayWireError.self) { try keyring.insert(DataKey.generate(id: DataKeyID(1))) }
        #expect(DataKey(id: DataKeyID(1), bytes: [1, 2]) == nil)
    }

    // MARK: Signed requests

    static let body = Array(#"{"vector":"AA=="}"#.utf8)

    static func signature(nonce: [UInt8] = [UInt8](repeating: 5, count: 16)) -> RelayRequestSignature {
        RelayRequestSignature.sign(method: "POST", path: "/v1/businesses/\(business.hex)/pull", query: "a=1", body: body,
                                   business: business, key: author, timestamp: 1_800_000_000_000, nonce: nonce)
    }

    @Test("a signed request round-trips through its Authorization header and verifies")
    func requestSignature() throws {
        let signature = Self.signature()
        let parsed = try RelayRequestSignature.parse(signature.headerValue)
        #expect(parsed == signature)
        #expect(parsed.site == SiteID(publicKey: Self.author.publicKey))
        #expect(parsed.verify(method: "POST", path: "/v1/businesses/\(Self.business.hex)/pull", query: "a=1", body: Self.body, key: Self.author.publicKey))
        #expect(signature.headerValue.hasPrefix("EdgenodeRelay-Ed25519 business=\(Self.business.hex),site="))
    }

    @Test("a signature does not carry over to another method, path, query, body, time, business, site or nonce")
    func requestSignatureBinding() throws {
        let signature = Self.signature()
        let path = "/v1/businesses/\(Self.business.hex)/pull"
        let key = Self.author.publicKey
        #expect(!signature.verify(method: "GET", path: path, query: "a=1", body: Self.body, key: key))
        #expect(!signature.verify(method: "POST", path: path + "x", query: "a=1", body: Self.body, key: key))
        #expect(!signature.verify(method: "POST", path: path, query: "a=2", body: Self.body, key: key))
        #expect(!signature.verify(method: "POST", path: path, query: "a=1", body: Self.body + [0x20], key: key))
        #expect(!signature.verify(method: "POST", path: path, query: "a=1", body: Self.body, key: SigningKey.generate().publicKey))
        let altered = [
            RelayRequestSignature(business: signature.business, site: signature.site, timestamp: signature.timestamp + 1, nonce: signature.nonce, signature: signature.signature),
            RelayRequestSignature(business: BusinessID(ownerKey: SigningKey.generate().publicKey), site: signature.site, timestamp: signature.timestamp, nonce: signature.nonce, signature: signature.signature),
            RelayRequestSignature(business: signature.business, site: signature.site, timestamp: signature.timestamp, nonce: [UInt8](repeating: 6, count: 16), signature: signature.signature),
            RelayRequestSignature(business: signature.business, site: SiteID(publicKey: SigningKey.generate().publicKey), timestamp: signature.timestamp, nonce: signature.nonce, signature: signature.signature),
        ]
        for candidate in altered {
            #expect(!candidate.verify(method: "POST", path: path, query: "a=1", body: Self.body, key: key))
        }
    }

    @Test("malformed Authorization headers are refused", arguments: [
        "", "Bearer x", "EdgenodeRelay-Ed25519 ", "EdgenodeRelay-Ed25519 site=00,business=00",
        "EdgenodeRelay-Ed25519 business=XX,site=,timestamp=1,nonce=,signature=",
    ])
    func malformedHeaders(header: String) {
        #expect(throws: RelayWireError.self) { try RelayRequestSignature.parse(header) }
    }

    @Test("a header with an upper-case, short or altered parameter is refused")
    func malformedParameters() {
        let good = Self.signature().headerValue
        for (from, to) in [("timestamp=1800000000000", "timestamp=01800000000000"), ("timestamp=1800000000000", "timestamp=-1"),
                           ("business=\(Self.business.hex)", "business=\(Self.business.hex.uppercased())"),
                           ("nonce=05", "nonce=5"), (",site=", ", site="), ("signature=", "sig=")] {
            #expect(throws: RelayWireError.self, "\(to)") { try RelayRequestSignature.parse(good.replacingOccurrences(of: from, with: to)) }
        }
    }

    @Test("the owner's registration proof verifies only for its key and time")
    func registrationProof() {
        let signature = RelayRegistrationProof.sign(owner: Self.owner, timestamp: 42)
        #expect(RelayRegistrationProof.verify(signature, ownerKey: Self.owner.publicKey, timestamp: 42))
        #expect(!RelayRegistrationProof.verify(signature, ownerKey: Self.owner.publicKey, timestamp: 43))
        #expect(!RelayRegistrationProof.verify(signature, ownerKey: Self.author.publicKey, timestamp: 42))
    }
}
