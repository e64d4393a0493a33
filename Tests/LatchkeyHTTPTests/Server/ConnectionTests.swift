import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing

@testable import LatchkeyHTTP

/// One connection through `ConnectionReadObserver`, NIO's HTTP/1 codec and
/// `HTTP1ConnectionHandler`, on an embedded event loop whose clock the test moves.
private final class TestConnection {
    let channel = EmbeddedChannel()
    let timeouts = ConnectionTimeouts(
        header: .seconds(10), body: .seconds(10), idle: .seconds(60), shutdown: .seconds(15))

    init() throws {
        let handler = HTTP1ConnectionHandler(timeouts: timeouts)
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(ConnectionReadObserver(connection: handler))
        try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
        try pipeline.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
    }

    var isOpen: Bool { channel.isActive }

    func send(_ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    /// The request parts that reached the application.
    func received() throws -> [HTTPServerRequestPart] {
        var parts: [HTTPServerRequestPart] = []
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
            parts.append(part)
        }
        return parts
    }

    func respond(_ status: HTTPResponseStatus = .ok, body: String = "{}", length: Bool = true) throws {
        var headers = HTTPHeaders([("Content-Type", "application/json")])
        if length {
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        }
        try channel.writeOutbound(
            HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
        try channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: body))))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
    }

    /// Every byte written to the client so far.
    func written() throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    func advance(_ amount: TimeAmount) {
        channel.embeddedEventLoop.advanceTime(by: amount)
    }
}

@Suite("A connection's life: timeouts, keep-alive, 100 Continue, Host, shutdown")
struct ConnectionTests {
    @Test("A connection that sends nothing is closed at the header timeout")
    func silentConnection() throws {
        let connection = try TestConnection()
        connection.advance(.seconds(9))
        #expect(connection.isOpen)
        connection.advance(.seconds(1))
        #expect(!connection.isOpen)
    }

