import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// One host of the sync protocol (a LAN peer, the relay) over the outbound HTTP port
/// (`OutboundHTTP`): the host, port and TLS settings bound once, errors as `Failure`. It keeps no
/// connection of its own: the `OutboundHTTP` client pools them, so consecutive requests to one
/// host reuse a connection. Cancelling the calling task abandons a request and closes its
/// connection, which is how a long-poll is abandoned when this box has something to push.
package struct PeerHTTP: Sendable {
    package let host: String
    package let port: Int
    package var maxResponseBytes = 64 * 1024 * 1024
    /// HTTPS with these trust settings; the server's certificate must name `host` (a name, or the
    /// address connected to for an IP literal). nil: plain HTTP.
    package var tls: OutboundTLS?
    /// The client the requests go through: the runtime's, or the process's shared one.
    package var client: any OutboundHTTP = HTTPClientOutbound.shared

    package init(host: String, port: Int, client: any OutboundHTTP = HTTPClientOutbound.shared) {
        self.host = host
        self.port = port
        self.client = client
    }

    package struct Reply: Sendable {
        package var status: Int
        package var body: [UInt8]
        /// The reply's `Date` header, if any (the relay's clock, RelayTime).
        package var date: String?
        package var text: String { String(decoding: body, as: UTF8.self) }
    }

    package struct Failure: Error, CustomStringConvertible {
        package let description: String
        /// The TLS handshake failed (the server's certificate was not trusted, say).
        package var isTLS = false

        package init(description: String, isTLS: Bool = false) {
            self.description = description
            self.isTLS = isTLS
        }
    }

    /// POSTs `body` to `path`; fails after `timeout` in all.
    package func post(_ path: String, body: [UInt8], headers extra: [(String, String)] = [], timeout: TimeAmount) async throws -> Reply {
        try await send(.POST, path, body: body, headers: extra, timeout: timeout)
    }

    /// Sends a request with `method` (`body` may be empty); fails after `timeout` in all.
    /// - Parameters:
    ///   - contentType: the body's media type.
    ///   - progress: told the number of body bytes received so far, as they arrive.
    package func send(_ method: HTTPMethod, _ path: String, body: [UInt8], headers extra: [(String, String)] = [], contentType: String = "application/json",
              timeout: TimeAmount, progress: (@Sendable (Int) -> Void)? = nil) async throws -> Reply {
        let request = OutboundRequest(method: method.rawValue, host: host, port: port, path: path, tls: tls,
                                      headers: [("Content-Type", contentType)] + extra.map { (name: $0.0, value: $0.1) }, body: body,
                                      timeout: .nanoseconds(timeout.nanoseconds), maxResponseBytes: maxResponseBytes, progress: progress)
        do {
            let response = try await client.send(request)
            return Reply(status: response.status, body: response.body, date: response.header("Date"))
        } catch let failure as OutboundHTTPError {
            throw Failure(description: failure.description, isTLS: failure.kind == .tls)
        }
    }
}

/// The relay's TLS settings, made once per set of trusted roots (loading and parsing the roots
/// once; the client pools connections per settings).
package enum RelayTLS {
    private static let made = Mutex<[String: OutboundTLS]>([:])

    /// Trusts the system's roots (`caFile` nil) or only the certificates in the PEM file `caFile`;
    /// full verification, TLS 1.2 at least (`OutboundTLS`).
    /// - Throws: `PeerHTTP.Failure` naming the file when it cannot be read or holds no certificate.
    package static func context(caFile: String?) throws -> OutboundTLS {
        let key = caFile ?? ""
        if let known = made.withLock({ $0[key] }) { return known }
        let tls = try caFile.map { OutboundTLS(trustRoots: try certificates($0)) } ?? .systemRoots
        made.withLock { $0[key] = tls }
        return tls
    }

    /// The certificates in a PEM file, with a message for a person when there are none.
    package static func certificates(_ file: String) throws -> [NIOSSLCertificate] {
        do { return try OutboundTLS.certificates(pemFile: file, describedAs: "the relay's CA file") } catch let failure as OutboundHTTPError {
            throw PeerHTTP.Failure(description: failure.description)
        }
    }
}
