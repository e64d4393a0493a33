import Foundation

/// Operators' work: listing, deleting and importing users, ending sessions.
extension Auth {
    /// The store's operator interface: every store Latchkey ships (SQLite, PostgreSQL, the
    /// in-memory store of the tests) has one; a store without it makes these operations fail.
    /// - Throws: `storageUnavailable` when the store has no operator interface.
    func adminStore() throws -> any AdminStore {
        guard let admin = store as? any AdminStore else {
            logger.error("this store offers no operator interface")
            throw AuthError.storageUnavailable
        }
        return admin
    }

    /// Lists users by email.
    /// - Parameters:
    ///   - after: Only emails after this one (paging), normalised like any email.
    ///   - limit: The most users to list.
    /// - Returns: The users with their live session counts; no secrets.
    /// - Throws: `storageUnavailable` (also when the store has no operator interface).
    public func listUsers(after: String?, limit: Int) async throws -> [UserSummary] {
        let now = clock()
        let idleCutoff = now.addingTimeInterval(-TimeInterval(policy.sessionIdleTimeout))
        let after = after.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
        let store = try adminStore()
        return try await storage {
            try await store.listUsers(after: after, limit: limit, now: now, idleCutoff: idleCutoff)
        }
    }

    /// Deletes the account of an email, with its sessions and reset token.
    /// - Parameter email: The email as given.
    /// - Returns: Whether there was such an account.
    /// - Throws: `invalidEmail`, `storageUnavailable`.
    public func deleteUser(email: String) async throws -> Bool {
        let email = try Validation.normalizedEmail(email)
        guard let user = try await storage({ try await store.findUser(by: .email(email)) }) else { return false }
        let admin = try adminStore()
        return try await storage { try await admin.deleteUser(id: user.id) }
    }

    /// Ends every session of an account.
    /// - Parameter email: The email as given.
    /// - Returns: How many sessions ended, or `nil` when there is no such account.
    /// - Throws: `invalidEmail`, `storageUnavailable`.
    public func revokeSessions(email: String) async throws -> Int? {
        let email = try Validation.normalizedEmail(email)
        guard let user = try await storage({ try await store.findUser(by: .email(email)) }) else { return nil }
        return try await storage { try await store.deleteSessions(userID: user.id) }
    }

    /// Imports users with the bcrypt hashes another service stored, so that they log in with
    /// their old passwords. Emails are normalised; malformed rows, duplicates within the rows
    /// and emails already registered are skipped and reported; what is imported is added in one
    /// transaction.
    /// - Parameter rows: The rows, in source order.
    /// - Returns: What was imported and what was skipped, and why.
    /// - Throws: `storageUnavailable` (and then nothing was imported).
    public func importUsers(_ rows: [ImportedRow]) async throws -> ImportReport {
        var skipped: [ImportReport.SkippedRow] = []
        var firstRowByEmail: [String: Int] = [:]
        var candidates: [(row: Int, user: NewUser)] = []
        let now = clock()
        for row in rows {
            let email: String
            do {
                email = try Validation.normalizedEmail(row.email)
            } catch {
                if case .invalidEmail(let why) = error {
                    skipped.append(.init(row: row.row, reason: .malformedEmail(why)))
                }
                continue
            }
            guard Self.isBcryptHash(row.passwordHash) else {
                skipped.append(.init(row: row.row, reason: .malformedHash))
                continue
            }
            if let first = firstRowByEmail[email] {
                skipped.append(.init(row: row.row, reason: .duplicateInFile(firstRow: first)))
                continue
            }
            firstRowByEmail[email] = row.row
            candidates.append((row.row, NewUser(email: email, passwordHash: row.passwordHash, createdAt: now)))
        }
        let admin = try adminStore()
        let added = try await storage { try await admin.addUsers(candidates.map(\.user)) }
        for (candidate, wasAdded) in zip(candidates, added) where !wasAdded {
            skipped.append(.init(row: candidate.row, reason: .alreadyRegistered))
        }
        skipped.sort { $0.row < $1.row }
        return ImportReport(imported: added.filter { $0 }.count, skipped: skipped)
    }

    /// Whether text is a bcrypt hash (`$2a$`, `$2b$` or `$2y$`, a two-digit cost from 4 to 31,
    /// and 53 characters of bcrypt's base64).
    static func isBcryptHash(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, let cost = BcryptPasswordHasher.cost(of: hash), (4...31).contains(cost) else {
            return false
        }
        let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        return bytes[7...].allSatisfy { alphabet.contains($0) }
    }
}
