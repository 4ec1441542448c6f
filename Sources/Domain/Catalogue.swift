import Replication

extension WriteTransaction {
    /// Inserts the row, or updates only the columns whose values differ (so concurrent edits of
    /// different fields on two replicas both survive the merge).
    func upsert(_ table: String, id: String, _ values: [String: SQLValue]) throws {
        let columns = values.keys.sorted()
        let existing = try row("SELECT \(columns.joined(separator: ", ")) FROM \(table) WHERE id = ?", [.text(id)])
        if let existing {
            var changed: [String: SQLValue] = [:]
            for (index, column) in columns.enumerated() where existing[index] != values[column]! { changed[column] = values[column]! }
            if !changed.isEmpty { try update(table, key: .text(id), changed) }
        } else {
            var all = values
            all["id"] = .text(id)
            try insert(table, all)
        }
    }
}

extension Shop {
    // MARK: Branches

    /// Creates or updates a branch.
    /// - Throws: `DomainError` for an unknown time zone, a malformed currency, region or hours.
    package func save(_ branch: Branch) throws {
        _ = try ZoneRules.named(branch.timeZone)
        guard Money.isCurrencyCode(branch.currency) else { throw DomainError(.invalidArgument, "currency \"\(branch.currency)\" is not an ISO 4217 code (e.g. KZT)") }
        guard branch.region.isEmpty || (branch.region.count == 2 && branch.region.allSatisfy { $0.isASCII && $0.isUppercase }) else {
            throw DomainError(.invalidArgument, "region \"\(branch.region)\" is not an ISO 3166 alpha-2 code (e.g. KZ)")
        }
        try requireName(branch.name, "branch name")
        try branch.openingHours.validate("opening hours")
        try branch.policy.validate()
        try write(.branchSave) { transaction in
            try transaction.upsert("branches", id: branch.id.rawValue, [
                "name": .text(branch.name), "address": .text(branch.address), "phone": .text(branch.phone),
                "time_zone": .text(branch.timeZone), "currency": .text(branch.currency), "locale": .text(branch.locale),
                "region": .text(branch.region), "opening_hours": .text(JSONColumn.encode(branch.openingHours)),
                "min_notice_minutes": .int(branch.policy.minimumNoticeMinutes), "horizon_days": .int(branch.policy.horizonDays),
                "cancellation_cutoff_hours": .int(branch.policy.cancellationCutoffHours),
                "slot_hold_minutes": .int(branch.policy.slotHoldMinutes), "active": .bool(branch.isActive),
            ])
        }
    }

    package func branch(_ id: BranchID) throws -> Branch {
        try read { try Loader.branch(id, in: $0) }
    }

    package func branches() throws -> [Branch] {
        try read { transaction in
            try transaction.fetchAll("SELECT id FROM branches ORDER BY name, id").compactMap { BranchID($0["id"].string) }.map { try Loader.branch($0, in: transaction) }
        }
    }

    /// Replaces the branch's hours on one date (no intervals = closed, e.g. a holiday).
    package func setOverride(_ override: DateOverride, branch: BranchID) throws {
        try WallInterval.validate(override.intervals, "override of \(override.date)")
        try write(.branchOverrideSet) { transaction in
            _ = try Loader.branch(branch, in: transaction)
            try transaction.upsert("branch_overrides", id: derivedKey("branch-override", branch.rawValue, override.date.description), [
                "branch_id": .text(branch.rawValue), "date": .text(override.date.description),
                "intervals": .text(JSONColumn.encode(override.intervals)), "note": .text(override.note), "active": .bool(true),
            ])
        }
    }

    /// Removes a branch's override for a date: its weekly hours apply again.
    package func removeOverride(on date: LocalDate, branch: BranchID) throws {
        try write(.branchOverrideRemove) { transaction in
            let id = derivedKey("branch-override", branch.rawValue, date.description)
            guard try transaction.row("SELECT 1 FROM branch_overrides WHERE id = ? AND active = 1", [.text(id)]) != nil else {
                throw DomainError(.notFound, "branch \(branch) has no override on \(date)")
            }
            try transaction.update("branch_overrides", key: .text(id), ["active": .bool(false)])
        }
    }

    // MARK: Offerings

