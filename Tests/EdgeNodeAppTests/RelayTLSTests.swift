import Domain
import Foundation
import NIOCore
import Relay
import Replication
import Testing
@testable import EdgeNodeApp
@testable import LANSync
@testable import OutboundHTTP
@testable import RelayUplink
import TestSupport

extension TestPKI {
    var files: RelayConfiguration.TLSFiles { RelayConfiguration.TLSFiles(certificateChain: certificateFile, privateKey: keyFile) }
}

/// The relay over HTTPS (`--tls-certificate`/`--tls-key`), and the box's client verifying it
/// (`https://` in relay.url, `relay.ca_file` for a private CA).
@Suite("The relay over TLS", .serialized)
struct RelayTLSTests {
    static func scratch() throws -> String {
        let root = NSTemporaryDirectory() + "edgenode-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    static func relay(root: String, pki: TestPKI) throws -> InProcessRelay<SQLiteRelayStorage> {
        try FileManager.default.createDirectory(atPath: root + "/relay", withIntermediateDirectories: true)
        let relay = InProcessRelay<SQLiteRelayStorage> { try SQLiteRelayStorage(path: root + "/relay/relay.sqlite", logger: UplinkTests.logger) }
        relay.tls = pki.files
        return relay
    }

    @Test("two boxes converge through an https relay whose certificate a private CA (relay.ca_file) signed")
    func boxesConvergeOverTLS() async throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pki = try TestPKI(directory: root)
        let relay = try Self.relay(root: root, pki: pki)
        try await relay.start()
        #expect(relay.url.hasPrefix("https://127.0.0.1:"))
        let boxes = try UplinkTests.makeBoxes(root: root, relayURL: relay.url, caFile: pki.caFile)
        let servers = [Task { try await boxes.a.run() }, Task { try await boxes.b.run() }]
        _ = try boxes.a.shop.createClient(ClientDraft(name: "Айгерим Сапарова", phone: "+77015550101"), branch: boxes.branch)
        try await eventually("both boxes connected through TLS and converged") {
            let connected = boxes.a.uplink?.current.state == "connected" && boxes.b.uplink?.current.state == "connected"
            return try connected && UplinkTests.converged(boxes)
        }
        await InvitationTests.stop(servers, relay: relay)
    }

    @Test("the box refuses a relay its roots do not vouch for, a certificate for another name, and plain HTTP to a TLS port; a bad CA file is named")
    func verification() async throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pki = try TestPKI(directory: root)
        let relay = try Self.relay(root: root, pki: pki)
        try await relay.start()
        let owner = SigningKey.generate()
        // Trusted: by IP address (checked against the certificate's IP entry) and by name.
        #expect(try await RelayClient.register(at: #require(RelayEndpoint(url: relay.url, caFile: pki.caFile)), owner: owner))
        #expect(try await !RelayClient.register(at: #require(RelayEndpoint(url: "https://localhost:\(relay.port)", caFile: pki.caFile)), owner: owner))
        // The system's roots do not know the test CA; another CA does not vouch for it.
        let stranger = try TestPKI(directory: root)
        for caFile in [nil, stranger.caFile] {
            let error = await #expect(throws: (any Error).self) {
                _ = try await RelayClient.register(at: #require(RelayEndpoint(url: relay.url, caFile: caFile)), owner: owner)
            }
            let text = "\(String(describing: error))"
            #expect(text.contains("TLS with 127.0.0.1:\(relay.port) failed") && text.contains("CERTIFICATE_VERIFY_FAILED"), "\(text)")
        }
        // A certificate the CA signed for another name does not do for this address.
        let elsewhere = try TestPKI(directory: root, names: "DNS:relay.example")
        let misnamed = try Self.relay(root: root + "/misnamed", pki: elsewhere)
        try await misnamed.start()
        let wrongName = await #expect(throws: (any Error).self) {
            _ = try await RelayClient.register(at: #require(RelayEndpoint(url: misnamed.url, caFile: elsewhere.caFile)), owner: owner)
        }
        #expect("\(String(describing: wrongName))".contains("TLS with 127.0.0.1:\(misnamed.port) failed"), "\(String(describing: wrongName))")
        await misnamed.stop()
        // Plain HTTP to the TLS port is an error, not an answer.
        await #expect(throws: (any Error).self) {
            _ = try await RelayClient.register(at: #require(RelayEndpoint(url: "http://127.0.0.1:\(relay.port)")), owner: owner)
        }
        // A CA file that is missing or not PEM is named before any connection.
        let notPEM = root + "/not.pem"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: notPEM))
        for bad in [root + "/missing.pem", notPEM] {
            let error = await #expect(throws: PeerHTTP.Failure.self) {
                _ = try await RelayClient.register(at: #require(RelayEndpoint(url: relay.url, caFile: bad)), owner: owner)
            }
            #expect(error?.description.contains(bad) == true, "\(String(describing: error))")
        }
        await relay.stop()
    }

    @Test("join --invitation through an https relay with --relay-ca-file: the box keeps the CA as relay-ca.pem and serve uses it; without it the join fails and writes only the key")
    func joinOverTLS() async throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pki = try TestPKI(directory: root)
        let relay = try Self.relay(root: root, pki: pki)
        try await relay.start()
        let (a, branch) = try InvitationTests.ownerBox(root: root, relayURL: relay.url, clients: 5, pullWait: 1, caFile: pki.caFile)
        let serverA = Task { try await a.run() }
        // B bootstraps only if the relay holds what A wrote when B first connects: wait for A's push
        // (under load A's first requests can fail and back off, and B would then find nothing to
        // bootstrap from, receive A's changesets as an ordinary pull, and never report a bootstrap).
        try await eventually("A pushed its clients to the relay", timeout: .seconds(300)) {
            a.uplink?.current.state == "connected" && a.uplink?.pending(ours: a.store.versionVector, site: a.store.site).push == 0
        }
        // Without the CA the owner's box cannot verify the relay: no invitation, and it says what to set.
        let unverified = await #expect(throws: InvitationError.self) {
            _ = try await InvitationIssuer.issue(directory: ReplicaDirectory(path: root + "/a"), relayURL: relay.url, branch: branch.rawValue)
        }
        #expect(unverified?.description.contains("CERTIFICATE_VERIFY_FAILED") == true && unverified?.description.contains("set relay.ca_file") == true,
                "\(String(describing: unverified))")
        #expect(!FileManager.default.fileExists(atPath: InvitationBook(directory: ReplicaDirectory(path: root + "/a")).path))
        let issued = try await InvitationIssuer.issue(directory: ReplicaDirectory(path: root + "/a"), relayURL: relay.url, caFile: pki.caFile,
                                                      branch: branch.rawValue)
        let bDirectory = ReplicaDirectory(path: root + "/b")
        // Without the CA, the system's roots refuse the relay: nothing but the box's key is written.
        var untrusting = InvitationJoin(directory: bDirectory, token: issued, label: "box B")
        untrusting.wait = .seconds(3)
        let refused = await #expect(throws: InvitationError.self) { _ = try await untrusting.run() }
        #expect(refused?.description.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(String(describing: refused))")
        #expect(!bDirectory.isInitialised && StoredRelayURL.read(bDirectory) == nil)
        var join = InvitationJoin(directory: bDirectory, token: issued, label: "box B")
        join.wait = .seconds(120)
        join.caFile = pki.caFile
        _ = try await join.run()
        #expect(try bDirectory.readFile(StoredRelayURL.caPath(bDirectory)) == (try bDirectory.readFile(pki.caFile)))
        // B's configuration names neither the relay nor a CA file: it uses what join kept.
        let b = try InvitationTests.runtime(bDirectory, relayURL: "", pullWait: 1)
        #expect(b.configuration.relay.caFile == StoredRelayURL.caPath(bDirectory))
        let serverB = Task { try await b.run() }
        // Alone this takes seconds. Under the whole suite's load a request to the relay can fail
        // and the uplink backs off (doubling to 60 s, ±50 % jitter): two such pauses pass 120 s,
        // so the deadline allows for them, and a timeout reports where B's uplink stood.
        try await eventually("B bootstraps through the TLS relay and converges", timeout: .seconds(300), report: {
            let snapshot = b.uplink?.current
            return "B's uplink: state \(snapshot.map { "\($0.state)" } ?? "none"), last error \(snapshot?.lastError ?? "none"), bootstrap \(snapshot?.bootstrap.map { "\($0.phase)" } ?? "none")"
        }) {
            let done = b.uplink?.current.bootstrap?.phase == .done
            return try done && InvitationTests.converged(a, b)
        }
        await InvitationTests.stop([serverB, serverA], relay: relay)
    }

    @Test("edgenode-relay's TLS settings: both files or neither, readable, the key matching the certificate")
    func relayTLSConfiguration() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pki = try TestPKI(directory: root), other = try TestPKI(directory: root)
        let loaded = try RelayConfiguration.load(environment: ["EDGENODE_RELAY_TLS_CERTIFICATE": pki.certificateFile],
                                                 flags: ["tls_key": pki.keyFile])
        #expect(loaded.tls == pki.files)
        #expect(try RelayConfiguration.load(environment: [:]).tls == nil)
        func error(_ flags: [String: String]) -> String {
            do { _ = try RelayConfiguration.load(environment: [:], flags: flags); return "no error" } catch { return "\(error)" }
        }
        #expect(error(["tls_certificate": pki.certificateFile]).hasPrefix("tls_certificate needs tls_key too"))
        #expect(error(["tls_key": pki.keyFile]).hasPrefix("tls_key needs tls_certificate too"))
        #expect(error(["tls_certificate": root + "/missing.pem", "tls_key": pki.keyFile]).hasPrefix("tls_certificate: cannot read PEM certificates from \(root)/missing.pem"))
        #expect(error(["tls_certificate": pki.certificateFile, "tls_key": pki.certificateFile]).hasPrefix("tls_key: cannot read a PEM private key"))
        #expect(error(["tls_certificate": pki.certificateFile, "tls_key": other.keyFile]).hasPrefix("tls_key: \(other.keyFile) does not go with the certificate"))
    }
}
