"""What the end-to-end tests share: starting `latchkey` processes on free ports, a throwaway
PostgreSQL database, and the steps of the original service's script.

The quick subset leaves out the tests marked `slow`, which take over 20 s each:
`python3 -m pytest -m "not slow" Tests/e2e`.
"""

import base64
import functools
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("LATCHKEY_BIN", os.path.join(ROOT, ".build", "debug", "latchkey"))

EMAIL = "guillaume@holberton.io"
PASSWD = "b4l0u"
NEW_PASSWD = "t4rt1fl3tt3"

# What every production server needs to start, besides the reset delivery each test chooses:
# production refuses to start without a metrics token (unless METRICS_ENABLED=false).
METRICS_TOKEN = "a-metrics-token-for-the-tests"
PRODUCTION_BASE = {"LATCHKEY_ENV": "production", "METRICS_TOKEN": METRICS_TOKEN}
# The key that seals the outbox's tokens: production with TOKEN_DELIVERY=webhook needs one.
OUTBOX_KEY = base64.b64encode(b"latchkey-e2e-outbox-key-32bytes!").decode()
# The session cookie's name in production, unless SESSION_COOKIE_NAME names another.
PRODUCTION_COOKIE = "__Host-session_id"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@functools.cache
def settings():
    """Every setting's environment variable, as the binary lists them (`latchkey settings --list`)."""
    command = [BINARY, "settings", "--list"]
    try:
        # No setting in its environment: listing them must not depend on their values.
        result = subprocess.run(command, env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"cannot run `{' '.join(command)}`: {error}") from error
    lines = result.stdout.splitlines()
    if result.returncode != 0 or not lines or not all(re.fullmatch(r"[A-Z][A-Z0-9_]*", line) for line in lines):
        raise RuntimeError(
            f"`{' '.join(command)}` did not list the settings (exit {result.returncode}), so the tests cannot "
            f"clear them from the environment of the processes they start:\n{result.stdout}{result.stderr}"
        )
    return frozenset(lines)


def clean_environment(extra=None):
    """The test's environment without any Latchkey setting, plus `extra`. Every latchkey process
    the tests start gets its environment from here."""
    names = settings()
    environment = {key: value for key, value in os.environ.items() if key not in names}
    environment.update(extra or {})
    return environment


def wait_until_up(url, process, seconds=30):
    """Polls `GET /` until it answers; fails if the process exits or time runs out."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"latchkey exited with {process.returncode}")
        try:
            # A busy machine may take a while to answer the first request: a probe that times out
            # is one more try, not a failure (the deadline above still bounds the wait).
            requests.get(url + "/", timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"latchkey did not answer within {seconds} seconds")


def end_process(process, sig=signal.SIGTERM, grace=15):
    """Sends `sig` to a process still running and waits `grace` seconds for it; then kills it."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Server:
    """A `latchkey serve` process in its own folder (its SQLite file lives there by default);
    `prefix` is a command that runs it, `prlimit ...` say."""

    def __init__(self, folder, env=None, wait=True, prefix=()):
        self.folder = folder
        self.expected_code = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = clean_environment({"HOST": "127.0.0.1", "PORT": str(self.port)})
        # `{port}` in a value is the port chosen here (a PUBLIC_URL that names it).
        environment.update({key: value.replace("{port}", str(self.port)) for key, value in (env or {}).items()})
        self.log_path = os.path.join(folder, f"server-{self.port}.log")
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [*prefix, BINARY, "serve"], cwd=folder, env=environment, stdout=self.log, stderr=subprocess.STDOUT
        )
        if wait:
            self.wait_until_up()

    def wait_until_up(self):
        try:
            wait_until_up(self.url, self.process)
        except RuntimeError as error:
            self.stop()
            raise RuntimeError(f"{error}: {self.output()}")

    def output(self):
        with open(self.log_path, "rb") as log:
            return log.read().decode(errors="replace")

    def kill(self):
        """Kills the process with SIGKILL, as a crash would, and waits for it; returns its exit code.
        The fixture that started it then expects that code instead of 0."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.log.close()
        self.expected_code = -signal.SIGKILL
        return self.process.returncode

    def stop(self, sig=signal.SIGTERM):
        end_process(self.process, sig)
        self.log.close()
        return self.process.returncode


class WebhookReceiver:
    """A local HTTP endpoint that records every POST; it answers 500 to the first `failures`."""

    def __init__(self, failures=0):
        self.requests = []
        self.failures = failures
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    fail = receiver.failures > 0
                    if fail:
                        receiver.failures -= 1
                    receiver.requests.append((dict(self.headers), body, 500 if fail else 204))
                self.send_response(500 if fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/latchkey"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, name, count=1, seconds=15):
        """Waits for `count` accepted deliveries of event `name`; returns their bodies."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            with self.lock:
                found = [
                    json.loads(body) for _, body, status in self.requests
                    if status == 204 and json.loads(body)["event"] == name
                ]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {name} event within {seconds} s: {self.requests}")

    def delivery(self, name, seconds=15):
        """Waits for the first accepted delivery of event `name`; returns its headers and exact bytes."""
        self.events(name, seconds=seconds)
        with self.lock:
            return next((headers, body) for headers, body, status in self.requests
                        if status == 204 and json.loads(body)["event"] == name)

    def stop(self):
        self.server.shutdown()


