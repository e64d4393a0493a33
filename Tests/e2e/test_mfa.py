"""The second factor (TOTP) end to end: enrolment and its otpauth URI, the two-step and one-step
logins, codes accepted once, recovery codes, the account routes that then ask for a code, turning
the factor off, the throttle on wrong codes, the assurance level at /auth/verify, the operator's
`users mfa-reset`, the notices and the key rotation in production, the 503 of a production server
without a key, and the development key file.

Codes come from pyotp, a TOTP implementation of its own. The server accepts the steps either side
of the current one, each once; `Authenticator` picks, for every code it makes, a step the server
has not accepted yet and will still accept for a few seconds, so no test depends on where in its
30-second step the clock is."""

import base64
import json
import os
import re
import stat
import time
import urllib.parse

import pyotp
import pytest
import requests

from latchkey_helpers import PRODUCTION_COOKIE, PostgresDatabase, latchkey, refusal
from test_hardening import SECRET, STRONG, assert_clean_log, production_env, signed

FAST = {"BCRYPT_COST": "4"}
# Tests about something else than the throttle must not run into it.
LENIENT = {**FAST, "MFA_MAX_FAILURES": "50"}
PASSWORD = "b4l0u"
RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
RECOVERY_CODE = re.compile(r"[2-9A-HJ-NP-Z]{4}(?:-[2-9A-HJ-NP-Z]{4}){5}")
KEY_FILE = "latchkey-mfa.key"

STEP = 30
# Seconds a code must stay acceptable after it is made: enough for the request that carries it.
MARGIN = 5


