"""End-to-end test: the real `latchkey` binary on a fresh SQLite file and a free port,
driven over HTTP with `requests`, one function per step of the original service's script.

Run with `python3 -m pytest Tests/e2e` after `swift build`; LATCHKEY_BIN names another binary.
"""

import os
import signal
import subprocess
import tempfile

import pytest
import requests

from latchkey_helpers import (
    BINARY, EMAIL, NEW_PASSWD, PASSWD, clean_environment, free_port, log_in, log_in_wrong_password,
    log_out, profile_logged, profile_unlogged, register_user, reset_password_token, update_password, wait_until_up,
)


@pytest.fixture(scope="module")
def server(start_module_server):
    return start_module_server()


# The original script, one function per step; they run in this order and share state.
state = {}


def test_register_user(server):
    register_user(server.url, EMAIL, PASSWD)


def test_log_in_wrong_password(server):
    log_in_wrong_password(server.url, EMAIL, NEW_PASSWD)


def test_profile_unlogged(server):
    profile_unlogged(server.url)


def test_log_in(server):
    state["session_id"] = log_in(server.url, EMAIL, PASSWD)


def test_profile_logged(server):
    profile_logged(server.url, state["session_id"])


def test_log_out(server):
    log_out(server.url, state["session_id"])


def test_reset_password_token(server):
    state["reset_token"] = reset_password_token(server.url, EMAIL)


def test_update_password(server):
    update_password(server.url, EMAIL, state["reset_token"], NEW_PASSWD)


def test_log_in_with_new_password(server):
    log_in(server.url, EMAIL, NEW_PASSWD)
    log_in_wrong_password(server.url, EMAIL, PASSWD)


# Beyond the original script: what the binary itself must do.


def test_users_survive_a_restart(start_server, tmp_path):
    first = start_server({"BCRYPT_COST": "4"})
    register_user(first.url, "persist@example.com", "pw")
    assert first.stop() == 0
    second = start_server({"BCRYPT_COST": "4"})
    assert requests.post(
        second.url + "/sessions", data={"email": "persist@example.com", "password": "pw"}
    ).status_code == 200
    assert os.path.exists(tmp_path / "latchkey.sqlite")
    assert second.stop() == 0


@pytest.mark.parametrize(
    "env, reason",
    [
        ({"BCRYPT_COST": "3"}, "BCRYPT_COST"),
        ({"SESSION_COOKIE_SECURE": "yes"}, "SESSION_COOKIE_SECURE"),
        ({"DATABASE_URL": "sqlite:///nonexistent-folder/x.sqlite"}, "cannot open the SQLite database"),
    ],
)
def test_invalid_configuration_stops_start_up_with_one_line(env, reason):
    with tempfile.TemporaryDirectory() as folder:
        environment = clean_environment({"HOST": "127.0.0.1", "PORT": str(free_port())})
        environment.update(env)
        result = subprocess.run(
            [BINARY, "serve"], cwd=folder, env=environment, capture_output=True, text=True, timeout=30
        )
        assert result.returncode != 0
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert reason in lines[0]


