import Foundation

/// The log formats `LOG_FORMAT` accepts.
public enum LogFormat: String, Sendable, CaseIterable {
    /// swift-log's plain text lines (the default).
    case text
    /// One JSON object per line.
    case json
}
