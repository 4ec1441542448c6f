import Logging
import Metrics
import NIOCore
import Replication

/// Who signed a request.
public enum RelayPrincipal: Hashable, Sendable {
    /// The business owner's root key.
    case owner(BusinessID)
    /// A box (or other device) with a certificate of the business.
    case box(BusinessID, SiteID, Certificate)
    /// A box not enrolled yet that proves possession of the key of the certificate it enrols.
    case enrollee(BusinessID, SiteID)
    /// The holder of an invitation token: signs with the invitation key (only on the
    /// join-request endpoints of that invitation, docs/relay-protocol.md §12).
    case invitee(BusinessID, Invitation)

    public var business: BusinessID {
        switch self {
        case .owner(let business), .box(let business, _, _), .enrollee(let business, _), .invitee(let business, _): business
        }
    }
}

/// A request as the relay authenticates it: what the signature covers.
public struct SignedRequest: Sendable {
    public var method: String
    public var path: String
    public var query: String
    public var body: [UInt8]
    public var authorization: String?

    public init(method: String, path: String, query: String, body: [UInt8], authorization: String?) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.authorization = authorization
    }
}

/// The result of one envelope of a push.
public struct PushResult: Hashable, Sendable {
    public enum Status: String, Sendable { case stored, duplicate, refused }
    public var index: Int
    public var hash: [UInt8]?
    public var status: Status
    /// For `refused`: a stable snake_case reason (docs/relay-protocol.md §6.4).
    public var reason: String?
    public var detail: String?
    /// For a `sequence_gap`: the sequence the relay expects next from this author.
    public var expectedSequence: UInt64?
}

/// What a pull returns.
public struct PullResult: Sendable {
    public var envelopes: [[UInt8]]
    /// More envelopes are waiting beyond this batch.
    public var more: Bool
    /// What the relay holds: each author's newest stored sequence.
    public var available: VersionVector
    /// Authors whose envelopes the puller lacks were compacted away up to the sequence given:
    /// the puller needs a snapshot (§13) to go past them.
    public var compacted: [SiteID: UInt64]
    /// Every author's compaction mark (envelopes up to it are deleted).
    public var compaction = VersionVector()
    /// The business's snapshot at the relay, if any.
    public var snapshot: SnapshotInfo?
    /// Join requests waiting for the owner's box (§12).
    public var joinRequests = 0
    /// How many certificates and revocations the business has (grows with its membership).
    public var membership = 0
}

/// The relay's logic, without HTTP: authentication of signed requests, registration, enrolment,
/// revocation, push (verification and chain extension), pull (with long-poll), acknowledgements,
/// compaction and sealed data keys. Generic over its storage.
public final class RelayCore<Storage: RelayStorage>: Sendable {
    public let storage: Storage
    public let limits: RelayLimits
    public let clock: RelayClock
    let logger: Logger
    let notifier = ChangeNotifier()
    let rateLimiter: RateLimiter
    let businessLimiter: BusinessLimiter
    let metrics: RelayMetrics

    /// - Parameter metricsFactory: where the counters go (`RelayMetrics`); the process's
    ///   `MetricsSystem` by default.
    public init(storage: Storage, limits: RelayLimits = RelayLimits(), clock: RelayClock = .system, logger: Logger,
                metricsFactory: any MetricsFactory = MetricsSystem.factory) {
        self.storage = storage
        self.limits = limits
        self.clock = clock
        self.logger = logger
        self.metrics = RelayMetrics(factory: metricsFactory)
        self.rateLimiter = RateLimiter(burst: limits.requestBurst, perSecond: limits.requestsPerSecond)
        self.businessLimiter = BusinessLimiter(concurrency: limits.businessConcurrency, queue: limits.businessQueue)
    }

    /// Ends long-polls and queued work: called when the relay begins to shut down.
    public func beginShutdown() {
        notifier.shutdown()
        businessLimiter.shutdown()
    }

    // MARK: Authentication

