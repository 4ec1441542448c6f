import HTTPTypes
import Hummingbird

/// The web app's credentials: the device and PIN-session tokens as `HttpOnly`, `SameSite=Strict`
/// cookies instead of headers (docs/webapp-security.md), and the CSRF rule for requests they
/// authenticate.
enum BrowserCredentials {
    static let deviceCookie = "edgenode_device"
    static let sessionCookie = "edgenode_session"
    /// The header a cookie-authenticated unsafe request must carry (a cross-site form cannot set it).
    static let csrfHeader = "Edgenode-CSRF"
    /// About ten years: the device cookie lasts until the device is revoked or forgets itself.
    static let deviceCookieSeconds = 315_360_000

    /// `Set-Cookie` for a credential. No `Secure` attribute: the box speaks plain HTTP on the LAN
    /// until issue 21 brings TLS (a `Secure` cookie would never be sent back).
    static func setting(_ name: String, value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(max(0, maxAge)); HttpOnly; SameSite=Strict"
    }

    /// `Set-Cookie` that makes the browser drop the cookie.
    static func clearing(_ name: String) -> String {
        "\(name)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
    }

    /// The value of the cookie `name` in the request's `Cookie` headers (the first one), if any
    /// and not empty.
    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.trimmingCharacters(in: .whitespaces)
                guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
                var value = trimmed[trimmed.index(after: equals)...]
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = value.dropFirst().dropLast() }
                return value.isEmpty ? nil : String(value)
            }
        }
        return nil
    }

    /// Why a request authenticated by cookie may not go on, if it may not: an unsafe method
    /// (POST, PUT, PATCH, DELETE) needs `Edgenode-CSRF: 1`, and an `Origin` header, when sent,
    /// must be this box (`http://` or `https://` and the request's `Host`).
    static func csrfRefusal(_ request: Request) -> APIError? {
        guard [.post, .put, .patch, .delete].contains(request.method) else { return nil }
        guard request.headers[HTTPField.Name(csrfHeader)!] == "1" else {
            return csrf("a request authenticated by the device cookie must send the header `\(csrfHeader): 1` with \(request.method.rawValue)")
        }
        if let origin = request.headers[HTTPField.Name("Origin")!] {
            // The server turns `Host` into the request's authority; a `Host` field left among the
            // headers (no authority) counts the same.
            let hosts = [request.head.authority, request.headers[HTTPField.Name("Host")!]].compactMap { $0 }.filter { !$0.isEmpty }
            let allowed = hosts.flatMap { ["http://\($0)".lowercased(), "https://\($0)".lowercased()] }
            guard allowed.contains(origin.lowercased()) else {
                return csrf("the request comes from the page of another site (Origin \(origin.prefix(200))) and is not allowed to use this box's cookies")
            }
        }
        return nil
    }

    private static func csrf(_ detail: String) -> APIError {
        APIError(status: 403, kind: "csrf", title: "Cross-site request refused", detail: detail)
    }
}
