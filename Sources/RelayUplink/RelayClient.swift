import Domain
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OutboundHTTP
import Replication
import RelayWire
import ServiceLifecycle
import Synchronization

/// `relay.url` split for the HTTP client: `http://host[:port][/base]` or `https://…` (TLS,
/// verified against the system's trust roots or `caFile`, a PEM file of trusted certificates).
package struct RelayEndpoint: Sendable, Equatable, CustomStringConvertible {
    let host: String
    let port: Int
    let basePath: String
    let isTLS: Bool
    /// Trusted roots for `https` instead of the system's (a private CA), or nil.
    var caFile: String?

    package init?(url: String, caFile: String? = nil) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty, components.query == nil, components.fragment == nil,
              components.user == nil else { return nil }
        isTLS = scheme == "https"
        let port = components.port ?? (isTLS ? 443 : 80)
        guard (1...65535).contains(port) else { return nil }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
        self.caFile = caFile
    }

    package var description: String { "\(isTLS ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)\(basePath)" }

    /// The HTTP client for this relay (with TLS for `https`), over `client`.
    /// - Throws: `PeerHTTP.Failure` when the trusted roots cannot be loaded.
    func http(over client: any OutboundHTTP = HTTPClientOutbound.shared) throws -> PeerHTTP {
        var http = PeerHTTP(host: host, port: port, client: client)
        if isTLS { http.tls = try RelayTLS.context(caFile: caFile) }
        return http
    }
}

/// Signed requests to the relay (docs/relay-protocol.md §4, §5), through the outbound HTTP client.
package struct RelayClient: Sendable {
    let endpoint: RelayEndpoint
    let identity: SigningKey
    let business: BusinessID
    /// The relay's clock as measured from its replies: requests are signed with it (RelayTime).
    var time = RelayTime()
    /// The outbound HTTP client (it reuses connections to the relay).
    var client: any OutboundHTTP = HTTPClientOutbound.shared

    package init(endpoint: RelayEndpoint, identity: SigningKey, business: BusinessID, time: RelayTime = RelayTime(),
                 client: any OutboundHTTP = HTTPClientOutbound.shared) {
        self.endpoint = endpoint
        self.identity = identity
        self.business = business
        self.time = time
        self.client = client
    }

    /// A problem answer from the relay (§10).
    package struct Problem: Error, CustomStringConvertible {
        package let status: Int
        package let kind: String
        package let detail: String
        /// Kaspi's `StatusCode` of a `kaspi_refused` problem (its `kaspi_code` member, §14).
        package var kaspiCode: Int? = nil
        package var description: String { "the relay answered \(status) \(kind): \(detail)" }
        /// The relay's own trouble (or a limit): retry with backoff, not a refusal.
        package var isTransient: Bool { status >= 500 || status == 429 }
    }

    package static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Sends a request under `/v1/businesses/{business}` and returns the body of a 2xx answer.
    package func send(_ method: HTTPMethod, _ relative: String, query: String = "", json: [UInt8] = [], timeout: TimeAmount = .seconds(30)) async throws -> [UInt8] {
        try await exchange(method, relative, query: query, body: json, contentType: "application/json", timeout: timeout)
    }

    /// Signs and sends a request under `/v1/businesses/{business}`; returns the body of a 2xx
    /// answer. Each reply's `Date` updates `time`; a `stale_request` refusal is sent once more at
    /// once when the offset it measured changes the timestamp (RelayTime).
    package func exchange(_ method: HTTPMethod, _ relative: String, query: String = "", body: [UInt8], contentType: String, timeout: TimeAmount,
                  maxResponseBytes: Int? = nil, progress: (@Sendable (Int) -> Void)? = nil) async throws -> [UInt8] {
        let path = endpoint.basePath + "/v1/businesses/\(business.hex)" + relative
        var http = try endpoint.http(over: client)
        if let maxResponseBytes { http.maxResponseBytes = maxResponseBytes }
        var attempt = 0
        while true {
            attempt += 1
            let correction = time.correction
            let signature = RelayRequestSignature.sign(method: method.rawValue, path: path, query: query, body: body, business: business,
                                                       key: identity, timestamp: time.now())
            let reply = try await http.send(method, query.isEmpty ? path : path + "?" + query, body: body,
                                            headers: [("Authorization", signature.headerValue)], contentType: contentType, timeout: timeout, progress: progress)
            time.observe(dateHeader: reply.date, receivedAt: time.local())
            if (200..<300).contains(reply.status) { return reply.body }
            let problem = Self.problem(from: reply, time: time)
            if problem.kind == "stale_request", attempt == 1, time.correction != correction { continue }
            throw problem
        }
    }

    /// Registers the business of `owner` (§5.1: unsigned, with a proof of possession of the
    /// owner key); registering again is harmless. Returns whether it was new. A proof refused as
    /// `stale_request` is made again once with the relay's time (RelayTime).
    package static func register(at endpoint: RelayEndpoint, owner: SigningKey, time: RelayTime = RelayTime(),
                                 client: any OutboundHTTP = HTTPClientOutbound.shared) async throws -> Bool {
        var attempt = 0
        while true {
            attempt += 1
            let correction = time.correction
            let now = time.now()
            let body = RelayJSON.RegisterRequest(ownerKey: owner.publicKey.hex, timestamp: now,
                                    signature: RelayRegistrationProof.sign(owner: owner, timestamp: now).hexString)
            let reply = try await endpoint.http(over: client)
                .post(endpoint.basePath + "/v1/businesses", body: Array(try encoder.encode(body)), timeout: .seconds(30))
            time.observe(dateHeader: reply.date, receivedAt: time.local())
            if reply.status == 200 || reply.status == 201 { return reply.status == 201 }
            let problem = problem(from: reply, time: time)
            if problem.kind == "stale_request", attempt == 1, time.correction != correction { continue }
            throw problem
        }
    }

    /// The problem document of a refusal; a `stale_request` says how far off this box's clock is.
    package static func problem(from reply: PeerHTTP.Reply, time: RelayTime? = nil) -> Problem {
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any]
        let type = object?["type"] as? String ?? ""
        let kind = type.hasPrefix("urn:edgenode:problem:") ? String(type.dropFirst(21)) : "unknown"
        var detail = object?["detail"] as? String ?? String(reply.text.prefix(200))
        if kind == "stale_request" {
            let offset = time?.offset.map { RelayTime.describe(offset: $0) } ?? "off by an unknown amount (the relay sent no Date header)"
            detail = "the relay refuses this box's clock: \(offset); fix the box's clock (NTP). \(detail)"
        }
        return Problem(status: reply.status, kind: kind, detail: detail, kaspiCode: (object?["kaspi_code"] as? NSNumber)?.intValue)
    }

    package func send<Body: Encodable, Reply: Decodable>(_ relative: String, _ body: Body, as: Reply.Type, timeout: TimeAmount = .seconds(30)) async throws -> Reply {
        let bytes = try await send(.POST, relative, json: Array(try Self.encoder.encode(body)), timeout: timeout)
        return try Self.decoder.decode(Reply.self, from: Data(bytes))
    }

    /// The bodies are RelayJSON's (RelayWire), the same the relay reads and writes.
    package static var encoder: JSONEncoder { RelayJSON.requestEncoder }
    package static var decoder: JSONDecoder { RelayJSON.decoder }

    /// A reply whose body the caller does not need.
    package struct Ignored: Codable {}
}
