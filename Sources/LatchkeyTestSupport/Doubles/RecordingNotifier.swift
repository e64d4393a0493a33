import LatchkeyCore
import Synchronization

/// A notifier that keeps every event, for tests.
public final class RecordingNotifier: AccountNotifier {
    private let recorded = Mutex<[AccountEvent]>([])

    /// Creates an empty recorder.
    public init() {}

    /// The events so far, oldest first.
    public var events: [AccountEvent] { recorded.withLock { $0 } }

    /// Keeps the event.
    public func notify(_ event: AccountEvent) {
        recorded.withLock { $0.append(event) }
    }
}
