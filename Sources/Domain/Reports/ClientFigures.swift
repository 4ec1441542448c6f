import Replication

/// Client figures (docs/reports.md, "Clients"): visits are completed appointments of a client
/// record (guests without one are not clients); a merged client's visits count for the client it
/// was merged into.
enum ClientsReportBuilder {
    /// The client an appointment `a` counts for.
    static let clientKey = "coalesce(nullif((SELECT c.merged_into FROM clients c WHERE c.id = a.client_id), ''), a.client_id)"

    static func figures(_ scope: ReportScope, now: Instant, notSeenForDays: Int, in context: some QueryContext) throws -> ClientsFigures {
        if scope.rollups { return try fromRollups(scope, now: now, notSeenForDays: notSeenForDays, in: context) }
        let seg = scope.segmentTable
        let branches = scope.branchList
        // Each visiting client's visits in the period and first visit in it.
        var visits: [String: (count: Int, first: Int64)] = [:]
        for row in try context.fetchAll("""
            WITH \(seg.sql)
            SELECT \(clientKey) AS client, count(*) AS n, min(a.starts_at) AS first
            FROM seg JOIN appointments a ON a.branch_id = seg.branch_id AND a.starts_at >= seg.s AND a.starts_at < seg.e
            WHERE a.status = 'completed' AND a.client_id != ''
            GROUP BY client
            """, seg.arguments) {
            visits[row["client"].string] = (row["n"].int, row["first"].int64)
        }
        // First completed visit ever (any branch) and every completed visit's start, per visiting client.
        var history: [String: [Int64]] = [:]
        for row in try context.fetchAll("""
            SELECT \(clientKey) AS client, a.starts_at AS start FROM appointments a
            WHERE a.status = 'completed' AND a.client_id != '' ORDER BY a.starts_at
            """, []) where visits[row["client"].string] != nil {
            history[row["client"].string, default: []].append(row["start"].int64)
        }
        var new = 0
        var retention = [30, 60, 90].map { ClientsFigures.Retention(days: $0, eligible: 0, returned: 0) }
        var frequency: [String: Int] = [:]
        for (client, visit) in visits {
            let starts = history[client] ?? []
            if let first = starts.first, first >= visit.first { new += 1 }
            for index in retention.indices {
                let window = Int64(retention[index].days) * ReportScope.dayMilliseconds
                guard visit.first + window <= now.milliseconds else { continue }
                retention[index].eligible += 1
                if starts.contains(where: { $0 > visit.first && $0 <= visit.first + window }) { retention[index].returned += 1 }
            }
            let bucket = switch visit.count { case 1: "1"; case 2: "2"; case 3: "3"; case 4, 5: "4-5"; default: "6+" }
            frequency[bucket, default: 0] += 1
        }
        // Lifetime value: net paid on the client's sales, all time, per currency.
        var lifetime: [String: [Int64]] = [:]
        for row in try context.fetchAll("""
            SELECT coalesce(nullif((SELECT c.merged_into FROM clients c WHERE c.id = s.client_id), ''), s.client_id) AS client, s.currency AS currency,
                   sum(CASE WHEN p.kind = 'refund' THEN -p.amount_minor ELSE p.amount_minor END) AS net
            FROM sales s JOIN local_payment_state p ON p.sale_id = s.id
            WHERE s.client_id != '' AND p.counts = 1 AND p.kind IN ('payment', 'refund')
            GROUP BY client, currency
            """, []) where visits[row["client"].string] != nil {
            lifetime[row["currency"].string, default: []].append(row["net"].int64)
        }
        let values = lifetime.keys.sorted().map { currency -> ClientsFigures.LifetimeValue in
            let sorted = lifetime[currency]!.sorted()
            func rank(_ percent: Int) -> Int64 { sorted[max(0, (percent * sorted.count + 99) / 100 - 1)] }
            return ClientsFigures.LifetimeValue(currency: currency, clients: sorted.count, totalMinor: sorted.reduce(0, +), minimumMinor: sorted[0],
                                                p25Minor: rank(25), medianMinor: rank(50), p75Minor: rank(75), p90Minor: rank(90), maximumMinor: sorted[sorted.count - 1])
        }
        // Top clients: net paid in the period (payments and refunds made in it).
        var top: [ClientRow] = []
        for row in try context.fetchAll("""
            WITH \(seg.sql)
            SELECT coalesce(nullif((SELECT c.merged_into FROM clients c WHERE c.id = s.client_id), ''), s.client_id) AS client, s.currency AS currency,
                   sum(CASE WHEN p.kind = 'refund' THEN -p.amount_minor ELSE p.amount_minor END) AS net
            FROM \(ReportScope.paymentsInPeriod)
            WHERE p.created_at >= ? AND p.created_at < ? AND s.client_id != '' AND p.counts = 1 AND p.kind IN ('payment', 'refund')
            GROUP BY client, currency
            """, seg.arguments + scope.bounds) {
            guard let id = ClientID(row["client"].string) else { continue }
            top.append(ClientRow(clientID: id, name: "", phone: "", visits: visits[id.rawValue]?.count ?? 0, lastVisit: nil,
                                 amountMinor: row["net"].int64, currency: row["currency"].string))
        }
        top = try topClients(top, in: context)
        // Not seen: last completed visit in these branches more than N days ago.
        let cutoff = now.milliseconds - Int64(notSeenForDays) * ReportScope.dayMilliseconds
        let notSeen = try context.fetchAll("""
            SELECT v.client AS client, v.n AS n, v.last AS last, c.name AS name, c.phone AS phone FROM (
                SELECT \(clientKey) AS client, count(*) AS n, max(a.starts_at) AS last FROM appointments a
                WHERE a.status = 'completed' AND a.client_id != '' AND a.branch_id IN \(branches.sql)
                GROUP BY client) v
            JOIN clients c ON c.id = v.client
            WHERE v.last < ? ORDER BY v.last DESC, v.client LIMIT 500
            """, branches.arguments + [.integer(cutoff)]).compactMap { row -> ClientRow? in
            guard let id = ClientID(row["client"].string) else { return nil }
            return ClientRow(clientID: id, name: row["name"].string, phone: row["phone"].string, visits: row["n"].int,
                             lastVisit: Instant(milliseconds: row["last"].int64), amountMinor: 0, currency: "")
        }
        return ClientsFigures(visiting: visits.count, new: new, returning: visits.count - new, retention: retention, frequency: frequency,
                              lifetimeValue: values, topClients: top, notSeen: notSeen, notSeenForDays: notSeenForDays)
    }
}

