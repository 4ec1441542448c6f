import Domain

/// The demo salon's catalogue as plain data: a beauty salon on Satpayev Avenue in Atyrau.
enum DemoCatalogue {
    static let timeZone = "Asia/Atyrau"
    static let currency = "KZT"
    static let branchName = "Салон красоты «Ақ Жайық»"
    static let address = "Казахстан, 060011, г. Атырау, пр. Сатпаева, 17А"
    static let phone = "+77122456789"

    /// Mon–Sat 09:00–20:00, Sun 10:00–18:00.
    static let openingHours: [Weekday: [(String, String)]] = [
        .monday: [("09:00", "20:00")], .tuesday: [("09:00", "20:00")], .wednesday: [("09:00", "20:00")],
        .thursday: [("09:00", "20:00")], .friday: [("09:00", "20:00")], .saturday: [("09:00", "20:00")],
        .sunday: [("10:00", "18:00")],
    ]

    enum Category: String, CaseIterable {
        case hair
        case nails
        case browsLashes = "brows_lashes"
        case faceMassage = "face_massage"
    }

    enum ResourceKey: CaseIterable {
        case pedicureChair
        case massageRoom
    }

    struct ResourceSpec {
        var key: ResourceKey
        var name: String
        var kind: String
        var units: Int
    }

    static let resources: [ResourceSpec] = [
        ResourceSpec(key: .pedicureChair, name: "Педикюрное SPA-кресло", kind: "chair", units: 1),
        ResourceSpec(key: .massageRoom, name: "Массажный кабинет", kind: "room", units: 1),
    ]

    enum ServiceKey: CaseIterable {
        case womensCut, mensCut, kidsCut, colouring, styling
        case gelManicure, classicManicure, gelPedicure, nailExtension
        case browShaping, browLamination, lashExtension
        case facialCleansing, backMassage, faceFitness
    }

    /// Who a service is usually booked for (the demo picks a matching client).
    enum Audience {
        case women, men, anyone
    }

    struct ServiceSpec {
        var key: ServiceKey
        var category: Category
        var en: String
        var ru: String
        var kk: String
        var descriptionEn: String
        var descriptionRu: String
        var minutes: Int
        /// Whole tenge; stored ×100 in tiyn.
        var priceTenge: Int64
        var bufferBefore = 0
        var bufferAfter = 0
        var step = 15
        var capacity = 1
        var resources: [ResourceKey] = []
        /// How often it is booked, relative to the others.
        var demand: Int
        var audience: Audience = .women
    }

