"""Fixtures every end-to-end test gets."""

import pytest


@pytest.fixture(autouse=True)
def run_in_an_empty_folder(tmp_path, monkeypatch):
    """Runs each test from an empty folder of its own, so that a `latchkey` process started without
    an explicit `cwd` reads no `.env` file of the developer's (settings come from flags, then the
    environment, then `./.env`) and writes no database next to the sources."""
    monkeypatch.chdir(tmp_path)
