/// The status of an appointment. Only the transitions in `allowedNext` are legal.
public enum AppointmentStatus: String, Hashable, Sendable, Codable, CaseIterable {
    /// A short hold while a client completes a booking; expires after the branch's slot-hold minutes.
    case held
    /// Waiting for the home branch's replica to confirm or reject.
    case requested
    case confirmed
    case checkedIn = "checked_in"
    case completed
    case cancelled
    case noShow = "no_show"
    case rejected

    public var allowedNext: Set<AppointmentStatus> {
        switch self {
        case .held: [.requested, .confirmed, .cancelled]
        case .requested: [.confirmed, .rejected, .cancelled]
        case .confirmed: [.checkedIn, .cancelled, .noShow]
        case .checkedIn: [.completed, .cancelled]
        case .completed, .cancelled, .noShow, .rejected: []
        }
    }

    /// Whether the appointment occupies its staff and resources (a `held` one only until it expires).
    public var isBlocking: Bool {
        switch self {
        case .held, .requested, .confirmed, .checkedIn, .completed: true
        case .cancelled, .noShow, .rejected: false
        }
    }

    public var isFinal: Bool { allowedNext.isEmpty }
}

/// Where a booking came from.
public enum BookingSource: String, Hashable, Sendable, Codable, CaseIterable {
    case frontDesk = "front_desk"
    case phone
    case online
    case kiosk
}

/// Who cancelled.
public enum CancellingParty: String, Hashable, Sendable, Codable {
    case client
    case shop
}

/// One service of a visit, with its staff member and times. Buffers and price are copied from
/// the offering when booked, so later catalogue edits do not change existing appointments.
public struct AppointmentItem: Hashable, Sendable, Codable {
    public var offeringID: OfferingID
    public var staffID: StaffID
    public var start: Instant
    public var end: Instant
    public var bufferBeforeMinutes: Int
    public var bufferAfterMinutes: Int
    public var priceMinor: Int64
    public var resources: [ResourceRequirement]
    /// The offering's capacity at booking time (more than 1 = a group session).
    public var capacity: Int

    /// The interval the item keeps its staff and resources busy: start − buffer before … end + buffer after.
    public var occupied: TimeRange {
        TimeRange(start: start.adding(minutes: -bufferBeforeMinutes), end: end.adding(minutes: bufferAfterMinutes))
    }
}

/// A guest's contact details, for bookings without a client record.
public struct Guest: Hashable, Sendable, Codable {
    public var name: String
    public var phone: String
    public var email: String

    public init(name: String, phone: String = "", email: String = "") {
        self.name = name
        self.phone = phone
        self.email = email
    }
}

public struct Appointment: Hashable, Sendable, Codable {
    public var id: AppointmentID
    public var branchID: BranchID
    public var clientID: ClientID?
    public var guest: Guest?
    public var items: [AppointmentItem]
    public var status: AppointmentStatus
    public var statusReason: String
    public var cancelledBy: CancellingParty?
    public var isLateCancellation: Bool
    public var source: BookingSource
    public var specialRequests: String
    public var price: Money
    /// Short human-readable number, e.g. `K7QD-00042` (per-replica prefix + counter).
    public var orderNumber: String
    public var seriesID: SeriesID?
    public var holdExpiresAt: Instant?
    public var createdAt: Instant

    public var start: Instant { items.first?.start ?? Instant(milliseconds: 0) }
    public var end: Instant { items.last?.end ?? Instant(milliseconds: 0) }
    public var staff: [StaffID] { items.map(\.staffID) }

    /// Whether it occupies its staff and resources at `now`.
    public func isBlocking(at now: Instant) -> Bool {
        status == .held ? (holdExpiresAt.map { $0 > now } ?? false) : status.isBlocking
    }
}

/// One change of an appointment, append-only: who, when, what.
public struct AppointmentEvent: Hashable, Sendable, Codable {
    public var id: String
    public var appointmentID: AppointmentID
    public var at: Instant
    public var actor: String
    /// `created`, `status`, `rescheduled`, `linked`.
    public var action: String
    public var fromStatus: AppointmentStatus?
    public var toStatus: AppointmentStatus?
    public var detail: String
}

