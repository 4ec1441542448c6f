/// The text of a message: a template per kind × channel × language, with `{variable}`s and
/// ICU-style plurals (`{hours_until, plural, one {# час} few {# часа} many {# часов} other {# часа}}`),
/// checked before it is saved (docs/messaging.md §2 "Templates").
public struct MessageTemplate: Hashable, Sendable, Codable {
    public var kind: MessageKind
    public var channel: MessageChannel
    public var language: String
    /// Email only.
    public var subject: String
    public var body: String
    /// WhatsApp only: the approved template's name and the variables filling its `{{1}}…` in order.
    public var providerTemplate: String
    public var providerParameters: [String]
    /// Edited by the owner (false: the built-in one).
    public var customised: Bool

    public init(kind: MessageKind, channel: MessageChannel, language: String, subject: String, body: String, providerTemplate: String = "",
                providerParameters: [String] = [], customised: Bool = false) {
        self.kind = kind
        self.channel = channel
        self.language = language
        self.subject = subject
        self.body = body
        self.providerTemplate = providerTemplate
        self.providerParameters = providerParameters
        self.customised = customised
    }

    public static let languages = ["ru", "kk", "en"]

    /// Every variable a template may name.
    public static let variables = [
        "first_name", "client_name", "services", "services_count", "start", "start_date", "start_time", "time_zone", "end_time",
        "duration_minutes", "hours_until", "branch_name", "branch_address", "branch_phone", "staff_name", "price", "order_number",
        "link", "code", "old_start", "rating_prompt",
    ]
    /// The variables that are numbers (usable in a plural).
    public static let numericVariables: Set<String> = ["services_count", "duration_minutes", "hours_until"]
}

/// A template that cannot be used, with the field and the reason (shown next to the field).
public struct TemplateProblem: Hashable, Sendable {
    public var field: String
    public var message: String
}

/// The CLDR plural categories of integers in the languages the app speaks.
enum PluralRules {
    static func categories(for language: String) -> [String] {
        language == "ru" ? ["one", "few", "many", "other"] : ["one", "other"]
    }

    static func category(of number: Int, in language: String) -> String {
        let n = abs(number)
        switch language {
        case "ru":
            if n % 10 == 1 && n % 100 != 11 { return "one" }
            if (2...4).contains(n % 10) && !(12...14).contains(n % 100) { return "few" }
            return "many"
        default:
            return n == 1 ? "one" : "other"
        }
    }
}

/// Parses and renders templates. A template is text with `{name}` placeholders, `{name, plural,
/// one {…} few {…} many {…} other {…}}` (a `#` inside a form is the number), and `{{` / `}}` for
/// literal braces.
enum TemplateText {
    indirect enum Part: Hashable {
        case text(String)
        case variable(String)
        case plural(String, [String: [Part]])
    }

    struct Failure: Error { var message: String }

    static func parse(_ text: String, language: String) throws(Failure) -> [Part] {
        var scanner = Scanner(Array(text))
        let parts = try scanner.parts(language: language, inPlural: false)
        if !scanner.atEnd { throw Failure(message: "an unmatched }") }
        return parts
    }

    /// The problems of a template text (empty when it can be used).
    static func problems(_ text: String, language: String, field: String) -> [TemplateProblem] {
        do {
            _ = try parse(text, language: language)
            return []
        } catch {
            return [TemplateProblem(field: field, message: error.message)]
        }
    }

