import Hummingbird
import NIOCore

/// The request context: Hummingbird's basics plus the peer's address, for the per-client limit,
/// and the connection, for `100 Continue`.
public struct LatchkeyRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's own context storage.
    public var coreContext: CoreRequestContextStorage
    /// The address of the TCP peer (a proxy, when there is one in front).
    public let remoteAddress: SocketAddress?
    /// The connection the request came on.
    let channel: (any Channel)?

    /// Creates the context for a request on a channel.
    /// - Parameter source: The channel and logger.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}
