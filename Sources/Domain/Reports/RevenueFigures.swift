import Replication

/// Money figures from the ledger (docs/reports.md, "Revenue"). Each figure that appears in more
/// than one report is computed here once: payments (revenue, dashboard), sale lines (revenue,
/// staff, stock), tips (revenue, staff).
enum MoneyFacts {
    /// Counting payments and refunds taken in the period, grouped by currency, branch, kind, method and local day.
    struct PaymentGroup {
        var currency: String
        var branch: String
        var refund: Bool
        var method: String
        var day: LocalDate
        var count: Int
        var amountMinor: Int64
    }

    static func payments(_ scope: ReportScope, in context: some QueryContext) throws -> [PaymentGroup] {
        if scope.rollups {
            let range = scope.rollupRange
            return try context.fetchAll("""
                SELECT currency, branch_id AS branch, kind, method, day, n, amount_minor AS amount FROM local_report_payment_days WHERE \(range.sql)
                """, range.arguments).map { row in
                PaymentGroup(currency: row["currency"].string, branch: row["branch"].string, refund: row["kind"].string == "refund",
                             method: row["method"].string, day: LocalDate(daysSinceEpoch: row["day"].int), count: row["n"].int,
                             amountMinor: row["amount"].int64)
            }
        }
        let seg = scope.segmentTable
        return try context.fetchAll("""
            WITH \(seg.sql)
            SELECT s.currency AS currency, s.branch_id AS branch, p.kind AS kind, p.method AS method, \(ReportScope.localDay("p.created_at")) AS day,
                   count(*) AS n, sum(p.amount_minor) AS amount
            FROM \(ReportScope.paymentsInPeriod)
            WHERE p.created_at >= ? AND p.created_at < ? AND p.counts = 1 AND p.kind IN ('payment', 'refund')
            GROUP BY s.currency, s.branch_id, p.kind, p.method, day
            """, seg.arguments + scope.bounds).map { row in
            PaymentGroup(currency: row["currency"].string, branch: row["branch"].string, refund: row["kind"].string == "refund",
                         method: row["method"].string, day: LocalDate(daysSinceEpoch: row["day"].int), count: row["n"].int,
                         amountMinor: row["amount"].int64)
        }
    }

    /// Net (paid − refunded) per currency of payment groups.
    static func net(_ groups: [PaymentGroup]) -> [String: Int64] {
        groups.reduce(into: [:]) { $0[$1.currency, default: 0] += $1.refund ? -$1.amountMinor : $1.amountMinor }
    }

    /// Sales made in the period that are not voided: count and sums per currency.
    struct SaleTotals {
        var count = 0
        var totalMinor: Int64 = 0
        var discountMinor: Int64 = 0
        var tipsMinor: Int64 = 0
    }

    /// `NOT EXISTS` a void of sale `s`.
    static let notVoided = "NOT EXISTS (SELECT 1 FROM sale_voids v WHERE v.sale_id = s.id)"

    static func sales(_ scope: ReportScope, in context: some QueryContext) throws -> [String: SaleTotals] {
        let seg = scope.segmentTable, range = scope.rollupRange
        var result: [String: SaleTotals] = [:]
        let rows = scope.rollups ? try context.fetchAll("""
            SELECT currency, sum(n) AS n, sum(total_minor) AS total, sum(discount_minor) AS discount, sum(tips_minor) AS tips
            FROM local_report_sale_days WHERE \(range.sql) GROUP BY currency
            """, range.arguments) : try context.fetchAll("""
            WITH \(seg.sql)
            SELECT s.currency AS currency, count(*) AS n, sum(s.total_minor) AS total, sum(s.discount_minor) AS discount, sum(s.tips_minor) AS tips
            FROM seg JOIN sales s ON s.branch_id = seg.branch_id AND s.created_at >= seg.s AND s.created_at < seg.e
            WHERE \(notVoided) GROUP BY s.currency
            """, seg.arguments)
        for row in rows {
            result[row["currency"].string] = SaleTotals(count: row["n"].int, totalMinor: row["total"].int64, discountMinor: row["discount"].int64,
                                                        tipsMinor: row["tips"].int64)
        }
        return result
    }

