import Foundation

/// Formats a time as RFC 3339 in UTC, whole seconds, such as `2026-11-28T05:00:00Z`.
/// - Parameter date: The time.
/// - Returns: Its RFC 3339 text.
public func rfc3339(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC") ?? .gmt))
}
