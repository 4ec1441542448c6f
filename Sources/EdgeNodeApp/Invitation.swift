import ArgumentParser
import Domain
import Foundation
import Logging
import NIOCore
import NIOPosix
import Replication
import RelayWire

/// The invitations this box issued (`edgenode invite`), kept in the data directory so that the
/// box approves join requests against its own record and never against what the relay says
/// (docs/relay-protocol.md §12.4). `invitations/` (mode 0700) holds per invitation, named by its
/// id (the invitation key's site id, 32 hex digits):
///
/// - `<id>.invitation`: the owner-signed invitation (§12.1), without the token's seed;
/// - `<id>.certificate`: the certificate issued when it was used (the invitation is used).
struct InvitationBook: Sendable {
    let directory: ReplicaDirectory
    var path: String { directory.path + "/invitations" }

    func file(_ id: SiteID, _ suffix: String) -> String { path + "/" + id.hex + "." + suffix }

    /// Records an issued invitation.
    func add(_ invitation: Invitation) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try directory.writeFile(invitation.encoded, to: file(invitation.id, "invitation"), mode: 0o600)
    }

    /// The invitation this box issued with this id, if any.
    func invitation(_ id: SiteID) -> Invitation? {
        guard let bytes = try? directory.readFile(file(id, "invitation")) else { return nil }
        return try? Invitation.decode(bytes)
    }

    /// The certificate issued under the invitation, if it was used.
    func certificate(_ id: SiteID) -> Certificate? {
        guard let bytes = try? directory.readFile(file(id, "certificate")) else { return nil }
        return try? Certificate.decode(bytes)
    }

    func markUsed(_ id: SiteID, certificate: Certificate) throws {
        try directory.writeFile(certificate.encoded, to: file(id, "certificate"), mode: 0o600)
    }

    /// How long a record is kept after its invitation expired: as long as the relay keeps the
    /// invitation (docs/relay-protocol.md §12.3), after which no join request can name it.
    static let keptAfterExpiry: Int64 = 7 * 86_400_000

    /// Deletes the records (invitation and certificate) of invitations that expired before
    /// `cutoff`; a file that does not decode is left alone. Returns how many were deleted.
    @discardableResult
    func prune(expiredBefore cutoff: Int64) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return 0 }
        var pruned = 0
        for name in names where name.hasSuffix(".invitation") {
            guard let bytes = try? directory.readFile(path + "/" + name), let invitation = try? Invitation.decode(bytes),
                  invitation.notAfter < cutoff else { continue }
            try? FileManager.default.removeItem(atPath: file(invitation.id, "certificate"))
            if (try? FileManager.default.removeItem(atPath: file(invitation.id, "invitation"))) != nil { pruned += 1 }
        }
        return pruned
    }

    /// What the owner's box does with a join request the relay handed it.
    enum Verdict: Equatable {
        /// Issue a certificate with the invitation's role and branch.
        case approve(Invitation, JoinRequest)
        /// Answered before with this certificate (the answer may not have reached the relay).
        case repeatApproval(Certificate)
        case refuse(String)
        /// Not this box's to answer: an owner-signed invitation issued elsewhere (another holder
        /// of the owner key); it expires on its own.
        case leave(String)
    }

    /// Judges a join request against this box's own record of the invitation.
    /// - Parameters:
    ///   - relayRecord: the invitation as the relay stores it (only used to tell a forged one from
    ///     one issued by another holder of the owner key).
    func judge(joinRequest bytes: [UInt8], invitationID id: SiteID, relayRecord: [UInt8]?, business: BusinessID, ownerKey: PublicKey, now: Int64) -> Verdict {
        let request: JoinRequest
        do { request = try JoinRequest.decode(bytes) } catch {
            return .refuse("the join request does not verify: \(error.message)")
        }
        guard request.business == business else { return .refuse("the join request names another business") }
        guard request.invitationID == id else { return .refuse("the join request is made under another invitation") }
        guard let invitation = invitation(id) else {
            if let relayRecord, let claimed = try? Invitation.decode(relayRecord), claimed.ownerKey == ownerKey, claimed.id == id {
                return .leave("invitation \(id.hex) is signed by the owner key but was not issued on this box")
            }
            return .refuse("this owner's box never issued invitation \(id.hex)")
        }
        guard invitation.ownerKey == ownerKey, invitation.invitationKey == request.invitationKey else {
            return .refuse("the join request does not match invitation \(id.hex)")
        }
        if let issued = certificate(id) {
            return issued.subjectKey == request.boxKey ? .repeatApproval(issued) : .refuse("invitation \(id.hex) was used by another box")
        }
        guard invitation.isValid(at: now) else { return .refuse("invitation \(id.hex) expired at \(Instant(milliseconds: invitation.notAfter))") }
        return .approve(invitation, request)
    }
}

