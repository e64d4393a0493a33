"""Account self-service end to end: the account, the password change, the session list and its
revocations, and deleting the account, in development (on SQLite and on PostgreSQL) and in
production with a webhook receiver for the notices; and `latchkey users show`."""

import json
import re

import pytest
import requests

from latchkey_helpers import PRODUCTION_COOKIE, PostgresDatabase, latchkey
from test_hardening import STRONG, STRONGER, production_env, signed

RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def log_in(url, email, password, agent, cookie="session_id", forwarded_for=None):
    headers = {"User-Agent": agent}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    response = requests.post(url + "/sessions", data={"email": email, "password": password}, headers=headers)
    assert response.status_code == 200, response.text
    return response.cookies[cookie]


def walk_the_account(url, password, new_password, cookie="session_id"):
    """Every account route, in order, as one person with a phone and a laptop would use them."""
    jar = lambda token: {cookie: token}  # noqa: E731
    phone = log_in(url, "ada@example.com", password, "Phone/2.0", cookie)
    laptop = log_in(url, "ada@example.com", password, "Laptop/1.0 " + "x" * 300, cookie)

    account = requests.get(url + "/account", cookies=jar(phone))
    assert account.status_code == 200
    assert set(account.json()) == {"id", "email", "created_at", "email_verified", "mfa"}
    assert account.json()["mfa"] == {"totp": False, "recovery_codes_left": 0}
    assert account.json()["email"] == "ada@example.com" and re.fullmatch(RFC3339, account.json()["created_at"])
    assert requests.get(url + "/profile", cookies=jar(phone)).json() == {"email": "ada@example.com"}

    listed = requests.get(url + "/account/sessions", cookies=jar(phone))
    assert listed.status_code == 200
    sessions = listed.json()["sessions"]
    assert [s["current"] for s in sessions] == [False, True]
    assert [s["ip"] for s in sessions] == ["127.0.0.1", "127.0.0.1"]
    assert sessions[1]["user_agent"] == "Phone/2.0"
    assert len(sessions[0]["user_agent"]) == 256 and sessions[0]["user_agent"].startswith("Laptop/1.0 x")
    for session in sessions:
        assert re.fullmatch(r"[0-9a-f]{32}", session["id"])
        assert session["id"] not in (phone, laptop)
        assert all(re.fullmatch(RFC3339, session[key]) for key in ("created_at", "last_seen_at", "expires_at"))
    laptop_id = sessions[0]["id"]

    # Without a session: 403; with a wrong password: 401 and nothing changes.
    assert requests.get(url + "/account").status_code == 403
    wrong = requests.delete(url + "/account/sessions/" + laptop_id, data={"password": "nope"}, cookies=jar(phone))
    assert (wrong.status_code, wrong.json()) == (401, {"message": "wrong password"})
    unknown = requests.delete(url + "/account/sessions/" + "0" * 32, data={"password": password}, cookies=jar(phone))
    assert unknown.status_code == 404
    assert requests.get(url + "/profile", cookies=jar(laptop)).status_code == 200

    ended = requests.delete(url + "/account/sessions/" + laptop_id, json={"password": password}, cookies=jar(phone))
    assert ended.status_code == 204 and "Set-Cookie" not in ended.headers
    assert requests.get(url + "/profile", cookies=jar(laptop)).status_code == 403

    tablet = log_in(url, "ada@example.com", password, "Tablet/3.0", cookie)
    desk = log_in(url, "ada@example.com", password, "Desk/4.0", cookie)
    others = requests.delete(url + "/account/sessions", data={"password": password}, cookies=jar(phone))
    assert (others.status_code, others.json()) == (200, {"ended": 2})
    for token in (tablet, desk):
        assert requests.get(url + "/profile", cookies=jar(token)).status_code == 403

    laptop = log_in(url, "ada@example.com", password, "Laptop/1.0", cookie)
    changed = requests.put(url + "/account/password",
                           data={"current_password": password, "new_password": new_password},
                           cookies=jar(phone), headers={"User-Agent": "Phone/2.0"})
    assert (changed.status_code, changed.json()) == (200, {"message": "Password updated"})
    renewed = changed.cookies[cookie]
    assert renewed != phone
    max_age = int(re.search(r"Max-Age=(\d+)", changed.headers["Set-Cookie"]).group(1))
    assert 2592000 - 60 <= max_age <= 2592000
    for token in (phone, laptop):
        assert requests.get(url + "/profile", cookies=jar(token)).status_code == 403
    after = requests.get(url + "/account/sessions", cookies=jar(renewed)).json()["sessions"]
    assert [s["id"] for s in after] == [sessions[1]["id"]]
    activity = requests.get(url + "/account/activity", cookies=jar(renewed))
    assert activity.status_code == 200
    events = activity.json()["events"]
    assert [e["type"] for e in events][:8] == [
        "password_changed", "login_succeeded", "sessions_revoked", "login_succeeded", "login_succeeded",
        "session_revoked", "login_failed", "login_succeeded"]
    assert (events[0]["ip"], events[0]["user_agent"]) == ("127.0.0.1", "Phone/2.0")
    assert all(set(e) == {"type", "at", "ip", "user_agent"} and re.fullmatch(RFC3339, e["at"]) for e in events)
    old = requests.post(url + "/sessions", data={"email": "ada@example.com", "password": password})
    assert old.status_code == 401

    wrong = requests.delete(url + "/account", data={"password": password}, cookies=jar(renewed))
    assert wrong.status_code == 401
    deleted = requests.delete(url + "/account", data={"password": new_password}, cookies=jar(renewed))
    assert deleted.status_code == 204
    assert re.match(cookie + r"=; Max-Age=0; Path=/", deleted.headers["Set-Cookie"])
    assert requests.get(url + "/profile", cookies=jar(renewed)).status_code == 403
    again = requests.post(url + "/users", data={"email": "ada@example.com", "password": new_password})
    assert again.status_code == 200
    return account.json()["id"]