extension ClientsReportBuilder {
    /// The top clients of each currency (at most 20, by net paid, then id), with their names and phones.
    static func topClients(_ rows: [ClientRow], in context: some QueryContext) throws -> [ClientRow] {
        var top = Dictionary(grouping: rows, by: \.currency).keys.sorted().flatMap { currency in
            rows.filter { $0.currency == currency }.sorted { ($1.amountMinor, $0.clientID.rawValue) < ($0.amountMinor, $1.clientID.rawValue) }.prefix(20)
        }
        for index in top.indices {
            if let client = try context.fetchOne("SELECT name, phone FROM clients WHERE id = ?", [.text(top[index].clientID.rawValue)]) {
                top[index].name = client["name"].string
                top[index].phone = client["phone"].string
            }
        }
        return top
    }

    /// The same figures from `local_report_client_visits` (each completed visit by the client it
    /// counts as), the per client × branch counts, and the payments memo by client: per client
    /// and branch, index range scans instead of passes over every visit and payment.
    static func fromRollups(_ scope: ReportScope, now: Instant, notSeenForDays: Int, in context: some QueryContext) throws -> ClientsFigures {
        let branches = scope.branchList
        var visits: [String: (count: Int, first: Int64)] = [:]
        var seen: [String: (count: Int, last: Int64)] = [:]
        for pair in try context.fetchAll("""
            SELECT client, branch_id, n FROM local_report_client_branches WHERE branch_id IN \(branches.sql) AND n != 0
            """, branches.arguments) {
            let client = pair["client"].string, branch = pair["branch_id"].string
            guard let info = scope.info(branch) else { continue }
            guard let row = try context.fetchOne("""
                SELECT count(*) AS n, min(start) AS first,
                       (SELECT max(start) FROM local_report_client_visits WHERE client = ?1 AND branch_id = ?2) AS last
                FROM local_report_client_visits WHERE client = ?1 AND branch_id = ?2 AND start >= ?3 AND start < ?4
                """, [.text(client), .text(branch), .instant(info.start), .instant(info.end)]) else { continue }
            if row["n"].int > 0 {
                let earlier = visits[client]
                visits[client] = ((earlier?.count ?? 0) + row["n"].int, min(earlier?.first ?? Int64.max, row["first"].int64))
            }
            let last = row["last"].int64
            let earlier = seen[client]
            seen[client] = ((earlier?.count ?? 0) + pair["n"].int, max(earlier?.last ?? Int64.min, last))
        }
        var new = 0
        var retention = [30, 60, 90].map { ClientsFigures.Retention(days: $0, eligible: 0, returned: 0) }
        var frequency: [String: Int] = [:]
        for (client, visit) in visits {
            // The first visit ever, and whether another came within each window (index seeks, one statement).
            let windows = retention.map { Int64($0.days) * ReportScope.dayMilliseconds }
            guard let found = try context.fetchOne("""
                SELECT (SELECT min(start) FROM local_report_client_visits WHERE client = ?1) AS first,
                       EXISTS (SELECT 1 FROM local_report_client_visits WHERE client = ?1 AND start > ?2 AND start <= ?2 + ?3) AS r0,
                       EXISTS (SELECT 1 FROM local_report_client_visits WHERE client = ?1 AND start > ?2 AND start <= ?2 + ?4) AS r1,
                       EXISTS (SELECT 1 FROM local_report_client_visits WHERE client = ?1 AND start > ?2 AND start <= ?2 + ?5) AS r2
                """, [.text(client), .integer(visit.first), .integer(windows[0]), .integer(windows[1]), .integer(windows[2])]) else { continue }
            if found["first"] != .null, found["first"].int64 >= visit.first { new += 1 }
            for index in retention.indices {
                guard visit.first + windows[index] <= now.milliseconds else { continue }
                retention[index].eligible += 1
                if found["r\(index)"].bool { retention[index].returned += 1 }
            }
            let bucket = switch visit.count { case 1: "1"; case 2: "2"; case 3: "3"; case 4, 5: "4-5"; default: "6+" }
            frequency[bucket, default: 0] += 1
        }
        var lifetime: [String: [Int64]] = [:]
        for row in try context.fetchAll("SELECT client, currency, net FROM local_report_client_money WHERE n != 0", []) where visits[row["client"].string] != nil {
            lifetime[row["currency"].string, default: []].append(row["net"].int64)
        }
        let values = lifetime.keys.sorted().map { currency -> ClientsFigures.LifetimeValue in
            let sorted = lifetime[currency]!.sorted()
            func rank(_ percent: Int) -> Int64 { sorted[max(0, (percent * sorted.count + 99) / 100 - 1)] }
            return ClientsFigures.LifetimeValue(currency: currency, clients: sorted.count, totalMinor: sorted.reduce(0, +), minimumMinor: sorted[0],
                                                p25Minor: rank(25), medianMinor: rank(50), p75Minor: rank(75), p90Minor: rank(90), maximumMinor: sorted[sorted.count - 1])
        }
        var paid: [String: [String: Int64]] = [:]
        for pair in try context.fetchAll("""
            SELECT client, branch_id FROM local_report_client_payers WHERE branch_id IN \(branches.sql) AND n != 0
            """, branches.arguments) {
            let client = pair["client"].string, branch = pair["branch_id"].string
            guard let info = scope.info(branch) else { continue }
            for row in try context.fetchAll("""
                SELECT currency, sum(CASE WHEN kind = 'refund' THEN -amount_minor ELSE amount_minor END) AS net FROM local_report_payments
                WHERE client = ? AND branch_id = ? AND created_at >= ? AND created_at < ? GROUP BY currency
                """, [.text(client), .text(branch), .instant(info.start), .instant(info.end)]) {
                paid[client, default: [:]][row["currency"].string, default: 0] += row["net"].int64
            }
        }
        var top: [ClientRow] = []
        for (client, byCurrency) in paid {
            guard let id = ClientID(client) else { continue }
            for (currency, net) in byCurrency {
                top.append(ClientRow(clientID: id, name: "", phone: "", visits: visits[client]?.count ?? 0, lastVisit: nil, amountMinor: net, currency: currency))
            }
        }
        top = try topClients(top, in: context)
        let cutoff = now.milliseconds - Int64(notSeenForDays) * ReportScope.dayMilliseconds
        var notSeen: [ClientRow] = []
        for (client, entry) in seen.filter({ $0.value.last < cutoff }).sorted(by: { ($1.value.last, $0.key) < ($0.value.last, $1.key) }) {
            guard notSeen.count < 500 else { break }
            guard let row = try context.fetchOne("SELECT name, phone FROM clients WHERE id = ?", [.text(client)]), let id = ClientID(client) else { continue }
            notSeen.append(ClientRow(clientID: id, name: row["name"].string, phone: row["phone"].string, visits: entry.count,
                                     lastVisit: Instant(milliseconds: entry.last), amountMinor: 0, currency: ""))
        }
        return ClientsFigures(visiting: visits.count, new: new, returning: visits.count - new, retention: retention, frequency: frequency,
                              lifetimeValue: values, topClients: top, notSeen: notSeen, notSeenForDays: notSeenForDays)
    }
}