    /// Checks a signed request: header syntax, timestamp window, that the business exists and
    /// the signer belongs to it, the signature, revocation and validity, the per-box rate and
    /// the nonce (each nonce once). The order matters: nothing about a business is said to a
    /// requester that cannot sign for it.
    /// - Parameters:
    ///   - pathBusiness: the business the request's path names; it must be the signer's.
    ///   - enrollee: for enrolment, the key of the certificate being enrolled, whose holder may
    ///     sign before it is enrolled.
    ///   - invitation: for the join-request endpoints, the invitation whose key may sign.
    /// - Throws: `RelayError` (`unauthenticated`, `staleRequest`, `unknownPrincipal`,
    ///   `badSignature`, `revoked`, `notValid`, `notFound`, `rateLimited`, `replayedRequest`).
    public func authenticate(_ request: SignedRequest, pathBusiness: BusinessID, enrollee: PublicKey? = nil,
                             invitation: SiteID? = nil) async throws -> RelayPrincipal {
        let (signature, now) = try freshSignature(request.authorization)
        let unknown = Self.unknownPrincipal(signature)
        guard let ownerKey = try await storage.ownerKey(of: signature.business) else { throw unknown }
        let principal: RelayPrincipal
        let key: PublicKey
        var certificate: Certificate?
        if signature.site == SiteID(publicKey: ownerKey) {
            principal = .owner(signature.business)
            key = ownerKey
        } else {
            let certificates = try await storage.certificates(of: signature.business, site: signature.site)
            if let first = certificates.first {
                key = first.subjectKey
                certificate = certificates.first { $0.isValid(at: now) }
                principal = .box(signature.business, signature.site, certificate ?? first)
            } else if let enrollee, SiteID(publicKey: enrollee) == signature.site {
                key = enrollee
                principal = .enrollee(signature.business, signature.site)
            } else if let invitation, invitation == signature.site,
                      let stored = try await storage.invitation(invitation, business: signature.business) {
                key = stored.invitation.invitationKey
                principal = .invitee(signature.business, stored.invitation)
            } else {
                throw unknown
            }
        }
        guard signature.verify(method: request.method, path: request.path, query: request.query, body: request.body, key: key) else {
            throw RelayError(.badSignature, "the request's signature does not verify against the key of site \(signature.site.hex)")
        }
        if case .box = principal {
            let revocations = try await storage.revocations(of: signature.business)
            if let revocation = revocations.first(where: { $0.subjectSite == signature.site && $0.effectiveFrom <= now }) {
                throw RelayError(.revoked, "site \(signature.site.hex) was revoked from \(revocation.effectiveFrom)")
            }
            guard certificate != nil else { throw RelayError(.notValid, "no certificate of site \(signature.site.hex) is valid now") }
        }
        guard pathBusiness == signature.business else { throw Self.noSuchBusiness(pathBusiness) }
        if let retryAfter = rateLimiter.take(signature.business.hex + signature.site.hex, now: now) {
            throw RelayError(.rateLimited, "too many requests from this box; retry in \(retryAfter) s", retryAfter: retryAfter)
        }
        guard try await storage.recordNonce(signature.nonce, site: signature.site, business: signature.business,
                                            expiresAt: signature.timestamp + limits.timestampWindowMilliseconds) else {
            throw RelayError(.replayedRequest, "this request's nonce was used before")
        }
        return principal
    }

    /// The checks of `authenticate` that need no body, for the endpoints that take large ones
    /// (push, snapshot upload): the header, the timestamp, a principal the relay knows (the owner
    /// or an enrolled box) and the path's business — so that a request that cannot be
    /// authenticated is refused before its body is read. Same errors, in the same order, as
    /// `authenticate`; nothing is recorded.
    public func precheck(authorization header: String?, pathBusiness: BusinessID) async throws {
        let (signature, _) = try freshSignature(header)
        let unknown = Self.unknownPrincipal(signature)
        guard let ownerKey = try await storage.ownerKey(of: signature.business) else { throw unknown }
        if signature.site != SiteID(publicKey: ownerKey), try await storage.certificates(of: signature.business, site: signature.site).isEmpty {
            throw unknown
        }
        guard pathBusiness == signature.business else { throw Self.noSuchBusiness(pathBusiness) }
    }

