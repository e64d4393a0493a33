"""The hardened service end to end: the production profile with webhook delivery (a local
receiver checks each body and signature, and the retry after a 500), log delivery, refusals to
start, throttling, the per-client limit, and logs that never hold a secret."""

import hashlib
import hmac
import json
import re
import subprocess
import tempfile
import time

import requests

from latchkey_helpers import BINARY, OUTBOX_KEY, PRODUCTION_BASE, PRODUCTION_COOKIE, clean_environment, free_port

SECRET = "a-webhook-secret-of-some-length"
STRONG = "correct horse battery"
STRONGER = "staple-42-battery-horse"


def signed(headers, body):
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("X-Latchkey-Signature", ""), expected)


def production_env(receiver, extra=None):
    env = {
        **PRODUCTION_BASE, "RESET_TOKEN_DELIVERY": "webhook", "WEBHOOK_URL": receiver.url,
        "WEBHOOK_SECRET": SECRET, "BCRYPT_COST": "4", "ALLOWED_ORIGINS": "https://app.example.com",
        "MFA_ENCRYPTION_KEY": OUTBOX_KEY,
    }
    env.update(extra or {})
    return env


def assert_clean_log(output, secrets):
    for secret in secrets:
        assert secret not in output, f"a secret reached the log: {secret[:6]}..."


def test_production_profile_with_webhook_delivery(receive_webhooks, start_server):
    receiver = receive_webhooks(failures=1)
    # Deliveries are counted one by one here: no verification tokens (test_email_verification.py).
    server = start_server(production_env(receiver, {"EMAIL_VERIFICATION": "off"}))
    url = server.url
    # Passwords: at least 15 characters by default in production, and not a common one.
    response = requests.post(url + "/users", data={"email": "ada@example.com", "password": "fourteen-chars"})
    assert response.status_code == 400 and "at least 15" in response.json()["message"]
    response = requests.post(url + "/users", data={"email": "ada@example.com",
                                                   "password": "1q2w3e4r5t6y7u8i9o0p"})
    assert response.status_code == 400 and "common" in response.json()["message"]

    first = requests.post(url + "/users", data={"email": "ada@example.com", "password": STRONG})
    assert first.status_code == 200
    assert first.json() == {"email": "ada@example.com", "message": "user created"}
    # Registering an existing address answers exactly as a new one; the owner is told.
    again = requests.post(url + "/users", data={"email": "ADA@example.com", "password": "another password"})
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    (attempt,) = receiver.events("registration_attempt_existing_account")
    assert attempt == {"event": "registration_attempt_existing_account", "email": "ada@example.com"}

    login = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": STRONG})
    assert login.status_code == 200
    assert "secure" in [p.strip().lower() for p in login.headers["Set-Cookie"].split(";")]
    assert login.headers["Cache-Control"] == "no-store"
    assert login.headers["X-Content-Type-Options"] == "nosniff"
    session_id = login.cookies[PRODUCTION_COOKIE]
    # The cookie jar would not send a Secure cookie over plain HTTP: pass it explicitly.
    profile = requests.get(url + "/profile", cookies={PRODUCTION_COOKIE: session_id})
    assert profile.status_code == 200 and profile.json() == {"email": "ada@example.com"}

    # Reset: the same answer for a known and an unknown email; the token goes to the webhook.
    known = requests.post(url + "/reset_password", data={"email": "ada@example.com"})
    unknown = requests.post(url + "/reset_password", data={"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert "reset_token" not in known.json()
    assert known.json()["message"] == unknown.json()["message"]
    assert unknown.json()["email"] == "ghost@example.com"
    (event,) = receiver.events("password_reset_requested")
    assert set(event) == {"event", "email", "reset_token", "expires_at"}
    assert event["email"] == "ada@example.com"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["expires_at"])
    # Every delivery is signed over its exact body; the first answer was a 500 and was retried.
    with receiver.lock:
        deliveries = list(receiver.requests)
    assert all(signed(headers, body) for headers, body, _ in deliveries)
    assert [status for _, _, status in deliveries].count(500) == 1
    assert len(deliveries) == 3  # a 500, its retry, and the reset event
    assert deliveries[0][1] == next(body for _, body, status in deliveries[1:] if status == 204
                                    and json.loads(body)["event"] == "registration_attempt_existing_account")

    token = event["reset_token"]
    response = requests.put(url + "/reset_password",
                            data={"email": "ada@example.com", "reset_token": token, "new_password": STRONGER})
    assert response.status_code == 200
    assert requests.get(url + "/profile", cookies={PRODUCTION_COOKIE: session_id}).status_code == 403
    assert requests.post(url + "/sessions",
                         data={"email": "ada@example.com", "password": STRONGER}).status_code == 200

    # Cross-site requests that change state are refused; the allowed origin is not.
    evil = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": STRONGER},
                         headers={"Origin": "https://evil.example.net"})
    assert evil.status_code == 403
    cross = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": STRONGER},
                          headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    allowed = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": STRONGER},
                            headers={"Origin": "https://app.example.com", "Sec-Fetch-Site": "same-site"})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert server.stop() == 0
    output = server.output()
    summary = [line for line in output.splitlines() if "security settings" in line]
    assert len(summary) == 1 and "profile=production" in summary[0] and "reset_token_delivery=webhook" in summary[0]
    assert_clean_log(output, [STRONG, STRONGER, "another password", session_id, token, SECRET,
                              PRODUCTION_BASE["METRICS_TOKEN"]])


