import Replication

/// The domain's tables. Migrations are append-only raw SQL and are never edited once shipped.
///
/// Replicated tables follow the store's rules (UUIDv7 keys, defaults on NOT NULL, no UNIQUE,
/// no foreign keys, no CHECK). Local tables (`local_*`) are derived from the replicated ones and
/// maintained by `DerivedState` inside the transaction that changes them; they can be rebuilt.
enum DomainSchema {
    static let migrations: [(id: String, sql: String)] = [
        ("domain-1-catalogue", """
            CREATE TABLE branches (
                id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '',
                phone TEXT NOT NULL DEFAULT '', time_zone TEXT NOT NULL DEFAULT 'UTC', currency TEXT NOT NULL DEFAULT 'XXX',
                locale TEXT NOT NULL DEFAULT 'en', region TEXT NOT NULL DEFAULT '', opening_hours TEXT NOT NULL DEFAULT '{}',
                min_notice_minutes INTEGER NOT NULL DEFAULT 60, horizon_days INTEGER NOT NULL DEFAULT 60,
                cancellation_cutoff_hours INTEGER NOT NULL DEFAULT 24, slot_hold_minutes INTEGER NOT NULL DEFAULT 10,
                active INTEGER NOT NULL DEFAULT 1);
            CREATE TABLE branch_overrides (
                id TEXT PRIMARY KEY NOT NULL, branch_id TEXT NOT NULL DEFAULT '', date TEXT NOT NULL DEFAULT '',
                intervals TEXT NOT NULL DEFAULT '[]', note TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1);
            CREATE INDEX branch_overrides_by_date ON branch_overrides (branch_id, date);
            CREATE TABLE offerings (
                id TEXT PRIMARY KEY NOT NULL, branch_id TEXT NOT NULL DEFAULT '', category TEXT NOT NULL DEFAULT '',
                names TEXT NOT NULL DEFAULT '{}', descriptions TEXT NOT NULL DEFAULT '{}', duration_minutes INTEGER NOT NULL DEFAULT 30,
                price_minor INTEGER NOT NULL DEFAULT 0, currency TEXT NOT NULL DEFAULT 'XXX',
                buffer_before_minutes INTEGER NOT NULL DEFAULT 0, buffer_after_minutes INTEGER NOT NULL DEFAULT 0,
                slot_step_minutes INTEGER NOT NULL DEFAULT 15, capacity INTEGER NOT NULL DEFAULT 1, resources TEXT NOT NULL DEFAULT '[]',
                active INTEGER NOT NULL DEFAULT 1, display_order INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE resources (
                id TEXT PRIMARY KEY NOT NULL, branch_id TEXT NOT NULL DEFAULT '', name TEXT NOT NULL DEFAULT '',
                kind TEXT NOT NULL DEFAULT 'room', units INTEGER NOT NULL DEFAULT 1, active INTEGER NOT NULL DEFAULT 1);
            CREATE TABLE staff (
                id TEXT PRIMARY KEY NOT NULL, branch_id TEXT NOT NULL DEFAULT '', name TEXT NOT NULL DEFAULT '',
                schedule TEXT NOT NULL DEFAULT '{}', breaks TEXT NOT NULL DEFAULT '{}', active INTEGER NOT NULL DEFAULT 1,
                display_order INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE staff_offerings (
                id TEXT PRIMARY KEY NOT NULL, staff_id TEXT NOT NULL DEFAULT '', offering_id TEXT NOT NULL DEFAULT '',
                duration_minutes INTEGER, price_minor INTEGER, active INTEGER NOT NULL DEFAULT 1);
            CREATE INDEX staff_offerings_by_offering ON staff_offerings (offering_id);
            CREATE TABLE staff_overrides (
                id TEXT PRIMARY KEY NOT NULL, staff_id TEXT NOT NULL DEFAULT '', date TEXT NOT NULL DEFAULT '',
                intervals TEXT NOT NULL DEFAULT '[]', note TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1);
            CREATE INDEX staff_overrides_by_date ON staff_overrides (staff_id, date);
            CREATE TABLE staff_time_off (
                id TEXT PRIMARY KEY NOT NULL, staff_id TEXT NOT NULL DEFAULT '', starts_at INTEGER NOT NULL DEFAULT 0,
                ends_at INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '');
            CREATE INDEX staff_time_off_by_staff ON staff_time_off (staff_id, ends_at);
            """),
        ("domain-2-clients", """
            CREATE TABLE clients (
                id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '',
                email TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT '[]', preferences TEXT NOT NULL DEFAULT '',
                marketing_consent INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL DEFAULT 0, merged_into TEXT NOT NULL DEFAULT '');
            CREATE INDEX clients_by_phone ON clients (phone);
            CREATE TABLE client_notes (
                id TEXT PRIMARY KEY NOT NULL, client_id TEXT NOT NULL DEFAULT '', author TEXT NOT NULL DEFAULT '',
                body TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX client_notes_by_client ON client_notes (client_id, created_at);
            CREATE TABLE local_client_index (client_id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL);
            CREATE VIRTUAL TABLE local_client_search USING fts5 (body, content='local_client_index', content_rowid='rowid', tokenize='trigram');
            """),
        ("domain-3-appointments", """
            CREATE TABLE appointments (
                id TEXT PRIMARY KEY NOT NULL, branch_id TEXT NOT NULL DEFAULT '', client_id TEXT NOT NULL DEFAULT '',
                guest_name TEXT NOT NULL DEFAULT '', guest_phone TEXT NOT NULL DEFAULT '', guest_email TEXT NOT NULL DEFAULT '',
                items TEXT NOT NULL DEFAULT '[]', starts_at INTEGER NOT NULL DEFAULT 0, ends_at INTEGER NOT NULL DEFAULT 0,
                status TEXT NOT NULL DEFAULT 'requested', status_reason TEXT NOT NULL DEFAULT '', cancelled_by TEXT NOT NULL DEFAULT '',
                late_cancellation INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL DEFAULT 'front_desk',
                special_requests TEXT NOT NULL DEFAULT '', price_minor INTEGER NOT NULL DEFAULT 0, currency TEXT NOT NULL DEFAULT 'XXX',
                order_number TEXT NOT NULL DEFAULT '', token_hash TEXT NOT NULL DEFAULT '', series_id TEXT NOT NULL DEFAULT '',
                hold_expires_at INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX appointments_by_client ON appointments (client_id, starts_at);
            CREATE INDEX appointments_by_status ON appointments (status, branch_id);
            CREATE INDEX appointments_by_token ON appointments (token_hash);
            CREATE INDEX appointments_by_order ON appointments (order_number);
            CREATE INDEX appointments_by_series ON appointments (series_id, starts_at);
            CREATE TABLE appointment_events (
                id TEXT PRIMARY KEY NOT NULL, appointment_id TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL DEFAULT 0,
                actor TEXT NOT NULL DEFAULT '', action TEXT NOT NULL DEFAULT '', from_status TEXT NOT NULL DEFAULT '',
                to_status TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '', hlc INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX appointment_events_by_appointment ON appointment_events (appointment_id, hlc);
            CREATE TABLE series (
                id TEXT PRIMARY KEY NOT NULL, branch_id TEXT NOT NULL DEFAULT '', client_id TEXT NOT NULL DEFAULT '',
                frequency TEXT NOT NULL DEFAULT 'weekly', occurrences INTEGER NOT NULL DEFAULT 0, until_date TEXT NOT NULL DEFAULT '',
                created_at INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE waitlist (
                id TEXT PRIMARY KEY NOT NULL, branch_id TEXT NOT NULL DEFAULT '', client_id TEXT NOT NULL DEFAULT '',
                offering_id TEXT NOT NULL DEFAULT '', staff_id TEXT NOT NULL DEFAULT '', from_date TEXT NOT NULL DEFAULT '',
                to_date TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'waiting',
                offered_start INTEGER NOT NULL DEFAULT 0, offered_staff TEXT NOT NULL DEFAULT '', offered_at INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX waitlist_by_offering ON waitlist (branch_id, offering_id, status);
            CREATE TABLE conflict_resolutions (
                id TEXT PRIMARY KEY NOT NULL, conflict_id TEXT NOT NULL DEFAULT '', action TEXT NOT NULL DEFAULT '',
                actor TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL DEFAULT 0, note TEXT NOT NULL DEFAULT '');
            CREATE INDEX conflict_resolutions_by_conflict ON conflict_resolutions (conflict_id);
            CREATE TABLE local_occupancy (
                appointment_id TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, offering_id TEXT NOT NULL,
                session_start INTEGER NOT NULL, occupied_start INTEGER NOT NULL, occupied_end INTEGER NOT NULL,
                units INTEGER NOT NULL, capacity INTEGER NOT NULL, status TEXT NOT NULL, hold_expires_at INTEGER NOT NULL,
                booked_minutes INTEGER NOT NULL);
            CREATE INDEX local_occupancy_by_subject ON local_occupancy (subject, occupied_start);
            CREATE INDEX local_occupancy_by_appointment ON local_occupancy (appointment_id);
            CREATE TABLE local_conflicts (
                id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, starts_at INTEGER NOT NULL,
                ends_at INTEGER NOT NULL, appointments TEXT NOT NULL, capacity INTEGER NOT NULL);
            CREATE INDEX local_conflicts_by_subject ON local_conflicts (subject, starts_at);
            CREATE TABLE local_conflict_members (conflict_id TEXT NOT NULL, appointment_id TEXT NOT NULL, PRIMARY KEY (appointment_id, conflict_id));
            CREATE TABLE local_domain_state (key TEXT PRIMARY KEY NOT NULL, value);
            """),
        ("domain-4-access", """
            CREATE TABLE people (
                id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '', role TEXT NOT NULL DEFAULT 'staff',
                pin_hash TEXT NOT NULL DEFAULT '', staff_id TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
                created_at INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE audit_events (
                id TEXT PRIMARY KEY NOT NULL, at INTEGER NOT NULL DEFAULT 0, site TEXT NOT NULL DEFAULT '',
                device_id TEXT NOT NULL DEFAULT '', device_name TEXT NOT NULL DEFAULT '', person_id TEXT NOT NULL DEFAULT '',
                person_name TEXT NOT NULL DEFAULT '', role TEXT NOT NULL DEFAULT '', operation TEXT NOT NULL DEFAULT '',
                request_id TEXT NOT NULL DEFAULT '');
            CREATE INDEX audit_events_by_time ON audit_events (at);
            CREATE TABLE local_devices (
                id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
                paired_at INTEGER NOT NULL, paired_by TEXT NOT NULL, last_used_at INTEGER NOT NULL DEFAULT 0,
                revoked_at INTEGER NOT NULL DEFAULT 0, revoked_by TEXT NOT NULL DEFAULT '');
            CREATE TABLE local_pairing_requests (
                id_hash TEXT PRIMARY KEY NOT NULL, code TEXT NOT NULL, device_name TEXT NOT NULL, remote TEXT NOT NULL,
                requested_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, status TEXT NOT NULL, role TEXT NOT NULL DEFAULT '',
                decided_by TEXT NOT NULL DEFAULT '', device_id TEXT NOT NULL DEFAULT '');
            CREATE INDEX local_pairing_requests_by_code ON local_pairing_requests (code, status);
            CREATE TABLE local_sessions (
                token_hash TEXT PRIMARY KEY NOT NULL, person_id TEXT NOT NULL, device_id TEXT NOT NULL,
                created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
            CREATE TABLE local_attempts (
                key TEXT PRIMARY KEY NOT NULL, failures INTEGER NOT NULL, window_start INTEGER NOT NULL,
                locked_until INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE local_events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL);
            CREATE TABLE local_idempotency (
                key TEXT PRIMARY KEY NOT NULL, request_hash TEXT NOT NULL, status INTEGER NOT NULL, location TEXT NOT NULL,
                body BLOB NOT NULL, created_at INTEGER NOT NULL);
            CREATE INDEX local_idempotency_by_time ON local_idempotency (created_at);
            """),
    ]