    package func save(_ offering: Offering) throws {
        try requireName(offering.names.values.first ?? "", "offering name")
        guard (1...1440).contains(offering.durationMinutes) else { throw DomainError(.invalidArgument, "duration must be 1…1440 minutes") }
        guard (0...720).contains(offering.bufferBeforeMinutes), (0...720).contains(offering.bufferAfterMinutes) else {
            throw DomainError(.invalidArgument, "buffers must be 0…720 minutes")
        }
        guard (1...1440).contains(offering.slotStepMinutes) else { throw DomainError(.invalidArgument, "slot step must be 1…1440 minutes") }
        guard (1...10_000).contains(offering.capacity) else { throw DomainError(.invalidArgument, "capacity must be 1…10000") }
        guard offering.price.amountMinor >= 0, Money.isCurrencyCode(offering.price.currency) else {
            throw DomainError(.invalidArgument, "price must be a non-negative amount in minor units of an ISO 4217 currency")
        }
        guard offering.resources.allSatisfy({ $0.quantity >= 1 }), Set(offering.resources.map(\.resource)).count == offering.resources.count else {
            throw DomainError(.invalidArgument, "each required resource must be listed once with a quantity of at least 1")
        }
        try write(.offeringSave) { transaction in
            _ = try Loader.branch(offering.branchID, in: transaction)
            for requirement in offering.resources {
                let resource = try Loader.resource(requirement.resource, in: transaction)
                guard resource.units >= requirement.quantity else {
                    throw DomainError(.invalidArgument, "resource \(resource.name) has \(resource.units) unit(s); the offering needs \(requirement.quantity)")
                }
            }
            try transaction.upsert("offerings", id: offering.id.rawValue, [
                "branch_id": .text(offering.branchID.rawValue), "category": .text(offering.category),
                "names": .text(JSONColumn.encode(offering.names)), "descriptions": .text(JSONColumn.encode(offering.descriptions)),
                "duration_minutes": .int(offering.durationMinutes), "price_minor": .integer(offering.price.amountMinor),
                "currency": .text(offering.price.currency), "buffer_before_minutes": .int(offering.bufferBeforeMinutes),
                "buffer_after_minutes": .int(offering.bufferAfterMinutes), "slot_step_minutes": .int(offering.slotStepMinutes),
                "capacity": .int(offering.capacity), "resources": .text(JSONColumn.encode(offering.resources)),
                "active": .bool(offering.isActive), "display_order": .int(offering.displayOrder),
            ])
        }
    }

    package func offering(_ id: OfferingID) throws -> Offering {
        try read { try Loader.offering(id, in: $0) }
    }

    /// A branch's offerings in display order.
    package func offerings(branch: BranchID, includeInactive: Bool = false) throws -> [Offering] {
        try read { transaction in
            try transaction.fetchAll("SELECT id FROM offerings WHERE branch_id = ? AND (active = 1 OR ?) ORDER BY display_order, id",
                                 [.text(branch.rawValue), .bool(includeInactive)])
                .compactMap { OfferingID($0["id"].string) }.map { try Loader.offering($0, in: transaction) }
        }
    }

    // MARK: Resources

    package func save(_ resource: Resource) throws {
        try requireName(resource.name, "resource name")
        guard (1...10_000).contains(resource.units) else { throw DomainError(.invalidArgument, "units must be 1…10000") }
        try write(.resourceSave) { transaction in
            _ = try Loader.branch(resource.branchID, in: transaction)
            try transaction.upsert("resources", id: resource.id.rawValue, [
                "branch_id": .text(resource.branchID.rawValue), "name": .text(resource.name), "kind": .text(resource.kind),
                "units": .int(resource.units), "active": .bool(resource.isActive),
            ])
        }
    }

    package func resource(_ id: ResourceID) throws -> Resource {
        try read { try Loader.resource(id, in: $0) }
    }

    // MARK: Staff

    package func save(_ member: StaffMember) throws {
        try requireName(member.name, "staff name")
        try member.schedule.validate("schedule")
        try member.breaks.validate("breaks")
        try write(.staffSave) { transaction in
            _ = try Loader.branch(member.branchID, in: transaction)
            try transaction.upsert("staff", id: member.id.rawValue, [
                "branch_id": .text(member.branchID.rawValue), "name": .text(member.name),
                "schedule": .text(JSONColumn.encode(member.schedule)), "breaks": .text(JSONColumn.encode(member.breaks)),
                "active": .bool(member.isActive), "display_order": .int(member.displayOrder),
            ])
        }
    }

    package func staffMember(_ id: StaffID) throws -> StaffMember {
        try read { try Loader.staff(id, in: $0) }
    }

