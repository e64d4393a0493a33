import Hummingbird
import LatchkeyCore

/// An error answered as `{"message": ...}` with a status: the one error shape of the API.
public struct APIError: Error, Sendable, Equatable {
    /// The response status.
    public var status: HTTPResponse.Status
    /// The text for the `message` field.
    public var message: String
    /// Extra headers, such as `Allow`.
    public var headers: HTTPFields

    /// Creates an error response.
    /// - Parameters:
    ///   - status: The response status.
    ///   - message: The text for the `message` field.
    ///   - headers: Extra headers.
    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// Maps a rule's outcome to its status and message: the one place where core errors
    /// meet HTTP.
    /// - Parameter error: The rule's outcome.
    public init(_ error: AuthError) {
        switch error {
        case .invalidEmail(let reason), .invalidPassword(let reason), .invalidInput(let reason):
            self.init(.badRequest, reason)
        case .emailAlreadyRegistered:
            self.init(.badRequest, "email already registered")
        case .invalidCredentials:
            self.init(.unauthorized, "wrong email or password")
        case .invalidSession:
            self.init(.forbidden, "no live session: log in first")
        case .wrongPassword:
            self.init(.unauthorized, "wrong password")
        case .sessionNotFound:
            self.init(.notFound, "no such session")
        case .accountChanged:
            self.init(.conflict, "the account changed meanwhile; try again")
        case .emailNotRegistered:
            self.init(.forbidden, "email not registered")
        case .invalidResetToken:
            self.init(.forbidden, "reset token is not valid for this email")
        case .invalidVerificationToken:
            self.init(.forbidden, "verification token is not valid for this email")
        case .emailAlreadyVerified:
            self.init(.conflict, "email already verified")
        case .emailNotVerified:
            self.init(.forbidden, "verify your email address before logging in")
        case .emailTaken:
            self.init(.conflict, "email already registered")
        case .emailVerificationOff:
            self.init(.notFound, "email verification is off")
        case .secondStepRequired:
            self.init(.unauthorized, "one-time code required")
        case .wrongCode:
            self.init(.unauthorized, "wrong code")
        case .secondFactorAlreadyActive:
            self.init(.conflict, "second factor already active")
        case .emailVerificationRequiredFirst:
            self.init(.conflict, "verify your email address first")
        case .noPendingEnrolment:
            self.init(.badRequest, "no second factor to confirm: start with POST /account/mfa/totp")
        case .noActiveSecondFactor:
            self.init(.conflict, "no active second factor")
        case .secondFactorNotConfigured:
            self.init(.serviceUnavailable, "second factor not configured")
        case .invalidLoginChallenge:
            self.init(.unauthorized, "login token is not valid: log in again")
        case .throttled(let seconds):
            self.init(
                .tooManyRequests, "too many attempts; try again in \(seconds) seconds",
                headers: [.retryAfter: "\(seconds)"])
        case .storageUnavailable:
            self.init(.serviceUnavailable, "service temporarily unavailable, try again")
        case .overloaded(let seconds):
            self.init(
                .serviceUnavailable, "too many requests at once; try again in \(seconds) seconds",
                headers: [.retryAfter: "\(seconds)"])
        }
    }

    /// The JSON response for this error.
    public var response: Response {
        var response = JSONResponse.make(status, ["message": message])
        response.headers.append(contentsOf: headers)
        return response
    }
}
