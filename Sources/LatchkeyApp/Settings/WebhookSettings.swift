import Foundation

/// Where account events go by webhook.
public struct WebhookSettings: Sendable, Equatable {
    /// The URL events are POSTed to.
    public var url: String
    /// The HMAC key of the signature header.
    public var secret: String

    /// Creates the settings.
    /// - Parameters:
    ///   - url: The URL events are POSTed to.
    ///   - secret: The HMAC key.
    public init(url: String, secret: String) {
        self.url = url
        self.secret = secret
    }
}
