import Domain
import Foundation
import Logging
import Prometheus
import Relay
import Replication
import RelayWire
import Synchronization
import Testing
@testable import EdgeNodeApp
@testable import LANSync
@testable import OutboundHTTP
@testable import RelayUplink
import TestSupport

/// Joining a box with an invitation through a relay on loopback, and bootstrapping it from the
/// relay's snapshot (docs/relay-protocol.md §12, §13).
@Suite("Joining with an invitation (loopback relay)", .serialized)
struct InvitationTests {
    static var logger: Logger { UplinkTests.logger }

    static func runtime(_ directory: ReplicaDirectory, relayURL: String, pullWait: Int = 5, caFile: String = "") throws -> EdgeNodeRuntime {
        var configuration = NodeConfiguration.loopback(directory)
        configuration.relay.url = relayURL
        configuration.relay.pullWaitSeconds = pullWait
        configuration.relay.caFile = caFile
        return try EdgeNodeRuntime(configuration: configuration, logger: logger, registry: PrometheusCollectorRegistry())
    }

    static func converged(_ a: EdgeNodeRuntime, _ b: EdgeNodeRuntime) throws -> Bool {
        guard a.store.versionVector == b.store.versionVector else { return false }
        return try a.store.canonicalDump(includeClocks: false) == b.store.canonicalDump(includeClocks: false)
    }

    /// A relay over SQLite in `root/relay`, and the storage it runs on (for tests that play a dishonest relay).
    static func relay(root: String, limits: RelayLimits = RelayLimits()) throws -> (InProcessRelay<SQLiteRelayStorage>, StorageHolder) {
        try FileManager.default.createDirectory(atPath: root + "/relay", withIntermediateDirectories: true)
        let storage = StorageHolder()
        let relay = InProcessRelay(limits: limits) {
            let made = try SQLiteRelayStorage(path: root + "/relay/relay.sqlite", logger: Self.logger)
            storage.value.withLock { $0 = made }
            return made
        }
        return (relay, storage)
    }

    /// Stops the boxes (each to its end), then the relay: a server torn down under a client that
    /// is connecting to it crashes in NIO (see PeerSyncTests), so the clients go first.
    static func stop(_ servers: [Task<Void, any Error>], relay: InProcessRelay<SQLiteRelayStorage>) async {
        for server in servers {
            server.cancel()
            _ = await server.result
        }
        await relay.stop()
    }

    /// The storage the in-process relay currently runs on.
    final class StorageHolder: Sendable {
        let value = Mutex<SQLiteRelayStorage?>(nil)
    }