/// One service of a requested visit; no staff = any qualified staff member.
public struct VisitPart: Hashable, Sendable, Codable {
    public var offeringID: OfferingID
    public var staffID: StaffID?

    public init(offeringID: OfferingID, staffID: StaffID? = nil) {
        self.offeringID = offeringID
        self.staffID = staffID
    }
}

/// A bookable start: the visit's items with their staff, as they would be booked.
public struct Slot: Hashable, Sendable, Codable, CustomStringConvertible {
    public var start: Instant
    public var end: Instant
    /// The branch's UTC offset at `start`, in seconds.
    public var offsetSeconds: Int
    public var items: [AppointmentItem]

    /// The start in RFC 3339 with the branch offset, e.g. `2024-03-01T09:00:00+05:00`.
    public var localStart: String { start.iso8601(offsetSeconds: offsetSeconds) }
    public var description: String { localStart }
}

public struct BookingRequest: Hashable, Sendable, Codable {
    public var branchID: BranchID
    public var parts: [VisitPart]
    public var start: Instant
    public var clientID: ClientID?
    public var guest: Guest?
    public var source: BookingSource
    public var specialRequests: String
    /// Create as `held` (expires after the branch's slot-hold minutes) instead of booking outright.
    public var hold: Bool
    public var actor: String

    public init(branchID: BranchID, parts: [VisitPart], start: Instant, clientID: ClientID? = nil, guest: Guest? = nil,
                source: BookingSource = .frontDesk, specialRequests: String = "", hold: Bool = false, actor: String = "front-desk") {
        self.branchID = branchID
        self.parts = parts
        self.start = start
        self.clientID = clientID
        self.guest = guest
        self.source = source
        self.specialRequests = specialRequests
        self.hold = hold
        self.actor = actor
    }
}

/// A new booking, and — for guests — the secret tracking token (shown once, stored only as a hash).
public struct Booking: Hashable, Sendable {
    public var appointment: Appointment
    public var trackingToken: String?
}

public enum SeriesFrequency: String, Hashable, Sendable, Codable {
    case weekly
    case everyTwoWeeks = "every_two_weeks"
    case monthly
}

public struct SeriesReport: Hashable, Sendable {
    public var seriesID: SeriesID
    public var booked: [Appointment]
    /// Occurrences that could not be booked, with why.
    public var failed: [(start: Instant?, date: LocalDate, reason: DomainError)]
    /// For a guest's series: each booked occurrence's tracking token (shown once).
    public var trackingTokens: [AppointmentID: String] = [:]

    public static func == (lhs: SeriesReport, rhs: SeriesReport) -> Bool {
        lhs.seriesID == rhs.seriesID && lhs.booked == rhs.booked && lhs.failed.map(\.date) == rhs.failed.map(\.date)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(seriesID) }
}

public enum WaitlistStatus: String, Hashable, Sendable, Codable {
    case waiting
    case offered
    case booked
    case withdrawn
}

public struct WaitlistEntry: Hashable, Sendable, Codable {
    public var id: WaitlistEntryID
    public var branchID: BranchID
    public var clientID: ClientID
    public var offeringID: OfferingID
    public var staffID: StaffID?
    public var fromDate: LocalDate
    public var toDate: LocalDate
    public var createdAt: Instant
    public var status: WaitlistStatus
    /// The freed start offered to this entry, and who would do it.
    public var offeredStart: Instant?
    public var offeredStaffID: StaffID?
}

/// Appointments that overlap on one staff member or resource beyond its capacity after a merge.
public struct Conflict: Hashable, Sendable, Codable {
    public enum Subject: String, Hashable, Sendable, Codable {
        case staff
        case resource
    }
    public var id: ConflictID
    public var subject: Subject
    public var subjectID: String
    /// The overlap: the interval during which all of `appointments` occupy the subject.
    public var range: TimeRange
    public var appointments: [AppointmentID]
    public var capacity: Int
    /// Set once a person accepted the overlap as it is.
    public var resolution: ConflictResolution?
}

public struct ConflictResolution: Hashable, Sendable, Codable {
    public enum Action: String, Hashable, Sendable, Codable {
        case accept
        case move
        case cancel
    }
    public var action: Action
    public var actor: String
    public var at: Instant
    public var note: String
}
