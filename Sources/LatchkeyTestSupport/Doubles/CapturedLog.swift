import Logging
import Synchronization

/// A log that keeps its lines instead of printing them: tests that expect an error hand its
/// `logger` to the code under test, so that a passing run prints no `error` line, and can check
/// what was logged.
public final class CapturedLog: Sendable {
    /// One line logged.
    public struct Entry: Sendable, Equatable {
        /// Its level.
        public let level: Logger.Level
        /// Its message.
        public let message: String
        /// Its metadata, rendered as strings.
        public let metadata: [String: String]
    }

    private let stored = Mutex<[Entry]>([])

    /// Creates an empty log.
    public init() {}

    /// A logger at `trace` level whose lines go to this log.
    public var logger: Logger {
        var logger = Logger(label: "test") { _ in Handler(sink: self) }
        logger.logLevel = .trace
        return logger
    }

    /// Every line logged so far, oldest first.
    public var entries: [Entry] { stored.withLock { $0 } }

    /// Each line as `message key=value ...`, its metadata sorted by key, oldest first.
    public var lines: [String] {
        entries.map { entry in
            ([entry.message] + entry.metadata.map { "\($0)=\($1)" }.sorted()).joined(separator: " ")
        }
    }

    /// Every line, one per line of text.
    public var text: String { lines.joined(separator: "\n") }

    /// The messages logged at `level`, oldest first.
    /// - Parameter level: The level.
    /// - Returns: The messages.
    public func messages(at level: Logger.Level) -> [String] {
        entries.filter { $0.level == level }.map(\.message)
    }

    fileprivate func append(_ entry: Entry) {
        stored.withLock { $0.append(entry) }
    }

    private struct Handler: LogHandler {
        let sink: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            merged.merge(event.metadata ?? [:]) { _, new in new }
            sink.append(
                Entry(
                    level: event.level, message: event.message.description,
                    metadata: merged.mapValues { "\($0)" }))
        }
    }
}