/// `relay.url` remembered by `join --invitation` in the data directory (`relay.url`, one line), for
/// a box whose configuration names no relay: `serve` uses it then (docs/configuration.md).
enum StoredRelayURL {
    static func path(_ directory: ReplicaDirectory) -> String { directory.path + "/relay.url" }

    static func read(_ directory: ReplicaDirectory) -> String? {
        guard let bytes = try? directory.readFile(path(directory)) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    static func write(_ url: String, to directory: ReplicaDirectory) throws {
        try directory.writeFile(Array((url + "\n").utf8), to: path(directory), mode: 0o644)
    }

    /// The trusted roots a box that joined with `--relay-ca-file` keeps for its relay.
    static func caPath(_ directory: ReplicaDirectory) -> String { directory.path + "/relay-ca.pem" }

    /// The relay settings a box uses: the configured `relay.url` and `relay.ca_file`, each
    /// falling back, when empty, on what `join --invitation` kept in the data directory
    /// (`relay.url`, `relay-ca.pem`).
    static func effective(_ configured: NodeConfiguration.Relay, directory: ReplicaDirectory) -> NodeConfiguration.Relay {
        var relay = configured
        if relay.url.isEmpty, let stored = read(directory) { relay.url = stored }
        if relay.caFile.isEmpty, FileManager.default.fileExists(atPath: caPath(directory)) { relay.caFile = caPath(directory) }
        return relay
    }
}

/// A problem with an invitation that the command line reports as it is.
struct InvitationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: Issuing (the owner's box)

/// `edgenode invite`: makes an invitation for one new box and registers it at the relay.
public enum InvitationIssuer {
    /// The default validity and the most an invitation may have.
    public static let defaultHours = 24
    public static let maximumHours = 168
    /// How long the certificates issued to invited boxes are valid (as `certify`'s default).
    public static let certificateDays = 365 * 5

    /// Makes an invitation for a box of `branch`, registers the business (if needed) and the
    /// invitation at the relay, and records it in this box's invitation book.
    /// - Returns: the token to give to the person setting up the new box.
    /// - Throws: `InvitationError` with a message for a person (no owner key, bad relay URL, the
    ///   relay unreachable or refusing); nothing is recorded then.
    public static func issue(directory: ReplicaDirectory, relayURL: String, caFile: String? = nil, branch: String, hours: Int = defaultHours,
                             now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) async throws -> InvitationToken {
        guard (1...maximumHours).contains(hours) else { throw InvitationError("the validity must be 1…\(maximumHours) hours (7 days), not \(hours)") }
        guard let endpoint = RelayEndpoint(url: relayURL, caFile: caFile) else {
            throw InvitationError("\(relayURL) is not a relay URL (http(s)://host[:port][/path])")
        }
        guard directory.hasOwnerKey else {
            throw InvitationError("\(directory.path) holds no owner key (owner.key): run `edgenode invite` on the box that has it, or import it with `edgenode owner import-phrase`")
        }
        let owner = try directory.loadOwnerKey()
        let key = SigningKey.generate()
        let invitation = try Invitation.issue(by: owner, invitationKey: key.publicKey, role: "box", branch: branch, relayURL: relayURL,
                                              issuedAt: now, notAfter: now + Int64(hours) * 3_600_000)
        let business = BusinessID(ownerKey: owner.publicKey)
        do {
            let time = RelayTime()
            _ = try await RelayClient.register(at: endpoint, owner: owner, time: time)
            _ = try await RelayClient(endpoint: endpoint, identity: owner, business: business, time: time)
                .send("/invitations", RelayJSON.InvitationRequest(invitation: Data(invitation.encoded).base64EncodedString()), as: RelayClient.Ignored.self)
        } catch let problem as RelayClient.Problem {
            throw InvitationError("the relay at \(endpoint) refused the invitation: \(problem.kind): \(problem.detail); no invitation was made")
        } catch let failure as PeerHTTP.Failure where failure.isTLS {
            throw InvitationError("""
                the relay at \(endpoint) could not be verified: \(failure). If it uses a certificate of a private CA, set relay.ca_file \
                to that CA (docs/configuration.md); no invitation was made
                """)
        } catch {
            throw InvitationError("cannot reach the relay at \(endpoint): \(error); no invitation was made (check relay.url and the connection, then try again)")
        }
        try InvitationBook(directory: directory).add(invitation)
        return InvitationToken(invitation: invitation, key: key)
    }
}

/// `edgenode invite`.
struct Invite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Invite a new box into this business through the relay: prints a one-time token for `edgenode join --invitation`.",
        discussion: """
            Needs the owner key in the data directory and a relay (relay.url, or --relay). The new box sends its join request to the
            relay; this box, while it runs (edgenode serve), approves it automatically against its own record of the invitation,
            issues its certificate and seals the data key to it. The token is secret, short-lived and good for one box.
            """
    )
    @OptionGroup var options: NodeOptions
    @Option(help: "The branch the new box serves, by name or id (default: this box's own branch).") var branch: String?
    @Option(help: "Hours the invitation stays valid (1…168).") var hours: Int = InvitationIssuer.defaultHours
    @Option(help: "The relay's URL (default: relay.url from the configuration).") var relay: String?

