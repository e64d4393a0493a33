"""A newcomer's first hour at the command line: where the server listens and says so, a port in
use, every configuration problem at once, a password typed at a terminal, commands that say when
there is nothing to do, the shutdown's log lines, and a JSON body sent as a form."""

import os
import pty
import select
import signal
import socket
import subprocess
import tempfile
import time

import requests

from latchkey_helpers import BINARY, clean_environment, free_port, latchkey


def listening_address(port):
    """The IPv4 address a socket listens on at `port`, from /proc/net/tcp (state 0A is LISTEN)."""
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":
                return socket.inet_ntoa(bytes.fromhex(address)[::-1])
    return None


def serve_without_host(folder, env):
    """A server whose environment names no HOST: the profile's default decides."""
    port = free_port()
    environment = clean_environment({"PORT": str(port), "BCRYPT_COST": "4", **env})
    log_path = os.path.join(folder, "server.log")
    log = open(log_path, "ab")
    process = subprocess.Popen([BINARY, "serve"], cwd=folder, env=environment, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while listening_address(port) is None:
        assert process.poll() is None, open(log_path).read()
        assert time.monotonic() < deadline, "the server did not listen"
        time.sleep(0.05)
    return process, port, log, log_path


def stop(process, log):
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    log.close()


def test_development_listens_on_loopback_and_says_where():
    with tempfile.TemporaryDirectory() as folder:
        process, port, log, log_path = serve_without_host(folder, {})
        try:
            assert listening_address(port) == "127.0.0.1"
            assert requests.get(f"http://127.0.0.1:{port}/").json() == {"message": "Bienvenue"}
        finally:
            stop(process, log)
        output = open(log_path).read()
        assert f"url=http://127.0.0.1:{port}/" in output
        lines = output.splitlines()
        listening = [i for i, line in enumerate(lines) if "listening" in line and "url=" in line]
        # The shutdown says when it begins and when it ends, in that order.
        begins = [i for i, line in enumerate(lines) if "shutting down" in line]
        ends = [i for i, line in enumerate(lines) if line.rstrip().endswith("stopped") or " stopped" in line]
        assert len(listening) == 1 and len(begins) == 1 and len(ends) == 1, output
        assert listening[0] < begins[0] < ends[0]


def test_production_listens_on_every_interface():
    env = {"LATCHKEY_ENV": "production", "METRICS_TOKEN": "a-metrics-token-for-the-tests",
           "TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true"}
    with tempfile.TemporaryDirectory() as folder:
        process, port, log, log_path = serve_without_host(folder, env)
        try:
            assert listening_address(port) == "0.0.0.0"
        finally:
            stop(process, log)
        assert f"url=http://localhost:{port}/" in open(log_path).read()


def test_a_port_in_use_is_one_line():
    with socket.socket() as taken, tempfile.TemporaryDirectory() as folder:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([BINARY, "serve"], cwd=folder, capture_output=True, text=True, timeout=60,
                                env=clean_environment({"PORT": str(port), "BCRYPT_COST": "4"}))
        assert result.returncode != 0
        errors = [line for line in (result.stderr + result.stdout).splitlines() if line.startswith("Error:")]
        assert errors == [f"Error: port {port} is in use; choose another with --port or PORT"], result


def test_every_configuration_problem_is_reported_at_once():
    with tempfile.TemporaryDirectory() as folder:
        env = clean_environment({"LATCHKEY_ENV": "production", "PORT": "eighty", "BCRYPT_COST": "99",
                                 "LOG_FORMAT": "xml"})
        result = subprocess.run([BINARY, "serve"], cwd=folder, capture_output=True, text=True, timeout=60, env=env)
        assert result.returncode != 0
        errors = [line for line in result.stderr.splitlines() if line.strip()]
        assert all(line.startswith("Error: ") for line in errors), result.stderr
        named = [line.split(":")[1].strip() for line in errors]
        for setting in ["PORT", "BCRYPT_COST", "TOKEN_DELIVERY (or its old name RESET_TOKEN_DELIVERY)", "LOG_FORMAT",
                        "METRICS_TOKEN"]:
            assert setting in named, result.stderr
        assert len(errors) == 5, result.stderr
        assert not os.listdir(folder)  # nothing was opened or made


class Terminal:
    """A command run under a pseudo-terminal, as a person at a shell runs it."""

    def __init__(self, *args, env=None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(BINARY, [BINARY, *args], clean_environment({"BCRYPT_COST": "4", **(env or {})}))
        self.seen = b""

    def read_some(self):
        """Waits up to 0.1 s for output and adds it to `seen`; False once the terminal has ended."""
        ready, _, _ = select.select([self.fd], [], [], 0.1)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 1024)
        except OSError:
            chunk = b""
        self.seen += chunk
        return bool(chunk)

    def read_until(self, text, seconds=60):
        deadline = time.monotonic() + seconds
        while text.encode() not in self.seen:
            assert time.monotonic() < deadline, f"never saw {text!r}: {self.seen!r}"
            if not self.read_some():
                raise AssertionError(f"ended before {text!r}: {self.seen!r}")

    def type(self, text):
        os.write(self.fd, text.encode())

    def finish(self, seconds=60):
        """Reads to the end; returns the exit code."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.read_some():
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_users_create_at_a_terminal_asks_twice_without_echo(start_server, tmp_path):
    url = "sqlite://" + str(tmp_path / "db.sqlite")
    terminal = Terminal("users", "create", "ada@example.com", "--database-url", url)
    terminal.read_until("Password: ")
    terminal.type("b4l0u-typed\n")
    terminal.read_until("Password (again): ")
    terminal.type("b4l0u-typed\n")
    assert terminal.finish() == 0
    assert b"created\tada@example.com" in terminal.seen
    assert b"b4l0u-typed" not in terminal.seen  # never echoed
    server = start_server({"DATABASE_URL": url, "BCRYPT_COST": "4"})
    login = requests.post(server.url + "/sessions", data={"email": "ada@example.com", "password": "b4l0u-typed"})
    assert login.status_code == 200
    assert server.stop() == 0

    mistyped = Terminal("users", "create", "bob@example.com", "--database-url", url)
    mistyped.read_until("Password: ")
    mistyped.type("one-password\n")
    mistyped.read_until("Password (again): ")
    mistyped.type("another-one\n")
    assert mistyped.finish() != 0
    assert b"Error: the two passwords differ; nothing was created" in mistyped.seen
    listed = latchkey("users", "list", url=url)
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["ada@example.com"]


def test_users_list_has_a_header_at_a_terminal_only():
    with tempfile.TemporaryDirectory() as folder:
        url = "sqlite://" + os.path.join(folder, "db.sqlite")
        assert latchkey("users", "create", "ada@example.com", url=url, stdin="b4l0u-ada\n").returncode == 0
        terminal = Terminal("users", "list", "--database-url", url)
        assert terminal.finish() == 0
        lines = terminal.seen.decode().replace("\r\n", "\n").splitlines()
        assert lines[0] == "email\tcreated_at\tlive_sessions\temail_verified\tmfa"
        assert lines[1].startswith("ada@example.com\t")
        piped = latchkey("users", "list", url=url).stdout.splitlines()
        assert len(piped) == 1 and piped[0].startswith("ada@example.com\t")


def test_commands_with_nothing_to_do_say_so():
    with tempfile.TemporaryDirectory() as folder:
        url = "sqlite://" + os.path.join(folder, "db.sqlite")
        first = latchkey("migrate", url=url)
        assert first.returncode == 0 and "nothing to migrate" not in first.stderr
        dry = latchkey("migrate", "--dry-run", url=url)
        assert dry.returncode == 0 and dry.stdout == ""
        assert dry.stderr.strip() == "nothing to migrate: the schema is up to date"
        again = latchkey("migrate", url=url)
        # Standard output still lists the schema's migrations, for scripts.
        assert again.stdout == first.stdout and "nothing to migrate" in again.stderr
        conflicts = latchkey("users", "conflicts", url=url)
        assert conflicts.returncode == 0 and conflicts.stdout == ""
        assert conflicts.stderr.strip() == "no email conflicts"


def test_a_json_body_sent_as_a_form_says_which_content_type_to_send(start_server):
    server = start_server({"BCRYPT_COST": "4"})
    # What `curl -d '{"email": ...}'` sends: a form content type.
    response = requests.post(server.url + "/users", data='{"email": "ada@example.com", "password": "pw"}',
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("missing field: email") and "Content-Type: application/json" in message
    # A real form with a missing field keeps the short message.
    plain = requests.post(server.url + "/users", data={"password": "pw"})
    assert plain.json() == {"message": "missing field: email"}
