/// The built-in templates, used until the owner edits one (docs/messaging.md). Telegram, SMS and
/// WhatsApp share a text; email adds a subject; WhatsApp names the approved template
/// `edgenode_<kind>` with the parameters first name, services, start, branch.
enum DefaultTemplates {
    private static let texts: [MessageKind: [String: (subject: String, body: String)]] = [
        .confirmation: [
            "ru": ("Запись подтверждена: {start}",
                   "{first_name}, вы записаны: {services}, {start_date} в {start_time} ({time_zone}). {staff_name}. {branch_name}, {branch_address}. Номер записи {code}."),
            "kk": ("Жазылу расталды: {start}",
                   "{first_name}, сіз жазылдыңыз: {services}, {start_date}, {start_time} ({time_zone}). {staff_name}. {branch_name}, {branch_address}. Жазылу нөмірі {code}."),
            "en": ("Booking confirmed: {start}",
                   "{first_name}, you are booked: {services}, {start_date} at {start_time} ({time_zone}) with {staff_name}. {branch_name}, {branch_address}. Booking {code}."),
        ],
        .change: [
            "ru": ("Запись изменена: {start}",
                   "{first_name}, ваша запись изменена: {services}, теперь {start_date} в {start_time} ({time_zone}), мастер {staff_name}. {branch_name}. Номер записи {code}."),
            "kk": ("Жазылу өзгерді: {start}",
                   "{first_name}, жазылуыңыз өзгерді: {services}, енді {start_date}, {start_time} ({time_zone}), шебер {staff_name}. {branch_name}. Жазылу нөмірі {code}."),
            "en": ("Booking changed: {start}",
                   "{first_name}, your booking has changed: {services}, now {start_date} at {start_time} ({time_zone}) with {staff_name}. {branch_name}. Booking {code}."),
        ],
        .cancellation: [
            "ru": ("Запись отменена", "{first_name}, запись на {services} {start_date} в {start_time} отменена. {branch_name}, {branch_phone}."),
            "kk": ("Жазылу бас тартылды", "{first_name}, {services} қызметіне {start_date}, {start_time} жазылу бас тартылды. {branch_name}, {branch_phone}."),
            "en": ("Booking cancelled", "{first_name}, your booking for {services} on {start_date} at {start_time} is cancelled. {branch_name}, {branch_phone}."),
        ],
        .reminder: [
            "ru": ("Напоминание: {start}",
                   "{first_name}, напоминаем: через {hours_until, plural, one {# час} few {# часа} many {# часов} other {# часа}} — {services}, {start_date} в {start_time} ({time_zone}). {branch_name}, {branch_address}."),
            "kk": ("Еске салу: {start}",
                   "{first_name}, еске саламыз: {hours_until, plural, one {# сағаттан} other {# сағаттан}} кейін — {services}, {start_date}, {start_time} ({time_zone}). {branch_name}, {branch_address}."),
            "en": ("Reminder: {start}",
                   "{first_name}, a reminder: in {hours_until, plural, one {# hour} other {# hours}}, {services} on {start_date} at {start_time} ({time_zone}). {branch_name}, {branch_address}."),
        ],
        .waitlistOffer: [
            "ru": ("Освободилось время: {start}",
                   "{first_name}, освободилось время: {services}, {start_date} в {start_time} ({time_zone}). Чтобы записаться, позвоните {branch_phone} и назовите код {code}."),
            "kk": ("Бос уақыт бар: {start}",
                   "{first_name}, бос уақыт шықты: {services}, {start_date}, {start_time} ({time_zone}). Жазылу үшін {branch_phone} нөміріне қоңырау шалып, {code} кодын айтыңыз."),
            "en": ("A time is free: {start}",
                   "{first_name}, a time has come free: {services}, {start_date} at {start_time} ({time_zone}). To take it, call {branch_phone} and give the code {code}."),
        ],
        .reviewRequest: [
            "ru": ("Как прошёл визит?", "{first_name}, спасибо, что были у нас в {branch_name}! {rating_prompt}"),
            "kk": ("Сапарыңыз қалай өтті?", "{first_name}, {branch_name} келгеніңізге рахмет! {rating_prompt}"),
            "en": ("How was your visit?", "{first_name}, thank you for visiting {branch_name}! {rating_prompt}"),
        ],
        .receipt: [
            "ru": ("Ваш чек {code}", "{first_name}, спасибо за покупку в {branch_name}. Сумма {price}. Чек: {link}"),
            "kk": ("Сіздің чегіңіз {code}", "{first_name}, {branch_name} сатып алғаныңызға рахмет. Сомасы {price}. Чек: {link}"),
            "en": ("Your receipt {code}", "{first_name}, thank you for your purchase at {branch_name}. Total {price}. Receipt: {link}"),
        ],
    ]

    /// The reply a review request asks for, per language.
    static let ratingPrompt: [String: String] = [
        "ru": "Ответьте на это сообщение оценкой от 1 до 5 и, если хотите, комментарием.",
        "kk": "Осы хабарламаға 1-ден 5-ке дейін баға және қаласаңыз пікір жазып жауап беріңіз.",
        "en": "Reply to this message with a rating from 1 to 5 and, if you like, a comment.",
    ]

    static func template(_ kind: MessageKind, _ channel: MessageChannel, _ language: String) -> MessageTemplate {
        let text = texts[kind]?[language] ?? texts[kind]?["en"] ?? ("", "")
        return MessageTemplate(kind: kind, channel: channel, language: language, subject: channel == .email ? text.subject : "", body: text.body,
                               providerTemplate: channel == .whatsapp ? "edgenode_\(kind.rawValue)" : "",
                               providerParameters: channel == .whatsapp ? ["first_name", "services", "start", "branch_name"] : [], customised: false)
    }
}