    /// Sale lines of the period's sales that are not voided, grouped by currency, line kind,
    /// reference (offering, product, gift card; empty for a custom line), staff and branch.
    struct LineGroup {
        var currency: String
        var branch: String
        var kind: String
        var reference: String
        var staff: String
        var quantity: Int
        var totalMinor: Int64
    }

    /// The period's lines summed two ways: per currency, branch, kind and reference (`staff` empty),
    /// and per currency, branch and staff member for lines naming one (`kind` and `reference` empty).
    struct Lines {
        var references: [LineGroup]
        var staff: [LineGroup]
    }

    static func lineFacts(_ scope: ReportScope, in context: some QueryContext) throws -> Lines {
        if scope.rollups {
            let range = scope.rollupRange
            let references = try context.fetchAll("""
                SELECT currency, branch_id AS branch, kind, reference, sum(quantity) AS quantity, sum(total_minor) AS total FROM local_report_line_days
                WHERE \(range.sql) GROUP BY currency, branch_id, kind, reference
                """, range.arguments).map { row in
                LineGroup(currency: row["currency"].string, branch: row["branch"].string, kind: row["kind"].string, reference: row["reference"].string,
                          staff: "", quantity: row["quantity"].int, totalMinor: row["total"].int64)
            }
            let staff = try context.fetchAll("""
                SELECT currency, branch_id AS branch, staff_id AS staff, sum(quantity) AS quantity, sum(total_minor) AS total FROM local_report_line_staff_days
                WHERE \(range.sql) GROUP BY currency, branch_id, staff_id
                """, range.arguments).map { row in
                LineGroup(currency: row["currency"].string, branch: row["branch"].string, kind: "", reference: "",
                          staff: row["staff"].string, quantity: row["quantity"].int, totalMinor: row["total"].int64)
            }
            return Lines(references: references, staff: staff)
        }
        let groups = try lines(scope, in: context)
        var references: [String: LineGroup] = [:], staff: [String: LineGroup] = [:]
        for group in groups {
            let key = [group.currency, group.branch, group.kind, group.reference].joined(separator: "\u{1}")
            var entry = references[key] ?? LineGroup(currency: group.currency, branch: group.branch, kind: group.kind, reference: group.reference,
                                                     staff: "", quantity: 0, totalMinor: 0)
            entry.quantity += group.quantity
            entry.totalMinor += group.totalMinor
            references[key] = entry
            guard !group.staff.isEmpty else { continue }
            let staffKey = [group.currency, group.branch, group.staff].joined(separator: "\u{1}")
            var byStaff = staff[staffKey] ?? LineGroup(currency: group.currency, branch: group.branch, kind: "", reference: "", staff: group.staff,
                                                      quantity: 0, totalMinor: 0)
            byStaff.quantity += group.quantity
            byStaff.totalMinor += group.totalMinor
            staff[staffKey] = byStaff
        }
        return Lines(references: Array(references.values), staff: Array(staff.values))
    }

    static func lines(_ scope: ReportScope, in context: some QueryContext) throws -> [LineGroup] {
        let seg = scope.segmentTable
        return try context.fetchAll("""
            WITH \(seg.sql)
            SELECT s.currency AS currency, s.branch_id AS branch, l.kind AS kind, l.reference AS reference, l.staff_id AS staff,
                   sum(l.quantity) AS quantity, sum(l.total_minor) AS total
            FROM seg JOIN sales s ON s.branch_id = seg.branch_id AND s.created_at >= seg.s AND s.created_at < seg.e
            JOIN local_sale_lines l ON l.sale_id = s.id
            WHERE \(notVoided)
            GROUP BY s.currency, s.branch_id, kind, reference, staff
            """, seg.arguments).map { row in
            LineGroup(currency: row["currency"].string, branch: row["branch"].string, kind: row["kind"].string, reference: row["reference"].string,
                      staff: row["staff"].string, quantity: row["quantity"].int, totalMinor: row["total"].int64)
        }
    }

