"""Email verification end to end: in development with the token in the answer, and in production
with `EMAIL_VERIFICATION=required` and the tokens at a webhook receiver; the delivery setting's
two names; an address registered by someone who does not own it."""

import subprocess

import pytest
import requests

from latchkey_helpers import BINARY, PRODUCTION_COOKIE, PostgresDatabase, clean_environment, free_port
from test_hardening import STRONG, production_env, signed

ACCEPTED = "if this address has an unverified account, a verification token is on its way"


def test_verification_with_the_token_in_the_answer(start_server):
    server = start_server({"BCRYPT_COST": "4"})
    url = server.url
    # The seed contract's answer is unchanged.
    created = requests.post(url + "/users", data={"email": "ada@example.com", "password": "b4l0u"})
    assert created.json() == {"email": "ada@example.com", "message": "user created"}
    session = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": "b4l0u"})
    cookie = session.cookies["session_id"]
    assert requests.get(url + "/account", cookies={"session_id": cookie}).json()["email_verified"] is False

    unknown = requests.post(url + "/verify_email", data={"email": "ghost@example.com"})
    assert (unknown.status_code, unknown.json()) == (403, {"message": "email not registered"})
    issued = requests.post(url + "/verify_email", data={"email": "ADA@example.com"})
    assert issued.status_code == 200 and set(issued.json()) == {"email", "verification_token"}
    token = issued.json()["verification_token"]
    wrong = requests.put(url + "/verify_email", data={"email": "bob@example.com", "verification_token": token})
    assert wrong.status_code == 403
    verified = requests.put(url + "/verify_email", json={"email": "ada@example.com", "verification_token": token})
    assert (verified.status_code, verified.json()) == (200, {"email": "ada@example.com",
                                                             "message": "Email verified"})
    again = requests.put(url + "/verify_email", json={"email": "ada@example.com", "verification_token": token})
    assert again.status_code == 403
    assert requests.post(url + "/verify_email", data={"email": "ada@example.com"}).status_code == 409
    assert requests.get(url + "/account", cookies={"session_id": cookie}).json()["email_verified"] is True
    events = requests.get(url + "/account/activity", cookies={"session_id": cookie}).json()["events"]
    assert events[0]["type"] == "email_verified"
    # No token ever reaches the log with response delivery.
    assert token not in server.output()


def test_required_verification_in_production_with_webhook_delivery(receive_webhooks, start_server):
    receiver = receive_webhooks()
    server = start_server(production_env(receiver, {"EMAIL_VERIFICATION": "required"}))
    url = server.url
    assert requests.post(url + "/users", data={"email": "ada@example.com", "password": STRONG}).status_code == 200
    (first,) = receiver.events("email_verification_requested")
    assert set(first) == {"event", "email", "verification_token", "expires_at"}
    assert first["email"] == "ada@example.com"

    wrong = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": "not the password"})
    assert wrong.status_code == 401
    refused = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": STRONG})
    assert (refused.status_code, refused.json()) == (403, {"message": "verify your email address before "
                                                                      "logging in"})
    assert "Set-Cookie" not in refused.headers
    second = receiver.events("email_verification_requested", count=2)[-1]

    # The same answer for every well-formed address.
    known = requests.post(url + "/verify_email", data={"email": "ada@example.com"})
    unknown = requests.post(url + "/verify_email", data={"email": "ghost@example.com"})
    assert known.json() == {"email": "ada@example.com", "message": ACCEPTED}
    assert unknown.json() == {"email": "ghost@example.com", "message": ACCEPTED}
    newest = receiver.events("email_verification_requested", count=3)[-1]
    stale = requests.put(url + "/verify_email",
                         data={"email": "ada@example.com", "verification_token": second["verification_token"]})
    assert stale.status_code == 403
    verified = requests.put(url + "/verify_email",
                            data={"email": "ada@example.com", "verification_token": newest["verification_token"]})
    assert verified.status_code == 200
    login = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": STRONG})
    assert login.status_code == 200 and login.cookies[PRODUCTION_COOKIE]
    with receiver.lock:
        assert all(signed(headers, body) for headers, body, _ in receiver.requests)
    for token in (first["verification_token"], newest["verification_token"]):
        assert token not in server.output()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_squatted_address_belongs_to_whoever_proves_the_mailbox(backend, receive_webhooks, start_server):
    """Someone registers ada's address with their own password and logs in; ada registers too (the
    same answer, nothing stored but a pending claim), then follows the link that reached her
    mailbox with her password: only her password works afterwards, and the squatter's session ends."""
    receiver = receive_webhooks()
    database = PostgresDatabase() if backend == "postgres" else None
    env = production_env(receiver, {"EMAIL_VERIFICATION": "optional"})
    if database:
        env.update({"DATABASE_URL": database.__enter__().url, "DATABASE_TIMEOUT": "30"})
    try:
        server = start_server(env)
        url = server.url
        squatter_password, owner_password = STRONG, "owner's own long passphrase"
        assert requests.post(url + "/users", data={"email": "ada@example.com", "password": squatter_password}) \
            .json() == {"email": "ada@example.com", "message": "user created"}
        (link,) = receiver.events("email_verification_requested")
        squatter = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": squatter_password})
        assert squatter.status_code == 200
        again = requests.post(url + "/users", data={"email": "ADA@example.com", "password": owner_password})
        assert (again.status_code, again.json()) == (200, {"email": "ada@example.com", "message": "user created"})
        assert receiver.events("registration_attempt_existing_account")
        # The claim sends no token of its own.
        assert len(receiver.events("email_verification_requested")) == 1

        fields = {"email": "ada@example.com", "verification_token": link["verification_token"]}
        unsure = requests.put(url + "/verify_email", data=fields)
        assert (unsure.status_code, unsure.json()) == (
            400, {"message": "password required: this address was registered more than once"})
        weak = requests.put(url + "/verify_email", data={**fields, "password": "short"})
        assert weak.status_code == 400 and "at least 15" in weak.json()["message"]
        proven = requests.put(url + "/verify_email", json={**fields, "password": owner_password})
        assert (proven.status_code, proven.json()) == (200, {"email": "ada@example.com", "message": "Email verified"})

        assert requests.post(url + "/sessions", data={"email": "ada@example.com", "password": squatter_password}) \
            .status_code == 401
        assert requests.get(url + "/profile", cookies={PRODUCTION_COOKIE: squatter.cookies[PRODUCTION_COOKIE]}) \
            .status_code == 403
        owner = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": owner_password})
        assert owner.status_code == 200
        assert owner_password not in server.output() and squatter_password not in server.output()
        assert server.stop() == 0
    finally:
        if database:
            database.__exit__(None, None, None)


