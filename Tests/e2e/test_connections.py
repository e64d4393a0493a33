"""Connections end to end, over raw sockets: how long the server waits for a client, and HTTP/1.1
as RFC 9110 and RFC 9112 say.

Timeouts (whole seconds): HTTP_HEADER_TIMEOUT bounds the time from a request's first byte (or
from the connection's opening) to the end of its headers, however slowly the bytes drip in;
HTTP_BODY_TIMEOUT bounds the gap between two reads of a body; HTTP_IDLE_TIMEOUT bounds the
silence between a response and the next request; SHUTDOWN_TIMEOUT bounds how long SIGTERM waits
for requests still running. Idle and half-sent connections beyond the open-files limit do not
keep the server from answering for long, and invalid values stop start-up.

HTTP/1.1: persistence (HTTP/1.0 closes unless it asks for keep-alive, `Connection: close`
closes), `Expect: 100-continue` (a 100 before the body, or the final answer at once when the
headers decide it), and the Host header (required once, and well formed, in HTTP/1.1).

Every wait is bounded: a server that hangs fails the test instead of blocking it.
"""

import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import time

import pytest
import requests

from latchkey_helpers import BINARY, refusal

FAST = {"BCRYPT_COST": "4"}
TIMEOUTS = ("HTTP_HEADER_TIMEOUT", "HTTP_BODY_TIMEOUT", "HTTP_IDLE_TIMEOUT", "SHUTDOWN_TIMEOUT")
# What a slow machine may add to any wait before the server acts. Only ever added to an upper
# bound, and kept under the 10 s that the default header and body timeouts would take to close a
# connection a server wrongly kept waiting (the timeouts these tests lengthen are 30 s or more).
SLACK = 8
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


# Raw connections.


def request(method, path, version="HTTP/1.1", headers=()):
    """The bytes of a request head: its line, `headers` as given (nothing added), a blank line."""
    lines = [f"{method} {path} {version}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def form_head(method, path, length, extra=()):
    """The head of a form POST with `Content-Length: length`."""
    return request(method, path, headers=["Host: localhost", "Content-Type: application/x-www-form-urlencoded",
                                          f"Content-Length: {length}", *extra])


class Response:
    def __init__(self, version, status, headers, body):
        self.version = version
        self.status = status
        # (lower-case name, value) pairs, as sent.
        self.headers = headers
        self.body = body

    def header(self, name):
        values = [value for key, value in self.headers if key == name.lower()]
        return ", ".join(values) if values else None

    def connection_tokens(self):
        return {token.strip().lower() for token in (self.header("connection") or "").split(",") if token.strip()}

    def __repr__(self):
        return f"{self.version} {self.status} {self.headers} {self.body[:300]!r}"


class Connection:
    """A TCP connection to the server that reads responses as sent, bytes kept between reads."""

    def __init__(self, server, timeout=5):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline, what):
        """Reads what has come; False when the server has closed the connection."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {what} in time; received so far: {self.buffer[:500]!r}")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise AssertionError(f"no {what} in time; received so far: {self.buffer[:500]!r}") from None
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        self.buffer += chunk
        return bool(chunk)

    def _need(self, deadline, what):
        if not self._fill(deadline, what):
            raise AssertionError(f"connection closed before a whole {what}; received: {self.buffer[:500]!r}")

    def _take(self, count, deadline, what):
        while len(self.buffer) < count:
            self._need(deadline, what)
        taken, self.buffer = self.buffer[:count], self.buffer[count:]
        return taken

    def _line(self, deadline, what):
        while b"\r\n" not in self.buffer:
            self._need(deadline, what)
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def response(self, timeout=5):
        """The next response (an interim 1xx one included), within `timeout` seconds; fails the
        test if it does not come whole in time."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buffer:
            self._need(deadline, "response head")
        raw_head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = raw_head.decode("latin-1").split("\r\n")
        version, status = status_line.split(" ", 2)[:2]
        headers = []
        for line in lines:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        response = Response(version, int(status), headers, b"")
        if response.status < 200 or response.status in (204, 304):
            return response
        if "chunked" in (response.header("transfer-encoding") or "").lower():
            body = b""
            while True:
                size = int(self._line(deadline, "chunk size").split(b";")[0], 16)
                if size == 0:
                    while self._line(deadline, "trailer"):
                        pass
                    break
                body += self._take(size, deadline, "chunk")
                self._take(2, deadline, "chunk end")
            response.body = body
        elif response.header("content-length") is not None:
            response.body = self._take(int(response.header("content-length")), deadline, "response body")
        else:
            # Delimited by the end of the connection.
            while self._fill(deadline, "end of a close-delimited body"):
                pass
            response.body, self.buffer = self.buffer, b""
        return response

    def closed_within(self, seconds):
        """Reads (and drops) whatever comes until the server closes the connection; True when it
        closes within `seconds`."""
        return closed_within(self.sock, seconds)