class Authenticator:
    """A person's authenticator app, which also remembers the last step the server accepted (each
    step is accepted once)."""

    def __init__(self, secret):
        self.secret = secret
        self.totp = pyotp.TOTP(secret)
        self.last_step = None

    def code(self, accepted=True):
        """The code of the earliest step that the server has not accepted yet and will accept for
        the next MARGIN seconds (the current step's neighbours count); waits when that step is not
        in the window yet. The step counts as used from now on, unless `accepted` is false (for an
        attempt the server is to refuse before looking at the code)."""
        while True:
            now = time.time()
            earliest = int((now + MARGIN) // STEP) - 1
            latest = int(now // STEP) + 1
            step = earliest if self.last_step is None else max(self.last_step + 1, earliest)
            if step <= latest:
                if accepted:
                    self.last_step = step
                return self.totp.at(step * STEP)
            time.sleep((step - 1) * STEP - now + 0.05)

    def wrong_code(self):
        """Six digits that match no step near now."""
        near = {self.totp.at(time.time() + k * STEP) for k in range(-3, 4)}
        return next(code for code in ("000000", "111111", "222222", "123456") if code not in near)


def register(url, email, password, verified=True):
    """Registers, and verifies the address when `verified` and the server hands the token out in
    its answer (a second factor needs a verified address)."""
    response = requests.post(url + "/users", data={"email": email, "password": password})
    assert response.status_code == 200, response.text
    if verified:
        verify_address(url, email)


def verify_address(url, email):
    """Verifies an address with the token in the answer; does nothing when verification is off or
    the token goes out of band."""
    issued = requests.post(url + "/verify_email", data={"email": email})
    if issued.status_code == 404 or "verification_token" not in issued.json():
        return
    verified = requests.put(url + "/verify_email",
                            data={"email": email, "verification_token": issued.json()["verification_token"]})
    assert verified.status_code == 200, verified.text


def log_in(url, email, password, code=None, cookie="session_id", agent=None):
    """A login that succeeds at once (with `code` for an account with a factor); the new token."""
    fields = {"email": email, "password": password}
    if code is not None:
        fields["code"] = code
    response = requests.post(url + "/sessions", data=fields, headers={"User-Agent": agent} if agent else {})
    assert response.status_code == 200, response.text
    assert response.json() == {"email": email, "message": "logged in"}
    return response.cookies[cookie]


def first_step(url, email, password, json=False):
    """The right password for an account with a factor: no session yet, a login token instead."""
    fields = {"email": email, "password": password}
    response = requests.post(url + "/sessions", **({"json": fields} if json else {"data": fields}))
    assert response.status_code == 401, response.text
    body = response.json()
    assert set(body) == {"message", "mfa_required", "mfa_token"}
    assert body["message"] == "one-time code required" and body["mfa_required"] is True
    assert isinstance(body["mfa_token"], str) and re.fullmatch(r"[A-Za-z0-9_-]{32,}", body["mfa_token"])
    assert "Set-Cookie" not in response.headers
    return body["mfa_token"]


def second_step(url, token, code, json=False):
    fields = {"mfa_token": token, "code": code}
    return requests.post(url + "/sessions/mfa", **({"json": fields} if json else {"data": fields}))


def enrol(url, token, password, cookie="session_id"):
    """Turns the factor on from the session `token`: (authenticator, recovery codes, the session's
    new token)."""
    started = requests.post(url + "/account/mfa/totp", data={"password": password}, cookies={cookie: token})
    assert started.status_code == 200, started.text
    authenticator = Authenticator(started.json()["secret"])
    confirmed = requests.put(url + "/account/mfa/totp", data={"code": authenticator.code()}, cookies={cookie: token})
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and all(RECOVERY_CODE.fullmatch(code) for code in codes)
    renewed = confirmed.cookies[cookie]
    assert renewed != token
    return authenticator, codes, renewed


def account(url, token, cookie="session_id"):
    response = requests.get(url + "/account", cookies={cookie: token})
    assert response.status_code == 200, response.text
    return response.json()


def sessions(url, token, cookie="session_id"):
    response = requests.get(url + "/account/sessions", cookies={cookie: token})
    assert response.status_code == 200, response.text
    return response.json()["sessions"]


def activity(url, token, cookie="session_id"):
    response = requests.get(url + "/account/activity", cookies={cookie: token})
    assert response.status_code == 200, response.text
    return [event["type"] for event in response.json()["events"]]


def alive(url, token, cookie="session_id"):
    status = requests.get(url + "/profile", cookies={cookie: token}).status_code
    assert status in (200, 403)
    return status == 200


def metrics(url):
    values = {}
    for line in requests.get(url + "/metrics").text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def new_key():
    return base64.b64encode(os.urandom(32)).decode()


# Enrolment.


def test_enrolment_gives_an_otpauth_uri_and_ends_the_other_sessions(start_server):
    issuer, email = "Latchkey Caf\u00e9", "zo\u00eb+mfa@example.com"
    server = start_server({**LENIENT, "MFA_ISSUER": issuer})
    url = server.url
    register(url, email, PASSWORD, verified=False)
    laptop = log_in(url, email, PASSWORD, agent="Laptop/1.0")
    phone = log_in(url, email, PASSWORD, agent="Phone/2.0")
    jar = {"session_id": phone}
    before = account(url, phone)
    assert before["mfa"] == {"totp": False, "recovery_codes_left": 0}
    assert [s["aal"] for s in sessions(url, phone)] == [1, 1]
    current_id = next(s["id"] for s in sessions(url, phone) if s["current"])

    # Without a session, a pending enrolment or the password: refused, nothing begun.
    anonymous = requests.post(url + "/account/mfa/totp", data={"password": PASSWORD})
    assert (anonymous.status_code, anonymous.json()) == (403, {"message": "no live session: log in first"})
    # Not before the address is verified (decided before the password is checked).
    for password in (PASSWORD, "nope"):
        unproven = requests.post(url + "/account/mfa/totp", data={"password": password}, cookies=jar)
        assert (unproven.status_code, unproven.json()) == (409, {"message": "verify your email address first"})
    verify_address(url, email)
    nothing = requests.put(url + "/account/mfa/totp", data={"code": "123456"}, cookies=jar)
    assert (nothing.status_code, nothing.json()) == (
        400, {"message": "no second factor to confirm: start with POST /account/mfa/totp"})
    wrong = requests.post(url + "/account/mfa/totp", data={"password": "nope"}, cookies=jar)
    assert (wrong.status_code, wrong.json()) == (401, {"message": "wrong password"})

    started = requests.post(url + "/account/mfa/totp", json={"password": PASSWORD}, cookies=jar)
    assert started.status_code == 200, started.text
    assert set(started.json()) == {"secret", "otpauth_uri"}
    secret, uri = started.json()["secret"], started.json()["otpauth_uri"]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert uri.isascii() and " " not in uri
    parts = urllib.parse.urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    label_issuer, colon, label_email = parts.path[1:].partition(":")
    # Percent-encoded UTF-8, all but RFC 3986's unreserved characters; the colon literal.
    assert colon == ":"
    assert (label_issuer, label_email) == (urllib.parse.quote(issuer, safe=""),
                                           urllib.parse.quote(email, safe=""))
    assert f"&issuer={urllib.parse.quote(issuer, safe='')}&" in uri
    query = urllib.parse.parse_qs(parts.query, strict_parsing=True)
    assert query == {"secret": [secret], "issuer": [issuer], "algorithm": ["SHA1"], "digits": ["6"],
                     "period": ["30"]}
    parsed = pyotp.parse_uri(uri)
    assert (parsed.secret, parsed.issuer, parsed.name, parsed.digits, parsed.interval) == (
        secret, issuer, email, 6, 30)
    # A pending enrolment changes nothing yet.
    assert account(url, phone)["mfa"] == {"totp": False, "recovery_codes_left": 0}
    assert alive(url, laptop)

    # A new enrolment replaces the pending one: the first secret's codes no longer confirm.
    again = requests.post(url + "/account/mfa/totp", data={"password": PASSWORD}, cookies=jar)
    assert again.status_code == 200
    assert again.json()["secret"] != secret
    stale = requests.put(url + "/account/mfa/totp", data={"code": Authenticator(secret).code()}, cookies=jar)
    assert (stale.status_code, stale.json()) == (401, {"message": "wrong code"})
    authenticator = Authenticator(again.json()["secret"])
    mistyped = requests.put(url + "/account/mfa/totp", data={"code": authenticator.wrong_code()}, cookies=jar)
    assert (mistyped.status_code, mistyped.json()) == (401, {"message": "wrong code"})

    confirmed = requests.put(url + "/account/mfa/totp", json={"code": authenticator.code()}, cookies=jar)
    assert confirmed.status_code == 200, confirmed.text
    assert set(confirmed.json()) == {"recovery_codes"}
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10 and all(RECOVERY_CODE.fullmatch(code) for code in codes)
    # The session gets a new token; the old one, and every other session, are over.
    renewed = confirmed.cookies["session_id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", renewed) and renewed != phone
    assert "HttpOnly" in confirmed.headers["Set-Cookie"]
    assert not alive(url, phone) and not alive(url, laptop) and alive(url, renewed)

    after = account(url, renewed)
    assert set(after) == {"id", "email", "created_at", "email_verified", "mfa"}
    assert after["mfa"] == {"totp": True, "recovery_codes_left": 10}
    (session,) = sessions(url, renewed)
    assert (session["id"], session["current"], session["aal"]) == (current_id, True, 2)
    assert activity(url, renewed)[0] == "mfa_enabled"

    # Once active, a new enrolment is refused.
    active = requests.post(url + "/account/mfa/totp", data={"password": PASSWORD},
                           cookies={"session_id": renewed})
    assert (active.status_code, active.json()) == (409, {"message": "second factor already active"})
    assert secret not in server.output() and again.json()["secret"] not in server.output()


def test_the_second_factor_routes_need_a_session(start_server):
    server = start_server(LENIENT)
    for method, path in [("POST", "/account/mfa/totp"), ("PUT", "/account/mfa/totp"),
                         ("DELETE", "/account/mfa/totp"), ("POST", "/account/mfa/recovery_codes")]:
        response = requests.request(method, server.url + path,
                                    data={"password": PASSWORD, "code": "123456"},
                                    cookies={"session_id": "A" * 43})
        assert (response.status_code, response.json()) == (
            403, {"message": "no live session: log in first"}), (method, path)


# Logins.


def walk_the_two_step_login(url, email):
    register(url, email, PASSWORD)
    token = log_in(url, email, PASSWORD)
    started = requests.post(url + "/account/mfa/totp", data={"password": PASSWORD}, cookies={"session_id": token})
    assert started.status_code == 200, started.text
    # The default issuer.
    assert pyotp.parse_uri(started.json()["otpauth_uri"]).issuer == "Latchkey"
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/Latchkey:")
    authenticator = Authenticator(started.json()["secret"])
    confirmed = requests.put(url + "/account/mfa/totp", data={"code": authenticator.code()},
                             cookies={"session_id": token})
    assert confirmed.status_code == 200, confirmed.text

    # A wrong password is the usual answer, without a login token.
    wrong = requests.post(url + "/sessions", data={"email": email, "password": "nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"message": "wrong email or password"})

    login_token = first_step(url, email, PASSWORD)
    # A wrong code leaves the login token usable for another try.
    mistyped = second_step(url, login_token, authenticator.wrong_code())
    assert (mistyped.status_code, mistyped.json()) == (401, {"message": "wrong code"})
    assert "Set-Cookie" not in mistyped.headers
    code = authenticator.code()
    done = second_step(url, login_token, code, json=True)
    assert done.status_code == 200, done.text
    assert done.json() == {"email": email, "message": "logged in"}
    session = done.cookies["session_id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session) and alive(url, session)
    assert "Path=/" in done.headers["Set-Cookie"]
    assert [s["aal"] for s in sessions(url, session) if s["current"]] == [2]

    # The login token works once; an unknown one never.
    for token in (login_token, "A" * 43):
        refused = second_step(url, token, authenticator.wrong_code())
        assert (refused.status_code, refused.json()) == (401, {"message": "login token is not valid: log in again"})

    # The same code is not accepted twice, even within its window; the next step's is.
    replay_token = first_step(url, email, PASSWORD, json=True)
    replayed = second_step(url, replay_token, code)
    assert (replayed.status_code, replayed.json()) == (401, {"message": "wrong code"})
    again = second_step(url, replay_token, authenticator.code())
    assert again.status_code == 200, again.text
    assert again.cookies["session_id"] != session
    return authenticator


def test_two_step_login_with_a_login_token_and_codes_accepted_once(start_server):
    server = start_server(LENIENT)
    walk_the_two_step_login(server.url, "ada@example.com")


def test_second_factor_on_postgres(start_server):
    with PostgresDatabase() as database:
        # The store's deadline is not what this test is about: a busy machine may need more than 1.5 s.
        server = start_server({**LENIENT, "DATABASE_URL": database.url, "DATABASE_TIMEOUT": "30"})
        walk_the_two_step_login(server.url, "ada@example.com")
        # With PostgreSQL the development key is made in the working folder.
        assert os.path.exists(os.path.join(server.folder, KEY_FILE))
        assert server.stop() == 0


def test_one_step_login_with_the_code_and_wrong_codes(start_server):
    server = start_server(LENIENT)
    url = server.url
    register(url, "ada@example.com", PASSWORD)
    authenticator, _, _ = enrol(url, log_in(url, "ada@example.com", PASSWORD), PASSWORD)

    wrong = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": PASSWORD,
                                                   "code": authenticator.wrong_code()})
    assert (wrong.status_code, wrong.json()) == (401, {"message": "wrong code"})
    assert "Set-Cookie" not in wrong.headers
    # A wrong password is the usual 401, whatever the code: it tells nothing of the factor.
    mistaken = requests.post(url + "/sessions", json={"email": "ada@example.com", "password": "nope",
                                                      "code": authenticator.wrong_code()})
    assert (mistaken.status_code, mistaken.json()) == (401, {"message": "wrong email or password"})

    session = requests.post(url + "/sessions", json={"email": "ada@example.com", "password": PASSWORD,
                                                     "code": authenticator.code()})
    assert session.status_code == 200, session.text
    assert session.json() == {"email": "ada@example.com", "message": "logged in"}
    token = session.cookies["session_id"]
    assert [s["aal"] for s in sessions(url, token) if s["current"]] == [2]
    events = activity(url, token)
    assert events[0] == "login_succeeded" and "mfa_failed" in events


# Recovery codes.


def test_recovery_codes_work_once_in_any_spelling_and_can_be_replaced(start_server):
    server = start_server(LENIENT)
    url = server.url
    register(url, "ada@example.com", PASSWORD)
    authenticator, codes, token = enrol(url, log_in(url, "ada@example.com", PASSWORD), PASSWORD)

    # Without the dashes and in lower case, as the second step.
    login_token = first_step(url, "ada@example.com", PASSWORD)
    used = second_step(url, login_token, codes[0].replace("-", "").lower())
    assert used.status_code == 200, used.text
    assert account(url, token)["mfa"] == {"totp": True, "recovery_codes_left": 9}
    # Each works once, however it is written.
    again = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": PASSWORD,
                                                   "code": codes[0]})
    assert (again.status_code, again.json()) == (401, {"message": "wrong code"})
    # With spaces between the groups, in mixed case, in one step.
    spaced = codes[1].replace("-", " ")
    spaced = spaced[:12].lower() + spaced[12:]
    log_in(url, "ada@example.com", PASSWORD, code=spaced)
    assert account(url, token)["mfa"] == {"totp": True, "recovery_codes_left": 8}
    events = activity(url, token)
    assert events.count("recovery_code_used") == 2 and events.count("mfa_failed") == 1

    # New codes need the password and a code; the old ones stop working.
    jar = {"session_id": token}
    wrong = requests.post(url + "/account/mfa/recovery_codes",
                          data={"password": "nope", "code": authenticator.wrong_code()}, cookies=jar)
    assert (wrong.status_code, wrong.json()) == (401, {"message": "wrong password"})
    mistyped = requests.post(url + "/account/mfa/recovery_codes",
                             data={"password": PASSWORD, "code": authenticator.wrong_code()}, cookies=jar)
    assert (mistyped.status_code, mistyped.json()) == (401, {"message": "wrong code"})
    missing = requests.post(url + "/account/mfa/recovery_codes", data={"password": PASSWORD}, cookies=jar)
    assert missing.status_code in (400, 401)
    renewed = requests.post(url + "/account/mfa/recovery_codes",
                            json={"password": PASSWORD, "code": authenticator.code()}, cookies=jar)
    assert renewed.status_code == 200, renewed.text
    assert set(renewed.json()) == {"recovery_codes"}
    fresh = renewed.json()["recovery_codes"]
    assert len(set(fresh)) == 10 and all(RECOVERY_CODE.fullmatch(code) for code in fresh)
    assert not set(fresh) & set(codes)
    assert account(url, token)["mfa"] == {"totp": True, "recovery_codes_left": 10}
    old = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": PASSWORD,
                                                 "code": codes[5]})
    assert (old.status_code, old.json()) == (401, {"message": "wrong code"})
    log_in(url, "ada@example.com", PASSWORD, code=fresh[0])
    assert account(url, token)["mfa"] == {"totp": True, "recovery_codes_left": 9}
    output = server.output()
    assert not any(code in output or code.replace("-", "") in output for code in codes + fresh)


