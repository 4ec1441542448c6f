public struct Client: Hashable, Sendable, Codable {
    public var id: ClientID
    public var name: String
    /// E.164, e.g. `+77011234567`; empty if unknown.
    public var phone: String
    public var email: String
    public var tags: [String]
    public var preferences: String
    public var marketingConsent: Bool
    public var createdAt: Instant
    /// Set when a person merged this record into another.
    public var mergedInto: ClientID?

    public init(id: ClientID, name: String, phone: String = "", email: String = "", tags: [String] = [], preferences: String = "",
                marketingConsent: Bool = false, createdAt: Instant, mergedInto: ClientID? = nil) {
        self.id = id
        self.name = name
        self.phone = phone
        self.email = email
        self.tags = tags
        self.preferences = preferences
        self.marketingConsent = marketingConsent
        self.createdAt = createdAt
        self.mergedInto = mergedInto
    }
}

/// What a front desk types when it creates or edits a client; the phone may be local (`8 701 123 45 67`).
public struct ClientDraft: Hashable, Sendable, Codable {
    public var name: String
    public var phone: String
    public var email: String
    public var tags: [String]
    public var preferences: String
    public var marketingConsent: Bool

    public init(name: String, phone: String = "", email: String = "", tags: [String] = [], preferences: String = "", marketingConsent: Bool = false) {
        self.name = name
        self.phone = phone
        self.email = email
        self.tags = tags
        self.preferences = preferences
        self.marketingConsent = marketingConsent
    }
}

/// An append-only note on a client.
public struct ClientNote: Hashable, Sendable, Codable {
    public var id: String
    public var clientID: ClientID
    public var author: String
    public var body: String
    public var createdAt: Instant
}

/// Clients that share a phone number after a merge of replicas: a person decides.
public struct DuplicateSuggestion: Hashable, Sendable, Codable {
    public var phone: String
    public var clients: [ClientID]
}

/// A client's visits and what they paid, derived from appointments and the payments ledger.
public struct ClientHistory: Hashable, Sendable, Codable {
    public var visits: [Appointment]
    /// Completed visits.
    public var completedVisits: Int
    public var noShows: Int
    public var lateCancellations: Int
    /// Lifetime spend per currency: what the client's sales were actually paid, net of refunds.
    public var lifetimeSpend: [Money]
    /// What was paid for each visit that was checked out (its share of its sale).
    public var visitsPaid: [VisitPaid]
}

/// A visit's share of a sale's payments.
public struct VisitPaid: Hashable, Sendable, Codable {
    public var appointmentID: AppointmentID
    public var saleID: SaleID
    public var saleNumber: String
    public var paidMinor: Int64
    public var currency: String
    public var state: Sale.State
}
