import Foundation
import Testing
@testable import Domain

@Suite("Client book")
struct ClientTests {
    @Test("phones are stored in E.164; a second client with the same phone is refused locally and nothing is written")
    func duplicatePhone() throws {
        let f = try ShopFixture()
        let aigerim = try f.shop.createClient(ClientDraft(name: "Aigerim Nurlanovna", phone: "8 (701) 123-45-67", email: "Aigerim@Mail.KZ"), branch: f.branchID)
        #expect(aigerim.phone == "+77011234567" && aigerim.email == "Aigerim@mail.kz")
        let before = try f.shop.store.statistics().ownChangesets
        #expect { try f.shop.createClient(ClientDraft(name: "Other", phone: "+7 701 123 45 67"), branch: f.branchID) }
            throws: { ($0 as? DomainError)?.code == .duplicatePhone }
        let other = try f.shop.createClient(ClientDraft(name: "Other", phone: "87017654321"), branch: f.branchID)
        #expect { try f.shop.updateClient(other.id, ClientDraft(name: "Other", phone: "7011234567"), branch: f.branchID) }
            throws: { ($0 as? DomainError)?.code == .duplicatePhone }
        #expect(try f.shop.store.statistics().ownChangesets == before + 1)
        #expect(try f.shop.client(phone: "8 701 123 45 67", branch: f.branchID)?.id == aigerim.id)
        #expect { try f.shop.createClient(ClientDraft(name: "Bad", phone: "701"), branch: f.branchID) } throws: { ($0 as? DomainError)?.code == .invalidPhone }
        #expect { try f.shop.createClient(ClientDraft(name: "Bad", email: "not-an-email"), branch: f.branchID) } throws: { ($0 as? DomainError)?.code == .invalidArgument }
        #expect { try f.shop.createClient(ClientDraft(name: " "), branch: f.branchID) } throws: { ($0 as? DomainError)?.code == .invalidArgument }
    }

    @Test("search by a fragment of name, phone or email, Cyrillic and Latin, case and ё/е insensitive", arguments: [
        ("айгер", ["Айгерим Нурланова"]),
        ("АЙГЕРИМ", ["Айгерим Нурланова"]),
        ("Фёдор", ["Федор Ёлкин"]),
        ("елкин", ["Федор Ёлкин"]),
        ("smith", ["John Smith"]),
        ("jo sm", ["John Smith"]),
        ("4567", ["Айгерим Нурланова"]),
        ("701 123", ["Айгерим Нурланова"]),
        ("+4477", ["John Smith"]),
        ("gmail", ["John Smith"]),
        ("нурл айг", ["Айгерим Нурланова"]),
        ("zzz", []),
        ("ов", ["Айгерим Нурланова", "Иван Петров"]),
    ])
    func search(query: String, expected: [String]) throws {
        let f = try ShopFixture()
        for (name, phone, email) in [("Айгерим Нурланова", "87011234567", ""), ("Федор Ёлкин", "87470000001", "fedor@mail.ru"),
                                     ("John Smith", "+447700900123", "john.smith@gmail.com"), ("Иван Петров", "", "")] {
            try f.shop.createClient(ClientDraft(name: name, phone: phone, email: email), branch: f.branchID)
        }
        #expect(try f.shop.searchClients(query).map(\.name).sorted() == expected.sorted())
    }

    @Test("the search index follows renames and merges")
    func searchFollowsChanges() throws {
        let f = try ShopFixture()
        let client = try f.shop.createClient(ClientDraft(name: "Dana Lee"), branch: f.branchID)
        try f.shop.updateClient(client.id, ClientDraft(name: "Dana Kim"), branch: f.branchID)
        #expect(try f.shop.searchClients("lee").isEmpty)
        #expect(try f.shop.searchClients("kim").map(\.id) == [client.id])
        let other = try f.shop.createClient(ClientDraft(name: "Dana Kimberly"), branch: f.branchID)
        try f.shop.mergeClients(other.id, into: client.id, actor: "desk")
        #expect(try f.shop.searchClients("kim").map(\.id) == [client.id])
        try f.shop.rebuildDerivedState()
        #expect(try f.shop.searchClients("kim").map(\.id) == [client.id])
    }