    /// The Authorization header parsed, its timestamp within the window of the relay's clock.
    private func freshSignature(_ header: String?) throws -> (RelayRequestSignature, now: Int64) {
        guard let header else {
            throw RelayError(.unauthenticated, "this endpoint needs an Authorization header signed with \(RelayRequestSignature.scheme)")
        }
        let signature: RelayRequestSignature
        do { signature = try RelayRequestSignature.parse(header) } catch {
            throw RelayError(.unauthenticated, error.message)
        }
        let now = clock.now()
        let (distance, overflow) = now.subtractingReportingOverflow(signature.timestamp)
        guard !overflow, distance.magnitude <= UInt64(limits.timestampWindowMilliseconds) else {
            throw RelayError(.staleRequest, "the request's timestamp is more than \(limits.timestampWindowMilliseconds / 1000) s from the relay's clock (\(now))")
        }
        return (signature, now)
    }

    private static func unknownPrincipal(_ signature: RelayRequestSignature) -> RelayError {
        RelayError(.unknownPrincipal, "no business \(signature.business.hex) with site \(signature.site.hex) is known to this relay")
    }

    /// The answer for a business that does not exist and for one that is not the requester's.
    static func noSuchBusiness(_ business: BusinessID) -> RelayError {
        RelayError(.notFound, "no business \(business.hex) is visible to this requester")
    }

    // MARK: Registration, enrolment, revocation

    /// Registers a business with its owner key, proven by the owner's signature over a recent timestamp.
    /// - Returns: whether it was new.
    public func register(ownerKey: PublicKey, timestamp: Int64, proof: [UInt8]) async throws -> (BusinessID, Bool) {
        let now = clock.now()
        let (distance, overflow) = now.subtractingReportingOverflow(timestamp)
        guard !overflow, distance.magnitude <= UInt64(limits.timestampWindowMilliseconds) else {
            throw RelayError(.staleRequest, "the registration's timestamp is more than \(limits.timestampWindowMilliseconds / 1000) s from the relay's clock")
        }
        guard proof.count == 64, RelayRegistrationProof.verify(proof, ownerKey: ownerKey, timestamp: timestamp) else {
            throw RelayError(.invalidRegistration, "the signature does not prove possession of the owner key")
        }
        let business = BusinessID(ownerKey: ownerKey)
        let created = try await storage.registerBusiness(business, ownerKey: ownerKey, at: now)
        if created { logger.notice("business registered", metadata: ["relay.business": "\(business.hex)"]) }
        return (business, created)
    }

    /// Enrols a box: stores its owner-signed certificate. The request is signed by the owner or
    /// by the box itself (possession of the certified key).
    public func enrol(_ certificateBytes: [UInt8], business: BusinessID, principal: RelayPrincipal) async throws -> (Certificate, Bool) {
        let certificate: Certificate
        do { certificate = try Certificate.decode(certificateBytes) } catch {
            throw RelayError(.invalidCertificate, error.message)
        }
        guard certificate.business == business else {
            throw RelayError(.wrongBusiness, "the certificate is signed by another business's owner key")
        }
        switch principal {
        case .owner: break
        case .box(_, let site, _), .enrollee(_, let site):
            guard site == certificate.subjectSite else { throw RelayError(.forbidden, "a box may enrol only itself; the owner enrols others") }
        case .invitee: throw RelayError(.forbidden, "an invitation key does not enrol boxes")
        }
        let now = clock.now()
        let revocations = try await storage.revocations(of: business)
        if revocations.contains(where: { $0.subjectSite == certificate.subjectSite && $0.effectiveFrom <= now }) {
            throw RelayError(.revoked, "site \(certificate.subjectSite.hex) is revoked")
        }
        guard certificate.notAfter >= now else { throw RelayError(.notValid, "the certificate expired at \(certificate.notAfter)") }
        let created = try await businessLimiter.run(business) { try await storage.addCertificate(certificate, business: business) }
        if created {
            logger.notice("box enrolled", metadata: ["relay.business": "\(business.hex)", "relay.site": "\(certificate.subjectSite.hex)",
                                                     "relay.branch": "\(certificate.branch)"])
            // A box that holds the data key is most likely waiting in a pull: waking it lets it
            // seal the key to the new box now instead of after its long-poll.
            notifier.notify(business)
        }
        return (certificate, created)
    }

