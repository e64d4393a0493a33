/// How a reset token reaches its owner.
public enum TokenDelivery: String, Sendable, CaseIterable {
    /// In the HTTP response, as the original service did (and 403 for unknown emails).
    case response
    /// In the service log, for local work only.
    case log
    /// To a webhook, signed.
    case webhook
    /// By mail to the address, with a link to the pages (`EMAIL_FROM`, `PUBLIC_URL`).
    case email

    /// Whether the token leaves through the outbox rather than the response.
    var isOutOfBand: Bool { self != .response }
}
