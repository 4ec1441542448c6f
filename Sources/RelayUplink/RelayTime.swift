import Foundation
import Synchronization

/// The relay's clock as this box measures it from the `Date` header of the relay's replies
/// (docs/relay-protocol.md §4.1).
///
/// The relay refuses a request whose signed timestamp is more than 300 s from its own clock
/// (`stale_request`), so a box whose clock is off by more than that could not sync through it at
/// all. Every reply's `Date` (RFC 9110, whole seconds) gives the relay's time; once it differs
/// from this box's clock by more than `tolerance`, the box signs its requests (and stamps its
/// envelopes' `sealed_at`) with the relay's time — its own clock plus the measured offset — and
/// its status, log and metrics say that its clock is off. A request refused as `stale_request`
/// is sent once more at once, signed with the offset its refusal measured.
public final class RelayTime: Sendable {
    /// The relay's window (relay-protocol §4, step 2).
    public static let windowMilliseconds: Int64 = 300_000
    /// Below this the measured offset is noise (the header counts whole seconds, and the relay
    /// refreshes it once a second): the box signs with its own clock.
    public static let toleranceMilliseconds: Int64 = 30_000

    /// This box's clock, Unix milliseconds.
    let local: @Sendable () -> Int64
    private let measured = Mutex<Int64?>(nil)

    public init(local: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.local = local
    }

    /// The relay's clock minus this box's, in milliseconds, as last measured; nil before any
    /// reply with a `Date` header.
    public var offset: Int64? { measured.withLock { $0 } }

    /// What the box adds to its clock to sign: the measured offset when it is beyond `tolerance`, else 0.
    public var correction: Int64 {
        guard let offset, offset.magnitude > UInt64(Self.toleranceMilliseconds) else { return 0 }
        return offset
    }

    /// The time to sign a request with (Unix milliseconds).
    public func now() -> Int64 { local() + correction }

    /// Whether the relay would refuse this box's own clock (the offset is beyond its window).
    public var isBeyondWindow: Bool { offset.map { $0.magnitude > UInt64(Self.windowMilliseconds) } ?? false }

    /// Takes the relay's time from a reply's `Date` header, received at this box's `receivedAt`.
    /// - Returns: whether the header was an HTTP date (nothing changes otherwise).
    @discardableResult
    func observe(dateHeader: String?, receivedAt: Int64) -> Bool {
        guard let dateHeader, let seconds = Self.parseHTTPDate(dateHeader) else { return false }
        // The header's second began up to a second before it was sent, and the relay refreshes it
        // once a second: the middle of those two seconds is the best guess.
        let relay = seconds * 1000 + 1000
        measured.withLock { $0 = relay - receivedAt }
        return true
    }

    /// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form RFC 9110 §5.6.7 requires
    /// servers to send. Returns Unix seconds, or nil for anything else.
    static func parseHTTPDate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
              let day = Int64(parts[1]), (1...31).contains(day), parts[1].count == 2,
              let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].firstIndex(of: String(parts[2])),
              let year = Int64(parts[3]), parts[3].count == 4 else { return nil }
        let time = parts[4].split(separator: ":")
        guard time.count == 3, time.allSatisfy({ $0.count == 2 }), let hour = Int64(time[0]), let minute = Int64(time[1]), let second = Int64(time[2]),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        // Days from 1970-01-01 to the civil date (Howard Hinnant's days_from_civil).
        let m = Int64(month + 1)
        let y = m <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return days * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// "off by 7203 s (this box is behind)" for messages.
    static func describe(offset: Int64) -> String {
        let seconds = (offset.magnitude + 500) / 1000
        return "off by \(seconds) s (this box's clock is \(offset > 0 ? "behind" : "ahead of") the relay's)"
    }
}
