import NIOCore

/// How long a connection may take over each part of its life; `HTTP1ConnectionHandler` closes it
/// when a limit passes, so that connections that never end cannot hold the server's file
/// descriptors (OWASP ASVS 5.0 13.1.2: resource limits per connection).
public struct ConnectionTimeouts: Sendable, Equatable {
    /// From a request's first byte (or, for the first request, from the connection's opening)
    /// until its headers are complete (`HTTP_HEADER_TIMEOUT`, default 10 seconds).
    public var header: TimeAmount
    /// The longest gap between two reads of a request body (`HTTP_BODY_TIMEOUT`, default 10
    /// seconds): a body that keeps arriving is never cut, one that stalls is. Also how long a
    /// client may leave responses unread once the connection's output is full.
    public var body: TimeAmount
    /// From the end of a response until the next request's first byte (`HTTP_IDLE_TIMEOUT`,
    /// default 60 seconds).
    public var idle: TimeAmount
    /// After a graceful shutdown begins, how long requests in flight may still take before
    /// their connections are closed (`SHUTDOWN_TIMEOUT`, default 15 seconds). Idle connections
    /// close at once.
    public var shutdown: TimeAmount

    /// Creates the timeouts; every one must be positive.
    /// - Parameters:
    ///   - header: The header timeout.
    ///   - body: The body timeout, between two reads.
    ///   - idle: The idle timeout between requests.
    ///   - shutdown: The time requests in flight get at shutdown.
    public init(
        header: TimeAmount = .seconds(10),
        body: TimeAmount = .seconds(10),
        idle: TimeAmount = .seconds(60),
        shutdown: TimeAmount = .seconds(15)
    ) {
        self.header = header
        self.body = body
        self.idle = idle
        self.shutdown = shutdown
    }
}