def test_dot_env_file_is_read():
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        with open(os.path.join(folder, ".env"), "w") as dot_env:
            dot_env.write(f"PORT={port}\nHOST=127.0.0.1\nBCRYPT_COST=4\n")
        process = subprocess.Popen([BINARY, "serve"], cwd=folder, env=clean_environment(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_up(f"http://127.0.0.1:{port}", process)
            assert requests.get(f"http://127.0.0.1:{port}/").status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0


def test_migrate_command_is_idempotent():
    with tempfile.TemporaryDirectory() as folder:
        environment = clean_environment()
        url = "sqlite://" + os.path.join(folder, "m.sqlite")
        first = subprocess.run([BINARY, "migrate", "--database-url", url], env=environment,
                               capture_output=True, text=True, timeout=30)
        second = subprocess.run([BINARY, "migrate", "--database-url", url], env=environment,
                                capture_output=True, text=True, timeout=30)
        assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
        assert first.stdout == second.stdout
        assert "applied\t" in first.stdout


@pytest.fixture(scope="module")
def fast_server(start_module_server, tmp_path_factory):
    return start_module_server({"BCRYPT_COST": "4"}, folder=tmp_path_factory.mktemp("fast"))


def test_concurrent_registrations_of_one_address_have_one_winner(fast_server):
    import concurrent.futures

    def register(index):
        email = "Race@Example.com" if index % 2 else " race@example.com"
        return requests.post(fast_server.url + "/users", data={"email": email, "password": "pw"}, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(register, range(10)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * 9
    for response in responses:
        if response.status_code == 400:
            assert response.json() == {"message": "email already registered"}


def test_a_body_over_64_kib_is_413_over_the_wire(fast_server):
    response = requests.post(
        fast_server.url + "/users", data={"email": "big@example.com", "password": "x" * (70 * 1024)}
    )
    assert response.status_code == 413
    assert "message" in response.json()
    response = requests.post(fast_server.url + "/sessions", data={"email": "big@example.com", "password": "x"})
    assert response.status_code == 401


NASTY = [
    ("POST", "/users", {"data": b"\xff\xfe\x00"}),
    ("POST", "/users", {"data": "email=a%40b.c&password=%00", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
    ("POST", "/users", {"json": {"email": None, "password": "x"}}),
    ("POST", "/users", {"json": {"email": {"$ne": 1}, "password": "x"}}),
    ("POST", "/users", {"json": [1, 2, 3]}),
    ("POST", "/users", {"data": "{", "headers": {"Content-Type": "application/json"}}),
    ("POST", "/users", {"data": "a[b][c]=1", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
    ("POST", "/users", {"data": {"email": "x" * 300 + "@b.c", "password": "x"}}),
    ("POST", "/users", {"data": {"email": "a@b.c", "password": "é" * 257}}),
    ("POST", "/users", {"data": b"email=a%40b.c&password=%FF%FE", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
    ("POST", "/users", {"data": b'{"email": "a@b.c", "password": "\xff"}', "headers": {"Content-Type": "application/json"}}),
    ("POST", "/users", {"data": {"email": "a@exa\u00admple.com", "password": "x"}}),
    ("POST", "/sessions", {"data": {"email": "\u0000@b.c", "password": "x"}}),
    ("POST", "/sessions", {"data": {"email": "a@b.c", "password": "x" * 1000}}),
    ("GET", "/profile", {"headers": {"Cookie": "session_id=" + "\u00e9" * 43}}),
    ("GET", "/profile", {"headers": {"Cookie": "session_id"}}),
    ("GET", "/profile", {"headers": {"Cookie": ";;;=;"}}),
    ("DELETE", "/sessions", {"headers": {"Cookie": "session_id=" + "A" * 5000}}),
    ("PUT", "/reset_password", {"data": {"email": "a@b.c", "reset_token": "\u0000" * 43, "new_password": "x"}}),
    ("PUT", "/reset_password", {"data": "", "headers": {"Content-Type": "multipart/form-data; boundary=x"}}),
    ("POST", "/reset_password", {"data": {"email": ""}}),
    ("PATCH", "/profile", {}),
    ("GET", "/../../etc/passwd", {}),
]


@pytest.mark.parametrize("method, path, options", NASTY)
def test_nothing_a_client_sends_causes_a_5xx(fast_server, method, path, options):
    response = requests.request(method, fast_server.url + path, timeout=30, **options)
    assert response.status_code < 500, response.text
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"message"}
    assert "Traceback" not in response.text and "Fatal" not in response.text


def test_sigint_also_shuts_down_cleanly(start_server):
    running = start_server({"BCRYPT_COST": "4"})
    assert running.stop(signal.SIGINT) == 0


def test_settings_reach_the_running_service(start_server, tmp_path):
    import sqlite3

    running = start_server({"BCRYPT_COST": "4", "SESSION_COOKIE_SECURE": "true", "SESSION_LIFETIME": "120"})
    register_user(running.url, "conf@example.com", "pw")
    response = requests.post(running.url + "/sessions", data={"email": "conf@example.com", "password": "pw"})
    assert response.status_code == 200
    attributes = [part.strip().lower() for part in response.headers["Set-Cookie"].split(";")]
    assert "secure" in attributes
    assert "max-age=120" in attributes
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert running.stop() == 0
    with sqlite3.connect(tmp_path / "latchkey.sqlite") as db:
        (stored,) = db.execute("SELECT password_hash FROM users WHERE email = 'conf@example.com'").fetchone()
        # The keyed scheme, with bcrypt at the configured cost inside.
        assert stored.startswith("$lkb2$") and "$$2b$04$" in stored


def test_flags_override_the_environment():
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        environment = clean_environment({"PORT": str(free_port()), "HOST": "0.0.0.0", "BCRYPT_COST": "31"})
        process = subprocess.Popen(
            [BINARY, "serve", "--hostname", "127.0.0.1", "--port", str(port), "--bcrypt-cost", "4",
             "--database-url", "sqlite::memory:"],
            cwd=folder, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}", process)
            # BCRYPT_COST=31 would take days per hash: the flag's cost 4 answers at once.
            response = requests.post(f"http://127.0.0.1:{port}/users",
                                     data={"email": "flag@example.com", "password": "pw"}, timeout=10)
            assert response.status_code == 200
            assert not os.path.exists(os.path.join(folder, "latchkey.sqlite"))
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
