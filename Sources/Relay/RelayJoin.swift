import Logging
import Replication

/// Invitations, join requests and snapshots (docs/relay-protocol.md §12, §13): the relay keeps
/// them and hands them on; it cannot make an invitation (the owner signs it), cannot approve a
/// join request (the owner's box issues the certificate) and cannot read a snapshot.
extension RelayCore {
    // MARK: Invitations

    /// Registers an owner-signed invitation (the request is the owner's).
    /// - Returns: the invitation and whether it was new.
    /// - Throws: `RelayError` `forbidden` (not the owner), `invalidInvitation`, `wrongBusiness`, `invitationExpired`.
    public func registerInvitation(_ bytes: [UInt8], business: BusinessID, principal: RelayPrincipal) async throws -> (Invitation, Bool) {
        guard case .owner = principal else { throw RelayError(.forbidden, "only the owner registers invitations") }
        let invitation: Invitation
        do { invitation = try Invitation.decode(bytes) } catch {
            throw RelayError(.invalidInvitation, error.message)
        }
        guard invitation.business == business else { throw RelayError(.wrongBusiness, "the invitation is signed by another business's owner key") }
        guard invitation.isValid(at: clock.now()) else { throw RelayError(.invitationExpired, "the invitation expired at \(invitation.notAfter)") }
        let created = try await businessLimiter.run(business) { try await storage.addInvitation(invitation, business: business, at: clock.now()) }
        if created {
            logger.notice("invitation registered", metadata: ["relay.business": "\(business.hex)", "relay.invitation": "\(invitation.id.hex)",
                                                              "relay.not_after": "\(invitation.notAfter)"])
        }
        return (invitation, created)
    }

    /// Stores a join request under its invitation (the request is signed with the invitation key).
    /// A retry with the same box key is answered with the stored state; another box is refused.
    /// - Returns: the invitation as stored and whether the join request was new.
    /// - Throws: `RelayError` `forbidden`, `invalidJoinRequest`, `wrongBusiness`, `invitationExpired`, `invitationUsed`.
    public func requestToJoin(_ bytes: [UInt8], business: BusinessID, invitation id: SiteID, principal: RelayPrincipal) async throws -> (StoredInvitation, Bool) {
        guard case .invitee(_, let invitation) = principal, invitation.id == id else {
            throw RelayError(.forbidden, "a join request is signed with the key of the invitation it is made under")
        }
        let request: JoinRequest
        do { request = try JoinRequest.decode(bytes) } catch {
            throw RelayError(.invalidJoinRequest, error.message)
        }
        guard request.business == business else { throw RelayError(.wrongBusiness, "the join request names another business") }
        guard request.invitationKey == invitation.invitationKey else {
            throw RelayError(.invalidJoinRequest, "the join request is made under another invitation than the path's")
        }
        guard invitation.isValid(at: clock.now()) else {
            throw RelayError(.invitationExpired, "the invitation expired at \(invitation.notAfter); ask the owner for a new one")
        }
        let outcome = try await businessLimiter.run(business) { try await storage.recordJoinRequest(request, business: business, at: clock.now()) }
        switch outcome {
        case .stored:
            logger.notice("join request stored", metadata: ["relay.business": "\(business.hex)", "relay.invitation": "\(id.hex)",
                                                            "relay.site": "\(request.boxSite.hex)", "relay.label": "\(request.label)"])
            notifier.notify(business)
        case .duplicate: break
        case .taken: throw RelayError(.invitationUsed, "this invitation was used by another box; ask the owner for a new one")
        case .unknown: throw RelayError(.notFound, "no invitation \(id.hex) is visible to this requester")
        }
        guard let stored = try await storage.invitation(id, business: business) else {
            throw RelayError(.notFound, "no invitation \(id.hex) is visible to this requester")
        }
        return (stored, outcome == .stored)
    }

    /// The invitation and its join request's answer, for the invitee (or the owner). With `wait`,
    /// holds the request while the answer is still to come, like a pull.
    public func joinStatus(business: BusinessID, invitation id: SiteID, principal: RelayPrincipal, wait: Duration) async throws -> StoredInvitation {
        switch principal {
        case .owner: break
        case .invitee(_, let invitation) where invitation.id == id: break
        default: throw RelayError(.forbidden, "only the invitation's key or the owner reads its join request")
        }
        let deadline = ContinuousClock.now + min(wait, .seconds(limits.maxWaitSeconds))
        while true {
            let generation = notifier.generation(of: business)
            guard let stored = try await storage.invitation(id, business: business) else {
                throw RelayError(.notFound, "no invitation \(id.hex) is visible to this requester")
            }
            let now = ContinuousClock.now
            let isAnswered = stored.state == .approved || stored.state == .refused
            if isAnswered || now >= deadline || notifier.isShutDown || Task.isCancelled || !stored.invitation.isValid(at: clock.now()) { return stored }
            await notifier.wait(for: business, after: generation, timeout: storage.isShared ? min(deadline - now, limits.pollInterval) : deadline - now)
            if notifier.isShutDown { return stored }
        }
    }

    /// The join requests waiting for the owner's box (owner only).
    public func pendingJoinRequests(business: BusinessID, principal: RelayPrincipal) async throws -> [StoredInvitation] {
        guard case .owner = principal else { throw RelayError(.forbidden, "only the owner reads join requests") }
        return try await businessLimiter.run(business) { try await storage.pendingJoinRequests(of: business, at: clock.now()) }
    }