    /// Stores an owner-signed revocation (posted by the owner or any enrolled box) and forgets the
    /// sealed data keys addressed to the revoked box.
    public func revoke(_ revocationBytes: [UInt8], business: BusinessID) async throws -> (Revocation, Bool) {
        let revocation: Revocation
        do { revocation = try Revocation.decode(revocationBytes) } catch {
            throw RelayError(.invalidRevocation, error.message)
        }
        guard BusinessID(ownerKey: revocation.ownerKey) == business else {
            throw RelayError(.wrongBusiness, "the revocation is signed by another business's owner key")
        }
        let created = try await businessLimiter.run(business) {
            let created = try await storage.addRevocation(revocation, business: business)
            try await storage.deleteSealedKeys(of: business, recipient: revocation.subjectSite)
            return created
        }
        if created {
            logger.notice("box revoked", metadata: ["relay.business": "\(business.hex)", "relay.site": "\(revocation.subjectSite.hex)"])
            notifier.notify(business)
        }
        return (revocation, created)
    }

    // MARK: Push

    /// Verifies and stores a batch of envelopes of `business`. Each is refused on its own with a
    /// specific reason, or stored, or acknowledged as a duplicate. Envelopes of one author are
    /// taken in sequence order, whatever their order in the batch.
    /// - Throws: `RelayError.batchTooLarge`, or a storage error (nothing of the batch is stored).
    public func push(_ batch: [[UInt8]], business: BusinessID) async throws -> [PushResult] {
        guard batch.count <= limits.maxBatchCount else {
            throw RelayError(.batchTooLarge, "a push carries at most \(limits.maxBatchCount) envelopes, not \(batch.count)")
        }
        let total = batch.reduce(0) { $0 + $1.count }
        guard total <= limits.maxBatchBytes else {
            throw RelayError(.batchTooLarge, "a push carries at most \(limits.maxBatchBytes) envelope bytes, not \(total)")
        }
        var results = batch.indices.map { PushResult(index: $0, hash: nil, status: .refused) }
        guard let ownerKey = try await storage.ownerKey(of: business) else { throw Self.noSuchBusiness(business) }
        var trust = TrustStore(ownerKey: ownerKey)
        for certificate in try await storage.certificates(of: business) { try? trust.add(certificate) }
        for revocation in try await storage.revocations(of: business) { try? trust.add(revocation) }

        var candidates: [(index: Int, envelope: RelayEnvelope, key: PublicKey)] = []
        var accepted: [(index: Int, envelope: RelayEnvelope)] = []
        for (index, bytes) in batch.enumerated() {
            func refuse(_ reason: String, _ detail: String) {
                results[index].reason = reason
                results[index].detail = detail
            }
            let envelope: RelayEnvelope
            do { envelope = try RelayEnvelope.decode(bytes, maxBytes: limits.maxEnvelopeBytes) } catch {
                refuse(error.code.description, error.message)
                continue
            }
            results[index].hash = envelope.hash
            guard envelope.business == business else {
                refuse("wrong_business", "the envelope belongs to another business")
                continue
            }
            let key: PublicKey
            do { key = try trust.authorKey(for: envelope.author, at: envelope.sealedAt) } catch {
                switch error.code {
                case .revoked: refuse("author_revoked", error.message)
                case .notValidAtTime: refuse("author_not_valid", error.message)
                default: refuse("unknown_author", error.message)
                }
                continue
            }
            candidates.append((index, envelope, key))
        }
        // Ed25519 verification dominates the cost of a push: spread it over the cores.
        let verified = await Self.verifySignatures(candidates.map { ($0.envelope, $0.key) })
        for (candidate, isValid) in zip(candidates, verified) {
            guard isValid else {
                results[candidate.index].reason = "bad_signature"
                results[candidate.index].detail = "the envelope's signature does not verify against its author's certified key"
                continue
            }
            accepted.append((candidate.index, candidate.envelope))
        }
        // Per author in sequence order (stable for equal sequences).
        accepted.sort { ($0.envelope.author, $0.envelope.sequence, $0.index) < ($1.envelope.author, $1.envelope.sequence, $1.index) }
        guard !accepted.isEmpty else { return results }
        let outcomes = try await businessLimiter.run(business) {
            try await storage.append(accepted.map(\.envelope), business: business, receivedAt: clock.now())
        }
        var storedAny = false
        for ((index, envelope), outcome) in zip(accepted, outcomes) {
            switch outcome {
            case .stored:
                results[index].status = .stored
                storedAny = true
            case .duplicate:
                results[index].status = .duplicate
            case .alreadyCompacted:
                results[index].status = .duplicate
                results[index].detail = "delivered to every box and compacted"
            case .gap(let expected):
                results[index].reason = "sequence_gap"
                results[index].detail = "author \(envelope.author.hex) sent sequence \(envelope.sequence); the relay expects \(expected) next"
                results[index].expectedSequence = expected
            case .chainMismatch:
                results[index].reason = "chain_mismatch"
                results[index].detail = "the previous hash is not the hash of this author's envelope \(envelope.sequence - 1)"
            case .conflict:
                results[index].reason = "conflicts_with_stored"
                results[index].detail = "another envelope of this author with sequence \(envelope.sequence) is stored"
                logger.warning("author forked its chain", metadata: ["relay.business": "\(business.hex)", "relay.author": "\(envelope.author.hex)",
                                                                    "relay.sequence": "\(envelope.sequence)"])
            }
        }
        if storedAny { notifier.notify(business) }
        for result in results { metrics.envelope(result.status, reason: result.reason) }
        return results
    }

