/// Whether addresses are verified (`EMAIL_VERIFICATION`).
public enum EmailVerification: String, Sendable, CaseIterable {
    /// No verification: the routes answer 404 and nothing is sent.
    case off
    /// Addresses can be verified; nothing needs it.
    case optional
    /// A login with the right password for an address not verified yet is refused (403), and a
    /// new token goes out of band.
    case required
}
