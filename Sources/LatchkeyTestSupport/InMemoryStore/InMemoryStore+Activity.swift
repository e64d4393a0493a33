import Foundation
import LatchkeyCore

extension InMemoryStore {
    /// Records an activity entry; `StoreError.notFound` when the user is gone.
    public func addActivity(_ event: ActivityEvent) throws {
        try check()
        if failingActivity { throw StoreError.unavailable("in-memory store set to fail activity entries") }
        guard users[event.userID] != nil else { throw StoreError.notFound }
        activity.append(event)
    }

    /// The user's newest activity first.
    public func listActivity(userID: Int64, limit: Int) throws -> [ActivityEvent] {
        try check()
        return Array(
            activity.filter { $0.userID == userID }.reversed().stableSorted { $0.at > $1.at }.prefix(max(0, limit)))
    }

    /// Removes activity at or before `before`.
    public func purgeActivity(before: Date) throws -> Int {
        try check()
        let count = activity.count
        activity.removeAll { $0.at <= before }
        return count - activity.count
    }
}

extension Array {
    /// Sorted by `areInIncreasingOrder`, elements that compare equal kept in their order.
    fileprivate func stableSorted(by areInIncreasingOrder: (Element, Element) -> Bool) -> [Element] {
        enumerated().sorted { left, right in
            areInIncreasingOrder(left.element, right.element)
                || (!areInIncreasingOrder(right.element, left.element) && left.offset < right.offset)
        }.map(\.element)
    }
}