    static let services: [ServiceSpec] = [
        // Hair
        ServiceSpec(key: .womensCut, category: .hair, en: "Women's haircut", ru: "Женская стрижка", kk: "Әйелдер шаш қиюы",
                    descriptionEn: "Wash, cut and blow-dry.", descriptionRu: "Мытьё, стрижка и сушка феном.",
                    minutes: 60, priceTenge: 8_000, bufferAfter: 10, demand: 16),
        ServiceSpec(key: .mensCut, category: .hair, en: "Men's haircut", ru: "Мужская стрижка", kk: "Ерлер шаш қиюы",
                    descriptionEn: "Clipper and scissor cut, wash included.", descriptionRu: "Стрижка машинкой и ножницами, мытьё головы.",
                    minutes: 45, priceTenge: 5_000, demand: 10, audience: .men),
        ServiceSpec(key: .kidsCut, category: .hair, en: "Kids' haircut (under 12)", ru: "Детская стрижка (до 12 лет)", kk: "Балалар шаш қиюы (12 жасқа дейін)",
                    descriptionEn: "For children under twelve.", descriptionRu: "Для детей до двенадцати лет.",
                    minutes: 30, priceTenge: 3_500, demand: 4, audience: .anyone),
        ServiceSpec(key: .colouring, category: .hair, en: "Hair colouring, one tone", ru: "Окрашивание в один тон", kk: "Шашты бір түске бояу",
                    descriptionEn: "Root-to-tip colour, medium length; materials included.", descriptionRu: "Окрашивание по всей длине, средние волосы, с материалами.",
                    minutes: 120, priceTenge: 20_000, bufferBefore: 10, bufferAfter: 15, demand: 7),
        ServiceSpec(key: .styling, category: .hair, en: "Blow-dry and styling", ru: "Укладка", kk: "Шаш сәндеу",
                    descriptionEn: "Blow-dry, curls or waves for an event.", descriptionRu: "Укладка феном, локоны или волны к мероприятию.",
                    minutes: 45, priceTenge: 6_000, demand: 6),
        // Nails
        ServiceSpec(key: .gelManicure, category: .nails, en: "Manicure with gel polish", ru: "Маникюр с покрытием гель-лак", kk: "Гель-лакпен маникюр",
                    descriptionEn: "Combined manicure and long-lasting gel polish.", descriptionRu: "Комбинированный маникюр и стойкое покрытие гель-лаком.",
                    minutes: 90, priceTenge: 7_000, bufferAfter: 10, demand: 18),
        ServiceSpec(key: .classicManicure, category: .nails, en: "Classic manicure", ru: "Классический маникюр", kk: "Классикалық маникюр",
                    descriptionEn: "Trimmed manicure without polish.", descriptionRu: "Обрезной маникюр без покрытия.",
                    minutes: 45, priceTenge: 4_000, demand: 6, audience: .anyone),
        ServiceSpec(key: .gelPedicure, category: .nails, en: "Pedicure with gel polish", ru: "Педикюр с покрытием гель-лак", kk: "Гель-лакпен педикюр",
                    descriptionEn: "Hardware pedicure in the SPA chair, gel polish.", descriptionRu: "Аппаратный педикюр в SPA-кресле, покрытие гель-лаком.",
                    minutes: 90, priceTenge: 9_000, bufferAfter: 15, resources: [.pedicureChair], demand: 9),
        ServiceSpec(key: .nailExtension, category: .nails, en: "Gel nail extensions", ru: "Наращивание ногтей гелем", kk: "Тырнақты гельмен ұзарту",
                    descriptionEn: "Extensions on forms, any length, single-colour finish.", descriptionRu: "Наращивание на формы, любая длина, однотонное покрытие.",
                    minutes: 150, priceTenge: 13_000, bufferAfter: 10, demand: 4),
        // Brows and lashes
        ServiceSpec(key: .browShaping, category: .browsLashes, en: "Brow shaping and tint", ru: "Коррекция и окрашивание бровей", kk: "Қас түзету және бояу",
                    descriptionEn: "Shape with wax or thread and henna tint.", descriptionRu: "Коррекция воском или нитью и окрашивание хной.",
                    minutes: 45, priceTenge: 5_000, demand: 9),
        ServiceSpec(key: .browLamination, category: .browsLashes, en: "Brow lamination", ru: "Ламинирование бровей", kk: "Қасты ламинациялау",
                    descriptionEn: "Long-lasting brow styling with tint.", descriptionRu: "Долговременная укладка бровей с окрашиванием.",
                    minutes: 60, priceTenge: 8_000, demand: 4),
        ServiceSpec(key: .lashExtension, category: .browsLashes, en: "Classic lash extensions", ru: "Наращивание ресниц (классика)", kk: "Кірпік ұзарту (классика)",
                    descriptionEn: "One extension per natural lash.", descriptionRu: "Одна искусственная ресница на каждую натуральную.",
                    minutes: 120, priceTenge: 12_000, bufferBefore: 5, bufferAfter: 10, demand: 5),
        // Face and massage
        ServiceSpec(key: .facialCleansing, category: .faceMassage, en: "Facial cleansing", ru: "Чистка лица", kk: "Бетті тазалау",
                    descriptionEn: "Combined cleansing with a soothing mask.", descriptionRu: "Комбинированная чистка с успокаивающей маской.",
                    minutes: 75, priceTenge: 15_000, bufferAfter: 15, demand: 4),
        ServiceSpec(key: .backMassage, category: .faceMassage, en: "Back massage", ru: "Массаж спины", kk: "Арқа массажы",
                    descriptionEn: "Classic back and neck massage in the massage room.", descriptionRu: "Классический массаж спины и шеи в массажном кабинете.",
                    minutes: 45, priceTenge: 8_000, bufferAfter: 15, resources: [.massageRoom], demand: 5, audience: .anyone),
        ServiceSpec(key: .faceFitness, category: .faceMassage, en: "Face fitness (group class)", ru: "Фейсфитнес (групповое занятие)", kk: "Фейсфитнес (топтық сабақ)",
                    descriptionEn: "Facial exercises in a small group of up to four.", descriptionRu: "Упражнения для лица в мини-группе до четырёх человек.",
                    minutes: 60, priceTenge: 4_000, step: 60, capacity: 4, resources: [.massageRoom], demand: 4),
    ]

    enum StaffKey: CaseIterable {
        case dinara, svetlana, zhanar, aliya, marzhan
    }

    struct StaffSpec {
        var key: StaffKey
        var name: String
        /// The form used in client preferences ("Любимый мастер — …").
        var firstName: String
        var schedule: [Weekday: [(String, String)]]
        var breaks: [Weekday: [(String, String)]]
    }

