import Domain
import Foundation

extension BodyReader {
    /// `[["09:00", "13:00"], ["14:00", "18:00"]]`
    func intervals(_ key: String, required: Bool = false) -> [WallInterval]? {
        markSeen(key)
        guard let value = object[key], value != .null else {
            if required { errors.add(name(key), "is required") }
            return nil
        }
        return parseIntervals(value, field: name(key))
    }

    private func parseIntervals(_ value: JSONValue, field: String) -> [WallInterval]? {
        guard case .array(let items) = value, items.count <= 12 else { errors.add(field, "must be an array of at most 12 [\"HH:MM\", \"HH:MM\"] pairs"); return nil }
        var result: [WallInterval] = []
        for (index, item) in items.enumerated() {
            guard case .array(let pair) = item, pair.count == 2, case .string(let start) = pair[0], case .string(let end) = pair[1],
                  let interval = WallInterval(start, end) else {
                errors.add("\(field)[\(index)]", "must be a pair of times, e.g. [\"09:00\", \"13:00\"]"); return nil
            }
            result.append(interval)
        }
        return result
    }

    /// `{"mon": [["09:00", "18:00"]], …}`; a missing weekday is closed.
    func weeklyHours(_ key: String, required: Bool = false) -> WeeklyHours? {
        markSeen(key)
        guard let value = object[key], value != .null else {
            if required { errors.add(name(key), "is required") }
            return nil
        }
        guard case .object(let days) = value else { errors.add(name(key), "must be an object of weekdays (mon…sun), not \(value.typeName)"); return nil }
        var hours: [Weekday: [WallInterval]] = [:]
        for (day, intervals) in days.sorted(by: { $0.key < $1.key }) {
            guard let weekday = Weekday(key: day) else { errors.add("\(name(key)).\(day)", "is not a weekday (mon, tue, wed, thu, fri, sat, sun)"); continue }
            if let parsed = parseIntervals(intervals, field: "\(name(key)).\(day)") { hours[weekday] = parsed }
        }
        return WeeklyHours(hours)
    }
}