    func run() async throws {
        let configuration = try options.load()
        let directory = ReplicaDirectory(path: configuration.dataDirectory)
        guard directory.isInitialised else { throw CommandFailure("\(directory.path) is not initialised; see `edgenode init --help`") }
        let settings = StoredRelayURL.effective(configuration.relay, directory: directory)
        let relayURL = relay ?? settings.url
        guard !relayURL.isEmpty else {
            throw CommandFailure("no relay: set relay.url in the configuration (docs/configuration.md) or pass --relay http://host:port")
        }
        let home = try directory.loadCertificate().branch
        let branches: BranchDirectory
        do {
            branches = try BranchDirectory.load(configuration: configuration, directory: directory)
        } catch let error as ReplicationError where error.code == .inUse {
            // The daemon holds the replica but its API did not answer (still starting, say): this
            // box's own branch needs no list; a branch named by --branch does.
            guard branch == nil else {
                throw CommandFailure("the running daemon holds the replica and its API did not answer for the list of branches; "
                                     + "try again once it serves, or leave out --branch to invite a box of this box's own branch")
            }
            branches = BranchDirectory(entries: [])
        }
        let chosen = try branches.resolve(branch, home: home)
        let token = try await InvitationIssuer.issue(directory: directory, relayURL: relayURL, caFile: settings.caFile.isEmpty ? nil : settings.caFile,
                                                     branch: chosen.id, hours: hours)
        let until = Instant(milliseconds: token.invitation.notAfter)
        print("""
            Invitation for a new box of branch \(chosen.name) (\(chosen.id)), valid until \(until) (\(hours) h), good for one box:

            \(token.text)

            On the new box (as the daemon's user):
              edgenode join --invitation '<the token above>' --data-dir /var/lib/edgenode
            It asks the relay at \(relayURL) to join; this box approves it while it runs (edgenode serve with relay.url).
            Keep the token secret: whoever holds it can join a box to the business until it expires or is used.
            """)
        if chosen.id == home {
            FileHandle.standardError.write(Data("""
                note: the new box serves this box's own branch; both will confirm that branch's bookings. \
                For a box of another branch, create the branch first and pass --branch.\n
                """.utf8))
        }
    }
}