enum StaffReportBuilder {
    static func figures(_ scope: ReportScope, in context: some QueryContext) throws -> StaffFigures {
        let seg = scope.segmentTable
        let utilisation = try UtilisationFacts.compute(scope, in: context)
        let lines = try MoneyFacts.lineFacts(scope, in: context)
        let tips = try MoneyFacts.tips(scope, in: context)
        var rows: [String: StaffRow] = [:]
        func row(_ id: String) throws -> StaffRow? {
            if let existing = rows[id] { return existing }
            guard let staffID = StaffID(id), let found = try context.fetchOne("SELECT name, branch_id FROM staff WHERE id = ?", [.text(id)]),
                  let branch = BranchID(found["branch_id"].string) else { return nil }
            return StaffRow(staffID: staffID, name: found["name"].string, branchID: branch, servicesPerformed: 0, revenue: [:], tips: [:],
                            availableMinutes: 0, bookedMinutes: 0, completedVisits: 0, rebooked: 0, ratings: 0, ratingSum: 0)
        }
        func update(_ id: String, _ change: (inout StaffRow) -> Void) throws {
            guard var entry = try row(id) else { return }
            change(&entry)
            rows[id] = entry
        }
        for entry in utilisation.staff {
            try update(entry.id) { $0.availableMinutes = entry.availableMinutes; $0.bookedMinutes = entry.bookedMinutes }
        }
        for line in lines.staff { try update(line.staff) { $0.revenue[line.currency, default: 0] += line.totalMinor } }
        for (currency, byStaff) in tips { for (staff, amount) in byStaff { try update(staff) { $0.tips[currency, default: 0] += amount } } }
        // Completed items, visits, rebooking (same local day, by the offset at the visit) and ratings.
        if scope.rollups {
            let range = scope.rollupRange
            for found in try context.fetchAll("""
                SELECT staff_id AS staff, sum(n) AS visits, sum(rebooked) AS rebooked, sum(ratings) AS ratings, sum(rating_sum) AS rating_sum
                FROM local_report_staff_visit_days WHERE \(range.sql) GROUP BY staff_id
                """, range.arguments) {
                try update(found["staff"].string) {
                    $0.completedVisits = found["visits"].int
                    $0.rebooked = found["rebooked"].int
                    $0.ratings = found["ratings"].int
                    $0.ratingSum = found["rating_sum"].int
                }
            }
            for found in try context.fetchAll("""
                SELECT subject AS staff, sum(items) AS n FROM local_report_subject_days WHERE \(range.sql) AND kind = 'staff' AND status = 'completed'
                GROUP BY subject
                """, range.arguments) {
                try update(found["staff"].string) { $0.servicesPerformed = found["n"].int }
            }
            return StaffFigures(staff: rows.values.sorted { ($0.branchID.rawValue, $0.name, $0.staffID.rawValue) < ($1.branchID.rawValue, $1.name, $1.staffID.rawValue) })
        }
        for found in try context.fetchAll("""
            WITH \(seg.sql), done AS (
                SELECT DISTINCT a.id AS id, a.client_id AS client, a.starts_at AS start, seg.off AS off, i.staff_id AS staff
                FROM seg JOIN appointments a ON a.branch_id = seg.branch_id AND a.starts_at >= seg.s AND a.starts_at < seg.e
                JOIN local_appointment_items i ON i.appointment_id = a.id
                WHERE a.status = 'completed')
            SELECT d.staff AS staff, count(*) AS visits,
                   sum(CASE WHEN d.client = '' THEN 0 ELSE EXISTS (SELECT 1 FROM appointments n WHERE n.client_id = d.client AND n.id != d.id AND n.starts_at > d.start
                       AND n.status NOT IN \(BookingFacts.notBookings) AND (n.created_at + d.off) / 86400000 = (d.start + d.off) / 86400000) END) AS rebooked,
                   sum((SELECT count(*) FROM visit_reviews r WHERE r.appointment_id = d.id AND r.rating BETWEEN 1 AND 5)) AS ratings,
                   sum((SELECT coalesce(sum(r.rating), 0) FROM visit_reviews r WHERE r.appointment_id = d.id AND r.rating BETWEEN 1 AND 5)) AS rating_sum
            FROM done d GROUP BY d.staff
            """, seg.arguments) {
            try update(found["staff"].string) {
                $0.completedVisits = found["visits"].int
                $0.rebooked = found["rebooked"].int
                $0.ratings = found["ratings"].int
                $0.ratingSum = found["rating_sum"].int
            }
        }
        for found in try context.fetchAll("""
            WITH \(seg.sql)
            SELECT i.staff_id AS staff, count(*) AS n
            FROM seg JOIN appointments a ON a.branch_id = seg.branch_id AND a.starts_at >= seg.s AND a.starts_at < seg.e
            JOIN local_appointment_items i ON i.appointment_id = a.id
            WHERE a.status = 'completed' GROUP BY staff
            """, seg.arguments) {
            try update(found["staff"].string) { $0.servicesPerformed = found["n"].int }
        }
        return StaffFigures(staff: rows.values.sorted { ($0.branchID.rawValue, $0.name, $0.staffID.rawValue) < ($1.branchID.rawValue, $1.name, $1.staffID.rawValue) })
    }
}

