/// The catalogue: branches and their opening hours, offerings (services) and their categories,
/// staff and what they offer, resources, and the date overrides and time off that change who is
/// available when.
///
/// One of the shop's per-area components (`Shop.catalogue`): async, over the shop's one store,
/// which runs the SQLite work off Swift's cooperative pool by itself (inline inside a unit of work).
/// Every write names who acts (`as: Acting`); the audit trail records it.
public struct Catalogue: Sendable {
    let shop: Shop

    // MARK: Branches

    /// Creates or updates a branch.
    /// - Throws: `DomainError` for an unknown time zone, a malformed currency, region or hours.
    public func save(_ branch: Branch, as acting: Acting) async throws { try await shop.perform(as: acting) { try $0.save(branch) } }

    /// The branch with `id`.
    /// - Throws: `DomainError(.notFound)`.
    public func branch(_ id: BranchID) async throws -> Branch { try await shop.perform { try $0.branch(id) } }

    /// Every branch, by name.
    public func branches() async throws -> [Branch] { try await shop.perform { try $0.branches() } }

    /// Sets a branch's hours on one date (closed, or other hours).
    public func setOverride(_ override: DateOverride, branch: BranchID, as acting: Acting) async throws {
        try await shop.perform(as: acting) { try $0.setOverride(override, branch: branch) }
    }

    /// Removes a branch's override on one date.
    public func removeOverride(on date: LocalDate, branch: BranchID, as acting: Acting) async throws {
        try await shop.perform(as: acting) { try $0.removeOverride(on: date, branch: branch) }
    }

    /// The overrides of a branch or a staff member from a date on.
    public func overrides(branch: BranchID? = nil, staff: StaffID? = nil, from: LocalDate) async throws -> [DateOverride] {
        try await shop.perform { try $0.overrides(branch: branch, staff: staff, from: from) }
    }

    // MARK: Offerings

    /// Creates or updates an offering.
    public func save(_ offering: Offering, as acting: Acting) async throws { try await shop.perform(as: acting) { try $0.save(offering) } }

    /// The offering with `id`.
    public func offering(_ id: OfferingID) async throws -> Offering { try await shop.perform { try $0.offering(id) } }

    /// A branch's offerings.
    public func offerings(branch: BranchID, includeInactive: Bool = false) async throws -> [Offering] {
        try await shop.perform { try $0.offerings(branch: branch, includeInactive: includeInactive) }
    }

    /// A branch's categories with how many active offerings each holds.
    public func categories(branch: BranchID) async throws -> [(name: String, offerings: Int)] {
        try await shop.perform { try $0.categories(branch: branch) }
    }

    // MARK: Resources

    /// Creates or updates a resource (a chair, a room).
    public func save(_ resource: Resource, as acting: Acting) async throws { try await shop.perform(as: acting) { try $0.save(resource) } }

    /// The resource with `id`.
    public func resource(_ id: ResourceID) async throws -> Resource { try await shop.perform { try $0.resource(id) } }

    /// A branch's resources.
    public func resources(branch: BranchID, includeInactive: Bool = false) async throws -> [Resource] {
        try await shop.perform { try $0.resources(branch: branch, includeInactive: includeInactive) }
    }

    // MARK: Staff

    /// Creates or updates a staff member.
    public func save(_ member: StaffMember, as acting: Acting) async throws { try await shop.perform(as: acting) { try $0.save(member) } }

    /// The staff member with `id`.
    public func staffMember(_ id: StaffID) async throws -> StaffMember { try await shop.perform { try $0.staffMember(id) } }

    /// A branch's staff.
    public func staff(branch: BranchID, includeInactive: Bool = false) async throws -> [StaffMember] {
        try await shop.perform { try $0.staff(branch: branch, includeInactive: includeInactive) }
    }

    /// Lets a staff member perform an offering (optionally with their own duration and price).
    public func assign(_ assignment: StaffOffering, as acting: Acting) async throws { try await shop.perform(as: acting) { try $0.assign(assignment) } }

    /// Stops a staff member performing an offering.
    public func unassign(staff: StaffID, offering: OfferingID, as acting: Acting) async throws {
        try await shop.perform(as: acting) { try $0.unassign(staff: staff, offering: offering) }
    }

    /// What a staff member performs.
    public func assignments(staff: StaffID) async throws -> [StaffOffering] { try await shop.perform { try $0.assignments(staff: staff) } }

    /// Sets a staff member's hours on one date.
    public func setOverride(_ override: DateOverride, staff: StaffID, as acting: Acting) async throws {
        try await shop.perform(as: acting) { try $0.setOverride(override, staff: staff) }
    }

    /// Removes a staff member's override on one date.
    public func removeOverride(on date: LocalDate, staff: StaffID, as acting: Acting) async throws {
        try await shop.perform(as: acting) { try $0.removeOverride(on: date, staff: staff) }
    }

    /// Records time off for a staff member.
    @discardableResult
    public func addTimeOff(staff: StaffID, range: TimeRange, reason: String = "", as acting: Acting) async throws -> TimeOff {
        try await shop.perform(as: acting) { try $0.addTimeOff(staff: staff, range: range, reason: reason) }
    }

    /// Removes an entry of time off.
    public func removeTimeOff(_ id: TimeOffID, as acting: Acting) async throws { try await shop.perform(as: acting) { try $0.removeTimeOff(id) } }

    /// A staff member's time off that ends after `from`.
    public func timeOff(staff: StaffID, from: Instant) async throws -> [TimeOff] {
        try await shop.perform { try $0.timeOff(staff: staff, from: from) }
    }
}