    static let staff: [StaffSpec] = [
        // Senior stylist: weekdays early, short Saturday, Sunday off.
        StaffSpec(key: .dinara, name: "Динара Касымова", firstName: "Динара",
                  schedule: days([.monday, .tuesday, .wednesday, .thursday, .friday], ("09:00", "18:00")).merging([.saturday: [("10:00", "16:00")]]) { $1 },
                  breaks: days([.monday, .tuesday, .wednesday, .thursday, .friday], ("13:00", "14:00")).merging([.saturday: [("13:00", "13:30")]]) { $1 }),
        // Stylist and colourist: late shifts, Monday off.
        StaffSpec(key: .svetlana, name: "Светлана Ким", firstName: "Светлана",
                  schedule: days([.tuesday, .wednesday, .thursday, .friday, .saturday], ("11:00", "20:00")).merging([.sunday: [("10:00", "18:00")]]) { $1 },
                  breaks: days([.tuesday, .wednesday, .thursday, .friday, .saturday], ("15:00", "15:45")).merging([.sunday: [("14:00", "14:30")]]) { $1 }),
        // Nail master: Tuesday off.
        StaffSpec(key: .zhanar, name: "Жанар Өтепова", firstName: "Жанар",
                  schedule: days([.monday, .wednesday, .thursday, .friday, .saturday], ("09:00", "18:00")).merging([.sunday: [("10:00", "18:00")]]) { $1 },
                  breaks: days([.monday, .wednesday, .thursday, .friday, .saturday, .sunday], ("13:00", "13:45"))),
        // Nails, brows and lashes: afternoons on weekdays, Saturday early, Sunday off.
        StaffSpec(key: .aliya, name: "Алия Серікова", firstName: "Алия",
                  schedule: days([.monday, .tuesday, .wednesday, .thursday, .friday], ("12:00", "20:00")).merging([.saturday: [("09:00", "17:00")]]) { $1 },
                  breaks: days([.monday, .tuesday, .wednesday, .thursday, .friday], ("16:00", "16:30")).merging([.saturday: [("13:00", "13:30")]]) { $1 }),
        // Cosmetologist and massage therapist: Monday and Tuesday off.
        StaffSpec(key: .marzhan, name: "Маржан Әбенова", firstName: "Маржан",
                  schedule: days([.wednesday, .thursday, .friday, .saturday], ("10:00", "19:00")).merging([.sunday: [("10:00", "18:00")]]) { $1 },
                  breaks: days([.wednesday, .thursday, .friday, .saturday, .sunday], ("14:00", "15:00"))),
    ]

    struct AssignmentSpec {
        var staff: StaffKey
        var service: ServiceKey
        var minutes: Int? = nil
        var priceTenge: Int64? = nil
    }

    static let assignments: [AssignmentSpec] = [
        AssignmentSpec(staff: .dinara, service: .womensCut, priceTenge: 10_000),
        AssignmentSpec(staff: .dinara, service: .mensCut),
        AssignmentSpec(staff: .dinara, service: .kidsCut),
        AssignmentSpec(staff: .dinara, service: .colouring, priceTenge: 25_000),
        AssignmentSpec(staff: .dinara, service: .styling),
        AssignmentSpec(staff: .svetlana, service: .womensCut),
        AssignmentSpec(staff: .svetlana, service: .mensCut, minutes: 40),
        AssignmentSpec(staff: .svetlana, service: .kidsCut),
        AssignmentSpec(staff: .svetlana, service: .colouring, minutes: 135),
        AssignmentSpec(staff: .svetlana, service: .styling),
        AssignmentSpec(staff: .zhanar, service: .gelManicure),
        AssignmentSpec(staff: .zhanar, service: .classicManicure),
        AssignmentSpec(staff: .zhanar, service: .gelPedicure),
        AssignmentSpec(staff: .zhanar, service: .nailExtension, minutes: 135),
        AssignmentSpec(staff: .aliya, service: .gelManicure, minutes: 105),
        AssignmentSpec(staff: .aliya, service: .classicManicure),
        AssignmentSpec(staff: .aliya, service: .gelPedicure),
        AssignmentSpec(staff: .aliya, service: .browShaping),
        AssignmentSpec(staff: .aliya, service: .browLamination),
        AssignmentSpec(staff: .aliya, service: .lashExtension),
        AssignmentSpec(staff: .marzhan, service: .browShaping),
        AssignmentSpec(staff: .marzhan, service: .browLamination),
        AssignmentSpec(staff: .marzhan, service: .lashExtension, priceTenge: 14_000),
        AssignmentSpec(staff: .marzhan, service: .facialCleansing),
        AssignmentSpec(staff: .marzhan, service: .backMassage),
        AssignmentSpec(staff: .marzhan, service: .faceFitness),
    ]

    /// Services often booked together in one visit, in order.
    static let combinations: [([ServiceKey], Int)] = [
        ([.colouring, .womensCut], 4),
        ([.womensCut, .styling], 3),
        ([.gelManicure, .gelPedicure], 5),
        ([.classicManicure, .browShaping], 2),
        ([.browShaping, .lashExtension], 2),
        ([.facialCleansing, .backMassage], 2),
    ]

    private static func days(_ weekdays: [Weekday], _ interval: (String, String)) -> [Weekday: [(String, String)]] {
        Dictionary(uniqueKeysWithValues: weekdays.map { ($0, [interval]) })
    }
}
