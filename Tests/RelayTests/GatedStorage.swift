import Foundation
import Synchronization
@testable import Relay
@testable import Replication
import TestSupport

/// A store that makes `append` for chosen businesses wait until released, so that a test can
/// hold a business's work in progress deterministically (no timing).
final class GatedStorage<Inner: RelayStorage>: RelayStorage {
    let inner: Inner
    private let gates = Mutex<[BusinessID: [CheckedContinuation<Void, Never>]]>([:])
    private let held = Mutex<Set<BusinessID>>([])

    init(_ inner: Inner) { self.inner = inner }

    func hold(_ business: BusinessID) { held.withLock { _ = $0.insert(business) } }

    func release(_ business: BusinessID) {
        held.withLock { _ = $0.remove(business) }
        let waiting = gates.withLock { $0.removeValue(forKey: business) ?? [] }
        for continuation in waiting { continuation.resume() }
    }

    private func pass(_ business: BusinessID) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let isHeld = held.withLock { $0.contains(business) }
            if isHeld {
                gates.withLock { $0[business, default: []].append(continuation) }
                // A release between the two locks must not strand it.
                if !held.withLock({ $0.contains(business) }) { release(business) }
            } else {
                continuation.resume()
            }
        }
    }

    var isShared: Bool { inner.isShared }
    func run() async throws { try await inner.run() }
    func migrate() async throws { try await inner.migrate() }
    func registerBusiness(_ business: BusinessID, ownerKey: PublicKey, at milliseconds: Int64) async throws -> Bool {
        try await inner.registerBusiness(business, ownerKey: ownerKey, at: milliseconds)
    }
    func ownerKey(of business: BusinessID) async throws -> PublicKey? { try await inner.ownerKey(of: business) }
    func businesses() async throws -> [BusinessID] { try await inner.businesses() }
    func addCertificate(_ certificate: Certificate, business: BusinessID) async throws -> Bool { try await inner.addCertificate(certificate, business: business) }
    func certificates(of business: BusinessID) async throws -> [Certificate] { try await inner.certificates(of: business) }
    func certificates(of business: BusinessID, site: SiteID) async throws -> [Certificate] { try await inner.certificates(of: business, site: site) }
    func addRevocation(_ revocation: Revocation, business: BusinessID) async throws -> Bool { try await inner.addRevocation(revocation, business: business) }
    func revocations(of business: BusinessID) async throws -> [Revocation] { try await inner.revocations(of: business) }
    func append(_ envelopes: [RelayEnvelope], business: BusinessID, receivedAt milliseconds: Int64) async throws -> [AppendOutcome] {
        await pass(business)
        return try await inner.append(envelopes, business: business, receivedAt: milliseconds)
    }
    func heads(of business: BusinessID) async throws -> [AuthorHead] { try await inner.heads(of: business) }
    func envelopes(of business: BusinessID, author: SiteID, after sequence: UInt64, limit: Int) async throws -> [[UInt8]] {
        try await inner.envelopes(of: business, author: author, after: sequence, limit: limit)
    }
    func recordAcknowledgement(_ vector: VersionVector, site: SiteID, business: BusinessID) async throws {
        try await inner.recordAcknowledgement(vector, site: site, business: business)
    }
    func acknowledgements(of business: BusinessID) async throws -> [SiteID: VersionVector] { try await inner.acknowledgements(of: business) }
    func compact(_ business: BusinessID, through: [SiteID: UInt64]) async throws -> Int { try await inner.compact(business, through: through) }
    func storeSealedKey(_ sealed: SealedDataKey, business: BusinessID) async throws -> Bool { try await inner.storeSealedKey(sealed, business: business) }
    func sealedKeys(of business: BusinessID, recipient: SiteID, keyID: DataKeyID?) async throws -> [[UInt8]] {
        try await inner.sealedKeys(of: business, recipient: recipient, keyID: keyID)
    }
    func deleteSealedKeys(of business: BusinessID, recipient: SiteID) async throws { try await inner.deleteSealedKeys(of: business, recipient: recipient) }
    func addInvitation(_ invitation: Invitation, business: BusinessID, at milliseconds: Int64) async throws -> Bool {
        try await inner.addInvitation(invitation, business: business, at: milliseconds)
    }
    func invitation(_ id: SiteID, business: BusinessID) async throws -> StoredInvitation? { try await inner.invitation(id, business: business) }
    func recordJoinRequest(_ request: JoinRequest, business: BusinessID, at milliseconds: Int64) async throws -> JoinRequestOutcome {
        try await inner.recordJoinRequest(request, business: business, at: milliseconds)
    }
    func pendingJoinRequests(of business: BusinessID, at milliseconds: Int64) async throws -> [StoredInvitation] {
        try await inner.pendingJoinRequests(of: business, at: milliseconds)
    }
    func membershipCount(of business: BusinessID) async throws -> Int {
        try await inner.membershipCount(of: business)
    }
    func pendingJoinRequestCount(of business: BusinessID, at milliseconds: Int64) async throws -> Int {
        try await inner.pendingJoinRequestCount(of: business, at: milliseconds)
    }
    func decideJoinRequest(_ id: SiteID, business: BusinessID, certificate: [UInt8]?, refusal: String?, at milliseconds: Int64) async throws -> Bool {
        try await inner.decideJoinRequest(id, business: business, certificate: certificate, refusal: refusal, at: milliseconds)
    }
    func pruneInvitations(before milliseconds: Int64) async throws { try await inner.pruneInvitations(before: milliseconds) }
    func storeSnapshot(_ snapshot: SealedSnapshot, business: BusinessID, at milliseconds: Int64) async throws -> SnapshotStoreOutcome {
        try await inner.storeSnapshot(snapshot, business: business, at: milliseconds)
    }
    func snapshotInfo(of business: BusinessID) async throws -> SnapshotInfo? { try await inner.snapshotInfo(of: business) }
    func snapshot(of business: BusinessID) async throws -> [UInt8]? { try await inner.snapshot(of: business) }
    func recordNonce(_ nonce: [UInt8], site: SiteID, business: BusinessID, expiresAt: Int64) async throws -> Bool {
        try await inner.recordNonce(nonce, site: site, business: business, expiresAt: expiresAt)
    }
    func pruneNonces(before milliseconds: Int64) async throws { try await inner.pruneNonces(before: milliseconds) }

    func storeKaspiAccess(_ access: StoredKaspiAccess, business: BusinessID) async throws { try await inner.storeKaspiAccess(access, business: business) }
    func kaspiAccess(of business: BusinessID) async throws -> StoredKaspiAccess? { try await inner.kaspiAccess(of: business) }
    func storeKaspiDeviceToken(_ sealed: [UInt8]?, business: BusinessID) async throws { try await inner.storeKaspiDeviceToken(sealed, business: business) }
    func kaspiOperation(_ kind: KaspiOperation.Kind, id: String, business: BusinessID) async throws -> KaspiOperation? {
        try await inner.kaspiOperation(kind, id: id, business: business)
    }
    func kaspiPayment(qrPaymentID: String, business: BusinessID) async throws -> KaspiOperation? { try await inner.kaspiPayment(qrPaymentID: qrPaymentID, business: business) }
    func claimKaspiOperation(_ operation: KaspiOperation, staleBefore: Int64, business: BusinessID) async throws -> (claimed: Bool, stored: KaspiOperation) {
        try await inner.claimKaspiOperation(operation, staleBefore: staleBefore, business: business)
    }
    func saveKaspiOperation(_ operation: KaspiOperation, business: BusinessID) async throws { try await inner.saveKaspiOperation(operation, business: business) }
    func deleteKaspiOperation(_ kind: KaspiOperation.Kind, id: String, business: BusinessID) async throws {
        try await inner.deleteKaspiOperation(kind, id: id, business: business)
    }
}
