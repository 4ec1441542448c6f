/// Who performs a write, passed explicitly to every write of the shop's components
/// (`as: acting`): the one way "who did it" reaches the domain.
///
/// It names the actor in the appointment history and on notes, and, for a request's principal or
/// a guest, is what the audit trail records with the write's `AuditOperation` (in the same
/// transaction and changeset). The box's own upkeep and the demo's seeding act as `system(_:)`:
/// named, not audited — as before there was an audit trail.
public struct Acting: Sendable {
    /// How the appointment history, notes and resolutions name the actor, e.g.
    /// `Aigerim (Front desk tablet)`, `guest`, `home-replica`.
    public let name: String
    /// Who the audit row names; nil: the write is not audited.
    let audit: AuditContext?
    /// The acting device, if any (a device may not revoke itself; pairing lock-outs count per device).
    public let deviceID: DeviceID?

    /// A paired device, with the person signed in on it if any, acting for the request `requestID`.
    public static func principal(_ principal: Principal, requestID: String) -> Acting {
        Acting(name: principal.actorName, audit: AuditContext(principal: principal, requestID: requestID), deviceID: principal.device.id)
    }

    /// A guest acting with the tracking token of their booking, for the request `requestID`.
    public static func guest(requestID: String) -> Acting {
        Acting(name: "guest", audit: AuditContext(anonymous: "guest (tracking token)", requestID: requestID), deviceID: nil)
    }

    /// The box itself (housekeeping, the home replica's review of requests) or a tool such as the
    /// demo's seeding: named in the history, not audited.
    public static func system(_ name: String) -> Acting { Acting(name: name, audit: nil, deviceID: nil) }
}
