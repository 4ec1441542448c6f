/// Phone numbers normalised to E.164 (`+77011234567`), with local numbers read in a branch's region.
public enum PhoneNumber {
    struct Plan {
        let callingCode: String
        /// The national trunk prefix dialled before local numbers (`8` in Kazakhstan, `0` in the UK).
        let trunkPrefix: String
        /// Allowed lengths of the national significant number.
        let lengths: ClosedRange<Int>
    }

    /// Numbering plans of the regions our shops are in and their neighbours. Other regions can still
    /// use international numbers (`+…` or `00…`).
    static let plans: [String: Plan] = [
        "KZ": Plan(callingCode: "7", trunkPrefix: "8", lengths: 10...10),
        "RU": Plan(callingCode: "7", trunkPrefix: "8", lengths: 10...10),
        "UZ": Plan(callingCode: "998", trunkPrefix: "", lengths: 9...9),
        "KG": Plan(callingCode: "996", trunkPrefix: "0", lengths: 9...9),
        "TJ": Plan(callingCode: "992", trunkPrefix: "", lengths: 9...9),
        "TM": Plan(callingCode: "993", trunkPrefix: "8", lengths: 8...8),
        "AZ": Plan(callingCode: "994", trunkPrefix: "0", lengths: 9...9),
        "GE": Plan(callingCode: "995", trunkPrefix: "0", lengths: 9...9),
        "UA": Plan(callingCode: "380", trunkPrefix: "0", lengths: 9...9),
        "TR": Plan(callingCode: "90", trunkPrefix: "0", lengths: 10...10),
        "AE": Plan(callingCode: "971", trunkPrefix: "0", lengths: 8...9),
        "GB": Plan(callingCode: "44", trunkPrefix: "0", lengths: 9...10),
        "IE": Plan(callingCode: "353", trunkPrefix: "0", lengths: 7...9),
        "DE": Plan(callingCode: "49", trunkPrefix: "0", lengths: 6...13),
        "FR": Plan(callingCode: "33", trunkPrefix: "0", lengths: 9...9),
        "BD": Plan(callingCode: "880", trunkPrefix: "0", lengths: 10...10),
        "IN": Plan(callingCode: "91", trunkPrefix: "0", lengths: 10...10),
        "PK": Plan(callingCode: "92", trunkPrefix: "0", lengths: 10...10),
        "US": Plan(callingCode: "1", trunkPrefix: "1", lengths: 10...10),
        "CA": Plan(callingCode: "1", trunkPrefix: "1", lengths: 10...10),
    ]

    /// Whether a region is known for local numbers.
    public static func isSupportedRegion(_ region: String) -> Bool { plans[region] != nil }

    /// Normalises what a person typed to E.164.
    ///
    /// Spaces, dashes, dots and brackets are ignored. `+…` and `00…` are international; anything
    /// else is a local number of `region` (its trunk prefix is dropped: `8 701 123 45 67` in KZ is
    /// `+77011234567`, `07700 900123` in GB is `+447700900123`); a local number that already
    /// starts with the country code is accepted too.
    /// - Throws: `DomainError(.invalidPhone)` with the reason.
    public static func normalise(_ input: String, region: String) throws(DomainError) -> String {
        var digits = ""
        var sawPlus = false
        for character in input {
            if character.isASCII, let digit = character.wholeNumberValue {
                digits.append(String(digit))
            } else if character == "+", digits.isEmpty, !sawPlus {
                sawPlus = true
            } else if !" -.()/\u{00A0}".contains(character) {
                throw DomainError(.invalidPhone, "\"\(input)\" contains \"\(character)\", which is not part of a phone number")
            }
        }
        guard !digits.isEmpty else { throw DomainError(.invalidPhone, "\"\(input)\" has no digits") }
        if sawPlus || digits.hasPrefix("00") {
            let international = sawPlus ? digits : String(digits.dropFirst(2))
            guard (8...15).contains(international.count), international.first != "0" else {
                throw DomainError(.invalidPhone, "\"\(input)\": an international number has 8 to 15 digits after the country code's +")
            }
            if let expected = plans.values.filter({ international.hasPrefix($0.callingCode) }).max(by: { $0.callingCode.count < $1.callingCode.count }) {
                let national = international.count - expected.callingCode.count
                guard expected.lengths.contains(national) else {
                    throw DomainError(.invalidPhone, "\"\(input)\": numbers with country code +\(expected.callingCode) have \(describe(expected.lengths)) digits after it, not \(national)")
                }
            }
            return "+" + international
        }
        guard let plan = plans[region] else {
            throw DomainError(.invalidPhone, "\"\(input)\" is a local number and the branch's region \"\(region)\" has no numbering plan here; enter it with +country code")
        }
        if plan.lengths.contains(digits.count) {
            if plan.trunkPrefix.isEmpty || !digits.hasPrefix(plan.trunkPrefix) || !plan.lengths.contains(digits.count - plan.trunkPrefix.count) {
                return "+" + plan.callingCode + digits
            }
        }
        if !plan.trunkPrefix.isEmpty, digits.hasPrefix(plan.trunkPrefix), plan.lengths.contains(digits.count - plan.trunkPrefix.count) {
            return "+" + plan.callingCode + digits.dropFirst(plan.trunkPrefix.count)
        }
        if digits.hasPrefix(plan.callingCode), plan.lengths.contains(digits.count - plan.callingCode.count) {
            return "+" + digits
        }
        throw DomainError(.invalidPhone, "\"\(input)\" is not a \(region) number: expected \(describe(plan.lengths)) digits\(plan.trunkPrefix.isEmpty ? "" : " (after the trunk prefix \(plan.trunkPrefix))") or +country code")
    }

    private static func describe(_ lengths: ClosedRange<Int>) -> String {
        lengths.count == 1 ? "\(lengths.lowerBound)" : "\(lengths.lowerBound)–\(lengths.upperBound)"
    }
}
