import NIOSSL

/// The port every outbound HTTP call of the box goes through: its LAN peers, the cloud relay,
/// the command line's requests to its own daemon, and later payment and messaging providers.
///
/// One method: send a request, get the whole answer. The request's `timeout` bounds the whole
/// exchange (connecting, sending, the answer's head and body); cancelling the calling task
/// abandons the request (and closes its connection). Errors are `OutboundHTTPError`, except
/// `CancellationError` when the task was cancelled.
///
/// The production adapter is `HTTPClientOutbound` (async-http-client, with connection reuse);
/// a test may put an in-memory adapter behind the same protocol.
public protocol OutboundHTTP: Sendable {
    func send(_ request: OutboundRequest) async throws -> OutboundResponse
}

/// One request: where, what, and how long it may take.
public struct OutboundRequest: Sendable {
    /// "GET", "POST", …
    public var method: String
    /// A name, an IPv4 address or an IPv6 address (without brackets).
    public var host: String
    public var port: Int
    /// The path with its query, percent-encoded as it goes on the wire ("/v1/x?wait=5").
    public var path: String
    /// HTTPS with these trust settings; nil: plain HTTP.
    public var tls: OutboundTLS?
    /// Header fields to send besides `Host` and `Content-Length`, which the adapter sets.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The whole exchange must be over by then.
    public var timeout: Duration
    /// An answer whose body grows beyond this fails with `OutboundHTTPError.Kind.tooLarge`.
    public var maxResponseBytes: Int
    /// Told the number of body bytes received so far, as they arrive (a download's progress).
    public var progress: (@Sendable (Int) -> Void)?

    public init(method: String, host: String, port: Int, path: String, tls: OutboundTLS? = nil, headers: [(name: String, value: String)] = [],
                body: [UInt8] = [], timeout: Duration = .seconds(30), maxResponseBytes: Int = 64 * 1024 * 1024,
                progress: (@Sendable (Int) -> Void)? = nil) {
        self.method = method
        self.host = host
        self.port = port
        self.path = path
        self.tls = tls
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.progress = progress
    }

    /// "host:port", with an IPv6 address in brackets (for messages and the URL).
    public var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The URL the request goes to.
    public var url: String { (tls == nil ? "http://" : "https://") + authority + (path.hasPrefix("/") ? path : "/" + path) }
}

/// An answer, whatever its status.
public struct OutboundResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of the header field `name` (case-insensitive), if any.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Why a request got no answer.
public struct OutboundHTTPError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The connection could not be made (refused, unreachable, no such host, connect timeout).
        case connect
        /// The TLS handshake failed: the server's certificate was not trusted, named another
        /// host, or the server does not speak TLS.
        case tls
        /// No complete answer within the request's timeout.
        case timeout
        /// The answer's body was larger than the request allowed.
        case tooLarge
        /// The connection failed or closed before the whole answer arrived, or the answer was not HTTP.
        case exchange
        /// The client was shut down.
        case shutDown
    }

    public let kind: Kind
    public let description: String
    /// The cause in a few words ("Connection refused"), where one is known.
    public let reason: String?

    public init(_ kind: Kind, _ description: String, reason: String? = nil) {
        self.kind = kind
        self.description = description
        self.reason = reason
    }
}

/// How an HTTPS request checks the server: TLS 1.2 at least, the certificate chain verified
/// against the system's roots or only the given certificates (a private CA), and the
/// certificate must name the host connected to (a name, or the address for an IP literal).
public struct OutboundTLS: Sendable {
    public private(set) var configuration: TLSConfiguration

    /// The system's trust roots.
    public static let systemRoots = OutboundTLS(trustRoots: nil)

    /// Trusts only `certificates` (nil: the system's roots).
    public init(trustRoots certificates: [NIOSSLCertificate]?) {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let certificates { configuration.trustRoots = .certificates(certificates) }
        self.configuration = configuration
    }

    /// Like `init(trustRoots:)`, and presents `certificateChain` with `privateKey` when the server
    /// asks for a client certificate (mutual TLS, e.g. a payment provider's merchant API).
    public init(trustRoots certificates: [NIOSSLCertificate]?, clientCertificateChain certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey) {
        self.init(trustRoots: certificates)
        configuration.certificateChain = certificateChain.map { .certificate($0) }
        configuration.privateKey = .privateKey(privateKey)
    }

    /// Trusts only the certificates in the PEM file `file`.
    /// - Parameter what: how messages name the file ("the relay's CA file").
    /// - Throws: `OutboundHTTPError` (`.tls`) naming the file when it cannot be read or holds no
    ///   certificate.
    public static func trusting(pemFile file: String, describedAs what: String = "the CA file") throws -> OutboundTLS {
        OutboundTLS(trustRoots: try certificates(pemFile: file, describedAs: what))
    }

    /// The certificates in a PEM file, with a message for a person when there are none.
    public static func certificates(pemFile file: String, describedAs what: String = "the CA file") throws -> [NIOSSLCertificate] {
        guard access(file, R_OK) == 0 else { throw OutboundHTTPError(.tls, "cannot read \(what) \(file)") }
        let found: [NIOSSLCertificate]
        do { found = try NIOSSLCertificate.fromPEMFile(file) } catch {
            throw OutboundHTTPError(.tls, "\(what) \(file) is not PEM certificates: \(error)")
        }
        guard !found.isEmpty else { throw OutboundHTTPError(.tls, "\(what) \(file) holds no certificate") }
        return found
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A base URL "http(s)://host[:port][/prefix]" taken apart for `OutboundRequest`: what every
/// adapter of an outside service (the fiscal register, the messaging providers) is configured with.
public struct OutboundEndpoint: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var usesTLS: Bool
    /// "" or "/prefix" (no trailing slash), put before every request's path.
    public var pathPrefix: String

    public init(host: String, port: Int, usesTLS: Bool, pathPrefix: String) {
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
        self.pathPrefix = pathPrefix
    }

    /// Parses "http(s)://host[:port][/prefix]"; nil for anything else (no scheme, user information,
    /// a query or a fragment, an empty host, a port outside 1…65535). IPv6 hosts go in brackets.
    public init?(_ url: String) {
        let rest: Substring
        if url.hasPrefix("https://") { usesTLS = true; rest = url.dropFirst(8) }
        else if url.hasPrefix("http://") { usesTLS = false; rest = url.dropFirst(7) }
        else { return nil }
        guard !rest.contains("?"), !rest.contains("#"), !rest.contains("@"), !rest.contains(where: { $0.isWhitespace }) else { return nil }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var prefix = String(rest[slash...])
        while prefix.hasSuffix("/") { prefix.removeLast() }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else {
            let parts = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = parts[0]
            if parts.count == 2 { portText = parts[1] }
        }
        guard !host.isEmpty else { return nil }
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { return nil }
            port = value
        } else {
            port = usesTLS ? 443 : 80
        }
        self.host = String(host)
        pathPrefix = prefix
    }
}
