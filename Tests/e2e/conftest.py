"""Fixtures every end-to-end test gets."""

import os

import pytest

from latchkey_helpers import PostgresDatabase, Server, WebhookReceiver


@pytest.fixture(autouse=True)
def run_in_an_empty_folder(tmp_path, monkeypatch):
    """Runs each test from an empty folder of its own, so that a `latchkey` process started without
    an explicit `cwd` reads no `.env` file of the developer's (settings come from flags, then the
    environment, then `./.env`) and writes no database next to the sources."""
    monkeypatch.chdir(tmp_path)


class ServerFactory:
    """Starts `latchkey serve` processes and stops them all at the end; see `start_server`."""

    def __init__(self, folder):
        self.folder = folder
        self.started = []

    def __call__(self, env=None, folder=None, wait=True, prefix=()):
        folder = str(folder or self.folder)
        os.makedirs(folder, exist_ok=True)
        server = Server(folder, env, wait=wait, prefix=prefix)
        self.started.append(server)
        return server

    def stop_all(self):
        failures = []
        for server in self.started:
            code = server.stop()
            if code != server.expected_code:
                try:
                    log = server.output()
                except OSError:
                    log = "(its folder is gone)"
                failures.append(f"latchkey on port {server.port} exited with {code}:\n{log}")
        assert not failures, "\n".join(failures)


@pytest.fixture
def start_server(tmp_path):
    """The one way a test starts `latchkey serve` and has it stopped: `start_server(env)` starts one
    with the given settings (on 127.0.0.1 and a free port) in the test's own folder, where its SQLite
    file lives unless `DATABASE_URL` names another, or in `folder` when given (made if missing), and
    waits until it answers (`wait=False` returns at once; `prefix` is a command to run it under,
    `prlimit ...` say). A test may stop a server itself (`server.stop()`), to look at its files, to
    watch how it stops, or to start another in the same folder. When the test ends, every server it
    started that still runs is stopped with SIGTERM, and each must have exited with 0 (its log is
    shown when one did not); a server the test stopped itself is checked the same way, and one it
    killed (`server.kill()`) must have died of SIGKILL."""
    factory = ServerFactory(tmp_path)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def start_module_server(tmp_path_factory):
    """`start_server` for a module's shared servers: they live in one folder of the module's own and
    are stopped, and checked, when the module's last test has run."""
    factory = ServerFactory(tmp_path_factory.mktemp("module"))
    yield factory
    factory.stop_all()


@pytest.fixture
def receive_webhooks():
    """`receive_webhooks(failures=0)` starts a local webhook endpoint (`WebhookReceiver`) and shuts it
    down when the test ends. Name it before `start_server` among a test's arguments, so that the
    servers that post to it stop first."""
    receivers = []

    def start(failures=0):
        receiver = WebhookReceiver(failures)
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.stop()


@pytest.fixture
def postgres_database():
    """A fresh PostgreSQL database (`PostgresDatabase`), dropped when the test ends. Name it before
    `start_server` among a test's arguments, so that the servers using it stop first."""
    with PostgresDatabase() as database:
        yield database
