/// Names, phone numbers and notes for the demo's clients and guests: people of Atyrau, with
/// Kazakh names (in Kazakh spelling, and in the Russian spelling many documents still use) and
/// Russian, Korean, Tatar and Ukrainian names.
enum DemoPeople {
    enum Gender {
        case female, male
    }

    struct Person {
        var firstName: String
        var surname: String
        var gender: Gender
        var name: String { firstName + " " + surname }
    }

    /// Kazakh first names: (Kazakh spelling, Russian spelling).
    static let kazakhWomen: [(String, String)] = [
        ("Айгерім", "Айгерим"), ("Әсем", "Асем"), ("Гүлнар", "Гульнар"), ("Жансая", "Жансая"), ("Мөлдір", "Молдир"),
        ("Назерке", "Назерке"), ("Ақбота", "Акбота"), ("Аружан", "Аружан"), ("Балнұр", "Балнур"), ("Гүлжан", "Гульжан"),
        ("Жұлдыз", "Жулдыз"), ("Қарлығаш", "Карлыгаш"), ("Меруерт", "Меруерт"), ("Салтанат", "Салтанат"), ("Сәуле", "Сауле"),
        ("Томирис", "Томирис"), ("Ұлжан", "Улжан"), ("Шолпан", "Шолпан"), ("Іңкәр", "Инкар"), ("Айжан", "Айжан"),
        ("Ботагөз", "Ботагоз"), ("Ләззат", "Ляззат"), ("Нұргүл", "Нургуль"), ("Зуһра", "Зухра"), ("Динара", "Динара"),
        ("Әлия", "Алия"), ("Дана", "Дана"), ("Камила", "Камила"), ("Айнұр", "Айнур"), ("Мадина", "Мадина"),
        ("Гүлмира", "Гульмира"), ("Ақмарал", "Акмарал"),
    ]

    static let kazakhMen: [(String, String)] = [
        ("Ерлан", "Ерлан"), ("Нұрлан", "Нурлан"), ("Асқар", "Аскар"), ("Бауыржан", "Бауыржан"), ("Дәурен", "Даурен"),
        ("Ержан", "Ержан"), ("Қайрат", "Кайрат"), ("Мұрат", "Мурат"), ("Серік", "Серик"), ("Талғат", "Талгат"),
        ("Ғалым", "Галым"), ("Жандос", "Жандос"), ("Әділет", "Адилет"), ("Арман", "Арман"), ("Рүстем", "Рустем"),
        ("Айдос", "Айдос"),
    ]

    /// Kazakh surnames in the masculine form: (Kazakh spelling, Russian spelling).
    static let kazakhSurnames: [(String, String)] = [
        ("Нұрланов", "Нурланов"), ("Сапаров", "Сапаров"), ("Жұмабаев", "Жумабаев"), ("Қасымов", "Касымов"), ("Ахметов", "Ахметов"),
        ("Оспанов", "Оспанов"), ("Серікбаев", "Серикбаев"), ("Әбенов", "Абенов"), ("Құрманов", "Курманов"), ("Исабеков", "Исабеков"),
        ("Мұқанов", "Муканов"), ("Байжанов", "Байжанов"), ("Есенов", "Есенов"), ("Тұрсынов", "Турсынов"), ("Ғабдуллин", "Габдуллин"),
        ("Нұрпейісов", "Нурпеисов"), ("Омаров", "Омаров"), ("Сейітов", "Сеитов"), ("Жақсылықов", "Жаксылыков"), ("Үсенов", "Усенов"),
        ("Дүйсенов", "Дюсенов"), ("Төлегенов", "Тулегенов"), ("Қалиев", "Калиев"), ("Бисенов", "Бисенов"), ("Шәкенов", "Шакенов"),
        ("Ізбасаров", "Избасаров"), ("Мақсұтов", "Максутов"), ("Аманғалиев", "Амангалиев"), ("Хасанов", "Хасанов"), ("Ермеков", "Ермеков"),
    ]

    /// Fathers' names for the patronymic surnames some young Kazakhs use (-ұлы, -қызы).
    static let fathers = ["Серік", "Ерлан", "Мұрат", "Нұрлан", "Асқар", "Бақыт", "Жанат", "Ғалым"]