    /// A branch's staff (home branch) in display order.
    package func staff(branch: BranchID, includeInactive: Bool = false) throws -> [StaffMember] {
        try read { transaction in
            try transaction.fetchAll("SELECT id FROM staff WHERE branch_id = ? AND (active = 1 OR ?) ORDER BY display_order, name, id",
                                 [.text(branch.rawValue), .bool(includeInactive)])
                .compactMap { StaffID($0["id"].string) }.map { try Loader.staff($0, in: transaction) }
        }
    }

    /// Lets a staff member perform an offering, optionally with their own duration and price.
    package func assign(_ assignment: StaffOffering) throws {
        if let duration = assignment.durationMinutes, !(1...1440).contains(duration) {
            throw DomainError(.invalidArgument, "duration must be 1…1440 minutes")
        }
        if let price = assignment.priceMinor, price < 0 { throw DomainError(.invalidArgument, "price must not be negative") }
        try write(.staffOfferingAssign) { transaction in
            _ = try Loader.staff(assignment.staffID, in: transaction)
            _ = try Loader.offering(assignment.offeringID, in: transaction)
            try transaction.upsert("staff_offerings", id: derivedKey("staff-offering", assignment.staffID.rawValue, assignment.offeringID.rawValue), [
                "staff_id": .text(assignment.staffID.rawValue), "offering_id": .text(assignment.offeringID.rawValue),
                "duration_minutes": assignment.durationMinutes.map { .int($0) } ?? .null,
                "price_minor": assignment.priceMinor.map { .integer($0) } ?? .null, "active": .bool(true),
            ])
        }
    }

    package func unassign(staff: StaffID, offering: OfferingID) throws {
        try write(.staffOfferingUnassign) { transaction in
            let id = derivedKey("staff-offering", staff.rawValue, offering.rawValue)
            guard try transaction.row("SELECT 1 FROM staff_offerings WHERE id = ? AND active = 1", [.text(id)]) != nil else {
                throw DomainError(.notFound, "staff \(staff) does not perform offering \(offering)")
            }
            try transaction.update("staff_offerings", key: .text(id), ["active": .bool(false)])
        }
    }

    /// Replaces a staff member's hours (and breaks) on one date; no intervals = day off.
    package func setOverride(_ override: DateOverride, staff: StaffID) throws {
        try WallInterval.validate(override.intervals, "override of \(override.date)")
        try write(.staffOverrideSet) { transaction in
            _ = try Loader.staff(staff, in: transaction)
            try transaction.upsert("staff_overrides", id: derivedKey("staff-override", staff.rawValue, override.date.description), [
                "staff_id": .text(staff.rawValue), "date": .text(override.date.description),
                "intervals": .text(JSONColumn.encode(override.intervals)), "note": .text(override.note), "active": .bool(true),
            ])
        }
    }

    package func removeOverride(on date: LocalDate, staff: StaffID) throws {
        try write(.staffOverrideRemove) { transaction in
            let id = derivedKey("staff-override", staff.rawValue, date.description)
            guard try transaction.row("SELECT 1 FROM staff_overrides WHERE id = ? AND active = 1", [.text(id)]) != nil else {
                throw DomainError(.notFound, "staff \(staff) has no override on \(date)")
            }
            try transaction.update("staff_overrides", key: .text(id), ["active": .bool(false)])
        }
    }

    /// Records time off (holiday, sick leave) from one instant to another.
    @discardableResult
    package func addTimeOff(staff: StaffID, range: TimeRange, reason: String = "") throws -> TimeOff {
        guard !range.isEmpty else { throw DomainError(.invalidArgument, "time off must end after it starts") }
        let timeOff = TimeOff(id: .generate(at: now), staffID: staff, range: range, reason: reason)
        try write(.staffTimeOffAdd) { transaction in
            _ = try Loader.staff(staff, in: transaction)
            try transaction.insert("staff_time_off", ["id": .text(timeOff.id.rawValue), "staff_id": .text(staff.rawValue),
                                                      "starts_at": .instant(range.start), "ends_at": .instant(range.end), "reason": .text(reason)])
        }
        return timeOff
    }

    package func removeTimeOff(_ id: TimeOffID) throws {
        try write(.staffTimeOffRemove) { transaction in
            guard try transaction.row("SELECT 1 FROM staff_time_off WHERE id = ?", [.text(id.rawValue)]) != nil else {
                throw DomainError(.notFound, "no time off \(id)")
            }
            try transaction.delete("staff_time_off", key: .text(id.rawValue))
        }
    }

    func requireName(_ name: String, _ what: String) throws(DomainError) {
        guard !name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw DomainError(.invalidArgument, "\(what) must not be empty") }
        guard name.count <= 200 else { throw DomainError(.invalidArgument, "\(what) is longer than 200 characters") }
    }
}

