"""Fixtures every end-to-end test gets."""

import pytest

from latchkey_helpers import Server


@pytest.fixture(autouse=True)
def run_in_an_empty_folder(tmp_path, monkeypatch):
    """Runs each test from an empty folder of its own, so that a `latchkey` process started without
    an explicit `cwd` reads no `.env` file of the developer's (settings come from flags, then the
    environment, then `./.env`) and writes no database next to the sources."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def start_server(tmp_path):
    """The one way a test starts `latchkey serve` and has it stopped: `start_server(env)` starts one
    with the given settings (on 127.0.0.1 and a free port) in the test's own folder, where its SQLite
    file lives unless `DATABASE_URL` names another, or in `folder` when given, and waits until it
    answers. When the test ends, every server it started is stopped with SIGTERM, and each must exit
    with 0 (its log is shown when one does not)."""
    started = []

    def start(env=None, folder=None, wait=True):
        server = Server(str(folder or tmp_path), env, wait=wait)
        started.append(server)
        return server

    yield start
    failures = []
    for server in started:
        code = server.stop()
        if code != 0:
            failures.append(f"latchkey on port {server.port} exited with {code}:\n{server.output()}")
    assert not failures, "\n".join(failures)