    static func render(_ parts: [Part], values: [String: String], numbers: [String: Int], language: String) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .variable(let name): out += values[name] ?? numbers[name].map(String.init) ?? ""
            case .plural(let name, let forms):
                let number = numbers[name] ?? 0
                let form = forms[PluralRules.category(of: number, in: language)] ?? forms["other"] ?? []
                out += render(form, values: values, numbers: numbers, language: language).replacingOccurrences(of: "#", with: String(number))
            }
        }
        return out
    }

    private struct Scanner {
        var characters: [Character]
        var position = 0
        init(_ characters: [Character]) { self.characters = characters }
        var atEnd: Bool { position >= characters.count }

        mutating func parts(language: String, inPlural: Bool) throws(Failure) -> [Part] {
            var parts: [Part] = []
            var text = ""
            while position < characters.count {
                let character = characters[position]
                if character == "{" {
                    if position + 1 < characters.count, characters[position + 1] == "{" { text.append("{"); position += 2; continue }
                    if !text.isEmpty { parts.append(.text(text)); text = "" }
                    parts.append(try placeholder(language: language))
                } else if character == "}" {
                    if position + 1 < characters.count, characters[position + 1] == "}", !inPlural { text.append("}"); position += 2; continue }
                    if inPlural { break }
                    throw Failure(message: "an unmatched } at character \(position + 1)")
                } else {
                    text.append(character)
                    position += 1
                }
            }
            if !text.isEmpty { parts.append(.text(text)) }
            return parts
        }

        mutating func placeholder(language: String) throws(Failure) -> Part {
            let opened = position
            position += 1
            var inside = ""
            while position < characters.count, characters[position] != "}", characters[position] != "," { inside.append(characters[position]); position += 1 }
            guard position < characters.count else { throw Failure(message: "a { at character \(opened + 1) is never closed") }
            let name = inside.trimmingCharacters(in: .whitespaces)
            guard MessageTemplate.variables.contains(name) else {
                throw Failure(message: name.isEmpty ? "an empty {} at character \(opened + 1)" : "unknown variable {\(name)}")
            }
            if characters[position] == "}" { position += 1; return .variable(name) }
            // `{name, plural, one {…} other {…}}`
            position += 1
            var keyword = ""
            while position < characters.count, characters[position] != "," , characters[position] != "}" { keyword.append(characters[position]); position += 1 }
            guard keyword.trimmingCharacters(in: .whitespaces) == "plural", position < characters.count, characters[position] == "," else {
                throw Failure(message: "{\(name), …} must be {\(name), plural, one {…} other {…}}")
            }
            guard MessageTemplate.numericVariables.contains(name) else { throw Failure(message: "{\(name)} is not a number: it cannot have plural forms") }
            position += 1
            var forms: [String: [Part]] = [:]
            while true {
                while position < characters.count, characters[position] == " " || characters[position] == "\n" { position += 1 }
                guard position < characters.count else { throw Failure(message: "the plural of {\(name)} is never closed") }
                if characters[position] == "}" { position += 1; break }
                var category = ""
                while position < characters.count, characters[position].isLetter { category.append(characters[position]); position += 1 }
                while position < characters.count, characters[position] == " " { position += 1 }
                guard !category.isEmpty, position < characters.count, characters[position] == "{" else {
                    throw Failure(message: "the plural of {\(name)} needs forms like one {…} other {…}")
                }
                guard PluralRules.categories(for: language).contains(category) else {
                    throw Failure(message: "\(language) has no plural form \"\(category)\" (it uses \(PluralRules.categories(for: language).joined(separator: ", ")))")
                }
                position += 1
                let form = try parts(language: language, inPlural: true)
                guard position < characters.count, characters[position] == "}" else { throw Failure(message: "the form \(category) of {\(name)} is never closed") }
                position += 1
                forms[category] = form
            }
            let missing = PluralRules.categories(for: language).filter { forms[$0] == nil }
            guard missing.isEmpty else { throw Failure(message: "the plural of {\(name)} needs the \(language) forms \(missing.joined(separator: ", "))") }
            return .plural(name, forms)
        }
    }
}

extension MessageTemplate {
    /// The problems of this template (empty when it can be saved).
    public var problems: [TemplateProblem] {
        var found: [TemplateProblem] = []
        if body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { found.append(TemplateProblem(field: "body", message: "the text is empty")) }
        if body.count > 2000 { found.append(TemplateProblem(field: "body", message: "the text is longer than 2,000 characters")) }
        found += TemplateText.problems(body, language: language, field: "body")
        if channel == .email {
            if subject.trimmingCharacters(in: .whitespaces).isEmpty { found.append(TemplateProblem(field: "subject", message: "an email needs a subject")) }
            if subject.contains("\n") || subject.contains("\r") { found.append(TemplateProblem(field: "subject", message: "a subject is one line")) }
            found += TemplateText.problems(subject, language: language, field: "subject")
        }
        if channel == .whatsapp {
            let name = providerTemplate
            if !name.isEmpty, !(name.count <= 512 && name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })) {
                found.append(TemplateProblem(field: "provider_template", message: "an approved template's name is lowercase letters, digits and _"))
            }
            for parameter in providerParameters where !MessageTemplate.variables.contains(parameter) {
                found.append(TemplateProblem(field: "provider_parameters", message: "unknown variable {\(parameter)}"))
            }
            if providerParameters.count > 10 { found.append(TemplateProblem(field: "provider_parameters", message: "at most 10 parameters")) }
        }
        return found
    }

    /// Renders the template with `values` (text) and `numbers` (numeric variables).
    func render(values: [String: String], numbers: [String: Int]) -> (subject: String, text: String) {
        func one(_ text: String) -> String {
            guard let parts = try? TemplateText.parse(text, language: language) else { return text }
            return TemplateText.render(parts, values: values, numbers: numbers, language: language)
        }
        return (channel == .email ? one(subject) : "", one(body))
    }
}