/// Row → value decoding, shared by reads and writes.
enum Loader {
    static func branch(_ id: BranchID, in context: some QueryContext) throws -> Branch {
        guard let row = try context.fetchOne("""
            SELECT name, address, phone, time_zone, currency, locale, region, opening_hours, min_notice_minutes, horizon_days,
                   cancellation_cutoff_hours, slot_hold_minutes, active FROM branches WHERE id = ?
            """, [.text(id.rawValue)]) else { throw DomainError(.notFound, "no branch \(id)") }
        return Branch(id: id, name: row["name"].string, address: row["address"].string, phone: row["phone"].string, timeZone: row["time_zone"].string,
                      currency: row["currency"].string, locale: row["locale"].string, region: row["region"].string,
                      openingHours: JSONColumn.decode(WeeklyHours.self, row["opening_hours"], default: WeeklyHours()),
                      policy: BookingPolicy(minimumNoticeMinutes: row["min_notice_minutes"].int, horizonDays: row["horizon_days"].int,
                                            cancellationCutoffHours: row["cancellation_cutoff_hours"].int, slotHoldMinutes: row["slot_hold_minutes"].int),
                      isActive: row["active"].bool)
    }

    static func offering(_ id: OfferingID, in context: some QueryContext) throws -> Offering {
        guard let row = try context.fetchOne("""
            SELECT branch_id, category, names, descriptions, duration_minutes, price_minor, currency, buffer_before_minutes,
                   buffer_after_minutes, slot_step_minutes, capacity, resources, active, display_order FROM offerings WHERE id = ?
            """, [.text(id.rawValue)]), let branch = BranchID(row["branch_id"].string) else { throw DomainError(.notFound, "no offering \(id)") }
        return Offering(id: id, branchID: branch, category: row["category"].string,
                        names: JSONColumn.decode([String: String].self, row["names"], default: [:]),
                        descriptions: JSONColumn.decode([String: String].self, row["descriptions"], default: [:]),
                        durationMinutes: max(1, row["duration_minutes"].int), price: Money(amountMinor: row["price_minor"].int64, currency: row["currency"].string),
                        bufferBeforeMinutes: max(0, row["buffer_before_minutes"].int), bufferAfterMinutes: max(0, row["buffer_after_minutes"].int), slotStepMinutes: max(1, row["slot_step_minutes"].int),
                        capacity: max(1, row["capacity"].int), resources: JSONColumn.decode([ResourceRequirement].self, row["resources"], default: []),
                        isActive: row["active"].bool, displayOrder: row["display_order"].int)
    }

    static func resource(_ id: ResourceID, in context: some QueryContext) throws -> Resource {
        guard let row = try context.fetchOne("SELECT branch_id, name, kind, units, active FROM resources WHERE id = ?", [.text(id.rawValue)]),
              let branch = BranchID(row["branch_id"].string) else { throw DomainError(.notFound, "no resource \(id)") }
        return Resource(id: id, branchID: branch, name: row["name"].string, kind: row["kind"].string, units: max(0, row["units"].int), isActive: row["active"].bool)
    }

    static func staff(_ id: StaffID, in context: some QueryContext) throws -> StaffMember {
        guard let row = try context.fetchOne("SELECT branch_id, name, schedule, breaks, active, display_order FROM staff WHERE id = ?", [.text(id.rawValue)]),
              let branch = BranchID(row["branch_id"].string) else { throw DomainError(.notFound, "no staff member \(id)") }
        return StaffMember(id: id, branchID: branch, name: row["name"].string,
                           schedule: JSONColumn.decode(WeeklyHours.self, row["schedule"], default: WeeklyHours()),
                           breaks: JSONColumn.decode(WeeklyHours.self, row["breaks"], default: WeeklyHours()),
                           isActive: row["active"].bool, displayOrder: row["display_order"].int)
    }

    /// The staff member's duration and price for an offering, or nil if they do not perform it.
    static func assignment(staff: StaffID, offering: OfferingID, in context: some QueryContext) throws -> StaffOffering? {
        guard let row = try context.fetchOne("SELECT duration_minutes, price_minor FROM staff_offerings WHERE id = ? AND active = 1",
                                        [.text(derivedKey("staff-offering", staff.rawValue, offering.rawValue))]) else { return nil }
        return StaffOffering(staffID: staff, offeringID: offering, durationMinutes: row["duration_minutes"].integerValue.map { Int($0) }, priceMinor: row["price_minor"].integerValue)
    }
}