    @Test("notes are append-only facts with author and time; history comes from appointments, lifetime spend from what was actually paid")
    func notesAndHistory() throws {
        let f = try ShopFixture()
        let anna = try f.addStaff("Anna")
        let cut = try f.addOffering("Cut", minutes: 60, price: 500_000, staff: [anna])
        let client = try f.shop.createClient(ClientDraft(name: "Dana", phone: "87011112233"), branch: f.branchID)
        try f.shop.addNote(to: client.id, body: "Prefers Anna", author: "desk-1")
        f.clock.advance(minutes: 1)
        try f.shop.addNote(to: client.id, body: "Allergic to ammonia", author: "anna")
        #expect(try f.shop.notes(of: client.id).map(\.body) == ["Prefers Anna", "Allergic to ammonia"])
        #expect { try f.shop.addNote(to: client.id, body: "  ", author: "x") } throws: { ($0 as? DomainError)?.code == .invalidArgument }
        let visits = try [("10:00"), ("12:00"), ("14:00")].map { time in
            try f.shop.book(BookingRequest(branchID: f.branchID, parts: [VisitPart(offeringID: cut)], start: f.at("2024-05-07", time), clientID: client.id)).appointment
        }
        f.clock.set(f.at("2024-05-07", "18:00"))
        try f.shop.checkIn(visits[0].id, actor: "desk")
        try f.shop.complete(visits[0].id, actor: "desk")
        try f.shop.markNoShow(visits[1].id, actor: "desk")
        try f.shop.cancel(visits[2].id, by: .client, reason: "", actor: "desk")
        let history = try f.shop.history(of: client.id)
        #expect(history.visits.count == 3 && history.completedVisits == 1 && history.noShows == 1 && history.lateCancellations == 1)
        // Completed but not paid yet: nothing spent.
        #expect(history.lifetimeSpend.isEmpty)
        let sale = try f.shop.checkout(CheckoutRequest(branchID: f.branchID, appointmentIDs: [visits[0].id],
                                                       payments: [PaymentRequest(method: .card, amountMinor: 500_000)]), actor: manager, fiscalRequired: false)
        _ = try f.shop.refund(sale.payments[0].id, amountMinor: 50_000, reason: "late start", refundID: .generate(at: f.shop.now), online: true, actor: manager)
        let paid = try f.shop.history(of: client.id)
        #expect(paid.lifetimeSpend == [Money(amountMinor: 450_000, currency: "KZT")])
        #expect(paid.visitsPaid.map(\.appointmentID) == [visits[0].id] && paid.visitsPaid.first?.paidMinor == 450_000)
    }

    @Test("a merge of replicas that creates two clients with one phone surfaces a suggestion; a person merges them")
    func duplicatesAfterMerge() throws {
        let f = try ShopFixture()
        let other = try f.world.makeShop(home: nil)
        try sync(f.shop, to: other)
        let here = try f.shop.createClient(ClientDraft(name: "Aliya", phone: "87015550000", tags: ["vip"]), branch: f.branchID)
        let there = try other.createClient(ClientDraft(name: "Aliya B.", phone: "+77015550000", email: "aliya@example.kz"), branch: f.branchID)
        try syncAll([f.shop, other])
        for shop in [f.shop, other] {
            #expect(try shop.duplicateSuggestions() == [DuplicateSuggestion(phone: "+77015550000", clients: [here.id, there.id].sorted())])
        }
        // Never merged silently: both records still exist.
        #expect(try f.shop.client(here.id).mergedInto == nil && f.shop.client(there.id).mergedInto == nil)
        try f.shop.mergeClients(there.id, into: here.id, actor: "owner")
        try syncAll([f.shop, other])
        for shop in [f.shop, other] {
            #expect(try shop.duplicateSuggestions().isEmpty)
            let kept = try shop.client(here.id)
            #expect(kept.email == "aliya@example.kz" && kept.tags == ["vip"])
            #expect(try shop.client(there.id).mergedInto == here.id)
        }
    }
}