extension CatalogueHandlers {
    /// Branches and their overrides, categories, services, staff with their services, overrides and time off, resources.
    static let endpoints: [Endpoint] = [
        Endpoint(.get, "/v1/branches", .catalogueRead,
                 answers: [200: .json("BranchPage")],
                 CatalogueHandlers.listBranches),
        Endpoint(.post, "/v1/branches", .catalogueWrite,
                 body: .json("BranchInput"), answers: [201: .json("Branch")],
                 CatalogueHandlers.createBranch),
        Endpoint(.get, "/v1/branches/{id}", .catalogueRead,
                 answers: [200: .json("Branch")],
                 CatalogueHandlers.getBranch),
        Endpoint(.put, "/v1/branches/{id}", .catalogueWrite,
                 body: .json("BranchInput"), answers: [200: .json("Branch")],
                 CatalogueHandlers.replaceBranch),
        Endpoint(.get, "/v1/branches/{id}/overrides", .catalogueRead,
                 query: ["from"], answers: [200: .json("DateOverridePage")],
                 CatalogueHandlers.listBranchOverrides),
        Endpoint(.put, "/v1/branches/{id}/overrides/{date}", .catalogueWrite,
                 body: .json("DateOverrideInput"), answers: [200: .json("DateOverride")],
                 CatalogueHandlers.setBranchOverride),
        Endpoint(.delete, "/v1/branches/{id}/overrides/{date}", .catalogueWrite,
                 answers: [204: .empty],
                 CatalogueHandlers.removeBranchOverride),
        Endpoint(.get, "/v1/categories", .catalogueRead,
                 query: ["branch"], answers: [200: .json("CategoryPage")],
                 CatalogueHandlers.listCategories),
        Endpoint(.get, "/v1/services", .catalogueRead,
                 query: ["branch", "include_inactive", "category"], answers: [200: .json("ServicePage")],
                 CatalogueHandlers.listServices),
        Endpoint(.post, "/v1/services", .catalogueWrite,
                 body: .json("ServiceInput"), answers: [201: .json("Service")],
                 CatalogueHandlers.createService),
        Endpoint(.get, "/v1/services/{id}", .catalogueRead,
                 answers: [200: .json("Service")],
                 CatalogueHandlers.getService),
        Endpoint(.put, "/v1/services/{id}", .catalogueWrite,
                 body: .json("ServiceInput"), answers: [200: .json("Service")],
                 CatalogueHandlers.replaceService),
        Endpoint(.get, "/v1/staff", .catalogueRead,
                 query: ["branch", "include_inactive"], answers: [200: .json("StaffPage")],
                 CatalogueHandlers.listStaff),
        Endpoint(.post, "/v1/staff", .catalogueWrite,
                 body: .json("StaffInput"), answers: [201: .json("Staff")],
                 CatalogueHandlers.createStaff),
        Endpoint(.get, "/v1/staff/{id}", .catalogueRead,
                 answers: [200: .json("Staff")],
                 CatalogueHandlers.getStaff),
        Endpoint(.put, "/v1/staff/{id}", .catalogueWrite,
                 body: .json("StaffInput"), answers: [200: .json("Staff")],
                 CatalogueHandlers.replaceStaff),
        Endpoint(.get, "/v1/staff/{id}/services", .catalogueRead,
                 answers: [200: .json("StaffServicePage")],
                 CatalogueHandlers.listStaffServices),
        Endpoint(.put, "/v1/staff/{id}/services/{service}", .catalogueWrite,
                 body: .optionalJSON("StaffServiceInput"), answers: [200: .json("StaffService")],
                 CatalogueHandlers.assignService),
        Endpoint(.delete, "/v1/staff/{id}/services/{service}", .catalogueWrite,
                 answers: [204: .empty],
                 CatalogueHandlers.unassignService),
        Endpoint(.get, "/v1/staff/{id}/overrides", .catalogueRead,
                 query: ["from"], answers: [200: .json("DateOverridePage")],
                 CatalogueHandlers.listStaffOverrides),
        Endpoint(.put, "/v1/staff/{id}/overrides/{date}", .catalogueWrite,
                 body: .json("DateOverrideInput"), answers: [200: .json("DateOverride")],
                 CatalogueHandlers.setStaffOverride),
        Endpoint(.delete, "/v1/staff/{id}/overrides/{date}", .catalogueWrite,
                 answers: [204: .empty],
                 CatalogueHandlers.removeStaffOverride),
        Endpoint(.get, "/v1/staff/{id}/time-off", .catalogueRead,
                 query: ["from"], answers: [200: .json("TimeOffPage")],
                 CatalogueHandlers.listTimeOff),
        Endpoint(.post, "/v1/staff/{id}/time-off", .catalogueWrite,
                 body: .json("TimeOffInput"), answers: [201: .json("TimeOff")],
                 CatalogueHandlers.addTimeOff),
        Endpoint(.delete, "/v1/time-off/{id}", .catalogueWrite,
                 answers: [204: .empty],
                 CatalogueHandlers.removeTimeOff),
        Endpoint(.get, "/v1/resources", .catalogueRead,
                 query: ["branch", "include_inactive"], answers: [200: .json("ResourcePage")],
                 CatalogueHandlers.listResources),
        Endpoint(.post, "/v1/resources", .catalogueWrite,
                 body: .json("ResourceInput"), answers: [201: .json("Resource")],
                 CatalogueHandlers.createResource),
        Endpoint(.get, "/v1/resources/{id}", .catalogueRead,
                 answers: [200: .json("Resource")],
                 CatalogueHandlers.getResource),
        Endpoint(.put, "/v1/resources/{id}", .catalogueWrite,
                 body: .json("ResourceInput"), answers: [200: .json("Resource")],
                 CatalogueHandlers.replaceResource),
    ]
}

enum CatalogueHandlers {
    // MARK: Branches

    static func listBranches(_ call: Call) async throws -> Reply {
        try call.query().validate()
        let branches = try await call.shop.catalogue.branches()
        return .json(Page(items: branches.map(BranchBody.init), nextCursor: nil))
    }

