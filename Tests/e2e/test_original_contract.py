"""The original's clients, unchanged: the same flows against the original service's design
(`original_service.py`, Flask 3 on Werkzeug's server) and against Latchkey, compared on what a
client of the original can see: status, reason phrase, `Content-Type`, `Location`, `Set-Cookie` and
the body as parsed JSON (tokens masked). Status lines are read raw, with `http.client`.

Where decision 0010 lists a difference, the test asserts that difference instead of equality; every
other answer must be the same. The development profile is the original's contract; the tests at the
end cover what the production profile changes.
"""

import http.client
import json
import re
import socket
import urllib.parse
import uuid

import pytest
import werkzeug.http

from latchkey_helpers import OUTBOX_KEY, PRODUCTION_BASE, PRODUCTION_COOKIE
from original_service import OriginalServer

HTML = "text/html; charset=utf-8"
# The cookie Latchkey sets at login in development, and the one that clears it (0010).
LOGIN_COOKIE = re.compile(r"session_id=([A-Za-z0-9_-]{43}); Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax")
CLEARING_COOKIE = "session_id=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
# The original's session ids and reset tokens are UUIDs.
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


class Answer:
    """One response as a client of the original sees it."""

    def __init__(self, response, raw):
        self.status = response.status
        self.reason = response.reason
        self.content_type = response.getheader("Content-Type")
        self.location = response.getheader("Location")
        self.cookies = response.headers.get_all("Set-Cookie") or []
        self.headers_allow = response.getheader("Allow") or ""
        self.raw = raw
        self.body = json.loads(raw) if self.content_type == "application/json" else raw.decode()

    def __repr__(self):
        return (f"{self.status} {self.reason} {self.content_type} location={self.location} "
                f"cookies={self.cookies} body={self.body!r}")


def call(port, method, path, fields=None, cookie=None, cookie_name="session_id", headers=None):
    """Sends one request on a new connection: fields as a form, the session cookie if given."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent = dict(headers or {})
    body = None
    if fields is not None:
        body = urllib.parse.urlencode(fields)
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    if cookie is not None:
        sent["Cookie"] = f"{cookie_name}={cookie}"
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return Answer(response, response.read())
    finally:
        connection.close()


def reason(code):
    """The phrase Werkzeug 3.1 writes on the status line for `code`."""
    return werkzeug.http.HTTP_STATUS_CODES[code].upper()


class Pair:
    """The original and Latchkey, driven in step. Each step returns the two answers after checking
    them: equal, but for the differences 0010 lists, which are asserted."""

    def __init__(self, original, latchkey):
        self.original = original
        self.latchkey = latchkey

    def step(self, method, path, fields=None, cookies=(None, None), same=True):
        return self.both(method, path, (fields, fields), cookies, same)

    def both(self, method, path, fields, cookies=(None, None), same=True):
        """One request to each, with fields (and cookies) of its own."""
        original = call(self.original.port, method, path, fields[0], cookies[0])
        latchkey = call(self.latchkey.port, method, path, fields[1], cookies[1])
        # Every final status line carries Werkzeug's phrase, on both.
        assert original.reason == reason(original.status), original
        assert latchkey.reason == reason(latchkey.status), latchkey
        if same:
            assert_same(original, latchkey)
        return original, latchkey

    # The original's flows, each step compared.

    def register(self, email, password):
        return self.step("POST", "/users", {"email": email, "password": password})

    def log_in(self, email, password):
        original, latchkey = self.step("POST", "/sessions", {"email": email, "password": password})
        return (session_of(original, latchkey) if original.status == 200 else (None, None))

    def profile(self, cookies):
        return self.step("GET", "/profile", cookies=cookies)

    def log_out(self, cookies):
        return self.step("DELETE", "/sessions", cookies=cookies)

    def reset_token(self, email):
        original, latchkey = self.step("POST", "/reset_password", {"email": email})
        if original.status != 200:
            return None, None
        return original.body["reset_token"], latchkey.body["reset_token"]

    def update_password(self, email, tokens, new_password, same=True):
        fields = [{"email": email, "reset_token": token, "new_password": new_password} for token in tokens]
        return self.both("PUT", "/reset_password", fields, same=same)


def session_of(original, latchkey):
    """The session ids the two login answers set."""
    assert len(original.cookies) == 1 and len(latchkey.cookies) == 1
    found = re.fullmatch(r"session_id=([^;]+); Path=/", original.cookies[0])
    assert found and UUID.fullmatch(found.group(1)), original.cookies
    mine = LOGIN_COOKIE.fullmatch(latchkey.cookies[0])
    assert mine, latchkey.cookies
    return found.group(1), mine.group(1)


def assert_same(original, latchkey):
    """Equal as a client of the original sees them, but for what 0010 lists as always different:
    JSON error bodies instead of HTML pages; the login cookie's attributes and 43-character
    tokens; a logout (done or refused) that clears the cookie; reset tokens' form (masked)."""
    assert (original.status, original.reason) == (latchkey.status, latchkey.reason), (original, latchkey)
    assert original.location == latchkey.location
    if original.status >= 400 and original.content_type == HTML:
        # abort(): Werkzeug's HTML error page; Latchkey answers {"message": ...} as JSON.
        assert latchkey.content_type == "application/json", latchkey
        assert set(latchkey.body) == {"message"} and latchkey.body["message"], latchkey
    else:
        assert original.content_type == latchkey.content_type, (original, latchkey)
        assert mask(original.body) == mask(latchkey.body), (original, latchkey)
    if original.status == 200 and original.cookies:
        session_of(original, latchkey)
    elif latchkey.status in (302, 403) and original.cookies == [] and latchkey.cookies:
        # A logout, done or refused, clears the cookie on Latchkey; the original left it.
        assert latchkey.cookies == [CLEARING_COOKIE], latchkey
    else:
        assert original.cookies == latchkey.cookies, (original, latchkey)