    static let russianWomen = [
        "Ольга", "Елена", "Татьяна", "Наталья", "Ирина", "Светлана", "Анна", "Мария", "Екатерина", "Юлия", "Анастасия",
        "Марина", "Людмила", "Валентина", "Оксана", "Галина", "Ксения", "Дарья", "Виктория", "Алёна", "Вера", "Надежда",
    ]

    static let russianMen = ["Алексей", "Сергей", "Дмитрий", "Андрей", "Игорь", "Владимир", "Николай", "Павел", "Евгений", "Максим"]

    static let russianSurnames = [
        "Смирнов", "Иванов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров",
        "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев",
        "Орлов", "Андреев", "Макаров", "Захаров", "Зайцев", "Белов", "Медведев", "Антонов", "Тарасов", "Ершов",
    ]

    /// Korean, Tatar and Ukrainian surnames common in western Kazakhstan (with Russian first names).
    static let otherSurnames = ["Ким", "Пак", "Цой", "Ли", "Хабибуллин", "Сафин", "Шевченко", "Бондаренко", "Ткаченко"]

    /// The feminine form of a surname that declines (-ов, -ев, -ёв, -ин); others stay as they are.
    static func feminine(_ surname: String) -> String {
        ["ов", "ев", "ёв", "ин"].contains { surname.hasSuffix($0) } ? surname + "а" : surname
    }

    /// A person of Atyrau: about 60% Kazakh (a quarter of them spelled the Russian way, a few with
    /// a patronymic surname), 33% Russian, the rest Korean, Tatar or Ukrainian.
    static func person(_ gender: Gender, _ random: inout SplitMix64) -> Person {
        let roll = random.int(0...99)
        if roll < 60 {
            let russianSpelling = random.chance(25)
            let first = (gender == .female ? random.pick(kazakhWomen) : random.pick(kazakhMen)) ?? ("Айгерім", "Айгерим")
            let firstName = russianSpelling ? first.1 : first.0
            if !russianSpelling, random.chance(8), let father = random.pick(fathers) {
                return Person(firstName: firstName, surname: father + (gender == .female ? "қызы" : "ұлы"), gender: gender)
            }
            let surnames = random.pick(kazakhSurnames) ?? ("Сапаров", "Сапаров")
            let surname = russianSpelling ? surnames.1 : surnames.0
            return Person(firstName: firstName, surname: gender == .female ? feminine(surname) : surname, gender: gender)
        }
        let firstName = (gender == .female ? random.pick(russianWomen) : random.pick(russianMen)) ?? "Ольга"
        let surname = (roll < 93 ? random.pick(russianSurnames) : random.pick(otherSurnames)) ?? "Смирнов"
        return Person(firstName: firstName, surname: gender == .female ? feminine(surname) : surname, gender: gender)
    }

    /// Kazakhstan mobile prefixes (Kcell, Beeline, Tele2, Altel) with rough market weights.
    static let mobilePrefixes: [(String, Int)] = [
        ("701", 14), ("702", 8), ("775", 8), ("778", 6), ("705", 10), ("777", 14), ("771", 5), ("776", 4),
        ("707", 12), ("747", 10), ("708", 4), ("700", 5),
    ]

    /// Ten national digits (`7XXXXXXXXX`) not in `used`; the caller adds it to `used`.
    static func mobileNumber(_ random: inout SplitMix64, avoiding used: Set<String>) -> String {
        while true {
            let prefix = random.weighted(mobilePrefixes) ?? "701"
            let subscriber = random.int(2_000_000...9_999_999)
            let national = prefix + String(subscriber)
            if !used.contains(national) { return national }
        }
    }

    /// The number as a front desk might type it: `8 701 234 56 78`, `+7 (701) 234-56-78`, `87012345678`.
    static func typed(_ national: String, _ random: inout SplitMix64) -> String {
        let digits = Array(national)
        let code = String(digits[0..<3]), a = String(digits[3..<6]), b = String(digits[6..<8]), c = String(digits[8..<10])
        switch random.int(0...3) {
        case 0: return "8 \(code) \(a) \(b) \(c)"
        case 1: return "+7 (\(code)) \(a)-\(b)-\(c)"
        case 2: return "8" + national
        default: return "+7" + national
        }
    }

