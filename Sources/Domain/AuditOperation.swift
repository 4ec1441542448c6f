/// The name of a domain operation, as the audit trail records it (`audit_events.operation`):
/// `<thing>.<what was done>`, e.g. `appointment.create`. Every audited write names its operation
/// (`Shop.write(_:_:)`), so the trail says what was done in the domain's words, whichever door
/// it came through — the local API, sync's review of requests, the CLI.
///
/// Rows written before these names existed keep the route they recorded (e.g. `POST /v1/appointments`).
public struct AuditOperation: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    // Catalogue
    public static let branchSave = Self(rawValue: "branch.save")
    public static let branchOverrideSet = Self(rawValue: "branch.override.set")
    public static let branchOverrideRemove = Self(rawValue: "branch.override.remove")
    public static let offeringSave = Self(rawValue: "offering.save")
    public static let resourceSave = Self(rawValue: "resource.save")
    public static let staffSave = Self(rawValue: "staff.save")
    public static let staffOfferingAssign = Self(rawValue: "staff.offering.assign")
    public static let staffOfferingUnassign = Self(rawValue: "staff.offering.unassign")
    public static let staffOverrideSet = Self(rawValue: "staff.override.set")
    public static let staffOverrideRemove = Self(rawValue: "staff.override.remove")
    public static let staffTimeOffAdd = Self(rawValue: "staff.time_off.add")
    public static let staffTimeOffRemove = Self(rawValue: "staff.time_off.remove")

    // Calendar
    public static let appointmentCreate = Self(rawValue: "appointment.create")
    public static let appointmentConfirm = Self(rawValue: "appointment.confirm")
    public static let appointmentCompleteHold = Self(rawValue: "appointment.complete_hold")
    public static let appointmentReject = Self(rawValue: "appointment.reject")
    public static let appointmentCheckIn = Self(rawValue: "appointment.check_in")
    public static let appointmentComplete = Self(rawValue: "appointment.complete")
    public static let appointmentNoShow = Self(rawValue: "appointment.no_show")
    public static let appointmentCancel = Self(rawValue: "appointment.cancel")
    public static let appointmentTransition = Self(rawValue: "appointment.transition")
    public static let appointmentExpireHolds = Self(rawValue: "appointment.expire_holds")
    public static let appointmentReschedule = Self(rawValue: "appointment.reschedule")
    public static let appointmentReviewRequests = Self(rawValue: "appointment.review_requests")
    public static let guestBookingCancel = Self(rawValue: "guest_booking.cancel")
    public static let guestBookingReschedule = Self(rawValue: "guest_booking.reschedule")
    public static let guestBookingLink = Self(rawValue: "guest_booking.link")
    public static let seriesCreate = Self(rawValue: "series.create")
    public static let seriesCancel = Self(rawValue: "series.cancel")
    public static let seriesMove = Self(rawValue: "series.move")
    public static let waitlistJoin = Self(rawValue: "waitlist.join")
    public static let waitlistAcceptOffer = Self(rawValue: "waitlist.accept_offer")
    public static let waitlistDeclineOffer = Self(rawValue: "waitlist.decline_offer")
    public static let waitlistLeave = Self(rawValue: "waitlist.leave")
    public static let conflictResolve = Self(rawValue: "conflict.resolve")

    // Client book
    public static let clientCreate = Self(rawValue: "client.create")
    public static let clientUpdate = Self(rawValue: "client.update")
    public static let clientNoteAdd = Self(rawValue: "client.note.add")
    public static let clientMerge = Self(rawValue: "client.merge")

    // Money
    public static let saleCreate = Self(rawValue: "sale.create")
    public static let saleVoid = Self(rawValue: "sale.void")
    public static let paymentTake = Self(rawValue: "payment.take")
    public static let paymentRefund = Self(rawValue: "payment.refund")
    public static let paymentVoid = Self(rawValue: "payment.void")
    public static let paymentCancel = Self(rawValue: "payment.cancel")
    public static let paymentVerify = Self(rawValue: "payment.verify")
    public static let paymentProviderUpdate = Self(rawValue: "payment.provider_update")
    public static let drawerOpen = Self(rawValue: "drawer.open")
    public static let drawerMovement = Self(rawValue: "drawer.movement")
    public static let drawerClose = Self(rawValue: "drawer.close")
    public static let moneySettingsSave = Self(rawValue: "money.settings.save")
    public static let moneyAnomalyResolve = Self(rawValue: "money.anomaly.resolve")
    public static let fiscalRecord = Self(rawValue: "fiscal.record")

    // Messaging
    public static let messagingSettingsSave = Self(rawValue: "messaging.settings.save")
    public static let messagingSenderSet = Self(rawValue: "messaging.sender.set")
    public static let messageTemplateSave = Self(rawValue: "message.template.save")
    public static let clientMessagingSave = Self(rawValue: "client.messaging.save")
    public static let clientConsentRecord = Self(rawValue: "client.consent.record")
    public static let telegramLinkCreate = Self(rawValue: "telegram.link.create")
    public static let telegramLink = Self(rawValue: "telegram.link")
    public static let telegramUnlink = Self(rawValue: "telegram.unlink")
    public static let visitReview = Self(rawValue: "visit.review")
    public static let messagePlan = Self(rawValue: "message.plan")
    public static let messageSend = Self(rawValue: "message.send")
    public static let messageResend = Self(rawValue: "message.resend")

    // Retail
    public static let productSave = Self(rawValue: "product.save")
    public static let productBranchSave = Self(rawValue: "product.branch.save")
    public static let stockReceive = Self(rawValue: "stock.receive")
    public static let stockAdjust = Self(rawValue: "stock.adjust")
    public static let stockTransfer = Self(rawValue: "stock.transfer")
    public static let stockTransferReceive = Self(rawValue: "stock.transfer.receive")
    public static let stocktake = Self(rawValue: "stock.stocktake")
    public static let saleReturn = Self(rawValue: "sale.return")
    public static let couponSave = Self(rawValue: "coupon.save")
    public static let loyaltyRulesSave = Self(rawValue: "loyalty.rules.save")
    public static let escrowMove = Self(rawValue: "escrow.move")
    public static let escrowFulfil = Self(rawValue: "escrow.fulfil")

    // Access
    public static let deviceRevoke = Self(rawValue: "device.revoke")
    public static let pairingApprove = Self(rawValue: "pairing.approve")
    public static let pairingReject = Self(rawValue: "pairing.reject")
    public static let personCreate = Self(rawValue: "person.create")
    public static let personUpdate = Self(rawValue: "person.update")
    public static let sessionStart = Self(rawValue: "session.start")
}
