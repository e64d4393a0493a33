import HTTPTypes
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP

/// The pages a link leads to, and the one that asks for a link. Opening a link never consumes its
/// token (mail scanners fetch links): the page shows a form that posts it.
extension Pages {
    /// `GET /ui/forgot`: the form.
    func forgotPage(_ request: Request) -> Response {
        show("forgot", [:], for: request)
    }

    /// `POST /ui/forgot` `email`: `Auth.requestPasswordReset`, as `POST /reset_password`. With
    /// `response` delivery the page shows the link, marked as a development convenience; in every
    /// other mode it says a link is on its way, for a registered and an unregistered address alike.
    func forgot(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        var email = ""
        do {
            let fields = try await form(request, context: context)
            email = try fields.optional("email") ?? ""
            switch try await auth.requestPasswordReset(for: email, origin: origin(of: request, context: context)) {
            case .issued(let issued):
                return show(
                    "forgot",
                    [
                        "email": issued.email, "notice": PageText("forgot.ready"),
                        "link": link("reset", email: issued.email, token: issued.token),
                    ], for: request)
            case .accepted(let accepted):
                return show(
                    "forgot",
                    ["email": accepted, "notice": PageText("forgot.accepted", ["email": accepted])],
                    for: request)
            }
        } catch {
            return showAgain("forgot", ["email": email], problem: PageProblem.from(error), for: request)
        }
    }

    /// `GET /ui/reset` and `GET /ui/verify` with `email` and `token`: the form that posts them.
    func tokenPage(_ template: String, _ request: Request) -> Response {
        let email = query(request, "email")
        return show(template, Self.tokenValues(email: email, token: query(request, "token")), for: request)
    }

    /// `POST /ui/reset` `email`, `token`, `new_password`: `Auth.updatePassword`, as
    /// `PUT /reset_password`; a 303 to the login page.
    func reset(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        var values: [String: Any] = [:]
        do {
            let fields = try await form(request, context: context)
            let (email, token) = (try fields.optional("email") ?? "", try fields.optional("token") ?? "")
            values = Self.tokenValues(email: email, token: token)
            _ = try await auth.updatePassword(
                resetToken: token, email: email, newPassword: fields.optional("new_password") ?? "",
                origin: origin(of: request, context: context))
            return HTMLResponse.redirect(to: "/ui/login?reset")
        } catch {
            return showAgain("reset", values, problem: PageProblem.from(error), for: request)
        }
    }

    /// `POST /ui/verify` `email`, `token`, `password`: `Auth.verifyEmail` with the password, as
    /// `PUT /verify_email`; then the login page, or the account page with a session.
    func verify(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        var values: [String: Any] = [:]
        do {
            let fields = try await form(request, context: context)
            let (email, token) = (try fields.optional("email") ?? "", try fields.optional("token") ?? "")
            values = Self.tokenValues(email: email, token: token)
            let account = try await auth.verifyEmail(
                token: token, email: email, password: fields.optional("password") ?? "",
                origin: origin(of: request, context: context))
            return show(
                "message",
                [
                    "heading": PageText("verify.done-title"),
                    "notice": PageText("verify.done", ["email": account.email]),
                    "link": ["href": "/ui/account", "text": PageText("verify.to-account")] as [String: Any],
                ], for: request)
        } catch {
            return showAgain(
                "verify", values, problem: PageProblem.from(error, newPasswordField: "password"), for: request)
        }
    }

    /// The reset and verify pages' values: the address and token the link carried, and the
    /// sentences that name the address.
    static func tokenValues(email: String, token: String) -> [String: Any] {
        [
            "email": email, "token": token, "forEmail": PageText("reset.for", ["email": email]),
            "intro": PageText("verify.intro", ["email": email]),
        ]
    }
}
