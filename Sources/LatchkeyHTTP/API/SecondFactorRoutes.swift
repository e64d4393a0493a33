import HTTPTypes
import Hummingbird
import LatchkeyCore

/// The second factor's routes: enrolment under `/account/mfa` (a live session; 403 without)
/// and the second step of a login, `POST /sessions/mfa`. Form or JSON bodies; JSON answers.
struct SecondFactorRoutes: Sendable {
    let auth: Auth
    let account: AccountRoutes
    /// The login routes, whose successful answer the second step gives.
    let login: AuthRoutes

    /// `POST /account/mfa/totp` `password`: 200 `{"secret", "otpauth_uri"}`, a pending enrolment.
    func begin(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let session = try await account.session(request)
        let fields = try await Fields.read(from: request, context: context)
        let enrolment = try await auth.beginTOTPEnrolment(
            session: session, password: fields.required("password"),
            origin: account.origin(of: request, context: context))
        return JSONResponse.make(.ok, ["secret": enrolment.secret, "otpauth_uri": enrolment.keyURI])
    }

    /// `PUT /account/mfa/totp` `code`: 200 `{"recovery_codes": [...]}` with the session's new
    /// cookie; the factor is active.
    func confirm(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let session = try await account.session(request)
        let fields = try await Fields.read(from: request, context: context)
        let confirmed = try await auth.confirmTOTPEnrolment(
            session: session, code: fields.required("code"), origin: account.origin(of: request, context: context))
        var response = JSONResponse.encoded(.ok, ["recovery_codes": confirmed.recoveryCodes])
        response.headers.append(
            HTTPField(
                name: .setCookie,
                value: account.cookie.header(value: confirmed.session.token, maxAge: confirmed.session.maxAge)))
        return response
    }

    /// `DELETE /account/mfa/totp` `password`, `code`: 204.
    func disable(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let session = try await account.session(request)
        let fields = try await Fields.read(from: request, context: context)
        try await auth.disableTOTP(
            session: session, password: fields.required("password"), code: fields.code(),
            origin: account.origin(of: request, context: context))
        return Response(status: .noContent)
    }

    /// `POST /account/mfa/recovery_codes` `password`, `code`: 200 `{"recovery_codes": [...]}`.
    func regenerate(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let session = try await account.session(request)
        let fields = try await Fields.read(from: request, context: context)
        let codes = try await auth.regenerateRecoveryCodes(
            session: session, password: fields.required("password"), code: fields.code(),
            origin: account.origin(of: request, context: context))
        return JSONResponse.encoded(.ok, ["recovery_codes": codes])
    }

    /// `POST /sessions/mfa` `mfa_token`, `code`: exactly a successful login's answer.
    func continueLogIn(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let fields = try await Fields.read(from: request, context: context)
        let grant = try await auth.continueLogIn(
            challenge: fields.required("mfa_token"), code: fields.required("code"),
            origin: account.origin(of: request, context: context))
        return login.loggedIn(grant)
    }
}
