import Domain
import Logging
import ServiceLifecycle

/// Answers the escrow move requests addressed to this box (docs/retail.md, "Moves"): when it starts
/// and whenever the replica changes (a request written here, or brought by a merge from another box),
/// it moves what it holds of each requested account to the box that asked, at most the amount asked.
/// A request this box cannot serve is declined, so it never stays open here. It also runs the automatic
/// rule for coupons: a coupon whose allotment this box used up is asked for from the box that holds most.
struct EscrowService: Service {
    let shop: Shop
    let logger: Logger
    /// The longest wait between two looks when nothing changes (a request missed by a wake-up).
    var idle: Duration = .seconds(300)

    func run() async throws {
        let wake = WakeSignal()
        let follower = Task { [wake, shop] in
            for await _ in shop.changeFeed.changes() { wake.signal() }
        }
        defer { follower.cancel() }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var delay = idle
                do {
                    let answered = try await shop.retail.fulfilRequests(as: .system("escrow service"))
                    if answered > 0 { logger.info("escrow move requests answered", metadata: ["escrow.answered": "\(answered)"]) }
                    let asked = try await shop.retail.rebalanceCoupons(as: .system("escrow service"))
                    if asked > 0 { logger.info("coupon uses asked for (allotment used up)", metadata: ["escrow.requested": "\(asked)"]) }
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("answering escrow move requests failed; trying again", metadata: ["error": "\(error)"])
                    delay = .seconds(5)
                }
                await wake.wait(timeout: delay)
            }
        }
    }
}
