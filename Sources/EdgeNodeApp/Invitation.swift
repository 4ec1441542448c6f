import ArgumentParser
import Domain
import Foundation
import Logging
import NIOCore
import NIOPosix
import OutboundHTTP
import Replication
import RelayWire

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
