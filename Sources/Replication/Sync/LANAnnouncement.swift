/// The names and TXT record a box announces over DNS-SD (sync-protocol §12.3).
///
/// Every box announces `_edgenode._tcp` (so tablets find any box) with a per-business subtype,
/// so boxes browse only for their own business without broadcasting the business id.
public enum LANAnnouncement {
    /// Version of the TXT record layout (`txtvers`).
    public static let txtVersion = 1
    /// The path under which the box's JSON API lives (`path`).
    public static let apiBasePath = "/v1"

    /// `_` followed by the first 8 bytes, in lowercase hex, of
    /// BLAKE2b-256("edgenode.dnssd.v1" || business id (16 bytes)): e.g. `_9c1f0e2ab3d4c5e6`.
    public static func subtype(for business: BusinessID) -> String {
        "_" + Array(Sodium.blake2b(Array("edgenode.dnssd.v1".utf8) + business.bytes, length: 32).prefix(8)).hexString
    }

    /// The first 16 bytes, in lowercase hex, of BLAKE2b-256 over the box's Ed25519 public key.
    /// It lets a box skip its own announcement and a person match a box; it proves nothing.
    public static func fingerprint(of key: PublicKey) -> String {
        Array(Sodium.blake2b(key.bytes, length: 32).prefix(16)).hexString
    }

    /// The TXT entries, in this order: `txtvers`, `proto` (sync protocol version), `fp`, `path`.
    public static func txt(for key: PublicKey) -> [(key: String, value: String)] {
        [("txtvers", "\(txtVersion)"), ("proto", "\(PeerHandshake.protocolVersion)"), ("fp", fingerprint(of: key)), ("path", apiBasePath)]
    }
}
