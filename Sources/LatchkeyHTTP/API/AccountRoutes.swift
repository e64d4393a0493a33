import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyCore

/// The account's own routes under `/account`: each needs a live session cookie (403 without),
/// takes form or JSON bodies, and answers JSON; a wrong password is 401 `wrong password`.
struct AccountRoutes: Sendable {
    let auth: Auth
    let cookie: SessionCookie
    let resolver: ClientAddressResolver

    init(auth: Auth, options: HTTPOptions) {
        self.auth = auth
        self.cookie = options.sessionCookie
        self.resolver = ClientAddressResolver(trustedProxies: options.trustedProxies)
    }

    /// `GET /account`: 200 `{"id", "email", "created_at", "email_verified", "mfa": {"totp",
    /// "recovery_codes_left"}}`.
    func account(_ request: Request) async throws -> Response {
        let account = try await auth.account(session: session(request))
        return JSONResponse.encoded(
            .ok,
            AccountBody(
                id: account.id, email: account.email, createdAt: rfc3339(account.createdAt),
                emailVerified: account.emailVerified,
                mfa: SecondFactorBody(totp: account.secondFactorEnabled, recoveryCodesLeft: account.recoveryCodesLeft)))
    }

    /// `PUT /account/password` `current_password`, `new_password`: 200 with the session's new
    /// cookie, whose `Max-Age` is the session's remaining lifetime.
    func changePassword(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let session = try await self.session(request)
        let fields = try await Fields.read(from: request, context: context)
        let renewed = try await auth.changePassword(
            session: session, currentPassword: fields.required("current_password"),
            newPassword: fields.required("new_password"), code: fields.code(),
            origin: origin(of: request, context: context))
        var response = JSONResponse.make(.ok, ["message": "Password updated"])
        response.headers.append(
            HTTPField(name: .setCookie, value: cookie.header(value: renewed.token, maxAge: renewed.maxAge)))
        return response
    }

    /// `GET /account/sessions`: 200 `{"sessions": [...]}`, newest first.
    func sessions(_ request: Request) async throws -> Response {
        let sessions = try await auth.sessions(session: session(request))
        return JSONResponse.encoded(.ok, SessionsBody(sessions: sessions.map(SessionBody.init)))
    }

    /// `DELETE /account/sessions/{id}` `password`: 204; ending the asking session clears its
    /// cookie.
    func endSession(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let session = try await self.session(request)
        let id = context.parameters.get("id") ?? ""
        let fields = try await Fields.read(from: request, context: context)
        let endedCurrent = try await auth.endSession(
            id: id, session: session, password: fields.required("password"), code: fields.code(),
            origin: origin(of: request, context: context))
        var response = Response(status: .noContent)
        if endedCurrent {
            response.headers.append(HTTPField(name: .setCookie, value: cookie.header(value: "", maxAge: 0)))
        }
        return response
    }

    /// `DELETE /account/sessions` `password`: 200 `{"ended": N}`, every session but the asking one.
    func endOtherSessions(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let session = try await self.session(request)
        let fields = try await Fields.read(from: request, context: context)
        let ended = try await auth.endOtherSessions(
            session: session, password: fields.required("password"), code: fields.code(),
            origin: origin(of: request, context: context))
        return JSONResponse.encoded(.ok, ["ended": ended])
    }

    /// `DELETE /account` `password`: 204, the cookie cleared.
    func deleteAccount(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let session = try await self.session(request)
        let fields = try await Fields.read(from: request, context: context)
        try await auth.deleteAccount(
            session: session, password: fields.required("password"), code: fields.code(),
            origin: origin(of: request, context: context))
        var response = Response(status: .noContent)
        response.headers.append(HTTPField(name: .setCookie, value: cookie.header(value: "", maxAge: 0)))
        return response
    }

    /// `PUT /account/email` `password`, `new_email`: the same answers as `POST /verify_email`,
    /// for the new address.
    func changeEmail(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let session = try await self.session(request)
        let fields = try await Fields.read(from: request, context: context)
        let outcome = try await auth.changeEmail(
            session: session, password: fields.required("password"), newEmail: fields.required("new_email"),
            code: fields.code(), origin: origin(of: request, context: context))
        return AuthRoutes.verificationAnswer(outcome)
    }

    /// `GET /account/activity`: 200 `{"events": [{"type", "at", "ip", "user_agent"}]}`, the last
    /// 100, newest first.
    func activity(_ request: Request) async throws -> Response {
        let events = try await auth.activity(session: session(request))
        return JSONResponse.encoded(.ok, ActivityBody(events: events.map(ActivityEntryBody.init)))
    }

    /// The session the first cookie value that names a live one names, resolved once for the
    /// request: checked before the body is read, so that a request without a session is 403
    /// whatever it sends.
    func session(_ request: Request) async throws -> AuthenticatedSession {
        try await cookie.liveSession(in: request, auth: auth)
    }

    /// The client's address and agent, as recorded with a session and sent with notices.
    func origin(of request: Request, context: LatchkeyRequestContext) -> SessionOrigin {
        resolver.origin(of: request, context: context)
    }
}

/// `GET /account`'s body.
private struct AccountBody: Encodable {
    let id: Int64
    let email: String
    let createdAt: String
    let emailVerified: Bool
    let mfa: SecondFactorBody

    enum CodingKeys: String, CodingKey {
        case id, email, mfa
        case createdAt = "created_at"
        case emailVerified = "email_verified"
    }
}

/// `GET /account`'s `mfa` object.
private struct SecondFactorBody: Encodable {
    let totp: Bool
    let recoveryCodesLeft: Int

    enum CodingKeys: String, CodingKey {
        case totp
        case recoveryCodesLeft = "recovery_codes_left"
    }
}

/// `GET /account/sessions`' body.
private struct SessionsBody: Encodable {
    let sessions: [SessionBody]
}

/// One session in `GET /account/sessions`; `ip` and `user_agent` are `null` when unknown.
private struct SessionBody: Encodable {
    let session: AccountSession

    enum CodingKeys: String, CodingKey {
        case id, current, ip, aal
        case createdAt = "created_at"
        case lastSeenAt = "last_seen_at"
        case expiresAt = "expires_at"
        case userAgent = "user_agent"
    }

    init(_ session: AccountSession) {
        self.session = session
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(session.id, forKey: .id)
        try container.encode(rfc3339(session.createdAt), forKey: .createdAt)
        try container.encode(rfc3339(session.lastSeenAt), forKey: .lastSeenAt)
        try container.encode(rfc3339(session.expiresAt), forKey: .expiresAt)
        try container.encode(session.ip, forKey: .ip)
        try container.encode(session.userAgent, forKey: .userAgent)
        try container.encode(session.current, forKey: .current)
        try container.encode(session.aal, forKey: .aal)
    }
}

/// `GET /account/activity`'s body.
private struct ActivityBody: Encodable {
    let events: [ActivityEntryBody]
}

/// One activity entry; `ip` and `user_agent` are `null` when unknown.
private struct ActivityEntryBody: Encodable {
    let event: ActivityEvent

    enum CodingKeys: String, CodingKey {
        case type, at, ip
        case userAgent = "user_agent"
    }

    init(_ event: ActivityEvent) {
        self.event = event
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(event.kind.rawValue, forKey: .type)
        try container.encode(rfc3339(event.at), forKey: .at)
        try container.encode(event.ip, forKey: .ip)
        try container.encode(event.userAgent, forKey: .userAgent)
    }
}
