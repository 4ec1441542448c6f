import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The front-desk web app's files, embedded in the binary by scripts/build-webapp.py
/// (`WebAssets.generated.swift`), so the box serves the app with no files on disk and no internet.
enum WebAssets {
    /// One file as the generator writes it: base64 of its bytes, raw and gzip-compressed.
    struct EmbeddedFile: Sendable {
        let path: String
        let contentType: String
        let etag: String
        let raw: String
        let gzip: String
    }

    /// One file, decoded.
    struct File: Sendable {
        let path: String
        let contentType: String
        /// A strong ETag (quoted) from the sha256 of the raw bytes.
        let etag: String
        let raw: ByteBuffer
        let gzip: ByteBuffer
    }

    /// Every file by path (`/`, `/assets/app.<hash>.js`, …), decoded once.
    static let files: [String: File] = Dictionary(uniqueKeysWithValues: embedded.map { file in
        (file.path, File(path: file.path, contentType: file.contentType, etag: file.etag,
                         raw: ByteBuffer(bytes: Data(base64Encoded: file.raw) ?? Data()),
                         gzip: ByteBuffer(bytes: Data(base64Encoded: file.gzip) ?? Data())))
    })

    static var index: File? { files["/"] }
}

/// `GET`/`HEAD` `/`, `/b/{token}` (a guest's booking page: the same index.html) and
/// `/assets/{name}`. Not API endpoints (no permission, no OpenAPI entry): docs/api.md, "The web app".
enum WebAppRoutes {
    /// The page's security headers (docs/webapp-security.md).
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    static let pageHeaders: [(HTTPField.Name, String)] = [
        (.contentSecurityPolicy, contentSecurityPolicy),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
    ]
    static let pageCaching = "no-cache"
    static let assetCaching = "public, max-age=31536000, immutable"

    static func register(on router: Router<APIContext>) {
        for method in [HTTPRequest.Method.get, .head] {
            router.on("/", method: method) { request, _ in page(request) }
            router.on("/b/{token}", method: method) { request, _ in page(request) }
            router.on("/r/{token}", method: method) { request, _ in page(request) }
            router.on("/assets/{name}", method: method) { request, context in
                let name = context.parameters.get("name") ?? ""
                guard let file = WebAssets.files["/assets/\(name)"] else {
                    var missing = APIError(status: 404, kind: "not_found", title: "No such asset",
                                           detail: "the box has no asset \(name.prefix(100)); reload the page to get the current ones")
                        .document(instance: request.uri.path).response
                    missing.headers[.cacheControl] = "no-cache"
                    return missing
                }
                return serve(file, request: request, caching: assetCaching, extra: [(HTTPField.Name("X-Content-Type-Options")!, "nosniff")])
            }
        }
    }

    static func page(_ request: Request) -> Response {
        guard let index = WebAssets.index else { return Response(status: .notFound) }
        return serve(index, request: request, caching: pageCaching, extra: pageHeaders)
    }

    /// The file with its caching headers: 304 when `If-None-Match` names its ETag, gzip when
    /// `Accept-Encoding` allows it, no body for HEAD.
    static func serve(_ file: WebAssets.File, request: Request, caching: String, extra: [(HTTPField.Name, String)]) -> Response {
        var headers = HTTPFields()
        headers[.cacheControl] = caching
        headers[.eTag] = file.etag
        headers[.vary] = "Accept-Encoding"
        for (name, value) in extra { headers[name] = value }
        let ifNoneMatch = request.headers[values: .ifNoneMatch]
        if !ifNoneMatch.isEmpty, etagMatches(ifNoneMatch.joined(separator: ","), file.etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = file.contentType
        let gzip = acceptsGzip(request.headers[values: .acceptEncoding].joined(separator: ","))
        let body = gzip ? file.gzip : file.raw
        if gzip { headers[.contentEncoding] = "gzip" }
        if request.method == .head {
            headers[.contentLength] = String(body.readableBytes)
            return Response(status: .ok, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// `If-None-Match`: `*`, or a list of ETags (weak ones compare by their opaque part, RFC 9110 §13.1.2).
    static func etagMatches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }

    /// Whether `Accept-Encoding` allows gzip: `gzip` (or `x-gzip`, or `*` without a gzip entry)
    /// with a q-value above 0.
    static func acceptsGzip(_ header: String) -> Bool {
        var star: Bool?
        for entry in header.split(separator: ",") {
            let parts = entry.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = parts.first else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            if coding == "gzip" || coding == "x-gzip" { return quality > 0 }
            if coding == "*" { star = quality > 0 }
        }
        return star ?? false
    }
}
