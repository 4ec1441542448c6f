import Domain

/// A stored response to a mutation, replayed when a client retries with the same `Idempotency-Key`.
public struct StoredResponse: Hashable, Sendable {
    public var requestHash: String
    public var status: Int
    public var location: String
    public var body: [UInt8]

    public init(requestHash: String, status: Int, location: String, body: [UInt8]) {
        self.requestHash = requestHash
        self.status = status
        self.location = location
        self.body = body
    }
}

/// The replies the API keeps for `Idempotency-Key`s (per device), in the local table
/// `local_idempotency` through the domain's generic local records (this module writes no SQL).
///
/// `LocalAPI.idempotent(_:)` saves a reply inside the unit of work (`Shop.unitOfWork`) that ran
/// the request's domain writes, so the reply is stored exactly when the change is: after a
/// crash, a retry finds either both (and gets the reply again) or neither (and runs afresh).
public struct IdempotencyStore: Sendable {
    let records: LocalRecords

    public init(shop: Shop) { records = shop.records(in: .idempotentReplies) }

    /// The reply stored for `key`, if any.
    public func reply(key: String) async throws -> StoredResponse? {
        try await records.get(key).map { fields in
            StoredResponse(requestHash: fields["request_hash"]?.text ?? "", status: Int(fields["status"]?.integer ?? 0),
                           location: fields["location"]?.text ?? "", body: fields["body"]?.bytes ?? [])
        }
    }

    /// Stores the reply for `key` (inside a unit of work: with the unit's writes).
    public func save(_ response: StoredResponse, key: String) async throws {
        try await records.put(key, ["request_hash": .text(response.requestHash), "status": .integer(Int64(response.status)),
                              "location": .text(response.location), "body": .bytes(response.body)])
    }

    /// Forgets the replies stored before `instant` (the retention of `idempotency.retention_hours`).
    /// - Returns: how many were deleted.
    @discardableResult
    public func prune(before instant: Instant) async throws -> Int {
        try await records.delete(putBefore: instant)
    }
}
