import Domain
import Foundation
import Replication
import Testing
import TestSupport
@testable import EdgeNodeApp

/// Escrow between two running boxes (issue 18): a gift card sold on A is held by A; B, while A is off,
/// is refused the payment (`held_elsewhere`) and asks for the balance; once A runs and syncs with B,
/// A's escrow service moves it and B takes the payment.
@Suite("Escrow between running boxes (loopback)", .serialized)
struct EscrowNodeTests {
    @Test("B asks for a card's balance that A holds; once the boxes are connected, A's escrow service moves it and B takes the payment")
    func moveOnDemand() async throws {
        let root = NSTemporaryDirectory() + "edgenode-escrow-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let aDirectory = ReplicaDirectory(path: root + "/a")
        let provisioned = try Provisioning(branchName: "Atyrau Central", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Owner")
            .run(in: aDirectory, logger: PeerSyncTests.logger)
        let branch = provisioned.branchID
        let bDirectory = try PeerSyncTests.joinSecondBox(aDirectory, at: root + "/b")
        let b = try PeerSyncTests.runtime(bDirectory)
        let bServer = Task { try await b.run() }
        defer { bServer.cancel() }
        _ = try await b.waitUntilListening()
        let actor = Shop.MoneyActor(name: "Desk", deviceID: "", rights: .all)

        // A sells a gift card and is paid for it; B receives it, then A is switched off.
        let account: EscrowAccount
        let aSite: String
        do {
            let a = try PeerSyncTests.runtime(aDirectory, peers: ["127.0.0.1:\(b.port)"])
            let aServer = Task { try await a.run() }
            let sold = try a.shop.checkout(CheckoutRequest(branchID: branch, payments: [PaymentRequest(method: .card, amountMinor: 50_000)],
                                                           giftCards: [GiftCardSaleLine(amountMinor: 50_000)]), actor: actor, fiscalRequired: false)
            let line = try #require(sold.lines.first { $0.kind == SaleLine.Kind.giftCard })
            account = EscrowAccount.giftCard(try #require(GiftCardID(line.reference)))
            aSite = a.store.site.hex
            try await eventually("B knows the card, held by A", timeout: .seconds(60)) {
                (try? b.shop.escrowBalance(account))?.elsewhere.map(\.site) == [aSite]
            }
            aServer.cancel()
            _ = await aServer.result
        }
        guard case .giftCard(let cardID) = account else { return }

        // B cannot take it yet: A holds it all. B asks A for 20 000.
        let card = try b.shop.giftCard(cardID)
        let sale = try b.shop.checkout(CheckoutRequest(branchID: branch, lines: [.init(name: "Shampoo", quantity: 1, unitPriceMinor: 20_000)]),
                                       actor: actor, fiscalRequired: false)
        let payment = PaymentRequest(method: .giftCard, amountMinor: 20_000, giftCardCode: card.code)
        do {
            _ = try b.shop.takePayment(sale.id, payment, actor: actor)
            Issue.record("B took a payment from a card it holds none of")
        } catch let error as DomainError {
            #expect(error.code == .heldElsewhere, "\(error)")
        }
        let request = try await b.shop.retail.requestMove(account, from: aSite, to: b.store.site.hex, amount: 20_000, reason: "client at B", as: .system("test"))
        #expect(request.state == EscrowRequest.State.open)

        // A runs again: it hears of the request when it syncs, and its escrow service answers it.
        let a = try PeerSyncTests.runtime(aDirectory, peers: ["127.0.0.1:\(b.port)"])
        let aServer = Task { try await a.run() }
        try await eventually("A's move reaches B", timeout: .seconds(60)) {
            (try? b.shop.escrowBalance(account))?.here == 20_000
        }
        #expect(try b.shop.escrowRequests(openOnly: false, limit: 10).first { $0.id == request.id }?.state == .done)
        let paid = try b.shop.takePayment(sale.id, payment, actor: actor)
        #expect(paid.reference == account.description)
        #expect(try b.shop.sale(sale.id).state == .paid)
        try await eventually("A learns of B's payment: the card has 30 000 left, all at A", timeout: .seconds(60)) {
            let balance = try a.shop.escrowBalance(account)
            return balance.here == 30_000 && balance.total == 30_000
        }
        // Stop A (whose worker keeps connecting to B) before B.
        aServer.cancel()
        _ = await aServer.result
    }
}