def mask(body):
    """The body with its reset token replaced by its form: a UUID on the original, 43 characters of
    base64url on Latchkey."""
    if isinstance(body, dict) and "reset_token" in body:
        token = body["reset_token"]
        assert UUID.fullmatch(token) or re.fullmatch(r"[A-Za-z0-9_-]{43}", token), token
        return {**body, "reset_token": "<token>"}
    return body


@pytest.fixture(scope="module")
def pair(start_module_server):
    original = OriginalServer()
    yield Pair(original, start_module_server({"BCRYPT_COST": "4"}))
    original.stop()


def fresh(name):
    """A new canonical address, so that the tests sharing the two servers never meet."""
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


# The flows, in the orders clients use them.


def test_the_original_script(pair):
    email = fresh("guillaume")
    pair.register(email, "b4l0u")
    pair.log_in(email, "t4rt1fl3tt3")
    pair.profile((None, None))
    cookies = pair.log_in(email, "b4l0u")
    original, latchkey = pair.profile(cookies)
    assert latchkey.body == {"email": email}
    original, latchkey = pair.log_out(cookies)
    assert (latchkey.status, latchkey.location, latchkey.content_type) == (302, "/", HTML)
    assert latchkey.raw == original.raw  # Werkzeug's redirect page, byte for byte
    pair.profile(cookies)
    tokens = pair.reset_token(email)
    pair.update_password(email, tokens, "t4rt1fl3tt3")
    pair.log_in(email, "t4rt1fl3tt3")
    pair.log_in(email, "b4l0u")
    original, latchkey = pair.step("GET", "/")
    assert latchkey.body == {"message": "Bienvenue"}


def test_a_reset_before_logging_out_keeps_the_session(pair):
    email = fresh("before")
    pair.register(email, "b4l0u")
    cookies = pair.log_in(email, "b4l0u")
    tokens = pair.reset_token(email)
    pair.update_password(email, tokens, "t4rt1fl3tt3")
    original, latchkey = pair.profile(cookies)
    assert latchkey.status == 200 and latchkey.body == {"email": email}
    original, latchkey = pair.log_out(cookies)
    assert latchkey.status == 302
    original, latchkey = pair.log_out(cookies)
    assert latchkey.status == 403
    pair.log_in(email, "b4l0u")
    pair.log_in(email, "t4rt1fl3tt3")
    # The token was spent.
    original, latchkey = pair.update_password(email, tokens, "an0ther")
    assert latchkey.status == 403


def test_a_reset_after_logging_out(pair):
    email = fresh("after")
    pair.register(email, "b4l0u")
    cookies = pair.log_in(email, "b4l0u")
    pair.log_out(cookies)
    tokens = pair.reset_token(email)
    pair.update_password(email, tokens, "t4rt1fl3tt3")
    pair.profile(cookies)
    new_cookies = pair.log_in(email, "t4rt1fl3tt3")
    pair.profile(new_cookies)


