import Foundation
import Replication
import Testing
@testable import EdgeNodeApp
@testable import LANSync
@testable import OutboundHTTP
@testable import RelayUplink

/// `certify` and `revoke` reach the replica of the box they run on, also while its daemon holds it.
@Suite("Certificates and revocations issued on the command line")
struct IssuedRecordsTests {
    static func provisioned() throws -> (ReplicaDirectory, String) {
        let root = NSTemporaryDirectory() + "edgenode-issued-" + UUID().uuidString
        let directory = ReplicaDirectory(path: root + "/a")
        _ = try Provisioning(branchName: "Atyrau Central", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Owner")
            .run(in: directory, logger: UplinkTests.logger)
        return (directory, root)
    }

    static func certificate(owner: SigningKey, for key: SigningKey) throws -> Certificate {
        let now = nowMilliseconds()
        return try Certificate.issue(by: owner, for: key.publicKey, role: "box", branch: "", notBefore: now - 60_000, notAfter: now + 86_400_000)
    }

    @Test("with no daemon running, the record goes straight into the replica")
    func recordedDirectly() throws {
        let (directory, root) = try Self.provisioned()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let newBox = SigningKey.generate()
        let certificate = try Self.certificate(owner: try directory.loadOwnerKey(), for: newBox)
        let outcome = try IssuedRecords.record(.certificate, certificate.encoded, site: certificate.subjectSite, in: directory, logger: UplinkTests.logger)
        #expect(outcome == .recorded)
        let store = try directory.openStore(logger: UplinkTests.logger)
        #expect(store.trustStore.certificates[certificate.subjectSite]?.contains { $0.encoded == certificate.encoded } == true)
        #expect(!FileManager.default.fileExists(atPath: IssuedRecords.path(directory)))
    }

    @Test("while the daemon holds the replica, the record is queued (owner-only file) and the daemon's import records it and removes the file")
    func queuedForTheDaemon() throws {
        let (directory, root) = try Self.provisioned()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let owner = try directory.loadOwnerKey()
        let daemon = try directory.openStore(logger: UplinkTests.logger)
        let newBox = SigningKey.generate()
        let certificate = try Self.certificate(owner: owner, for: newBox)
        let revocation = try Revocation.issue(by: owner, revoking: newBox.publicKey, effectiveFrom: nowMilliseconds(), reason: "stolen")
        let queuedCertificate = try IssuedRecords.record(.certificate, certificate.encoded, site: certificate.subjectSite, in: directory, logger: UplinkTests.logger)
        let queuedRevocation = try IssuedRecords.record(.revocation, revocation.encoded, site: revocation.subjectSite, in: directory, logger: UplinkTests.logger)
        guard case .queued(let certificatePath) = queuedCertificate, case .queued(let revocationPath) = queuedRevocation else {
            Issue.record("expected both to be queued: \(queuedCertificate), \(queuedRevocation)")
            return
        }
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: certificatePath)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(daemon.trustStore.certificates[certificate.subjectSite] == nil)

        #expect(IssuedRecords.importQueued(into: daemon, directory: directory, logger: UplinkTests.logger) == 2)
        #expect(daemon.trustStore.certificates[certificate.subjectSite]?.contains { $0.encoded == certificate.encoded } == true)
        #expect(daemon.trustStore.isRevoked(revocation.subjectSite))
        #expect(!FileManager.default.fileExists(atPath: certificatePath) && !FileManager.default.fileExists(atPath: revocationPath))
        // Both replicate: they are changesets of this box now.
        #expect(try daemon.read { try $0.scalar("SELECT count(*) FROM edgenode_revocations") } == .integer(1))
        #expect(IssuedRecords.importQueued(into: daemon, directory: directory, logger: UplinkTests.logger) == 0)
    }

    @Test("the owner's invitation records are deleted a week after the invitation expired, with their certificate; newer ones stay")
    func invitationRecordsPruned() throws {
        let (directory, root) = try Self.provisioned()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let owner = try directory.loadOwnerKey()
        let book = InvitationBook(directory: directory)
        let now: Int64 = 1_800_000_000_000
        func invitation(expiring notAfter: Int64) throws -> Invitation {
            try Invitation.issue(by: owner, invitationKey: SigningKey.generate().publicKey, role: "box", branch: "b", relayURL: "https://relay.example",
                                 issuedAt: notAfter - 3_600_000, notAfter: notAfter)
        }
        let old = try invitation(expiring: now - InvitationBook.keptAfterExpiry - 1)
        let recent = try invitation(expiring: now - InvitationBook.keptAfterExpiry + 60_000)
        let open = try invitation(expiring: now + 3_600_000)
        for item in [old, recent, open] { try book.add(item) }
        try book.markUsed(old.id, certificate: try Self.certificate(owner: owner, for: SigningKey.generate()))
        try directory.writeFile(Array("garbage".utf8), to: book.path + "/broken.invitation")
        #expect(book.prune(expiredBefore: now - InvitationBook.keptAfterExpiry) == 1)
        #expect(book.invitation(old.id) == nil && book.certificate(old.id) == nil)
        #expect(book.invitation(recent.id) != nil && book.invitation(open.id) != nil)
        #expect(FileManager.default.fileExists(atPath: book.path + "/broken.invitation"))
        #expect(book.prune(expiredBefore: now - InvitationBook.keptAfterExpiry) == 0)
    }

    @Test("a queued file that does not decode is set aside as *.invalid, once, and the replica is unchanged")
    func invalidFileSetAside() throws {
        let (directory, root) = try Self.provisioned()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let daemon = try directory.openStore(logger: UplinkTests.logger)
        let before = daemon.versionVector
        let folder = IssuedRecords.path(directory)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try directory.writeFile(Array("not a certificate".utf8), to: folder + "/1-garbage.certificate")
        // A certificate signed by another owner is refused by the trust store.
        let stranger = try Self.certificate(owner: SigningKey.generate(), for: SigningKey.generate())
        try directory.writeFile(stranger.encoded, to: folder + "/2-stranger.certificate")
        #expect(IssuedRecords.importQueued(into: daemon, directory: directory, logger: UplinkTests.logger) == 0)
        #expect(FileManager.default.fileExists(atPath: folder + "/1-garbage.certificate.invalid"))
        #expect(FileManager.default.fileExists(atPath: folder + "/2-stranger.certificate.invalid"))
        #expect(daemon.versionVector == before)
        #expect(IssuedRecords.importQueued(into: daemon, directory: directory, logger: UplinkTests.logger) == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["1-garbage.certificate.invalid", "2-stranger.certificate.invalid"])
    }
}
