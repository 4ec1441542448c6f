/// Which messages a subject (an appointment, a waitlist offer, a sale) should have now: a pure
/// function of the subject, the client's profile, the business's settings, the channels the
/// sending box has and the messages already made. The sending box runs it when the subject
/// changes and again just before each send, so a reminder for a cancelled, moved or past
/// appointment is never sent (docs/messaging.md §3).
struct MessagePlanner {
    /// A message as the planner wants it.
    struct Planned: Hashable {
        var id: String
        var kind: MessageKind
        var variant: String
        var channel: MessageChannel?
        var recipient: String
        var language: String
        var dueAt: Instant
        var notAfter: Instant
    }

    /// A message already made for the subject.
    struct Existing: Hashable {
        var id: String
        var kind: MessageKind
        var variant: String
        var channel: MessageChannel?
        var state: MessageState
        var reason: String
    }

    enum Subject {
        case appointment(Appointment, reschedules: [AppointmentEvent])
        case waitlistOffer(id: String, start: Instant, offeredAt: Instant, holdMinutes: Int)
        case receipt(id: String, at: Instant)
    }

    var subjectID: String
    var subject: Subject
    var branch: Branch
    var profile: ClientMessaging?
    var settings: MessagingSettings
    /// The channels the sending box can send by.
    var channels: Set<MessageChannel>
    var existing: [Existing]
    var now: Instant

    static func messageID(subject: String, kind: MessageKind, variant: String, channel: MessageChannel?, due: Instant) -> String {
        derivedKey(["message", subject, kind.rawValue, variant, channel?.rawValue ?? "none"], milliseconds: UInt64(max(1, due.milliseconds)))
    }

    var language: String {
        let chosen = profile?.language ?? ""
        if MessageTemplate.languages.contains(chosen) { return chosen }
        // A locale like `ru-KZ` speaks its language.
        let locale = String(branch.locale.lowercased().prefix { $0.isLetter })
        return MessageTemplate.languages.contains(locale) ? locale : "en"
    }

    /// A message was (or may have been) delivered for this kind and variant.
    func reached(_ kind: MessageKind) -> Bool {
        existing.contains { $0.kind == kind && ([.sending, .sent, .delivered, .read].contains($0.state) || ($0.state == .failed && $0.reason.hasPrefix("outcome_unknown"))) }
    }

    /// The channel for a logical message: the first of the order the box has, the client has an
    /// address on, allows, and that has not refused this message already.
    func channel(for kind: MessageKind, variant: String) -> (MessageChannel, String)? {
        guard let profile else { return nil }
        let purpose: ClientConsent.Purpose = kind == .reviewRequest ? .marketing : .transactional
        let order = profile.channelOrder.isEmpty ? settings.channelOrder : profile.channelOrder
        let refused = Set(existing.filter { $0.kind == kind && $0.variant == variant && $0.state == .failed && $0.reason.hasPrefix("rejected") }.compactMap(\.channel))
        for channel in order where channels.contains(channel) && !refused.contains(channel) {
            let address = profile.address(channel)
            guard !address.isEmpty, profile.allows(channel, purpose) else { continue }
            return (channel, address)
        }
        return nil
    }