    /// The owner's box: provisioned in `root/a`, `clients` clients written before it starts.
    static func ownerBox(root: String, relayURL: String, clients: Int, pullWait: Int = 5, caFile: String = "") throws -> (EdgeNodeRuntime, BranchID) {
        let directory = ReplicaDirectory(path: root + "/a")
        let result = try Provisioning(branchName: "Atyrau Central", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Owner")
            .run(in: directory, logger: logger)
        let box = try runtime(directory, relayURL: relayURL, pullWait: pullWait, caFile: caFile)
        for index in 0..<clients { _ = try box.shop.createClient(ClientDraft(name: "Клиент \(index)", phone: index < 10_000 ? "+7701555\(String(format: "%04d", index))" : ""), branch: result.branchID) }
        return (box, result.branchID)
    }

    @Test("a new box joins with an invitation: the owner's box approves it by itself; it bootstraps from the relay's snapshot and the changesets after it, and converges")
    func joinAndBootstrap() async throws {
        let root = NSTemporaryDirectory() + "edgenode-invite-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (relay, _) = try Self.relay(root: root)
        try await relay.start()
        let (a, branch) = try Self.ownerBox(root: root, relayURL: relay.url, clients: 300)
        let serverA = Task { try await a.run() }
        defer { serverA.cancel() }
        // A pushes its 300 clients and, caught up, offers the relay a snapshot of them.
        try await eventually("A's snapshot at the relay covers its 300 clients") {
            a.uplink?.current.relaySnapshot?.vector == a.store.versionVector
        }
        // Written after the snapshot: B receives them as changesets.
        for index in 0..<20 { _ = try a.shop.createClient(ClientDraft(name: "Late \(index)"), branch: branch) }
        try await eventually("A pushed the late clients") {
            a.uplink?.pending(ours: a.store.versionVector, site: a.store.site).push == 0
        }

        let issued = try await InvitationIssuer.issue(directory: ReplicaDirectory(path: root + "/a"), relayURL: relay.url, branch: branch.rawValue)
        let token = try InvitationToken.parse(issued.text)
        let bDirectory = ReplicaDirectory(path: root + "/b")
        var join = InvitationJoin(directory: bDirectory, token: token, label: "box B")
        join.wait = .seconds(120)
        let messages = Mutex<[String]>([])
        join.progress = { message in messages.withLock { $0.append(message) } }
        let joined = try await join.run()
        #expect(joined.branch == branch.rawValue)
        #expect(joined.business == a.store.business)
        #expect(messages.withLock { $0 }.contains { $0.contains("Waiting for the owner's box") })
        // The owner's box issued the certificate, recorded it (it replicates) and marked the invitation used.
        #expect(a.store.trustStore.certificates[joined.site]?.last?.branch == branch.rawValue)
        #expect(InvitationBook(directory: ReplicaDirectory(path: root + "/a")).certificate(token.invitation.id)?.subjectSite == joined.site)
        #expect(StoredRelayURL.read(bDirectory) == relay.url)

        // B's configuration names no relay: it uses the one it remembered.
        let b = try Self.runtime(bDirectory, relayURL: "")
        #expect(b.uplink?.current.url == relay.url)
        let phases = Mutex<[String]>([])
        let watcher = Task {
            while !Task.isCancelled {
                if let phase = b.uplink?.current.bootstrap?.phase.rawValue {
                    phases.withLock { if $0.last != phase { $0.append(phase) } }
                }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        defer { watcher.cancel() }
        let serverB = Task { try await b.run() }
        defer { serverB.cancel() }
        try await eventually("B converges with A") { try Self.converged(a, b) }
        try await eventually("B's bootstrap is done") { b.uplink?.current.bootstrap?.phase == .done }
        let progress = try #require(b.uplink?.current.bootstrap)
        let total = try #require(progress.snapshotTotal, "B did not start from the snapshot")
        #expect(total > 0 && progress.snapshotBytes == total)
        #expect(progress.changesetsTotal >= 20 && progress.changesets == progress.changesetsTotal)
        // The watcher samples every 2 ms; under load it may see "done" a moment after the check above.
        try await eventually("the watcher saw the bootstrap done") { phases.withLock { $0 }.last == "done" }
        #expect(try b.shop.searchClients("Late", limit: 100).count == 20)
        let sample = try a.shop.searchClients("Клиент 2", limit: 200).map(\.id)
        let sampleOnB = try b.shop.searchClients("Клиент 2", limit: 200).map(\.id)
        #expect(sample.count > 100 && sampleOnB == sample)
        let status = try NodeStatus.document(store: b.store, shop: b.shop, dataDirectory: bDirectory.path, startedAt: nil, uplink: b.uplink)
        guard case .object(let uplink)? = status["uplink"], case .object(let bootstrap)? = uplink["bootstrap"] else {
            Issue.record("no uplink.bootstrap in B's status document")
            return
        }
        #expect(bootstrap["phase"] == .string("done"))
        #expect(bootstrap["snapshot_total_bytes"] == .integer(Int64(total)))
        #expect(bootstrap["changesets_total"] == .integer(Int64(progress.changesetsTotal)))
        // B holds the data key: what it writes reaches A through the relay.
        _ = try b.shop.createClient(ClientDraft(name: "Written on B"), branch: branch)
        try await eventually("A receives B's write") { try a.shop.searchClients("Written on B").count == 1 && Self.converged(a, b) }
        // A box that is not new does not bootstrap again; the owner's box never did.
        #expect(a.uplink?.current.bootstrap == nil)
        await Self.stop([serverB, serverA], relay: relay)
    }

    @Test("refused: an expired, tampered or reused token, a directory of another business; an unreachable relay leaves only the key, and a retry works; a join request under an invitation the owner's box never issued is refused by it")
    func refusals() async throws {
        let root = NSTemporaryDirectory() + "edgenode-invite-bad-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (relay, relayStorage) = try Self.relay(root: root)
        try await relay.start()
        let (a, branch) = try Self.ownerBox(root: root, relayURL: relay.url, clients: 3)
        let serverA = Task { try await a.run() }
        defer { serverA.cancel() }
        let aDirectory = ReplicaDirectory(path: root + "/a")
        let token = try await InvitationIssuer.issue(directory: aDirectory, relayURL: relay.url, branch: branch.rawValue, hours: 1)

        func join(_ name: String, _ token: InvitationToken, now: Int64? = nil) async -> (String?, ReplicaDirectory) {
            let directory = ReplicaDirectory(path: root + "/" + name)
            var join = InvitationJoin(directory: directory, token: token, label: name)
            join.wait = .seconds(120)
            do {
                if let now { _ = try await join.run(now: { now }) } else { _ = try await join.run() }
                return (nil, directory)
            } catch { return ("\(error)", directory) }
        }

        // Expired (this box's clock is past the invitation's end): nothing is written.
        let (expired, expiredDirectory) = await join("expired", token, now: token.invitation.notAfter + 1)
        #expect(expired?.contains("expired") == true, "\(expired ?? "joined")")
        #expect(!FileManager.default.fileExists(atPath: expiredDirectory.path))

        // Tampered: one character of the token changed.
        var characters = Array(token.text)
        let middle = characters.count / 2
        characters[middle] = characters[middle] == "A" ? "B" : "A"
        #expect { try InvitationToken.parse(String(characters)) } throws: { error in
            let message = (error as? RelayWireError)?.message ?? ""
            return message.contains("altered") || message.contains("damaged")
        }

        // A directory that was being set up for another business.
        let otherDirectory = ReplicaDirectory(path: root + "/other")
        try otherDirectory.create()
        try otherDirectory.writeFile(Array(SigningKey.generate().publicKey.hex.utf8), to: otherDirectory.ownerPublicKeyPath)
        let (foreign, _) = await join("other", token)
        #expect(foreign?.contains("another business") == true, "\(foreign ?? "joined")")

        // The relay cannot be reached (the invitation names a closed port: the same for the box as a
        // relay that is down): a clear error, only the box's key written; a retry then works.
        let owner = try aDirectory.loadOwnerKey()
        let deadKey = SigningKey.generate()
        let issuedAt = Int64(Date().timeIntervalSince1970 * 1000)
        let unreachableInvitation = try Invitation.issue(by: owner, invitationKey: deadKey.publicKey, role: "box", branch: branch.rawValue,
                                                         relayURL: "http://127.0.0.1:9", issuedAt: issuedAt, notAfter: issuedAt + 3_600_000)
        let (unreachable, bDirectory) = await join("b", InvitationToken(invitation: unreachableInvitation, key: deadKey))
        #expect(unreachable?.contains("cannot reach the relay") == true, "\(unreachable ?? "joined")")
        #expect(!bDirectory.isInitialised && FileManager.default.fileExists(atPath: bDirectory.identityPath))
        let key = try bDirectory.loadIdentity().publicKey
        let (retried, _) = await join("b", token)
        #expect(retried == nil, "\(retried ?? "")")
        #expect(try bDirectory.loadCertificate().subjectKey == key)

        // Reused: a second box with the same token.
        let (reused, reusedDirectory) = await join("c", token)
        #expect(reused?.contains("already used") == true, "\(reused ?? "joined")")
        #expect(!reusedDirectory.isInitialised)

        // A dishonest relay makes up an invitation (it cannot sign as the owner) and a join request under it.
        let storage = try #require(relayStorage.value.withLock { $0 })
        let attacker = SigningKey.generate(), fakeKey = SigningKey.generate(), intruder = SigningKey.generate()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let fake = try Invitation.issue(by: attacker, invitationKey: fakeKey.publicKey, role: "box", branch: branch.rawValue, relayURL: relay.url,
                                        issuedAt: now, notAfter: now + 3_600_000)
        #expect(try await storage.addInvitation(fake, business: a.store.business, at: now))
        let endpoint = try #require(RelayEndpoint(url: relay.url))
        let request = try JoinRequest.make(business: a.store.business, invitation: fakeKey, box: intruder, label: "intruder", requestedAt: now)
        _ = try await RelayClient(endpoint: endpoint, identity: fakeKey, business: a.store.business)
            .send("/invitations/\(fake.id.hex)/join-request", RelayJSON.JoinRequestBody(joinRequest: Data(request.encoded).base64EncodedString()),
                  as: RelayJSON.JoinStatusReply.self)
        try await eventually("the owner's box refuses the made-up invitation") {
            try await storage.invitation(fake.id, business: a.store.business)?.state == .refused
        }
        #expect(try await storage.invitation(fake.id, business: a.store.business)?.refusal?.contains("never issued") == true)
        #expect(a.store.trustStore.certificates[SiteID(publicKey: intruder.publicKey)] == nil)
        await Self.stop([serverA], relay: relay)
    }

    @Test("issuing needs the owner key, a validity of 1…168 hours and a reachable relay; a refused issue records nothing")
    func issuing() async throws {
        let root = NSTemporaryDirectory() + "edgenode-invite-issue-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = ReplicaDirectory(path: root + "/a")
        let result = try Provisioning(branchName: "Atyrau Central", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Owner")
            .run(in: directory, logger: Self.logger)
        func issue(_ url: String = "http://127.0.0.1:9", hours: Int = 24, in target: ReplicaDirectory = directory) async -> String {
            do {
                _ = try await InvitationIssuer.issue(directory: target, relayURL: url, branch: result.branchID.rawValue, hours: hours)
                return "issued"
            } catch { return "\(error)" }
        }
        #expect(await issue(hours: 0).contains("1…168 hours"))
        #expect(await issue(hours: 169).contains("1…168 hours"))
        #expect(await issue("wss://relay.example").contains("not a relay URL"))
        // Port 9 (discard) is closed on loopback.
        #expect(await issue().contains("cannot reach the relay"))
        #expect(!FileManager.default.fileExists(atPath: InvitationBook(directory: directory).path), "a failed invitation was recorded")
        let box = try PeerSyncTests.joinSecondBox(directory, at: root + "/b")
        #expect(await issue(in: box).contains("holds no owner key"))
    }

    @Test("invite --branch takes a branch by id or by name (any case); ambiguous or unknown names are refused with the list; the default is the home branch")
    func branchChoice() throws {
        let branches = BranchDirectory(entries: [.init(id: "id-1", name: "Atyrau Central"), .init(id: "id-2", name: "Satpayev"), .init(id: "id-3", name: "satpayev")])
        #expect(try branches.resolve(nil, home: "id-1").name == "Atyrau Central")
        #expect(try branches.resolve("ID-2", home: "id-1").id == "id-2")
        #expect(try branches.resolve("atyrau central", home: "id-2").id == "id-1")
        #expect { try branches.resolve("Satpayev", home: "id-1") } throws: { "\($0)".contains("several branches") }
        #expect { try branches.resolve("Aktau", home: "id-1") } throws: { "\($0)".contains("Atyrau Central (id-1)") }
    }

    @Test("the owner's box judges a join request only by its own invitation book")
    func judging() throws {
        let root = NSTemporaryDirectory() + "edgenode-invite-judge-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = ReplicaDirectory(path: root)
        try directory.create()
        let book = InvitationBook(directory: directory)
        let owner = SigningKey.generate()
        let business = BusinessID(ownerKey: owner.publicKey)
        let now: Int64 = 1_790_000_000_000
        func invitation(_ key: SigningKey, by signer: SigningKey = owner) throws -> Invitation {
            try Invitation.issue(by: signer, invitationKey: key.publicKey, role: "box", branch: "b", relayURL: "http://r", issuedAt: now, notAfter: now + 3_600_000)
        }
        func request(_ key: SigningKey, box: SigningKey, business: BusinessID = business) throws -> [UInt8] {
            try JoinRequest.make(business: business, invitation: key, box: box, label: "", requestedAt: now).encoded
        }
        func judge(_ bytes: [UInt8], _ invitation: Invitation, at time: Int64 = now) -> InvitationBook.Verdict {
            book.judge(joinRequest: bytes, invitationID: invitation.id, relayRecord: invitation.encoded, business: business, ownerKey: owner.publicKey, now: time)
        }
        let key = SigningKey.generate(), box = SigningKey.generate()
        let issued = try invitation(key)
        try book.add(issued)
        guard case .approve(let approved, let joinRequest) = judge(try request(key, box: box), issued) else {
            Issue.record("not approved")
            return
        }
        #expect(approved == issued && joinRequest.boxKey == box.publicKey)
        guard case .refuse(let late) = judge(try request(key, box: box), issued, at: issued.notAfter + 1) else { Issue.record("expired one approved"); return }
        #expect(late.contains("expired"))
        guard case .refuse(let foreign) = judge(try request(key, box: box, business: BusinessID(ownerKey: SigningKey.generate().publicKey)), issued) else {
            Issue.record("foreign business approved")
            return
        }
        #expect(foreign.contains("another business"))
        // Used: the same box again gets the same certificate; another box is refused.
        let certificate = try Certificate.issue(by: owner, for: box.publicKey, role: "box", branch: "b", notBefore: now, notAfter: now + 1)
        try book.markUsed(issued.id, certificate: certificate)
        #expect(judge(try request(key, box: box), issued) == .repeatApproval(certificate))
        guard case .refuse(let used) = judge(try request(key, box: .generate()), issued) else { Issue.record("reused invitation approved"); return }
        #expect(used.contains("used by another box"))
        // Not in the book: made up (not the owner's signature) is refused; owner-signed elsewhere is left alone.
        let strangerKey = SigningKey.generate()
        let madeUp = try invitation(strangerKey, by: SigningKey.generate())
        guard case .refuse(let never) = judge(try request(strangerKey, box: box), madeUp) else { Issue.record("made-up invitation approved"); return }
        #expect(never.contains("never issued"))
        let elsewhere = try invitation(strangerKey)
        guard case .leave = judge(try request(strangerKey, box: box), elsewhere) else { Issue.record("another holder's invitation not left alone"); return }
        // A join request that does not verify.
        var broken = try request(key, box: box)
        broken[broken.count - 1] ^= 1
        guard case .refuse = judge(broken, issued) else { Issue.record("a broken join request approved"); return }
    }
}

/// The relay's snapshot beyond the first bootstrap: one a box cannot use, and catching up past
/// changesets the relay compacted away (docs/relay-protocol.md §13).
@Suite("Snapshots at the relay (loopback)", .serialized)
struct RelaySnapshotTests {
    /// Joins a new box at `root/name` to A's business through the relay.
    static func join(_ name: String, root: String, relayURL: String, branch: BranchID) async throws -> ReplicaDirectory {
        let token = try await InvitationIssuer.issue(directory: ReplicaDirectory(path: root + "/a"), relayURL: relayURL, branch: branch.rawValue)
        let directory = ReplicaDirectory(path: root + "/" + name)
        var join = InvitationJoin(directory: directory, token: token, label: name)
        join.wait = .seconds(120)
        _ = try await join.run()
        return directory
    }

    @Test("a snapshot the new box cannot open (sealed with another key) is skipped: the changesets bring everything")
    func unusableSnapshot() async throws {
        let root = NSTemporaryDirectory() + "edgenode-snapshot-bad-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (relay, relayStorage) = try InvitationTests.relay(root: root)
        try await relay.start()
        let (a, branch) = try InvitationTests.ownerBox(root: root, relayURL: relay.url, clients: 40, pullWait: 1)
        let serverA = Task { try await a.run() }
        defer { serverA.cancel() }
        try await eventually("A's snapshot at the relay") { a.uplink?.current.relaySnapshot?.vector == a.store.versionVector }
        // Replaced by one A signed but sealed with a key no box holds (as if a key were lost).
        let storage = try #require(relayStorage.value.withLock { $0 })
        let bogus = try SealedSnapshot.seal(try a.store.makeSnapshot(), business: a.store.business, vector: a.store.versionVector, producer: a.store.identity,
                                            dataKey: DataKey.generate(id: DataKeyID(1)), createdAt: Int64(Date().timeIntervalSince1970 * 1000))
        #expect(try await storage.storeSnapshot(bogus, business: a.store.business, at: 1) == .stored)

        let bDirectory = try await Self.join("b", root: root, relayURL: relay.url, branch: branch)
        let b = try InvitationTests.runtime(bDirectory, relayURL: "", pullWait: 1)
        let serverB = Task { try await b.run() }
        defer { serverB.cancel() }
        try await eventually("B converges with A from the changesets alone") { try InvitationTests.converged(a, b) }
        try await eventually("B's bootstrap is done") { b.uplink?.current.bootstrap?.phase == .done }
        let progress = try #require(b.uplink?.current.bootstrap)
        #expect(progress.snapshotTotal == nil, "the unusable snapshot counts as none")
        #expect(progress.changesetsTotal >= 40 && progress.changesets == progress.changesetsTotal)
        await InvitationTests.stop([serverB, serverA], relay: relay)
    }

    @Test("a relay that takes no snapshot (too large for it) stops nothing: the new box bootstraps from the changesets alone")
    func noSnapshotAtTheRelay() async throws {
        let root = NSTemporaryDirectory() + "edgenode-snapshot-none-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        var limits = RelayLimits()
        limits.maxSnapshotBytes = 200
        let (relay, relayStorage) = try InvitationTests.relay(root: root, limits: limits)
        try await relay.start()
        let (a, branch) = try InvitationTests.ownerBox(root: root, relayURL: relay.url, clients: 25, pullWait: 1)
        let serverA = Task { try await a.run() }
        defer { serverA.cancel() }
        try await eventually("A pushed its clients") { a.uplink?.pending(ours: a.store.versionVector, site: a.store.site).push == 0 }
        let bDirectory = try await Self.join("b", root: root, relayURL: relay.url, branch: branch)
        let b = try InvitationTests.runtime(bDirectory, relayURL: "", pullWait: 1)
        let serverB = Task { try await b.run() }
        defer { serverB.cancel() }
        try await eventually("B converges with A") { try InvitationTests.converged(a, b) }
        try await eventually("B's bootstrap is done") { b.uplink?.current.bootstrap?.phase == .done }
        let progress = try #require(b.uplink?.current.bootstrap)
        #expect(progress.snapshotTotal == nil && progress.snapshotBytes == 0)
        #expect(progress.changesetsTotal >= 25 && progress.changesets == progress.changesetsTotal)
        let storage = try #require(relayStorage.value.withLock { $0 })
        #expect(try await storage.snapshotInfo(of: a.store.business) == nil)
        #expect(a.uplink?.current.connected == true && b.uplink?.current.connected == true)
        await InvitationTests.stop([serverB, serverA], relay: relay)
    }

    @Test("a box that lacks changesets the relay compacted away catches up from the snapshot a caught-up box offers")
    func catchUpPastCompaction() async throws {
        let root = NSTemporaryDirectory() + "edgenode-snapshot-compacted-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (relay, relayStorage) = try InvitationTests.relay(root: root)
        try await relay.start()
        let (a, branch) = try InvitationTests.ownerBox(root: root, relayURL: relay.url, clients: 5, pullWait: 1)
        let serverA = Task { try await a.run() }
        defer { serverA.cancel() }
        try await eventually("A's snapshot at the relay") { a.uplink?.current.relaySnapshot?.vector == a.store.versionVector }
        let bDirectory = try await Self.join("b", root: root, relayURL: relay.url, branch: branch)
        var vectorOfB: VersionVector
        do {
            let b = try InvitationTests.runtime(bDirectory, relayURL: "", pullWait: 1)
            let serverB = Task { try await b.run() }
            try await eventually("B converges with A") { try InvitationTests.converged(a, b) }
            serverB.cancel()
            _ = await serverB.result
            vectorOfB = b.store.versionVector
        }
        // While B is off, A writes; then the relay deletes A's envelopes (as if every box had acknowledged them).
        for index in 0..<30 { _ = try a.shop.createClient(ClientDraft(name: "While B was off \(index)"), branch: branch) }
        try await eventually("A pushed them") { a.uplink?.pending(ours: a.store.versionVector, site: a.store.site).push == 0 }
        let storage = try #require(relayStorage.value.withLock { $0 })
        let head = a.store.versionVector[a.store.site]
        #expect(try await storage.compact(a.store.business, through: [a.store.site: head]) > 0)
        #expect(vectorOfB[a.store.site] < head)
        // A sees the relay compacted past its snapshot and offers a new one.
        try await eventually("A offers a snapshot past the compaction") { (a.uplink?.current.relaySnapshot?.vector[a.store.site] ?? 0) >= head }

        let b = try InvitationTests.runtime(bDirectory, relayURL: "", pullWait: 1)
        let serverB = Task { try await b.run() }
        defer { serverB.cancel() }
        try await eventually("B catches up from the snapshot") { try InvitationTests.converged(a, b) }
        #expect(try b.shop.searchClients("While B was off", limit: 100).count == 30)
        #expect(b.uplink?.current.bootstrap == nil, "B is not a new box: no bootstrap")
        await InvitationTests.stop([serverB, serverA], relay: relay)
    }
}

/// Not a test: how long a new box takes to bootstrap N clients from a snapshot and the changesets
/// after it, against the changesets alone (a relay that takes no snapshot), in this process.
/// Run with `EDGENODE_MEASURE_BOOTSTRAP=3000` (the number of clients); it prints, asserts no timing.
@Suite("Bootstrap measurement", .serialized, .enabled(if: ProcessInfo.processInfo.environment["EDGENODE_MEASURE_BOOTSTRAP"] != nil))
struct BootstrapMeasurement {
    static var clients: Int { Int(ProcessInfo.processInfo.environment["EDGENODE_MEASURE_BOOTSTRAP"] ?? "") ?? 3000 }

    /// Seconds from B's start to its bootstrap being done, and the snapshot's size.
    func bootstrap(withSnapshot: Bool) async throws -> (seconds: Double, snapshotBytes: Int, changesets: UInt64) {
        let root = NSTemporaryDirectory() + "edgenode-measure-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        var limits = RelayLimits()
        if !withSnapshot { limits.maxSnapshotBytes = 200 }
        let (relay, _) = try InvitationTests.relay(root: root, limits: limits)
        try await relay.start()
        let (a, branch) = try InvitationTests.ownerBox(root: root, relayURL: relay.url, clients: Self.clients, pullWait: 1)
        let serverA = Task { try await a.run() }
        defer { serverA.cancel() }
        try await eventually("A pushed its clients", timeout: .seconds(1800)) {
            a.uplink?.pending(ours: a.store.versionVector, site: a.store.site).push == 0
                && (!withSnapshot || a.uplink?.current.relaySnapshot?.vector == a.store.versionVector)
        }
        let bDirectory = try await RelaySnapshotTests.join("b", root: root, relayURL: relay.url, branch: branch)
        let b = try InvitationTests.runtime(bDirectory, relayURL: "", pullWait: 1)
        let started = ContinuousClock.now
        let serverB = Task { try await b.run() }
        defer { serverB.cancel() }
        try await eventually("B's bootstrap is done", timeout: .seconds(1800)) { b.uplink?.current.bootstrap?.phase == .done }
        let elapsed = ContinuousClock.now - started
        try await eventually("B converges", timeout: .seconds(600)) { try InvitationTests.converged(a, b) }
        let progress = try #require(b.uplink?.current.bootstrap)
        await InvitationTests.stop([serverB, serverA], relay: relay)
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, progress.snapshotBytes, progress.changesets)
    }

    @Test func snapshotAgainstChangesets() async throws {
        let snapshot = try await bootstrap(withSnapshot: true)
        let changesets = try await bootstrap(withSnapshot: false)
        print(String(format: "bootstrap of %d clients: snapshot %.2f s (%d bytes, then %llu changesets); changesets only %.2f s (%llu changesets); ratio %.1f",
                     Self.clients, snapshot.seconds, snapshot.snapshotBytes, snapshot.changesets, changesets.seconds, changesets.changesets,
                     changesets.seconds / max(snapshot.seconds, 0.001)))
    }
}
