import Foundation
import Replication

/// Which branches a person may report on (docs/reports.md, "Who sees what"): a manager sees their
/// own branch, and the owner may grant more — every branch, or a list of branches besides their own.
/// Grants are replicated (`report_grants`), so every box of the business honours them.
public enum ReportAccess: Hashable, Sendable {
    /// Only the person's own branch (no grant).
    case own
    /// Every branch.
    case all
    /// These branches, besides the person's own.
    case branches([BranchID])

    /// The stored form (`report_grants.branches`): `''`, `all`, or a JSON array of branch ids.
    var stored: String {
        switch self {
        case .own: ""
        case .all: "all"
        case .branches(let ids): JSONColumn.encode(ids.map(\.rawValue))
        }
    }

    /// Reads the stored form; anything unreadable is `own` (never more than the person's own branch).
    init(stored: String) {
        switch stored {
        case "": self = .own
        case "all": self = .all
        default:
            let ids = (try? JSONDecoder().decode([String].self, from: Data(stored.utf8)))?.compactMap(BranchID.init) ?? []
            self = ids.isEmpty ? .own : .branches(ids)
        }
    }
}

/// A person's report access as granted, with who granted it and when (nil: never granted).
public struct ReportGrant: Hashable, Sendable {
    public var personID: PersonID
    public var access: ReportAccess
    public var grantedBy: String
    public var grantedAt: Instant?
}

extension AuditOperation {
    public static let reportAccessGrant = Self(rawValue: "report_access.grant")
}

extension Reports {
    /// Sets which branches `person` may report on (an owner's write, audited). A list names
    /// branches besides the person's own; duplicates are dropped.
    /// - Throws: `.notFound` for an unknown person or branch.
    public func grant(person: PersonID, branches access: ReportAccess, as acting: Acting) async throws -> ReportGrant {
        try await shop.perform(as: acting) { try $0.grantReportAccess(person: person, access: access, by: acting.name) }
    }

    /// Every person's grant, by person (people without a row have `own`).
    public func grants() async throws -> [PersonID: ReportGrant] {
        try await shop.perform { try $0.reportGrants() }
    }

    /// One person's report access (`own` without a grant).
    public func access(of person: PersonID) async throws -> ReportAccess {
        try await shop.perform { try $0.reportGrants()[person]?.access ?? .own }
    }

    /// When this replica last received changesets written by any box of each branch (LAN sync or
    /// relay alike); a branch it never heard from is absent.
    public func lastHeard() async throws -> [BranchID: Instant] {
        try await shop.perform { try $0.lastHeardByBranch() }
    }
}

extension Shop {
    package func grantReportAccess(person: PersonID, access: ReportAccess, by name: String) throws -> ReportGrant {
        var access = access
        if case .branches(let ids) = access {
            var seen: Set<BranchID> = []
            access = .branches(ids.filter { seen.insert($0).inserted })
        }
        let now = self.now
        try write(.reportAccessGrant) { transaction in
            _ = try Self.person(person, in: transaction)
            if case .branches(let ids) = access {
                for id in ids { _ = try Loader.branch(id, in: transaction) }
            }
            let values: [String: SQLValue] = ["branches": .text(access.stored), "granted_by": .text(name), "granted_at": .instant(now)]
            if try transaction.fetchOne("SELECT person_id FROM report_grants WHERE person_id = ?", [.text(person.rawValue)]) != nil {
                try transaction.update("report_grants", key: .text(person.rawValue), values)
            } else {
                var row = values
                row["person_id"] = .text(person.rawValue)
                try transaction.insert("report_grants", row)
            }
        }
        return ReportGrant(personID: person, access: access, grantedBy: name, grantedAt: now)
    }

    package func reportGrants() throws -> [PersonID: ReportGrant] {
        try read { transaction in
            var result: [PersonID: ReportGrant] = [:]
            for row in try transaction.fetchAll("SELECT person_id, branches, granted_by, granted_at FROM report_grants", []) {
                guard let id = PersonID(row["person_id"].string) else { continue }
                result[id] = ReportGrant(personID: id, access: ReportAccess(stored: row["branches"].string), grantedBy: row["granted_by"].string,
                                         grantedAt: row["granted_at"].int64 > 0 ? Instant(milliseconds: row["granted_at"].int64) : nil)
            }
            return result
        }
    }

    /// Notes that changesets of the sites whose entries grew between `before` and now were received
    /// (called after every merge of changesets or a snapshot).
    func recordHeard(since before: VersionVector) throws {
        let after = store.versionVector
        let grown = after.entries.filter { $0.key != store.site && $0.value > before[$0.key] }.map(\.key)
        guard !grown.isEmpty else { return }
        let now = self.now
        try store.write { transaction in
            for site in grown {
                try transaction.execute("INSERT OR REPLACE INTO local_sites_heard (site, heard_at) VALUES (?, ?)", [.text(site.hex), .instant(now)])
            }
        }
    }

    package func lastHeardByBranch() throws -> [BranchID: Instant] {
        let heard = try read { transaction in
            try transaction.fetchAll("SELECT site, heard_at FROM local_sites_heard", []).reduce(into: [String: Int64]()) { $0[$1["site"].string] = $1["heard_at"].int64 }
        }
        var result: [BranchID: Instant] = [:]
        for (branch, boxes) in boxesByBranch() {
            guard let id = BranchID(branch) else { continue }
            let latest = boxes.compactMap { heard[$0.site] }.max()
            if let latest { result[id] = Instant(milliseconds: latest) }
        }
        return result
    }
}
