import Replication

/// Booked against available minutes (docs/reports.md, "Utilisation"), computed once for the
/// utilisation report, the staff report and the dashboard.
enum UtilisationFacts {
    /// Statuses whose time is booked: a no-show's time was reserved too.
    static let bookedStatuses = "('requested', 'confirmed', 'checked_in', 'completed', 'no_show')"

    struct Result {
        var staff: [UtilisationRow]
        var resources: [UtilisationRow]
        /// Staff milliseconds per local date and per local hour.
        var dayAvailable: [LocalDate: Int64] = [:]
        var dayBooked: [LocalDate: Int64] = [:]
        var hourAvailable = [Int64](repeating: 0, count: 24)
        var hourBooked = [Int64](repeating: 0, count: 24)
    }

    static func compute(_ scope: ReportScope, in context: some QueryContext) throws -> Result {
        var staffRows: [String: (row: UtilisationRow, available: Int64, booked: Int64)] = [:]
        var resourceRows: [String: (row: UtilisationRow, available: Int64, booked: Int64)] = [:]
        var result = Result(staff: [], resources: [])
        for info in scope.branches {
            let branchID = info.branch.id
            let period = TimeRange(start: info.start, end: info.end)
            var engine = try AvailabilityEngine(context: context, branch: info.branch, now: info.start)
            let dates = (from: SQLValue.text(scope.query.from.description), to: SQLValue.text(scope.query.to.description))
            // Days on which the branch's hours are its own (no override) and the clocks do not change:
            // on them a staff member's working time depends on the weekday only, so it is computed
            // (by the booking rules) once per weekday and reused; every other day is computed on its own.
            let branchOverrides = Set(try context.fetchAll("SELECT date FROM branch_overrides WHERE branch_id = ? AND date BETWEEN ? AND ?",
                                                           [.text(branchID.rawValue), dates.from, dates.to]).map { $0["date"].string })
            let ordinary = Set(scope.dates.filter { date in
                !branchOverrides.contains(date.description)
                    && info.zone.startOfDay(date.adding(days: 1)).milliseconds - info.zone.startOfDay(date).milliseconds == ReportScope.dayMilliseconds
            })
            // Available: each active staff member's working time per local day.
            for member in try context.fetchAll("SELECT id, name FROM staff WHERE branch_id = ? AND active = 1 ORDER BY display_order, name, id", [.text(branchID.rawValue)]) {
                let id = member["id"].string
                guard let staffID = StaffID(id) else { continue }
                var own = Set(try context.fetchAll("SELECT date FROM staff_overrides WHERE staff_id = ? AND date BETWEEN ? AND ?",
                                                   [.text(id), dates.from, dates.to]).map { $0["date"].string })
                for off in try context.fetchAll("SELECT starts_at, ends_at FROM staff_time_off WHERE staff_id = ? AND ends_at > ? AND starts_at < ?",
                                                [.text(id), .instant(period.start), .instant(period.end)]) {
                    var day = info.zone.localDate(of: Instant(milliseconds: max(off["starts_at"].int64, period.start.milliseconds)))
                    let last = info.zone.localDate(of: Instant(milliseconds: min(off["ends_at"].int64, period.end.milliseconds) - 1))
                    while day <= last { own.insert(day.description); day = day.adding(days: 1) }
                }
                var byWeekday: [Weekday: [(hour: Int, ms: Int64)]] = [:]
                var available: Int64 = 0
                for date in scope.dates {
                    let reusable = ordinary.contains(date) && !own.contains(date.description)
                    var pieces: [(hour: Int, ms: Int64)]
                    if reusable, let known = byWeekday[date.weekday] {
                        pieces = known
                    } else {
                        pieces = []
                        for range in try engine.workingTime(staff: staffID, date: date).ranges {
                            split(range, clippedTo: period, zone: info.zone) { _, hour, ms in pieces.append((hour, ms)) }
                        }
                        if reusable { byWeekday[date.weekday] = pieces }
                    }
                    for piece in pieces {
                        result.dayAvailable[date, default: 0] += piece.ms
                        result.hourAvailable[piece.hour] += piece.ms
                        available += piece.ms
                    }
                }
                staffRows[id] = (UtilisationRow(id: id, name: member["name"].string, branchID: branchID, availableMinutes: 0, bookedMinutes: 0), available, 0)
            }
            // Available: each active resource's units × the branch's hours.
            var branchHours: [LocalDate: RangeSet] = [:]
            for date in scope.dates {
                let override = branchOverrides.contains(date.description) ? try context.fetchOne("SELECT intervals FROM branch_overrides WHERE id = ? AND active = 1",
                                                    [.text(derivedKey("branch-override", branchID.rawValue, date.description))]) : nil
                let intervals = override.map { JSONColumn.decode([WallInterval].self, $0["intervals"], default: []) } ?? info.branch.openingHours[date.weekday]
                branchHours[date] = engine.ranges(intervals, on: date)
            }
            for resource in try context.fetchAll("SELECT id, name, units FROM resources WHERE branch_id = ? AND active = 1 ORDER BY name, id", [.text(branchID.rawValue)]) {
                let units = Int64(max(1, resource["units"].int))
                var available: Int64 = 0
                for date in scope.dates {
                    for range in branchHours[date]?.ranges ?? [] { available += units * split(range, clippedTo: period, zone: info.zone) { _, _, _ in } }
                }
                resourceRows[resource["id"].string] = (UtilisationRow(id: resource["id"].string, name: resource["name"].string, branchID: branchID,
                                                                      availableMinutes: 0, bookedMinutes: 0), available, 0)
            }
            if scope.rollups {
                // Booked, from the rollups: each session's time once, by local day (and hour).
                let days = [SQLValue.text(branchID.rawValue)] + scope.dayBounds
                for row in try context.fetchAll("""
                    SELECT kind, subject, sum(ms) AS ms FROM local_report_booked_days WHERE branch_id = ? AND day BETWEEN ? AND ? AND n != 0
                    GROUP BY kind, subject
                    """, days) {
                    let id = row["subject"].string, ms = row["ms"].int64
                    if row["kind"].string == "staff" {
                        if staffRows[id] == nil {
                            let name = try context.fetchOne("SELECT name FROM staff WHERE id = ?", [.text(id)])?["name"].string ?? ""
                            staffRows[id] = (UtilisationRow(id: id, name: name, branchID: branchID, availableMinutes: 0, bookedMinutes: 0), 0, 0)
                        }
                        staffRows[id]?.booked += ms
                    } else {
                        if resourceRows[id] == nil {
                            let name = try context.fetchOne("SELECT name FROM resources WHERE id = ?", [.text(id)])?["name"].string ?? ""
                            resourceRows[id] = (UtilisationRow(id: id, name: name, branchID: branchID, availableMinutes: 0, bookedMinutes: 0), 0, 0)
                        }
                        resourceRows[id]?.booked += ms
                    }
                }
                for row in try context.fetchAll("""
                    SELECT day, hour, sum(ms) AS ms FROM local_report_booked_hours WHERE branch_id = ? AND day BETWEEN ? AND ? AND n != 0 GROUP BY day, hour
                    """, days) {
                    result.dayBooked[LocalDate(daysSinceEpoch: row["day"].int), default: 0] += row["ms"].int64
                    result.hourBooked[row["hour"].int] += row["ms"].int64
                }
                continue
            }
            // Booked: the items of the branch's booked appointments, a group session once.
            var sessions = Set<String>()
            var resourceSessions: [String: Int64] = [:]
            for item in try context.fetchAll("""
                SELECT a.id AS appointment, i.staff_id AS staff, i.offering_id AS offering, i.item_start AS start, i.item_end AS end,
                       i.capacity AS capacity, i.resources AS resources
                FROM appointments a JOIN local_appointment_items i ON i.appointment_id = a.id
                WHERE a.branch_id = ? AND a.starts_at >= ? AND a.starts_at < ? AND a.status IN \(bookedStatuses)
                """, [.text(branchID.rawValue), .integer(info.start.milliseconds - ReportScope.dayMilliseconds), .integer(info.end.milliseconds)]) {
                let range = TimeRange(start: Instant(milliseconds: item["start"].int64), end: Instant(milliseconds: item["end"].int64))
                let staff = item["staff"].string
                let session = item["capacity"].int > 1 ? "\(staff)/\(item["offering"].string)/\(range.start.milliseconds)" : "\(staff)/\(item["appointment"].string)/\(range.start.milliseconds)"
                if sessions.insert(session).inserted {
                    let booked = split(range, clippedTo: period, zone: info.zone) { day, hour, ms in
                        result.dayBooked[day, default: 0] += ms
                        result.hourBooked[hour] += ms
                    }
                    if staffRows[staff] == nil {
                        let name = try context.fetchOne("SELECT name FROM staff WHERE id = ?", [.text(staff)])?["name"].string ?? ""
                        staffRows[staff] = (UtilisationRow(id: staff, name: name, branchID: branchID, availableMinutes: 0, bookedMinutes: 0), 0, 0)
                    }
                    staffRows[staff]?.booked += booked
                }
                for requirement in JSONColumn.decode([ResourceRequirement].self, item["resources"], default: []) {
                    let key = item["capacity"].int > 1 ? "\(requirement.resource.rawValue)/\(item["offering"].string)/\(range.start.milliseconds)"
                                                       : "\(requirement.resource.rawValue)/\(item["appointment"].string)/\(range.start.milliseconds)"
                    let ms = split(range, clippedTo: period, zone: info.zone) { _, _, _ in } * Int64(max(1, requirement.quantity))
                    let previous = resourceSessions[key] ?? 0
                    if ms > previous {
                        resourceSessions[key] = ms
                        if resourceRows[requirement.resource.rawValue] == nil {
                            let name = try context.fetchOne("SELECT name FROM resources WHERE id = ?", [.text(requirement.resource.rawValue)])?["name"].string ?? ""
                            resourceRows[requirement.resource.rawValue] = (UtilisationRow(id: requirement.resource.rawValue, name: name, branchID: branchID,
                                                                                          availableMinutes: 0, bookedMinutes: 0), 0, 0)
                        }
                        resourceRows[requirement.resource.rawValue]?.booked += ms - previous
                    }
                }
            }
        }
        func rows(_ entries: [String: (row: UtilisationRow, available: Int64, booked: Int64)]) -> [UtilisationRow] {
            entries.values.map { entry in
                var row = entry.row
                row.availableMinutes = Int(entry.available / 60_000)
                row.bookedMinutes = Int(entry.booked / 60_000)
                return row
            }.sorted { ($0.branchID.rawValue, $0.name, $0.id) < ($1.branchID.rawValue, $1.name, $1.id) }
        }
        result.staff = rows(staffRows)
        result.resources = rows(resourceRows)
        return result
    }