    /// The owner's box answers a join request: with a certificate for the box that asked (which
    /// is enrolled, §5.2) or with a refusal. Answering again with the same certificate is harmless.
    /// - Throws: `RelayError` `forbidden`, `notFound` (no join request waits), `invalidCertificate`,
    ///   `wrongBusiness`, `revoked`, `notValid`, `invitationUsed` (answered otherwise before).
    public func decide(business: BusinessID, invitation id: SiteID, certificate certificateBytes: [UInt8]?, refusal: String?,
                       principal: RelayPrincipal) async throws -> StoredInvitation {
        guard case .owner = principal else { throw RelayError(.forbidden, "only the owner answers join requests") }
        guard let stored = try await storage.invitation(id, business: business) else {
            throw RelayError(.notFound, "no invitation \(id.hex) is visible to this requester")
        }
        switch stored.state {
        case .open: throw RelayError(.notFound, "no join request waits under invitation \(id.hex)")
        case .approved where certificateBytes != nil && stored.certificate == certificateBytes: return stored
        case .refused where certificateBytes == nil: return stored
        case .approved, .refused: throw RelayError(.invitationUsed, "the join request under invitation \(id.hex) was answered before")
        case .pending: break
        }
        if let certificateBytes {
            let certificate: Certificate
            do { certificate = try Certificate.decode(certificateBytes) } catch {
                throw RelayError(.invalidCertificate, error.message)
            }
            guard certificate.subjectKey == stored.joinRequest?.boxKey else {
                throw RelayError(.invalidCertificate, "the certificate is not for the box that asked to join")
            }
            _ = try await enrol(certificateBytes, business: business, principal: principal)
        }
        let decided = try await businessLimiter.run(business) {
            try await storage.decideJoinRequest(id, business: business, certificate: certificateBytes, refusal: refusal, at: clock.now())
        }
        guard let after = try await storage.invitation(id, business: business) else {
            throw RelayError(.notFound, "no invitation \(id.hex) is visible to this requester")
        }
        guard decided || (after.state == .approved && after.certificate == certificateBytes) || (after.state == .refused && certificateBytes == nil) else {
            throw RelayError(.invitationUsed, "the join request under invitation \(id.hex) was answered before")
        }
        if decided {
            logger.notice(certificateBytes == nil ? "join request refused by the owner" : "join request approved by the owner",
                          metadata: ["relay.business": "\(business.hex)", "relay.invitation": "\(id.hex)", "relay.reason": "\(refusal ?? "")"])
            notifier.notify(business)
        }
        return after
    }

    // MARK: Snapshots

    /// Keeps a box's sealed snapshot as the business's snapshot (a box's own only).
    /// - Throws: `RelayError` `forbidden` (not a box), `invalidSnapshot`, `wrongBusiness`, `staleSnapshot`.
    public func storeSnapshot(_ bytes: [UInt8], business: BusinessID, principal: RelayPrincipal) async throws -> SealedSnapshot {
        guard case .box(_, let site, let certificate) = principal else {
            throw RelayError(.forbidden, "only a box (which holds the data key) uploads snapshots")
        }
        let snapshot: SealedSnapshot
        do { snapshot = try SealedSnapshot.decode(bytes, maxBytes: limits.maxSnapshotBytes) } catch {
            throw RelayError(error.code == .tooLarge ? .bodyTooLarge : .invalidSnapshot, error.message)
        }
        guard snapshot.business == business else { throw RelayError(.wrongBusiness, "the snapshot names another business") }
        guard snapshot.producer == site else { throw RelayError(.invalidSnapshot, "a box uploads only snapshots it made itself") }
        guard snapshot.verifySignature(with: certificate.subjectKey) else {
            throw RelayError(.invalidSnapshot, "the snapshot's signature does not verify against the uploader's certified key")
        }
        let outcome = try await businessLimiter.run(business) { try await storage.storeSnapshot(snapshot, business: business, at: clock.now()) }
        if case .stale(let stored) = outcome {
            throw RelayError(.staleSnapshot, "the relay holds a snapshot of \(stored), which covers this one's \(snapshot.vector)")
        }
        logger.notice("snapshot stored", metadata: ["relay.business": "\(business.hex)", "relay.site": "\(site.hex)",
                                                    "relay.bytes": "\(bytes.count)", "relay.key_id": "\(snapshot.keyID)"])
        return snapshot
    }

    /// The stored snapshot's header, the relay's vector and its compaction marks (boxes only).
    public func snapshotInfo(business: BusinessID, principal: RelayPrincipal) async throws -> (snapshot: SnapshotInfo?, available: VersionVector, compaction: VersionVector) {
        guard case .box = principal else { throw RelayError(.forbidden, "only boxes read the snapshot") }
        return try await businessLimiter.run(business) {
            var available = VersionVector(), compaction = VersionVector()
            for head in try await storage.heads(of: business) {
                available[head.author] = head.sequence
                compaction[head.author] = head.compactedThrough
            }
            return (try await storage.snapshotInfo(of: business), available, compaction)
        }
    }

    /// The stored snapshot's bytes (boxes only).
    /// - Throws: `RelayError` `forbidden`, `noSnapshot`.
    public func snapshot(business: BusinessID, principal: RelayPrincipal) async throws -> [UInt8] {
        guard case .box = principal else { throw RelayError(.forbidden, "only boxes read the snapshot") }
        guard let bytes = try await businessLimiter.run(business, { try await storage.snapshot(of: business) }) else {
            throw RelayError(.noSnapshot, "no box of this business has uploaded a snapshot yet")
        }
        return bytes
    }
}
