import NIOCore
import NIOHTTP1

/// The life of one HTTP/1 connection, between NIO's HTTP/1 codec and Hummingbird: its timeouts,
/// its keep-alive, `Expect: 100-continue`, the checks of a request head that come before any
/// route (`HTTP1RequestRules`), and its end at shutdown.
///
/// - Timeouts (`ConnectionTimeouts`): a connection waiting for its first request, or a request
///   whose headers began to arrive, is closed when the headers are not complete within the
///   header timeout; a body that stalls for longer than the body timeout between two reads is
///   cut (the route reading it gets an error, never a truncated body); a connection idle after
///   a response for longer than the idle timeout is closed. While a route works on a request,
///   no timeout runs.
/// - Keep-alive (RFC 9112 9.3): an HTTP/1.0 request without `Connection: keep-alive`, or any
///   request with `Connection: close`, is answered with `Connection: close` and the connection
///   closes after the response; an HTTP/1.0 keep-alive request's response says
///   `Connection: keep-alive`.
/// - `Expect: 100-continue` (RFC 9110 10.1.1): `100 Continue` goes out when a route starts to
///   read the body (`ExpectContinue`); a route that answers from the headers alone (404, 405,
///   413, 415, …) sends its final status at once, with `Connection: close`, since the client
///   then never sends the body the connection would still be waiting for.
/// - The status line: every final response but 204 and 304 carries the original service's reason
///   phrase (`OriginalReasonPhrase`: `302 FOUND`, `400 BAD REQUEST`), its own refusals included.
/// - Shutdown (`ChannelShouldQuiesceEvent`): an idle connection closes at once; one with a
///   request in flight closes after its response, or after the shutdown timeout, whichever
///   comes first.
/// - A half-close is not a cancellation (RFC 9112 9.6; httpwg/http-core #22): a client that sends
///   its request and then shuts down its sending side still reads the answer. The server cannot
///   tell that from a full close until a write fails, so when the client's side closes with an
///   HTTP/1.1 request in flight whose response has not begun, an unsolicited `100 Continue` goes
///   out (RFC 9110 15.2: a client accepts an unexpected 1xx); a client that closed answers it with
///   a reset, the connection closes, and only then is the route watching its client told
///   (`WatchClient`). An HTTP/1.0 request is answered. `499` stays a status of the access log: a
///   response with it is never written, the connection closes instead.
final class HTTP1ConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// One request, from its head to the end of its response.
    private struct Exchange {
        let version: HTTPVersion
        let keepAlive: Bool
        let expectsContinue: Bool
        var continueSent = false
        var bodyComplete = false
        var closeAfterResponse = false
        /// The final response's head went out: no 1xx may follow.
        var responseStarted = false
    }

    /// What the connection is waiting for, which decides the running timeout.
    private enum Phase {
        /// No request yet on this connection: the header timeout runs from its opening.
        case opened
        /// Between requests: the idle timeout runs.
        case idle
        /// A request's first bytes arrived: the header timeout runs from them.
        case readingHead
        /// A request's body is being read: the body timeout runs from the last read.
        case readingBody
        /// Every request read is with a route: no timeout runs.
        case answering
        /// The connection is being closed: nothing more is read.
        case closing
    }

    private let timeouts: ConnectionTimeouts
    private var phase = Phase.opened
    /// Requests whose head has been read and whose response has not ended, oldest first.
    private var exchanges: [Exchange] = []
    /// When the running timeout expires, if one runs.
    private var deadline: NIODeadline?
    /// The scheduled check of `deadline`: at most one, never earlier than the deadline it was
    /// set for, so that moving the deadline on each request costs no timer operations.
    private var timer: Scheduled<Void>?
    /// When `timer` fires.
    private var timerDue = NIODeadline.distantFuture
    private var shutdownTimer: Scheduled<Void>?
    /// Runs while the connection cannot take more output (its client does not read).
    private var sendTimer: Scheduled<Void>?
    private var quiescing = false
    /// What to call when the client goes before the response in progress ends (`WatchClient`).
    private var onClientGone: (@Sendable () -> Void)?
    /// Bytes of a next request arrived while a route was still answering.
    private var bytesWhileAnswering = false
    private var context: ChannelHandlerContext?

    /// Creates the handler.
    /// - Parameter timeouts: The connection's timeouts.
    init(timeouts: ConnectionTimeouts) {
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm(timeouts.header, in: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        shutdownTimer?.cancel()
        sendTimer?.cancel()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        phase = .closing
        timer?.cancel()
        shutdownTimer?.cancel()
        sendTimer?.cancel()
        clientWent()
        context.fireChannelInactive()
    }

    /// Tells the route watching the client, if any, that it went.
    private func clientWent() {
        let onGone = onClientGone
        onClientGone = nil
        onGone?()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            sendTimer?.cancel()
            sendTimer = nil
        } else if sendTimer == nil {
            // A client that stops reading its responses would hold the connection (and the route
            // writing to it) for ever: it gets the body timeout to read again.
            sendTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeouts.body) {
                self.close(context)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    /// Called by `ConnectionReadObserver` for every read from the socket, before it is decoded.
    func bytesArrived() {
        guard let context else { return }
        switch phase {
        case .idle:
            phase = .readingHead
            arm(timeouts.header, in: context)
        case .readingBody:
            arm(timeouts.body, in: context)
        case .opened:
            // The first request's headers are timed from the connection's opening.
            phase = .readingHead
        case .answering:
            bytesWhileAnswering = true
        case .readingHead, .closing:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard phase != .closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            let expectsContinue: Bool
            do {
                expectsContinue = try HTTP1RequestRules.check(head)
            } catch {
                refuse(error, in: context)
                return
            }
            bytesWhileAnswering = false
            exchanges.append(
                Exchange(version: head.version, keepAlive: head.isKeepAlive, expectsContinue: expectsContinue))
            phase = .readingBody
            arm(timeouts.body, in: context)
        case .body:
            break
        case .end:
            if exchanges.isEmpty {
                // Answered before its body ended (a 404, 413, 415 from the headers): the
                // connection is between requests now.
                phase = .idle
                arm(timeouts.idle, in: context)
            } else {
                exchanges[exchanges.count - 1].bodyComplete = true
                phase = .answering
                disarm()
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head where isClientClosedRequest(data):
            // The route gave up because its client went (`JSONErrorMiddleware`): the status is
            // for the access log, and nobody reads an answer.
            phase = .closing
            disarm()
            promise?.fail(ChannelError.ioOnClosedChannel)
            context.close(promise: nil)
        case .head(var response) where !exchanges.isEmpty && response.status.code >= 200:
            exchanges[0].responseStarted = true
            let exchange = exchanges[0]
            let framedByLength =
                response.headers.contains(name: "content-length") || !response.status.mayHaveResponseBody
            let close =
                quiescing || !exchange.keepAlive
                || (exchange.expectsContinue && !exchange.continueSent && !exchange.bodyComplete)
                || (!HTTP1RequestRules.isHTTP11OrLater(exchange.version) && !framedByLength)
            if close {
                response.headers.replaceOrAdd(name: "Connection", value: "close")
            } else if !HTTP1RequestRules.isHTTP11OrLater(exchange.version) {
                response.headers.replaceOrAdd(name: "Connection", value: "keep-alive")
            }
            if !HTTP1RequestRules.isHTTP11OrLater(exchange.version) && !framedByLength {
                // Without a length, an HTTP/1.0 client can only read to the end of the connection:
                // no chunked coding (RFC 9112 6.1).
                response.version = exchange.version
            }
            exchanges[0].closeAfterResponse = close
            // After the framing above, which needs NIO's own status (a custom one may have a body).
            response.status = OriginalReasonPhrase.status(for: response.status)
            context.write(wrapOutboundOut(.head(response)), promise: promise)
        case .head(var response) where response.status.code >= 200:
            // The answer to a request that never parsed (Hummingbird's 400 for bytes that are not
            // HTTP): the same status line as every other.
            response.status = OriginalReasonPhrase.status(for: response.status)
            context.write(wrapOutboundOut(.head(response)), promise: promise)
        case .end where !exchanges.isEmpty:
            let exchange = exchanges.removeFirst()
            onClientGone = nil
            if exchange.closeAfterResponse || quiescing {
                phase = .closing
                disarm()
                let written = context.eventLoop.makePromise(of: Void.self)
                if let promise { written.futureResult.cascade(to: promise) }
                context.write(data, promise: written)
                written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                return
            }
            if exchanges.isEmpty && phase == .answering {
                // The next request's headers are timed from its first bytes, if they came already.
                phase = bytesWhileAnswering ? .readingHead : .idle
                arm(bytesWhileAnswering ? timeouts.header : timeouts.idle, in: context)
                bytesWhileAnswering = false
            }
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let watch = event as? WatchClient {
            if phase == .closing {
                watch.onGone()
            } else {
                onClientGone = watch.onGone
            }
            promise?.succeed()
            return
        }
        guard event is ExpectContinue else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        // Only for the request being read, whose client waits, and only once.
        // With a pipelined request behind the one being answered, a 100 could be taken for the
        // earlier request's: none is sent then.
        if exchanges.count == 1, let last = exchanges.indices.last, exchanges[last].expectsContinue,
            !exchanges[last].continueSent, !exchanges[last].bodyComplete, phase == .readingBody
        {
            exchanges[last].continueSent = true
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
        }
        promise?.succeed()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            probeAfterHalfClose(context)
        }
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        quiescing = true
        switch phase {
        case .opened, .idle, .readingHead:
            close(context)
        case .readingBody, .answering:
            // The response in progress says Connection: close and the connection closes after it;
            // a request that does not finish in time is cut.
            shutdownTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeouts.shutdown) {
                self.close(context, because: .shutdown)
            }
        case .closing:
            break
        }
    }

    /// The client closed its sending side: whether it still reads is learnt by writing to it. An
    /// unsolicited `100 Continue` for the oldest request whose response has not begun (HTTP/1.1
    /// only: an HTTP/1.0 client knows no 1xx, and its request is simply answered); a client that
    /// closed its connection answers with a reset, which closes the channel and tells the route
    /// (`channelInactive`).
    private func probeAfterHalfClose(_ context: ChannelHandlerContext) {
        guard phase != .closing, let first = exchanges.first, !first.responseStarted,
            HTTP1RequestRules.isHTTP11OrLater(first.version)
        else { return }
        exchanges[0].continueSent = true
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))))
            .assumeIsolated().whenFailure { _ in self.close(context) }
    }

    /// Whether an outbound part is the head of a `499 Client Closed Request`.
    private func isClientClosedRequest(_ data: NIOAny) -> Bool {
        guard case .head(let response) = unwrapOutboundIn(data) else { return false }
        return response.status.code == 499
    }

    /// Answers a request refused before routing, then closes the connection: what follows its
    /// head cannot be trusted to be where the client meant the next request to start.
    private func refuse(_ error: HTTP1RequestRules.Refusal, in context: ChannelHandlerContext) {
        phase = .closing
        disarm()
        guard exchanges.isEmpty else {
            // A response is still being written for an earlier request: it must not be cut into.
            context.close(promise: nil)
            return
        }
        var body = context.channel.allocator.buffer(capacity: error.message.utf8.count + 16)
        body.writeString(#"{"message":"\#(error.message)"}"#)
        let headers = HTTPHeaders([
            ("content-type", JSONResponse.contentType), ("content-length", "\(body.readableBytes)"),
            ("connection", "close"), ("cache-control", "no-store"), ("x-content-type-options", "nosniff"),
        ])
        context.write(
            wrapOutboundOut(
                .head(
                    HTTPResponseHead(
                        version: .http1_1, status: OriginalReasonPhrase.status(for: error.status), headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Starts (or restarts) the running timeout. A check already scheduled for an earlier time
    /// finds the later deadline and schedules itself again; one scheduled for a later time is
    /// replaced.
    private func arm(_ amount: TimeAmount, in context: ChannelHandlerContext) {
        let due = context.eventLoop.now + amount
        deadline = due
        if timer == nil || timerDue > due {
            timer?.cancel()
            schedule(at: due, in: context)
        }
    }

    private func disarm() {
        deadline = nil
    }

    private func schedule(at due: NIODeadline, in context: ChannelHandlerContext) {
        timerDue = due
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { self.check(context) }
    }

    private func check(_ context: ChannelHandlerContext) {
        timer = nil
        guard let deadline, phase != .closing else { return }
        if deadline <= context.eventLoop.now {
            close(context, because: .bodyStalled)
        } else {
            schedule(at: deadline, in: context)
        }
    }

    /// Closes the connection; a route still reading a body gets `reason` as an error rather
    /// than a body cut short.
    private func close(_ context: ChannelHandlerContext, because reason: ConnectionTimeoutError? = nil) {
        if let reason, phase == .readingBody {
            context.fireErrorCaught(reason)
        }
        phase = .closing
        disarm()
        context.close(promise: nil)
    }
}
