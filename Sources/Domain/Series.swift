import Replication

extension Shop {
    /// Books a recurring series: the request's start repeated weekly, every two weeks or monthly
    /// (same local wall-clock time; monthly on the same day of the month), for `count`
    /// occurrences or until a local date. Each occurrence is an ordinary appointment, checked
    /// like any booking; the ones that cannot be booked are reported, not double-booked.
    package func bookSeries(_ request: BookingRequest, frequency: SeriesFrequency, count: Int? = nil, until: LocalDate? = nil) throws -> SeriesReport {
        guard (count == nil) != (until == nil) else { throw DomainError(.invalidArgument, "give either a number of occurrences or an end date") }
        if let count, !(1...104).contains(count) { throw DomainError(.invalidArgument, "a series has 1 to 104 occurrences") }
        guard !request.hold else { throw DomainError(.invalidArgument, "a series cannot be held") }
        return try write(.seriesCreate) { transaction in
            let branch = try Loader.branch(request.branchID, in: transaction)
            let zone = try ZoneRules.named(branch.timeZone)
            let firstDate = zone.localDate(of: request.start)
            let minutes = zone.localMinutes(of: request.start)
            if let until {
                guard until >= firstDate, until.daysSinceEpoch - firstDate.daysSinceEpoch <= 366 else {
                    throw DomainError(.invalidArgument, "the end date must be within a year after the first occurrence")
                }
            }
            let id = SeriesID.generate(at: now)
            try transaction.insert("series", [
                "id": .text(id.rawValue), "branch_id": .text(branch.id.rawValue), "client_id": .text(request.clientID?.rawValue ?? ""),
                "frequency": .text(frequency.rawValue), "occurrences": .int(count ?? 0), "until_date": .text(until?.description ?? ""),
                "created_at": .instant(now),
            ])
            var report = SeriesReport(seriesID: id, booked: [], failed: [])
            var index = 0
            occurrences: while index < (count ?? 104) {
                defer { index += 1 }
                let date: LocalDate
                switch frequency {
                case .weekly: date = firstDate.adding(days: 7 * index)
                case .everyTwoWeeks: date = firstDate.adding(days: 14 * index)
                case .monthly:
                    guard let monthly = firstDate.adding(months: index) else {
                        guard let approximate = LocalDate(year: firstDate.year + (firstDate.month - 1 + index) / 12, month: (firstDate.month - 1 + index) % 12 + 1, day: 1) else { break occurrences }
                        if let until, approximate > until { break occurrences }
                        report.failed.append((nil, approximate, DomainError(.notAvailable, "\(approximate.year)-\(twoDigits(approximate.month)) has no day \(firstDate.day)")))
                        continue
                    }
                    date = monthly
                }
                if let until, date > until { break occurrences }
                let resolution = zone.resolve(date, minutes: minutes)
                guard resolution.exists else {
                    report.failed.append((nil, date, DomainError(.notAvailable, "\(WallTime(minutes: minutes)!) does not exist on \(date) (clocks go forward)")))
                    continue
                }
                var occurrence = request
                occurrence.start = resolution.instant
                do {
                    let booking = try book(occurrence, seriesID: id, in: transaction)
                    report.booked.append(booking.appointment)
                    if let token = booking.trackingToken { report.trackingTokens[booking.appointment.id] = token }
                } catch let error as DomainError where error.code != .storage {
                    report.failed.append((resolution.instant, date, error))
                }
            }
            return report
        }
    }

    /// The occurrences of a series, by start.
    package func occurrences(of series: SeriesID) throws -> [Appointment] {
        try read { transaction in
            try transaction.fetchAll("SELECT \(Loader.appointmentColumns) FROM appointments WHERE series_id = ? ORDER BY starts_at, id",
                                 [.text(series.rawValue)]).map(Loader.appointment)
        }
    }

    /// Cancels every occurrence on or after a local date that can still be cancelled.
    /// - Returns: the cancelled appointments.
    @discardableResult
    package func cancelSeries(_ series: SeriesID, from date: LocalDate, by party: CancellingParty, reason: String, actor: String) throws -> [AppointmentID] {
        try write(.seriesCancel) { transaction in
            var cancelled: [AppointmentID] = []
            for appointment in try seriesOccurrences(series, from: date, in: transaction) where appointment.status.allowedNext.contains(.cancelled) {
                try changeStatus(appointment.id, to: .cancelled, actor: actor, reason: reason, cancelledBy: party, in: transaction)
                cancelled.append(appointment.id)
            }
            return cancelled
        }
    }

    /// Moves every occurrence on or after a local date to another wall-clock time of its day
    /// (and optionally a number of days later); occurrences that cannot move are reported.
    package func moveSeries(_ series: SeriesID, from date: LocalDate, to time: WallTime, shiftingDays days: Int = 0, actor: String) throws -> SeriesReport {
        guard (-31...31).contains(days) else { throw DomainError(.invalidArgument, "shift by at most 31 days") }
        return try write(.seriesMove) { transaction in
            var report = SeriesReport(seriesID: series, booked: [], failed: [])
            for appointment in try seriesOccurrences(series, from: date, in: transaction) where [.held, .requested, .confirmed].contains(appointment.status) {
                let zone = try ZoneRules.named(try Loader.branch(appointment.branchID, in: transaction).timeZone)
                let target = zone.localDate(of: appointment.start).adding(days: days)
                let resolution = zone.resolve(target, minutes: time.minutes)
                guard resolution.exists else {
                    report.failed.append((nil, target, DomainError(.notAvailable, "\(time) does not exist on \(target) (clocks go forward)")))
                    continue
                }
                do {
                    try reschedule(appointment.id, to: resolution.instant, staff: nil, actor: actor, in: transaction)
                    report.booked.append(try Loader.appointment(appointment.id, in: transaction))
                } catch let error as DomainError where error.code != .storage {
                    report.failed.append((resolution.instant, target, error))
                }
            }
            return report
        }
    }

    private func seriesOccurrences(_ series: SeriesID, from date: LocalDate, in transaction: WriteTransaction) throws -> [Appointment] {
        let rows = try transaction.fetchAll("SELECT \(Loader.appointmentColumns) FROM appointments WHERE series_id = ? ORDER BY starts_at, id", [.text(series.rawValue)])
        guard !rows.isEmpty else { throw DomainError(.notFound, "no series \(series)") }
        var result: [Appointment] = []
        for row in rows {
            let appointment = try Loader.appointment(row)
            let zone = try ZoneRules.named(try Loader.branch(appointment.branchID, in: transaction).timeZone)
            if zone.localDate(of: appointment.start) >= date { result.append(appointment) }
        }
        return result
    }
}
