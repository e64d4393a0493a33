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
    ///   - after: Only emails after this one (paging), in canonical form when it has one.
    ///   - limit: The most users to list.
    /// - Returns: The users with their live session counts; no secrets.
    /// - Throws: `storageUnavailable` (also when the store has no operator interface).
    public func listUsers(after: String?, limit: Int) async throws -> [UserSummary] {
        let now = clock()
        let idleCutoff = now.addingTimeInterval(-TimeInterval(policy.sessionIdleTimeout))
        // Stored addresses are canonical, but for the email conflicts, which keep the old form.
        let after = after.map { (try? Validation.normalizedEmail($0)) ?? Validation.legacyNormalizedEmail($0) }
        let store = try adminStore()
        return try await storage {
            try await store.listUsers(after: after, limit: limit, now: now, idleCutoff: idleCutoff)
        }
    }

    /// Deletes the account of an email, with its sessions and reset token.
    /// - Parameter email: The email as given.
    /// - Returns: The address of the account deleted (its canonical form, or its old one for an
    ///   email conflict), or `nil` when there was no such account.
    /// - Throws: `invalidEmail`, `storageUnavailable`.
    public func deleteUser(email: String) async throws -> String? {
        guard let user = try await account(typed: email).user else { return nil }
        let admin = try adminStore()
        return try await storage { try await admin.deleteUser(id: user.id) } ? user.email : nil
    }

    /// An account, its live sessions and its last 20 activity entries, for operators: public
    /// session identifiers, times, addresses and agents, never a token, digest or hash.
    /// - Parameter email: The email as given.
    /// - Returns: The account and its sessions (newest first, none marked current), or `nil`
    ///   when there is no such account.
    /// - Throws: `invalidEmail`, `storageUnavailable`.
    public func showUser(email: String) async throws -> (
        account: Account, sessions: [AccountSession], activity: [ActivityEvent]
    )? {
        guard let user = try await account(typed: email).user else { return nil }
        let (now, idleCutoff) = liveWindow()
        let sessions = try await storage {
            try await store.listSessions(userID: user.id, now: now, idleCutoff: idleCutoff)
        }
        let activity = try await storage { try await store.listActivity(userID: user.id, limit: 20) }
        return (Account(user), sessions.map { AccountSession($0, current: false) }, activity)
    }

    /// Marks an account's address verified, as an operator vouches for it.
    /// - Parameter email: The email as given.
    /// - Returns: The account's address, or `nil` when there is no such account.
    /// - Throws: `invalidEmail`, `storageUnavailable`.
    public func markVerified(email: String) async throws -> String? {
        guard let user = try await account(typed: email).user else { return nil }
        guard try await storage({ try await store.setEmailVerified(userID: user.id, true) }) else { return nil }
        await record(.emailVerified, userID: user.id)
        return user.email
    }

    /// Ends every session of an account.
    /// - Parameter email: The email as given.
    /// - Returns: How many sessions ended, or `nil` when there is no such account.
    /// - Throws: `invalidEmail`, `storageUnavailable`.
    public func revokeSessions(email: String) async throws -> Int? {
        guard let user = try await account(typed: email).user else { return nil }
        let ended = try await storage { try await store.deleteSessions(userID: user.id) }
        await record(.sessionsRevoked, userID: user.id)
        return ended
    }

    /// Deletes an account by id, with its sessions and reset token: how an operator resolves
    /// an email conflict.
    /// - Parameter id: The account.
    /// - Returns: Whether there was such an account.
    /// - Throws: `storageUnavailable`.
    public func deleteUser(id: Int64) async throws -> Bool {
        let admin = try adminStore()
        return try await storage { try await admin.deleteUser(id: id) }
    }

    /// Gives an account another address, in canonical form, and takes it off the email
    /// conflicts: how an operator resolves one.
    /// - Parameters:
    ///   - id: The account.
    ///   - email: The new address as given.
    /// - Returns: The canonical address it now has, or `nil` when there is no such account.
    /// - Throws: `invalidEmail`; `emailAlreadyRegistered` when another account has the address,
    ///   or it is the canonical form of conflicting accounts; `storageUnavailable`.
    public func renameUser(id: Int64, to email: String) async throws -> String? {
        let email = try Validation.normalizedEmail(email)
        let admin = try adminStore()
        if try await storage({ try await admin.hasEmailConflict(canonical: email) }) {
            // Renaming one member of a group to the group's form would leave the others unreachable.
            let others = try await storage { try await admin.emailConflicts() }
            if others.contains(where: { $0.canonical?.utf8.elementsEqual(email.utf8) == true && $0.userID != id }) {
                throw AuthError.emailAlreadyRegistered
            }
        }
        return try await storage({ try await admin.renameUser(id: id, email: email) }) ? email : nil
    }

    /// The accounts that keep an old address because it could not take its canonical form, by
    /// canonical form then id; each group (one canonical form, or one invalid address) waits
    /// for an operator to rename or delete its accounts.
    /// - Returns: The conflicts.
    /// - Throws: `storageUnavailable`.
    public func emailConflicts() async throws -> [EmailConflict] {
        let admin = try adminStore()
        return try await storage { try await admin.emailConflicts() }
    }

    /// Imports users with the bcrypt hashes another service stored, so that they log in with
    /// their old passwords. Emails are normalised; malformed rows, duplicates within the rows
    /// and emails already registered are skipped and reported; what is imported is added in one
    /// transaction.
    /// - Parameters:
    ///   - rows: The rows, in source order.
    ///   - maximumCost: The highest bcrypt cost imported, or `nil` for any: one wrong guess
    ///     against a cost-16 hash holds a hashing thread for seconds, at cost 31 for a day and a
    ///     half, so rows above it are skipped and reported unless the operator allows them.
    /// - Returns: What was imported and what was skipped, and why.
    /// - Throws: `storageUnavailable` (and then nothing was imported).
    public func importUsers(_ rows: [ImportedRow], maximumCost: Int? = nil) async throws -> ImportReport {
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
            if let maximumCost, let cost = BcryptPasswordHasher.cost(of: row.passwordHash), cost > maximumCost {
                skipped.append(.init(row: row.row, reason: .costTooHigh(cost: cost, maximum: maximumCost)))
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

    /// Removes the second factor of an email's account (an operator's `users mfa-reset`, for a
    /// lost authenticator): the factor, its recovery codes and every session go, and the owner is
    /// notified. Without an active factor only a pending enrolment goes; sessions stay.
    /// - Parameter email: The email as given.
    /// - Returns: Whether an active factor went, or `nil` when there is no such account.
    /// - Throws: `invalidEmail`, `storageUnavailable`.
    public func resetSecondFactor(email: String) async throws -> Bool? {
        guard let user = try await account(typed: email).user else { return nil }
        let messages = try await outboxMessages(
            [.secondFactorDisabled(email: user.email, at: clock())], userID: user.id)
        guard
            try await committingChange(
                messages,
                { try await store.deleteSecondFactor(userID: user.id, ifRevision: nil, messages: messages) })
        else { return false }
        let ended = try await storage { try await store.deleteSessions(userID: user.id) }
        metrics.sessionsEndedByLogout.increment(by: ended)
        // A new enrolment starts without the old factor's wrong codes.
        _ = try? await store.updateThrottleRecord(ThrottleKey(.secondFactor, String(user.id))) { _ in nil }
        await record(.secondFactorDisabled, userID: user.id)
        return true
    }
}
