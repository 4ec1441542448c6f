import Replication

/// The Kaspi gateway's tables in SQLite (migration `3-kaspi`).
extension SQLiteRelayStorage {
    public func storeKaspiAccess(_ access: StoredKaspiAccess, business: BusinessID) async throws {
        try await withConnection { db in
            try db.execute("""
                INSERT INTO relay_kaspi_access (business, scheme, sealed, device_token, updated_at) VALUES (?, ?, ?, NULL, ?)
                ON CONFLICT (business) DO UPDATE SET scheme = excluded.scheme, sealed = excluded.sealed, device_token = NULL, updated_at = excluded.updated_at
                """, [.blob(business.bytes), .text(access.scheme), .blob(access.sealed), .integer(access.updatedAt)])
        }
    }

    public func kaspiAccess(of business: BusinessID) async throws -> StoredKaspiAccess? {
        try await withConnection { db in
            try db.rows("SELECT scheme, sealed, device_token, updated_at FROM relay_kaspi_access WHERE business = ?", [.blob(business.bytes)]).first.map { row in
                StoredKaspiAccess(scheme: row[0].textValue ?? "", sealed: row[1].blobValue ?? [], sealedDeviceToken: row[2].blobValue,
                                  updatedAt: row[3].integerValue ?? 0)
            }
        }
    }

    public func storeKaspiDeviceToken(_ sealed: [UInt8]?, business: BusinessID) async throws {
        try await withConnection { db in
            try db.execute("UPDATE relay_kaspi_access SET device_token = ? WHERE business = ?", [sealed.map { .blob($0) } ?? .null, .blob(business.bytes)])
        }
    }

    static func kaspiOperation(_ row: [SQLValue]) -> KaspiOperation? {
        guard let kind = row[0].textValue.flatMap(KaspiOperation.Kind.init(rawValue:)), let id = row[1].textValue,
              let state = row[3].textValue.flatMap(KaspiOperation.State.init(rawValue:)) else { return nil }
        return KaspiOperation(kind: kind, id: id, qrPaymentID: row[2].textValue ?? "", state: state, claimedAt: row[4].integerValue ?? 0,
                              record: row[5].blobValue ?? [])
    }

    public func kaspiOperation(_ kind: KaspiOperation.Kind, id: String, business: BusinessID) async throws -> KaspiOperation? {
        try await withConnection { db in
            try db.rows("SELECT \(KaspiSQL.operationColumns) FROM relay_kaspi_operations WHERE business = ? AND kind = ? AND id = ?",
                        [.blob(business.bytes), .text(kind.rawValue), .text(id)]).first.flatMap(Self.kaspiOperation)
        }
    }

    public func kaspiPayment(qrPaymentID: String, business: BusinessID) async throws -> KaspiOperation? {
        try await withConnection { db in
            try db.rows("""
                SELECT \(KaspiSQL.operationColumns) FROM relay_kaspi_operations WHERE business = ? AND kind = 'payment' AND qr_payment_id = ? AND state = 'done'
                """, [.blob(business.bytes), .text(qrPaymentID)]).first.flatMap(Self.kaspiOperation)
        }
    }

    public func claimKaspiOperation(_ operation: KaspiOperation, staleBefore: Int64, business: BusinessID) async throws -> (claimed: Bool, stored: KaspiOperation) {
        try await withConnection { db in
            try db.transaction {
                let claimed = try db.rows("""
                    INSERT INTO relay_kaspi_operations (business, kind, id, qr_payment_id, state, claimed_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (business, kind, id) DO UPDATE SET claimed_at = excluded.claimed_at
                    WHERE relay_kaspi_operations.state <> 'done' AND relay_kaspi_operations.claimed_at < ?
                    RETURNING \(KaspiSQL.operationColumns)
                    """, [.blob(business.bytes), .text(operation.kind.rawValue), .text(operation.id), .text(operation.qrPaymentID),
                          .text(operation.state.rawValue), .integer(operation.claimedAt), .blob(operation.record), .integer(staleBefore)])
                if let row = claimed.first, let stored = Self.kaspiOperation(row) { return (true, stored) }
                let rows = try db.rows("SELECT \(KaspiSQL.operationColumns) FROM relay_kaspi_operations WHERE business = ? AND kind = ? AND id = ?",
                                       [.blob(business.bytes), .text(operation.kind.rawValue), .text(operation.id)])
                guard let row = rows.first, let stored = Self.kaspiOperation(row) else { throw RelayStorageError.closed }
                return (false, stored)
            }
        }
    }

    public func saveKaspiOperation(_ operation: KaspiOperation, business: BusinessID) async throws {
        try await withConnection { db in
            try db.execute("UPDATE relay_kaspi_operations SET qr_payment_id = ?, state = ?, record = ? WHERE business = ? AND kind = ? AND id = ?",
                           [.text(operation.qrPaymentID), .text(operation.state.rawValue), .blob(operation.record), .blob(business.bytes),
                            .text(operation.kind.rawValue), .text(operation.id)])
        }
    }

    public func deleteKaspiOperation(_ kind: KaspiOperation.Kind, id: String, business: BusinessID) async throws {
        try await withConnection { db in
            try db.execute("DELETE FROM relay_kaspi_operations WHERE business = ? AND kind = ? AND id = ?",
                           [.blob(business.bytes), .text(kind.rawValue), .text(id)])
        }
    }
}
