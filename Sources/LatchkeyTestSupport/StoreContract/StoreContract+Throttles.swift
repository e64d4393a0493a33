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

        case .pendingAttemptsRoundTrip:
            // Reservation times round-trip closely enough to be settled, and a key's record
            // goes alone.
            let throttle = FailureThrottle(maxFailures: 3)
            let ada = ThrottleKey(.login, "ada@example.com")
            let times = [Self.t0.addingTimeInterval(0.123_456), Self.t0.addingTimeInterval(1.5)]
            for time in times {
                try await store.updateThrottleRecord(ada) { throttle.reserving($0, now: time).0 }
            }
            let stored = try #require(try await store.throttleRecord(ada))
            #expect(stored.pending.count == 2)
            #expect(zip(stored.pending, times).allSatisfy { abs($0.timeIntervalSince($1)) < 0.000_001 })
            try await store.updateThrottleRecord(ThrottleKey(.login, "bob@example.com")) {
                throttle.reserving($0, now: Self.t0).0
            }
            try await store.updateThrottleRecord(ada) {
                throttle.settling($0, reservedAt: times[0], succeeded: false, now: Self.t0 + 2)
            }
            #expect(try await store.throttleRecord(ada)?.pending.count == 1)
            #expect(try await store.throttleRecord(ada)?.count == 1)
            try await store.updateThrottleRecord(ada) {
                throttle.settling($0, reservedAt: times[1], succeeded: true, now: Self.t0 + 3)
            }
            #expect(try await store.throttleRecord(ada) == nil)
            #expect(try await store.throttleRecord(ThrottleKey(.login, "bob@example.com"))?.pending.count == 1)

        case .concurrentReservationsNeverExceedTheLimit:
            // 50 attempts at once against a limit of 10: exactly 10 are reserved, on every store.
            let throttle = FailureThrottle(maxFailures: 10)
            let key = ThrottleKey(.login, "burst@example.com")
            let reserved = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let now = Self.t0.addingTimeInterval(Double(index) / 1000)
                        let outcome = try await store.updateThrottleRecord(key) { throttle.reserving($0, now: now).0 }
                        return outcome?.pending.contains(now) == true
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(reserved == 10)
            #expect(try await store.throttleRecord(key)?.pending.count == 10)

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