    @Test("Headers that drip are closed at the header timeout, counted from the first byte")
    func drippedHeaders() throws {
        let connection = try TestConnection()
        try connection.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try connection.received().count == 2)
        try connection.respond()
        connection.advance(.seconds(30))
        try connection.send("GET /profile HTTP/1.1\r\n")
        for _ in 0..<4 {
            connection.advance(.seconds(2))
            try connection.send("X-Drip: 1\r\n")
        }
        #expect(connection.isOpen)
        connection.advance(.seconds(2))
        #expect(!connection.isOpen)
    }

    @Test("A body that stalls is cut at the body timeout, with an error for its reader; one that keeps coming is not")
    func stalledBody() throws {
        let connection = try TestConnection()
        try connection.send("POST /users HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab")
        for _ in 0..<5 {
            connection.advance(.seconds(9))
            try connection.send("c")
        }
        #expect(connection.isOpen)
        connection.advance(.seconds(10))
        #expect(!connection.isOpen)
        #expect(throws: ConnectionTimeoutError.bodyStalled) { try connection.channel.throwIfErrorCaught() }
    }

    @Test("No timeout runs while a route answers; the idle timeout runs after the response")
    func idleAfterResponse() throws {
        let connection = try TestConnection()
        try connection.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        connection.advance(.seconds(120))
        #expect(connection.isOpen)
        try connection.respond()
        connection.advance(.seconds(59))
        #expect(connection.isOpen)
        connection.advance(.seconds(1))
        #expect(!connection.isOpen)
    }

    @Test("HTTP/1.0 without keep-alive: Connection: close, then the connection closes")
    func http10Closes() throws {
        let connection = try TestConnection()
        try connection.send("GET /healthz HTTP/1.0\r\n\r\n")
        try connection.respond()
        #expect(try connection.written().contains("Connection: close\r\n"))
        #expect(!connection.isOpen)
    }

    @Test("HTTP/1.0 with keep-alive: Connection: keep-alive, and the connection stays")
    func http10KeepAlive() throws {
        let connection = try TestConnection()
        try connection.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        try connection.respond()
        #expect(try connection.written().contains("Connection: keep-alive\r\n"))
        #expect(connection.isOpen)
    }

    @Test("HTTP/1.0 without a length is answered as HTTP/1.0, without chunks, and closed")
    func http10WithoutLength() throws {
        let connection = try TestConnection()
        try connection.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        try connection.respond(length: false)
        let written = try connection.written()
        #expect(written.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(!written.lowercased().contains("transfer-encoding"))
        #expect(!connection.isOpen)
    }

    @Test("HTTP/1.1 with Connection: close is answered with Connection: close, then closed")
    func http11Close() throws {
        let connection = try TestConnection()
        try connection.send("GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        try connection.respond()
        #expect(try connection.written().contains("Connection: close\r\n"))
        #expect(!connection.isOpen)
    }

    @Test("100 Continue goes out when the route starts reading the body, once")
    func continueWhenRead() throws {
        let connection = try TestConnection()
        try connection.send(
            "POST /users HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        #expect(try connection.written().isEmpty)
        connection.channel.triggerUserOutboundEvent(ExpectContinue(), promise: nil)
        connection.channel.triggerUserOutboundEvent(ExpectContinue(), promise: nil)
        #expect(try connection.written() == "HTTP/1.1 100 Continue\r\n\r\n")
        try connection.send("a=b")
        try connection.respond()
        let written = try connection.written()
        #expect(written.hasPrefix("HTTP/1.1 200 OK\r\n") && !written.contains("Connection: close"))
        #expect(connection.isOpen)
    }

    @Test("A final answer without 100 Continue closes: the client will not send the body")
    func finalAnswerWithoutContinue() throws {
        let connection = try TestConnection()
        try connection.send(
            "POST /users HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
        )
        try connection.respond(.unsupportedMediaType)
        let written = try connection.written()
        #expect(
            written.hasPrefix("HTTP/1.1 415 UNSUPPORTED MEDIA TYPE\r\n") && written.contains("Connection: close\r\n"))
        #expect(!connection.isOpen)
    }

    @Test(
        "Host missing (HTTP/1.1), repeated or invalid: 400 with a JSON message, nothing routed, closed",
        arguments: [
            "GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: exa mple.com\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n",
        ])
    func badHost(request: String) throws {
        let connection = try TestConnection()
        try connection.send(request)
        #expect(try connection.received().isEmpty)
        let written = try connection.written()
        #expect(written.hasPrefix("HTTP/1.1 400 BAD REQUEST\r\n"))
        #expect(written.contains("content-type: application/json\r\n") && written.contains(#"{"message":""#))
        #expect(!connection.isOpen)
    }

    @Test("An expectation other than 100-continue is a 417")
    func unknownExpectation() throws {
        let connection = try TestConnection()
        try connection.send("POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 0\r\n\r\n")
        let written = try connection.written()
        #expect(written.hasPrefix("HTTP/1.1 417 EXPECTATION FAILED\r\n"))
        #expect(written.contains("content-type: application/json\r\n"))
    }

    @Test(
        "Every final status line carries the original's reason phrase, Werkzeug's in capitals",
        arguments: [
            (HTTPResponseStatus.ok, "200 OK"), (.found, "302 FOUND"), (.badRequest, "400 BAD REQUEST"),
            (.unauthorized, "401 UNAUTHORIZED"), (.forbidden, "403 FORBIDDEN"), (.notFound, "404 NOT FOUND"),
            (.methodNotAllowed, "405 METHOD NOT ALLOWED"), (.requestTimeout, "408 REQUEST TIMEOUT"),
            (.conflict, "409 CONFLICT"), (.payloadTooLarge, "413 REQUEST ENTITY TOO LARGE"),
            (.unsupportedMediaType, "415 UNSUPPORTED MEDIA TYPE"), (.expectationFailed, "417 EXPECTATION FAILED"),
            (.tooManyRequests, "429 TOO MANY REQUESTS"), (.internalServerError, "500 INTERNAL SERVER ERROR"),
            (.serviceUnavailable, "503 SERVICE UNAVAILABLE"),
        ])
    func reasonPhrase(status: HTTPResponseStatus, line: String) throws {
        let connection = try TestConnection()
        try connection.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        try connection.respond(status)
        let written = try connection.written()
        #expect(written.hasPrefix("HTTP/1.1 \(line)\r\n"), "\(written)")
        // The framing stays NIO's: the length the route gave, no chunks.
        #expect(written.contains("Content-Length: 2\r\n") && !written.contains("chunked"))
        #expect(written.hasSuffix("\r\n\r\n{}"))
    }

    @Test(
        "204 and 304 keep NIO's phrase and framing: no body, no chunks",
        arguments: [
            (HTTPResponseStatus.noContent, "204 No Content"), (.notModified, "304 Not Modified"),
        ])
    func bodilessStatuses(status: HTTPResponseStatus, line: String) throws {
        let connection = try TestConnection()
        try connection.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        try connection.respond(status, body: "", length: false)
        let written = try connection.written()
        #expect(written.hasPrefix("HTTP/1.1 \(line)\r\n"), "\(written)")
        #expect(!written.contains("chunked") && written.hasSuffix("\r\n\r\n"))
        #expect(connection.isOpen)
    }

    @Test("At shutdown an idle connection closes at once")
    func shutdownIdle() throws {
        let connection = try TestConnection()
        connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!connection.isOpen)
    }

    @Test("At shutdown a request in flight finishes with Connection: close")
    func shutdownInFlight() throws {
        let connection = try TestConnection()
        try connection.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(connection.isOpen)
        try connection.respond()
        #expect(try connection.written().contains("Connection: close\r\n"))
        #expect(!connection.isOpen)
    }

    @Test("At shutdown a stalled body is cut at the shutdown timeout, before the body timeout would")
    func shutdownStalled() throws {
        let connection = try TestConnection()
        try connection.send("POST /users HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab")
        connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        for _ in 0..<7 {
            connection.advance(.seconds(2))
            try connection.send("c")
        }
        #expect(connection.isOpen)
        connection.advance(.seconds(1))
        #expect(!connection.isOpen)
        #expect(throws: ConnectionTimeoutError.shutdown) { try connection.channel.throwIfErrorCaught() }
    }
}

