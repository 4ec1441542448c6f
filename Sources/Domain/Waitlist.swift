import Replication

extension Shop {
    /// Puts a client on the waitlist for an offering (optionally with one staff member) between two local dates.
    @discardableResult
    package func joinWaitlist(client: ClientID, branch: BranchID, offering: OfferingID, staff: StaffID? = nil,
                             from: LocalDate, to: LocalDate) throws -> WaitlistEntry {
        guard from <= to, to.daysSinceEpoch - from.daysSinceEpoch <= 366 else {
            throw DomainError(.invalidArgument, "the date range must run forwards and span at most a year")
        }
        return try write(.waitlistJoin) { transaction in
            _ = try Loader.client(client, in: transaction)
            _ = try Loader.branch(branch, in: transaction)
            let service = try Loader.offering(offering, in: transaction)
            guard service.branchID == branch else { throw DomainError(.invalidArgument, "offering \(offering) belongs to another branch") }
            if let staff { _ = try Loader.staff(staff, in: transaction) }
            let entry = WaitlistEntry(id: .generate(at: now), branchID: branch, clientID: client, offeringID: offering, staffID: staff,
                                      fromDate: from, toDate: to, createdAt: now, status: .waiting, offeredStart: nil, offeredStaffID: nil)
            try transaction.insert("waitlist", [
                "id": .text(entry.id.rawValue), "branch_id": .text(branch.rawValue), "client_id": .text(client.rawValue),
                "offering_id": .text(offering.rawValue), "staff_id": .text(staff?.rawValue ?? ""), "from_date": .text(from.description),
                "to_date": .text(to.description), "created_at": .instant(now), "status": .text(WaitlistStatus.waiting.rawValue),
            ])
            return entry
        }
    }

    /// A branch's waitlist, oldest entry first.
    package func waitlist(branch: BranchID) throws -> [WaitlistEntry] {
        try read { transaction in
            try transaction.fetchAll("SELECT id FROM waitlist WHERE branch_id = ? ORDER BY created_at, id", [.text(branch.rawValue)])
                .compactMap { WaitlistEntryID($0["id"].string) }.map { try Loader.waitlistEntry($0, in: transaction) }
        }
    }

    package func waitlistEntry(_ id: WaitlistEntryID) throws -> WaitlistEntry {
        try read { try Loader.waitlistEntry(id, in: $0) }
    }

    /// Books the time offered to a waitlist entry.
    package func acceptWaitlistOffer(_ id: WaitlistEntryID, actor: String) throws -> Booking {
        try write(.waitlistAcceptOffer) { transaction in
            let entry = try Loader.waitlistEntry(id, in: transaction)
            guard entry.status == .offered, let start = entry.offeredStart else { throw DomainError(.illegalTransition, "entry \(id) has no open offer") }
            let booking = try book(BookingRequest(branchID: entry.branchID, parts: [VisitPart(offeringID: entry.offeringID, staffID: entry.offeredStaffID ?? entry.staffID)],
                                                  start: start, clientID: entry.clientID, source: .phone, actor: actor), seriesID: nil, in: transaction)
            try transaction.update("waitlist", key: .text(id.rawValue), ["status": .text(WaitlistStatus.booked.rawValue)])
            return booking
        }
    }

    /// Declines an offer: the entry waits again and the time is offered to the next entry in line.
    package func declineWaitlistOffer(_ id: WaitlistEntryID) throws {
        try write(.waitlistDeclineOffer) { transaction in
            let entry = try Loader.waitlistEntry(id, in: transaction)
            guard entry.status == .offered, let start = entry.offeredStart else { throw DomainError(.illegalTransition, "entry \(id) has no open offer") }
            try transaction.update("waitlist", key: .text(id.rawValue), ["status": .text(WaitlistStatus.waiting.rawValue), "offered_start": .integer(0),
                                                                         "offered_staff": .text(""), "offered_at": .integer(0)])
            try offer(branch: entry.branchID, offering: entry.offeringID, staff: entry.offeredStaffID, start: start, skipping: [id], in: transaction)
        }
    }

    package func leaveWaitlist(_ id: WaitlistEntryID) throws {
        try write(.waitlistLeave) { transaction in
            _ = try Loader.waitlistEntry(id, in: transaction)
            try transaction.update("waitlist", key: .text(id.rawValue), ["status": .text(WaitlistStatus.withdrawn.rawValue)])
        }
    }

    /// When an appointment stops occupying its time, each of its services is offered to the
    /// first waiting entry (oldest first) that wants that service on that date (and that staff
    /// member, if it named one) and for which the time is bookable now.
    func offerFreedTime(of appointment: Appointment, in transaction: WriteTransaction) throws {
        for item in appointment.items {
            try offer(branch: appointment.branchID, offering: item.offeringID, staff: item.staffID, start: item.start, skipping: [], in: transaction)
        }
    }

    private func offer(branch branchID: BranchID, offering: OfferingID, staff: StaffID?, start: Instant, skipping: Set<WaitlistEntryID>,
                       in transaction: WriteTransaction) throws {
        let branch = try Loader.branch(branchID, in: transaction)
        let zone = try ZoneRules.named(branch.timeZone)
        let date = zone.localDate(of: start).description
        let entries = try transaction.fetchAll("""
            SELECT id, staff_id FROM waitlist WHERE branch_id = ? AND offering_id = ? AND status = 'waiting' AND from_date <= ? AND to_date >= ?
            ORDER BY created_at, id
            """, [.text(branchID.rawValue), .text(offering.rawValue), .text(date), .text(date)])
        for row in entries {
            guard let id = WaitlistEntryID(row["id"].string), !skipping.contains(id) else { continue }
            let wanted = StaffID(row["staff_id"].string)
            if let wanted, let staff, wanted != staff { continue }
            var engine = try AvailabilityEngine(context: transaction, branch: branch, now: now)
            guard let slot = try engine.slot(for: [VisitPart(offeringID: offering, staffID: wanted ?? staff)], at: start) else { continue }
            try transaction.update("waitlist", key: .text(id.rawValue), [
                "status": .text(WaitlistStatus.offered.rawValue), "offered_start": .instant(start),
                "offered_staff": .text(slot.items[0].staffID.rawValue), "offered_at": .instant(now),
            ])
            return
        }
    }
}

extension Loader {
    static func waitlistEntry(_ id: WaitlistEntryID, in context: some QueryContext) throws -> WaitlistEntry {
        guard let row = try context.fetchOne("""
            SELECT branch_id, client_id, offering_id, staff_id, from_date, to_date, created_at, status, offered_start, offered_staff
            FROM waitlist WHERE id = ?
            """, [.text(id.rawValue)]), let branch = BranchID(row["branch_id"].string), let client = ClientID(row["client_id"].string),
              let offering = OfferingID(row["offering_id"].string), let from = LocalDate(row["from_date"].string), let to = LocalDate(row["to_date"].string) else {
            throw DomainError(.notFound, "no waitlist entry \(id)")
        }
        return WaitlistEntry(id: id, branchID: branch, clientID: client, offeringID: offering, staffID: StaffID(row["staff_id"].string),
                             fromDate: from, toDate: to, createdAt: Instant(milliseconds: row["created_at"].int64),
                             status: WaitlistStatus(rawValue: row["status"].string) ?? .waiting,
                             offeredStart: row["offered_start"].int64 == 0 ? nil : Instant(milliseconds: row["offered_start"].int64), offeredStaffID: StaffID(row["offered_staff"].string))
    }
}