    /// Whether each envelope's signature verifies with its key, in parallel chunks for large batches.
    static func verifySignatures(_ items: [(RelayEnvelope, PublicKey)]) async -> [Bool] {
        let workers = min(System.coreCount, items.count / 32)
        guard workers > 1 else { return items.map { $0.0.verifySignature(with: $0.1) } }
        let chunk = (items.count + workers - 1) / workers
        return await withTaskGroup(of: (Int, [Bool]).self) { group in
            for start in stride(from: 0, to: items.count, by: chunk) {
                let slice = Array(items[start..<min(start + chunk, items.count)])
                group.addTask { (start, slice.map { $0.0.verifySignature(with: $0.1) }) }
            }
            var results = [Bool](repeating: false, count: items.count)
            for await (start, verified) in group { results.replaceSubrange(start..<(start + verified.count), with: verified) }
            return results
        }
    }

    // MARK: Pull

    /// The envelopes `vector` lacks, oldest first per author, at most `limit` of them and about
    /// `maxPullBytes`; when there are none and `wait` is positive, waits up to `wait` for some.
    /// - Parameters:
    ///   - seenMembership, seenJoinRequests: the counts the puller saw in its previous pull's
    ///     answer; when the relay's differ (join requests: are more), the pull answers at once.
    ///     Without them, the relay's own counts when the pull starts are the reference.
    public func pull(business: BusinessID, vector: VersionVector, limit: Int?, wait: Duration,
                     seenMembership: Int? = nil, seenJoinRequests: Int? = nil) async throws -> PullResult {
        let limit = min(max(1, limit ?? limits.maxPullCount), limits.maxPullCount)
        let deadline = ContinuousClock.now + min(wait, .seconds(limits.maxWaitSeconds))
        var waited = false
        // A join request, an enrolment or a revocation that arrives while the pull waits answers
        // it (empty), so that the owner's box hears of a join request at once (§12.3) and a box
        // holding the data key seals it to a new box (or rotates it) at once (§5.2, §5.3).
        var joinRequestsAtStart = seenJoinRequests
        var membershipAtStart = seenMembership
        while true {
            let generation = notifier.generation(of: business)
            var result = try await businessLimiter.run(business) { () async throws -> PullResult in
                var result = try await collect(business: business, vector: vector, limit: limit)
                result.joinRequests = try await storage.pendingJoinRequestCount(of: business, at: clock.now())
                result.membership = try await storage.membershipCount(of: business)
                return result
            }
            let joinRequestArrived = joinRequestsAtStart.map { result.joinRequests > $0 } ?? false
            if joinRequestsAtStart == nil { joinRequestsAtStart = result.joinRequests }
            let membershipChanged = membershipAtStart.map { result.membership != $0 } ?? false
            if membershipAtStart == nil { membershipAtStart = result.membership }
            let now = ContinuousClock.now
            if !result.envelopes.isEmpty || !result.compacted.isEmpty || joinRequestArrived || membershipChanged || now >= deadline
                || notifier.isShutDown || Task.isCancelled {
                metrics.pull(woken: waited && !result.envelopes.isEmpty)
                result.snapshot = try await storage.snapshotInfo(of: business)
                return result
            }
            if !waited { logger.debug("pull waiting for envelopes", metadata: ["relay.business": "\(business.hex)"]) }
            waited = true
            await notifier.wait(for: business, after: generation, timeout: storage.isShared ? min(deadline - now, limits.pollInterval) : deadline - now)
            // Shutting down: answer with what there is (nothing), so the box simply asks again
            // (another relay process, or this one after its restart).
            if notifier.isShutDown {
                result.snapshot = try? await storage.snapshotInfo(of: business)
                return result
            }
        }
    }