/// The branches of the business, for resolving `invite --branch`: from the running daemon if
/// there is one (the store is then in use), else from the store.
struct BranchDirectory {
    struct Entry { let id: String; let name: String }
    let entries: [Entry]

    static func load(configuration: NodeConfiguration, directory: ReplicaDirectory) throws -> BranchDirectory {
        if let client = try? ConsoleClient(configuration: configuration), case let (200, body)? = try? client.request("GET", "/v1/branches"),
           let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], let items = object["items"] as? [[String: Any]] {
            return BranchDirectory(entries: items.compactMap { item in
                (item["id"] as? String).map { Entry(id: $0, name: item["name"] as? String ?? "") }
            })
        }
        let store = try directory.openStore(logger: makeLogger())
        let shop = try Shop(store: store, logger: makeLogger())
        return BranchDirectory(entries: try shop.branches().map { Entry(id: $0.id.rawValue, name: $0.name) })
    }

    /// The branch named (by id, or by name ignoring case), or the home branch.
    func resolve(_ wanted: String?, home: String) throws -> Entry {
        guard let wanted else {
            return entries.first { $0.id == home } ?? Entry(id: home, name: home)
        }
        if let byID = entries.first(where: { $0.id.lowercased() == wanted.lowercased() }) { return byID }
        let byName = entries.filter { $0.name.lowercased() == wanted.lowercased() }
        if byName.count == 1 { return byName[0] }
        let known = entries.map { "\($0.name) (\($0.id))" }.joined(separator: ", ")
        if byName.count > 1 { throw CommandFailure("several branches are called \(wanted); give the id: \(known)") }
        throw CommandFailure("no branch \(wanted) in this business; the branches are: \(known.isEmpty ? "none yet" : known)")
    }
}

// MARK: Joining (the new box)

/// `edgenode join --invitation`: the new box's side (docs/relay-protocol.md §12.2).
public struct InvitationJoin: Sendable {
    public let directory: ReplicaDirectory
    public let token: InvitationToken
    /// A name for this box in the owner's log (e.g. its host name).
    public var label: String
    /// How long to wait for the owner's box to approve.
    public var wait: Duration = .seconds(600)
    /// Told what is happening while it waits (the command prints it on standard error).
    public var progress: @Sendable (String) -> Void = { _ in }
    /// For an `https` relay with a private CA: a PEM file of the certificates to trust; kept in
    /// the data directory as `relay-ca.pem` once joined, for `serve`.
    public var caFile: String?

    public init(directory: ReplicaDirectory, token: InvitationToken, label: String) {
        self.directory = directory
        self.token = token
        self.label = label
    }

    /// What `run` did.
    public struct Result: Sendable {
        public let business: BusinessID
        public let site: SiteID
        public let branch: String
        public let consoleTokenPath: String
        public let relayURL: String
    }

