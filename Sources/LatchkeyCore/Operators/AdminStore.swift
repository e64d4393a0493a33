import Foundation

/// What operators and benchmarks need beyond the rules: listing and deleting accounts, and bulk
/// inserts in one transaction. `Auth`'s admin operations (`Auth+Admin.swift`) use it; the rules
/// of the service need only `AuthStore`.
///
/// Every method throws only `StoreError`.
public protocol AdminStore: AuthStore {
    /// Lists users by email, in order, for operators.
    /// - Parameters:
    ///   - after: Only emails sorted after this one (for paging).
    ///   - limit: The most users to return.
    ///   - now: Sessions expiring at or before this are not live.
    ///   - idleCutoff: Sessions last seen at or before this are not live.
    /// - Returns: The users with their live session counts.
    func listUsers(after: String?, limit: Int, now: Date, idleCutoff: Date) async throws -> [UserSummary]

    /// Adds many users in one transaction; an email that is already registered is skipped.
    /// - Parameter users: The users, with distinct normalised emails.
    /// - Returns: For each user, in order, whether it was added.
    func addUsers(_ users: [NewUser]) async throws -> [Bool]

    /// Adds many sessions in one transaction, for seeding benchmarks.
    /// - Parameter sessions: The sessions.
    /// - Throws: `StoreError.notFound`, and adds none, when one of their users is missing.
    func addSessions(_ sessions: [Session]) async throws

    /// Reads a throttle record, for operators and the store contract: the rules read and change
    /// records only inside `updateThrottleRecord`, so that a reservation sees the record it
    /// changes.
    /// - Parameter key: The scope and normalised email.
    /// - Returns: The record, or `nil` when there is none.
    func throttleRecord(_ key: ThrottleKey) async throws -> ThrottleRecord?

    /// Every account listed among the email conflicts, by canonical form then id.
    /// - Returns: The conflicts.
    func emailConflicts() async throws -> [EmailConflict]

    /// Gives an account another address (already canonical) and takes it off the email
    /// conflicts; its sessions carry the new address. The new address is not verified, and a
    /// pending verification token goes.
    /// - Parameters:
    ///   - id: The account.
    ///   - email: The new canonical address.
    /// - Returns: Whether there was such an account.
    /// - Throws: `StoreError.duplicateEmail` when another account has the address.
    func renameUser(id: Int64, email: String) async throws -> Bool
}
