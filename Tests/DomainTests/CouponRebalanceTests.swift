import Foundation
import Replication
import Testing

@testable import Domain
import TestSupport

@Suite("Escrow: the automatic rule that moves coupon uses to a box that used up its own")
struct CouponRebalanceTests {
    @Test("a box that used up its allotment asks the largest holder for half; the holder moves them when it sees the request; one request at a time; a box never given uses does not ask")
    func rebalance() throws {
        let e = try EscrowFixture()
        let a = e.shop, b = try e.f.world.makeShop(home: nil), c = try e.f.world.makeShop(home: nil)
        let coupon = try a.saveCoupon(e.makeCoupon("AUTUMN", limit: 10), allotments: [b.siteHex: 1], actor: manager)
        try syncAll([a, b, c])
        // C was given nothing and never redeemed it: the owner's split stands.
        #expect(try c.requestCouponRebalance(actor: manager) == 0)
        // B holds one: nothing to ask for yet.
        #expect(try b.requestCouponRebalance(actor: manager) == 0)
        _ = try e.sell(on: b, coupon: "AUTUMN")
        #expect(domainError { _ = try e.sell(on: b, coupon: "AUTUMN") }?.code == .heldElsewhere)
        #expect(try b.requestCouponRebalance(actor: manager) == 1)
        #expect(try b.requestCouponRebalance(actor: manager) == 0, "one open request per coupon")
        let request = try #require(try b.escrowRequests(openOnly: true, limit: 10).first)
        #expect(request.fromSite == a.siteHex && request.toSite == b.siteHex && request.amount == 5)
        try sync(b, to: a)
        #expect(try a.fulfilEscrowRequests(actor: manager) == 1)
        try sync(a, to: b)
        #expect(try b.escrowBalance(.coupon(coupon.id)).here == 5)
        #expect(try a.escrowBalance(.coupon(coupon.id)).here == 4)
        _ = try e.sell(on: b, coupon: "AUTUMN")
        #expect(try b.requestCouponRebalance(actor: manager) == 0, "B holds uses again")
    }

    @Test("no request for a coupon without a limit, or when the other boxes hold fewer than two")
    func noRequest() throws {
        let e = try EscrowFixture()
        let a = e.shop, b = try e.f.world.makeShop(home: nil)
        _ = try a.saveCoupon(e.makeCoupon("PAIR", limit: 2), allotments: [b.siteHex: 1], actor: manager)
        try syncAll([a, b])
        _ = try e.sell(on: b, coupon: "PAIR")
        // A holds one: fewer than two, so B does not take A's last use.
        #expect(try b.requestCouponRebalance(actor: manager) == 0)
        _ = try a.saveCoupon(e.makeCoupon("FREE"), allotments: [:], actor: manager)
        try syncAll([a, b])
        _ = try e.sell(on: b, coupon: "FREE")
        #expect(try b.requestCouponRebalance(actor: manager) == 0)
        #expect(try b.escrowRequests(openOnly: true, limit: 10).isEmpty)
    }
}