# The account routes.


def test_account_routes_need_a_code_once_a_factor_is_active(start_server):
    server = start_server(LENIENT)
    url = server.url
    register(url, "ada@example.com", PASSWORD)
    authenticator, codes, token = enrol(url, log_in(url, "ada@example.com", PASSWORD), PASSWORD)
    jar = {"session_id": token}
    laptop = log_in(url, "ada@example.com", PASSWORD, code=codes[0], agent="Laptop/1.0")
    laptop_id = next(s["id"] for s in sessions(url, token) if not s["current"])

    def refused_without_and_with_a_wrong_code(method, path, fields):
        missing = requests.request(method, url + path, data=fields, cookies=jar)
        assert (missing.status_code, missing.json()) == (401, {"message": "one-time code required"}), path
        wrong = requests.request(method, url + path, json={**fields, "code": authenticator.wrong_code()},
                                 cookies=jar)
        assert (wrong.status_code, wrong.json()) == (401, {"message": "wrong code"}), path

    refused_without_and_with_a_wrong_code("DELETE", "/account/sessions/" + laptop_id, {"password": PASSWORD})
    assert alive(url, laptop)
    ended = requests.delete(url + "/account/sessions/" + laptop_id,
                            data={"password": PASSWORD, "code": codes[1]}, cookies=jar)
    assert ended.status_code == 204, ended.text
    assert not alive(url, laptop)

    tablet = log_in(url, "ada@example.com", PASSWORD, code=codes[2], agent="Tablet/3.0")
    refused_without_and_with_a_wrong_code("DELETE", "/account/sessions", {"password": PASSWORD})
    assert alive(url, tablet)
    others = requests.delete(url + "/account/sessions", json={"password": PASSWORD,
                                                              "code": authenticator.code()}, cookies=jar)
    assert (others.status_code, others.json()) == (200, {"ended": 1})
    assert not alive(url, tablet)

    refused_without_and_with_a_wrong_code("PUT", "/account/email",
                                          {"password": PASSWORD, "new_email": "new@example.com"})
    moved = requests.put(url + "/account/email",
                         data={"password": PASSWORD, "new_email": "new@example.com", "code": codes[3]},
                         cookies=jar)
    assert moved.status_code == 200 and set(moved.json()) == {"email", "verification_token"}

    change = {"current_password": PASSWORD, "new_password": "t4rt1fl3tt3"}
    refused_without_and_with_a_wrong_code("PUT", "/account/password", change)
    changed = requests.put(url + "/account/password", data={**change, "code": authenticator.code()},
                           cookies=jar)
    assert (changed.status_code, changed.json()) == (200, {"message": "Password updated"})
    jar = {"session_id": changed.cookies["session_id"]}

    refused_without_and_with_a_wrong_code("DELETE", "/account", {"password": "t4rt1fl3tt3"})
    assert account(url, jar["session_id"])["mfa"] == {"totp": True, "recovery_codes_left": 6}
    deleted = requests.delete(url + "/account", data={"password": "t4rt1fl3tt3", "code": codes[4]},
                              cookies=jar)
    assert deleted.status_code == 204, deleted.text
    assert not alive(url, jar["session_id"])


