import Domain
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OutboundHTTP
import Replication
import RelayWire
import ServiceLifecycle
import Synchronization

/// Keeps this box in step with the business's other boxes through the relay
/// (docs/relay-protocol.md §11): enrols the box, obtains the data key, pushes this box's own
/// changesets as encrypted envelopes (each box pushes its own: only an author can seal), pulls
/// the others' with long-poll and applies them, and acknowledges what it holds. While the relay is
/// unreachable it retries with exponential backoff and jitter.
package struct UplinkService: Service {
    let shop: Shop
    let files: UplinkFiles
    let endpoint: RelayEndpoint
    let status: UplinkStatus
    let logger: Logger
    package var waitSeconds = 25
    /// The outbound HTTP client (the runtime's).
    package var client: any OutboundHTTP = HTTPClientOutbound.shared
    var batchLimit = 200
    /// The most bytes of envelopes in one push (the relay takes 16 MiB).
    var batchBytes = 8 << 20
    /// The changesets past the relay's snapshot after which a caught-up box offers a new one (Bootstrap.swift).
    var snapshotEveryChangesets: UInt64 = 1000

    package init(shop: Shop, files: UplinkFiles, endpoint: RelayEndpoint, status: UplinkStatus, logger: Logger) {
        self.shop = shop
        self.files = files
        self.endpoint = endpoint
        self.status = status
        self.logger = logger
    }

    var store: ReplicaStore { shop.store }

    /// The driver of `UplinkSession`: performs each action and hands its outcome back, until
    /// the service is cancelled or shut down gracefully.
    package func run() async throws {
        var session = UplinkSession(hasOwnerKey: files.directory.hasOwnerKey, waitSeconds: waitSeconds)
        var context = SessionContext(client: RelayClient(endpoint: endpoint, identity: store.identity, business: store.business, time: status.time,
                                                                client: self.client))
        var event = UplinkSession.Event.started
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            session.hasOwnerKey = files.directory.hasOwnerKey
            let action = session.handle(event)
            do {
                event = try await cancelWhenGracefulShutdown { [context] in try await perform(action, context) }
                    .apply(to: &context)
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                event = .failed(UplinkSession.Failure(error))
            }
        }
    }

    /// What the driver keeps between actions of one session (what `UplinkSession` needs not know).
    struct SessionContext: Sendable {
        let client: RelayClient
        var keyring = DataKeyring()
        /// Revocations posted to the relay in this session.
        var forwarded = Set<[UInt8]>()
        /// The revoked boxes this session has rotated or refetched the key for.
        var knownRevocations = Set<SiteID>()
        /// Keys sealed to boxes in this session ("site/generation").
        var delivered = Set<String>()
        var work = RelaySessionWork()
        /// Subscribed before looking for changesets of this box's own, so that a write in between
        /// still ends the next long-poll; with this box's newest sealed sequence.
        var changes: AsyncStream<Void>?
        var sealedThrough: UInt64 = 0
    }

    /// An action's outcome: the next event, and what changed in the session's context.
    struct Outcome: Sendable {
        var event: UplinkSession.Event = .done
        var change: (@Sendable (inout SessionContext) -> Void)?

        func apply(to context: inout SessionContext) -> UplinkSession.Event {
            change?(&context)
            return event
        }
    }

    /// Performs one action of the session.
    private func perform(_ action: UplinkSession.Action, _ context: SessionContext) async throws -> Outcome {
        let client = context.client
        switch action {
        case .register:
            // The box that holds the owner key registers the business (§5.1), so a new business
            // needs no step of its own at the relay; every other box waits until that has happened.
            if try await RelayClient.register(at: endpoint, owner: try files.directory.loadOwnerKey(), time: status.time,
                                                     client: self.client) {
                logger.notice("registered the business at the relay", metadata: ["relay": "\(endpoint)", "business": "\(store.business)"])
            }
            return Outcome()
        case .enrol:
            try await enrol(client)
            return Outcome()
        case .forwardRevocations:
            var forwarded = context.forwarded
            try await forwardRevocations(client, forwarded: &forwarded)
            return Outcome { [forwarded] in $0.forwarded = forwarded }
        case .obtainKeys:
            let keyring = try await obtainKey(client)
            // A box that does not hold the owner key has just fetched its keys; the owner's box still
            // checks whether a revocation learnt while it was offline needs a rotation.
            let known = files.directory.hasOwnerKey ? [] : revokedBoxes()
            return Outcome { $0.keyring = keyring; $0.knownRevocations = known }
        case .followRevocations:
            var known = context.knownRevocations
            let keyring = try await followRevocations(client, keyring: context.keyring, known: &known)
            return Outcome { [known] in $0.keyring = keyring; $0.knownRevocations = known }
        case .refetchKeys:
            let keyring = try await obtainKey(client)
            let changed = keyring != context.keyring
            return Outcome(event: .keysRefetched(changed: changed)) { $0.keyring = keyring }
        case .distributeKeys:
            var delivered = context.delivered
            try await distributeKey(client, keyring: context.keyring, delivered: &delivered)
            return Outcome { [delivered] in $0.delivered = delivered }
        case .reportConnected:
            status.update { snapshot in
                snapshot.state = "connected"
                snapshot.lastError = nil
                snapshot.sessions += 1
            }
            logger.notice("connected to the relay", metadata: ["relay": "\(endpoint)"])
            return Outcome()
        case .bootstrap:
            try await bootstrapIfNew(client, keyring: context.keyring)
            return Outcome()
        case .acknowledge:
            try await acknowledge(client)
            return Outcome()
        case .answerJoinRequests:
            var work = context.work
            try await answerJoinRequests(&work)
            return Outcome { [work] in $0.work = work }
        case .afterPull:
            var work = context.work
            try await afterPull(client, keyring: context.keyring, work: &work)
            return Outcome { [work] in $0.work = work }
        case .reportClock:
            reportClock()
            return Outcome()
        case .sealAndPush:
            try await sealPending(keyring: context.keyring)
            try await pushOutbox(client)
            // Subscribe before looking, so a write in between still ends the long-poll.
            let changes = shop.changeFeed.changes()
            let sealedThrough = try files.loadChain().sequence
            return Outcome(event: .pushed(ownPending: store.versionVector[store.site] > sealedThrough)) {
                $0.changes = changes
                $0.sealedThrough = sealedThrough
            }
        case .pull(let parameters):
            let store = self.store
            let sealedThrough = context.sealedThrough
            let ownPending = { @Sendable in store.versionVector[store.site] > sealedThrough }
            let changes = context.changes
            let keyring = context.keyring
            // Long-poll, abandoned as soon as this box has something of its own to push.
            let pulled: UplinkSession.Pulled? = try await withThrowingTaskGroup(of: UplinkSession.Pulled?.self) { group in
                group.addTask { try await pull(client, keyring: keyring, parameters: parameters) }
                if parameters.abandonOnLocalChanges, let changes {
                    group.addTask {
                        for await _ in changes where ownPending() { return nil }
                        return nil
                    }
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            return Outcome(event: pulled.map { .pulled($0) } ?? .localChanges) { $0.changes = nil }
        case .backOff(let backoff):
            reportClock()
            status.update { snapshot in
                snapshot.state = backoff.state
                snapshot.lastError = backoff.reason
            }
            switch backoff.log {
            case .refused: logger.warning("the relay refused this box; retrying later", metadata: ["relay": "\(endpoint)", "reason": "\(backoff.reason)"])
            case .unavailable: logger.info("relay unavailable; retrying with backoff", metadata: ["relay": "\(endpoint)", "error": "\(backoff.reason)"])
            case nil: break
            }
            let pause = backoff.seconds * Double.random(in: 0.5...1.5)
            try? await Task.sleep(for: .milliseconds(Int(pause * 1000)))
            // The next session starts from nothing but the client (and the relay's clock it measured).
            return Outcome(event: .timerFired) { $0 = SessionContext(client: $0.client) }
        }
    }

    /// Logs (once per episode) that this box's clock is beyond the relay's window, and when it
    /// is back within it.
    private func reportClock() {
        let warning = status.clockWarning
        let report: Bool = status.update { snapshot in
            guard snapshot.clockReported != (warning != nil) else { return false }
            snapshot.clockReported = warning != nil
            return true
        }
        guard report else { return }
        if let warning {
            logger.warning("\(warning)", metadata: ["relay": "\(endpoint)", "offset_ms": "\(status.time.offset ?? 0)"])
        } else {
            logger.notice("this box's clock is within the relay's window again", metadata: ["relay": "\(endpoint)", "offset_ms": "\(status.time.offset ?? 0)"])
        }
    }

    struct WaitingForKey: Error, CustomStringConvertible {
        var description: String { "no data key has been sealed to this box at the relay yet (a box that holds it, or the owner's box, seals it)" }
    }

    /// Enrols this box's certificate (the box may enrol itself, §5.2).
    private func enrol(_ client: RelayClient) async throws {
        guard let certificate = store.trustStore.certificates[store.site]?.last else { throw UplinkError("this box has no certificate") }
        _ = try await client.send("/certificates", RelayJSON.CertificateRequest(certificate: Data(certificate.encoded).base64EncodedString()),
                                  as: RelayClient.Ignored.self)
    }

    /// The keyring in the data directory, completed with what the relay holds sealed to this box.
    /// With none anywhere, the box that holds the owner key (the first box) creates generation 1;
    /// any other box waits until a box that holds the key seals it to it.
    private func obtainKey(_ client: RelayClient) async throws -> DataKeyring {
        var keyring = try files.loadKeyring()
        let body = try await client.send(.GET, "/data-keys")
        let reply = try RelayJSON.decoder.decode(RelayJSON.SealedKeysReply.self, from: Data(body))
        let trust = store.trustStore
        let now = RelayClient.now()
        var changed = false
        for text in reply.sealedKeys {
            do {
                guard let bytes = Data(base64Encoded: text) else { throw UplinkError("not base64") }
                let sealed = try SealedDataKey.decode(Array(bytes))
                guard sealed.business == store.business else { throw UplinkError("sealed for another business") }
                // Only the owner or a box this replica trusts may hand it a key (relay-protocol §3.1).
                guard sealed.sealer == trust.ownerKey || (try? trust.authorKey(for: sealed.sealerSite, at: now)) == sealed.sealer else {
                    throw UplinkError("sealed by \(sealed.sealerSite), which this box does not trust")
                }
                let key = try sealed.open(with: store.identity)
                if keyring[key.id] == nil {
                    try keyring.insert(key)
                    changed = true
                }
            } catch {
                logger.warning("ignoring a sealed data key from the relay", metadata: ["reason": "\(error)"])
            }
        }
        if keyring.current == nil {
            guard files.directory.hasOwnerKey else { throw WaitingForKey() }
            let key = keyring.rotate()
            changed = true
            logger.notice("created the business's data key", metadata: ["generation": "\(key.id)"])
        }
        if changed { try files.save(keyring) }
        return keyring
    }

    /// Posts every revocation this replica holds that the relay has not been given in this
    /// session (§5.3; revocations replicate, so any box forwards them): the relay then refuses the
    /// revoked box and deletes the keys sealed to it.
    private func forwardRevocations(_ client: RelayClient, forwarded: inout Set<[UInt8]>) async throws {
        for revocation in store.trustStore.revocations.values.joined() where !forwarded.contains(revocation.encoded) {
            _ = try await client.send("/revocations", RelayJSON.RevocationRequest(revocation: Data(revocation.encoded).base64EncodedString()),
                                      as: RelayClient.Ignored.self)
            forwarded.insert(revocation.encoded)
            logger.info("forwarded a revocation to the relay", metadata: ["site": "\(revocation.subjectSite.hex.prefix(12))"])
        }
    }

    /// The boxes (sites with a box certificate) this replica knows to be revoked.
    private func revokedBoxes() -> Set<SiteID> {
        let trust = store.trustStore
        return Set(trust.revocations.keys.filter { site in trust.certificates[site]?.contains { $0.role == "box" } ?? false })
    }

    /// After a box is revoked, what is written afterwards must not be readable with the key it
    /// held. The box that holds the owner key rotates: a new generation, which `distributeKey`
    /// seals only to the boxes that remain and `sealPending` encrypts with from then on. It
    /// records which revocations the rotation covers (`relay-key-rotations`), so it rotates once
    /// per revocation, also across restarts. Every other box asks the relay for new generations
    /// when it learns of a revocation (and, in `session`, when an envelope names a generation it
    /// lacks).
    private func followRevocations(_ client: RelayClient, keyring: DataKeyring, known: inout Set<SiteID>) async throws -> DataKeyring {
        let revoked = revokedBoxes()
        guard !revoked.isSubset(of: known) else { return keyring }
        var keyring = keyring
        if files.directory.hasOwnerKey {
            let covered = try files.loadRotations()
            if !revoked.isSubset(of: covered) {
                // Another box holding the owner key may have rotated already: start from the relay's.
                keyring = try await obtainKey(client)
                let key = keyring.rotate()
                try files.save(keyring)
                try files.saveRotations(revoked)
                logger.notice("rotated the data key after a box was revoked", metadata: [
                    "generation": "\(key.id)", "revoked": "\(revoked.subtracting(covered).map { String($0.hex.prefix(12)) }.sorted().joined(separator: ","))",
                ])
            }
        } else {
            keyring = try await obtainKey(client)
        }
        known = revoked
        return keyring
    }

    /// Seals every generation this box holds to itself and to every box it knows (certificates
    /// replicate), so that a box that joins finds its key at the relay. A box the relay does not
    /// know yet is tried again on the next round; `delivered` remembers what was uploaded.
    private func distributeKey(_ client: RelayClient, keyring: DataKeyring, delivered: inout Set<String>) async throws {
        let trust = store.trustStore
        let now = RelayClient.now()
        // The box that holds the owner key seals as the owner: every box trusts the owner's seal,
        // even one that has not heard of this box yet.
        let sealer = files.directory.hasOwnerKey ? try files.directory.loadOwnerKey() : store.identity
        let sealingClient = RelayClient(endpoint: client.endpoint, identity: sealer, business: client.business, time: client.time, client: client.client)
        for (site, certificates) in trust.certificates.sorted(by: { $0.key < $1.key }) where !trust.isRevoked(site) {
            guard let certificate = certificates.last(where: { $0.isValid(at: now) && $0.role == "box" }) ?? (site == store.site ? certificates.last : nil) else { continue }
            for key in keyring.keys.values.sorted(by: { $0.id < $1.id }) where !delivered.contains("\(site.hex)/\(key.id)") {
                let sealed = try SealedDataKey.seal(key, business: store.business, to: certificate.subjectKey, sealer: sealer)
                do {
                    _ = try await sealingClient.send("/data-keys", RelayJSON.SealedKeyRequest(sealedKey: Data(sealed.bytes).base64EncodedString()),
                                              as: RelayClient.Ignored.self)
                    delivered.insert("\(site.hex)/\(key.id)")
                    if site != store.site { logger.info("sealed the data key to a box at the relay", metadata: ["site": "\(site.hex.prefix(12))", "generation": "\(key.id)"]) }
                } catch let problem as RelayClient.Problem where !problem.isTransient && site != store.site {
                    logger.debug("could not seal the data key to a box yet", metadata: ["site": "\(site.hex.prefix(12))", "reason": "\(problem)"])
                }
            }
        }
    }

    /// Seals this box's changesets that have no envelope yet into the outbox (at most one batch).
    private func sealPending(keyring: DataKeyring) async throws {
        guard let dataKey = keyring.current else { return }
        let store = self.store
        let files = self.files
        let limit = batchLimit
        let time = status.time
        try await store.perform {
            var (sequence, hash) = try files.loadChain()
            let newest = store.versionVector[store.site]
            guard newest > sequence else { return }
            var sealed = 0
            while sequence < newest && sealed < limit {
                guard let bytes = try store.changesetBytes(author: store.site, sequence: sequence + 1) else {
                    throw UplinkError("this box's changeset \(sequence + 1) is no longer in its log; it cannot be sent to the relay")
                }
                let changeset = try SignedChangeset.decode(bytes, limits: .init(maxBytes: .max))
                let envelope = try RelayEnvelope.seal(changeset, author: store.identity, previousHash: hash, dataKey: dataKey, sealedAt: time.now())
                // On disk before the chain head moves, so a crash never seals a sequence twice.
                try files.addToOutbox(envelope)
                sequence = envelope.sequence
                hash = envelope.hash
                sealed += 1
            }
            try files.saveChain(sequence: sequence, hash: hash)
        }
    }

    /// Pushes the outbox in bounded batches; what the relay stored (or already had) leaves it.
    private func pushOutbox(_ client: RelayClient) async throws {
        while true {
            var batch = try files.outbox(limit: batchLimit)
            guard !batch.isEmpty else { return }
            var bytes = 0
            batch = Array(batch.prefix { entry in
                bytes += entry.envelope.bytes.count
                return bytes <= batchBytes
            })
            if batch.isEmpty { batch = Array(try files.outbox(limit: 1)) }
            let reply = try await client.send("/envelopes", RelayJSON.PushRequest(envelopes: batch.map { Data($0.envelope.bytes).base64EncodedString() }),
                                              as: RelayJSON.PushReply.self, timeout: .seconds(120))
            var accepted = 0
            var refusal: String?
            for result in reply.results where batch.indices.contains(result.index) {
                let sequence = batch[result.index].sequence
                if result.status == "stored" || result.status == "duplicate" {
                    files.removeFromOutbox(sequence)
                    accepted += 1
                    status.update { $0.pushedThrough = max($0.pushedThrough ?? 0, sequence) }
                } else if refusal == nil {
                    refusal = "envelope \(sequence): \(result.reason ?? "refused") \(result.detail ?? "")"
                }
            }
            let pushedThrough = status.current.pushedThrough ?? 0
            status.update { snapshot in
                snapshot.pushed += accepted
                snapshot.lastPush = Date()
                var entries = snapshot.relayVector?.entries ?? [:]
                entries[store.site] = max(entries[store.site] ?? 0, pushedThrough)
                snapshot.relayVector = VersionVector(entries)
            }
            if accepted > 0 { logger.info("pushed changesets to the relay", metadata: ["count": "\(accepted)"]) }
            if let refusal { throw UplinkError("the relay refused \(refusal)") }
        }
    }

    /// One pull (long-poll when `parameters.waitSeconds` > 0): opens the envelopes, applies their
    /// changesets. Returns how many envelopes arrived, and the newest envelope seen per author
    /// (those that could not be opened are not asked for again in this session).
    private func pull(_ client: RelayClient, keyring: DataKeyring, parameters: UplinkSession.Pull) async throws -> UplinkSession.Pulled {
        let wait = parameters.waitSeconds, skipped = parameters.floor, skipMissingGenerations = parameters.skipMissingGenerations
        let seen = parameters.seen
        var entries = store.versionVector.entries
        for (author, sequence) in skipped.entries where sequence > entries[author] ?? 0 { entries[author] = sequence }
        let vector = VersionVector(entries)
        let reply = try await client.send("/pull", RelayJSON.PullRequest(vector: Data(vector.encode()).base64EncodedString(), limit: batchLimit, waitSeconds: wait,
                                                                    membership: seen.membership, joinRequests: seen.joinRequests),
                                          as: RelayJSON.PullReply.self, timeout: .seconds(Int64(wait) + 30))
        let available = VersionVector(base64: reply.available)
        var batch: [[UInt8]] = []
        var delivered = skipped.entries
        var waitingForKey = Set<SiteID>()
        let trust = store.trustStore
        for text in reply.envelopes {
            do {
                guard let bytes = Data(base64Encoded: text) else { throw UplinkError("an envelope is not base64") }
                let envelope = try RelayEnvelope.decode(Array(bytes), maxBytes: .max)
                guard envelope.business == store.business else { throw UplinkError("an envelope of another business") }
                if waitingForKey.contains(envelope.author) { continue }
                if keyring[envelope.keyID] == nil && !skipMissingGenerations {
                    waitingForKey.insert(envelope.author)
                    continue
                }
                delivered[envelope.author] = max(delivered[envelope.author] ?? 0, envelope.sequence)
                let changeset: SignedChangeset
                if let key = try? trust.authorKey(for: envelope.author, at: envelope.sealedAt) {
                    changeset = try envelope.openChangeset(authorKey: key, keyring: keyring)
                } else {
                    // An author this box has not heard of yet (its certificate arrives in its
                    // changesets): the data key authenticates the payload, and applying it checks
                    // the changeset's own signature against the author's certificate.
                    let payload = try envelope.open(with: keyring)
                    changeset = try SignedChangeset.decode(payload, limits: .standard)
                    guard changeset.changeset.business == envelope.business, changeset.changeset.author == envelope.author,
                          changeset.changeset.sequence == envelope.sequence else {
                        throw UplinkError("the changeset inside names another author or sequence than its envelope")
                    }
                }
                batch.append(changeset.bytes)
            } catch {
                logger.warning("ignoring an envelope from the relay", metadata: ["reason": "\(error)"])
            }
        }
        if !batch.isEmpty {
            let shop = self.shop
            let changesets = batch
            let report = try await shop.store.perform { try shop.apply(changesets) }
            for rejection in report.rejected { logger.warning("refused a changeset from the relay", metadata: ["reason": "\(rejection)"]) }
            if !report.applied.isEmpty { logger.info("applied changesets from the relay", metadata: ["count": "\(report.applied.count)"]) }
        }
        for compacted in reply.compacted ?? [] where compacted.through > store.versionVector.entries.first(where: { $0.key.hex == compacted.author })?.value ?? 0 {
            logger.warning("the relay compacted changesets this box lacks; it needs a snapshot from another box",
                           metadata: ["author": "\(compacted.author.prefix(12))", "through": "\(compacted.through)"])
        }
        status.update { snapshot in
            snapshot.lastPull = Date()
            snapshot.pulled += reply.envelopes.count
            if let available { snapshot.relayVector = available }
            snapshot.pullHadMore = reply.more
            snapshot.relaySnapshot = reply.snapshot.flatMap(RelaySnapshotHeader.init)
            snapshot.compaction = reply.compaction.flatMap(VersionVector.init(base64:)) ?? VersionVector()
            snapshot.joinRequests = reply.joinRequests ?? 0
        }
        if !waitingForKey.isEmpty {
            logger.info("envelopes of a data-key generation this box lacks; asking the relay for the key", metadata: ["authors": "\(waitingForKey.count)"])
        }
        return UplinkSession.Pulled(count: reply.envelopes.count, delivered: VersionVector(delivered), missingGeneration: !waitingForKey.isEmpty,
                                    seen: UplinkSession.Seen(membership: reply.membership, joinRequests: reply.joinRequests))
    }

    /// Tells the relay what this box holds (so it can compact what every box has).
    private func acknowledge(_ client: RelayClient) async throws {
        _ = try await client.send("/acknowledgements", RelayJSON.AcknowledgementRequest(vector: Data(store.versionVector.encode()).base64EncodedString()),
                                  as: RelayClient.Ignored.self)
    }
}

extension UplinkSession.Failure {
    /// How the session reports `error`: a relay that does not know the business or this box yet
    /// (`unknown_principal`: the owner's box registers it when it first reaches the relay), no
    /// data key yet, a refusal (a client error other than those), or the relay unreachable (its
    /// own trouble, a limit, or no answer).
    init(_ error: any Error) {
        let problem = error as? RelayClient.Problem
        let kind: Kind = if problem?.kind == "unknown_principal" {
            .notRegistered
        } else if error is UplinkService.WaitingForKey {
            .waitingForKey
        } else if let problem, !problem.isTransient {
            .refused
        } else {
            .unreachable
        }
        self.init(kind, "\(error)")
    }
}
