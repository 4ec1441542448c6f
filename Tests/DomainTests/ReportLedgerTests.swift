import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

/// `local_sale_lines` and `local_appointment_items` (ReportLedger) equal what the test decodes
/// itself from `sales.lines` and `appointments.items`, after inserts, an appointment's items and
/// status changed, a deletion, and a rebuild from scratch.
@Suite("Reports: derived sale-line and appointment-item tables agree with the raw rows")
struct ReportLedgerTests {
    let branch = BranchID(trusted: "01900000-0000-7000-8000-00000000c001")

    @Test("inserts, an update, a delete and a rebuild", arguments: [3, 41] as [UInt64])
    func agree(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let h = try ReportHistory(now: "2026-06-01T00:00:00Z", home: branch)
        try h.branch(branch, "Atyrau", zone: "Asia/Atyrau", currency: "KZT", hours: hours("09:00", "18:00"))
        let staff = [try h.staff(branch, "A"), try h.staff(branch, "B")]
        let room = try h.resource(branch, "Room", units: 2)
        let cut = try h.offering(branch, "Cut", category: "hair", minutes: 30, price: 1000, currency: "KZT")
        let yoga = try h.offering(branch, "Yoga", category: "group", minutes: 60, price: 500, currency: "KZT",
                                  resources: [ResourceRequirement(resource: room, quantity: 1)], capacity: 5)
        let base = instant("2026-03-15T06:00:00Z")
        var appointments: [AppointmentID] = []
        for n in 0..<25 {
            let start = base.adding(minutes: n * 45)
            let items = (0..<Int.random(in: 1...3, using: &random)).map { k in
                k % 2 == 0 ? ReportHistory.Item(offering: cut, staff: staff[k % 2], start: start.adding(minutes: 30 * k), minutes: 30)
                           : ReportHistory.Item(offering: yoga, staff: staff[1], start: start.adding(minutes: 30 * k), minutes: 60,
                                                resources: [ResourceRequirement(resource: room, quantity: 1)], capacity: 5)
            }
            appointments.append(try h.appointment(branch, client: nil, items, status: .confirmed, created: base))
        }
        for n in 0..<15 {
            let lines = (0..<Int.random(in: 1...4, using: &random)).map { k in
                k == 0 ? ReportHistory.line(.custom, "", quantity: 1, unit: Int64(100 + n))
                       : ReportHistory.line(.service, cut.rawValue, staff: staff[k % 2], quantity: k, unit: Int64.random(in: 1...5000, using: &random))
            }
            try h.sale(branch, currency: "KZT", client: nil, lines: lines, at: base.adding(minutes: n * 60))
        }
        try expectAgree(h.shop)
        // An appointment's items and status change (last writer wins); another is deleted.
        let moved = [ReportHistory.Item(offering: yoga, staff: staff[0], start: base.adding(minutes: 5000), minutes: 90)].map {
            AppointmentItem(offeringID: $0.offering, staffID: $0.staff, start: $0.start, end: $0.start.adding(minutes: $0.minutes),
                            bufferBeforeMinutes: 0, bufferAfterMinutes: 0, priceMinor: 0, resources: [], capacity: 5)
        }
        try h.shop.store.write { t in
            try t.update("appointments", key: .text(appointments[0].rawValue), ["items": .text(JSONColumn.encode(moved)), "status": .text("cancelled")])
            try t.delete("appointments", key: .text(appointments[1].rawValue))
        }
        try expectAgree(h.shop)
        let incremental = try derived(h.shop)
        // A rebuild from nothing derives the same rows.
        try h.shop.store.write { t in
            try t.execute("DELETE FROM local_sale_lines", [])
            try t.execute("DELETE FROM local_appointment_items", [])
        }
        try h.shop.rebuildDerivedState()
        #expect(try derived(h.shop) == incremental, "a rebuild derives other rows")
        try expectAgree(h.shop)
    }

    func expectAgree(_ shop: Shop, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let found = try derived(shop), expected = try direct(shop)
        #expect(!expected.lines.isEmpty && !expected.items.isEmpty, sourceLocation: sourceLocation)
        #expect(found.lines == expected.lines, "local_sale_lines is not what sales.lines says", sourceLocation: sourceLocation)
        #expect(found.items == expected.items, "local_appointment_items is not what appointments.items says", sourceLocation: sourceLocation)
    }

    /// The derived rows, one string per row.
    func derived(_ shop: Shop) throws -> (lines: Set<String>, items: Set<String>) {
        try shop.store.read { t in
            let lines = try t.fetchAll("SELECT sale_id, position, kind, reference, staff_id, quantity, total_minor FROM local_sale_lines", []).map {
                "\($0["sale_id"].string)#\($0["position"].int) \($0["kind"].string) \($0["reference"].string) \($0["staff_id"].string) \($0["quantity"].int) \($0["total_minor"].int64)"
            }
            let items = try t.fetchAll("SELECT appointment_id, position, staff_id, offering_id, item_start, item_end, capacity, resources FROM local_appointment_items", []).map {
                let resources = JSONColumn.decode([ResourceRequirement].self, $0["resources"], default: []).map { "\($0.resource.rawValue)x\($0.quantity)" }
                return "\($0["appointment_id"].string)#\($0["position"].int) \($0["staff_id"].string) \($0["offering_id"].string) \($0["item_start"].int64)…\($0["item_end"].int64) c\($0["capacity"].int) \(resources)"
            }
            return (Set(lines), Set(items))
        }
    }

    /// The same decoded in Swift from the raw rows.
    func direct(_ shop: Shop) throws -> (lines: Set<String>, items: Set<String>) {
        try shop.store.read { t in
            var lines = Set<String>(), items = Set<String>()
            for row in try t.fetchAll("SELECT id, lines FROM sales", []) {
                for (n, line) in JSONColumn.decode([SaleLine].self, row["lines"], default: []).enumerated() {
                    lines.insert("\(row["id"].string)#\(n) \(line.kind.rawValue) \(line.reference) \(line.staffID?.rawValue ?? "") \(line.quantity) \(line.totalMinor)")
                }
            }
            for row in try t.fetchAll("SELECT id, items FROM appointments", []) {
                for (n, item) in JSONColumn.decode([AppointmentItem].self, row["items"], default: []).enumerated() {
                    let resources = item.resources.map { "\($0.resource.rawValue)x\($0.quantity)" }
                    items.insert("\(row["id"].string)#\(n) \(item.staffID.rawValue) \(item.offeringID.rawValue) \(item.start.milliseconds)…\(item.end.milliseconds) c\(item.capacity) \(resources)")
                }
            }
            return (lines, items)
        }
    }
}
