import Replication

/// Local tables the reports read instead of the JSON columns of the replicated rows (docs/reports.md,
/// "Derived tables"), kept current by the change observer in every transaction that changes their
/// sources and rebuildable from scratch:
/// - `local_sale_lines`: one row per line of a sale (`sales.lines`): kind, reference, staff, quantity, total;
/// - `local_appointment_items`: one row per item of an appointment (`appointments.items`): staff,
///   offering, start, end, capacity and the resource requirements (JSON, `[]` without any).
///
/// Each row is copied from the JSON with the same extraction the reports used before, so a report
/// reads the same figures from them; status, times and branch stay on the parent row (joined by key).
enum ReportLedger {
    static func update(_ changes: ChangedRows, in transaction: some QueryContext & LocalWriter) throws {
        for key in changes["sales"] { try indexSale(key.string, in: transaction) }
        for key in changes["appointments"] { try indexAppointment(key.string, in: transaction) }
    }

    static func rebuild(in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("DELETE FROM local_sale_lines", [])
        try transaction.execute("DELETE FROM local_appointment_items", [])
        try transaction.execute("INSERT INTO local_sale_lines \(saleLines) FROM sales s, json_each(s.lines) l", [])
        try transaction.execute("INSERT INTO local_appointment_items \(appointmentItems) FROM appointments a, json_each(a.items) i", [])
    }

    static func indexSale(_ id: String, in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("DELETE FROM local_sale_lines WHERE sale_id = ?", [.text(id)])
        try transaction.execute("INSERT INTO local_sale_lines \(saleLines) FROM sales s, json_each(s.lines) l WHERE s.id = ?", [.text(id)])
    }

    static func indexAppointment(_ id: String, in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("DELETE FROM local_appointment_items WHERE appointment_id = ?", [.text(id)])
        try transaction.execute("INSERT INTO local_appointment_items \(appointmentItems) FROM appointments a, json_each(a.items) i WHERE a.id = ?", [.text(id)])
    }

    static let saleLines = """
        (sale_id, position, kind, reference, staff_id, quantity, total_minor)
        SELECT s.id, l.key, coalesce(json_extract(l.value, '$.kind'), ''), coalesce(json_extract(l.value, '$.reference'), ''),
               coalesce(json_extract(l.value, '$.staffID'), ''), coalesce(json_extract(l.value, '$.quantity'), 0),
               coalesce(json_extract(l.value, '$.totalMinor'), 0)
        """

    static let appointmentItems = """
        (appointment_id, position, staff_id, offering_id, item_start, item_end, capacity, resources)
        SELECT a.id, i.key, coalesce(json_extract(i.value, '$.staffID'), ''), coalesce(json_extract(i.value, '$.offeringID'), ''),
               coalesce(json_extract(i.value, '$.start.milliseconds'), 0), coalesce(json_extract(i.value, '$.end.milliseconds'), 0),
               coalesce(json_extract(i.value, '$.capacity'), 1), coalesce(json_extract(i.value, '$.resources'), '[]')
        """
}