enum StockReportBuilder {
    static func figures(_ scope: ReportScope, slowMoverMaximum: Int, in context: some QueryContext) throws -> StockFigures {
        let lines = try MoneyFacts.lineFacts(scope, in: context).references.filter { $0.kind == "product" }
        var names = MoneyFacts.Names(context)
        var byProduct: [String: [String: AmountRow]] = [:]
        var sold: [String: Int] = [:]
        for line in lines {
            let name = try names.lookup("products", line.reference).name
            byProduct[line.currency, default: [:]][line.reference, default: AmountRow(key: line.reference, name: name, count: 0, amountMinor: 0)].add(line)
            sold[line.branch + "/" + line.reference, default: 0] += line.quantity
        }
        var values: [StockValueRow] = []
        var slow: [SlowMover] = []
        for info in scope.branches {
            let id = info.branch.id.rawValue
            let value = try context.fetchOne("""
                SELECT coalesce(sum(CASE WHEN p.cost_minor >= 0 THEN l.quantity * p.cost_minor ELSE 0 END), 0) AS value,
                       coalesce(sum(p.cost_minor < 0), 0) AS without
                FROM local_stock_levels l JOIN products p ON p.id = l.product_id WHERE l.branch_id = ? AND l.quantity > 0
                """, [.text(id)])
            values.append(StockValueRow(branchID: info.branch.id, currency: info.branch.currency, valueMinor: value?["value"].int64 ?? 0,
                                        withoutCost: value?["without"].int ?? 0))
            for row in try context.fetchAll("""
                SELECT l.product_id AS product, l.quantity AS quantity FROM local_stock_levels l JOIN products p ON p.id = l.product_id
                WHERE l.branch_id = ? AND l.quantity > 0 AND p.active = 1 ORDER BY l.product_id
                """, [.text(id)]) {
                let units = sold[id + "/" + row["product"].string] ?? 0
                guard units <= slowMoverMaximum, let product = ProductID(row["product"].string) else { continue }
                slow.append(SlowMover(productID: product, name: try names.lookup("products", product.rawValue).name, branchID: info.branch.id,
                                      quantity: row["quantity"].int, sold: units))
            }
        }
        return StockFigures(salesByProduct: byProduct.mapValues { RevenueReportBuilder.sorted(Array($0.values)) }, stockValue: values,
                            slowMovers: slow.sorted { ($0.sold, $1.quantity, $0.productID.rawValue) < ($1.sold, $0.quantity, $1.productID.rawValue) },
                            slowMoverMaximum: slowMoverMaximum)
    }
}
