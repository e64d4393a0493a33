import HTTPTypes
import Hummingbird
import LatchkeyCore

/// The handlers: read fields and cookies, call `Auth`, shape the response.
struct AuthRoutes: Sendable {
    let auth: Auth
    let options: HTTPOptions

    /// The client's address (through `TRUSTED_PROXIES`) and agent, for the session and the
    /// account's activity.
    func origin(of request: Request, context: LatchkeyRequestContext) -> SessionOrigin {
        ClientAddressResolver(trustedProxies: options.trustedProxies).origin(of: request, context: context)
    }

    /// The session cookie under its configured name.
    var cookie: SessionCookie { options.sessionCookie }

    func register(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let fields = try await Fields.read(from: request, context: context)
        let user = try await auth.registerUser(
            email: fields.required("email"), password: fields.required("password"),
            origin: origin(of: request, context: context))
        return JSONResponse.make(.ok, ["email": user.email, "message": "user created"])
    }

    func login(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let fields = try await Fields.read(from: request, context: context)
        switch try await auth.logIn(
            email: fields.required("email"), password: fields.required("password"), code: fields.code(),
            origin: origin(of: request, context: context))
        {
        case .loggedIn(let grant):
            return loggedIn(grant)
        case .secondStepRequired(let challenge):
            // The one error body with more than `message`: the second step's token.
            return JSONResponse.encoded(.unauthorized, SecondStepRequiredBody(loginChallenge: challenge))
        }
    }

    /// A successful login's answer: 200 `{"email", "message": "logged in"}` with the session's
    /// cookie.
    func loggedIn(_ grant: SessionGrant) -> Response {
        var response = JSONResponse.make(.ok, ["email": grant.email, "message": "logged in"])
        response.headers.append(
            HTTPField(name: .setCookie, value: cookie.header(value: grant.token, maxAge: grant.maxAge)))
        return response
    }

    func logout(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        do {
            try await auth.destroySession(
                cookie.liveSession(in: request, auth: auth), origin: origin(of: request, context: context))
        } catch AuthError.invalidSession {
            // A stale cookie is cleared even when the logout is refused.
            var headers = HTTPFields()
            headers[.setCookie] = cookie.header(value: "", maxAge: 0)
            throw APIError(.forbidden, APIError(AuthError.invalidSession).message, headers: headers)
        }
        var response = Self.redirectToWelcome
        response.headers.append(HTTPField(name: .setCookie, value: cookie.header(value: "", maxAge: 0)))
        return response
    }

    /// The logout's 302 to `/`, as the original service's `redirect("/")` writes it: the
    /// `Location`, and Werkzeug 3.1's HTML body with its content type.
    static var redirectToWelcome: Response {
        let body = """
            <!doctype html>
            <html lang=en>
            <title>Redirecting...</title>
            <h1>Redirecting...</h1>
            <p>You should be redirected automatically to the target URL: <a href="/">/</a>. If not, click the link.

            """
        return Response(
            status: .found, headers: [.location: "/", .contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    func profile(_ request: Request) async throws -> Response {
        let user = try await cookie.liveSession(in: request, auth: auth).user
        return JSONResponse.make(.ok, ["email": user.email])
    }

    func resetToken(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let fields = try await Fields.read(from: request, context: context)
        switch try await auth.requestPasswordReset(
            for: fields.required("email"), origin: origin(of: request, context: context))
        {
        case .issued(let issued):
            return JSONResponse.make(.ok, ["email": issued.email, "reset_token": issued.token])
        case .accepted(let email):
            return JSONResponse.make(
                .ok, ["email": email, "message": "if this email has an account, a reset token is on its way"])
        }
    }

    /// `POST /verify_email` `email`: the token in the answer (`response` delivery), or the same
    /// answer for every well-formed address with the token out of band.
    func requestVerification(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let fields = try await Fields.read(from: request, context: context)
        return Self.verificationAnswer(
            try await auth.requestEmailVerification(
                for: fields.required("email"), origin: origin(of: request, context: context)))
    }

    /// The answer to a verification request or an email change: the token (`response`
    /// delivery), or the same message for every address.
    static func verificationAnswer(_ outcome: VerificationRequestOutcome) -> Response {
        switch outcome {
        case .issued(let issued):
            return JSONResponse.make(.ok, ["email": issued.email, "verification_token": issued.token])
        case .accepted(let email):
            return JSONResponse.make(
                .ok,
                [
                    "email": email,
                    "message": "if this address has an unverified account, a verification token is on its way",
                ])
        }
    }

    /// `PUT /verify_email` `email`, `verification_token`, optional `password`: the address
    /// verified (with the password chosen, at its first proof), or an email change completed.
    func verifyEmail(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let fields = try await Fields.read(from: request, context: context)
        let account = try await auth.verifyEmail(
            token: fields.required("verification_token"), email: fields.required("email"),
            password: fields.optional("password"), origin: origin(of: request, context: context))
        return JSONResponse.make(.ok, ["email": account.email, "message": "Email verified"])
    }

    func updatePassword(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        let fields = try await Fields.read(from: request, context: context)
        let user = try await auth.updatePassword(
            resetToken: fields.required("reset_token"),
            email: fields.required("email"),
            newPassword: fields.required("new_password"),
            origin: origin(of: request, context: context)
        )
        return JSONResponse.make(.ok, ["email": user.email, "message": "Password updated"])
    }
}

/// `POST /sessions`' 401 for the right password of an account with a second factor.
private struct SecondStepRequiredBody: Encodable {
    let message = "one-time code required"
    let codeRequired = true
    let loginChallenge: String

    enum CodingKeys: String, CodingKey {
        case message
        case codeRequired = "mfa_required"
        case loginChallenge = "mfa_token"
    }
}
