import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP

/// The account page and its actions, each asking for what its API twin asks.
extension Pages {
    /// `GET /ui/account`: the address, the sessions, the forms, the recent activity; without a live
    /// session, a 303 to the login page.
    func accountPage(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        guard let session = try await liveSession(request) else { return HTMLResponse.redirect(to: "/ui/login") }
        let edition = renderer.edition(for: request)
        var values = try await accountValues(session, edition.catalog)
        let done = request.uri.queryParameters["done"].map(String.init) ?? ""
        if Self.doneNotices.contains(done) { values["notice"] = PageText("account.done-\(done)") }
        return show("account", values, for: request, edition: edition)
    }

    /// The request's live session, or `nil` without one; a database that does not answer is an
    /// error (an HTML 503), not a reason to log the person out.
    func liveSession(_ request: Request) async throws -> AuthenticatedSession? {
        do {
            return try await cookie.liveSession(in: request, auth: auth)
        } catch AuthError.invalidSession {
            return nil
        }
    }

    /// The `?done=` values the account page has a notice for (`account.done-<value>`).
    static let doneNotices: Set<String> = ["password", "sessions", "session", "email", "verification", "factor-off"]

    /// The most activity entries the account page shows.
    static let activityShown = 20

    /// What the account page shows, from one read (`Auth.accountOverview(session:activityLimit:)`),
    /// worded in `catalog`'s language.
    func accountValues(_ session: AuthenticatedSession, _ catalog: Catalog) async throws -> [String: Any] {
        let overview = try await auth.accountOverview(session: session, activityLimit: Self.activityShown)
        return [
            "email": overview.account.email,
            "verified": overview.account.emailVerified,
            "factor": overview.account.secondFactorEnabled,
            "sessions": overview.sessions.map { session in
                [
                    "id": session.id, "current": session.current,
                    "device": Self.device(session.userAgent, catalog),
                    "address": session.ip ?? catalog.text("account.unknown-address"),
                    "lastUsed": catalog.text("account.last-used", ["when": Self.when(session.lastSeenAt, catalog)]),
                ] as [String: Any]
            },
            "others": overview.sessions.count > 1,
            "activity": overview.activity.map { event in
                [
                    "what": Self.activity(event.kind, catalog), "when": Self.when(event.at, catalog),
                    "address": event.ip as Any,
                ] as [String: Any]
            },
        ]
    }

    /// An activity's name in the catalog (`activity.<kind>`); the kind itself, spaced, for a
    /// kind the catalog lacks (a test makes sure none does).
    static func activity(_ kind: ActivityEvent.Kind, _ catalog: Catalog) -> String {
        let key = "activity.\(kind.rawValue)"
        return catalog.strings[key] ?? String(kind.rawValue.map { $0 == "_" ? " " : $0 })
    }

    /// Runs an action of the account page: a 303 back to it when it succeeds, the page again with
    /// the problem next to its field when it fails (`password` for a wrong password, `other` for
    /// the rest), a 303 to the login page without a session.
    func accountAction(
        _ request: Request, context: LatchkeyRequestContext, password: String, other: String,
        _ action: (AuthenticatedSession, Fields) async throws -> Response
    ) async throws -> Response {
        guard let session = try await liveSession(request) else { return HTMLResponse.redirect(to: "/ui/login") }
        do {
            return try await action(session, form(request, context: context))
        } catch {
            let problem = PageProblem.from(error, emailField: other, passwordField: password, newPasswordField: other)
            let values = (try? await accountValues(session, renderer.edition(for: request).catalog)) ?? [:]
            return showAgain("account", values, problem: problem, for: request)
        }
    }

    /// `POST /ui/account/password` `current_password`, `new_password`: `Auth.changePassword`.
    func changePassword(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        try await accountAction(request, context: context, password: "current_password", other: "new_password") {
            session, fields in
            let renewed = try await auth.changePassword(
                session: session, currentPassword: fields.optional("current_password") ?? "",
                newPassword: fields.optional("new_password") ?? "", code: fields.code(),
                origin: origin(of: request, context: context))
            return HTMLResponse.redirect(
                to: "/ui/account?done=password",
                headers: [.setCookie: cookie.header(value: renewed.token, maxAge: renewed.maxAge)])
        }
    }

    /// `POST /ui/account/email` `new_email`, `password`: `Auth.changeEmail`.
    func changeEmail(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        try await accountAction(request, context: context, password: "email_password", other: "new_email") {
            session, fields in
            let outcome = try await auth.changeEmail(
                session: session, password: fields.optional("password") ?? "",
                newEmail: fields.optional("new_email") ?? "", code: fields.code(),
                origin: origin(of: request, context: context))
            return try await done(outcome, notice: "email", session: session, request: request)
        }
    }