def test_account_self_service_in_development(start_server):
    server = start_server({"BCRYPT_COST": "4"})
    assert requests.post(server.url + "/users",
                         data={"email": "ada@example.com", "password": "b4l0u"}).status_code == 200
    walk_the_account(server.url, "b4l0u", "t4rt1fl3tt3")


def test_account_self_service_on_postgres(start_server):
    with PostgresDatabase() as database:
        # The store's deadline is not what this test is about: a busy machine may need more than 1.5 s.
        server = start_server({"BCRYPT_COST": "4", "DATABASE_URL": database.url, "DATABASE_TIMEOUT": "30"})
        assert requests.post(server.url + "/users",
                             data={"email": "ada@example.com", "password": "b4l0u"}).status_code == 200
        walk_the_account(server.url, "b4l0u", "t4rt1fl3tt3")
        assert database.query("SELECT count(*) FROM sessions WHERE public_id IS NULL") == "0"
        assert server.stop() == 0


def test_account_self_service_in_production_with_notices(receive_webhooks, start_server):
    receiver = receive_webhooks()
    server = start_server(production_env(receiver))
    url = server.url
    assert requests.post(url + "/users", data={"email": "ada@example.com", "password": STRONG}).status_code == 200
    # A weak new password is refused as at registration.
    token = log_in(url, "ada@example.com", STRONG, "Phone/2.0", PRODUCTION_COOKIE)
    weak = requests.put(url + "/account/password", data={"current_password": STRONG, "new_password": "short"},
                        cookies={PRODUCTION_COOKIE: token})
    assert weak.status_code == 400 and "at least 15" in weak.json()["message"]
    # A cross-site request is refused before anything else.
    cross = requests.delete(url + "/account", data={"password": STRONG}, cookies={PRODUCTION_COOKIE: token},
                            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    logged_out = requests.delete(url + "/sessions", cookies={PRODUCTION_COOKIE: token}, allow_redirects=False)
    assert logged_out.status_code == 302
    walk_the_account(url, STRONG, STRONGER, PRODUCTION_COOKIE)
    (changed,) = receiver.events("password_changed")
    assert set(changed) == {"event", "email", "at", "ip", "user_agent"}
    assert (changed["email"], changed["ip"], changed["user_agent"]) == ("ada@example.com", "127.0.0.1",
                                                                         "Phone/2.0")
    assert re.fullmatch(RFC3339, changed["at"])
    (deleted,) = receiver.events("account_deleted")
    assert set(deleted) == {"event", "email", "at"} and deleted["email"] == "ada@example.com"
    with receiver.lock:
        assert all(signed(headers, body) for headers, body, _ in receiver.requests)
    for secret in (STRONG, STRONGER, token):
        assert secret not in server.output()


def test_session_cap_ends_the_least_recently_used(start_server):
    server = start_server({"BCRYPT_COST": "4", "SESSIONS_PER_USER_MAX": "2"})
    url = server.url
    requests.post(url + "/users", data={"email": "ada@example.com", "password": "b4l0u"})
    first = log_in(url, "ada@example.com", "b4l0u", "One")
    second = log_in(url, "ada@example.com", "b4l0u", "Two")
    third = log_in(url, "ada@example.com", "b4l0u", "Three")
    assert requests.get(url + "/profile", cookies={"session_id": first}).status_code == 403
    for token in (second, third):
        assert requests.get(url + "/profile", cookies={"session_id": token}).status_code == 200


def test_users_show_lists_the_account_and_its_sessions_without_secrets(start_server, tmp_path):
    server = start_server({"BCRYPT_COST": "4"})
    requests.post(server.url + "/users", data={"email": "ada@example.com", "password": "b4l0u"})
    # A tab, as a header value may hold, is dropped with the other control characters.
    token = log_in(server.url, "ada@example.com", "b4l0u", "Phone\t2.0")
    assert server.stop() == 0
    database = "sqlite://" + str(tmp_path / "latchkey.sqlite")
    shown = latchkey("users", "show", "ADA@example.com", url=database)
    assert shown.returncode == 0, shown.stderr
    lines = [line.split("\t") for line in shown.stdout.splitlines()]
    assert lines[0][0] == "id" and lines[1] == ["email", "ada@example.com"] and lines[2][0] == "created_at"
    assert ["email_verified", "false"] in lines
    activity = [line for line in lines if line[0] == "activity"]
    assert activity and activity[0][1] == "login_succeeded" and activity[0][3:] == ["127.0.0.1", "Phone2.0"]
    (session,) = [line for line in lines if line[0] == "session"]
    assert re.fullmatch(r"[0-9a-f]{32}", session[1]) and session[5:] == ["127.0.0.1", "Phone2.0"]
    assert token not in shown.stdout
    as_json = json.loads(latchkey("users", "show", "ada@example.com", "--json", url=database).stdout)
    assert as_json["sessions"][0]["id"] == session[1] and as_json["sessions"][0]["user_agent"] == "Phone2.0"
    assert as_json["email_verified"] is False and as_json["activity"][0]["type"] == "login_succeeded"
    missing = latchkey("users", "show", "ghost@example.com", url=database)
    assert missing.returncode != 0 and "no such user" in missing.stderr
    listed = latchkey("users", "list", url=database)
    assert listed.stdout.rstrip("\n").split("\t")[0:5:2] == ["ada@example.com", "1", "false"]


@pytest.mark.parametrize("method,path", [
    ("GET", "/account"), ("PUT", "/account/password"), ("GET", "/account/sessions"),
    ("DELETE", "/account/sessions"), ("DELETE", "/account/sessions/" + "0" * 32), ("DELETE", "/account"),
    ("GET", "/account/activity"),
])
def test_account_routes_need_a_session(method, path, start_server):
    server = start_server({"BCRYPT_COST": "4"})
    response = requests.request(method, server.url + path, data={"password": "x"},
                                cookies={"session_id": "A" * 43})
    assert response.status_code == 403 and set(response.json()) == {"message"}