    /// The messages the subject should have now.
    func plan() -> [Planned] {
        var wanted: [(MessageKind, String, Instant, Instant)] = []   // kind, variant, due, not after
        switch subject {
        case .appointment(let appointment, let reschedules):
            let start = appointment.start
            let live: Set<AppointmentStatus> = [.confirmed, .checkedIn]
            if live.contains(appointment.status) || appointment.status == .requested {
                if appointment.status != .requested || appointment.source != .online {
                    wanted.append((.confirmation, "1", appointment.createdAt, start))
                }
            }
            if [.confirmed, .requested].contains(appointment.status), let change = latestChange(appointment, reschedules) {
                wanted.append((.change, change.id, change.at, start))
            }
            if appointment.status == .cancelled, reached(.confirmation) || reached(.change) {
                wanted.append((.cancellation, "1", cancelledAt(reschedules: reschedules, appointment) ?? now, start))
            }
            if [.confirmed, .requested].contains(appointment.status) {
                for offset in settings.reminderOffsetsMinutes {
                    let due = start.adding(minutes: -offset)
                    guard due > appointment.createdAt.adding(minutes: 1) else { continue }
                    wanted.append((.reminder, "\(offset)m@\(start.milliseconds)", due, start.adding(minutes: -settings.minReminderLeadMinutes)))
                }
            }
            if appointment.status == .completed {
                let due = appointment.end.adding(minutes: settings.reviewDelayMinutes)
                wanted.append((.reviewRequest, "1", due, due.adding(minutes: settings.reviewExpiryHours * 60)))
            }
        case .waitlistOffer(_, let start, let offeredAt, let holdMinutes):
            wanted.append((.waitlistOffer, "\(offeredAt.milliseconds)", offeredAt, min(start, offeredAt.adding(minutes: max(holdMinutes, 60)))))
        case .receipt(_, let at):
            wanted.append((.receipt, "1", at, at.adding(minutes: 7 * 24 * 60)))
        }
        var planned: [Planned] = []
        for (kind, variant, due, notAfter) in wanted {
            guard settings.isOn(kind), profile.map({ !$0.kindsOff.contains(kind) }) ?? true else { continue }
            let chosen = channel(for: kind, variant: variant)
            planned.append(Planned(id: Self.messageID(subject: subjectID, kind: kind, variant: variant, channel: chosen?.0, due: due), kind: kind,
                                   variant: variant, channel: chosen?.0, recipient: chosen?.1 ?? "", language: language, dueAt: due, notAfter: notAfter))
        }
        return planned
    }

    /// Why an existing, unsent message is no longer wanted.
    func reason(notWanting message: Existing, wanted: [Planned]) -> String {
        if !settings.isOn(message.kind) || profile?.kindsOff.contains(message.kind) == true { return "kind_off" }
        if wanted.contains(where: { $0.kind == message.kind && $0.variant == message.variant }) {
            if let profile, let channel = message.channel, profile.address(channel).isEmpty || !profile.allows(channel, message.kind == .reviewRequest ? .marketing : .transactional) {
                return "client_opted_out"
            }
            return "channel_changed"
        }
        if case .appointment(let appointment, _) = subject {
            if [.cancelled, .rejected, .noShow].contains(appointment.status) { return "appointment_cancelled" }
            if message.kind == .reminder, !message.variant.hasSuffix("@\(appointment.start.milliseconds)") { return "appointment_moved" }
            if message.kind == .change { return "superseded" }
            if appointment.start < now { return "appointment_past" }
        }
        return "not_needed"
    }

    /// Why a message a person resent no longer goes (its appointment cancelled or over), or nil: it goes.
    func reason(notResending message: Existing) -> String? {
        guard case .appointment(let appointment, _) = subject, [.confirmation, .change, .reminder].contains(message.kind) else { return nil }
        if [.cancelled, .rejected, .noShow].contains(appointment.status) { return "appointment_cancelled" }
        if appointment.start < now { return "appointment_past" }
        return nil
    }

    /// The latest move or staff change worth telling the client about (after the threshold).
    func latestChange(_ appointment: Appointment, _ reschedules: [AppointmentEvent]) -> AppointmentEvent? {
        guard let last = reschedules.filter({ $0.action == "rescheduled" }).max(by: { ($0.at, $0.id) < ($1.at, $1.id) }) else { return nil }
        if settings.changeThresholdMinutes > 0, let old = Self.oldStart(of: last) {
            let moved = abs(appointment.start.minutes(since: old))
            if moved != 0 && moved <= settings.changeThresholdMinutes { return nil }
        }
        return last
    }

    func cancelledAt(reschedules: [AppointmentEvent], _ appointment: Appointment) -> Instant? {
        reschedules.last(where: { $0.toStatus == .cancelled })?.at
    }

    /// The start before a `rescheduled` event (its detail reads `<old ISO> → <new local>`).
    static func oldStart(of event: AppointmentEvent) -> Instant? {
        guard let arrow = event.detail.range(of: " → ") else { return nil }
        return Instant(iso8601: String(event.detail[..<arrow.lowerBound]))
    }
}