def test_a_newer_reset_token_replaces_the_older(pair):
    email = fresh("twice")
    pair.register(email, "b4l0u")
    first = pair.reset_token(email)
    second = pair.reset_token(email)
    original, latchkey = pair.update_password(email, first, "t4rt1fl3tt3")
    assert latchkey.status == 403
    original, latchkey = pair.update_password(email, second, "t4rt1fl3tt3")
    assert latchkey.status == 200 and latchkey.body == {"email": email, "message": "Password updated"}


def test_a_wrong_password_before_and_after_registration(pair):
    email = fresh("early")
    pair.log_in(email, "b4l0u")
    pair.reset_token(email)
    pair.register(email, "b4l0u")
    pair.log_in(email, "wrong")
    original, latchkey = pair.register(email, "again")
    assert latchkey.status == 400 and latchkey.body == {"message": "email already registered"}
    cookies = pair.log_in(email, "b4l0u")
    pair.profile(cookies)


def test_repeated_logouts(pair):
    email = fresh("repeat")
    pair.register(email, "b4l0u")
    cookies = pair.log_in(email, "b4l0u")
    pair.log_out(cookies)
    pair.log_out(cookies)
    original, latchkey = pair.log_out((None, None))
    assert latchkey.status == 403 and latchkey.cookies == [CLEARING_COOKIE]
    pair.log_out(("not-a-session", "not-a-session"))
    pair.profile(cookies)


# Addresses that cannot be valid, one of each kind, and one that is valid and unregistered: the
# routes that only look an account up answer them alike, as the original does.
NOT_ADDRESSES = [
    "nope", "", "   ", "a@@example.com", "a b@example.com", "a\u200b@example.com", "a@[127.0.0.1]",
    "a@example.com.", "a@localhost", "x\uff20evil@example.com", "l" * 65 + "@example.com",
]


@pytest.mark.parametrize("email", NOT_ADDRESSES + ["nobody-here@example.com"])
def test_malformed_and_unknown_addresses_on_the_lookup_routes(pair, email):
    original, latchkey = pair.step("POST", "/sessions", {"email": email, "password": "b4l0u"})
    assert latchkey.status == 401 and latchkey.body == {"message": "wrong email or password"}
    original, latchkey = pair.step("POST", "/reset_password", {"email": email})
    assert latchkey.status == 403 and latchkey.body == {"message": "email not registered"}
    original, latchkey = pair.update_password(email, ("t", "t"), "t4rt1fl3tt3")
    assert latchkey.status == 403 and latchkey.body == {"message": "reset token is not valid for this email"}


@pytest.mark.parametrize("email", NOT_ADDRESSES)
def test_registration_refuses_what_cannot_be_an_address(pair, email):
    # Listed in 0010: the original stored any string; Latchkey says why it is not an address.
    original, latchkey = pair.step("POST", "/users", {"email": email, "password": "b4l0u"}, same=False)
    assert (original.status, original.body) == (200, {"email": email, "message": "user created"})
    assert (latchkey.status, latchkey.reason, latchkey.content_type) == (400, "BAD REQUEST", "application/json")
    assert set(latchkey.body) == {"message"} and latchkey.body["message"] != "email already registered"


# The differences 0010 lists, asserted.


def test_one_account_per_canonical_address_echoed_canonical(pair):
    typed = "  Mixed.Case-" + uuid.uuid4().hex[:8] + "@Example.COM "
    canonical = typed.strip().lower()
    original, latchkey = pair.step("POST", "/users", {"email": typed, "password": "b4l0u"}, same=False)
    assert original.body == {"email": typed, "message": "user created"}
    assert latchkey.body == {"email": canonical, "message": "user created"}
    original, latchkey = pair.step("POST", "/sessions", {"email": canonical, "password": "b4l0u"}, same=False)
    assert original.status == 401
    assert latchkey.status == 200 and latchkey.body == {"email": canonical, "message": "logged in"}


def test_an_account_has_many_sessions(pair):
    email = fresh("devices")
    pair.register(email, "b4l0u")
    phone = pair.log_in(email, "b4l0u")
    laptop = pair.log_in(email, "b4l0u")
    # The original keeps one session per account: the second login ended the first.
    original, latchkey = pair.step("GET", "/profile", cookies=phone, same=False)
    assert original.status == 403
    assert latchkey.status == 200 and latchkey.body == {"email": email}
    pair.profile(laptop)


def test_a_reset_token_is_bound_to_its_address(pair):
    ada, bob = fresh("ada"), fresh("bob")
    pair.register(ada, "b4l0u")
    pair.register(bob, "b4l0u")
    tokens = pair.reset_token(ada)
    original, latchkey = pair.update_password(bob, tokens, "t4rt1fl3tt3", same=False)
    assert original.status == 200 and original.body == {"email": bob, "message": "Password updated"}
    assert latchkey.status == 403 and latchkey.body == {"message": "reset token is not valid for this email"}