    /// `POST /ui/account/sessions/end-others` `password`: `Auth.endOtherSessions`.
    func endOthers(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        try await accountAction(request, context: context, password: "sessions", other: "sessions") {
            session, fields in
            _ = try await auth.endOtherSessions(
                session: session, password: fields.optional("password") ?? "", code: fields.code(),
                origin: origin(of: request, context: context))
            return HTMLResponse.redirect(to: "/ui/account?done=sessions")
        }
    }

    /// `POST /ui/account/sessions/{id}/end` `password`: `Auth.endSession`.
    func endSession(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        try await accountAction(request, context: context, password: "sessions", other: "sessions") {
            session, fields in
            let endedCurrent = try await auth.endSession(
                id: context.parameters.get("id") ?? "", session: session,
                password: fields.optional("password") ?? "", code: fields.code(),
                origin: origin(of: request, context: context))
            guard !endedCurrent else {
                return HTMLResponse.redirect(
                    to: "/ui/login?logged_out", headers: [.setCookie: cookie.header(value: "", maxAge: 0)])
            }
            return HTMLResponse.redirect(to: "/ui/account?done=session")
        }
    }

    /// `POST /ui/account/delete` `password`: `Auth.deleteAccount`; the cookie cleared.
    func deleteAccount(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        try await accountAction(request, context: context, password: "delete", other: "delete") { session, fields in
            try await auth.deleteAccount(
                session: session, password: fields.optional("password") ?? "", code: fields.code(),
                origin: origin(of: request, context: context))
            return HTMLResponse.redirect(
                to: "/ui/login?deleted", headers: [.setCookie: cookie.header(value: "", maxAge: 0)])
        }
    }

    /// `POST /ui/account/verification`: `Auth.requestEmailVerification` for the account's address.
    func sendLinkAgain(_ request: Request, context: LatchkeyRequestContext) async throws -> Response {
        try await accountAction(request, context: context, password: "verification", other: "verification") {
            session, _ in
            let outcome = try await auth.requestEmailVerification(
                for: session.user.email, origin: origin(of: request, context: context))
            return try await done(outcome, notice: "verification", session: session, request: request)
        }
    }

    /// After an action that sends a link: a 303 back to the account page, or, with `response`
    /// delivery (development, where the API hands the token out anyway), the page itself with
    /// the link the mail would carry, marked as a development convenience; never a token in a URL
    /// the browser keeps.
    func done(
        _ outcome: VerificationRequestOutcome, notice: String, session: AuthenticatedSession, request: Request
    ) async throws -> Response {
        guard case .issued(let issued) = outcome else {
            return HTMLResponse.redirect(to: "/ui/account?done=\(notice)")
        }
        var values = try await accountValues(session, renderer.edition(for: request).catalog)
        values["notice"] = PageText("account.link-sent", ["email": issued.email])
        values["link"] = link("verify", email: issued.email, token: issued.token)
        return show("account", values, for: request)
    }

    /// A short name for an agent, as people name their devices: "Firefox on Windows"
    /// (`account.device`); else its first product token ("Phone/2.0", "curl/8.5.0"); without one,
    /// `account.unknown-device`.
    static func device(_ agent: String?, _ catalog: Catalog) -> String {
        let browsers: [(marker: String, name: String)] = [
            ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
            ("Chromium/", "Chromium"), ("Safari/", "Safari"),
        ]
        let systems: [(marker: String, name: String)] = [
            ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"),
        ]
        let agent = agent ?? ""
        if let browser = browsers.first(where: { agent.contains($0.marker) })?.name {
            guard let system = systems.first(where: { agent.contains($0.marker) })?.name else { return browser }
            return catalog.text("account.device", ["browser": browser, "system": system])
        }
        let first = agent.split(separator: " ").first.map(String.init) ?? ""
        return first.isEmpty ? catalog.text("account.unknown-device") : first
    }

    /// A time as people read it in a page, in UTC, in `catalog`'s words (`time.format`,
    /// `time.months`): `7 Dec 2026, 18:56 UTC`. Computed from the seconds since 1970 (the
    /// proleptic Gregorian calendar, days to civil date as in H. Hinnant's `civil_from_days`): a
    /// calendar or a formatter per row cost more than the rest of the page.
    static func when(_ date: Date, _ catalog: Catalog) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let (hour, minute) = (secondOfDay / 3_600, secondOfDay % 3_600 / 60)
        let twoDigits = { (value: Int64) in value < 10 ? "0\(value)" : "\(value)" }
        let monthName = catalog.months.count == 12 ? catalog.months[Int(month) - 1] : "\(month)"
        return catalog.text(
            "time.format",
            ["day": "\(day)", "month": monthName, "year": "\(year)", "time": "\(twoDigits(hour)):\(twoDigits(minute))"])
    }
}