    private func collect(business: BusinessID, vector: VersionVector, limit: Int) async throws -> PullResult {
        let heads = try await storage.heads(of: business)
        var available = VersionVector()
        var compacted: [SiteID: UInt64] = [:]
        var envelopes: [[UInt8]] = []
        var bytes = 0
        var more = false
        var compaction = VersionVector()
        for head in heads {
            available[head.author] = head.sequence
            compaction[head.author] = head.compactedThrough
            let have = vector[head.author]
            guard head.sequence > have else { continue }
            if have < head.compactedThrough { compacted[head.author] = head.compactedThrough }
            guard envelopes.count < limit, bytes < limits.maxPullBytes else {
                more = true
                continue
            }
            let start = max(have, head.compactedThrough)
            guard head.sequence > start else { continue }
            let batch = try await storage.envelopes(of: business, author: head.author, after: start, limit: limit - envelopes.count)
            var taken = 0
            for envelope in batch {
                guard envelopes.isEmpty || bytes + envelope.count <= limits.maxPullBytes else { break }
                envelopes.append(envelope)
                bytes += envelope.count
                taken += 1
            }
            if start + UInt64(taken) < head.sequence { more = true }
        }
        return PullResult(envelopes: envelopes, more: more, available: available, compacted: compacted, compaction: compaction)
    }

    // MARK: Acknowledgements and compaction

    /// Records what a box has.
    public func acknowledge(_ vector: VersionVector, site: SiteID, business: BusinessID) async throws {
        try await businessLimiter.run(business) { try await storage.recordAcknowledgement(vector, site: site, business: business) }
    }