def test_turning_the_factor_off(start_server):
    server = start_server(LENIENT)
    url = server.url
    register(url, "ada@example.com", PASSWORD)
    authenticator, codes, token = enrol(url, log_in(url, "ada@example.com", PASSWORD), PASSWORD)
    jar = {"session_id": token}

    wrong = requests.delete(url + "/account/mfa/totp", data={"password": "nope", "code": codes[0]},
                            cookies=jar)
    assert (wrong.status_code, wrong.json()) == (401, {"message": "wrong password"})
    mistyped = requests.delete(url + "/account/mfa/totp",
                               data={"password": PASSWORD, "code": authenticator.wrong_code()}, cookies=jar)
    assert (mistyped.status_code, mistyped.json()) == (401, {"message": "wrong code"})
    missing = requests.delete(url + "/account/mfa/totp", data={"password": PASSWORD}, cookies=jar)
    assert missing.status_code in (400, 401)
    assert account(url, token)["mfa"]["totp"] is True

    off = requests.delete(url + "/account/mfa/totp", json={"password": PASSWORD,
                                                            "code": authenticator.code()}, cookies=jar)
    assert off.status_code == 204, off.text
    assert alive(url, token)
    assert account(url, token)["mfa"] == {"totp": False, "recovery_codes_left": 0}
    assert activity(url, token)[0] == "mfa_disabled"

    again = requests.delete(url + "/account/mfa/totp", data={"password": PASSWORD, "code": codes[2]},
                            cookies=jar)
    assert (again.status_code, again.json()) == (409, {"message": "no active second factor"})
    regenerate = requests.post(url + "/account/mfa/recovery_codes",
                               data={"password": PASSWORD, "code": codes[1]}, cookies=jar)
    assert (regenerate.status_code, regenerate.json()) == (409, {"message": "no active second factor"})

    # Logins and the account routes are as before; the recovery codes are gone.
    later = log_in(url, "ada@example.com", PASSWORD)
    assert [s["aal"] for s in sessions(url, later) if s["current"]] == [1]
    others = requests.delete(url + "/account/sessions", data={"password": PASSWORD}, cookies=jar)
    assert (others.status_code, others.json()) == (200, {"ended": 1})
    # A new enrolment can begin.
    assert requests.post(url + "/account/mfa/totp", data={"password": PASSWORD},
                         cookies=jar).status_code == 200


