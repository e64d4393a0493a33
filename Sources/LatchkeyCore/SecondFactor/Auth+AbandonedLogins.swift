import Foundation

/// The owner of an account with a second factor hears when its password was used without the
/// factor (OWASP Multifactor Authentication Cheat Sheet: notify the user of a failed second
/// factor after a correct password): at once after a wrong code, and within
/// `MFA_LOGIN_TOKEN_TTL` + 60 seconds of the password step when no code completed it.
extension Auth {
    /// Notices of one account: at most this many an hour, counted in the database so that every
    /// node shares the count.
    static let abandonedLoginNoticeLimit = RequestLimit(maxRequests: 1, window: 3600)

    /// Tells the owner that the account's password was given without its second factor, unless
    /// the account was told so in the last hour. It never fails its caller: a refusal of the
    /// database is logged.
    /// - Parameters:
    ///   - userID: The account.
    ///   - email: Its address.
    func noticePasswordWithoutSecondFactor(userID: Int64, email: String) async {
        do {
            try await countRequest(ThrottleKey(.secondFactorNotice, String(userID)), Self.abandonedLoginNoticeLimit)
        } catch AuthError.throttled {
            return
        } catch {
            logger.warning(
                "could not count a password_used_without_second_factor notice", metadata: ["error": "\(error)"])
            return
        }
        await send([.passwordUsedWithoutSecondFactor(email: email, at: clock())], userID: userID)
    }

    /// Takes the login challenges that expired without a code (each once, whichever node asks) and
    /// tells their accounts' owners; a challenge left by a node that stopped is taken by the next
    /// node that asks. The purge runs it, and every 30 seconds between purges.
    /// - Returns: How many challenges were taken.
    /// - Throws: `storageUnavailable`.
    @discardableResult
    public func noticeAbandonedLogins() async throws -> Int {
        let taken = try await storage { try await store.takeExpiredLoginChallenges(now: clock()) }
        for userID in Set(taken.map(\.userID)) {
            guard let user = try await storage({ try await store.findUser(by: .id(userID)) }) else { continue }
            await noticePasswordWithoutSecondFactor(userID: userID, email: user.email)
        }
        return taken.count
    }
}
