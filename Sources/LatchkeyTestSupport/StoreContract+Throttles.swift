import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// The checks of throttle records, updated atomically.
    func runThrottles(on store: any AdminStore) async throws {
        switch self {
        case .throttleRecordsRoundTrip:
            let key = ThrottleKey(.login, "ada@example.com")
            #expect(try await store.throttleRecord(key) == nil)
            let record = ThrottleRecord(
                count: 3, firstAt: Self.t0, lastAt: Self.t0 + 10, lockedUntil: Self.t0 + 70, lockCount: 1)
            #expect(try await store.updateThrottleRecord(key) { _ in record } == record)
            #expect(try await store.throttleRecord(key) == record)
            // Another scope or email is another row.
            #expect(try await store.throttleRecord(ThrottleKey(.resetToken, "ada@example.com")) == nil)
            #expect(try await store.throttleRecord(ThrottleKey(.login, "bob@example.com")) == nil)
            let seen = try await store.updateThrottleRecord(key) { stored in
                var next = stored
                next?.lockedUntil = nil
                return next
            }
            #expect(seen?.lockedUntil == nil)
            #expect(try await store.throttleRecord(key)?.lockedUntil == nil)
            #expect(try await store.updateThrottleRecord(key) { _ in nil } == nil)
            #expect(try await store.throttleRecord(key) == nil)

        case .deleteThrottleRecordRemovesOnlyItsKey:
            let record = ThrottleRecord(count: 2, firstAt: Self.t0, lastAt: Self.t0)
            let ada = ThrottleKey(.login, "ada@example.com")
            try await store.updateThrottleRecord(ada) { _ in record }
            try await store.updateThrottleRecord(ThrottleKey(.resetToken, "ada@example.com")) { _ in record }
            try await store.updateThrottleRecord(ThrottleKey(.login, "bob@example.com")) { _ in record }
            try await store.deleteThrottleRecord(ada)
            #expect(try await store.throttleRecord(ada) == nil)
            #expect(try await store.throttleRecord(ThrottleKey(.resetToken, "ada@example.com")) == record)
            #expect(try await store.throttleRecord(ThrottleKey(.login, "bob@example.com")) == record)
            // Deleting what is not there is not an error, and writes nothing.
            try await store.deleteThrottleRecord(ThrottleKey(.login, "nobody@example.com"))
            #expect(try await store.throttleRecord(ThrottleKey(.login, "nobody@example.com")) == nil)

        case .concurrentThrottleUpdatesAllCount:
            let key = ThrottleKey(.login, "race@example.com")
            await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await store.updateThrottleRecord(key) { stored in
                            var record = stored ?? ThrottleRecord(count: 0, firstAt: Self.t0, lastAt: Self.t0)
                            record.count += 1
                            return record
                        }
                    }
                }
            }
            #expect(try await store.throttleRecord(key)?.count == 20)

        case .purgeRemovesOnlyQuietThrottles:
            let now = Self.t0 + 100_000
            let quiet = ThrottleRecord(count: 1, firstAt: Self.t0, lastAt: Self.t0)
            let waiting = ThrottleRecord(count: 10, firstAt: Self.t0, lastAt: Self.t0, lockedUntil: now + 60)
            let recent = ThrottleRecord(count: 1, firstAt: now - 10, lastAt: now - 10)
            try await store.updateThrottleRecord(ThrottleKey(.login, "quiet@example.com")) { _ in quiet }
            try await store.updateThrottleRecord(ThrottleKey(.login, "waiting@example.com")) { _ in waiting }
            try await store.updateThrottleRecord(ThrottleKey(.resetRequest, "recent@example.com")) { _ in recent }
            #expect(try await store.purgeThrottles(lastBefore: now - 86_400, now: now) == 1)
            #expect(try await store.throttleRecord(ThrottleKey(.login, "quiet@example.com")) == nil)
            #expect(try await store.throttleRecord(ThrottleKey(.login, "waiting@example.com")) == waiting)
            #expect(try await store.throttleRecord(ThrottleKey(.resetRequest, "recent@example.com")) == recent)

        default:
            Issue.record("\(self) is not one of these checks")
        }
    }
}
