import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 server channel with `HTTP1ConnectionHandler` between NIO's HTTP/1 codec
/// and the conversion to HTTP types, where the request's version and its raw header lines
/// (a second `Host`) can still be seen, and with `ConnectionReadObserver` in front of the
/// decoder, where bytes can be seen before a whole head is in.
struct LatchkeyHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let timeouts: ConnectionTimeouts

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let connection = HTTP1ConnectionHandler(timeouts: timeouts)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ConnectionReadObserver(connection: connection))
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,
                withErrorHandling: false,
                withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: .init()
            )
            try pipeline.addHandler(connection)
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            return try NIOAsyncChannel(
                wrappingChannelSynchronously: channel,
                configuration: .init(isOutboundHalfClosureEnabled: true)
            )
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// Latchkey's HTTP/1 server: Hummingbird's, with connection timeouts, keep-alive as RFC 9112
    /// has it, `Expect: 100-continue`, and the `Host` checks (`HTTP1ConnectionHandler`).
    /// - Parameter timeouts: The connections' timeouts.
    /// - Returns: The builder to pass to `Application(router:server:…)`.
    public static func latchkeyHTTP1(timeouts: ConnectionTimeouts) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            LatchkeyHTTP1Channel(responder: responder, timeouts: timeouts)
        }
    }
}