# Codes as people type them.


def fullwidth(digits):
    return "".join(chr(ord(d) - ord("0") + 0xFF10) for d in digits)


def test_codes_are_read_as_people_type_them(start_server):
    """Spaces, newlines, no-break spaces, dashes and fullwidth digits are no part of a code; what is
    of neither shape is a 400 before the password, never counted as a wrong code."""
    server = start_server({**FAST, "MFA_MAX_FAILURES": "2"})
    url = server.url
    register(url, "ada@example.com", PASSWORD)
    authenticator, codes, token = enrol(url, log_in(url, "ada@example.com", PASSWORD), PASSWORD)
    for shape in ["12 34", "1234567", "abcdef", "\u0661\u0662\u0663\u0664\u0665\u0666", "123\u200b456"]:
        for password in (PASSWORD, "nope"):
            refused = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": password,
                                                             "code": shape})
            assert (refused.status_code, refused.json()) == (
                400, {"message": "code must be 6 digits or a recovery code"}), (shape, password)
    # Ten refusals above, with MFA_MAX_FAILURES=2: none was counted.
    assert "mfa_failed" not in activity(url, token) and "login_failed" not in activity(url, token)
    spelled = [codes[0].lower().replace("-", " "), codes[1].replace("-", "\u2013"),
               " " + codes[2].replace("-", "\u00a0") + "\r\n"]
    for index, typed in enumerate(spelled):
        body = {"email": "ada@example.com", "password": PASSWORD, "code": typed}
        answer = requests.post(url + "/sessions", **({"json": body} if index % 2 else {"data": body}))
        assert answer.status_code == 200, (typed, answer.text)
    for spell in (lambda c: f"{c[:3]} {c[3:]}", lambda c: fullwidth(c), lambda c: f"\t{c[:3]}\u202f{c[3:]}\n"):
        typed = spell(authenticator.code())
        answer = requests.post(url + "/sessions", json={"email": "ada@example.com", "password": PASSWORD,
                                                         "code": typed})
        assert answer.status_code == 200, (typed, answer.text)
    # A code that holds nothing is no code: the first step's answer.
    blank = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": PASSWORD, "code": " - "})
    assert blank.status_code == 401 and blank.json()["mfa_required"] is True


