import Foundation
import PostgresNIO
import Replication

/// The Kaspi gateway's tables in PostgreSQL (migration `3-kaspi`).
extension PostgresRelayStorage {
    typealias KaspiOperationRow = (String, String, String, String, Int64, Data)

    public func storeKaspiAccess(_ access: StoredKaspiAccess, business: BusinessID) async throws {
        _ = try await client.query("""
            INSERT INTO relay_kaspi_access (business, scheme, sealed, device_token, updated_at)
            VALUES (\(Data(business.bytes)), \(access.scheme), \(Data(access.sealed)), NULL, \(access.updatedAt))
            ON CONFLICT (business) DO UPDATE SET scheme = excluded.scheme, sealed = excluded.sealed, device_token = NULL, updated_at = excluded.updated_at
            """, logger: logger).collect()
    }

    public func kaspiAccess(of business: BusinessID) async throws -> StoredKaspiAccess? {
        let rows = try await client.query("SELECT scheme, sealed, device_token, updated_at FROM relay_kaspi_access WHERE business = \(Data(business.bytes))",
                                          logger: logger)
        for try await (scheme, sealed, token, updatedAt) in rows.decode((String, Data, Data?, Int64).self) {
            return StoredKaspiAccess(scheme: scheme, sealed: Array(sealed), sealedDeviceToken: token.map { Array($0) }, updatedAt: updatedAt)
        }
        return nil
    }

    public func storeKaspiDeviceToken(_ sealed: [UInt8]?, business: BusinessID) async throws {
        _ = try await client.query("UPDATE relay_kaspi_access SET device_token = \(sealed.map { Data($0) }) WHERE business = \(Data(business.bytes))",
                                   logger: logger).collect()
    }

    static func kaspiOperation(_ row: KaspiOperationRow) -> KaspiOperation? {
        guard let kind = KaspiOperation.Kind(rawValue: row.0), let state = KaspiOperation.State(rawValue: row.3) else { return nil }
        return KaspiOperation(kind: kind, id: row.1, qrPaymentID: row.2, state: state, claimedAt: row.4, record: Array(row.5))
    }

    private func firstOperation(_ query: PostgresQuery) async throws -> KaspiOperation? {
        let rows = try await client.query(query, logger: logger)
        for try await row in rows.decode(KaspiOperationRow.self) { return Self.kaspiOperation(row) }
        return nil
    }

    public func kaspiOperation(_ kind: KaspiOperation.Kind, id: String, business: BusinessID) async throws -> KaspiOperation? {
        try await firstOperation("""
            SELECT kind, id, qr_payment_id, state, claimed_at, record FROM relay_kaspi_operations
            WHERE business = \(Data(business.bytes)) AND kind = \(kind.rawValue) AND id = \(id)
            """)
    }

    public func kaspiPayment(qrPaymentID: String, business: BusinessID) async throws -> KaspiOperation? {
        try await firstOperation("""
            SELECT kind, id, qr_payment_id, state, claimed_at, record FROM relay_kaspi_operations
            WHERE business = \(Data(business.bytes)) AND kind = 'payment' AND qr_payment_id = \(qrPaymentID) AND state = 'done'
            """)
    }

    public func claimKaspiOperation(_ operation: KaspiOperation, staleBefore: Int64, business: BusinessID) async throws -> (claimed: Bool, stored: KaspiOperation) {
        // One statement: the row is locked by the upsert, so two processes never both claim it.
        if let stored = try await firstOperation("""
            INSERT INTO relay_kaspi_operations (business, kind, id, qr_payment_id, state, claimed_at, record)
            VALUES (\(Data(business.bytes)), \(operation.kind.rawValue), \(operation.id), \(operation.qrPaymentID), \(operation.state.rawValue),
                    \(operation.claimedAt), \(Data(operation.record)))
            ON CONFLICT (business, kind, id) DO UPDATE SET claimed_at = excluded.claimed_at
            WHERE relay_kaspi_operations.state <> 'done' AND relay_kaspi_operations.claimed_at < \(staleBefore)
            RETURNING kind, id, qr_payment_id, state, claimed_at, record
            """) {
            return (true, stored)
        }
        guard let stored = try await kaspiOperation(operation.kind, id: operation.id, business: business) else {
            throw RelayStorageError.closed
        }
        return (false, stored)
    }

    public func saveKaspiOperation(_ operation: KaspiOperation, business: BusinessID) async throws {
        _ = try await client.query("""
            UPDATE relay_kaspi_operations SET qr_payment_id = \(operation.qrPaymentID), state = \(operation.state.rawValue), record = \(Data(operation.record))
            WHERE business = \(Data(business.bytes)) AND kind = \(operation.kind.rawValue) AND id = \(operation.id)
            """, logger: logger).collect()
    }

    public func deleteKaspiOperation(_ kind: KaspiOperation.Kind, id: String, business: BusinessID) async throws {
        _ = try await client.query("""
            DELETE FROM relay_kaspi_operations WHERE business = \(Data(business.bytes)) AND kind = \(kind.rawValue) AND id = \(id)
            """, logger: logger).collect()
    }
}