    static let replicated: [(String, ReplicatedTableKind)] = [
        ("branches", .lastWriterWins), ("branch_overrides", .lastWriterWins), ("offerings", .lastWriterWins),
        ("resources", .lastWriterWins), ("staff", .lastWriterWins), ("staff_offerings", .lastWriterWins),
        ("staff_overrides", .lastWriterWins), ("staff_time_off", .lastWriterWins), ("clients", .lastWriterWins),
        ("client_notes", .appendOnly), ("appointments", .lastWriterWins), ("appointment_events", .appendOnly),
        ("series", .lastWriterWins), ("waitlist", .lastWriterWins), ("conflict_resolutions", .appendOnly),
        ("people", .lastWriterWins), ("audit_events", .appendOnly),
    ]
}

/// Read access shared by read and write transactions.
protocol QueryContext {
    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [[SQLValue]]
    func row(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLValue]?
    /// All rows of a query, read by column name (`Row`).
    func fetchAll(_ sql: String, _ arguments: [SQLValue]) throws -> [Row]
    /// The first row of a query, read by column name, or nil.
    func fetchOne(_ sql: String, _ arguments: [SQLValue]) throws -> Row?
}

extension ReadTransaction: QueryContext {}
extension WriteTransaction: QueryContext {}
extension DerivedStateTransaction: QueryContext {}