def test_production_refuses_unsafe_reset_delivery_with_one_line():
    for env, reason in [
        (PRODUCTION_BASE, "RESET_TOKEN_DELIVERY"),
        ({**PRODUCTION_BASE, "RESET_TOKEN_DELIVERY": "log"}, "RESET_TOKEN_DELIVERY"),
        ({**PRODUCTION_BASE, "RESET_TOKEN_DELIVERY": "response"}, "ALLOW_RESET_TOKEN_IN_RESPONSE"),
    ]:
        environment = clean_environment({"HOST": "127.0.0.1", "PORT": str(free_port()), **env})
        with tempfile.TemporaryDirectory() as folder:
            result = subprocess.run([BINARY, "serve"], cwd=folder, env=environment, capture_output=True, text=True,
                                    timeout=30)
        assert result.returncode != 0
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and reason in lines[0], result.stderr
    # --env on the command line selects the profile too.
    environment = clean_environment({"HOST": "127.0.0.1", "PORT": str(free_port()),
                                     "METRICS_TOKEN": PRODUCTION_BASE["METRICS_TOKEN"]})
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run([BINARY, "serve", "--env", "production"], cwd=folder, env=environment,
                                capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "RESET_TOKEN_DELIVERY" in result.stderr


def test_log_delivery_writes_the_token_to_the_log_only(start_server):
    server = start_server({"RESET_TOKEN_DELIVERY": "log", "BCRYPT_COST": "4"})
    assert requests.post(server.url + "/users", data={"email": "bob@example.com", "password": "b4l0u"}) \
        .status_code == 200
    known = requests.post(server.url + "/reset_password", data={"email": "bob@example.com"})
    unknown = requests.post(server.url + "/reset_password", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert "reset_token" not in known.json() and known.json()["message"] == unknown.json()["message"]
    # Issued and logged in the background, after the answer: a busy machine may write it late.
    deadline = time.time() + 30
    while "password reset token issued" not in server.output() and time.time() < deadline:
        time.sleep(0.05)
    line = next(l for l in server.output().splitlines() if "password reset token issued" in l)
    assert "notice" in line and "email=bob@example.com" in line
    token = re.search(r"reset_token=([A-Za-z0-9_-]{43})", line).group(1)
    response = requests.put(server.url + "/reset_password",
                            data={"email": "bob@example.com", "reset_token": token, "new_password": "t4rt1fl3tt3"})
    assert response.status_code == 200


def test_throttling_and_clean_logs_in_development(start_server):
    server = start_server({"BCRYPT_COST": "4", "LOG_LEVEL": "trace"})
    url = server.url
    assert requests.post(url + "/users", data={"email": "bob@example.com", "password": "b4l0u"}).status_code == 200
    session_id = requests.post(url + "/sessions",
                               data={"email": "bob@example.com", "password": "b4l0u"}).cookies["session_id"]
    token = requests.post(url + "/reset_password", data={"email": "bob@example.com"}).json()["reset_token"]
    failing_from = time.monotonic()
    for _ in range(10):
        response = requests.post(url + "/sessions", data={"email": "bob@example.com", "password": "wr0ng-pass"})
        assert response.status_code == 401
    response = requests.post(url + "/sessions", data={"email": "bob@example.com", "password": "b4l0u"})
    assert response.status_code == 429
    assert set(response.json()) == {"message"}
    # The first wait (60 s), less what has passed since the failures began and a second for
    # the rounding to whole seconds: the time the machine took, measured, not assumed.
    waited = time.monotonic() - failing_from
    assert 60 - waited - 1 <= int(response.headers["Retry-After"]) <= 60, waited
    # Unknown addresses are throttled alike, so a 429 reveals nothing.
    for _ in range(10):
        assert requests.post(url + "/sessions",
                             data={"email": "ghost@example.com", "password": "wr0ng-pass"}).status_code == 401
    assert requests.post(url + "/sessions",
                         data={"email": "ghost@example.com", "password": "wr0ng-pass"}).status_code == 429
    assert server.stop() == 0
    assert_clean_log(server.output(), ["b4l0u", "wr0ng-pass", session_id, token])


def test_per_client_limit(start_server):
    server = start_server({"BCRYPT_COST": "4", "RATE_LIMIT_PER_IP_PER_MINUTE": "3"})
    statuses = [
        requests.post(server.url + "/sessions", data={"email": f"u{i}@example.com", "password": "x1y2z3"})
        .status_code for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    assert requests.get(server.url + "/").status_code == 200


def test_shutdown_does_not_wait_for_webhook_retries_and_the_next_start_sends(receive_webhooks, start_server):
    failing = receive_webhooks(failures=1000)  # the webhook keeps failing
    server = start_server(production_env(failing))
    assert requests.post(server.url + "/users", data={"email": "ada@example.com", "password": STRONG}) \
        .status_code == 200
    assert requests.post(server.url + "/reset_password", data={"email": "ada@example.com"}).status_code == 200
    # Delivered in the background: a busy machine may make the first attempt late.
    deadline = time.time() + 30
    while not failing.requests and time.time() < deadline:
        time.sleep(0.05)
    assert failing.requests, "the webhook was never called"
    signalled = time.monotonic()
    server.process.send_signal(15)
    assert server.process.wait(timeout=12) == 0
    # The next try is 10 s after the first (±20 %): a stopping service waits for no retry.
    assert time.monotonic() - signalled < 8
    assert "message not sent; will retry" in server.output()
    with failing.lock:
        first_id = failing.requests[0][0]["webhook-id"]
    # The message stayed in the outbox: the next start sends it, under the same id.
    working = receive_webhooks()
    again = start_server(production_env(working))
    headers, body = working.delivery(json.loads(failing.requests[0][1])["event"], seconds=40)
    assert headers["webhook-id"] == first_id and signed(headers, body)
    assert again.stop() == 0
