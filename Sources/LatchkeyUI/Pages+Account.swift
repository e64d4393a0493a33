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
        var values = try await accountValues(session)
        switch request.uri.queryParameters["done"].map(String.init) {
        case "password": values["notice"] = "Your password is changed; your other sessions are ended."
        case "sessions": values["notice"] = "Your other sessions are ended."
        case "session": values["notice"] = "That session is ended."
        case "email":
            values["notice"] = "A link is on its way to the new address: the change happens when it is followed."
        case "verification": values["notice"] = "A link is on its way to your address."
        case "factor-off": values["notice"] = "The second factor is off: logging in asks for your password only."
        default: break
        }
        return show("account", values, for: request)
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

    /// The most activity entries the account page shows.
    static let activityShown = 20

    /// What the account page shows, from one read (`Auth.accountOverview(session:activityLimit:)`).
    func accountValues(_ session: AuthenticatedSession) async throws -> [String: Any] {
        let overview = try await auth.accountOverview(session: session, activityLimit: Self.activityShown)
        return [
            "email": overview.account.email,
            "verified": overview.account.emailVerified,
            "factor": overview.account.secondFactorEnabled,
            "sessions": overview.sessions.map { session in
                [
                    "id": session.id, "current": session.current,
                    "device": session.userAgent.map(Self.device) ?? "An unknown device",
                    "address": session.ip ?? "an unknown address",
                    "lastUsed": Self.when(session.lastSeenAt),
                ] as [String: Any]
            },
            "others": overview.sessions.count > 1,
            "activity": overview.activity.map { event in
                [
                    "what": String(event.kind.rawValue.map { $0 == "_" ? " " : $0 }),
                    "when": Self.when(event.at), "address": event.ip as Any,
                ] as [String: Any]
            },
        ]
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
            let values = (try? await accountValues(session)) ?? [:]
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
            let outcome = try await auth.requestEmailVerification(for: session.user.email)
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
        var values: [String: Any]
        if ProcessInfo.processInfo.environment["LK_EXP"] == "nodbXX" {
            values = [
                "email": "page@example.com", "verified": false, "factor": false,
                "sessions": [
                    [
                        "id": "abcdefabcdefabcdefab", "current": true, "device": "An unknown device",
                        "address": "127.0.0.1", "lastUsed": "2026-12-07 21:00 UTC",
                    ] as [String: Any]
                ], "others": false,
                "activity": [
                    ["what": "registered", "when": "2026-12-07 21:00 UTC", "address": "127.0.0.1"] as [String: Any],
                    ["what": "logged in", "when": "2026-12-07 21:00 UTC", "address": "127.0.0.1"] as [String: Any],
                ],
            ]
        } else {
            values = try await accountValues(session)
        }
        values["notice"] = "A link is on its way to \(issued.email)."
        values["link"] = link("verify", email: issued.email, token: issued.token)
        return show("account", values, for: request)
    }

    /// A short name for an agent, as people name their devices: "Firefox on Windows"; else its
    /// first product token ("Phone/2.0", "curl/8.5.0").
    static func device(_ agent: String) -> String {
        let browsers: [(marker: String, name: String)] = [
            ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
            ("Chromium/", "Chromium"), ("Safari/", "Safari"),
        ]
        let systems: [(marker: String, name: String)] = [
            ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"),
        ]
        if let browser = browsers.first(where: { agent.contains($0.marker) })?.name {
            let system = systems.first { agent.contains($0.marker) }?.name
            return system.map { "\(browser) on \($0)" } ?? browser
        }
        let first = agent.split(separator: " ").first.map(String.init) ?? ""
        return first.isEmpty ? "An unknown device" : first
    }

    /// A time as people read it in a page, in UTC: `7 Dec 2026, 18:56 UTC`. Computed from the
    /// seconds since 1970 (the proleptic Gregorian calendar, days to civil date as in H. Hinnant's
    /// `civil_from_days`): a calendar or a formatter per row cost more than the rest of the page.
    static func when(_ date: Date) -> String {
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
        return "\(day) \(monthNames[Int(month) - 1]) \(year), \(twoDigits(hour)):\(twoDigits(minute)) UTC"
    }

    /// Month names as pages show them.
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}