# The steps of the original script.


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




# The command line, and the original service's database for `import-flask`.


def latchkey(*args, url, stdin=None, env=None):
    """Runs a `latchkey` command on the database at `url` (bcrypt at cost 4); returns the result."""
    environment = clean_environment({"BCRYPT_COST": "4", **(env or {})})
    return subprocess.run([BINARY, *args, "--database-url", url], input=stdin, env=environment,
                          capture_output=True, text=True, timeout=60)


def flask_database(path, rows):
    """A SQLite file in the original service's schema (SQLAlchemy's `users` table); `rows` are
    (email, hashed_password, session_id, reset_token)."""
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("""CREATE TABLE users (
            id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(250) NOT NULL, hashed_password VARCHAR(250) NOT NULL,
            session_id VARCHAR(250), reset_token VARCHAR(250))""")
        db.executemany("INSERT INTO users (email, hashed_password, session_id, reset_token) VALUES (?, ?, ?, ?)",
                       rows)


# PostgreSQL: the server `.ci/run` starts with Tests/tools/postgres.sh.

POSTGRES_URL = os.environ.get("LATCHKEY_TEST_POSTGRES_URL", "")
POSTGRES_DIR = os.environ.get("LATCHKEY_TEST_POSTGRES_DIR", "")
POSTGRES_SCRIPT = os.path.join(ROOT, "Tests", "tools", "postgres.sh")


def require_postgres(control=False):
    """Skips (fails under CI=true) when no PostgreSQL server is configured; `control` also needs
    its data folder, to stop and start it."""
    missing = not POSTGRES_URL or (control and not POSTGRES_DIR)
    if missing:
        reason = "LATCHKEY_TEST_POSTGRES_URL (and LATCHKEY_TEST_POSTGRES_DIR) not set: PostgreSQL test skipped"
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: " + reason)
        pytest.skip(reason)


def psql(url, sql):
    result = subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def with_database(url, name):
    """`url` pointing at database `name` instead."""
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


