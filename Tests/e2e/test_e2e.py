"""End-to-end test: the real `latchkey` binary on a fresh SQLite file and a free port,
driven over HTTP with `requests`, one function per step of the original service's script.

Run with `python3 -m pytest Tests/e2e` after `swift build`; LATCHKEY_BIN names another binary.
"""

import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("LATCHKEY_BIN", os.path.join(ROOT, ".build", "debug", "latchkey"))

EMAIL = "guillaume@holberton.io"
PASSWD = "b4l0u"
NEW_PASSWD = "t4rt1fl3tt3"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment(extra=None):
    """The test's environment without any Latchkey setting, plus `extra`."""
    environment = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    environment.update(extra or {})
    return environment


def wait_until_up(url, process, seconds=30):
    """Polls `GET /` until it answers; fails if the process exits or time runs out."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"latchkey exited with {process.returncode}")
        try:
            requests.get(url + "/", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"latchkey did not answer within {seconds} seconds")


class Server:
    """A `latchkey serve` process on a fresh database in its own folder."""

    def __init__(self, folder, env=None):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = clean_environment({"HOST": "127.0.0.1", "PORT": str(self.port)})
        environment.update(env or {})
        self.log = open(os.path.join(folder, "server.log"), "ab")
        self.process = subprocess.Popen(
            [BINARY, "serve"], cwd=folder, env=environment, stdout=self.log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_up(self.url, self.process)
        except RuntimeError as error:
            self.stop()
            raise RuntimeError(f"{error}: {self.output()}")

    def output(self):
        with open(os.path.join(self.folder, "server.log"), "rb") as log:
            return log.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


SETTINGS = {
    "HOST", "PORT", "DATABASE_URL", "BCRYPT_COST", "PASSWORD_MIN_LENGTH", "SESSION_LIFETIME",
    "SESSION_IDLE_TIMEOUT", "SESSION_COOKIE_SECURE", "RESET_TOKEN_TTL", "PURGE_INTERVAL", "LOG_LEVEL",
}


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as folder:
        running = Server(folder)
        yield running
        assert running.stop() == 0, running.output()


# The original script, one function per step; they run in this order and share state.
state = {}


def register_user(url, email, password):
    response = requests.post(url + "/users", data={"email": email, "password": password})
    assert response.status_code == 200
    assert response.json() == {"email": email, "message": "user created"}
    assert response.headers["Content-Type"].startswith("application/json")


def log_in_wrong_password(url, email, password):
    response = requests.post(url + "/sessions", data={"email": email, "password": password})
    assert response.status_code == 401
    assert "session_id" not in response.cookies


def profile_unlogged(url):
    response = requests.get(url + "/profile")
    assert response.status_code == 403


def log_in(url, email, password):
    response = requests.post(url + "/sessions", data={"email": email, "password": password})
    assert response.status_code == 200
    assert response.json() == {"email": email, "message": "logged in"}
    session_id = response.cookies.get("session_id")
    assert session_id and len(session_id) == 43
    cookie = next(c for c in response.cookies if c.name == "session_id")
    assert cookie.path == "/"
    return session_id


def profile_logged(url, session_id):
    response = requests.get(url + "/profile", cookies={"session_id": session_id})
    assert response.status_code == 200
    assert response.json() == {"email": EMAIL}


def log_out(url, session_id):
    response = requests.delete(url + "/sessions", cookies={"session_id": session_id})
    # requests follows the redirect: the 302 is in the history, then the welcome page.
    assert [r.status_code for r in response.history] == [302]
    assert response.history[0].headers["Location"] == "/"
    assert response.status_code == 200
    assert response.json() == {"message": "Bienvenue"}
    assert requests.get(url + "/profile", cookies={"session_id": session_id}).status_code == 403


def reset_password_token(url, email):
    response = requests.post(url + "/reset_password", data={"email": email})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"email", "reset_token"}
    assert body["email"] == email
    return body["reset_token"]


def update_password(url, email, reset_token, new_password):
    response = requests.put(
        url + "/reset_password",
        data={"email": email, "reset_token": reset_token, "new_password": new_password},
    )
    assert response.status_code == 200
    assert response.json() == {"email": email, "message": "Password updated"}


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


def test_users_survive_a_restart():
    with tempfile.TemporaryDirectory() as folder:
        first = Server(folder, {"BCRYPT_COST": "4"})
        register_user(first.url, "persist@example.com", "pw")
        assert first.stop() == 0
        second = Server(folder, {"BCRYPT_COST": "4"})
        try:
            assert requests.post(
                second.url + "/sessions", data={"email": "persist@example.com", "password": "pw"}
            ).status_code == 200
            assert os.path.exists(os.path.join(folder, "latchkey.sqlite"))
        finally:
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


def test_sigterm_lets_in_flight_logins_finish():
    with tempfile.TemporaryDirectory() as folder:
        running = Server(folder, {"BCRYPT_COST": "12"})
        register_user(running.url, "slow@example.com", "pw")
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            futures = [
                pool.submit(
                    requests.post, running.url + "/sessions",
                    data={"email": "slow@example.com", "password": "pw"}, timeout=30,
                )
                for _ in range(4)
            ]
            time.sleep(0.3)
            running.process.send_signal(signal.SIGTERM)
            statuses = [future.result().status_code for future in futures]
        assert statuses == [200] * 4
        assert running.process.wait(timeout=12) == 0
        running.log.close()


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
def fast_server():
    with tempfile.TemporaryDirectory() as folder:
        running = Server(folder, {"BCRYPT_COST": "4"})
        yield running
        assert running.stop() == 0, running.output()


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
    ("POST", "/users", {"data": {"email": "a@b.c", "password": "é" * 40}}),
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


def test_sigint_also_shuts_down_cleanly():
    with tempfile.TemporaryDirectory() as folder:
        running = Server(folder, {"BCRYPT_COST": "4"})
        assert running.stop(signal.SIGINT) == 0


def test_settings_reach_the_running_service():
    import sqlite3

    with tempfile.TemporaryDirectory() as folder:
        running = Server(folder, {"BCRYPT_COST": "4", "SESSION_COOKIE_SECURE": "true", "SESSION_LIFETIME": "120"})
        try:
            register_user(running.url, "conf@example.com", "pw")
            response = requests.post(running.url + "/sessions", data={"email": "conf@example.com", "password": "pw"})
            assert response.status_code == 200
            attributes = [part.strip().lower() for part in response.headers["Set-Cookie"].split(";")]
            assert "secure" in attributes
            assert "max-age=120" in attributes
            assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
        finally:
            assert running.stop() == 0
        with sqlite3.connect(os.path.join(folder, "latchkey.sqlite")) as db:
            (stored,) = db.execute("SELECT password_hash FROM users WHERE email = 'conf@example.com'").fetchone()
        assert stored.startswith("$2b$04$")


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