    /// Calls `body(local date, local hour, milliseconds)` for each piece of `range` ∩ `period`
    /// within one local wall-clock hour; returns the milliseconds in `period`.
    @discardableResult
    static func split(_ range: TimeRange, clippedTo period: TimeRange, zone: ZoneRules, _ body: (LocalDate, Int, Int64) -> Void) -> Int64 {
        var t = max(range.start, period.start).milliseconds
        let end = min(range.end, period.end).milliseconds
        guard t < end else { return 0 }
        func offset(_ t: Int64) -> Int64 { Int64(zone.offsetSeconds(at: Instant(milliseconds: t))) * 1000 }
        var total: Int64 = 0
        while t < end {
            let off = offset(t)
            let local = t + off
            // Clocks change on a whole hour of the offset they leave (London at 01:00 UTC, Lord Howe's
            // half hour at 02:00 local), so a piece that ends at the next local hour boundary has one offset.
            let pieceEnd = min(end, t + (3_600_000 - local.floorModulo(3_600_000)))
            body(LocalDate(daysSinceEpoch: Int(local.floorDivided(by: ReportScope.dayMilliseconds))), Int(local.floorModulo(ReportScope.dayMilliseconds) / 3_600_000),
                 pieceEnd - t)
            total += pieceEnd - t
            t = pieceEnd
        }
        return total
    }
}

