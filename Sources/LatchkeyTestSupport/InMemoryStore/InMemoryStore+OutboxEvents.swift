import Foundation
import LatchkeyCore

/// An event as its outbox row holds it, opened: what a test checks was sent.
public struct RecordedEvent: Sendable, Equatable {
    /// The event's name (`AccountEvent.name`).
    public let name: String
    /// Its fields besides `"event"` (`AccountEvent.fields`).
    public let fields: [String: String?]

    /// The record an event makes.
    /// - Parameter event: The event.
    public init(_ event: AccountEvent) {
        name = event.name
        fields = event.fields
    }

    init?(json: Data) {
        guard var object = try? JSONDecoder().decode([String: String?].self, from: json),
            case let name?? = object.removeValue(forKey: "event")
        else { return nil }
        self.name = name
        self.fields = object
    }
}

extension InMemoryStore {
    /// The events in the outbox, oldest first, opened with `keyring`: one per event (the rows of
    /// its first channel), whatever their state; a row that does not open is left out.
    /// - Parameter keyring: The keys the payloads were sealed with.
    /// - Returns: The events.
    public func outboxEvents(keyring: SecondFactorKeyring?) -> [RecordedEvent] {
        guard let channel = outboxRows.first?.message.channel else { return [] }
        return outboxRows.filter { $0.message.channel == channel }.compactMap { row in
            (try? MessagePayload.open(row.message.payload, id: row.message.id, keyring: keyring))
                .flatMap(RecordedEvent.init(json:))
        }
    }
}
