import HTTPTypes
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP

/// Why a page refuses a form before any rule is asked.
enum PageRefusal: Error {
    /// `Sec-Fetch-Site` or `Origin` says another site sent it.
    case crossSite
    /// The form's CSRF token is missing or is not the browser's.
    case expiredForm
}

/// What a page says when something goes wrong: the status, a catalog sentence, the field it
/// belongs next to (or `nil` for the top of the page), and headers to keep (`Retry-After`). Every
/// error under `/ui` is such a page, never a JSON body.
///
/// This is the one place where Core's errors, and the HTTP layer's, become catalog keys
/// (`problem.*`): the pages never show Core's English messages.
struct PageProblem: Error {
    let status: HTTPResponse.Status
    let text: PageText
    var field: String?
    var headers: HTTPFields = [:]

    init(
        status: HTTPResponse.Status, _ key: String, _ arguments: [String: String] = [:], field: String? = nil,
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.text = PageText(key, arguments)
        self.field = field
        self.headers = headers
    }

    /// The problem a rule's error is, with the field it concerns on this form.
    /// - Parameters:
    ///   - error: What was thrown.
    ///   - fields: The form's fields by role: `email`, `password` (the one checked), `newPassword`.
    /// - Returns: The problem.
    static func from(
        _ error: any Error, emailField: String = "email", passwordField: String = "password",
        newPasswordField: String = "new_password"
    ) -> PageProblem {
        switch error {
        case let problem as PageProblem:
            return problem
        case PageRefusal.crossSite:
            return PageProblem(status: .forbidden, "problem.cross-site")
        case PageRefusal.expiredForm:
            return PageProblem(status: .forbidden, "problem.expired-form")
        case let error as AuthError:
            return from(error, emailField: emailField, passwordField: passwordField, newPasswordField: newPasswordField)
        case let error as APIError:
            return from(error)
        default:
            return PageProblem(status: .serviceUnavailable, "problem.internal")
        }
    }

    /// The problem an HTTP-layer refusal is, by its status: its message is the API's, in English.
    static func from(_ error: APIError) -> PageProblem {
        let key: String
        switch error.status.code {
        case 404: key = "problem.not-found"
        case 405: key = "problem.method"
        case 413: key = "problem.form-too-large"
        case 400, 415, 422: key = "problem.form-unreadable"
        case 429: key = "problem.throttled"
        case 500...: key = "problem.unavailable"
        default: key = "problem.request"
        }
        let seconds = error.headers[.retryAfter] ?? "1"
        return PageProblem(status: error.status, key, ["seconds": seconds], headers: error.headers)
    }

    private static func from(
        _ error: AuthError, emailField: String, passwordField: String, newPasswordField: String
    ) -> PageProblem {
        // The status and headers are the API's (`APIError`); the sentence and the field are the page's.
        let api = APIError(error)
        var arguments: [String: String] = [:]
        var field: String?
        let key: String
        switch error {
        case .invalidEmail(let reason):
            (key, arguments) = ProblemReasons.email(reason)
            field = emailField
        case .invalidPassword(let reason):
            (key, arguments) = ProblemReasons.password(reason)
            field = newPasswordField
        case .invalidInput(let reason): key = ProblemReasons.input(reason)
        case .emailAlreadyRegistered, .emailTaken:
            key = "problem.taken"
            field = emailField
        case .invalidCredentials:
            key = "problem.credentials"
            field = passwordField
        case .wrongPassword:
            key = "problem.wrong-password"
            field = passwordField
        case .emailNotVerified: key = "problem.not-verified"
        case .throttled(let seconds):
            key = "problem.throttled"
            arguments = ["seconds": "\(seconds)"]
        case .overloaded(let seconds):
            key = "problem.overloaded"
            arguments = ["seconds": "\(seconds)"]
        case .storageUnavailable: key = "problem.unavailable"
        case .invalidResetToken: key = "problem.reset-link"
        case .invalidVerificationToken: key = "problem.verify-link"
        case .secondStepRequired: key = "problem.code-required"
        case .wrongCode: key = "problem.wrong-code"
        case .invalidLoginChallenge: key = "login.challenge-expired"
        case .invalidSession: key = "problem.expired-form"
        case .sessionNotFound: key = "problem.no-session"
        case .accountChanged: key = "problem.changed"
        case .emailNotRegistered: key = "problem.not-registered"
        case .emailAlreadyVerified: key = "problem.already-verified"
        case .emailVerificationOff: key = "problem.verification-off"
        case .secondFactorAlreadyActive: key = "problem.factor-active"
        case .emailVerificationRequiredFirst: key = "problem.verify-first"
        case .noPendingEnrolment: key = "problem.no-enrolment"
        case .noActiveSecondFactor: key = "problem.no-factor"
        case .secondFactorNotConfigured: key = "problem.factor-unconfigured"
        }
        return PageProblem(status: api.status, key, arguments, field: field, headers: api.headers)
    }

    /// This problem next to the `code` field of a form whose only field is a code: a code that is
    /// wrong, missing or malformed (401, 400); a wait or an outage stays at the top.
    var atCode: PageProblem {
        guard status == .unauthorized || status == .badRequest else { return self }
        var problem = self
        problem.field = "code"
        return problem
    }
}