def test_removing_the_factor_brings_every_session_to_level_one(start_server):
    server = start_server(LENIENT)
    url = server.url
    register(url, "ada@example.com", PASSWORD)
    authenticator, codes, token = enrol(url, log_in(url, "ada@example.com", PASSWORD), PASSWORD)
    other = log_in(url, "ada@example.com", PASSWORD, code=authenticator.code())
    for session in (token, other):
        assert requests.get(url + "/auth/verify", cookies={"session_id": session}).headers["X-Latchkey-AAL"] == "2"
    off = requests.delete(url + "/account/mfa/totp", data={"password": PASSWORD, "code": codes[0]},
                          cookies={"session_id": token})
    assert off.status_code == 204, off.text
    for session in (token, other):
        verified = requests.get(url + "/auth/verify", cookies={"session_id": session})
        assert verified.status_code == 204 and verified.headers["X-Latchkey-AAL"] == "1"


# The throttle.


def test_wrong_codes_are_throttled_per_account(start_server):
    # A first wait long enough to be still running two requests later on a busy machine, and
    # short enough to wait out below.
    server = start_server({**FAST, "MFA_MAX_FAILURES": "2", "THROTTLE_FIRST_WAIT": "10",
                           "THROTTLE_MAX_WAIT": "20"})
    url = server.url
    register(url, "ada@example.com", PASSWORD)
    authenticator, _, token = enrol(url, log_in(url, "ada@example.com", PASSWORD), PASSWORD)
    before = metrics(url)

    login_token = first_step(url, "ada@example.com", PASSWORD)
    for _ in range(2):
        wrong = second_step(url, login_token, authenticator.wrong_code())
        assert (wrong.status_code, wrong.json()) == (401, {"message": "wrong code"})
    # Then every attempt waits, the right code's too, by either login form.
    throttled = second_step(url, login_token, authenticator.code(accepted=False))
    assert throttled.status_code == 429, throttled.text
    wait = int(throttled.headers["Retry-After"])
    assert 1 <= wait <= 10
    assert throttled.json() == {"message": f"too many attempts; try again in {wait} seconds"}
    one_step = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": PASSWORD,
                                                      "code": authenticator.code(accepted=False)})
    assert one_step.status_code == 429 and "Retry-After" in one_step.headers
    assert "Set-Cookie" not in one_step.headers

    time.sleep(int(one_step.headers["Retry-After"]) + 1)
    done = second_step(url, login_token, authenticator.code())
    assert done.status_code == 200, done.text
    after = metrics(url)

    def moved(outcome):
        name = f'latchkey_mfa_verifications_total{{outcome="{outcome}"}}'
        return after.get(name, 0) - before.get(name, 0)

    assert (moved("failed"), moved("succeeded")) == (2, 1)
    assert moved("throttled") >= 1
    assert activity(url, done.cookies["session_id"]).count("mfa_failed") == 2


# The assurance level.


def test_auth_verify_tells_the_assurance_level(start_server):
    server = start_server(LENIENT)
    url = server.url
    register(url, "ada@example.com", PASSWORD)
    register(url, "bob@example.com", PASSWORD)
    token = log_in(url, "ada@example.com", PASSWORD)
    verified = requests.get(url + "/auth/verify", cookies={"session_id": token})
    assert verified.status_code == 204 and verified.headers["X-Latchkey-AAL"] == "1"

    authenticator, _, renewed = enrol(url, token, PASSWORD)
    assert requests.get(url + "/auth/verify", cookies={"session_id": token}).status_code == 401
    verified = requests.get(url + "/auth/verify", cookies={"session_id": renewed})
    assert verified.status_code == 204 and verified.headers["X-Latchkey-AAL"] == "2"
    assert verified.headers["X-Latchkey-Email"] == "ada@example.com"
    head = requests.head(url + "/auth/verify", cookies={"session_id": renewed})
    assert head.status_code == 204 and head.headers["X-Latchkey-AAL"] == "2"
    later = log_in(url, "ada@example.com", PASSWORD, code=authenticator.code())
    assert requests.get(url + "/auth/verify", cookies={"session_id": later}).headers["X-Latchkey-AAL"] == "2"

    # Without a factor nothing changes: a code sent along is ignored.
    bob = log_in(url, "bob@example.com", PASSWORD, code="123456")
    verified = requests.get(url + "/auth/verify", cookies={"session_id": bob})
    assert verified.status_code == 204 and verified.headers["X-Latchkey-AAL"] == "1"
    assert "X-Latchkey-AAL" not in requests.get(url + "/auth/verify").headers


# The operator.