    /// Checks the token, makes this box's key, asks the relay to join, waits for the owner's box
    /// to answer, and initialises the data directory with the certificate it issued.
    /// - Throws: `InvitationError` naming what is wrong. Until approval only `identity.key` is
    ///   written (reused by a retry), so running the command again is always safe.
    public func run(now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) async throws -> Result {
        let invitation = token.invitation
        guard invitation.isValid(at: now()) else {
            throw InvitationError("this invitation expired at \(Instant(milliseconds: invitation.notAfter)); ask the owner for a new one (edgenode invite)")
        }
        guard !directory.isInitialised else { throw InvitationError("\(directory.path) is already initialised (it is a box of business \(Self.business(of: directory)))") }
        if let existing = try? String(decoding: directory.readFile(directory.ownerPublicKeyPath), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
           !existing.isEmpty, existing != invitation.ownerKey.hex {
            throw InvitationError("\(directory.path) was set up for another business (owner \(existing)); this invitation is for owner \(invitation.ownerKey.hex). Use an empty --data-dir")
        }
        if let caFile {
            do { _ = try RelayTLS.certificates(caFile) } catch { throw InvitationError("\(error); nothing was written") }
        }
        guard let endpoint = RelayEndpoint(url: invitation.relayURL, caFile: caFile) else {
            throw InvitationError("the invitation names a relay this edgenode cannot use: \(invitation.relayURL)")
        }
        try directory.create()
        let identity = try directory.loadOrCreateIdentity()
        let business = invitation.business
        let client = RelayClient(endpoint: endpoint, identity: token.key, business: business)
        let path = "/invitations/\(invitation.id.hex)/join-request"
        let request = try JoinRequest.make(business: business, invitation: token.key, box: identity, label: label, requestedAt: now())
        do {
            let reply = try await client.send(path, RelayJSON.JoinRequestBody(joinRequest: Data(request.encoded).base64EncodedString()),
                                              as: RelayJSON.JoinStatusReply.self)
            progress("Asked the relay at \(endpoint) to join business \(business.hex) as site \(SiteID(publicKey: identity.publicKey).hex) (\(reply.state)).")
        } catch let problem as RelayClient.Problem {
            throw Self.explain(problem, relay: endpoint)
        } catch let failure as PeerHTTP.Failure where failure.isTLS {
            throw InvitationError("""
                the relay at \(endpoint) could not be verified: \(failure). If it uses a certificate of a private CA, pass that CA \
                with --relay-ca-file. Nothing was written but this box's key (\(directory.identityPath))
                """)
        } catch {
            throw InvitationError("cannot reach the relay at \(endpoint): \(error). Nothing was written but this box's key (\(directory.identityPath)); run the same command again when the relay is reachable")
        }
        let certificateBytes = try await waitForAnswer(client, path: path, endpoint: endpoint)
        let certificate: Certificate
        do { certificate = try Certificate.decode(certificateBytes) } catch {
            throw InvitationError("the certificate the relay handed over does not verify: \(error)")
        }
        guard certificate.ownerKey == invitation.ownerKey, certificate.subjectKey == identity.publicKey else {
            throw InvitationError("the certificate the relay handed over is not the owner's certificate for this box; nothing was written")
        }
        guard certificate.role == invitation.role, certificate.branch == invitation.branch else {
            throw InvitationError("the certificate names role \(certificate.role) and branch \(certificate.branch), not the invitation's \(invitation.role) and \(invitation.branch)")
        }
        let joined = try JoinSetup.complete(directory: directory, certificateBytes: certificateBytes, pairedBy: "edgenode join --invitation")
        try StoredRelayURL.write(invitation.relayURL, to: directory)
        if let caFile { try directory.writeFile(try directory.readFile(caFile), to: StoredRelayURL.caPath(directory)) }
        return Result(business: business, site: joined.site, branch: certificate.branch, consoleTokenPath: joined.consoleTokenPath, relayURL: invitation.relayURL)
    }

    /// Asks for the answer (long-polls of up to 25 s) until approval, refusal or `wait`; retries
    /// through an unreachable relay.
    private func waitForAnswer(_ client: RelayClient, path: String, endpoint: RelayEndpoint) async throws -> [UInt8] {
        let started = ContinuousClock.now
        let deadline = started + wait
        var lastReport = started
        var delay = 1.0
        progress("Waiting for the owner's box to approve (it does so by itself while it runs with the relay; up to \(wait.components.seconds) s)…")
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw InvitationError("""
                    the owner's box has not answered within \(wait.components.seconds) s. Is it running (edgenode serve) with relay.url set? \
                    Run the same command again to keep waiting; the request stays at the relay until the invitation expires
                    """)
            }
            let seconds = max(0, min(25, Int(left.components.seconds) - 1))
            do {
                let body = try await client.send(.GET, path, query: "wait_seconds=\(seconds)", timeout: .seconds(Int64(seconds) + 30))
                let status = try RelayJSON.decoder.decode(RelayJSON.JoinStatusReply.self, from: Data(body))
                delay = 1
                switch status.state {
                case "approved":
                    guard let text = status.certificate, let bytes = Data(base64Encoded: text) else {
                        throw InvitationError("the relay says approved but sent no certificate")
                    }
                    progress("Approved by the owner's box.")
                    return Array(bytes)
                case "refused":
                    throw InvitationError("the owner's box refused this box: \(status.refusal ?? "no reason given"). Ask the owner for a new invitation")
                default:
                    break
                }
            } catch let problem as RelayClient.Problem where !problem.isTransient {
                throw Self.explain(problem, relay: endpoint)
            } catch let error as InvitationError {
                throw error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                progress("The relay at \(endpoint) is not reachable (\(error)); trying again…")
                try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                delay = min(delay * 2, 10)
            }
            if ContinuousClock.now - lastReport >= .seconds(60) {
                lastReport = ContinuousClock.now
                progress("Still waiting for the owner's box (\((ContinuousClock.now - started).components.seconds) s)…")
            }
        }
    }

    static func explain(_ problem: RelayClient.Problem, relay: RelayEndpoint) -> InvitationError {
        switch problem.kind {
        case "invitation_used": InvitationError("this invitation was already used by another box; ask the owner for a new one (edgenode invite)")
        case "invitation_expired": InvitationError("this invitation expired; ask the owner for a new one (edgenode invite)")
        case "unknown_principal", "not_found":
            InvitationError("the relay at \(relay) does not know this invitation (was it made for another relay, or deleted long after it expired?)")
        default: InvitationError("the relay at \(relay) refused: \(problem.kind): \(problem.detail)")
        }
    }

    static func business(of directory: ReplicaDirectory) -> String {
        (try? String(decoding: directory.readFile(directory.ownerPublicKeyPath), as: UTF8.self)).flatMap { PublicKey(hex: $0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            .map { BusinessID(ownerKey: $0).hex } ?? "unknown"
    }
}

/// What `join` does once it holds a certificate for this box's key: writes it and the owner's
/// public key, opens the replica (which records the certificate) and makes the box console's token.
enum JoinSetup {
    struct Joined { let site: SiteID; let business: BusinessID; let consoleTokenPath: String }

    static func complete(directory: ReplicaDirectory, certificateBytes: [UInt8], pairedBy: String) throws -> Joined {
        let identity = try directory.loadIdentity()
        let decoded = try Certificate.decode(certificateBytes)
        guard decoded.subjectKey == identity.publicKey else {
            throw CommandFailure("the certificate is for key \(decoded.subjectKey.hex), not this replica's \(identity.publicKey.hex)")
        }
        try directory.writeFile(Array(decoded.ownerKey.hex.utf8), to: directory.ownerPublicKeyPath)
        // The certificate last: it is what makes the directory initialised.
        try directory.writeFile(certificateBytes, to: directory.certificatePath)
        let store = try directory.openStore(logger: makeLogger())
        // Every box has its own console device, so `edgenode pair` and `status` work on it too.
        let shop = try Shop(store: store, logger: makeLogger())
        let (_, token) = try shop.registerDevice(name: "Box console", role: .owner, pairedBy: pairedBy)
        try directory.writeFile(Array(token.utf8), to: Provisioning.consoleTokenPath(directory), mode: 0o600)
        return Joined(site: store.site, business: store.business, consoleTokenPath: Provisioning.consoleTokenPath(directory))
    }
}

// MARK: Approving (the owner's box's uplink)

extension UplinkService {
    /// The box that holds the owner key answers the join requests waiting at the relay: each is
    /// judged against this box's own invitation book (never the relay's word); an approved box
    /// gets a certificate (recorded in the replica, so it replicates), is enrolled at the relay,
    /// and receives the data key in the next round (`distributeKey` seals to every box it knows).
    func answerJoinRequests(_ work: inout RelaySessionWork) async throws {
        guard files.directory.hasOwnerKey else { return }
        let owner = try files.directory.loadOwnerKey()
        let client = RelayClient(endpoint: endpoint, identity: owner, business: store.business, time: status.time)
        let body: [UInt8]
        do { body = try await client.send(.GET, "/join-requests") } catch let problem as RelayClient.Problem where !problem.isTransient {
            // A relay without invitations (an older version) must not stop the uplink.
            logger.warning("cannot read the join requests at the relay", metadata: ["reason": "\(problem)"])
            return
        }
        let reply = try RelayJSON.decoder.decode(RelayJSON.PendingJoinRequestsReply.self, from: Data(body))
        let book = InvitationBook(directory: files.directory)
        for item in reply.joinRequests where !work.answered.contains(item.invitation) {
            guard let id = SiteID(hex: item.invitation), let bytes = Data(base64Encoded: item.joinRequest) else {
                logger.warning("ignoring an unreadable join request from the relay", metadata: ["invitation": "\(item.invitation)"])
                work.answered.insert(item.invitation)
                continue
            }
            let metadata: Logger.Metadata = ["invitation": "\(id.hex.prefix(12))", "box": "\(item.box.prefix(12))", "label": "\(item.label)"]
            logger.notice("join request received", metadata: metadata)
            let verdict = book.judge(joinRequest: Array(bytes), invitationID: id, relayRecord: Data(base64Encoded: item.invitationRecord).map(Array.init),
                                     business: store.business, ownerKey: owner.publicKey, now: RelayClient.now())
            do {
                try await answer(verdict, invitation: id, client: client, owner: owner, book: book, metadata: metadata)
            } catch let problem as RelayClient.Problem where !problem.isTransient {
                // The relay would refuse it again: leave it for this session rather than stop syncing.
                logger.warning("the relay did not take the answer to a join request", metadata: metadata.merging(["reason": "\(problem)"]) { $1 })
            }
            work.answered.insert(item.invitation)
        }
    }

    private func answer(_ verdict: InvitationBook.Verdict, invitation id: SiteID, client: RelayClient, owner: SigningKey, book: InvitationBook,
                        metadata: Logger.Metadata) async throws {
        let decisionPath = "/invitations/\(id.hex)/decision"
        switch verdict {
        case .approve(let invitation, let request):
            let now = RelayClient.now()
            let certificate = try Certificate.issue(by: owner, for: request.boxKey, role: invitation.role, branch: invitation.branch,
                                                    notBefore: now - 60_000, notAfter: now + Int64(InvitationIssuer.certificateDays) * 86_400_000)
            // Used from here on, before anything leaves the box, so it is never issued twice.
            try book.markUsed(id, certificate: certificate)
            let store = self.store
            try await NIOThreadPool.singleton.runIfActive { try store.record(certificate: certificate) }
            logger.notice("join request approved: issued a certificate", metadata: metadata.merging([
                "site": "\(certificate.subjectSite.hex.prefix(12))", "branch": "\(certificate.branch)", "role": "\(certificate.role)"]) { $1 })
            _ = try await client.send(decisionPath, RelayJSON.DecisionRequest(certificate: Data(certificate.encoded).base64EncodedString()), as: RelayClient.Ignored.self)
            logger.notice("new box enrolled at the relay; its data key follows", metadata: metadata)
        case .repeatApproval(let certificate):
            let store = self.store
            try await NIOThreadPool.singleton.runIfActive { try store.record(certificate: certificate) }
            _ = try await client.send(decisionPath, RelayJSON.DecisionRequest(certificate: Data(certificate.encoded).base64EncodedString()), as: RelayClient.Ignored.self)
            logger.notice("join request approved again with the certificate issued before", metadata: metadata)
        case .refuse(let reason):
            logger.warning("join request refused", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
            _ = try await client.send(decisionPath, RelayJSON.DecisionRequest(refusal: reason), as: RelayClient.Ignored.self)
        case .leave(let reason):
            logger.info("join request left to the box that issued its invitation", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
        }
    }
}
