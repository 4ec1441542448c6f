import Domain
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `GET /v1/events`: Server-Sent Events for every committed change the caller may see — local
/// writes and changes merged from other replicas alike. Each event's `id` is the change log's
/// sequence number; reconnecting with `Last-Event-ID` (or `?after=`) resumes right after it.
/// If the log no longer reaches back that far, the stream starts with a `reset` event telling
/// the tablet to reload.
enum EventStream {
    /// What one table's changes are called on the stream, and who may see them.
    static func kind(of table: String) -> (type: String, permission: Permission)? {
        switch table {
        case "appointments": ("appointment", .appointmentsRead)
        case "clients": ("client", .clientsRead)
        case "client_notes": ("client_note", .clientsRead)
        case "series": ("series", .appointmentsRead)
        case "waitlist": ("waitlist", .appointmentsRead)
        case "conflict_resolutions": ("conflict_resolution", .conflictsRead)
        case "branches", "branch_overrides": ("branch", .catalogueRead)
        case "offerings": ("service", .catalogueRead)
        case "staff", "staff_offerings", "staff_overrides", "staff_time_off": ("staff", .catalogueRead)
        case "resources": ("resource", .catalogueRead)
        case "people": ("person", .devicesManage)
        case "sales", "sale_voids": ("sale", .moneyRead)
        case "payments", "payment_events": ("payment", .moneyRead)
        case "money_resolutions": ("money_resolution", .moneyReports)
        case "fiscal_receipts": ("sale", .moneyRead)
        case "drawer_sessions", "drawer_movements", "z_reports": ("drawer", .moneyRead)
        case "messages", "message_events", "visit_reviews": ("message", .messagesRead)
        case "client_messaging", "client_consents": ("client", .clientsRead)
        case "products", "product_branches": ("product", .retailRead)
        case "stock_movements", "stock_transfers", "stocktakes": ("stock", .retailRead)
        case "coupons", "loyalty_rules", "gift_cards", "escrow_entries", "escrow_requests": ("loyalty", .moneyRead)
        default: nil
        }
    }

    struct EventBody: Encodable {
        var sequence: Int64
        var type: String
        var table: String
        var id: String
        var at: String
        /// For appointments: the appointment as it is now (nil once deleted).
        var appointment: AppointmentBody?
    }

    /// `stock_low`: a change of `stock_movements` (written here or merged) left a product's level at a
    /// branch at or below its threshold. `id` is the movement that was the last change of the batch.
    struct StockLowBody: Encodable {
        var sequence: Int64
        var type = "stock_low"
        var table = "stock_movements"
        var id: String
        var at: String
        var product: String
        var name: String
        var branch: String
        var quantity: Int
        var threshold: Int
    }

    /// The low levels (product and branch → quantity) the stream has told about, to tell only what changed.
    struct LowLevels: Sendable {
        var known: [String: Int] = [:]

        /// The levels at or below their threshold now, at every branch.
        static func current(_ shop: Shop) async -> [String: StockLevel] {
            var result: [String: StockLevel] = [:]
            guard let branches = try? await shop.catalogue.branches() else { return [:] }
            for branch in branches {
                for level in (try? await shop.retail.lowStock(branch: branch.id)) ?? [] {
                    result["\(level.productID.rawValue)|\(level.branchID.rawValue)"] = level
                }
            }
            return result
        }

        /// The low levels that are new or moved since the last call (and remembers the current ones).
        mutating func changed(_ shop: Shop) async -> [StockLevel] {
            let now = await Self.current(shop)
            let fresh = now.filter { known[$0.key] != $0.value.quantity }.values.sorted {
                ($0.branchID.rawValue, $0.productID.rawValue) < ($1.branchID.rawValue, $1.productID.rawValue)
            }
            known = now.mapValues(\.quantity)
            return Array(fresh)
        }
    }

