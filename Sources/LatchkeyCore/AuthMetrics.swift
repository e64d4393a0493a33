import Metrics

/// What `Auth` counts, through swift-metrics; the executable exports it to Prometheus.
public struct AuthMetrics: Sendable {
    let registrations: Counter
    let loginsSucceeded: Counter
    let loginsFailed: Counter
    let loginsThrottled: Counter
    let resetTokensIssued: Counter
    let resetTokensUsed: Counter
    let sessionsCreated: Counter
    let sessionsEndedByLogout: Counter
    let sessionsEndedByExpiry: Counter
    let bcryptDuration: Timer
    let secondFactorSucceeded: Counter
    let secondFactorFailed: Counter
    let secondFactorThrottled: Counter

    /// Creates the metrics on a factory.
    /// - Parameter factory: The backend (default: the process's `MetricsSystem`).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        registrations = Counter(label: "latchkey_registrations_total", factory: factory)
        loginsSucceeded = Counter(
            label: "latchkey_logins_total", dimensions: [("outcome", "succeeded")], factory: factory)
        loginsFailed = Counter(label: "latchkey_logins_total", dimensions: [("outcome", "failed")], factory: factory)
        loginsThrottled = Counter(
            label: "latchkey_logins_total", dimensions: [("outcome", "throttled")], factory: factory)
        resetTokensIssued = Counter(label: "latchkey_reset_tokens_issued_total", factory: factory)
        resetTokensUsed = Counter(label: "latchkey_reset_tokens_used_total", factory: factory)
        sessionsCreated = Counter(label: "latchkey_sessions_created_total", factory: factory)
        sessionsEndedByLogout = Counter(
            label: "latchkey_sessions_ended_total", dimensions: [("reason", "logout")], factory: factory)
        sessionsEndedByExpiry = Counter(
            label: "latchkey_sessions_ended_total", dimensions: [("reason", "expired")], factory: factory)
        secondFactorSucceeded = Counter(
            label: "latchkey_mfa_verifications_total", dimensions: [("outcome", "succeeded")], factory: factory)
        secondFactorFailed = Counter(
            label: "latchkey_mfa_verifications_total", dimensions: [("outcome", "failed")], factory: factory)
        secondFactorThrottled = Counter(
            label: "latchkey_mfa_verifications_total", dimensions: [("outcome", "throttled")], factory: factory)
        bcryptDuration = Timer(
            label: "latchkey_bcrypt_duration_seconds", preferredDisplayUnit: .seconds, factory: factory)
    }
}
