import Hummingbird
import NIOCore

/// The event a route sends down its connection to be told when its client goes: the client
/// closes the connection, or its sending side, before the response (`HTTP1ConnectionHandler`
/// calls `onGone` then, once, and forgets it when the response ends).
struct WatchClient: Sendable {
    /// Called on the connection's event loop when the client goes.
    let onGone: @Sendable () -> Void
}

/// Runs a route that hashes a password so that its work is cancelled when its client goes:
/// a queued hash is then dropped before it runs (`HashingPool`), and a flood of logins whose
/// clients gave up leaves no work behind.
///
/// Hummingbird 2.28.1 cancels a handler whose client goes only inside
/// `RequestBody.consumeWithCancellationOnInboundClose`, which watches the connection by
/// reading it and so must close it after every response. `HTTP1ConnectionHandler` sees the
/// connection close without reading it, so the connection stays open for the next request
/// (docs/decisions/0019).
/// - Parameters:
///   - request: The request.
///   - context: Its context, whose connection is watched.
///   - route: The route.
/// - Returns: The route's response.
/// - Throws: What the route throws; `CancellationError` when the client went.
func whileClientStays(
    _ request: Request, context: LatchkeyRequestContext,
    _ route: @escaping @Sendable (Request) async throws -> Response
) async throws -> Response {
    guard let channel = context.channel else {
        return try await route(request)
    }
    // A task of its own, which inherits the request's task-local values, so that the
    // connection can cancel it.
    let work = Task { try await route(request) }
    let watching = channel.eventLoop.makePromise(of: Void.self)
    channel.triggerUserOutboundEvent(WatchClient { work.cancel() }, promise: watching)
    watching.futureResult.whenFailure { error in
        // Closed before the watch began; any other failure means nobody watches.
        if let error = error as? ChannelError, error == .ioOnClosedChannel || error == .alreadyClosed {
            work.cancel()
        }
    }
    return try await withTaskCancellationHandler {
        try await work.value
    } onCancel: {
        work.cancel()
    }
}
