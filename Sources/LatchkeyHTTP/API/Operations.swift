import Foundation
import Hummingbird
import LatchkeyCore

/// What the operations routes serve, provided by the executable: the HTTP layer knows neither
/// Prometheus nor YAML.
public struct Operations: Sendable {
    /// The metrics in Prometheus' text format, freshly rendered; `nil` disables `/metrics`.
    public var metrics: (@Sendable () -> [UInt8])?
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    public var metricsToken: String?
    /// The OpenAPI document as JSON; `nil` disables `/openapi.json`.
    public var openAPIDocument: [UInt8]?

    /// Creates the operations settings.
    /// - Parameters:
    ///   - metrics: Renders the metrics.
    ///   - metricsToken: The bearer token `/metrics` requires.
    ///   - openAPIDocument: The OpenAPI document as JSON.
    public init(
        metrics: (@Sendable () -> [UInt8])? = nil,
        metricsToken: String? = nil,
        openAPIDocument: [UInt8]? = nil
    ) {
        self.metrics = metrics
        self.metricsToken = metricsToken
        self.openAPIDocument = openAPIDocument
    }
}
