"""Throttles under bursts, and the HTTP edges, end to end.

Bursts: wrong passwords and wrong reset tokens sent all at once, on one node and split between two
nodes on one PostgreSQL database, are checked at most the limit's number of times before the wait
starts, and the wait then refuses every attempt of the burst, the right one included.

The edges: HEAD wherever GET is answered, unknown fields ignored and known ones sent once, the
session cookie's reading (quoted values, several pairs) and its attributes' order, its name
(SESSION_COOKIE_NAME, `__Host-session_id` in production), /metrics never open to anonymous
clients in production (METRICS_ENABLED), and same-origin browser requests in production
(PUBLIC_URL).
"""

import concurrent.futures
import json
import re
import secrets
import socket
import threading
import urllib.parse

import pytest
import requests

from latchkey_helpers import (
    METRICS_TOKEN, PRODUCTION_BASE, PRODUCTION_COOKIE, PostgresDatabase, refusal,
)

FAST = {"BCRYPT_COST": "4"}
# A cost at which one bcrypt takes long enough for the attempts of a burst to overlap; and a queue
# timeout that sheds none of them, however slow a busy machine hashes (these tests are about the
# throttle, not about shedding).
SLOW = {"BCRYPT_COST": "8", "HASH_QUEUE_TIMEOUT": "60"}
PRODUCTION = {**FAST, **PRODUCTION_BASE, "RESET_TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true"}
STRONG = "correct horse battery"
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def register(url, email, password="b4l0u-burst"):
    response = requests.post(url + "/users", data={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response


def set_cookies(response):
    """The raw `Set-Cookie` headers of a response, as sent."""
    return response.raw.headers.getlist("Set-Cookie")


def log_in(url, email, password, cookie="session_id"):
    """Logs in; returns the token from the one `Set-Cookie` header, which must be named `cookie`."""
    response = requests.post(url + "/sessions", data={"email": email, "password": password}, allow_redirects=False)
    assert response.status_code == 200, response.text
    (header,) = set_cookies(response)
    name, _, rest = header.partition("=")
    assert name == cookie, header
    return rest.split(";", 1)[0]


# Bursts: every call at once, each on a thread and a connection of its own.


def burst(calls):
    """Runs every call (a function of a `requests.Session`) on a thread of its own, released
    together once every thread is ready; returns their responses in order."""
    ready = threading.Barrier(len(calls))

    def run(call):
        with requests.Session() as http:
            ready.wait(timeout=60)
            return call(http)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def assert_throttled(response):
    assert response.status_code == 429, (response.status_code, response.text)
    assert set(response.json()) == {"message"}
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def assert_at_most_limit_checked(responses, checked_status, limit=10):
    """At most `limit` attempts were checked (answered `checked_status`); every other one was a 429."""
    statuses = [response.status_code for response in responses]
    checked = statuses.count(checked_status)
    assert 1 <= checked <= limit, statuses
    for response in responses:
        if response.status_code != checked_status:
            assert_throttled(response)
            assert not set_cookies(response)


def assert_waiting(responses):
    """Every attempt was refused by a running wait: 429, and `Retry-After` more than the 1 second
    that only attempts still being checked would give."""
    for response in responses:
        assert_throttled(response)
        assert 1 < int(response.headers["Retry-After"]) <= 60, response.headers["Retry-After"]
        assert not set_cookies(response)


def login_call(url, email, password):
    return lambda http: http.post(url + "/sessions", data={"email": email, "password": password}, timeout=120,
                                  allow_redirects=False)


def reset_call(url, email, token):
    return lambda http: http.put(url + "/reset_password",
                                 data={"email": email, "reset_token": token, "new_password": "n3w-burst-pass"},
                                 timeout=120)


def wrong_token():
    token = secrets.token_urlsafe(32)
    assert TOKEN.fullmatch(token)
    return token


def login_bursts(urls):
    """100 wrong passwords at once, spread over `urls`, then 60 attempts with the right password
    among them; and the same for an address nobody registered."""
    email, password = "burst@example.com", "b4l0u-burst"
    register(urls[0], email, password)
    first = burst([login_call(urls[i % len(urls)], email, f"wrong-{i}") for i in range(100)])
    assert_at_most_limit_checked(first, 401)
    # The limit is reached: the wait refuses the whole next burst, the right password included.
    second = burst([login_call(urls[i % len(urls)], email, password if i % 6 == 0 else f"wrong-again-{i}")
                    for i in range(60)])
    assert_waiting(second)
    # Another account is not affected.
    register(urls[-1], "bystander@example.com", "b4l0u-bystander")
    assert requests.post(urls[0] + "/sessions",
                         data={"email": "bystander@example.com", "password": "b4l0u-bystander"}).status_code == 200
    # Unknown addresses are throttled alike.
    ghost = burst([login_call(urls[i % len(urls)], "ghost@example.com", f"wrong-{i}") for i in range(60)])
    assert_at_most_limit_checked(ghost, 401)
    assert_waiting([requests.post(urls[-1] + "/sessions", data={"email": "ghost@example.com", "password": "x"})])


def reset_token_bursts(urls):
    """60 wrong reset tokens at once, spread over `urls`; then the right token is refused too."""
    email = "reset-burst@example.com"
    register(urls[0], email)
    response = requests.post(urls[-1] + "/reset_password", data={"email": email})
    assert response.status_code == 200
    token = response.json()["reset_token"]
    wrong = burst([reset_call(urls[i % len(urls)], email, wrong_token()) for i in range(60)])
    assert_at_most_limit_checked(wrong, 403)
    assert_waiting(burst([reset_call(urls[i % len(urls)], email, token if i == 0 else wrong_token())
                          for i in range(20)]))
    assert_waiting([requests.put(urls[0] + "/reset_password",
                                 data={"email": email, "reset_token": token, "new_password": "n3w-burst-pass"})])


def test_a_burst_of_wrong_passwords_is_checked_at_most_the_limit(start_server):
    server = start_server(SLOW)
    login_bursts([server.url])


def test_a_burst_of_wrong_reset_tokens_is_checked_at_most_the_limit(start_server):
    server = start_server(SLOW)
    reset_token_bursts([server.url])


def test_bursts_split_between_two_nodes_on_postgresql(start_server):
    with PostgresDatabase() as database:
        # The store's deadline is not what this test is about: a busy machine may need more than 1.5 s.
        env = {"DATABASE_URL": database.url, "DATABASE_TIMEOUT": "30", **SLOW}
        a, b = start_server(env), start_server(env)
        login_bursts([a.url, b.url])
        reset_token_bursts([a.url, b.url])
        # Stopped while their database is still there.
        assert a.stop() == 0, a.output()
        assert b.stop() == 0, b.output()


# HEAD, over raw connections: a client library would not show a body sent after a HEAD.


def raw(url, method, path, headers=()):
    """Sends one request on a connection of its own and reads until the server closes it; returns
    the status, the headers as (lower-case name, value) pairs, and every byte after them."""
    address = urllib.parse.urlsplit(url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {address.netloc}", "Connection: close", *headers]
    received = b""
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        while True:
            try:
                chunk = connection.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    pairs = []
    for line in header_lines:
        name, _, value = line.partition(":")
        pairs.append((name.strip().lower(), value.strip()))
    return int(status_line.split()[1]), pairs, body


# Headers that differ between two answers by nature, or that frame the body.
VARYING = {"date", "x-request-id", "content-length", "transfer-encoding"}


def comparable(pairs):
    return sorted((name, value) for name, value in pairs if name not in VARYING)


@pytest.fixture(scope="module")
def dev_server(start_module_server):
    return start_module_server(FAST)


@pytest.fixture(scope="module")
def live_token(dev_server):
    register(dev_server.url, "head@example.com", "b4l0u-head")
    return log_in(dev_server.url, "head@example.com", "b4l0u-head")


def test_head_answers_as_get_without_a_body(dev_server, live_token):
    cookie = f"Cookie: session_id={live_token}"
    cases = [
        ("/", (), 200), ("/healthz", (), 200), ("/readyz", (), 200), ("/openapi.json", (), 200),
        ("/metrics", (), 200), ("/profile", (cookie,), 200), ("/profile", (), 403),
        ("/auth/verify", (cookie,), 204), ("/auth/verify", (), 401),
    ]
    for path, headers, status in cases:
        get_status, get_headers, get_body = raw(dev_server.url, "GET", path, headers)
        head_status, head_headers, head_body = raw(dev_server.url, "HEAD", path, headers)
        assert get_status == head_status == status, (path, headers, get_status, head_status)
        assert head_body == b"", (path, head_body[:200])
        assert comparable(head_headers) == comparable(get_headers), path
        if status != 204:
            assert get_body, path
    _, headers, _ = raw(dev_server.url, "HEAD", "/auth/verify", (cookie,))
    assert dict(headers)["x-latchkey-email"] == "head@example.com"
    assert dict(headers)["x-latchkey-user-id"].isdigit()


def allowed(response):
    return {method.strip() for method in response.headers["Allow"].split(",")}


def test_allow_lists_head_wherever_get_is_allowed(dev_server):
    response = requests.post(dev_server.url + "/profile")
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"
    for method, path in [("POST", "/auth/verify"), ("DELETE", "/healthz"), ("PUT", "/readyz"), ("POST", "/"),
                         ("POST", "/metrics"), ("DELETE", "/openapi.json")]:
        response = requests.request(method, dev_server.url + path)
        assert response.status_code == 405, (method, path)
        assert allowed(response) == {"GET", "HEAD"}, (path, response.headers["Allow"])
        assert set(response.json()) == {"message"}
    # No GET, so no HEAD: HEAD there is a 405 like any other method, and without a body.
    for path, methods in [("/sessions", {"POST", "DELETE"}), ("/users", {"POST"}), ("/reset_password", {"POST", "PUT"})]:
        response = requests.get(dev_server.url + path)
        assert response.status_code == 405 and allowed(response) == methods, path
        status, headers, body = raw(dev_server.url, "HEAD", path)
        assert status == 405 and body == b"", (path, body[:200])
        assert {m.strip() for m in dict(headers)["allow"].split(",")} == methods
    status, _, body = raw(dev_server.url, "HEAD", "/no-such-path")
    assert status == 404 and body == b""


# Fields: unknown ones ignored, known ones once.

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


def post(url, path, body, headers):
    return requests.request("PUT" if path == "PUT /reset_password" else "POST",
                            url + path.removeprefix("PUT "), data=body.encode(), headers=headers)


def test_unknown_fields_are_ignored_whatever_their_type_or_repetition(dev_server):
    url = dev_server.url
    json_extras = ['"x": [1]', '"x": 1', '"x": true', '"x": null', '"x": {"a": [1, {"b": null}]}', '"x": 1.5e3',
                   '"x": 1, "x": "two"', '"x": {"a": 1, "a": 2}', '"": 0', '"Email": 5', '"reset_token": [1]',
                   '"new_password": {}, "new_password": {}']
    for i, extra in enumerate(json_extras):
        email = f"json-extra-{i}@example.com"
        body = f'{{"email": "{email}", {extra}, "password": "b4l0u-extra"}}'
        response = post(url, "/users", body, JSON)
        assert response.status_code == 200, (extra, response.text)
        assert response.json() == {"email": email, "message": "user created"}
    form_extras = ["x=1&x=2", "x=1&x=2&x=3", "x", "x=&x=", "a[b][c]=1&a[b][c]=2", "Email=5&EMAIL=6",
                   "reset_token=1&reset_token=2", "new_password=a&new_password=b"]
    for i, extra in enumerate(form_extras):
        email = f"form-extra-{i}@example.com"
        response = post(url, "/users", f"{extra}&email={urllib.parse.quote(email)}&password=b4l0u-extra", FORM)
        assert response.status_code == 200, (extra, response.text)
        assert response.json() == {"email": email, "message": "user created"}
    # On every route that reads fields.
    response = post(url, "/sessions", '{"email": "json-extra-0@example.com", "password": "b4l0u-extra", "x": [1], '
                                      '"x": {}}', JSON)
    assert response.status_code == 200, response.text
    response = post(url, "/sessions", "x=1&email=form-extra-0%40example.com&x=2&password=b4l0u-extra", FORM)
    assert response.status_code == 200, response.text
    response = post(url, "/reset_password", '{"email": "json-extra-1@example.com", "password": 1, "password": 2}',
                    JSON)
    assert response.status_code == 200 and TOKEN.fullmatch(response.json()["reset_token"]), response.text
    token = response.json()["reset_token"]
    response = post(url, "PUT /reset_password",
                    f"x=1&x=2&email=json-extra-1%40example.com&reset_token={token}&new_password=n3w-extra&"
                    "password=1&password=2", FORM)
    assert response.status_code == 200, response.text


def test_a_known_field_sent_twice_is_a_400(dev_server):
    url = dev_server.url
    register(url, "twice@example.com", "b4l0u-twice")
    token = requests.post(url + "/reset_password", data={"email": "twice@example.com"}).json()["reset_token"]
    cases = [
        ("/users", '{"email": "a@b.co", "email": "c@d.co", "password": "b4l0u-x"}', JSON, "email"),
        ("/users", "email=a%40b.co&email=c%40d.co&password=b4l0u-x", FORM, "email"),
        ("/users", '{"email": "a@b.co", "email": "a@b.co", "password": "b4l0u-x"}', JSON, "email"),
        ("/users", "email=a%40b.co&password=b4l0u-x&email=a%40b.co", FORM, "email"),
        ("/users", '{"email": "a@b.co", "password": "b4l0u-x", "password": "b4l0u-y"}', JSON, "password"),
        ("/users", "email=a%40b.co&password=b4l0u-x&password=b4l0u-y", FORM, "password"),
        # The same name spelled with an escape is the same field.
        ("/users", '{"email": "a@b.co", "\\u0065mail": "c@d.co", "password": "b4l0u-x"}', JSON, "email"),
        ("/users", "email=a%40b.co&%65mail=c%40d.co&password=b4l0u-x", FORM, "email"),
        ("/sessions", '{"email": "twice@example.com", "password": "wrong", "password": "b4l0u-twice"}', JSON,
         "password"),
        ("/sessions", "email=twice%40example.com&password=b4l0u-twice&password=wrong", FORM, "password"),
        ("/reset_password", '{"email": "twice@example.com", "email": "other@example.com"}', JSON, "email"),
        ("/reset_password", "email=twice%40example.com&email=other%40example.com", FORM, "email"),
        ("PUT /reset_password", json.dumps({"email": "twice@example.com", "new_password": "n3w-twice"})[:-1]
         + f', "reset_token": "{token}", "reset_token": "{token}"}}', JSON, "reset_token"),
        ("PUT /reset_password", f"email=twice%40example.com&reset_token={token}&new_password=n3w-twice&"
                                "new_password=n3w-twice-2", FORM, "new_password"),
    ]
    for path, body, headers, field in cases:
        response = post(url, path, body, headers)
        assert response.status_code == 400, (path, body, response.status_code, response.text)
        assert response.json() == {"message": f"field {field} must be sent once"}, (path, body)
    # Nothing above logged in, registered or spent the token.
    assert requests.post(url + "/sessions", data={"email": "a@b.co", "password": "b4l0u-x"}).status_code == 401
    response = requests.put(url + "/reset_password",
                            data={"email": "twice@example.com", "reset_token": token, "new_password": "n3w-twice"})
    assert response.status_code == 200


def test_known_fields_must_be_strings_and_null_is_missing(dev_server):
    url = dev_server.url
    for value in ["5", "true", '["a@b.co"]', '{"a": "b"}']:
        response = post(url, "/users", f'{{"email": {value}, "password": "b4l0u-x"}}', JSON)
        assert (response.status_code, response.json()) == (400, {"message": "email must be a string"}), value
    # The known field is named, whatever unknown fields come with it and in whatever order.
    response = post(url, "/users", '{"x": [1], "email": 5, "y": {}, "password": "b4l0u-x"}', JSON)
    assert (response.status_code, response.json()) == (400, {"message": "email must be a string"})
    response = post(url, "/users", '{"email": null, "password": "b4l0u-x"}', JSON)
    assert (response.status_code, response.json()) == (400, {"message": "missing field: email"})
    response = post(url, "/users", '{"email": "a@b.co", "password": null}', JSON)
    assert (response.status_code, response.json()) == (400, {"message": "missing field: password"})


# The session cookie: how it is read, and how it is set.


def test_a_quoted_session_cookie_is_read(dev_server):
    register(dev_server.url, "quoted@example.com", "b4l0u-quoted")
    token = log_in(dev_server.url, "quoted@example.com", "b4l0u-quoted")
    quoted = {"Cookie": f'session_id="{token}"'}
    response = requests.get(dev_server.url + "/profile", headers=quoted)
    assert response.status_code == 200 and response.json() == {"email": "quoted@example.com"}
    assert requests.get(dev_server.url + "/auth/verify", headers=quoted).status_code == 204
    response = requests.delete(dev_server.url + "/sessions", headers=quoted, allow_redirects=False)
    assert response.status_code == 302
    assert requests.get(dev_server.url + "/profile", headers={"Cookie": f"session_id={token}"}).status_code == 403


def test_the_first_live_one_of_several_session_cookies_is_used(dev_server):
    url = dev_server.url
    register(url, "several@example.com", "b4l0u-several")
    dead = [log_in(url, "several@example.com", "b4l0u-several") for _ in range(4)]
    for token in dead:
        assert requests.delete(url + "/sessions", cookies={"session_id": token}, allow_redirects=False) \
            .status_code == 302
    live = log_in(url, "several@example.com", "b4l0u-several")
    for header in [
        f"session_id=garbage; session_id={live}",
        f"session_id={dead[0]}; session_id={live}",
        f"theme=dark; session_id=garbage; session_id=\"{live}\"; lang=fr",
        f"session_id=; session_id={dead[0]}; session_id=\u00e9t\u00e9; session_id={live}",
        # The fourth well-formed value is still read.
        f"session_id={dead[0]}; session_id={dead[1]}; session_id={dead[2]}; session_id={live}",
        f"session_id={live}; session_id=garbage",
    ]:
        for path, status in [("/profile", 200), ("/auth/verify", 204)]:
            response = requests.get(url + path, headers={"Cookie": header.encode()})
            assert response.status_code == status, (path, header)
    # A fifth well-formed value is not: at most 4 are looked up.
    crowded = "; ".join(f"session_id={token}" for token in dead) + f"; session_id={live}"
    assert requests.get(url + "/profile", headers={"Cookie": crowded}).status_code == 403
    # Logout ends the live one.
    response = requests.delete(url + "/sessions", headers={"Cookie": f"session_id=garbage; session_id={live}"},
                               allow_redirects=False)
    assert response.status_code == 302
    assert requests.get(url + "/profile", cookies={"session_id": live}).status_code == 403


def set_cookie_pattern(name, max_age, secure):
    token = "" if max_age == 0 else "[A-Za-z0-9_-]{43}"
    return re.compile(re.escape(name) + f"={token}; Max-Age={max_age}; Path=/; " + ("Secure; " if secure else "")
                      + "HttpOnly; SameSite=Lax")


def assert_cookie_set(response, name, max_age, secure):
    (header,) = set_cookies(response)
    assert set_cookie_pattern(name, max_age, secure).fullmatch(header), header


@pytest.mark.parametrize("secure", [False, True])
def test_set_cookie_attributes_come_in_one_order(secure, start_server):
    server = start_server({**FAST, "SESSION_LIFETIME": "120", "SESSION_COOKIE_SECURE": str(secure).lower()})
    register(server.url, "order@example.com", "b4l0u-order")
    login = requests.post(server.url + "/sessions", data={"email": "order@example.com", "password": "b4l0u-order"})
    assert_cookie_set(login, "session_id", 120, secure)
    token = set_cookies(login)[0].split(";")[0].split("=", 1)[1]
    logout = requests.delete(server.url + "/sessions", cookies={"session_id": token}, allow_redirects=False)
    assert logout.status_code == 302
    assert_cookie_set(logout, "session_id", 0, secure)


# The cookie's name.


def test_production_names_the_cookie_host_session_id(start_server):
    server = start_server(PRODUCTION)
    url = server.url
    register(url, "host@example.com", STRONG)
    login = requests.post(url + "/sessions", data={"email": "host@example.com", "password": STRONG})
    assert login.status_code == 200
    assert_cookie_set(login, PRODUCTION_COOKIE, 2592000, True)
    token = set_cookies(login)[0].split(";")[0].split("=", 1)[1]
    assert requests.get(url + "/profile", headers={"Cookie": f"{PRODUCTION_COOKIE}={token}"}).status_code == 200
    assert requests.get(url + "/auth/verify", headers={"Cookie": f"{PRODUCTION_COOKIE}={token}"}).status_code == 204
    # The development name is not read in production: sessions made under it end.
    assert requests.get(url + "/profile", headers={"Cookie": f"session_id={token}"}).status_code == 403
    assert requests.get(url + "/auth/verify", headers={"Cookie": f"session_id={token}"}).status_code == 401
    assert requests.delete(url + "/sessions", headers={"Cookie": f"session_id={token}"},
                           allow_redirects=False).status_code == 403
    logout = requests.delete(url + "/sessions", headers={"Cookie": f"{PRODUCTION_COOKIE}={token}"},
                             allow_redirects=False)
    assert logout.status_code == 302
    assert_cookie_set(logout, PRODUCTION_COOKIE, 0, True)
    assert requests.get(url + "/profile", headers={"Cookie": f"{PRODUCTION_COOKIE}={token}"}).status_code == 403


def test_production_accepts_a_secure_prefixed_name(start_server):
    server = start_server({**PRODUCTION, "SESSION_COOKIE_NAME": "__Secure-sid"})
    register(server.url, "secure@example.com", STRONG)
    token = log_in(server.url, "secure@example.com", STRONG, cookie="__Secure-sid")
    assert requests.get(server.url + "/profile", headers={"Cookie": f"__Secure-sid={token}"}).status_code == 200
    assert requests.get(server.url + "/profile",
                        headers={"Cookie": f"{PRODUCTION_COOKIE}={token}"}).status_code == 403


def test_a_custom_cookie_name_is_used_everywhere(start_server):
    server = start_server({**FAST, "SESSION_COOKIE_NAME": "custom_sid"})
    url = server.url
    register(url, "custom@example.com", "b4l0u-custom")
    login = requests.post(url + "/sessions", data={"email": "custom@example.com", "password": "b4l0u-custom"})
    assert_cookie_set(login, "custom_sid", 2592000, False)
    token = set_cookies(login)[0].split(";")[0].split("=", 1)[1]
    mine, other = {"Cookie": f"custom_sid={token}"}, {"Cookie": f"session_id={token}"}
    assert requests.get(url + "/profile", headers=mine).status_code == 200
    assert requests.get(url + "/profile", headers=other).status_code == 403
    verify = requests.get(url + "/auth/verify", headers=mine)
    assert verify.status_code == 204 and verify.headers["X-Latchkey-Email"] == "custom@example.com"
    assert requests.get(url + "/auth/verify", headers=other).status_code == 401
    assert requests.delete(url + "/sessions", headers=other, allow_redirects=False).status_code == 403
    logout = requests.delete(url + "/sessions", headers=mine, allow_redirects=False)
    assert logout.status_code == 302
    assert_cookie_set(logout, "custom_sid", 0, False)
    assert requests.get(url + "/profile", headers=mine).status_code == 403


def test_a_prefixed_name_with_secure_cookies_starts_in_development(start_server):
    server = start_server({**FAST, "SESSION_COOKIE_NAME": "__Host-x", "SESSION_COOKIE_SECURE": "true"})
    register(server.url, "hostx@example.com", "b4l0u-hostx")
    login = requests.post(server.url + "/sessions", data={"email": "hostx@example.com", "password": "b4l0u-hostx"})
    assert_cookie_set(login, "__Host-x", 2592000, True)


@pytest.mark.parametrize("env", [
    {"SESSION_COOKIE_NAME": "__Host-x"},
    {"SESSION_COOKIE_NAME": "__Host-x", "SESSION_COOKIE_SECURE": "false"},
    {"SESSION_COOKIE_NAME": "__Secure-x", "SESSION_COOKIE_SECURE": "false"},
    {**PRODUCTION, "SESSION_COOKIE_NAME": "plain"},
    {**PRODUCTION, "SESSION_COOKIE_NAME": "session_id"},
])
def test_cookie_names_start_up_refuses(env):
    assert "SESSION_COOKIE_NAME" in refusal(env)


# /metrics in production.


def test_production_refuses_to_start_without_a_metrics_token():
    env = {key: value for key, value in PRODUCTION.items() if key != "METRICS_TOKEN"}
    assert "METRICS_TOKEN" in refusal(env)
    assert "METRICS_TOKEN" in refusal({**env, "METRICS_ENABLED": "true"})


def test_production_metrics_need_the_token(start_server):
    server = start_server(PRODUCTION)
    assert requests.get(server.url + "/metrics").status_code == 401
    response = requests.get(server.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200 and "latchkey_registrations_total" in response.text


@pytest.mark.parametrize("env", [
    {**{key: value for key, value in PRODUCTION.items() if key != "METRICS_TOKEN"}, "METRICS_ENABLED": "false"},
    {**PRODUCTION, "METRICS_ENABLED": "false"},
    {**FAST, "METRICS_ENABLED": "false"},
    {**FAST, "METRICS_ENABLED": "false", "METRICS_TOKEN": METRICS_TOKEN},
])
def test_metrics_turned_off_answer_404(env, start_server):
    server = start_server(env)
    for headers in [{}, {"Authorization": f"Bearer {METRICS_TOKEN}"}]:
        response = requests.get(server.url + "/metrics", headers=headers)
        assert response.status_code == 404 and set(response.json()) == {"message"}
        assert "latchkey_" not in response.text
    status, _, body = raw(server.url, "HEAD", "/metrics")
    assert status == 404 and body == b""
    assert requests.get(server.url + "/healthz").status_code == 200


def test_metrics_enabled_must_be_a_boolean():
    assert "METRICS_ENABLED" in refusal({**FAST, "METRICS_ENABLED": "yes"})


# Same-origin browser requests in production.


def test_same_origin_requests_are_accepted_in_production(start_server):
    server = start_server({**PRODUCTION, "PUBLIC_URL": "https://auth.example.com/latchkey",
                           "ALLOWED_ORIGINS": "https://app.example.com"})
    url = server.url

    def sign_up(i, headers):
        return requests.post(url + "/users", data={"email": f"origin-{i}@example.com", "password": STRONG},
                             headers=headers)

    accepted = [
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "https://auth.example.com"},
        {"Origin": "https://auth.example.com"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://auth.example.com"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://app.example.com"},
        {"Origin": "https://app.example.com"},
        {},
    ]
    for i, headers in enumerate(accepted):
        response = sign_up(i, headers)
        assert response.status_code == 200, (headers, response.text)
    refused = [
        {"Sec-Fetch-Site": "same-site", "Origin": "https://other.example.com"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example.net"},
        {"Origin": "https://other.example.com"},
        {"Origin": "http://auth.example.com"},
        {"Origin": "https://auth.example.com:8443"},
        {"Origin": "https://example.com"},
    ]
    for i, headers in enumerate(refused):
        response = sign_up(100 + i, headers)
        assert response.status_code == 403, (headers, response.status_code, response.text)
    # Logging in, out and resetting from the service's own pages.
    same = {"Sec-Fetch-Site": "same-origin", "Origin": "https://auth.example.com"}
    login = requests.post(url + "/sessions", data={"email": "origin-0@example.com", "password": STRONG},
                          headers=same)
    assert login.status_code == 200
    token = set_cookies(login)[0].split(";")[0].split("=", 1)[1]
    assert requests.delete(url + "/sessions", headers={**same, "Cookie": f"{PRODUCTION_COOKIE}={token}"},
                           allow_redirects=False).status_code == 302
    reset = requests.post(url + "/reset_password", data={"email": "origin-0@example.com"},
                          headers={"Origin": "https://auth.example.com"})
    assert reset.status_code == 200
    response = requests.put(url + "/reset_password", headers={"Sec-Fetch-Site": "same-origin"},
                            data={"email": "origin-0@example.com", "reset_token": reset.json()["reset_token"],
                                  "new_password": "another long password"})
    assert response.status_code == 200


def test_without_public_url_only_sec_fetch_site_tells_same_origin(start_server):
    server = start_server({**PRODUCTION, "ALLOWED_ORIGINS": "https://app.example.com"})
    def sign_up(i, headers):
        return requests.post(server.url + "/users", headers=headers,
                             data={"email": f"nopublic-{i}@example.com", "password": STRONG}).status_code

    assert sign_up(1, {"Sec-Fetch-Site": "same-origin"}) == 200
    assert sign_up(2, {"Origin": "https://auth.example.com"}) == 403
    assert sign_up(3, {"Sec-Fetch-Site": "same-site", "Origin": "https://auth.example.com"}) == 403
    assert sign_up(4, {"Sec-Fetch-Site": "same-site", "Origin": "https://app.example.com"}) == 200


def test_a_public_url_with_a_port_and_plain_http(start_server):
    server = start_server({**PRODUCTION, "PUBLIC_URL": "http://localhost:8080"})
    def sign_up(i, origin):
        return requests.post(server.url + "/users", headers={"Origin": origin},
                             data={"email": f"port-{i}@example.com", "password": STRONG}).status_code

    assert sign_up(1, "http://localhost:8080") == 200
    assert sign_up(2, "http://localhost") == 403
    assert sign_up(3, "https://localhost:8080") == 403


@pytest.mark.parametrize("value", [
    "https://auth.example.com/", "https://auth.example.com/app/", "ftp://auth.example.com",
    "https://auth.example.com?x=1", "https://auth.example.com/app?x=1", "https://auth.example.com#top",
    "https://user@auth.example.com", "https://user:pw@auth.example.com", "auth.example.com",
    "//auth.example.com", "https://", "mailto:ops@example.com",
])
def test_an_invalid_public_url_stops_start_up(value):
    assert "PUBLIC_URL" in refusal({**FAST, "PUBLIC_URL": value})


def test_an_invalid_public_url_stops_production_too():
    assert "PUBLIC_URL" in refusal({**PRODUCTION, "PUBLIC_URL": "https://auth.example.com/"})


@pytest.mark.parametrize("value", ["https://auth.example.com", "http://127.0.0.1:8080", "https://auth.example.com/app/v1"])
def test_valid_public_urls_start(value, start_server):
    # The fixture stops it, and requires a clean exit.
    start_server({**FAST, "PUBLIC_URL": value})
