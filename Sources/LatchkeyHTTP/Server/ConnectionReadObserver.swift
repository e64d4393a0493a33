import NIOCore

/// The error a route reading a body gets when its connection is closed under it.
enum ConnectionTimeoutError: Error {
    /// No byte of the body arrived within the body timeout.
    case bodyStalled
    /// The server is shutting down and the shutdown timeout passed.
    case shutdown
}

/// Passes every read from the socket on, telling `HTTP1ConnectionHandler` first: the header and
/// body timeouts start or restart on bytes, which the HTTP decoder only reports once a whole
/// head (or a piece of body) is in.
final class ConnectionReadObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connection: HTTP1ConnectionHandler

    init(connection: HTTP1ConnectionHandler) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.bytesArrived()
        context.fireChannelRead(data)
    }
}
