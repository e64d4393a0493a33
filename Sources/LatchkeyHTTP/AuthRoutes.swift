import Hummingbird
import LatchkeyCore

/// The handlers: read fields and cookies, call `Auth`, shape the response.
struct AuthRoutes: Sendable {
    let auth: Auth
    let options: HTTPOptions

    func register(_ request: Request) async throws -> Response {
        let fields = try await Fields.read(from: request)
        let user = try await auth.registerUser(email: fields.required("email"), password: fields.required("password"))
        return JSONResponse.make(.ok, ["email": user.email, "message": "user created"])
    }

    func login(_ request: Request) async throws -> Response {
        let fields = try await Fields.read(from: request)
        let user = try await auth.validLogin(email: fields.required("email"), password: fields.required("password"))
        let token = try await auth.createSession(for: user)
        var response = JSONResponse.make(.ok, ["email": user.email, "message": "logged in"])
        response.setCookie(sessionCookie(value: token, maxAge: auth.policy.sessionLifetime))
        return response
    }

    func logout(_ request: Request) async throws -> Response {
        try await auth.destroySession(token: sessionToken(request))
        var response = Response(status: .found, headers: [.location: "/"])
        response.setCookie(sessionCookie(value: "", maxAge: 0))
        return response
    }

    func profile(_ request: Request) async throws -> Response {
        let user = try await auth.user(forSessionToken: sessionToken(request))
        return JSONResponse.make(.ok, ["email": user.email])
    }

    func resetToken(_ request: Request) async throws -> Response {
        let fields = try await Fields.read(from: request)
        switch try await auth.requestPasswordReset(for: fields.required("email")) {
        case .issued(let issued):
            return JSONResponse.make(.ok, ["email": issued.email, "reset_token": issued.token])
        case .accepted(let email):
            return JSONResponse.make(
                .ok, ["email": email, "message": "if this email has an account, a reset token is on its way"])
        }
    }

    func updatePassword(_ request: Request) async throws -> Response {
        let fields = try await Fields.read(from: request)
        let user = try await auth.updatePassword(
            resetToken: fields.required("reset_token"),
            email: fields.required("email"),
            newPassword: fields.required("new_password")
        )
        return JSONResponse.make(.ok, ["email": user.email, "message": "Password updated"])
    }

    /// The session token from the cookie; a missing cookie is a 403 like an unknown one.
    private func sessionToken(_ request: Request) throws -> String {
        guard let value = sessionCookieValue(request), !value.isEmpty else {
            throw AuthError.invalidSession
        }
        return value
    }

    private func sessionCookie(value: String, maxAge: Int) -> Cookie {
        Cookie(
            name: sessionCookieName,
            value: value,
            maxAge: maxAge,
            path: "/",
            secure: options.secureCookies,
            httpOnly: true,
            sameSite: .lax
        )
    }
}

/// The value of the first `session_id` cookie in the request's `Cookie` headers. It reads only
/// that cookie, without parsing the others: this runs on every profile read.
func sessionCookieValue(_ request: Request) -> String? {
    let name = Array(sessionCookieName.utf8)
    for header in request.headers[values: .cookie] {
        for pair in header.utf8.split(separator: UInt8(ascii: ";")) {
            var start = pair.startIndex
            while start < pair.endIndex, pair[start] == UInt8(ascii: " ") || pair[start] == UInt8(ascii: "\t") {
                start = pair.index(after: start)
            }
            let trimmed = pair[start...]
            guard trimmed.count > name.count, trimmed.starts(with: name),
                trimmed[trimmed.index(trimmed.startIndex, offsetBy: name.count)] == UInt8(ascii: "=")
            else { continue }
            var value = trimmed.dropFirst(name.count + 1)
            while let last = value.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
                value = value.dropLast()
            }
            return String(decoding: value, as: UTF8.self)
        }
    }
    return nil
}