def test_users_mfa_reset_removes_the_factor_and_ends_the_sessions(receive_webhooks, start_server, tmp_path):
    receiver = receive_webhooks()
    server = start_server(LENIENT)
    url = server.url
    register(url, "ada@example.com", PASSWORD)
    register(url, "bob@example.com", PASSWORD)
    _, codes, token = enrol(url, log_in(url, "ada@example.com", PASSWORD), PASSWORD)
    assert server.stop() == 0
    database = "sqlite://" + str(tmp_path / "latchkey.sqlite")
    shown = latchkey("users", "show", "ada@example.com", url=database)
    assert shown.returncode == 0, shown.stderr
    lines = [line.split("\t") for line in shown.stdout.splitlines()]
    assert ["mfa", "true"] in lines and ["email_verified", "true"] in lines
    assert not any(code in shown.stdout for code in codes)
    listed = {line.split("\t")[0]: line.split("\t") for line in
              latchkey("users", "list", url=database).stdout.splitlines()}
    assert listed["ada@example.com"][-1] == "true" and listed["bob@example.com"][-1] == "false"

    missing = latchkey("users", "mfa-reset", "ghost@example.com", url=database)
    assert missing.returncode != 0 and "no such user" in missing.stderr
    notifying = {"WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": SECRET}
    reset = latchkey("users", "mfa-reset", "ADA@example.com", url=database, env=notifying)
    assert reset.returncode == 0, reset.stderr
    # The notice waits in the outbox while no server runs; the next one to start sends it.
    time.sleep(1.5)
    assert receiver.requests == []
    sender = start_server({**LENIENT, **notifying})
    (notice,) = receiver.events("mfa_disabled")
    assert sender.stop() == 0
    assert set(notice) == {"event", "email", "at"} and notice["email"] == "ada@example.com"
    assert re.fullmatch(RFC3339, notice["at"])
    with receiver.lock:
        assert all(signed(headers, body) for headers, body, _ in receiver.requests)

    shown = latchkey("users", "show", "ada@example.com", url=database)
    lines = [line.split("\t") for line in shown.stdout.splitlines()]
    assert ["mfa", "false"] in lines and not [line for line in lines if line[0] == "session"]
    # Ending the sessions may be recorded too.
    assert "mfa_disabled" in [line[1] for line in lines if line[0] == "activity"][:2]

    server = start_server(LENIENT)
    url = server.url
    assert not alive(url, token)
    later = log_in(url, "ada@example.com", PASSWORD)
    assert account(url, later)["mfa"] == {"totp": False, "recovery_codes_left": 0}
    # A code sent along is ignored: there is no factor any more.
    ignored = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": PASSWORD,
                                                     "code": codes[0]})
    assert ignored.status_code == 200
    assert server.stop() == 0


# Production: the notices, the keys.


def test_notices_and_key_rotation_in_production(receive_webhooks, start_server, tmp_path):
    receiver = receive_webhooks()
    first_key, second_key = new_key(), new_key()
    env = production_env(receiver, {"MFA_MAX_FAILURES": "50", "EMAIL_VERIFICATION": "off"})
    cookie = PRODUCTION_COOKIE
    server = start_server({**env, "MFA_ENCRYPTION_KEY": first_key})
    url = server.url
    register(url, "ada@example.com", STRONG)
    token = log_in(url, "ada@example.com", STRONG, cookie=cookie)
    authenticator, codes, token = enrol(url, token, STRONG, cookie=cookie)
    (enabled,) = receiver.events("mfa_enabled")
    assert set(enabled) == {"event", "email", "at"} and enabled["email"] == "ada@example.com"
    assert re.fullmatch(RFC3339, enabled["at"])

    login_token = first_step(url, "ada@example.com", STRONG)
    assert second_step(url, login_token, codes[0]).status_code == 200
    (used,) = receiver.events("recovery_code_used")
    assert used == {"event": "recovery_code_used", "email": "ada@example.com", "at": used["at"],
                    "recovery_codes_left": "9"}
    assert re.fullmatch(RFC3339, used["at"])
    assert server.stop() == 0
    assert not os.path.exists(os.path.join(tmp_path, KEY_FILE))

    # With a factor in the database, a server without the key, or with a key that opens none of
    # the secrets, does not start.
    assert "MFA_ENCRYPTION_KEY" in refusal(env, tmp_path)
    assert "MFA_ENCRYPTION_KEY" in refusal({**env, "MFA_ENCRYPTION_KEY": second_key}, tmp_path)

    # A new key, with the old one among the previous keys: the secret still opens, and is
    # sealed again under the new key when used.
    server = start_server({**env, "MFA_ENCRYPTION_KEY": second_key,
                           "MFA_ENCRYPTION_KEYS_PREVIOUS": f"{new_key()},{first_key}"})
    url = server.url
    token = log_in(url, "ada@example.com", STRONG, code=authenticator.code(), cookie=cookie)
    renewed = requests.post(url + "/account/mfa/recovery_codes", data={"password": STRONG, "code": codes[1]},
                            cookies={cookie: token})
    assert renewed.status_code == 200, renewed.text
    fresh = renewed.json()["recovery_codes"]
    assert server.stop() == 0

    server = start_server({**env, "MFA_ENCRYPTION_KEY": second_key})
    url = server.url
    token = log_in(url, "ada@example.com", STRONG, code=authenticator.code(), cookie=cookie)
    off = requests.delete(url + "/account/mfa/totp", data={"password": STRONG, "code": fresh[0]},
                          cookies={cookie: token})
    assert off.status_code == 204, off.text
    (disabled,) = receiver.events("mfa_disabled")
    assert set(disabled) == {"event", "email", "at"} and disabled["email"] == "ada@example.com"
    with receiver.lock:
        assert all(signed(headers, body) for headers, body, _ in receiver.requests)
    assert server.stop() == 0
    for name in os.listdir(tmp_path):
        if name.startswith("server-") and name.endswith(".log"):
            with open(os.path.join(tmp_path, name), errors="replace") as log:
                assert_clean_log(log.read(), [authenticator.secret, first_key, second_key, login_token,
                                              *codes, *fresh])