    static let emailDomains: [(String, Int)] = [("mail.ru", 35), ("gmail.com", 35), ("mail.kz", 15), ("inbox.ru", 5), ("yandex.kz", 10)]

    /// An email address made from the transliterated name.
    static func email(for person: Person, _ random: inout SplitMix64) -> String {
        let first = transliterate(person.firstName), last = transliterate(person.surname)
        let domain = random.weighted(emailDomains) ?? "mail.ru"
        switch random.int(0...3) {
        case 0: return "\(first).\(last)@\(domain)"
        case 1: return "\(first)_\(last.prefix(1))\(random.int(70...99))@\(domain)"
        case 2: return "\(last)\(first.prefix(1))@\(domain)"
        default: return "\(first)\(random.int(1...2005))@\(domain)"
        }
    }

    private static let latin: [Character: String] = [
        "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
        "и": "i", "й": "i", "і": "i", "к": "k", "қ": "k", "л": "l", "м": "m", "н": "n", "ң": "n", "о": "o", "ө": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u", "ф": "f", "х": "kh", "һ": "h", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    ]

    static func transliterate(_ text: String) -> String {
        text.lowercased().map { latin[$0] ?? ($0.isASCII && ($0.isLetter || $0.isNumber) ? String($0) : "") }.joined()
    }

    static let tags: [(String, Int)] = [
        ("постоянный клиент", 30), ("VIP", 6), ("новый клиент", 15), ("Instagram", 14), ("2ГИС", 8),
        ("по рекомендации", 10), ("аллергия", 4), ("студенческая скидка", 6), ("сертификат", 3),
    ]

    static let preferences = [
        "Чай без сахара, зелёный.", "Предпочитает утренние часы.", "Удобно после 18:00, работает в Тенгизшевройл.",
        "Қазақша сөйлесуді жөн көреді.", "Не любит разговаривать во время процедуры.", "Аллергия на аммиачные красители.",
        "Чувствительная кожа.", "Оплачивает через Kaspi QR.", "Напоминания только в WhatsApp.", "Кофе с молоком.",
        "Приходит с ребёнком, нужен детский уголок.", "Telegram вместо звонков.",
    ]

    static let notes = [
        "Просила напомнить о коррекции бровей через 4 недели.",
        "Формула окрашивания: 7.1 + 6% оксид 1:1, выдержка 35 минут.",
        "Была недовольна формой стрижки — исправили бесплатно.",
        "Аллергия на латекс — работать только в нитриловых перчатках.",
        "Понравилось покрытие «кошачий глаз», хочет повторить.",
        "Обычно опаздывает на 10–15 минут, ставить с запасом.",
        "Подарочный сертификат на 10 000 ₸, использовано 7 000 ₸.",
        "Клиент келесі жолы тек Жанарға жазылғысы келеді.",
        "Чувствительная кожа лица, без кислотного пилинга.",
        "Записывает также дочь, 9 лет, детская стрижка.",
        "Ламинирование держалось 6 недель, доволен результатом.",
        "Попросила не предлагать дополнительные услуги.",
        "Хочет перейти на более светлый оттенок постепенно.",
        "Тырнақтары жұқа, ұзартуды қысқа қалдыру керек.",
        "Оставила отзыв в 2ГИС, поблагодарить при следующем визите.",
        "Предпочитает гипоаллергенный клей для ресниц.",
    ]

    static let specialRequests = [
        "Если можно, без запаха лака.", "Буду с коляской.", "Нужен чек для работы.", "Пожалуйста, позвоните за час.",
        "Хочу такой же цвет, как в прошлый раз.", "Первый раз у вас.", "Можно на казахском?",
    ]

    static let earlyCancelReasons = ["Планы изменились", "Уезжаю в командировку", "Перенесу на другой день", "Жоспарым өзгерді"]
    static let lateCancelReasons = ["Не успеваю с работы", "Ребёнок заболел", "Пробка на мосту", "Плохо себя чувствую"]
}