extension ConnectionTests {
    @Test("A half-close is no cancellation: a 100 Continue probes the client; only a close tells the route")
    func clientGone() throws {
        let connection = try TestConnection()
        let gone = GoneCounter()
        try connection.send("POST /sessions HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        connection.channel.triggerUserOutboundEvent(WatchClient { gone.count() }, promise: nil)
        #expect(gone.value == 0)
        connection.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(gone.value == 0)
        #expect(try connection.written() == "HTTP/1.1 100 Continue\r\n\r\n")
        // A client that only half-closed reads the answer.
        try connection.respond()
        #expect(try connection.written().hasPrefix("HTTP/1.1 200 OK\r\n"))
        connection.channel.pipeline.fireChannelInactive()
        #expect(gone.value == 0)

        // A client that closed: the reset to the probe closes the connection, and the route hears.
        let closed = try TestConnection()
        let told = GoneCounter()
        try closed.send("POST /sessions HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        closed.channel.triggerUserOutboundEvent(WatchClient { told.count() }, promise: nil)
        closed.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(told.value == 0)
        closed.channel.pipeline.fireChannelInactive()
        #expect(told.value == 1)
    }

    @Test("A half-close with an HTTP/1.0 request, or once the response began, writes no 100")
    func noProbe() throws {
        let old = try TestConnection()
        try old.send("POST /sessions HTTP/1.0\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        old.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try old.written().isEmpty)
        try old.respond()
        #expect(try old.written().hasPrefix("HTTP/1.1 200 OK\r\n"))

        let started = try TestConnection()
        try started.send("POST /sessions HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        try started.channel.writeOutbound(
            HTTPServerResponsePart.head(
                HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "2"])))
        started.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try started.written() == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
    }

    @Test("499 never goes on the wire: the connection closes instead")
    func clientClosedRequestIsNotWritten() throws {
        let connection = try TestConnection()
        try connection.send("POST /sessions HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        _ = try? connection.respond(HTTPResponseStatus(statusCode: 499, reasonPhrase: "Client Closed Request"))
        #expect(try connection.written().isEmpty)
        #expect(!connection.isOpen)
    }

    @Test("A watch ends with its response: a later close calls nobody")
    func watchEnds() throws {
        let connection = try TestConnection()
        let gone = GoneCounter()
        try connection.send("POST /sessions HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        connection.channel.triggerUserOutboundEvent(WatchClient { gone.count() }, promise: nil)
        try connection.respond()
        connection.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(gone.value == 0)
    }
}

extension ConnectionTests {
    @Test("A request answered before its body ended leaves the connection under the idle timeout")
    func answeredBeforeBody() throws {
        let connection = try TestConnection()
        try connection.send("POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
        try connection.respond(.notFound)
        try connection.send("hello")
        connection.advance(.seconds(59))
        #expect(connection.isOpen)
        connection.advance(.seconds(1))
        #expect(!connection.isOpen)
    }

    @Test("No 100 Continue while a pipelined request waits behind the one being answered")
    func noContinueWhenPipelined() throws {
        let connection = try TestConnection()
        try connection.send(
            "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
                + "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        connection.channel.triggerUserOutboundEvent(ExpectContinue(), promise: nil)
        #expect(try connection.written().isEmpty)
    }

    @Test("A client that leaves its responses unread is cut at the body timeout")
    func unreadResponses() throws {
        let connection = try TestConnection()
        try connection.send("GET /openapi.json HTTP/1.1\r\nHost: a\r\n\r\n")
        connection.channel.isWritable = false
        connection.channel.pipeline.fireChannelWritabilityChanged()
        connection.advance(.seconds(9))
        #expect(connection.isOpen)
        connection.advance(.seconds(1))
        #expect(!connection.isOpen)
    }

    @Test("Output that drains in time keeps the connection")
    func drainedOutput() throws {
        let connection = try TestConnection()
        try connection.send("GET /openapi.json HTTP/1.1\r\nHost: a\r\n\r\n")
        connection.channel.isWritable = false
        connection.channel.pipeline.fireChannelWritabilityChanged()
        connection.advance(.seconds(5))
        connection.channel.isWritable = true
        connection.channel.pipeline.fireChannelWritabilityChanged()
        connection.advance(.seconds(30))
        #expect(connection.isOpen)
    }
}

/// Counts calls, from any thread.
private final class GoneCounter: Sendable {
    private let calls = Mutex(0)
    func count() { calls.withLock { $0 += 1 } }
    var value: Int { calls.withLock { $0 } }
}

@Suite("Host values (RFC 9112 3.2, RFC 3986 3.2.2)")
struct HostValueTests {
    @Test(
        "Valid hosts",
        arguments: [
            "", "localhost", "example.com", "127.0.0.1:5000", "[::1]:8080", "[::1]", "a-b.c_d~e", "example.com:",
            "xn--bcher-kva.example", "%41.example",
        ])
    func valid(host: String) {
        #expect(HTTP1RequestRules.isValidHost(host))
    }

    @Test(
        "Invalid hosts",
        arguments: [
            "exa mple.com", "a/b", "host:port:extra", "[::1", "example.com:80x", "a,b", "a@b", "[]", "[::1]x", "%4",
            "%zz.example", "a\tb", "bücher.example",
        ])
    func invalid(host: String) {
        #expect(!HTTP1RequestRules.isValidHost(host))
    }
}