def test_the_password_policy(pair):
    # Listed in 0010: an empty password is refused; a long one is taken whole (bcrypt 5 refuses
    # over 72 bytes, which the original's registration reported as a taken address).
    email = fresh("empty")
    original, latchkey = pair.step("POST", "/users", {"email": email, "password": ""}, same=False)
    assert original.status == 200
    assert latchkey.status == 400 and latchkey.body == {"message": "password must not be empty"}
    email = fresh("long")
    original, latchkey = pair.step("POST", "/users", {"email": email, "password": "p" * 73}, same=False)
    assert original.status == 400 and original.body == {"message": "email already registered"}
    assert latchkey.status == 200


def test_repeated_and_missing_fields(pair):
    email = fresh("repeat-field")
    pair.register(email, "b4l0u")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # Listed in 0010: a repeated field is a 400, where the original took the first value.
    body = urllib.parse.urlencode([("email", email), ("email", "x@example.com"), ("password", "b4l0u")])
    original = raw_request(pair.original.port, "POST", "/sessions", body, form)
    latchkey = raw_request(pair.latchkey.port, "POST", "/sessions", body, form)
    assert (original.status, original.body) == (200, {"email": email, "message": "logged in"})
    assert (latchkey.status, latchkey.reason) == (400, "BAD REQUEST")
    assert latchkey.body == {"message": "field email must be sent once"}
    # Listed in 0010: a missing field is a 400 naming it, where the original passed None on: a
    # 500 for a registered address, a 401 for another.
    original, latchkey = pair.step("POST", "/sessions", {"email": email}, same=False)
    assert original.status == 500
    assert (latchkey.status, latchkey.body) == (400, {"message": "missing field: password"})
    original, latchkey = pair.step("POST", "/sessions", {"email": fresh("unknown")}, same=False)
    assert (original.status, original.content_type) == (401, HTML)
    assert (latchkey.status, latchkey.body) == (400, {"message": "missing field: password"})
    original, latchkey = pair.step("POST", "/reset_password", {}, same=False)
    assert original.status == 403
    assert (latchkey.status, latchkey.body) == (400, {"message": "missing field: email"})


def test_passwords_compare_after_nfkc(pair):
    # Listed in 0010: a composed and a decomposed é are one password on Latchkey.
    email = fresh("nfkc")
    pair.register(email, "caf\u00e9")
    original, latchkey = pair.step("POST", "/sessions", {"email": email, "password": "cafe\u0301"}, same=False)
    assert original.status == 401
    assert (latchkey.status, latchkey.body) == (200, {"email": email, "message": "logged in"})


@pytest.mark.parametrize("path", ["/", "/users", "/sessions", "/profile", "/reset_password"])
def test_options_is_not_a_route(pair, path):
    # Listed in 0010: Flask answered OPTIONS itself; Latchkey says which methods the path has.
    original = call(pair.original.port, "OPTIONS", path)
    latchkey = call(pair.latchkey.port, "OPTIONS", path)
    assert (original.status, original.raw) == (200, b"")
    assert (latchkey.status, latchkey.reason, latchkey.content_type) == (405, "METHOD NOT ALLOWED", "application/json")
    allowed = lambda answer: {m.strip() for m in answer.headers_allow.split(",")} - {"OPTIONS"}
    assert allowed(latchkey) == allowed(original)


def raw_request(port, method, path, body, headers):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(response, response.read())
    finally:
        connection.close()


def test_latchkey_only_statuses_carry_werkzeugs_phrase_and_exact_json(pair):
    port = pair.latchkey.port
    answers = [
        call(port, "GET", "/nowhere"),
        call(port, "PATCH", "/profile"),
        raw_request(port, "POST", "/users", "email=a", {"Content-Type": "text/plain"}),
        raw_request(port, "POST", "/users", "e=" + "x" * 70_000, {"Content-Type": "application/x-www-form-urlencoded"}),
    ]
    email = fresh("throttled")
    answers += [call(port, "POST", "/sessions", {"email": email, "password": "wrong"}) for _ in range(11)]
    assert [a.status for a in answers[:4]] == [404, 405, 415, 413]
    assert answers[-1].status == 429
    for answer in answers:
        assert answer.reason == reason(answer.status), answer
        assert answer.content_type == "application/json", answer
        assert set(answer.body) == {"message"}


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"POST /users HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 0\r\n\r\n", 417),
])
def test_refusals_before_routing_carry_werkzeugs_phrase_and_exact_json(pair, request_bytes, status):
    with socket.create_connection(("127.0.0.1", pair.latchkey.port), timeout=10) as sock:
        sock.sendall(request_bytes)
        received = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == f"HTTP/1.1 {status} {reason(status)}"
    assert "content-type: application/json" in [line.lower() for line in lines[1:]]
    assert set(json.loads(body)) == {"message"}


