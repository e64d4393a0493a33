/// Runs `operation` for at most `limit`: its result, or `nil` when the time ran out first (the
/// operation is then cancelled, and awaited: a child process it started has been ended).
/// - Parameters:
///   - limit: The longest it may take.
///   - operation: The work; it must stop when cancelled.
/// - Returns: Its result, or `nil` after `limit`.
/// - Throws: What `operation` throws before the time runs out.
func withTimeLimit<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws
    -> T?
{
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        // The first to finish wins; cancelling the other ends a send still running.
        let first = try await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