def test_the_delivery_setting_has_two_names_that_must_agree(start_server, tmp_path):
    for environment in [{"TOKEN_DELIVERY": "log", "RESET_TOKEN_DELIVERY": "response"}, {"TOKEN_DELIVERY": "bogus"}]:
        env = clean_environment({"HOST": "127.0.0.1", "PORT": str(free_port()), **environment})
        result = subprocess.run([BINARY, "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
        assert result.returncode != 0
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "TOKEN_DELIVERY" in lines[0], result.stderr
    # Either name alone works, and an old deployment's RESET_TOKEN_DELIVERY keeps its meaning.
    server = start_server({"RESET_TOKEN_DELIVERY": "log", "BCRYPT_COST": "4"})
    requests.post(server.url + "/users", data={"email": "ada@example.com", "password": "b4l0u"})
    answer = requests.post(server.url + "/reset_password", data={"email": "ada@example.com"}).json()
    assert "reset_token" not in answer
    assert server.stop() == 0


def test_email_change_in_development_and_in_production(receive_webhooks, start_server, tmp_path):
    server = start_server({"BCRYPT_COST": "4"})
    url = server.url
    requests.post(url + "/users", data={"email": "ada@example.com", "password": "b4l0u"})
    requests.post(url + "/users", data={"email": "eve@example.com", "password": "b4l0u"})
    cookie = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": "b4l0u"}
                           ).cookies["session_id"]
    jar = {"session_id": cookie}
    assert requests.put(url + "/account/email", data={"password": "nope", "new_email": "new@example.com"},
                        cookies=jar).status_code == 401
    taken = requests.put(url + "/account/email", data={"password": "b4l0u", "new_email": "eve@example.com"},
                         cookies=jar)
    assert (taken.status_code, taken.json()) == (400, {"message": "email already registered"})
    started = requests.put(url + "/account/email", data={"password": "b4l0u", "new_email": "new@example.com"},
                           cookies=jar)
    assert started.status_code == 200 and set(started.json()) == {"email", "verification_token"}
    # Nothing changes before the token is used.
    assert requests.get(url + "/profile", cookies=jar).json() == {"email": "ada@example.com"}
    moved = requests.put(url + "/verify_email", data={"email": "new@example.com",
                                                      "verification_token": started.json()["verification_token"]})
    assert moved.json() == {"email": "new@example.com", "message": "Email verified"}
    assert requests.get(url + "/profile", cookies=jar).json() == {"email": "new@example.com"}
    account = requests.get(url + "/account", cookies=jar).json()
    assert account["email"] == "new@example.com" and account["email_verified"] is True

    receiver = receive_webhooks()
    server = start_server(production_env(receiver), folder=tmp_path / "production")
    url = server.url
    for email in ("ada@example.com", "eve@example.com"):
        assert requests.post(url + "/users", data={"email": email, "password": STRONG}).status_code == 200
    cookie = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": STRONG}
                           ).cookies[PRODUCTION_COOKIE]
    jar = {PRODUCTION_COOKIE: cookie}
    # A taken address gets the answer of a free one; its owner is told; no token is issued.
    taken = requests.put(url + "/account/email", data={"password": STRONG, "new_email": "eve@example.com"},
                         cookies=jar)
    free = requests.put(url + "/account/email", data={"password": STRONG, "new_email": "new@example.com"},
                        cookies=jar)
    assert taken.status_code == free.status_code == 200
    assert taken.json() == {"email": "eve@example.com", "message": ACCEPTED}
    assert free.json() == {"email": "new@example.com", "message": ACCEPTED}
    assert {"event": "registration_attempt_existing_account", "email": "eve@example.com"} in \
        receiver.events("registration_attempt_existing_account")
    # The current address hears of an attempt whatever the new address, so its mailbox tells
    # nothing either; at most one such notice an hour reaches it (the second is dropped, and logged).
    (requested,) = receiver.events("email_change_requested")
    (started,) = receiver.events("email_change_started")
    assert started == {"event": "email_change_started", "email": "ada@example.com", "new_email": "eve@example.com"}
    assert "notice dropped" in server.output()
    assert requested["email"] == "new@example.com"
    moved = requests.put(url + "/verify_email", data={"email": "new@example.com",
                                                      "verification_token": requested["verification_token"]})
    assert moved.status_code == 200
    (changed,) = receiver.events("email_changed")
    assert changed == {"event": "email_changed", "email": "ada@example.com", "new_email": "new@example.com"}
    assert requests.get(url + "/profile", cookies=jar).json() == {"email": "new@example.com"}
    assert requested["verification_token"] not in server.output()
