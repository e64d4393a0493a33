import Foundation

extension Auth {
    /// Which account an address a person typed names, for login and reset.
    ///
    /// The canonical form (`EmailAddress`) names it, unless the store lists that form among its
    /// email conflicts (stored addresses that could not take their canonical form when the
    /// canonical forms came in, because two accounts share it or the old address is invalid
    /// today): then the old normalisation of what was typed (trimmed, lower-cased) names it, as
    /// it did before, so that no account is lost or merged. The same fallback finds an account
    /// whose old address is invalid under today's rules.
    /// - Parameter raw: The address as sent.
    /// - Returns: The key to count attempts under (the canonical form, or the old normalisation
    ///   for a conflicting address), and the account if there is one.
    /// - Throws: `invalidEmail` for an address that is neither valid nor a conflicting account's;
    ///   `storageUnavailable`.
    func account(typed raw: String) async throws -> (key: String, user: User?) {
        let canonical: String
        do {
            canonical = try Validation.normalizedEmail(raw)
        } catch {
            let legacy = Validation.legacyNormalizedEmail(raw)
            if let user = try await legacyAccount(legacy) {
                return (legacy, user)
            }
            throw error
        }
        guard try await storage({ try await store.hasEmailConflict(canonical: canonical) }) else {
            return (canonical, try await storage { try await store.findUser(by: .email(canonical)) })
        }
        let legacy = Validation.legacyNormalizedEmail(raw)
        return (legacy, try await legacyAccount(legacy))
    }

    /// Which account an address names on a route that only looks one up (login and both reset
    /// routes): as `account(typed:)`, but an address the rules refuse (blank after trimming
    /// included) that names no account among the email conflicts is `nil`, so that the route
    /// answers it as an unregistered address, as the original service did, without any hashing,
    /// throttle record or activity entry: nothing about accounts can be learnt from an address
    /// that cannot be one.
    /// - Parameter raw: The address as sent.
    /// - Returns: The key and the account as `account(typed:)` gives them, or `nil`.
    /// - Throws: `storageUnavailable`.
    func lookedUpAccount(typed raw: String) async throws -> (key: String, user: User?)? {
        do {
            return try await account(typed: raw)
        } catch AuthError.invalidEmail {
            return nil
        }
    }

    /// The account whose stored address is `legacy` and is listed among the email conflicts.
    private func legacyAccount(_ legacy: String) async throws -> User? {
        guard let user = try await storage({ try await store.findUser(by: .email(legacy)) }),
            try await storage({ try await store.hasEmailConflict(userID: user.id) })
        else {
            return nil
        }
        return user
    }
}
