import Foundation
import LatchkeyCore
import LatchkeyHTTP

/// The deployment profile (`LATCHKEY_ENV`, `serve --env`).
public enum Profile: String, Sendable, CaseIterable {
    /// The original contract: the reset token in the response, short passwords, no `Secure`.
    case development
    /// What a real deployment needs: `Secure` cookies, 8-character passwords, reset tokens out
    /// of band, registration that hides who has an account, cross-site requests refused.
    case production
}
