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
    answers. A test may stop a server itself (`server.stop()`), to look at its files or start another
    in the same folder. When the test ends, every server it started that still runs is stopped with
    SIGTERM, and each must have exited with 0 (its log is shown when one did not)."""
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
            try:
                log = server.output()
            except OSError:
                log = "(its folder is gone)"
            failures.append(f"latchkey on port {server.port} exited with {code}:\n{log}")
    assert not failures, "\n".join(failures)