# The production profile, where it differs.


def production(extra=None):
    env = {**PRODUCTION_BASE, "BCRYPT_COST": "4", "TOKEN_DELIVERY": "response",
           "ALLOW_RESET_TOKEN_IN_RESPONSE": "true", "EMAIL_VERIFICATION": "off"}
    env.update(extra or {})
    return env


STRONG = "correct horse battery staple"
STRONGER = "staple-42-battery-horse-correct"


def session_across_a_reset(server):
    """Registers, logs in, resets the password; returns the answers to the old session's profile
    and logout."""
    port = server.port
    email = fresh("prod")
    assert call(port, "POST", "/users", {"email": email, "password": STRONG}).status == 200
    login = call(port, "POST", "/sessions", {"email": email, "password": STRONG})
    cookie = re.match(re.escape(PRODUCTION_COOKIE) + r"=([^;]+);", login.cookies[0]).group(1)
    token = call(port, "POST", "/reset_password", {"email": email}).body["reset_token"]
    reset = call(port, "PUT", "/reset_password", {"email": email, "reset_token": token, "new_password": STRONGER})
    assert (reset.status, reset.reason, reset.content_type) == (200, "OK", "application/json")
    profile = call(port, "GET", "/profile", cookie=cookie, cookie_name=PRODUCTION_COOKIE)
    logout = call(port, "DELETE", "/sessions", cookie=cookie, cookie_name=PRODUCTION_COOKIE)
    return profile, logout


def security_line(server):
    lines = [line for line in server.output().splitlines() if "security settings" in line]
    assert len(lines) == 1, lines
    return lines[0]


def test_production_ends_every_session_on_a_reset(start_server):
    server = start_server(production())
    profile, logout = session_across_a_reset(server)
    assert (profile.status, profile.reason, profile.content_type) == (403, "FORBIDDEN", "application/json")
    assert logout.status == 403
    assert server.stop() == 0
    assert "reset_ends_sessions=true" in security_line(server)


def test_production_can_keep_sessions_across_a_reset_with_a_warning(start_server):
    server = start_server(production({"RESET_ENDS_SESSIONS": "false"}))
    profile, logout = session_across_a_reset(server)
    assert (profile.status, profile.content_type) == (200, "application/json")
    assert (logout.status, logout.reason, logout.location) == (302, "FOUND", "/")
    assert server.stop() == 0
    assert "reset_ends_sessions=false (warning: " in security_line(server)


@pytest.mark.parametrize("delivery", ["response", "webhook"])
def test_production_answers_what_cannot_be_an_address_as_unregistered(delivery, start_server):
    extra = {}
    if delivery == "webhook":
        # Nothing is delivered for these addresses: the receiver's port may stay closed.
        extra = {"TOKEN_DELIVERY": "webhook", "ALLOW_RESET_TOKEN_IN_RESPONSE": "false",
                 "WEBHOOK_URL": "http://127.0.0.1:9/hooks", "WEBHOOK_SECRET": "a-webhook-secret-of-some-length",
                 "MFA_ENCRYPTION_KEY": OUTBOX_KEY}
    server = start_server(production(extra))
    for email in NOT_ADDRESSES:
        login = call(server.port, "POST", "/sessions", {"email": email, "password": STRONG})
        assert (login.status, login.body) == (401, {"message": "wrong email or password"}), email
        request = call(server.port, "POST", "/reset_password", {"email": email})
        if delivery == "response":
            assert (request.status, request.body) == (403, {"message": "email not registered"}), email
        else:
            assert request.status == 200, email
            assert request.body == {
                "email": email, "message": "if this email has an account, a reset token is on its way"}
        update = call(server.port, "PUT", "/reset_password",
                      {"email": email, "reset_token": "t", "new_password": STRONGER})
        assert (update.status, update.reason) == (403, "FORBIDDEN"), email
        assert update.body == {"message": "reset token is not valid for this email"}
        for answer in (login, request, update):
            assert answer.content_type == "application/json"
            assert answer.reason == reason(answer.status)