    static func getBranch(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: BranchID.self)
        return .json(BranchBody(try await call.shop.catalogue.branch(id)))
    }

    static func createBranch(_ call: Call) async throws -> Reply {
        let now = call.shop.now
        return try await saveBranch(call, id: .generate(at: now), status: 201)
    }

    static func replaceBranch(_ call: Call) async throws -> Reply {
        try await saveBranch(call, id: try call.id("id", as: BranchID.self), status: 200)
    }

    private static func saveBranch(_ call: Call, id: BranchID, status: Int) async throws -> Reply {
        let body = try call.bodyReader()
        let name = body.string("name", required: true, maxLength: 200, allowEmpty: false)
        let address = body.string("address", maxLength: 500, multiline: true) ?? ""
        let phone = body.string("phone", maxLength: 40) ?? ""
        let timeZone = body.string("time_zone", required: true, maxLength: 64, allowEmpty: false)
        let currency = body.string("currency", required: true, maxLength: 3, allowEmpty: false)
        let locale = body.string("locale", maxLength: 35) ?? "en"
        let region = body.string("region", maxLength: 2) ?? ""
        let hours = body.weeklyHours("opening_hours", required: true)
        var policy = BookingPolicy()
        if let reader = body.object("policy") {
            policy.minimumNoticeMinutes = reader.int("minimum_notice_minutes", range: 0...525_600) ?? policy.minimumNoticeMinutes
            policy.horizonDays = reader.int("horizon_days", range: 0...730) ?? policy.horizonDays
            policy.cancellationCutoffHours = reader.int("cancellation_cutoff_hours", range: 0...8760) ?? policy.cancellationCutoffHours
            policy.slotHoldMinutes = reader.int("slot_hold_minutes", range: 1...1440) ?? policy.slotHoldMinutes
            reader.finish()
        }
        let active = body.bool("active") ?? true
        try body.validate()
        guard let name, let timeZone, let currency, let hours else { throw APIError.validation([]) }
        let branch = Branch(id: id, name: name, address: address, phone: phone, timeZone: timeZone, currency: currency, locale: locale,
                            region: region, openingHours: hours, policy: policy, isActive: active)
        try await call.shop.catalogue.save(branch, as: call.acting)
        let saved = try await call.shop.catalogue.branch(id)
        return .json(BranchBody(saved), status: status, location: status == 201 ? "/v1/branches/\(id)" : nil)
    }

    static func listBranchOverrides(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: BranchID.self)
        let query = call.query()
        let from = query.date("from")
        try query.validate()
        let catalogue = call.shop.catalogue
        var start = from
        if start == nil, let branch = try? await catalogue.branch(id) { start = try? ZoneRules.named(branch.timeZone).localDate(of: call.shop.now) }
        let overrides = try await catalogue.overrides(branch: id, from: start ?? LocalDate(daysSinceEpoch: 0))
        return .json(Page(items: overrides.map(OverrideBody.init), nextCursor: nil))
    }

    static func parseOverride(_ call: Call) throws -> DateOverride {
        let date = try call.pathDate("date")
        let body = try call.bodyReader()
        let intervals = body.intervals("intervals", required: true)
        let note = body.string("note", maxLength: 500, multiline: true) ?? ""
        try body.validate()
        return DateOverride(date: date, intervals: intervals ?? [], note: note)
    }

    static func setBranchOverride(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: BranchID.self)
        let override = try parseOverride(call)
        try await call.shop.catalogue.setOverride(override, branch: id, as: call.acting)
        return .json(OverrideBody(override))
    }

    static func removeBranchOverride(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: BranchID.self)
        let date = try call.pathDate("date")
        try await call.shop.catalogue.removeOverride(on: date, branch: id, as: call.acting)
        return .noContent
    }

    // MARK: Services

    static func listCategories(_ call: Call) async throws -> Reply {
        let query = call.query()
        let named = query.id("branch", as: BranchID.self)
        try query.validate()
        let branch = try call.branch(named)
        let categories = try await call.shop.catalogue.categories(branch: branch)
        return .json(Page(items: categories.map { CategoryBody(name: $0.name, services: $0.offerings) }, nextCursor: nil))
    }

    static func listServices(_ call: Call) async throws -> Reply {
        let query = call.query()
        let named = query.id("branch", as: BranchID.self)
        let inactive = query.bool("include_inactive") ?? false
        let category = query.string("category")
        try query.validate()
        let branch = try call.branch(named)
        let offerings = try await call.shop.catalogue.offerings(branch: branch, includeInactive: inactive)
        return .json(Page(items: offerings.filter { category == nil || $0.category == category }.map(ServiceBody.init), nextCursor: nil))
    }

    static func getService(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: OfferingID.self)
        return .json(ServiceBody(try await call.shop.catalogue.offering(id)))
    }

    static func createService(_ call: Call) async throws -> Reply {
        try await saveService(call, id: .generate(at: call.shop.now), status: 201)
    }

    static func replaceService(_ call: Call) async throws -> Reply {
        try await saveService(call, id: try call.id("id", as: OfferingID.self), status: 200)
    }

    private static func saveService(_ call: Call, id: OfferingID, status: Int) async throws -> Reply {
        let body = try call.bodyReader()
        let branch = body.id("branch", as: BranchID.self)
        let category = body.string("category", maxLength: 100) ?? ""
        let names = body.stringMap("names", required: true, maxLength: 200)
        let descriptions = body.stringMap("descriptions", multiline: true) ?? [:]
        let duration = body.int("duration_minutes", required: true, range: 1...1440)
        var price: Money?
        if let reader = body.object("price", required: true) {
            let amount = reader.integer("amount_minor", required: true, range: 0...1_000_000_000_000)
            let currency = reader.string("currency", required: true, maxLength: 3, allowEmpty: false)
            reader.finish()
            if let amount, let currency { price = Money(amountMinor: amount, currency: currency) }
        }
        let before = body.int("buffer_before_minutes", range: 0...240) ?? 0
        let after = body.int("buffer_after_minutes", range: 0...240) ?? 0
        let step = body.int("slot_step_minutes", range: 1...240) ?? 15
        let capacity = body.int("capacity", range: 1...1000) ?? 1
        var resources: [ResourceRequirement] = []
        for reader in body.objects("resources", maxCount: 10) ?? [] {
            let resource = reader.id("resource", required: true, as: ResourceID.self)
            let quantity = reader.int("quantity", range: 1...1000) ?? 1
            reader.finish()
            if let resource { resources.append(ResourceRequirement(resource: resource, quantity: quantity)) }
        }
        let active = body.bool("active") ?? true
        let order = body.int("display_order", range: -1_000_000...1_000_000) ?? 0
        try body.validate()
        let branchID = try call.branch(branch)
        guard let names, let duration, let price else { throw APIError.validation([]) }
        let offering = Offering(id: id, branchID: branchID, category: category, names: names, descriptions: descriptions, durationMinutes: duration,
                                price: price, bufferBeforeMinutes: before, bufferAfterMinutes: after, slotStepMinutes: step, capacity: capacity,
                                resources: resources, isActive: active, displayOrder: order)
        try await call.shop.catalogue.save(offering, as: call.acting)
        let saved = try await call.shop.catalogue.offering(id)
        return .json(ServiceBody(saved), status: status, location: status == 201 ? "/v1/services/\(id)" : nil)
    }

    // MARK: Staff

    static func listStaff(_ call: Call) async throws -> Reply {
        let query = call.query()
        let named = query.id("branch", as: BranchID.self)
        let inactive = query.bool("include_inactive") ?? false
        try query.validate()
        let branch = try call.branch(named)
        let staff = try await call.shop.catalogue.staff(branch: branch, includeInactive: inactive)
        return .json(Page(items: staff.map(StaffBody.init), nextCursor: nil))
    }

    static func getStaff(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: StaffID.self)
        return .json(StaffBody(try await call.shop.catalogue.staffMember(id)))
    }

    static func createStaff(_ call: Call) async throws -> Reply {
        try await saveStaff(call, id: .generate(at: call.shop.now), status: 201)
    }

    static func replaceStaff(_ call: Call) async throws -> Reply {
        try await saveStaff(call, id: try call.id("id", as: StaffID.self), status: 200)
    }

    private static func saveStaff(_ call: Call, id: StaffID, status: Int) async throws -> Reply {
        let body = try call.bodyReader()
        let branch = body.id("branch", as: BranchID.self)
        let name = body.string("name", required: true, maxLength: 200, allowEmpty: false)
        let schedule = body.weeklyHours("schedule", required: true)
        let breaks = body.weeklyHours("breaks") ?? WeeklyHours()
        let active = body.bool("active") ?? true
        let order = body.int("display_order", range: -1_000_000...1_000_000) ?? 0
        try body.validate()
        let branchID = try call.branch(branch)
        guard let name, let schedule else { throw APIError.validation([]) }
        let member = StaffMember(id: id, branchID: branchID, name: name, schedule: schedule, breaks: breaks, isActive: active, displayOrder: order)
        try await call.shop.catalogue.save(member, as: call.acting)
        let saved = try await call.shop.catalogue.staffMember(id)
        return .json(StaffBody(saved), status: status, location: status == 201 ? "/v1/staff/\(id)" : nil)
    }

    static func listStaffServices(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: StaffID.self)
        try call.query().validate()
        let assignments = try await call.shop.catalogue.assignments(staff: id)
        return .json(Page(items: assignments.map(StaffServiceBody.init), nextCursor: nil))
    }

    static func assignService(_ call: Call) async throws -> Reply {
        let staff = try call.id("id", as: StaffID.self)
        let service = try call.id("service", as: OfferingID.self)
        var duration: Int?
        var price: Int64?
        if !call.body.isEmpty {
            let body = try call.bodyReader()
            duration = body.int("duration_minutes", range: 1...1440)
            price = body.integer("price_minor", range: 0...1_000_000_000_000)
            try body.validate()
        }
        let assignment = StaffOffering(staffID: staff, offeringID: service, durationMinutes: duration, priceMinor: price)
        try await call.shop.catalogue.assign(assignment, as: call.acting)
        return .json(StaffServiceBody(assignment))
    }

    static func unassignService(_ call: Call) async throws -> Reply {
        let staff = try call.id("id", as: StaffID.self)
        let service = try call.id("service", as: OfferingID.self)
        try await call.shop.catalogue.unassign(staff: staff, offering: service, as: call.acting)
        return .noContent
    }

    static func listStaffOverrides(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: StaffID.self)
        let query = call.query()
        let from = query.date("from")
        try query.validate()
        let overrides = try await call.shop.catalogue.overrides(staff: id, from: from ?? LocalDate(daysSinceEpoch: Int(call.shop.now.milliseconds / 86_400_000) - 1))
        return .json(Page(items: overrides.map(OverrideBody.init), nextCursor: nil))
    }

    static func setStaffOverride(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: StaffID.self)
        let override = try parseOverride(call)
        try await call.shop.catalogue.setOverride(override, staff: id, as: call.acting)
        return .json(OverrideBody(override))
    }

    static func removeStaffOverride(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: StaffID.self)
        let date = try call.pathDate("date")
        try await call.shop.catalogue.removeOverride(on: date, staff: id, as: call.acting)
        return .noContent
    }

    static func listTimeOff(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: StaffID.self)
        let query = call.query()
        let from = query.instant("from")
        try query.validate()
        let entries = try await call.shop.catalogue.timeOff(staff: id, from: from ?? call.shop.now)
        return .json(Page(items: entries.map { timeOffBody($0, call: call) }, nextCursor: nil))
    }

    static func timeOffBody(_ entry: TimeOff, call: Call) -> TimeOffBody {
        TimeOffBody(id: entry.id.rawValue, staff: entry.staffID.rawValue, start: call.zones.format(entry.range.start, branch: nil),
                    end: call.zones.format(entry.range.end, branch: nil), reason: entry.reason)
    }

    static func addTimeOff(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: StaffID.self)
        let body = try call.bodyReader()
        let start = body.instant("start", required: true)
        let end = body.instant("end", required: true)
        let reason = body.string("reason", maxLength: 500, multiline: true) ?? ""
        try body.validate()
        guard let start, let end else { throw APIError.validation([]) }
        guard start < end else { throw APIError.validation([FieldError(field: "end", message: "must be after start")]) }
        let entry = try await call.shop.catalogue.addTimeOff(staff: id, range: TimeRange(start: start, end: end), reason: reason, as: call.acting)
        return .json(timeOffBody(entry, call: call), status: 201)
    }

    static func removeTimeOff(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: TimeOffID.self)
        try await call.shop.catalogue.removeTimeOff(id, as: call.acting)
        return .noContent
    }

    // MARK: Resources

    static func listResources(_ call: Call) async throws -> Reply {
        let query = call.query()
        let named = query.id("branch", as: BranchID.self)
        let inactive = query.bool("include_inactive") ?? false
        try query.validate()
        let branch = try call.branch(named)
        let resources = try await call.shop.catalogue.resources(branch: branch, includeInactive: inactive)
        return .json(Page(items: resources.map(ResourceBody.init), nextCursor: nil))
    }

    static func getResource(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ResourceID.self)
        return .json(ResourceBody(try await call.shop.catalogue.resource(id)))
    }

    static func createResource(_ call: Call) async throws -> Reply {
        try await saveResource(call, id: .generate(at: call.shop.now), status: 201)
    }

    static func replaceResource(_ call: Call) async throws -> Reply {
        try await saveResource(call, id: try call.id("id", as: ResourceID.self), status: 200)
    }

    private static func saveResource(_ call: Call, id: ResourceID, status: Int) async throws -> Reply {
        let body = try call.bodyReader()
        let branch = body.id("branch", as: BranchID.self)
        let name = body.string("name", required: true, maxLength: 200, allowEmpty: false)
        let kind = body.string("kind", maxLength: 50) ?? "room"
        let units = body.int("units", range: 1...10_000) ?? 1
        let active = body.bool("active") ?? true
        try body.validate()
        let branchID = try call.branch(branch)
        guard let name else { throw APIError.validation([]) }
        let resource = Resource(id: id, branchID: branchID, name: name, kind: kind, units: units, isActive: active)
        try await call.shop.catalogue.save(resource, as: call.acting)
        let saved = try await call.shop.catalogue.resource(id)
        return .json(ResourceBody(saved), status: status, location: status == 201 ? "/v1/resources/\(id)" : nil)
    }
}
