import Testing
@testable import Domain

@Suite("Phone numbers")
struct PhoneTests {
    @Test("local and international numbers normalise to E.164", arguments: [
        ("8 701 123 45 67", "KZ", "+77011234567"),
        ("+7 (701) 123-45-67", "KZ", "+77011234567"),
        ("7011234567", "KZ", "+77011234567"),
        ("77011234567", "KZ", "+77011234567"),
        ("07700 900123", "GB", "+447700900123"),
        ("+44 7700 900123", "KZ", "+447700900123"),
        ("0044 7700 900123", "KZ", "+447700900123"),
        ("01712-345678", "BD", "+8801712345678"),
        ("(212) 555-1234", "US", "+12125551234"),
        ("+880 1712 345678", "GB", "+8801712345678"),
    ])
    func normalises(input: String, region: String, expected: String) throws {
        #expect(try PhoneNumber.normalise(input, region: region) == expected)
    }

    @Test("malformed numbers are refused with a reason", arguments: [
        ("", "KZ"), ("abc", "KZ"), ("8 701 123", "KZ"), ("+7 701 123 45 67 89", "KZ"), ("+1", "US"), ("12345", "ZZ"), ("+44 123", "GB"),
        ("8-701-123-45-67 ext 5", "KZ"),
    ])
    func refuses(input: String, region: String) {
        #expect(throws: DomainError.self) { try PhoneNumber.normalise(input, region: region) }
    }
}
