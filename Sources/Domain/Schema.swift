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
        ("domain-5-money", """
            CREATE TABLE sales (
                id TEXT PRIMARY KEY NOT NULL, branch_id TEXT NOT NULL DEFAULT '', site TEXT NOT NULL DEFAULT '', number INTEGER NOT NULL DEFAULT 0,
                client_id TEXT NOT NULL DEFAULT '', appointments TEXT NOT NULL DEFAULT '[]', lines TEXT NOT NULL DEFAULT '[]',
                discount TEXT NOT NULL DEFAULT '{}', tips TEXT NOT NULL DEFAULT '[]', currency TEXT NOT NULL DEFAULT 'XXX',
                subtotal_minor INTEGER NOT NULL DEFAULT 0, discount_minor INTEGER NOT NULL DEFAULT 0, tax_minor INTEGER NOT NULL DEFAULT 0,
                tips_minor INTEGER NOT NULL DEFAULT 0, total_minor INTEGER NOT NULL DEFAULT 0, visit_count INTEGER NOT NULL DEFAULT 0,
                drawer_session_id TEXT NOT NULL DEFAULT '',
                fiscal_required INTEGER NOT NULL DEFAULT 0, receipt_token TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL DEFAULT 0,
                created_by TEXT NOT NULL DEFAULT '', device_id TEXT NOT NULL DEFAULT '');
            CREATE INDEX sales_by_branch ON sales (branch_id, created_at);
            CREATE INDEX sales_by_site ON sales (site, number);
            CREATE INDEX sales_by_session ON sales (drawer_session_id, tips_minor, discount_minor, tax_minor, visit_count, id);
            CREATE INDEX sales_fiscal_by_session ON sales (drawer_session_id) WHERE fiscal_required = 1;
            CREATE INDEX sales_by_client ON sales (client_id, created_at);
            CREATE INDEX sales_by_token ON sales (receipt_token);
            CREATE TABLE payments (
                id TEXT PRIMARY KEY NOT NULL, sale_id TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL DEFAULT 'payment', reverses TEXT NOT NULL DEFAULT '',
                method TEXT NOT NULL DEFAULT 'cash', amount_minor INTEGER NOT NULL DEFAULT 0, currency TEXT NOT NULL DEFAULT 'XXX',
                tendered_minor INTEGER NOT NULL DEFAULT 0, change_minor INTEGER NOT NULL DEFAULT 0, card_last4 TEXT NOT NULL DEFAULT '',
                approval_code TEXT NOT NULL DEFAULT '', reference TEXT NOT NULL DEFAULT '', initial_status TEXT NOT NULL DEFAULT 'settled',
                deadline_at INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', site TEXT NOT NULL DEFAULT '',
                drawer_session_id TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL DEFAULT 0, created_by TEXT NOT NULL DEFAULT '',
                approved_by TEXT NOT NULL DEFAULT '', device_id TEXT NOT NULL DEFAULT '');
            CREATE INDEX payments_by_sale ON payments (sale_id);
            CREATE INDEX payments_by_reverses ON payments (reverses);
            CREATE TABLE payment_events (
                id TEXT PRIMARY KEY NOT NULL, payment_id TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL DEFAULT 0,
                actor TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '');
            CREATE INDEX payment_events_by_payment ON payment_events (payment_id, at);
            CREATE TABLE sale_voids (
                id TEXT PRIMARY KEY NOT NULL, sale_id TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', actor TEXT NOT NULL DEFAULT '',
                at INTEGER NOT NULL DEFAULT 0, site TEXT NOT NULL DEFAULT '');
            CREATE INDEX sale_voids_by_sale ON sale_voids (sale_id);
            CREATE TABLE drawer_sessions (
                id TEXT PRIMARY KEY NOT NULL, site TEXT NOT NULL DEFAULT '', till TEXT NOT NULL DEFAULT 'main', branch_id TEXT NOT NULL DEFAULT '',
                currency TEXT NOT NULL DEFAULT 'XXX', float_minor INTEGER NOT NULL DEFAULT 0, opened_at INTEGER NOT NULL DEFAULT 0,
                opened_by TEXT NOT NULL DEFAULT '');
            CREATE INDEX drawer_sessions_by_site ON drawer_sessions (site, till, opened_at);
            CREATE TABLE drawer_movements (
                id TEXT PRIMARY KEY NOT NULL, session_id TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL DEFAULT 'paid_in',
                amount_minor INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', actor TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX drawer_movements_by_session ON drawer_movements (session_id);
            CREATE TABLE z_reports (
                id TEXT PRIMARY KEY NOT NULL, session_id TEXT NOT NULL DEFAULT '', site TEXT NOT NULL DEFAULT '', number INTEGER NOT NULL DEFAULT 0,
                branch_id TEXT NOT NULL DEFAULT '', closed_at INTEGER NOT NULL DEFAULT 0, closed_by TEXT NOT NULL DEFAULT '',
                counted TEXT NOT NULL DEFAULT '[]', counted_minor INTEGER NOT NULL DEFAULT 0, figures TEXT NOT NULL DEFAULT '{}',
                note TEXT NOT NULL DEFAULT '');
            CREATE INDEX z_reports_by_session ON z_reports (session_id);
            CREATE INDEX z_reports_by_site ON z_reports (site, number);
            CREATE TABLE fiscal_receipts (
                id TEXT PRIMARY KEY NOT NULL, document_id TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL DEFAULT 'sale',
                register TEXT NOT NULL DEFAULT '', check_number TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '',
                shift TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX fiscal_receipts_by_document ON fiscal_receipts (document_id);
            CREATE TABLE money_resolutions (
                id TEXT PRIMARY KEY NOT NULL, anomaly_id TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '', actor TEXT NOT NULL DEFAULT '',
                at INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX money_resolutions_by_anomaly ON money_resolutions (anomaly_id);
            CREATE TABLE money_settings (
                id TEXT PRIMARY KEY NOT NULL, branch_id TEXT NOT NULL DEFAULT '', tax_rates TEXT NOT NULL DEFAULT '[]',
                default_tax_rate TEXT NOT NULL DEFAULT '', vat_registered INTEGER NOT NULL DEFAULT 0, vat_number TEXT NOT NULL DEFAULT '',
                seller_name TEXT NOT NULL DEFAULT '', seller_address TEXT NOT NULL DEFAULT '',
                unverified_payment_cap_minor INTEGER NOT NULL DEFAULT -1, unverified_box_cap_minor INTEGER NOT NULL DEFAULT -1,
                unverified_deadline_hours INTEGER NOT NULL DEFAULT 24);
            CREATE TABLE local_payment_state (
                payment_id TEXT PRIMARY KEY NOT NULL, sale_id TEXT NOT NULL, kind TEXT NOT NULL, reverses TEXT NOT NULL, method TEXT NOT NULL,
                amount_minor INTEGER NOT NULL, status TEXT NOT NULL, counts INTEGER NOT NULL, site TEXT NOT NULL, drawer_session_id TEXT NOT NULL,
                created_at INTEGER NOT NULL);
            CREATE INDEX local_payment_state_by_sale ON local_payment_state (sale_id);
            CREATE INDEX local_payment_state_by_session ON local_payment_state (drawer_session_id, counts, method, kind, amount_minor);
            CREATE INDEX local_payment_state_unverified ON local_payment_state (drawer_session_id) WHERE status = 'unverified';
            CREATE INDEX local_payment_state_by_reverses ON local_payment_state (reverses);
            CREATE INDEX local_payment_state_by_status ON local_payment_state (status, site);
            CREATE TABLE local_sale_appointments (appointment_id TEXT NOT NULL, sale_id TEXT NOT NULL, PRIMARY KEY (appointment_id, sale_id));
            CREATE TABLE local_sale_tips (sale_id TEXT NOT NULL, drawer_session_id TEXT NOT NULL, staff_id TEXT NOT NULL, amount_minor INTEGER NOT NULL);
            CREATE INDEX local_sale_tips_by_session ON local_sale_tips (drawer_session_id, staff_id, amount_minor, sale_id);
            CREATE INDEX local_sale_tips_by_sale ON local_sale_tips (sale_id);
            CREATE TABLE local_fiscal_outbox (
                document_id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL, next_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '', permanent INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX local_fiscal_outbox_by_seq ON local_fiscal_outbox (seq);
            CREATE TABLE local_qr_state (payment_id TEXT PRIMARY KEY NOT NULL, error TEXT NOT NULL DEFAULT '', next_at INTEGER NOT NULL DEFAULT 0);
            """),
        ("domain-6-messaging", """
            CREATE TABLE messaging_settings (
                id TEXT PRIMARY KEY NOT NULL, kinds_off TEXT NOT NULL DEFAULT '[]', reminder_offsets TEXT NOT NULL DEFAULT '[1440,120]',
                min_reminder_lead_minutes INTEGER NOT NULL DEFAULT 30, change_threshold_minutes INTEGER NOT NULL DEFAULT 0,
                channel_order TEXT NOT NULL DEFAULT '["telegram","whatsapp","sms","email"]', review_delay_minutes INTEGER NOT NULL DEFAULT 60,
                review_expiry_hours INTEGER NOT NULL DEFAULT 48, telegram_bot TEXT NOT NULL DEFAULT '', unsubscribe TEXT NOT NULL DEFAULT '');
            CREATE TABLE messaging_senders (
                id TEXT PRIMARY KEY NOT NULL, site TEXT NOT NULL DEFAULT '', since INTEGER NOT NULL DEFAULT 0, set_by TEXT NOT NULL DEFAULT '');
            CREATE TABLE message_templates (
                id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL DEFAULT '', channel TEXT NOT NULL DEFAULT '', language TEXT NOT NULL DEFAULT '',
                subject TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '', provider_template TEXT NOT NULL DEFAULT '',
                provider_parameters TEXT NOT NULL DEFAULT '[]', customised INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL DEFAULT 0,
                updated_by TEXT NOT NULL DEFAULT '');
            CREATE TABLE client_messaging (
                id TEXT PRIMARY KEY NOT NULL, language TEXT NOT NULL DEFAULT '', channel_order TEXT NOT NULL DEFAULT '[]',
                kinds_off TEXT NOT NULL DEFAULT '[]', telegram_chat_id TEXT NOT NULL DEFAULT '', telegram_name TEXT NOT NULL DEFAULT '',
                telegram_linked_at INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE client_consents (
                id TEXT PRIMARY KEY NOT NULL, client_id TEXT NOT NULL DEFAULT '', channel TEXT NOT NULL DEFAULT '',
                purpose TEXT NOT NULL DEFAULT 'transactional', granted INTEGER NOT NULL DEFAULT 1, at INTEGER NOT NULL DEFAULT 0,
                source TEXT NOT NULL DEFAULT '', actor TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '');
            CREATE INDEX client_consents_by_client ON client_consents (client_id, at);
            CREATE TABLE telegram_links (
                id TEXT PRIMARY KEY NOT NULL, client_id TEXT NOT NULL DEFAULT '', payload_hash TEXT NOT NULL DEFAULT '',
                created_at INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL DEFAULT 0, used_at INTEGER NOT NULL DEFAULT 0,
                chat_id TEXT NOT NULL DEFAULT '', created_by TEXT NOT NULL DEFAULT '');
            CREATE INDEX telegram_links_by_hash ON telegram_links (payload_hash);
            CREATE TABLE messages (
                id TEXT PRIMARY KEY NOT NULL, subject_id TEXT NOT NULL DEFAULT '', appointment_id TEXT NOT NULL DEFAULT '',
                client_id TEXT NOT NULL DEFAULT '', branch_id TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL DEFAULT '',
                channel TEXT NOT NULL DEFAULT '', recipient TEXT NOT NULL DEFAULT '', language TEXT NOT NULL DEFAULT 'en',
                variant TEXT NOT NULL DEFAULT '', due_at INTEGER NOT NULL DEFAULT 0, not_after INTEGER NOT NULL DEFAULT 0,
                site TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL DEFAULT 0, created_by TEXT NOT NULL DEFAULT '');
            CREATE INDEX messages_by_appointment ON messages (appointment_id, created_at);
            CREATE INDEX messages_by_subject ON messages (subject_id);
            CREATE INDEX messages_by_client ON messages (client_id, created_at);
            CREATE TABLE message_events (
                id TEXT PRIMARY KEY NOT NULL, message_id TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL DEFAULT 0,
                site TEXT NOT NULL DEFAULT '', attempt INTEGER NOT NULL DEFAULT 0, provider TEXT NOT NULL DEFAULT '',
                provider_id TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT '',
                body TEXT NOT NULL DEFAULT '', actor TEXT NOT NULL DEFAULT '');
            CREATE INDEX message_events_by_message ON message_events (message_id, at);
            CREATE INDEX message_events_by_provider_id ON message_events (provider_id);
            CREATE TABLE visit_reviews (
                id TEXT PRIMARY KEY NOT NULL, appointment_id TEXT NOT NULL DEFAULT '', client_id TEXT NOT NULL DEFAULT '',
                rating INTEGER NOT NULL DEFAULT 0, comment TEXT NOT NULL DEFAULT '', channel TEXT NOT NULL DEFAULT '',
                message_id TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX visit_reviews_by_appointment ON visit_reviews (appointment_id, at);
            CREATE TABLE calendar_feeds (
                id TEXT PRIMARY KEY NOT NULL, scope TEXT NOT NULL DEFAULT 'staff', subject_id TEXT NOT NULL DEFAULT '',
                token_hash TEXT NOT NULL DEFAULT '', content TEXT NOT NULL DEFAULT 'details', name TEXT NOT NULL DEFAULT '',
                created_at INTEGER NOT NULL DEFAULT 0, created_by TEXT NOT NULL DEFAULT '', revoked_at INTEGER NOT NULL DEFAULT 0,
                revoked_by TEXT NOT NULL DEFAULT '');
            CREATE INDEX calendar_feeds_by_token ON calendar_feeds (token_hash);
            CREATE TABLE local_message_state (
                message_id TEXT PRIMARY KEY NOT NULL, subject_id TEXT NOT NULL, branch_id TEXT NOT NULL, kind TEXT NOT NULL,
                channel TEXT NOT NULL, state TEXT NOT NULL, due_at INTEGER NOT NULL, next_at INTEGER NOT NULL, attempts INTEGER NOT NULL,
                provider_id TEXT NOT NULL, reason TEXT NOT NULL, updated_at INTEGER NOT NULL);
            CREATE INDEX local_message_state_due ON local_message_state (next_at) WHERE state = 'scheduled';
            CREATE INDEX local_message_state_by_state ON local_message_state (state, updated_at);
            CREATE INDEX local_message_state_by_subject ON local_message_state (subject_id);
            CREATE TABLE local_message_queue (subject_id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, queued_at INTEGER NOT NULL);
            """),
        ("domain-7-retail", """
            CREATE TABLE products (
                id TEXT PRIMARY KEY NOT NULL, names TEXT NOT NULL DEFAULT '{}', sku TEXT NOT NULL DEFAULT '', barcode TEXT NOT NULL DEFAULT '',
                category TEXT NOT NULL DEFAULT '', price_minor INTEGER NOT NULL DEFAULT 0, tax_rate TEXT NOT NULL DEFAULT '',
                cost_minor INTEGER NOT NULL DEFAULT -1, low_stock_threshold INTEGER NOT NULL DEFAULT -1, active INTEGER NOT NULL DEFAULT 1,
                created_at INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX products_by_barcode ON products (barcode);
            CREATE INDEX products_by_sku ON products (sku);
            CREATE TABLE product_branches (
                id TEXT PRIMARY KEY NOT NULL, product_id TEXT NOT NULL DEFAULT '', branch_id TEXT NOT NULL DEFAULT '',
                price_minor INTEGER NOT NULL DEFAULT -1, low_stock_threshold INTEGER NOT NULL DEFAULT -1);
            CREATE INDEX product_branches_by_product ON product_branches (product_id);
            CREATE TABLE stock_movements (
                id TEXT PRIMARY KEY NOT NULL, product_id TEXT NOT NULL DEFAULT '', branch_id TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL DEFAULT '',
                quantity INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', supplier TEXT NOT NULL DEFAULT '',
                unit_cost_minor INTEGER NOT NULL DEFAULT -1, sale_id TEXT NOT NULL DEFAULT '', appointment_id TEXT NOT NULL DEFAULT '',
                transfer_id TEXT NOT NULL DEFAULT '', stocktake_id TEXT NOT NULL DEFAULT '', override INTEGER NOT NULL DEFAULT 0,
                note TEXT NOT NULL DEFAULT '', site TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL DEFAULT 0, by TEXT NOT NULL DEFAULT '');
            CREATE INDEX stock_movements_by_product ON stock_movements (product_id, branch_id, quantity);
            CREATE INDEX stock_movements_by_branch ON stock_movements (branch_id, at);
            CREATE INDEX stock_movements_by_sale ON stock_movements (sale_id) WHERE sale_id != '';
            CREATE INDEX stock_movements_by_transfer ON stock_movements (transfer_id) WHERE transfer_id != '';
            CREATE TABLE stock_transfers (
                id TEXT PRIMARY KEY NOT NULL, from_branch TEXT NOT NULL DEFAULT '', to_branch TEXT NOT NULL DEFAULT '', lines TEXT NOT NULL DEFAULT '[]',
                note TEXT NOT NULL DEFAULT '', site TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL DEFAULT 0, created_by TEXT NOT NULL DEFAULT '');
            CREATE INDEX stock_transfers_by_from ON stock_transfers (from_branch, created_at);
            CREATE INDEX stock_transfers_by_to ON stock_transfers (to_branch, created_at);
            CREATE TABLE stocktakes (
                id TEXT PRIMARY KEY NOT NULL, branch_id TEXT NOT NULL DEFAULT '', counts TEXT NOT NULL DEFAULT '[]', note TEXT NOT NULL DEFAULT '',
                site TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL DEFAULT 0, by TEXT NOT NULL DEFAULT '');
            CREATE INDEX stocktakes_by_branch ON stocktakes (branch_id, at);
            CREATE TABLE coupons (
                id TEXT PRIMARY KEY NOT NULL, code TEXT NOT NULL DEFAULT '', name TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL DEFAULT 'percent',
                value INTEGER NOT NULL DEFAULT 0, currency TEXT NOT NULL DEFAULT '', applies_to TEXT NOT NULL DEFAULT '{}',
                valid_from INTEGER NOT NULL DEFAULT 0, valid_until INTEGER NOT NULL DEFAULT 0, min_spend_minor INTEGER NOT NULL DEFAULT 0,
                per_client_limit INTEGER NOT NULL DEFAULT 0, total_limit INTEGER NOT NULL DEFAULT 0, active INTEGER NOT NULL DEFAULT 1,
                created_at INTEGER NOT NULL DEFAULT 0, created_by TEXT NOT NULL DEFAULT '');
            CREATE INDEX coupons_by_code ON coupons (code);
            CREATE TABLE loyalty_rules (
                id TEXT PRIMARY KEY NOT NULL, enabled INTEGER NOT NULL DEFAULT 0, earn_points INTEGER NOT NULL DEFAULT 0,
                earn_per_minor INTEGER NOT NULL DEFAULT 0, visit_points INTEGER NOT NULL DEFAULT 0, service_bonus TEXT NOT NULL DEFAULT '{}',
                point_value_minor INTEGER NOT NULL DEFAULT 0, expiry_days INTEGER NOT NULL DEFAULT 0, max_redeem_percent INTEGER NOT NULL DEFAULT 100);
            CREATE TABLE gift_cards (
                id TEXT PRIMARY KEY NOT NULL, code TEXT NOT NULL DEFAULT '', initial_minor INTEGER NOT NULL DEFAULT 0, currency TEXT NOT NULL DEFAULT 'XXX',
                expires_at INTEGER NOT NULL DEFAULT 0, sale_id TEXT NOT NULL DEFAULT '', branch_id TEXT NOT NULL DEFAULT '',
                client_id TEXT NOT NULL DEFAULT '', site TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL DEFAULT 0, created_by TEXT NOT NULL DEFAULT '');
            CREATE INDEX gift_cards_by_code ON gift_cards (code);
            CREATE INDEX gift_cards_by_client ON gift_cards (client_id);
            CREATE INDEX gift_cards_by_sale ON gift_cards (sale_id);
            CREATE TABLE escrow_entries (
                id TEXT PRIMARY KEY NOT NULL, account TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL DEFAULT '', holder TEXT NOT NULL DEFAULT '',
                amount INTEGER NOT NULL DEFAULT 0, counterpart TEXT NOT NULL DEFAULT '', request_id TEXT NOT NULL DEFAULT '',
                reverses TEXT NOT NULL DEFAULT '', sale_id TEXT NOT NULL DEFAULT '', payment_id TEXT NOT NULL DEFAULT '', client_id TEXT NOT NULL DEFAULT '',
                note TEXT NOT NULL DEFAULT '', site TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL DEFAULT 0, by TEXT NOT NULL DEFAULT '');
            CREATE INDEX escrow_entries_by_account ON escrow_entries (account, holder);
            CREATE INDEX escrow_entries_by_counterpart ON escrow_entries (account, counterpart) WHERE counterpart != '';
            CREATE INDEX escrow_entries_by_sale ON escrow_entries (sale_id) WHERE sale_id != '';
            CREATE INDEX escrow_entries_by_payment ON escrow_entries (payment_id) WHERE payment_id != '';
            CREATE INDEX escrow_entries_by_request ON escrow_entries (request_id) WHERE request_id != '';
            CREATE INDEX escrow_entries_by_reverses ON escrow_entries (reverses) WHERE reverses != '';
            CREATE TABLE escrow_requests (
                id TEXT PRIMARY KEY NOT NULL, account TEXT NOT NULL DEFAULT '', from_site TEXT NOT NULL DEFAULT '', to_site TEXT NOT NULL DEFAULT '',
                amount INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', site TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL DEFAULT 0,
                by TEXT NOT NULL DEFAULT '');
            CREATE INDEX escrow_requests_by_from ON escrow_requests (from_site, at);
            CREATE INDEX escrow_requests_by_account ON escrow_requests (account);
            CREATE TABLE local_stock_levels (
                product_id TEXT NOT NULL, branch_id TEXT NOT NULL, quantity INTEGER NOT NULL, PRIMARY KEY (product_id, branch_id));
            CREATE TABLE local_escrow_balances (
                account TEXT NOT NULL, holder TEXT NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY (account, holder));
            """),
        ("domain-8-retail-derived", """
            CREATE TABLE local_stock_transit (
                transfer_id TEXT NOT NULL, product_id TEXT NOT NULL, from_branch TEXT NOT NULL, to_branch TEXT NOT NULL, quantity INTEGER NOT NULL,
                PRIMARY KEY (transfer_id, product_id));
            CREATE INDEX local_stock_transit_from ON local_stock_transit (from_branch, product_id);
            CREATE INDEX local_stock_transit_to ON local_stock_transit (to_branch, product_id);
            CREATE TABLE local_escrow_applied (entry_id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
            CREATE INDEX escrow_entries_by_client ON escrow_entries (client_id, account, kind) WHERE client_id != '';
            """),
        ("domain-9-reports", """
            CREATE INDEX appointments_by_branch_start ON appointments (
                branch_id, starts_at, status, late_cancellation, client_id, created_at, source, id);
            CREATE INDEX appointments_by_branch_created ON appointments (branch_id, created_at);
            CREATE INDEX local_payment_state_by_time ON local_payment_state (created_at, counts, kind);
            """),
        ("domain-9-report-tables", """
            CREATE TABLE local_sale_lines (
                sale_id TEXT NOT NULL, position INTEGER NOT NULL, kind TEXT NOT NULL, reference TEXT NOT NULL, staff_id TEXT NOT NULL,
                quantity INTEGER NOT NULL, total_minor INTEGER NOT NULL, PRIMARY KEY (sale_id, position)) WITHOUT ROWID;
            CREATE TABLE local_appointment_items (
                appointment_id TEXT NOT NULL, position INTEGER NOT NULL, staff_id TEXT NOT NULL, offering_id TEXT NOT NULL,
                item_start INTEGER NOT NULL, item_end INTEGER NOT NULL, capacity INTEGER NOT NULL, resources TEXT NOT NULL,
                PRIMARY KEY (appointment_id, position)) WITHOUT ROWID;
            """),
        ("domain-10-report-grants", """
            CREATE TABLE report_grants (
                person_id TEXT PRIMARY KEY NOT NULL, branches TEXT NOT NULL DEFAULT '', granted_by TEXT NOT NULL DEFAULT '',
                granted_at INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE local_sites_heard (site TEXT PRIMARY KEY NOT NULL, heard_at INTEGER NOT NULL) WITHOUT ROWID;
            """),
        ("domain-11-report-rollups", ReportRollups.migration),
    ]

    static let replicated: [(String, ReplicatedTableKind)] = [
        ("branches", .lastWriterWins), ("branch_overrides", .lastWriterWins), ("offerings", .lastWriterWins),
        ("resources", .lastWriterWins), ("staff", .lastWriterWins), ("staff_offerings", .lastWriterWins),
        ("staff_overrides", .lastWriterWins), ("staff_time_off", .lastWriterWins), ("clients", .lastWriterWins),
        ("client_notes", .appendOnly), ("appointments", .lastWriterWins), ("appointment_events", .appendOnly),
        ("series", .lastWriterWins), ("waitlist", .lastWriterWins), ("conflict_resolutions", .appendOnly),
        ("people", .lastWriterWins), ("audit_events", .appendOnly),
        ("sales", .appendOnly), ("payments", .appendOnly), ("payment_events", .appendOnly), ("sale_voids", .appendOnly),
        ("drawer_sessions", .appendOnly), ("drawer_movements", .appendOnly), ("z_reports", .appendOnly), ("fiscal_receipts", .appendOnly),
        ("money_resolutions", .appendOnly), ("money_settings", .lastWriterWins),
        ("messaging_settings", .lastWriterWins), ("messaging_senders", .lastWriterWins), ("message_templates", .lastWriterWins),
        ("client_messaging", .lastWriterWins), ("client_consents", .appendOnly), ("telegram_links", .lastWriterWins),
        ("messages", .appendOnly), ("message_events", .appendOnly), ("visit_reviews", .appendOnly), ("calendar_feeds", .lastWriterWins),
        ("products", .lastWriterWins), ("product_branches", .lastWriterWins), ("stock_movements", .appendOnly), ("stock_transfers", .appendOnly),
        ("stocktakes", .appendOnly), ("coupons", .lastWriterWins), ("loyalty_rules", .lastWriterWins), ("gift_cards", .appendOnly),
        ("escrow_entries", .appendOnly), ("escrow_requests", .appendOnly), ("report_grants", .lastWriterWins),
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