enum UtilisationReportBuilder {
    static func figures(_ scope: ReportScope, in context: some QueryContext) throws -> UtilisationFigures {
        let facts = try UtilisationFacts.compute(scope, in: context)
        let seg = scope.segmentTable, range = scope.rollupRange
        var bookingsHeat = [[Int]](repeating: [Int](repeating: 0, count: 24), count: 7)
        let heatRows = scope.rollups ? try context.fetchAll("""
            SELECT (day + 3) % 7 AS weekday, hour, sum(n) AS n FROM local_report_visit_hours WHERE \(range.sql) GROUP BY weekday, hour
            """, range.arguments) : try context.fetchAll("""
            WITH \(seg.sql)
            SELECT \(ReportScope.localWeekdayIndex("a.starts_at")) AS weekday, \(ReportScope.localHour("a.starts_at")) AS hour, count(*) AS n
            FROM seg JOIN appointments a ON a.branch_id = seg.branch_id AND a.starts_at >= seg.s AND a.starts_at < seg.e
            WHERE a.status NOT IN \(BookingFacts.notBookings)
            GROUP BY weekday, hour
            """, seg.arguments)
        for row in heatRows {
            bookingsHeat[row["weekday"].int][row["hour"].int] += row["n"].int
        }
        var revenueHeat: [String: [[Int64]]] = [:]
        let revenueRows = scope.rollups ? try context.fetchAll("""
            SELECT currency, (day + 3) % 7 AS weekday, hour, sum(amount_minor) AS amount FROM local_report_payment_hours
            WHERE \(range.sql) AND kind = 'payment' GROUP BY currency, weekday, hour
            """, range.arguments) : try context.fetchAll("""
            WITH \(seg.sql)
            SELECT s.currency AS currency, \(ReportScope.localWeekdayIndex("p.created_at")) AS weekday, \(ReportScope.localHour("p.created_at")) AS hour,
                   sum(p.amount_minor) AS amount
            FROM \(ReportScope.paymentsInPeriod)
            WHERE p.created_at >= ? AND p.created_at < ? AND p.counts = 1 AND p.kind = 'payment'
            GROUP BY currency, weekday, hour
            """, seg.arguments + scope.bounds)
        for row in revenueRows {
            revenueHeat[row["currency"].string, default: [[Int64]](repeating: [Int64](repeating: 0, count: 24), count: 7)][row["weekday"].int][row["hour"].int] += row["amount"].int64
        }
        var byDay: [LocalDate: MinutesBucket] = [:]
        for date in Set(facts.dayAvailable.keys).union(facts.dayBooked.keys) {
            byDay[date] = MinutesBucket(availableMinutes: Int((facts.dayAvailable[date] ?? 0) / 60_000), bookedMinutes: Int((facts.dayBooked[date] ?? 0) / 60_000))
        }
        let byHour = (0..<24).map { MinutesBucket(availableMinutes: Int(facts.hourAvailable[$0] / 60_000), bookedMinutes: Int(facts.hourBooked[$0] / 60_000)) }
        return UtilisationFigures(staff: facts.staff, resources: facts.resources, byDay: byDay, byHour: byHour,
                                  availableMinutes: facts.staff.reduce(0) { $0 + $1.availableMinutes },
                                  bookedMinutes: facts.staff.reduce(0) { $0 + $1.bookedMinutes },
                                  bookingsHeat: bookingsHeat, revenueHeat: revenueHeat)
    }
}
