import Domain
import Foundation
import Synchronization

/// Time zones of branches, so every instant is written in RFC 3339 with its branch's offset.
final class Zones: Sendable {
    private let shop: Shop
    private let cache = Mutex<[BranchID: (rules: ZoneRules, loadedAt: Int64)]>([:])

    init(shop: Shop) { self.shop = shop }

    func rules(_ branch: BranchID?) -> ZoneRules? {
        guard let branch = branch ?? shop.homeBranch else { return nil }
        let now = shop.now.milliseconds
        if let cached = cache.withLock({ $0[branch] }), now - cached.loadedAt < 60_000 { return cached.rules }
        guard let timeZone = try? shop.branch(branch).timeZone, let rules = try? ZoneRules.named(timeZone) else { return nil }
        cache.withLock { $0[branch] = (rules, now) }
        return rules
    }

    /// `instant` in RFC 3339 with the branch's offset (the home branch's when nil; UTC if unknown).
    func format(_ instant: Instant, branch: BranchID?) -> String {
        instant.iso8601(offsetSeconds: rules(branch)?.offsetSeconds(at: instant) ?? 0)
    }

    func format(optional instant: Instant?, branch: BranchID?) -> String? {
        instant.map { format($0, branch: branch) }
    }
}

struct MoneyBody: Encodable {
    var amountMinor: Int64
    var currency: String
    init(_ money: Money) { amountMinor = money.amountMinor; currency = money.currency }
}

struct BranchBody: Encodable {
    var id: String
    var name: String
    var address: String
    var phone: String
    var timeZone: String
    var currency: String
    var locale: String
    var region: String
    var openingHours: WeeklyHours
    var policy: PolicyBody
    var active: Bool

    struct PolicyBody: Encodable {
        var minimumNoticeMinutes: Int
        var horizonDays: Int
        var cancellationCutoffHours: Int
        var slotHoldMinutes: Int
    }

    init(_ branch: Branch) {
        id = branch.id.rawValue
        name = branch.name
        address = branch.address
        phone = branch.phone
        timeZone = branch.timeZone
        currency = branch.currency
        locale = branch.locale
        region = branch.region
        openingHours = branch.openingHours
        policy = PolicyBody(minimumNoticeMinutes: branch.policy.minimumNoticeMinutes, horizonDays: branch.policy.horizonDays,
                            cancellationCutoffHours: branch.policy.cancellationCutoffHours, slotHoldMinutes: branch.policy.slotHoldMinutes)
        active = branch.isActive
    }
}

struct OverrideBody: Encodable {
    var date: String
    var intervals: [WallInterval]
    var note: String
    init(_ override: DateOverride) { date = override.date.description; intervals = override.intervals; note = override.note }
}

struct ServiceBody: Encodable {
    var id: String
    var branch: String
    var category: String
    var names: [String: String]
    var descriptions: [String: String]
    var durationMinutes: Int
    var price: MoneyBody
    var bufferBeforeMinutes: Int
    var bufferAfterMinutes: Int
    var slotStepMinutes: Int
    var capacity: Int
    var resources: [ResourceRequirementBody]
    var active: Bool
    var displayOrder: Int

    init(_ offering: Offering) {
        id = offering.id.rawValue
        branch = offering.branchID.rawValue
        category = offering.category
        names = offering.names
        descriptions = offering.descriptions
        durationMinutes = offering.durationMinutes
        price = MoneyBody(offering.price)
        bufferBeforeMinutes = offering.bufferBeforeMinutes
        bufferAfterMinutes = offering.bufferAfterMinutes
        slotStepMinutes = offering.slotStepMinutes
        capacity = offering.capacity
        resources = offering.resources.map { ResourceRequirementBody(resource: $0.resource.rawValue, quantity: $0.quantity) }
        active = offering.isActive
        displayOrder = offering.displayOrder
    }
}

struct ResourceRequirementBody: Encodable {
    var resource: String
    var quantity: Int
}

struct CategoryBody: Encodable {
    var name: String
    var services: Int
}

struct StaffBody: Encodable {
    var id: String
    var branch: String
    var name: String
    var schedule: WeeklyHours
    var breaks: WeeklyHours
    var active: Bool
    var displayOrder: Int

    init(_ member: StaffMember) {
        id = member.id.rawValue
        branch = member.branchID.rawValue
        name = member.name
        schedule = member.schedule
        breaks = member.breaks
        active = member.isActive
        displayOrder = member.displayOrder
    }
}

struct StaffServiceBody: Encodable {
    var service: String
    var durationMinutes: Int?
    var priceMinor: Int64?
    init(_ assignment: StaffOffering) {
        service = assignment.offeringID.rawValue
        durationMinutes = assignment.durationMinutes
        priceMinor = assignment.priceMinor
    }
}

