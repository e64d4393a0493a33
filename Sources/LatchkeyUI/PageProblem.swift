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

/// What a page says when something goes wrong: the status, a sentence a person understands, the
/// field it belongs next to (or `nil` for the top of the page), and headers to keep
/// (`Retry-After`). Every error under `/ui` is such a page, never a JSON body.
struct PageProblem: Error {
    let status: HTTPResponse.Status
    let message: String
    var field: String?
    var headers: HTTPFields = [:]

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
            return PageProblem(status: .forbidden, message: "This form was sent from another site, so it was refused.")
        case PageRefusal.expiredForm:
            return PageProblem(
                status: .forbidden, message: "This form has expired. Reload the page and try again.")
        case let error as AuthError:
            return from(error, emailField: emailField, passwordField: passwordField, newPasswordField: newPasswordField)
        case let error as APIError:
            return PageProblem(status: error.status, message: sentence(error.message), headers: error.headers)
        default:
            return PageProblem(
                status: .serviceUnavailable, message: "Something went wrong on our side. Try again in a moment.")
        }
    }

    private static func from(
        _ error: AuthError, emailField: String, passwordField: String, newPasswordField: String
    ) -> PageProblem {
        switch error {
        case .invalidEmail(let reason):
            return PageProblem(status: .badRequest, message: sentence(reason), field: emailField)
        case .invalidPassword(let reason):
            let text = reason.replacingOccurrences(of: "new_password", with: "the new password")
            return PageProblem(status: .badRequest, message: sentence(text), field: newPasswordField)
        case .emailAlreadyRegistered, .emailTaken:
            return PageProblem(status: .badRequest, message: "This address already has an account.", field: emailField)
        case .invalidCredentials:
            return PageProblem(status: .unauthorized, message: "Wrong email or password.", field: passwordField)
        case .wrongPassword:
            return PageProblem(status: .unauthorized, message: "That is not your password.", field: passwordField)
        case .emailNotVerified:
            return PageProblem(
                status: .forbidden,
                message: "Verify your email address before logging in: a new link is on its way to it.")
        case .throttled(let seconds):
            return PageProblem(
                status: .tooManyRequests, message: "Too many attempts. Try again in \(seconds) seconds.",
                headers: [.retryAfter: "\(seconds)"])
        case .overloaded(let seconds):
            return PageProblem(
                status: .serviceUnavailable, message: "We are very busy. Try again in \(seconds) seconds.",
                headers: [.retryAfter: "\(seconds)"])
        case .storageUnavailable:
            return PageProblem(
                status: .serviceUnavailable, message: "The service is unavailable for a moment. Try again.")
        case .invalidResetToken:
            return PageProblem(
                status: .forbidden, message: "This link is no longer valid. Ask for a new one.")
        case .invalidVerificationToken:
            return PageProblem(
                status: .forbidden, message: "This link is no longer valid. Ask for a new one from your account page.")
        case .secondStepRequired:
            return PageProblem(
                status: .unauthorized, message: "Give the code from your authenticator app, or a recovery code.")
        case .wrongCode:
            return PageProblem(status: .unauthorized, message: "That code is not right. Try the current one.")
        default:
            let api = APIError(error)
            return PageProblem(status: api.status, message: sentence(api.message), headers: api.headers)
        }
    }

    /// This problem next to the `code` field of a form whose only field is a code: a code that is
    /// wrong, missing or malformed (401, 400); a wait or an outage stays at the top.
    var atCode: PageProblem {
        guard status == .unauthorized || status == .badRequest else { return self }
        var problem = self
        problem.field = "code"
        return problem
    }

    /// A rule's message as a sentence: a capital first and a full stop.
    static func sentence(_ text: String) -> String {
        guard let first = text.first else { return text }
        let body = first.uppercased() + text.dropFirst()
        return body.hasSuffix(".") ? body : body + "."
    }
}