    /// Deletes the envelopes that every enrolled, unrevoked box with a certificate valid now has
    /// acknowledged. A box that never acknowledges holds compaction back.
    /// - Returns: how many envelopes were deleted.
    @discardableResult
    public func compact(_ business: BusinessID) async throws -> Int {
        let now = clock.now()
        let revoked = Set(try await storage.revocations(of: business).filter { $0.effectiveFrom <= now }.map(\.subjectSite))
        let boxes = Set(try await storage.certificates(of: business).filter { $0.isValid(at: now) }.map(\.subjectSite)).subtracting(revoked)
        guard !boxes.isEmpty else { return 0 }
        let acknowledgements = try await storage.acknowledgements(of: business)
        var through: [SiteID: UInt64] = [:]
        for head in try await storage.heads(of: business) {
            through[head.author] = boxes.map { acknowledgements[$0]?[head.author] ?? 0 }.min() ?? 0
        }
        let deleted = try await storage.compact(business, through: through.filter { $0.value > 0 })
        if deleted > 0 { logger.info("compacted envelopes", metadata: ["relay.business": "\(business.hex)", "relay.deleted": "\(deleted)"]) }
        return deleted
    }

    // MARK: Data keys

    /// Stores a sealed data key. Its sealer must be the signer of the request and the owner or
    /// a box of the business; its recipient must be an enrolled, unrevoked box.
    public func storeSealedKey(_ bytes: [UInt8], business: BusinessID, principal: RelayPrincipal) async throws -> (SealedDataKey, Bool) {
        let sealed: SealedDataKey
        do { sealed = try SealedDataKey.decode(bytes) } catch {
            throw RelayError(.invalidSealedKey, error.message)
        }
        guard sealed.business == business else { throw RelayError(.wrongBusiness, "the sealed key names another business") }
        let signer: SiteID
        switch principal {
        case .owner:
            guard let ownerKey = try await storage.ownerKey(of: business) else { throw Self.noSuchBusiness(business) }
            signer = SiteID(publicKey: ownerKey)
        case .box(_, let site, _): signer = site
        case .enrollee, .invitee: throw RelayError(.forbidden, "only the owner or an enrolled box uploads data keys")
        }
        guard sealed.sealerSite == signer else { throw RelayError(.invalidSealedKey, "the sealed key must be sealed and signed by the requester") }
        let now = clock.now()
        let certificates = try await storage.certificates(of: business, site: sealed.recipientSite)
        guard certificates.contains(where: { $0.subjectKey == sealed.recipient && $0.isValid(at: now) }) else {
            throw RelayError(.invalidSealedKey, "the recipient \(sealed.recipientSite.hex) is not an enrolled box of this business")
        }
        if try await storage.revocations(of: business).contains(where: { $0.subjectSite == sealed.recipientSite && $0.effectiveFrom <= now }) {
            throw RelayError(.revoked, "the recipient \(sealed.recipientSite.hex) is revoked")
        }
        let created = try await businessLimiter.run(business) { try await storage.storeSealedKey(sealed, business: business) }
        return (sealed, created)
    }

    /// The sealed keys addressed to the requesting box.
    public func sealedKeys(for principal: RelayPrincipal, keyID: DataKeyID?) async throws -> [[UInt8]] {
        guard case .box(let business, let site, _) = principal else {
            throw RelayError(.forbidden, "only a box fetches the data keys sealed to it")
        }
        return try await businessLimiter.run(business) { try await storage.sealedKeys(of: business, recipient: site, keyID: keyID) }
    }

    // MARK: Housekeeping

    /// Prunes expired nonces and invitations long expired, and compacts every business.
    public func housekeeping() async throws {
        try await storage.pruneNonces(before: clock.now() - limits.timestampWindowMilliseconds)
        try await storage.pruneInvitations(before: clock.now() - limits.invitationRetentionMilliseconds)
        for business in try await storage.businesses() {
            do { try await compact(business) } catch {
                logger.warning("compaction failed", metadata: ["relay.business": "\(business.hex)", "error": "\(error)"])
            }
        }
    }
}
