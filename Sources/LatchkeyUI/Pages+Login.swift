import HTTPTypes
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP

/// Logging in and out, and registering.
extension Pages {
    /// `GET /ui/login`: the form; `?registered` and `?logged_out` say why the person is here; `rd`
    /// is carried when the rule allows it; `aal=2` with a live session is the step-up (`stepUpPage`).
    func loginPage(_ request: Request) async throws -> Response {
        // The query is parsed once: this page is the one people open most.
        let parameters = request.uri.queryParameters
        if parameters["aal"] == "2", let stepUp = try await stepUpPage(request) { return stepUp }
        var values: [String: Any] = [:]
        if parameters["registered"] != nil {
            values["notice"] = PageText("login.registered")
        } else if parameters["logged_out"] != nil {
            values["notice"] = PageText("login.logged-out")
        } else if parameters["reset"] != nil {
            values["notice"] = PageText("login.reset")
        } else if parameters["deleted"] != nil {
            values["notice"] = PageText("login.deleted")
        }
        if let address = returnAddress(parameters["rd"].map(String.init)) { values["rd"] = address.url }
        return show("login", values, for: request)
    }

    /// `POST /ui/login` `email`, `password`, `rd`: `Auth.logIn`, as `POST /sessions`; the session
    /// cookie and a 303 to `rd` when the rule allows it, else to the account page.
    func logIn(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        var email = ""
        var address: ReturnAddress?
        do {
            let fields = try await form(request, context: context, returnAddress: &address)
            email = try fields.optional("email") ?? ""
            let outcome = try await auth.logIn(
                email: email, password: fields.optional("password") ?? "", origin: origin(of: request, context: context)
            )
            switch outcome {
            case .loggedIn(let grant):
                return loggedIn(grant, returningTo: address)
            case .secondStepRequired(let challenge):
                return codeStep(challenge: challenge, returningTo: address, for: request)
            }
        } catch {
            var values: [String: Any] = ["email": email]
            if let address { values["rd"] = address.url }
            return showAgain("login", values, problem: PageProblem.from(error), for: request)
        }
    }

    /// A login that made its session: the session cookie and a 303 to the return address, or to
    /// the account page without one.
    func loggedIn(_ grant: SessionGrant, returningTo address: ReturnAddress?) -> Response {
        HTMLResponse.redirect(
            to: address?.url ?? "/ui/account",
            headers: [.setCookie: cookie.header(value: grant.token, maxAge: grant.maxAge)])
    }

    /// `GET /ui/logout?rd=<URL>`: a page with the log-out button (logging out is a `POST`, never
    /// a link), carrying `rd` when the rule allows it.
    func logoutPage(_ request: Request) -> Response {
        var values: [String: Any] = [:]
        if let address = returnAddress(query(request, "rd")) { values["rd"] = address.url }
        return show("logout", values, for: request)
    }

    /// `POST /ui/logout` `rd`: every live session the cookies name ends (`Auth.destroySession`),
    /// the cookie is cleared (with a `Domain`, and host-only too), and a 303 to `rd` when the rule
    /// allows it, else to the login page.
    func logOut(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        var address: ReturnAddress?
        do {
            _ = try await form(request, context: context, returnAddress: &address)
        } catch {
            var values: [String: Any] = [:]
            if let address { values["rd"] = address.url }
            return showAgain("logout", values, problem: PageProblem.from(error), for: request)
        }
        // Every live session the browser's cookies name ends (a host-only cookie from before
        // SESSION_COOKIE_DOMAIN may sit beside the domain's); one ended meanwhile is no error.
        for token in cookie.candidates(in: request) {
            guard let session = try? await auth.authenticatedSession(token: token) else { continue }
            do {
                try await auth.destroySession(session, origin: origin(of: request, context: context))
            } catch AuthError.invalidSession {
                continue
            }
        }
        var headers: HTTPFields = [.setCookie: cookie.header(value: "", maxAge: 0)]
        if cookie.domain != nil {
            headers.append(
                HTTPField(
                    name: .setCookie,
                    value: SessionCookie(name: cookie.name, secure: cookie.secure).header(value: "", maxAge: 0)))
        }
        return HTMLResponse.redirect(to: address?.url ?? "/ui/login?logged_out", headers: headers)
    }

    /// `GET /ui/register`: the form.
    func registerPage(_ request: Request) -> Response {
        show("register", [:], for: request)
    }

    /// `POST /ui/register` `email`, `password`: `Auth.registerUser`, as `POST /users`. It never
    /// logs in; the answer is the same for a new and an existing address where the API's is
    /// (production).
    func register(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        var email = ""
        do {
            let fields = try await form(request, context: context)
            email = try fields.optional("email") ?? ""
            _ = try await auth.registerUser(
                email: email, password: fields.optional("password") ?? "", origin: origin(of: request, context: context)
            )
            return HTMLResponse.redirect(to: "/ui/login?registered")
        } catch {
            return showAgain(
                "register", ["email": email], problem: PageProblem.from(error, newPasswordField: "password"),
                for: request)
        }
    }
}