struct TimeOffBody: Encodable {
    var id: String
    var staff: String
    var start: String
    var end: String
    var reason: String
}

struct ResourceBody: Encodable {
    var id: String
    var branch: String
    var name: String
    var kind: String
    var units: Int
    var active: Bool
    init(_ resource: Resource) {
        id = resource.id.rawValue
        branch = resource.branchID.rawValue
        name = resource.name
        kind = resource.kind
        units = resource.units
        active = resource.isActive
    }
}

struct ClientBody: Encodable {
    var id: String
    var name: String
    var phone: String
    var email: String
    var tags: [String]
    var preferences: String
    var marketingConsent: Bool
    var createdAt: String
    var mergedInto: String?

    init(_ client: Client, zones: Zones) {
        id = client.id.rawValue
        name = client.name
        phone = client.phone
        email = client.email
        tags = client.tags
        preferences = client.preferences
        marketingConsent = client.marketingConsent
        createdAt = zones.format(client.createdAt, branch: nil)
        mergedInto = client.mergedInto?.rawValue
    }
}

struct NoteBody: Encodable {
    var id: String
    var client: String
    var author: String
    var body: String
    var createdAt: String
    init(_ note: ClientNote, zones: Zones) {
        id = note.id
        client = note.clientID.rawValue
        author = note.author
        body = note.body
        createdAt = zones.format(note.createdAt, branch: nil)
    }
}

struct AppointmentBody: Encodable {
    var id: String
    var branch: String
    var client: String?
    var guest: GuestBody?
    var items: [ItemBody]
    var start: String
    var end: String
    var status: String
    var statusReason: String
    var cancelledBy: String?
    var lateCancellation: Bool
    var source: String
    var specialRequests: String
    var price: MoneyBody
    var orderNumber: String
    var series: String?
    var holdExpiresAt: String?
    var createdAt: String
    /// Only in the response that created a guest booking: the secret for /v1/bookings/{token}.
    var trackingToken: String?

    struct GuestBody: Encodable {
        var name: String
        var phone: String
        var email: String
    }

    struct ItemBody: Encodable {
        var service: String
        var staff: String
        var start: String
        var end: String
        var bufferBeforeMinutes: Int
        var bufferAfterMinutes: Int
        var priceMinor: Int64
        var resources: [ResourceRequirementBody]
    }

    init(_ appointment: Appointment, zones: Zones, trackingToken: String? = nil, redactPersonal: Bool = false) {
        let branch = appointment.branchID
        id = appointment.id.rawValue
        self.branch = branch.rawValue
        client = redactPersonal ? nil : appointment.clientID?.rawValue
        guest = redactPersonal ? nil : appointment.guest.map { GuestBody(name: $0.name, phone: $0.phone, email: $0.email) }
        items = appointment.items.map {
            ItemBody(service: $0.offeringID.rawValue, staff: $0.staffID.rawValue, start: zones.format($0.start, branch: branch),
                     end: zones.format($0.end, branch: branch), bufferBeforeMinutes: $0.bufferBeforeMinutes,
                     bufferAfterMinutes: $0.bufferAfterMinutes, priceMinor: $0.priceMinor,
                     resources: $0.resources.map { ResourceRequirementBody(resource: $0.resource.rawValue, quantity: $0.quantity) })
        }
        start = zones.format(appointment.start, branch: branch)
        end = zones.format(appointment.end, branch: branch)
        status = appointment.status.rawValue
        statusReason = redactPersonal ? "" : appointment.statusReason
        cancelledBy = appointment.cancelledBy?.rawValue
        lateCancellation = appointment.isLateCancellation
        source = appointment.source.rawValue
        specialRequests = redactPersonal ? "" : appointment.specialRequests
        price = MoneyBody(appointment.price)
        orderNumber = appointment.orderNumber
        series = appointment.seriesID?.rawValue
        holdExpiresAt = zones.format(optional: appointment.holdExpiresAt, branch: branch)
        createdAt = zones.format(appointment.createdAt, branch: branch)
        self.trackingToken = trackingToken
    }
}

struct AppointmentEventBody: Encodable {
    var id: String
    var at: String
    var actor: String
    var action: String
    var fromStatus: String?
    var toStatus: String?
    var detail: String
}

struct ClientHistoryBody: Encodable {
    var visits: [AppointmentBody]
    var completedVisits: Int
    var noShows: Int
    var lateCancellations: Int
    /// What the client actually paid (net of refunds), per currency.
    var lifetimeSpend: [MoneyBody]
    /// The same as `lifetime_spend` (the web app's name for it).
    var lifetimePaid: [MoneyBody]
    var visitsPaid: [VisitPaidBody]
}

