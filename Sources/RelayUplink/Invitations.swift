import Domain
import Foundation
import Logging
import NIOCore
import NIOPosix
import OutboundHTTP
import Replication
import RelayWire

/// The invitations this box issued (`edgenode invite`), kept in the data directory so that the
/// box approves join requests against its own record and never against what the relay says
/// (docs/relay-protocol.md §12.4). `invitations/` (mode 0700) holds per invitation, named by its
/// id (the invitation key's site id, 32 hex digits):
///
/// - `<id>.invitation`: the owner-signed invitation (§12.1), without the token's seed;
/// - `<id>.certificate`: the certificate issued when it was used (the invitation is used).
package struct InvitationBook: Sendable {
    let directory: ReplicaDirectory

    package init(directory: ReplicaDirectory) { self.directory = directory }
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
    package static let keptAfterExpiry: Int64 = 7 * 86_400_000

    /// Deletes the records (invitation and certificate) of invitations that expired before
    /// `cutoff`; a file that does not decode is left alone. Returns how many were deleted.
    @discardableResult
    package func prune(expiredBefore cutoff: Int64) -> Int {
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

/// A problem with an invitation that the command line reports as it is.
package struct InvitationError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
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

// MARK: Approving (the owner's box's uplink)

extension UplinkService {
    /// The box that holds the owner key answers the join requests waiting at the relay: each is
    /// judged against this box's own invitation book (never the relay's word); an approved box
    /// gets a certificate (recorded in the replica, so it replicates), is enrolled at the relay,
    /// and receives the data key in the next round (`distributeKey` seals to every box it knows).
    func answerJoinRequests(_ work: inout RelaySessionWork) async throws {
        guard files.directory.hasOwnerKey else { return }
        let owner = try files.directory.loadOwnerKey()
        let client = RelayClient(endpoint: endpoint, identity: owner, business: store.business, time: status.time, client: self.client)
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
            try await store.perform { try store.record(certificate: certificate) }
            logger.notice("join request approved: issued a certificate", metadata: metadata.merging([
                "site": "\(certificate.subjectSite.hex.prefix(12))", "branch": "\(certificate.branch)", "role": "\(certificate.role)"]) { $1 })
            _ = try await client.send(decisionPath, RelayJSON.DecisionRequest(certificate: Data(certificate.encoded).base64EncodedString()), as: RelayClient.Ignored.self)
            logger.notice("new box enrolled at the relay; its data key follows", metadata: metadata)
        case .repeatApproval(let certificate):
            let store = self.store
            try await store.perform { try store.record(certificate: certificate) }
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