class PostgresDatabase:
    """A fresh database on the test server, dropped on exit."""

    def __enter__(self):
        require_postgres()
        self.name = "latchkey_e2e_" + uuid.uuid4().hex
        psql(POSTGRES_URL, f"CREATE DATABASE {self.name}")
        self.url = with_database(POSTGRES_URL, self.name)
        return self

    def query(self, sql):
        return psql(self.url, sql)

    def __exit__(self, *exc):
        psql(POSTGRES_URL, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def stop_postgres():
    subprocess.run(["bash", POSTGRES_SCRIPT, "stop", POSTGRES_DIR], check=True, timeout=60)


def start_postgres():
    subprocess.run(["bash", POSTGRES_SCRIPT, "start", POSTGRES_DIR], check=True, timeout=60, stdout=subprocess.DEVNULL)


# nginx in front of several nodes, with the configuration shipped in deploy/nginx.

NGINX_CONF = os.path.join(ROOT, "deploy", "nginx", "latchkey.conf")
NGINX_AUTH_REQUEST_CONF = os.path.join(ROOT, "deploy", "nginx", "auth-request.conf")


def two_node_nginx(folder, node_ports):
    """deploy/nginx/latchkey.conf in front of two nodes, with a fresh self-signed certificate."""
    https_port, http_port = free_port(), free_port()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", os.path.join(folder, "key.pem"), "-out", os.path.join(folder, "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )
    proxy = Nginx(folder, NGINX_CONF, {
        "server 127.0.0.1:5001 ": f"server 127.0.0.1:{node_ports[0]} ",
        "server 127.0.0.1:5002 ": f"server 127.0.0.1:{node_ports[1]} ",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "/etc/latchkey/tls/fullchain.pem": os.path.join(folder, "cert.pem"),
        "/etc/latchkey/tls/privkey.pem": os.path.join(folder, "key.pem"),
    }, f"https://127.0.0.1:{https_port}")
    proxy.http_port = http_port
    return proxy


def require_nginx():
    if not os.path.exists("/usr/sbin/nginx"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: nginx is not installed")
        pytest.skip("nginx is not installed: nginx test skipped")


class Nginx:
    """nginx running one of the shipped configurations in deploy/nginx, with `replacements`
    (addresses, ports, certificate paths) put in place of the examples."""

    def __init__(self, folder, conf_path, replacements, url):
        require_nginx()
        self.folder = folder
        self.url = url
        with open(conf_path) as shipped:
            conf = shipped.read()
        for old, new in replacements.items():
            assert old in conf, old
            conf = conf.replace(old, new)
        with open(os.path.join(folder, "latchkey.conf"), "w") as site:
            site.write(conf)
        os.makedirs(os.path.join(folder, "tmp"), exist_ok=True)
        with open(os.path.join(folder, "nginx.conf"), "w") as main:
            main.write(f"""
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{}}
http {{
    log_format upstream '$request_method $uri $status $upstream_addr';
    access_log {folder}/access.log upstream;
    client_body_temp_path {folder}/tmp/body;
    proxy_temp_path {folder}/tmp/proxy;
    fastcgi_temp_path {folder}/tmp/fastcgi;
    uwsgi_temp_path {folder}/tmp/uwsgi;
    scgi_temp_path {folder}/tmp/scgi;
    include {folder}/latchkey.conf;
}}
""")
        self.process = subprocess.Popen(
            ["/usr/sbin/nginx", "-p", folder, "-c", os.path.join(folder, "nginx.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.time() + 15
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("nginx exited: " + self.process.stderr.read().decode(errors="replace"))
            try:
                requests.get(self.url + "/", verify=False, timeout=5)
                return
            except requests.RequestException:  # a timeout too: one more try, as for the nodes
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

    def upstreams(self):
        """The node address of every proxied request so far, in order."""
        with open(os.path.join(self.folder, "access.log")) as log:
            return [line.split()[-1] for line in log if line.strip() and line.split()[-1] != "-"]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=15)


def refusal(env, folder=None):
    """Starts `latchkey serve` with `env` (in `folder`, or a new empty one); asserts that it stops at
    once with one line on stderr, and returns that line."""
    environment = clean_environment({"HOST": "127.0.0.1", "PORT": str(free_port()), **env})
    with tempfile.TemporaryDirectory() as empty:
        try:
            result = subprocess.run([BINARY, "serve"], cwd=folder or empty, env=environment, capture_output=True,
                                    text=True, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"started with {env}")
    assert result.returncode != 0, f"started with {env}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]
