import Foundation
import LatchkeyCore

/// The account's rules called with a session token, as a client holds it: each resolves the
/// token with `Auth.authenticatedSession(token:)` first, as the HTTP layer does, then calls the
/// rule. For tests that speak in tokens; the service itself resolves a request's session once.
extension Auth {
    /// `account(session:)` for a token.
    public func account(sessionToken token: String) async throws -> Account {
        try await account(session: authenticatedSession(token: token))
    }

    /// `changePassword(session:currentPassword:newPassword:code:origin:)` for a token.
    public func changePassword(
        sessionToken token: String, currentPassword: String, newPassword: String, code: String? = nil,
        origin: SessionOrigin
    ) async throws -> SessionGrant {
        try await changePassword(
            session: authenticatedSession(token: token), currentPassword: currentPassword,
            newPassword: newPassword, code: code, origin: origin)
    }

    /// `sessions(session:)` for a token.
    public func sessions(sessionToken token: String) async throws -> [AccountSession] {
        try await sessions(session: authenticatedSession(token: token))
    }

    /// `endSession(id:session:password:code:origin:)` for a token.
    public func endSession(
        id: String, sessionToken token: String, password: String, code: String? = nil,
        origin: SessionOrigin = SessionOrigin()
    ) async throws -> Bool {
        try await endSession(
            id: id, session: authenticatedSession(token: token), password: password, code: code, origin: origin)
    }

    /// `endOtherSessions(session:password:code:origin:)` for a token.
    public func endOtherSessions(
        sessionToken token: String, password: String, code: String? = nil, origin: SessionOrigin = SessionOrigin()
    ) async throws -> Int {
        try await endOtherSessions(
            session: authenticatedSession(token: token), password: password, code: code, origin: origin)
    }

    /// `deleteAccount(session:password:code:origin:)` for a token.
    public func deleteAccount(
        sessionToken token: String, password: String, code: String? = nil, origin: SessionOrigin = SessionOrigin()
    ) async throws {
        try await deleteAccount(
            session: authenticatedSession(token: token), password: password, code: code, origin: origin)
    }

    /// `changeEmail(session:password:newEmail:code:origin:)` for a token.
    public func changeEmail(
        sessionToken token: String, password: String, newEmail: String, code: String? = nil,
        origin: SessionOrigin = SessionOrigin()
    ) async throws -> VerificationRequestOutcome {
        try await changeEmail(
            session: authenticatedSession(token: token), password: password, newEmail: newEmail, code: code,
            origin: origin)
    }

    /// `activity(session:)` for a token.
    public func activity(sessionToken token: String) async throws -> [ActivityEvent] {
        try await activity(session: authenticatedSession(token: token))
    }

    /// `beginTOTPEnrolment(session:password:origin:)` for a token.
    public func beginTOTPEnrolment(sessionToken token: String, password: String, origin: SessionOrigin)
        async throws -> TOTPEnrolment
    {
        try await beginTOTPEnrolment(session: authenticatedSession(token: token), password: password, origin: origin)
    }

    /// `confirmTOTPEnrolment(session:code:origin:)` for a token.
    public func confirmTOTPEnrolment(sessionToken token: String, code: String, origin: SessionOrigin)
        async throws -> ConfirmedTOTP
    {
        try await confirmTOTPEnrolment(session: authenticatedSession(token: token), code: code, origin: origin)
    }

    /// `disableTOTP(session:password:code:origin:)` for a token.
    public func disableTOTP(sessionToken token: String, password: String, code: String?, origin: SessionOrigin)
        async throws
    {
        try await disableTOTP(
            session: authenticatedSession(token: token), password: password, code: code, origin: origin)
    }

    /// `regenerateRecoveryCodes(session:password:code:origin:)` for a token.
    public func regenerateRecoveryCodes(
        sessionToken token: String, password: String, code: String?, origin: SessionOrigin
    ) async throws -> [String] {
        try await regenerateRecoveryCodes(
            session: authenticatedSession(token: token), password: password, code: code, origin: origin)
    }

    /// `destroySession(_:origin:)` for a token.
    public func destroySession(token: String, origin: SessionOrigin = SessionOrigin()) async throws {
        try await destroySession(authenticatedSession(token: token), origin: origin)
    }

    /// The user of the session a token names (the original service's `user(forSessionToken:)`).
    public func user(forSessionToken token: String) async throws -> SessionUser {
        try await authenticatedSession(token: token).user
    }

    /// The user and assurance level of the session a token names.
    public func userAndAssurance(forSessionToken token: String) async throws -> (user: SessionUser, aal: Int) {
        let session = try await authenticatedSession(token: token)
        return (session.user, session.aal)
    }
}
