import HTTPTypes
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP

/// The second factor on the pages: the login's code step, enrolment from a QR code drawn on the
/// server, recovery codes shown once, and turning the factor off; each calls its API twin's
/// entry point.
extension Pages {
    /// The login's code step, shown after the right password of an account with a factor: the
    /// challenge travels in the form, as the API returns it to its client.
    func codeStep(
        challenge: String, returningTo address: ReturnAddress?, problem: PageProblem? = nil, for request: Request
    ) -> Response {
        var values: [String: Any] = ["challenge": challenge]
        if let address { values["rd"] = address.url }
        guard let problem else { return show("login-code", values, for: request) }
        return showAgain("login-code", values, problem: problem, for: request)
    }

    /// `POST /ui/login/code` `challenge`, `code`: `Auth.continueLogIn`, as `POST /sessions/mfa`; the
    /// session cookie and a 303 to the account page. A wrong code is shown next to the field (the
    /// challenge stays usable); a challenge that is no longer valid sends the person back to the
    /// login form.
    func logInWithCode(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        var challenge = ""
        var address: ReturnAddress?
        do {
            let fields = try await form(request, context: context, returnAddress: &address)
            challenge = try fields.optional("challenge") ?? ""
            let grant = try await auth.continueLogIn(
                challenge: challenge, code: fields.optional("code") ?? "",
                origin: origin(of: request, context: context))
            return loggedIn(grant, returningTo: address)
        } catch AuthError.invalidLoginChallenge {
            let problem = PageProblem(status: .unauthorized, "login.challenge-expired")
            var values: [String: Any] = [:]
            if let address { values["rd"] = address.url }
            return showAgain("login", values, problem: problem, for: request)
        } catch {
            return codeStep(
                challenge: challenge, returningTo: address, problem: PageProblem.from(error).atCode, for: request)
        }
    }

    /// `POST /ui/account/factor` `password`: `Auth.beginTOTPEnrolment`; the enrolment page.
    func beginFactor(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        try await accountAction(request, context: context, password: "factor_password", other: "factor_password") {
            session, fields in
            let enrolment = try await auth.beginTOTPEnrolment(
                session: session, password: fields.optional("password") ?? "",
                origin: origin(of: request, context: context))
            return show("enrol", Self.enrolmentValues(secret: enrolment.secret, keyURI: enrolment.keyURI), for: request)
        }
    }

    /// `POST /ui/account/factor/confirm` `code`: `Auth.confirmTOTPEnrolment`; the new session
    /// cookie and the recovery codes, shown once. A wrong code shows the enrolment page again.
    func confirmFactor(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        guard let session = try await liveSession(request) else { return HTMLResponse.redirect(to: "/ui/login") }
        var shown: [String: Any] = [:]
        do {
            let fields = try await form(request, context: context)
            shown = Self.enrolmentValues(
                secret: try fields.optional("secret") ?? "", keyURI: try fields.optional("key_uri") ?? "")
            let confirmed = try await auth.confirmTOTPEnrolment(
                session: session, code: fields.optional("code") ?? "", origin: origin(of: request, context: context))
            return show(
                "recovery", ["codes": confirmed.recoveryCodes], for: request,
                headers: [
                    .setCookie: cookie.header(value: confirmed.session.token, maxAge: confirmed.session.maxAge)
                ])
        } catch {
            return showAgain("enrol", shown, problem: PageProblem.from(error).atCode, for: request)
        }
    }

    /// `POST /ui/account/factor/recovery-codes` `password`, `code`: `Auth.regenerateRecoveryCodes`;
    /// the new codes, shown once.
    func newRecoveryCodes(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        try await accountAction(request, context: context, password: "codes_password", other: "codes_password") {
            session, fields in
            let codes = try await auth.regenerateRecoveryCodes(
                session: session, password: fields.optional("password") ?? "", code: fields.code(),
                origin: origin(of: request, context: context))
            return show("recovery", ["codes": codes], for: request)
        }
    }

    /// `POST /ui/account/factor/delete` `password`, `code`: `Auth.disableTOTP`; a 303 back to the
    /// account page.
    func turnOffFactor(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        try await accountAction(request, context: context, password: "off_password", other: "off_password") {
            session, fields in
            try await auth.disableTOTP(
                session: session, password: fields.optional("password") ?? "", code: fields.code(),
                origin: origin(of: request, context: context))
            return HTMLResponse.redirect(to: "/ui/account?done=factor-off")
        }
    }

    /// What the enrolment page shows: the QR code of the key URI when it fits in one
    /// (`QRCode.capacity` bytes), the key in groups of four characters, and the URI as a link.
    static func enrolmentValues(secret: String, keyURI: String) -> [String: Any] {
        var values: [String: Any] = [
            "secret": secret, "keyURI": keyURI,
            "grouped": stride(from: 0, to: secret.count, by: 4).map { start in
                String(secret.dropFirst(start).prefix(4))
            }.joined(separator: " "),
        ]
        if let code = QRCode(text: keyURI) { values["qr"] = ["side": code.side, "path": code.pathData] }
        return values
    }
}
