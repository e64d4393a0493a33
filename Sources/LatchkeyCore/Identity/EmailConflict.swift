/// A stored account whose address could not take its canonical form (`EmailAddress`) when
/// canonical forms came in: another stored address has the same canonical form, or the old
/// address is invalid under today's rules. It keeps its old address, which still logs it in,
/// until an operator renames or deletes it (`latchkey users conflicts`).
public struct EmailConflict: Sendable, Equatable {
    /// The account.
    public var userID: Int64
    /// The address it is stored under (trimmed and lower-cased, as before canonical forms).
    public var email: String
    /// The canonical form it shares with the other accounts of its group, or `nil` when the old
    /// address has none (it is invalid today).
    public var canonical: String?

    /// Creates a conflict.
    /// - Parameters:
    ///   - userID: The account.
    ///   - email: Its stored address.
    ///   - canonical: The shared canonical form, or `nil` for an invalid address.
    public init(userID: Int64, email: String, canonical: String?) {
        self.userID = userID
        self.email = email
        self.canonical = canonical
    }
}

/// The data step that brings stored addresses to their canonical forms: what each store's
/// migration `v4-canonical-emails` applies, so that both stores decide alike.
public enum EmailCanonicalisation {
    /// What to change.
    public struct Plan: Sendable, Equatable {
        /// Accounts whose stored address becomes its canonical form: unique, and valid.
        public var updates: [(userID: Int64, email: String)]
        /// Accounts that keep their old address, to be listed as conflicts.
        public var conflicts: [EmailConflict]

        /// Equal when they make the same changes in the same order.
        public static func == (lhs: Plan, rhs: Plan) -> Bool {
            lhs.updates.map(\.userID) == rhs.updates.map(\.userID)
                && lhs.updates.map(\.email) == rhs.updates.map(\.email) && lhs.conflicts == rhs.conflicts
        }
    }

    /// Decides, for every stored account, whether its address can become its canonical form.
    /// Nothing is merged or lost: accounts whose canonical forms collide, and accounts whose
    /// address is invalid today, keep their addresses and are listed. No update can collide with
    /// a kept address: a kept valid address is its own canonical form (canonicalising is
    /// idempotent), so it belongs to the group of anything that would take it.
    /// - Parameter users: Every account's id and stored address.
    /// - Returns: The updates (only where the address changes) and the conflicts, by id.
    public static func plan(_ users: [(id: Int64, email: String)]) -> Plan {
        var groups: [String: [(id: Int64, email: String)]] = [:]
        var conflicts: [EmailConflict] = []
        for user in users {
            if let canonical = try? EmailAddress(user.email).value {
                groups[canonical, default: []].append(user)
            } else {
                conflicts.append(EmailConflict(userID: user.id, email: user.email, canonical: nil))
            }
        }
        var updates: [(userID: Int64, email: String)] = []
        for (canonical, members) in groups {
            if members.count == 1 {
                // Bytes, not `String` equality: an NFD address equals its NFC form as a `String`.
                if !members[0].email.utf8.elementsEqual(canonical.utf8) { updates.append((members[0].id, canonical)) }
            } else {
                conflicts += members.map { EmailConflict(userID: $0.id, email: $0.email, canonical: canonical) }
            }
        }
        updates.sort { $0.userID < $1.userID }
        conflicts.sort { $0.userID < $1.userID }
        return Plan(updates: updates, conflicts: conflicts)
    }
}
