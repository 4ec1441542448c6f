/// The values of a template's variables for one message, always in the branch's local time and zone.
struct MessageVariables {
    var text: [String: String] = [:]
    var numbers: [String: Int] = [:]

    static let months: [String: [String]] = [
        "ru": ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"],
        "kk": ["қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз", "қыркүйек", "қазан", "қараша", "желтоқсан"],
        "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
    ]

    static func date(_ instant: Instant, zone: ZoneRules, language: String) -> String {
        let date = zone.localDate(of: instant)
        let month = (months[language] ?? months["en"]!)[max(0, min(11, date.month - 1))]
        return language == "kk" ? "\(date.day) \(month)" : "\(date.day) \(month)"
    }

    static func time(_ instant: Instant, zone: ZoneRules) -> String {
        let minutes = zone.localMinutes(of: instant)
        return String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }

    static func price(_ money: Money) -> String {
        let whole = money.amountMinor / 100, cents = abs(money.amountMinor % 100)
        var digits = String(abs(whole))
        var grouped = ""
        while digits.count > 3 { grouped = "\u{00A0}" + digits.suffix(3) + grouped; digits = String(digits.dropLast(3)) }
        let sign = money.amountMinor < 0 ? "−" : ""
        return sign + digits + grouped + (cents == 0 ? "" : String(format: ".%02d", cents)) + " " + money.currency
    }

    static func firstName(_ name: String) -> String { String(name.split(separator: " ").first ?? "") }

    mutating func setBranch(_ branch: Branch) {
        text["branch_name"] = branch.name
        text["branch_address"] = branch.address
        text["branch_phone"] = branch.phone
        text["time_zone"] = branch.timeZone
    }

    mutating func setStart(_ start: Instant, end: Instant, zone: ZoneRules, language: String, now: Instant) {
        text["start_date"] = Self.date(start, zone: zone, language: language)
        text["start_time"] = Self.time(start, zone: zone)
        text["start"] = "\(text["start_date"]!) \(text["start_time"]!)"
        text["end_time"] = Self.time(end, zone: zone)
        numbers["duration_minutes"] = max(0, end.minutes(since: start))
        numbers["hours_until"] = max(0, Int((Double(start.milliseconds - now.milliseconds) / 3_600_000).rounded()))
    }

    static func forAppointment(_ appointment: Appointment, language: String, history: [AppointmentEvent], now: Instant, in context: some QueryContext) throws -> MessageVariables {
        var values = MessageVariables()
        let branch = try Loader.branch(appointment.branchID, in: context)
        let zone = try ZoneRules.named(branch.timeZone)
        values.setBranch(branch)
        let name: String
        if let client = appointment.clientID { name = (try? Loader.client(client, in: context).name) ?? "" } else { name = appointment.guest?.name ?? "" }
        values.text["client_name"] = name
        values.text["first_name"] = firstName(name)
        var services: [String] = [], staff: [String] = []
        for item in appointment.items {
            services.append((try? Loader.offering(item.offeringID, in: context).name(in: language)) ?? "")
            let person = (try? Loader.staff(item.staffID, in: context).name) ?? ""
            if !staff.contains(person) { staff.append(person) }
        }
        values.text["services"] = services.joined(separator: ", ")
        values.numbers["services_count"] = services.count
        values.text["staff_name"] = staff.joined(separator: ", ")
        values.setStart(appointment.start, end: appointment.end, zone: zone, language: language, now: now)
        values.text["price"] = price(appointment.price)
        values.text["order_number"] = appointment.orderNumber
        values.text["code"] = appointment.orderNumber
        values.text["link"] = ""
        if let change = history.last(where: { $0.action == "rescheduled" }), let old = MessagePlanner.oldStart(of: change) {
            values.text["old_start"] = "\(date(old, zone: zone, language: language)) \(time(old, zone: zone))"
        } else {
            values.text["old_start"] = ""
        }
        values.text["rating_prompt"] = DefaultTemplates.ratingPrompt[language] ?? DefaultTemplates.ratingPrompt["en"]!
        return values
    }

    static func sample(language: String) -> MessageVariables {
        var values = MessageVariables()
        let zone = (try? ZoneRules.named("Asia/Almaty")) ?? (try! ZoneRules.named("UTC"))
        values.text = ["client_name": "Айгерим Сейткали", "first_name": "Айгерим", "services": language == "en" ? "Haircut" : "Стрижка",
                       "staff_name": "Dana", "branch_name": "Salon", "branch_address": "Abay 10", "branch_phone": "+7 727 000 00 00",
                       "time_zone": "Asia/Almaty", "price": price(Money(amountMinor: 1_200_000, currency: "KZT")), "order_number": "K7QD-00042",
                       "code": "K7QD-00042", "link": "https://example.invalid/r/sample", "old_start": "",
                       "rating_prompt": DefaultTemplates.ratingPrompt[language] ?? ""]
        values.numbers["services_count"] = 1
        let start = Instant(milliseconds: 1_796_000_400_000)
        values.setStart(start, end: start.adding(minutes: 45), zone: zone, language: language, now: start.adding(minutes: -24 * 60))
        return values
    }
}
