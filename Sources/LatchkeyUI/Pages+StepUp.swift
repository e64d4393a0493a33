import HTTPTypes
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP

/// Step-up: an application behind the portal asks for a session at assurance level 2
/// (`/auth/verify?aal=2`), and a one-factor session gets it here with a code of the account's
/// factor, then goes back to the application.
extension Pages {
    /// `GET /ui/login?rd=<URL>&aal=2` with a live session: the code form when the account has a
    /// factor; a page saying the application needs one (or that the address must be verified
    /// first), with a link to the account page, when it has none (never a redirect loop); a 303 to
    /// `rd` when the session is at level 2 already. `nil` without a live session: the login form.
    func stepUpPage(_ request: Request) async throws -> Response? {
        guard let session = try await liveSession(request) else { return nil }
        let address = returnAddress(query(request, "rd"))
        if session.aal >= 2 { return HTMLResponse.redirect(to: address?.url ?? "/ui/account") }
        let account = try await auth.account(session: session)
        var values: [String: Any] = ["factor": account.secondFactorEnabled, "verified": account.emailVerified]
        if let address { values["rd"] = address.url }
        return show("step-up", values, for: request)
    }

    /// `POST /ui/login/step-up` `code`, `rd`: `Auth.stepUp`; the session's new cookie and a 303 to
    /// `rd` when the rule allows it (else the account page); a wrong code next to the field.
    func stepUp(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        guard let session = try await liveSession(request) else { return HTMLResponse.redirect(to: "/ui/login") }
        var values: [String: Any] = ["factor": true, "verified": true]
        var address: ReturnAddress?
        do {
            let fields = try await form(request, context: context, returnAddress: &address)
            let grant = try await auth.stepUp(
                session: session, code: fields.optional("code") ?? "", origin: origin(of: request, context: context))
            return loggedIn(grant, returningTo: address)
        } catch AuthError.noActiveSecondFactor {
            if let address { values["rd"] = address.url }
            // The factor was turned off meanwhile: the page that says one is needed.
            let account = try await auth.account(session: session)
            values["factor"] = false
            values["verified"] = account.emailVerified
            return show("step-up", values, for: request)
        } catch {
            if let address { values["rd"] = address.url }
            return showAgain("step-up", values, problem: PageProblem.from(error).atCode, for: request)
        }
    }
}