@pytest.mark.slow
def test_the_owner_hears_of_the_password_used_without_the_code(receive_webhooks, start_server):
    """A wrong code after the right password tells the owner at once; a login token left without
    a code, within MFA_LOGIN_TOKEN_TTL + 60 s; at most once an hour per account."""
    receiver = receive_webhooks()
    cookie = PRODUCTION_COOKIE
    server = start_server(production_env(receiver, {
        "MFA_MAX_FAILURES": "50", "EMAIL_VERIFICATION": "off", "MFA_ENCRYPTION_KEY": new_key(),
        "MFA_LOGIN_TOKEN_TTL": "30"}))
    url = server.url
    enrolled = {}
    for email in ("ada@example.com", "bob@example.com"):
        register(url, email, STRONG)
        enrolled[email] = enrol(url, log_in(url, email, STRONG, cookie=cookie), STRONG, cookie=cookie)

    ada, ada_token = enrolled["ada@example.com"][0], enrolled["ada@example.com"][2]
    login_token = first_step(url, "ada@example.com", STRONG)
    assert "login_second_factor_required" in activity(url, ada_token, cookie)
    started = time.monotonic()
    wrong = second_step(url, login_token, ada.wrong_code())
    assert wrong.status_code == 401
    (notice,) = receiver.events("password_used_without_second_factor")
    assert set(notice) == {"event", "email", "at"} and notice["email"] == "ada@example.com"
    assert re.fullmatch(RFC3339, notice["at"])
    assert time.monotonic() - started < 15

    # bob's password, and no code: the token expires after 30 s; the owner hears within 60 s more.
    first_step(url, "bob@example.com", STRONG)
    left = time.monotonic()
    notices = receiver.events("password_used_without_second_factor", count=2, seconds=30 + 60 + 15)
    assert notices[1]["email"] == "bob@example.com"
    assert 30 - 1 <= time.monotonic() - left
    # ada's token expired too, but ada heard within the hour already; bob's later logins are
    # counted the same way.
    first_step(url, "bob@example.com", STRONG)
    bob = enrolled["bob@example.com"][0]
    assert second_step(url, first_step(url, "bob@example.com", STRONG), bob.wrong_code()).status_code == 401
    time.sleep(3)
    with receiver.lock:
        sent = [json.loads(body) for _, body, status in receiver.requests
                if json.loads(body)["event"] == "password_used_without_second_factor"]
    assert [n["email"] for n in sent] == ["ada@example.com", "bob@example.com"]
    with receiver.lock:
        assert all(signed(headers, body) for headers, body, _ in receiver.requests)


def test_production_without_a_key_does_not_enrol(receive_webhooks, start_server):
    receiver = receive_webhooks()
    # Tokens in the answers, notices to the webhook: no key is needed to start.
    env = production_env(receiver, {"RESET_TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true"})
    server = start_server({name: value for name, value in env.items() if name != "MFA_ENCRYPTION_KEY"})
    url = server.url
    register(url, "ada@example.com", STRONG)
    token = log_in(url, "ada@example.com", STRONG, cookie=PRODUCTION_COOKIE)
    refused = requests.post(url + "/account/mfa/totp", data={"password": STRONG},
                            cookies={PRODUCTION_COOKIE: token})
    assert (refused.status_code, refused.json()) == (503, {"message": "second factor not configured"})
    assert account(url, token, PRODUCTION_COOKIE)["mfa"] == {"totp": False, "recovery_codes_left": 0}
    # Logins are as without the feature.
    log_in(url, "ada@example.com", STRONG, cookie=PRODUCTION_COOKIE)
    assert not os.path.exists(os.path.join(server.folder, KEY_FILE))


# Development: the key file.


def test_the_development_key_file_is_made_once_beside_the_database_owner_only(start_server, tmp_path):
    data = os.path.join(tmp_path, "data")
    os.mkdir(data)
    env = {**LENIENT, "DATABASE_URL": "sqlite://" + os.path.join(data, "latchkey.sqlite")}
    mask = os.umask(0)  # the file is 0600 whatever the umask
    try:
        server = start_server(env)
    finally:
        os.umask(mask)
    key_path = os.path.join(data, KEY_FILE)
    url = server.url
    register(url, "ada@example.com", PASSWORD)
    authenticator, _, _ = enrol(url, log_in(url, "ada@example.com", PASSWORD), PASSWORD)
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert not os.path.exists(os.path.join(tmp_path, KEY_FILE))
    with open(key_path) as file:
        key = file.read()
    # The form MFA_ENCRYPTION_KEY takes, so that it can be moved there.
    assert len(base64.b64decode(key.strip(), validate=True)) == 32
    assert KEY_FILE in server.output() and key.strip() not in server.output()
    assert server.stop() == 0

    # The next start uses the same key: the factor still works.
    server = start_server(env)
    log_in(server.url, "ada@example.com", PASSWORD, code=authenticator.code())
    with open(key_path) as file:
        assert file.read() == key
    assert server.stop() == 0

    # An in-memory database keeps its key in the working folder.
    server = start_server({**LENIENT, "DATABASE_URL": "sqlite::memory:"})
    register(server.url, "ada@example.com", PASSWORD)
    enrol(server.url, log_in(server.url, "ada@example.com", PASSWORD), PASSWORD)
    key_path = os.path.join(server.folder, KEY_FILE)
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
