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
    private let outboxSentCounters: [MessageChannel: Counter]
    private let outboxFailedCounters: [MessageChannel: Counter]

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
        outboxSentCounters = Dictionary(
            uniqueKeysWithValues: MessageChannel.allCases.map {
                (
                    $0,
                    Counter(label: "latchkey_outbox_sent_total", dimensions: [("kind", $0.rawValue)], factory: factory)
                )
            })
        outboxFailedCounters = Dictionary(
            uniqueKeysWithValues: MessageChannel.allCases.map {
                (
                    $0,
                    Counter(
                        label: "latchkey_outbox_failed_total", dimensions: [("kind", $0.rawValue)], factory: factory)
                )
            })
        bcryptDuration = Timer(
            label: "latchkey_bcrypt_duration_seconds", preferredDisplayUnit: .seconds, factory: factory)
    }

    /// Messages sent, per channel (`latchkey_outbox_sent_total{kind}`).
    func outboxSent(_ channel: MessageChannel) -> Counter? { outboxSentCounters[channel] }

    /// Messages given up after the last retry, per channel (`latchkey_outbox_failed_total{kind}`).
    func outboxFailed(_ channel: MessageChannel) -> Counter? { outboxFailedCounters[channel] }
}