struct VisitPaidBody: Encodable {
    var appointment: String
    var sale: String
    var saleNumber: String
    var paidMinor: Int64
    var currency: String
    var state: String
    init(_ paid: VisitPaid) {
        appointment = paid.appointmentID.rawValue
        sale = paid.saleID.rawValue
        saleNumber = paid.saleNumber
        paidMinor = paid.paidMinor
        currency = paid.currency
        state = paid.state.rawValue
    }
}

struct SeriesReportBody: Encodable {
    var series: String
    var booked: [AppointmentBody]
    var failed: [Failure]

    struct Failure: Encodable {
        var date: String
        var start: String?
        var problem: String
        var detail: String
    }
}

struct WaitlistBody: Encodable {
    var id: String
    var branch: String
    var client: String
    var service: String
    var staff: String?
    var fromDate: String
    var toDate: String
    var createdAt: String
    var status: String
    var offeredStart: String?
    var offeredStaff: String?

    init(_ entry: WaitlistEntry, zones: Zones) {
        id = entry.id.rawValue
        branch = entry.branchID.rawValue
        client = entry.clientID.rawValue
        service = entry.offeringID.rawValue
        staff = entry.staffID?.rawValue
        fromDate = entry.fromDate.description
        toDate = entry.toDate.description
        createdAt = zones.format(entry.createdAt, branch: entry.branchID)
        status = entry.status.rawValue
        offeredStart = zones.format(optional: entry.offeredStart, branch: entry.branchID)
        offeredStaff = entry.offeredStaffID?.rawValue
    }
}

struct ConflictBody: Encodable {
    var id: String
    var subject: String
    var subjectId: String
    var start: String
    var end: String
    var appointments: [String]
    var capacity: Int
    var resolution: Resolution?

    struct Resolution: Encodable {
        var action: String
        var actor: String
        var at: String
        var note: String
    }

    init(_ conflict: Conflict, zones: Zones) {
        id = conflict.id.rawValue
        subject = conflict.subject.rawValue
        subjectId = conflict.subjectID
        start = zones.format(conflict.range.start, branch: nil)
        end = zones.format(conflict.range.end, branch: nil)
        appointments = conflict.appointments.map(\.rawValue)
        capacity = conflict.capacity
        resolution = conflict.resolution.map { Resolution(action: $0.action.rawValue, actor: $0.actor, at: zones.format($0.at, branch: nil), note: $0.note) }
    }
}

struct DeviceBody: Encodable {
    var id: String
    var name: String
    var role: String
    var pairedAt: String
    var pairedBy: String
    var lastUsedAt: String?
    var revokedAt: String?

    init(_ device: Device, zones: Zones) {
        id = device.id.rawValue
        name = device.name
        role = device.role.rawValue
        pairedAt = zones.format(device.pairedAt, branch: nil)
        pairedBy = device.pairedBy
        lastUsedAt = zones.format(optional: device.lastUsedAt, branch: nil)
        revokedAt = zones.format(optional: device.revokedAt, branch: nil)
    }
}

struct PersonBody: Encodable {
    var id: String
    var name: String
    var role: String
    var staff: String?
    var active: Bool
    var createdAt: String
    /// Which branches the person may report on: `"own"`, `"all"` or the branch ids granted besides their own.
    var reportAccess: ReportAccessBody

    init(_ person: Person, zones: Zones, reportAccess: ReportAccess) {
        id = person.id.rawValue
        name = person.name
        role = person.role.rawValue
        staff = person.staffID?.rawValue
        active = person.isActive
        createdAt = zones.format(person.createdAt, branch: nil)
        self.reportAccess = ReportAccessBody(reportAccess)
    }
}

struct PairingBody: Encodable {
    var code: String
    var deviceName: String
    var remote: String
    var requestedAt: String
    var expiresAt: String
    var status: String
    var role: String?

    init(_ request: PairingRequest, zones: Zones) {
        code = request.code
        deviceName = request.deviceName
        remote = request.remote
        requestedAt = zones.format(request.requestedAt, branch: nil)
        expiresAt = zones.format(request.expiresAt, branch: nil)
        status = request.status.rawValue
        role = request.role?.rawValue
    }
}

/// A page of a list: the items and, when there may be more, the cursor of the next page.
struct Page<Item: Encodable>: Encodable {
    var items: [Item]
    var nextCursor: String?
}

/// Opaque cursors: base64url of a small JSON object naming where the previous page ended.
enum Cursor {
    static func encode(_ fields: [String: String]) -> String {
        Data(APIEncoding.encode(fields)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> [String: String]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard text.count <= 512, let data = Data(base64Encoded: base64) else { return nil }
        return try? JSONDecoder().decode([String: String].self, from: data)
    }
}