    /// Tips of the period's sales that are not voided, per currency and staff member.
    static func tips(_ scope: ReportScope, in context: some QueryContext) throws -> [String: [String: Int64]] {
        let seg = scope.segmentTable, range = scope.rollupRange
        var result: [String: [String: Int64]] = [:]
        let rows = scope.rollups ? try context.fetchAll("""
            SELECT currency, staff_id AS staff, sum(amount_minor) AS amount FROM local_report_tip_days WHERE \(range.sql) GROUP BY currency, staff_id
            """, range.arguments) : try context.fetchAll("""
            WITH \(seg.sql)
            SELECT s.currency AS currency, t.staff_id AS staff, sum(t.amount_minor) AS amount
            FROM seg JOIN sales s ON s.branch_id = seg.branch_id AND s.created_at >= seg.s AND s.created_at < seg.e
            JOIN local_sale_tips t ON t.sale_id = s.id
            WHERE \(notVoided) GROUP BY s.currency, t.staff_id
            """, seg.arguments)
        for row in rows {
            result[row["currency"].string, default: [:]][row["staff"].string, default: 0] += row["amount"].int64
        }
        return result
    }

    /// Names of offerings, products and staff, for report rows.
    struct Names {
        let context: any QueryContext
        var cache: [String: (name: String, category: String)] = [:]

        init(_ context: any QueryContext) { self.context = context }

        mutating func lookup(_ table: String, _ id: String) throws -> (name: String, category: String) {
            let key = table + "/" + id
            if let cached = cache[key] { return cached }
            var found = (name: "", category: "")
            switch table {
            case "offerings", "products":
                if let row = try context.fetchOne("SELECT names, category FROM \(table) WHERE id = ?", [.text(id)]) {
                    found = (Self.pick(JSONColumn.decode([String: String].self, row["names"], default: [:])), row["category"].string)
                }
            default:
                if let row = try context.fetchOne("SELECT name FROM \(table) WHERE id = ?", [.text(id)]) { found = (row["name"].string, "") }
            }
            cache[key] = found
            return found
        }

        /// English, else the first language's name.
        static func pick(_ names: [String: String]) -> String {
            names["en"] ?? names.sorted { $0.key < $1.key }.first?.value ?? ""
        }
    }
}