def closed_within(sock, seconds):
    """True when the server closes `sock` within `seconds` (anything it sends first is dropped)."""
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True


def drip(sock, piece, since, every=0.5, seconds=10.0):
    """Sends `piece` every `every` seconds until the server closes the connection; returns the
    seconds from `since` to the close, or None when it is still open after `seconds`."""
    while time.monotonic() - since < seconds:
        try:
            sock.sendall(piece)
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - since
        if closed_within(sock, every):
            return time.monotonic() - since
    return None


# Part 1: timeouts.


def test_a_silent_connection_is_closed_after_the_header_timeout(start_server):
    """A connection that never sends a byte is closed HTTP_HEADER_TIMEOUT after it opens (not the
    much longer idle timeout), and not before."""
    server = start_server({**FAST, "HTTP_HEADER_TIMEOUT": "2", "HTTP_IDLE_TIMEOUT": "30"})
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    opened = time.monotonic()
    with sock:
        assert not closed_within(sock, 1.0), "closed before the header timeout"
        assert closed_within(sock, 2 + SLACK - (time.monotonic() - opened)), \
            "a silent connection is still open long after HTTP_HEADER_TIMEOUT=2"


def test_dripped_headers_do_not_hold_the_connection_past_the_header_timeout(start_server):
    """A request line, then one header line every 0.5 s and never the blank line: the connection
    is closed about HTTP_HEADER_TIMEOUT after the first byte, although bytes keep arriving."""
    server = start_server({**FAST, "HTTP_HEADER_TIMEOUT": "2", "HTTP_IDLE_TIMEOUT": "30"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        first = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        elapsed = drip(sock, b"X-A: b\r\n", first, seconds=2 + SLACK + 1)
        assert elapsed is not None and elapsed <= 2 + SLACK, \
            f"headers dripped for {time.monotonic() - first:.1f} s with HTTP_HEADER_TIMEOUT=2"
        assert elapsed >= 1, f"closed after {elapsed:.1f} s, before the header timeout"


def test_the_header_timeout_applies_to_the_next_request_on_a_kept_alive_connection(start_server):
    """After one whole request and response on a kept-alive connection, a second request whose
    headers drip in is cut HTTP_HEADER_TIMEOUT after its first bytes, long before the idle
    timeout."""
    server = start_server({**FAST, "HTTP_HEADER_TIMEOUT": "2", "HTTP_IDLE_TIMEOUT": "30"})
    with Connection(server) as connection:
        connection.send(HEALTHZ)
        assert connection.response().status == 200
        time.sleep(0.5)
        first = time.monotonic()
        connection.send(b"GET /healthz HTTP/1.1\r\n")
        elapsed = drip(connection.sock, b"X-A: b\r\n", first, seconds=2 + SLACK + 1)
        assert elapsed is not None and elapsed <= 2 + SLACK, \
            f"a second request's headers dripped for {time.monotonic() - first:.1f} s, HTTP_HEADER_TIMEOUT=2"


def test_a_stalled_body_is_cut_but_a_slow_steady_one_is_answered(start_server):
    """A body that stops arriving is cut HTTP_BODY_TIMEOUT after its last bytes; a body sent one
    byte every 0.5 s for longer than that timeout in all is read whole and answered: the gap
    between reads counts, not the total."""
    server = start_server({**FAST, "HTTP_BODY_TIMEOUT": "2", "HTTP_HEADER_TIMEOUT": "30", "HTTP_IDLE_TIMEOUT": "30"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(form_head("POST", "/sessions", 100) + b"email=a%40b")
        last = time.monotonic()
        assert closed_within(sock, 2 + SLACK), "a body stalled after 10 of 100 bytes is still read after " \
            f"{time.monotonic() - last:.1f} s with HTTP_BODY_TIMEOUT=2"

    body = b"email=slow-body%40example.com&password=b4l0u-slow-body"
    with Connection(server) as connection:
        connection.send(form_head("POST", "/users", len(body)))
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < 4:
            connection.send(body[sent:sent + 1])
            sent += 1
            time.sleep(0.5)
        connection.send(body[sent:])
        response = connection.response()
        assert response.status == 200, response
        assert json.loads(response.body) == {"email": "slow-body@example.com", "message": "user created"}


def test_the_idle_timeout_governs_the_gap_after_a_response(start_server):
    """After a response, the silence before the next request is bounded by HTTP_IDLE_TIMEOUT, not
    by the shorter HTTP_HEADER_TIMEOUT: a second request 2 s later is answered; a connection left
    idle is then closed within the idle timeout."""
    server = start_server({**FAST, "HTTP_IDLE_TIMEOUT": "5", "HTTP_HEADER_TIMEOUT": "1"})
    with Connection(server) as connection:
        connection.send(HEALTHZ)
        assert connection.response().status == 200
        assert not connection.closed_within(2), "closed 2 s after a response with HTTP_IDLE_TIMEOUT=5"
        connection.send(HEALTHZ)
        assert connection.response().status == 200
        answered = time.monotonic()
        assert connection.closed_within(5 + SLACK), \
            f"still open {time.monotonic() - answered:.1f} s after a response with HTTP_IDLE_TIMEOUT=5"


def response_complete(data):
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True


@pytest.mark.slow
def test_idle_connections_beyond_the_open_files_limit_do_not_lock_the_server_out(start_server):
    """1,100 connections held open against a server limited to 1,024 open files, half of them
    idle after one answered request and half silent: the timeouts free the server's descriptors,
    so that within 60 s a fresh GET /healthz is answered while every one of those sockets is
    still held; SIGTERM then stops the server cleanly."""
    if not shutil.which("prlimit"):
        pytest.skip("prlimit is not installed")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2500:
        pytest.skip(f"the open-files hard limit ({hard}) is too low for 1,100 client sockets")
    raised = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, raised), hard))
    server = start_server({**FAST, "HTTP_HEADER_TIMEOUT": "3", "HTTP_IDLE_TIMEOUT": "3"},
                          prefix=["prlimit", "--nofile=1024:1024"])
    sockets = []
    selector = selectors.DefaultSelector()
    try:
        with open(f"/proc/{server.process.pid}/limits") as limits:
            line = next(line for line in limits if line.startswith("Max open files"))
        assert line.split()[3:5] == ["1024", "1024"], line

        talkers = {}
        answered = 0

        def service(seconds):
            """Talkers send their request once connected and read its answer, for `seconds`."""
            nonlocal answered
            until = time.monotonic() + seconds
            while (remaining := until - time.monotonic()) > 0:
                for key, events in selector.select(timeout=min(remaining, 0.2)):
                    sock = key.fileobj
                    if events & selectors.EVENT_WRITE:
                        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                            selector.unregister(sock)
                            continue
                        try:
                            sock.send(HEALTHZ)
                        except OSError:
                            selector.unregister(sock)
                            continue
                        selector.modify(sock, selectors.EVENT_READ)
                        continue
                    try:
                        chunk = sock.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        chunk = b""
                    talkers[sock] += chunk
                    if not chunk or response_complete(talkers[sock]):
                        selector.unregister(sock)
                        if chunk and talkers[sock].startswith(b"HTTP/1.1 200"):
                            answered += 1

        # In batches, so that the connections reach the server rather than overflow its listen
        # queue (whose overflow a client does not see): once the server is out of descriptors,
        # the rest wait in that queue.
        for index in range(1100):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", server.port))
            sockets.append(sock)
            if index % 2 == 0:
                talkers[sock] = b""
                selector.register(sock, selectors.EVENT_WRITE)
            if index % 50 == 49:
                service(0.05)
        opened = time.monotonic()

        probes = []
        # The first probe once the server has had time to accept all it can: a probe sent at once
        # could slip in before the limit is reached.
        next_probe = opened + 1.5
        most_descriptors = 0
        healthy = False
        # The 3 s timeouts free descriptors again and again; how soon a probe gets one depends on
        # how fast a busy machine works through the queue, so the budget is wide. A server locked
        # out never answers.
        budget = 60
        while time.monotonic() - opened < budget:
            service(0.2)
            try:
                most_descriptors = max(most_descriptors, len(os.listdir(f"/proc/{server.process.pid}/fd")))
            except OSError:
                pass
            if time.monotonic() >= next_probe:
                try:
                    status = requests.get(server.url + "/healthz", timeout=2).status_code
                except requests.RequestException as error:
                    status = type(error).__name__
                probes.append((round(time.monotonic() - opened, 1), status))
                if status == 200:
                    healthy = True
                    break
                next_probe = time.monotonic() + 0.5
        assert server.process.poll() is None, server.output()[-2000:]
        assert healthy, f"no 200 from GET /healthz within {budget} s while 1,100 connections were held: {probes} " \
                        f"(at most {most_descriptors} descriptors open in the server)"
        assert answered > 0, "none of the connections that sent a request got an answer"
    finally:
        selector.close()
        for sock in sockets:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert server.stop() == 0, server.output()[-2000:]


def test_sigterm_does_not_wait_for_a_stalled_body_past_the_shutdown_timeout(start_server):
    """SIGTERM while a request's body has stalled (its own timeout far away): the process exits 0
    within SHUTDOWN_TIMEOUT instead of waiting for the body."""
    server = start_server({**FAST, "SHUTDOWN_TIMEOUT": "2", "HTTP_BODY_TIMEOUT": "60", "HTTP_HEADER_TIMEOUT": "60"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(form_head("POST", "/users", 100) + b"email=a%40b")
        time.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        # SHUTDOWN_TIMEOUT and 10 s of room for a busy machine: far under the 60 s the body could
        # take, and under the default SHUTDOWN_TIMEOUT (15 s) too, should the setting go unread.
        try:
            code = server.process.wait(timeout=2 + 10)
        except subprocess.TimeoutExpired:
            pytest.fail("still running 12 s after SIGTERM with SHUTDOWN_TIMEOUT=2 and a stalled body")
        assert code == 0, server.output()
        assert time.monotonic() - signalled <= 2 + 10


def test_sigterm_with_only_idle_connections_exits_promptly(start_server):
    """SIGTERM while the only open connections are idle after their responses: nothing is
    running, so the process exits 0 at once, without waiting for SHUTDOWN_TIMEOUT (30 s)."""
    server = start_server({**FAST, "SHUTDOWN_TIMEOUT": "30", "HTTP_IDLE_TIMEOUT": "60"})
    connections = []
    try:
        for _ in range(3):
            connection = Connection(server)
            connections.append(connection)
            connection.send(HEALTHZ)
            assert connection.response().status == 200
        server.process.send_signal(signal.SIGTERM)
        # Room for a busy machine, and still under the 30 s of SHUTDOWN_TIMEOUT that waiting for the
        # idle connections would take.
        try:
            code = server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("still running 20 s after SIGTERM with only idle keep-alive connections open")
        assert code == 0, server.output()
    finally:
        for connection in connections:
            connection.close()
        assert server.stop() == 0, server.output()


@pytest.mark.parametrize("name, value", [
    ("HTTP_HEADER_TIMEOUT", "0"), ("HTTP_HEADER_TIMEOUT", "abc"), ("HTTP_HEADER_TIMEOUT", "-1"),
    ("HTTP_BODY_TIMEOUT", "abc"), ("HTTP_BODY_TIMEOUT", "-1"),
    ("HTTP_IDLE_TIMEOUT", "abc"), ("HTTP_IDLE_TIMEOUT", "-1"),
    ("SHUTDOWN_TIMEOUT", "abc"), ("SHUTDOWN_TIMEOUT", "-1"),
])
def test_an_invalid_timeout_stops_start_up(name, value):
    """A timeout that is not a positive whole number of seconds stops start-up with one line that
    names the setting."""
    assert name in refusal({**FAST, name: value})


def test_the_timeouts_are_listed_settings():
    """`latchkey settings --list` names the four timeouts."""
    result = subprocess.run([BINARY, "settings", "--list"], env={"PATH": os.environ.get("PATH", "")},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert set(TIMEOUTS) <= set(result.stdout.splitlines()), result.stdout


# Part 2: HTTP/1.1 as RFC 9110 and RFC 9112 say.


@pytest.fixture(scope="module")
def http_server(start_module_server):
    return start_module_server({**FAST, "HTTP_IDLE_TIMEOUT": "60"})


def test_http_1_0_closes_after_its_response(http_server):
    """An HTTP/1.0 request without `Connection: keep-alive` gets its whole response, marked
    `Connection: close`, and the server then closes the connection (the idle timeout is 60 s)."""
    with Connection(http_server) as connection:
        connection.send(request("GET", "/healthz", "HTTP/1.0"))
        response = connection.response()
        assert response.status == 200, response
        assert "close" in response.connection_tokens(), response
        assert connection.closed_within(SLACK), "an HTTP/1.0 connection stayed open after its response"


def test_http_1_0_keep_alive_keeps_the_connection(http_server):
    """An HTTP/1.0 request with `Connection: keep-alive` gets `Connection: keep-alive` back, and a
    second such request on the same connection is answered."""
    with Connection(http_server) as connection:
        for _ in range(2):
            connection.send(request("GET", "/healthz", "HTTP/1.0", ["Connection: keep-alive"]))
            response = connection.response()
            assert response.status == 200, response
            assert "keep-alive" in response.connection_tokens(), response
            assert "close" not in response.connection_tokens(), response


def test_connection_close_closes_after_the_response(http_server):
    """An HTTP/1.1 request with `Connection: close` gets `Connection: close` back, and the server
    closes the connection after the response."""
    with Connection(http_server) as connection:
        connection.send(request("GET", "/healthz", headers=["Host: localhost", "Connection: close"]))
        response = connection.response()
        assert response.status == 200, response
        assert "close" in response.connection_tokens(), response
        assert connection.closed_within(SLACK), "the connection stayed open after `Connection: close`"


def test_expect_100_continue_gets_a_100_before_the_body(http_server):
    """`Expect: 100-continue` on a POST the headers allow: `100 Continue` comes before any byte of
    the body is sent, then the body gets its final answer."""
    body = b"email=continue%40example.com&password=b4l0u-continue"
    with Connection(http_server) as connection:
        connection.send(form_head("POST", "/users", len(body), ["Expect: 100-continue"]))
        # Under the 10 s body timeout, at which a server waiting for the body would give up.
        interim = connection.response(timeout=8)
        assert interim.status == 100 and interim.version == "HTTP/1.1", interim
        connection.send(body)
        final = connection.response()
        assert final.status == 200, final
        assert json.loads(final.body) == {"email": "continue@example.com", "message": "user created"}


@pytest.mark.parametrize("method, path, extra, length, status", [
    ("POST", "/users", ["Content-Type: text/plain"], 30, 415),
    ("POST", "/users", ["Content-Type: application/x-www-form-urlencoded"], 10000000, 413),
    ("POST", "/no-such-route", ["Content-Type: application/x-www-form-urlencoded"], 30, 404),
    ("PATCH", "/users", ["Content-Type: application/x-www-form-urlencoded"], 30, 405),
    ("POST", "/users", ["Content-Type: application/x-www-form-urlencoded", "Content-Encoding: gzip"], 30, 415),
], ids=["text-plain", "too-large", "no-route", "method", "gzip"])
def test_expect_100_continue_gets_the_final_answer_at_once_when_the_headers_decide(
        http_server, method, path, extra, length, status):
    """`Expect: 100-continue` on a request its headers already refuse: the final status comes at
    once, with no 100 first and no body ever sent, and the server does not then wait for a body
    (it closes, or says `Connection: close`)."""
    head = request(method, path, headers=["Host: localhost", *extra, f"Content-Length: {length}",
                                          "Expect: 100-continue"])
    with Connection(http_server) as connection:
        connection.send(head)
        sent = time.monotonic()
        # Both bounds count from the head's sending, so that they stay under the 10 s body timeout
        # at which a server that waited for a body would act, however late the answer came.
        response = connection.response(timeout=SLACK)
        assert response.status == status, response
        assert "close" in response.connection_tokens() or connection.closed_within(sent + SLACK - time.monotonic()), \
            f"kept the connection open, waiting for a body, after {response}"


def test_curl_does_not_wait_for_its_expect_timeout(http_server):
    """curl with `Expect: 100-continue` and a 10 s expect timeout gets its 200 at once: the server
    sends the 100 rather than let curl wait out its timeout."""
    curl = shutil.which("curl")
    if not curl:
        pytest.skip("curl is not installed")
    started = time.monotonic()
    result = subprocess.run(
        [curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "--expect100-timeout", "10", "-H",
         "Expect: 100-continue", "-d", "email=curl-continue@example.com&password=pw12345", http_server.url + "/users"],
        capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - started
    assert result.stdout == "200", (result.stdout, result.stderr)
    # Room for a busy machine to run curl, under the 10 s that waiting out its expect timeout takes.
    assert elapsed <= 9, f"curl took {elapsed:.1f} s: it waited for a 100 Continue that never came"


def host_answer(server, head):
    """Sends `head`; returns the response and whether the server closed the connection after it."""
    with Connection(server) as connection:
        connection.send(head)
        response = connection.response()
        return response, connection.closed_within(SLACK)


def test_an_http_1_1_request_without_host_is_a_400(http_server):
    """RFC 9112 3.2: an HTTP/1.1 request without Host is a 400 with a JSON message, and the
    connection is closed."""
    response, closed = host_answer(http_server, request("GET", "/healthz"))
    assert response.status == 400, response
    assert response.header("content-type").startswith("application/json"), response
    message = json.loads(response.body)["message"]
    assert isinstance(message, str) and message.strip(), response
    assert closed, "the connection stayed open after a 400 for Host"


@pytest.mark.parametrize("hosts", [
    ["localhost", "localhost"], ["localhost", "example.com"],
    ["exa mple.com"], ["a/b"], ["host:port:extra"], ["[::1"], ["example.com:80x"],
], ids=["twice-same", "twice-different", "space", "slash", "two-colons", "open-bracket", "bad-port"])
def test_two_or_invalid_host_headers_are_a_400(http_server, hosts):
    """RFC 9112 3.2: Host twice, or a Host value that is no `host[:port]`, is a 400, and the
    connection is closed."""
    response, closed = host_answer(http_server, request("GET", "/healthz", headers=[f"Host: {h}" for h in hosts]))
    assert response.status == 400, response
    assert closed, f"the connection stayed open after a 400 for Host {hosts}"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:5000", "[::1]:8080", "example.com"])
def test_a_valid_host_is_answered(http_server, host):
    """A well-formed Host, whatever name or port it gives, gets the normal answer."""
    response, _ = host_answer(http_server, request("GET", "/healthz", headers=[f"Host: {host}", "Connection: close"]))
    assert response.status == 200, response


def test_http_1_0_without_host_is_answered(http_server):
    """HTTP/1.0 has no Host requirement: a request without one gets the normal answer."""
    response, _ = host_answer(http_server, request("GET", "/healthz", "HTTP/1.0"))
    assert response.status == 200, response


# A half-close is not a cancellation (RFC 9112 9.6; httpwg/http-core #22).


def read_to_close(sock, seconds=30):
    sock.settimeout(seconds)
    received = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return received
        received += chunk


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_a_login_followed_by_a_half_close_is_answered(http_server, version):
    """A client sends a whole login and shuts down its sending side: it still gets the answer and
    the session (HTTP/1.1 after an unsolicited 100 Continue, which tells the server it still
    reads), never a 499."""
    email = f"half-{version[-1]}@example.com"
    requests.post(http_server.url + "/users", data={"email": email, "password": "b4l0u-half"})
    body = f"email={email.replace('@', '%40')}&password=b4l0u-half".encode()
    with socket.create_connection(("127.0.0.1", http_server.port), timeout=10) as sock:
        sock.sendall(form_head("POST", "/sessions", len(body)).replace(b"HTTP/1.1", version.encode(), 1) + body)
        sock.shutdown(socket.SHUT_WR)
        received = read_to_close(sock)
    text = received.decode("latin-1")
    if version == "HTTP/1.1":
        assert text.startswith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), text[:300]
    else:
        assert text.startswith("HTTP/1.1 200 OK\r\n"), text[:300]
    assert " 499 " not in text
    cookie = re.search(r"(?im)^set-cookie: session_id=([^;]+);", text).group(1)
    assert requests.get(http_server.url + "/profile", cookies={"session_id": cookie}).json() == {"email": email}

