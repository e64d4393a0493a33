import Hummingbird
import NIOCore

/// The event a route sends down its connection when it starts to read a request body:
/// `HTTP1ConnectionHandler` answers it with `100 Continue` when the client waits for one
/// (`Expect: 100-continue`, RFC 9110 10.1.1), and ignores it otherwise.
struct ExpectContinue: Sendable {}

extension LatchkeyRequestContext {
    /// Tells a client that waits for `100 Continue` to send its body; call it once the headers
    /// have passed every check that could refuse the request, just before reading the body.
    /// Does nothing for a request without `Expect`, or when the context has no channel.
    /// - Parameter request: The request whose body is about to be read.
    func acceptBody(of request: Request) {
        guard request.headers[.expect] != nil, let channel else { return }
        channel.triggerUserOutboundEvent(ExpectContinue(), promise: nil)
    }
}