enum RevenueReportBuilder {
    static func figures(_ scope: ReportScope, in context: some QueryContext) throws -> RevenueFigures {
        let payments = try MoneyFacts.payments(scope, in: context)
        let sales = try MoneyFacts.sales(scope, in: context)
        let lines = try MoneyFacts.lineFacts(scope, in: context)
        let tips = try MoneyFacts.tips(scope, in: context)
        var names = MoneyFacts.Names(context)
        let currencies = Set(payments.map(\.currency)).union(sales.keys).union(lines.references.map(\.currency)).union(lines.staff.map(\.currency))
            .union(tips.keys).sorted()
        var result: [CurrencyRevenue] = []
        for currency in currencies {
            let mine = payments.filter { $0.currency == currency }
            let paid = mine.filter { !$0.refund }, refunds = mine.filter(\.refund)
            var methods: [String: CurrencyRevenue.Method] = [:]
            for group in mine {
                var entry = methods[group.method] ?? CurrencyRevenue.Method(method: group.method, paidMinor: 0, refundedMinor: 0, payments: 0, refunds: 0)
                if group.refund { entry.refundedMinor += group.amountMinor; entry.refunds += group.count } else { entry.paidMinor += group.amountMinor; entry.payments += group.count }
                methods[group.method] = entry
            }
            var branches: [String: CurrencyRevenue.BranchRow] = [:]
            for info in scope.branches where info.branch.currency == currency || mine.contains(where: { $0.branch == info.branch.id.rawValue }) {
                branches[info.branch.id.rawValue] = CurrencyRevenue.BranchRow(branchID: info.branch.id, name: info.branch.name, paidMinor: 0, refundedMinor: 0)
            }
            for group in mine {
                if group.refund { branches[group.branch]?.refundedMinor += group.amountMinor } else { branches[group.branch]?.paidMinor += group.amountMinor }
            }
            let days = buckets(mine, key: { $0 })
            let weeks = buckets(mine, key: \.weekStart)
            let months = buckets(mine, key: \.monthStart)
            let totals = sales[currency] ?? MoneyFacts.SaleTotals()
            let mineLines = lines.references.filter { $0.currency == currency }
            var services: [String: AmountRow] = [:], categories: [String: AmountRow] = [:], products: [String: AmountRow] = [:], staff: [String: AmountRow] = [:]
            for line in mineLines {
                var category = line.kind
                switch line.kind {
                case "service":
                    let found = try names.lookup("offerings", line.reference)
                    services[line.reference, default: AmountRow(key: line.reference, name: found.name, count: 0, amountMinor: 0)].add(line)
                    category = found.category
                case "product":
                    let found = try names.lookup("products", line.reference)
                    products[line.reference, default: AmountRow(key: line.reference, name: found.name, count: 0, amountMinor: 0)].add(line)
                    category = found.category
                default: break
                }
                categories[category, default: AmountRow(key: category, name: category, count: 0, amountMinor: 0)].add(line)
            }
            for line in lines.staff where line.currency == currency {
                let name = try names.lookup("staff", line.staff).name
                staff[line.staff, default: AmountRow(key: line.staff, name: name, count: 0, amountMinor: 0)].add(line)
            }
            let tipRows = try (tips[currency] ?? [:]).map { AmountRow(key: $0.key, name: try names.lookup("staff", $0.key).name, count: 0, amountMinor: $0.value) }
            result.append(CurrencyRevenue(
                currency: currency, paidMinor: paid.reduce(0) { $0 + $1.amountMinor }, refundedMinor: refunds.reduce(0) { $0 + $1.amountMinor },
                payments: paid.reduce(0) { $0 + $1.count }, refunds: refunds.reduce(0) { $0 + $1.count },
                byMethod: methods.values.sorted { $0.method < $1.method },
                byBranch: branches.values.sorted { ($0.name, $0.branchID.rawValue) < ($1.name, $1.branchID.rawValue) },
                byDay: days, byWeek: weeks, byMonth: months,
                sales: totals.count, salesMinor: totals.totalMinor, averageTicketMinor: roundedDivision(totals.totalMinor, Int64(totals.count)),
                discountsMinor: totals.discountMinor, tipsMinor: totals.tipsMinor, tipsByStaff: sorted(tipRows),
                byService: sorted(Array(services.values)), byCategory: sorted(Array(categories.values)), byProduct: sorted(Array(products.values)),
                byStaff: sorted(Array(staff.values))))
        }
        return RevenueFigures(currencies: result)
    }

    /// Largest amount first, then by key.
    static func sorted(_ rows: [AmountRow]) -> [AmountRow] {
        rows.sorted { ($1.amountMinor, $0.key) < ($0.amountMinor, $1.key) }
    }

    static func buckets(_ groups: [MoneyFacts.PaymentGroup], key: (LocalDate) -> LocalDate) -> [MoneyBucket] {
        var result: [LocalDate: MoneyBucket] = [:]
        for group in groups {
            let start = key(group.day)
            var bucket = result[start] ?? MoneyBucket(start: start, paidMinor: 0, refundedMinor: 0)
            if group.refund { bucket.refundedMinor += group.amountMinor } else { bucket.paidMinor += group.amountMinor }
            result[start] = bucket
        }
        return result.values.sorted { $0.start < $1.start }
    }
}

extension AmountRow {
    mutating func add(_ line: MoneyFacts.LineGroup) {
        count += line.quantity
        amountMinor += line.totalMinor
    }
}