    static func handle(_ call: Call) async throws -> Reply {
        let query = call.query()
        let afterParameter = query.raw("after")
        try query.validate()
        let header = call.request.headers[HTTPField.Name("Last-Event-ID")!]
        var requested: Int64?
        for (name, value) in [("Last-Event-ID", header), ("after", afterParameter)] {
            guard let value else { continue }
            guard let parsed = Int64(value.trimmingCharacters(in: .whitespaces)), parsed >= 0 else {
                throw APIError.invalidParameters([FieldError(field: name, message: "must be the id of an event this stream sent (a non-negative integer)")])
            }
            requested = parsed
        }
        let after = requested
        let role = call.role
        let credentials = call.context.credentials
        let shop = call.shop
        let api = call.api
        let latest = try await shop.events.latestSequence()
        let start: (Int64, Bool)
        if let after {
            let oldest = try await shop.events.bounds()?.oldest ?? latest + 1
            // A gap: events after `after` were pruned, or `after` is from another box's stream.
            start = after > latest ? (latest, true) : (after, after + 1 < oldest)
        } else {
            start = (latest, false)
        }
        let stream = ResponseBody { writer in
            var last = start.0
            if start.1 {
                try await writer.write(ByteBuffer(string: "id: \(last)\nevent: reset\ndata: {\"reason\":\"the stream cannot resume from that id; reload\"}\n\n"))
            } else {
                try await writer.write(ByteBuffer(string: "retry: 3000\n: connected\n\n"))
            }
            let wakeUps = shop.changeFeed.changes()
            let credentialChanges = shop.credentialFeed.changes()
            // Revoked between the request's authentication and the subscription just made: end now.
            guard await stillValid(credentials, shop: shop) else {
                try await writer.finish(nil)
                return
            }
            let keepAlive = api.configuration.keepAliveInterval
            // What is low already when the stream starts is not news; stock_low tells what a change makes low.
            let watchesStock = Permission.retailRead.isGranted(to: role)
            var lows = LowLevels()
            if watchesStock { lows.known = await LowLevels.current(shop).mapValues(\.quantity) }
            // One queue of ticks: something committed, idle for `keepAlive`, or credentials may have
            // stopped working (a device revoked, a session ended).
            let (ticks, tick) = AsyncStream<Tick>.makeStream(bufferingPolicy: .bufferingNewest(8))
            try await withGracefulShutdownHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await _ in wakeUps { tick.yield(.changed) }
                        tick.finish()
                    }
                    group.addTask {
                        for await _ in credentialChanges { tick.yield(.credentials) }
                    }
                    group.addTask {
                        while !Task.isCancelled {
                            try await Task.sleep(for: keepAlive)
                            tick.yield(.idle)
                        }
                    }
                    try await drain()
                    reading: for await next in ticks {
                        switch next {
                        case .changed: try await drain()
                        case .idle:
                            // A person's session also ends by expiring, which nothing announces: checked when idle.
                            if credentials?.session != nil, await !stillValid(credentials, shop: shop) { break reading }
                            try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        case .credentials:
                            // The stream ends; the browser's EventSource reconnects and gets 401.
                            if await !stillValid(credentials, shop: shop) { break reading }
                        }
                    }
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                shop.changeFeed.finishAll()
            }

            /// Sends every visible event after `last`.
            func drain() async throws {
                while true {
                    let events = try await shop.events.events(after: last, limit: 200)
                    guard !events.isEmpty else { return }
                    var text = ""
                    var stockChange: ChangeEvent?
                    for event in events {
                        last = event.sequence
                        if event.table == "stock_movements" { stockChange = event }
                        guard let kind = kind(of: event.table), kind.permission.isGranted(to: role) || (role == .kiosk && event.table == "appointments") else { continue }
                        text += try await render(event, kind: kind.type, role: role, api: api)
                    }
                    if watchesStock, let stockChange {
                        for level in await lows.changed(shop) { text += await renderLow(level, after: stockChange, api: api) }
                    }
                    if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }
                }
            }
            try await writer.finish(nil)
        }
        var reply = Reply(status: 200, body: [], contentType: "text/event-stream")
        reply.stream = stream
        reply.extraHeaders = [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")]
        return reply
    }

    enum Tick: Sendable {
        case changed, idle, credentials
    }

    /// Whether the stream's device (and person's session) still authenticate.
    static func stillValid(_ credentials: Credentials?, shop: Shop) async -> Bool {
        guard let credentials else { return true }
        do {
            let device = try await shop.access.authenticateDevice(token: credentials.device)
            if let session = credentials.session { _ = try await shop.access.authenticateSession(token: session, device: device) }
            return true
        } catch let error as DomainError where error.code == .unauthenticated {
            return false
        } catch {
            return true
        }
    }

    static func renderLow(_ level: StockLevel, after event: ChangeEvent, api: LocalAPI) async -> String {
        let name = (try? await api.shop.retail.product(level.productID))?.name(in: "en") ?? ""
        let body = StockLowBody(sequence: event.sequence, id: event.key, at: api.zones.format(event.at, branch: level.branchID), product: level.productID.rawValue,
                                name: name, branch: level.branchID.rawValue, quantity: level.quantity, threshold: level.threshold ?? 0)
        let data = String(decoding: APIEncoding.encode(body), as: UTF8.self)
        return "id: \(event.sequence)\nevent: stock_low\ndata: \(data)\n\n"
    }

    static func render(_ event: ChangeEvent, kind: String, role: Role, api: LocalAPI) async throws -> String {
        var body = EventBody(sequence: event.sequence, type: kind, table: event.table, id: event.key, at: api.zones.format(event.at, branch: nil))
        if event.table == "appointments", let id = AppointmentID(event.key) {
            let appointment = try? await api.shop.calendar.appointment(id)
            body.appointment = appointment.map { AppointmentBody($0, zones: api.zones, redactPersonal: role == .kiosk) }
            if role == .kiosk { body.type = "availability" }
        }
        let data = String(decoding: APIEncoding.encode(body), as: UTF8.self)
        return "id: \(event.sequence)\nevent: \(body.type)\ndata: \(data)\n\n"
    }
}
