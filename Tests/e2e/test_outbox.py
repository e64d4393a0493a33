"""The outbox: every message is a row first, and is delivered at least once, under one id, across
failures of the receiver, `kill -9`, restarts and several nodes; no token is readable in the
database file.

The PostgreSQL test needs LATCHKEY_TEST_POSTGRES_URL; `.ci/run` provides it.
"""

import concurrent.futures
import glob
import hashlib
import http.server
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time

import requests

from latchkey_helpers import BINARY, OUTBOX_KEY, clean_environment, free_port

SECRET = "a-webhook-secret-of-some-length"
ACCEPTED = "if this email has an account, a reset token is on its way"


class Receiver:
    """A webhook endpoint on `port` that answers 503 to the first `fail_first` attempts of each
    message id, holds every request while `gate` is closed, and records every attempt with the
    ids in flight at its start."""

    def __init__(self, port=None, fail_first=0):
        self.port = port or free_port()
        self.fail_first = fail_first
        self.attempts = []  # (webhook-id, body, status)
        self.in_flight = {}
        self.overlaps = []
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()
        self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                message_id = self.headers.get("webhook-id")
                with receiver.lock:
                    if receiver.in_flight.get(message_id):
                        receiver.overlaps.append(message_id)
                    receiver.in_flight[message_id] = receiver.in_flight.get(message_id, 0) + 1
                    earlier = sum(1 for seen, _, _ in receiver.attempts if seen == message_id)
                status = 503 if earlier < receiver.fail_first else 204
                receiver.gate.wait(30)
                with receiver.lock:
                    receiver.in_flight[message_id] -= 1
                    receiver.attempts.append((message_id, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def delivered(self):
        """The accepted deliveries: webhook-id to the event's JSON."""
        with self.lock:
            return {message_id: json.loads(body) for message_id, body, status in self.attempts if status == 204}

    def wait_for(self, predicate, seconds=60):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"the receiver did not get what was expected within {seconds} s")


def webhook_env(receiver, extra=None):
    env = {
        "TOKEN_DELIVERY": "webhook", "WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": SECRET, "BCRYPT_COST": "4",
        "EMAIL_VERIFICATION": "off", "OUTBOX_RETRY_FIRST": "1", "RESET_TOKENS_PER_HOUR": "1000",
    }
    env.update(extra or {})
    return env


def register(url, count, prefix="user"):
    emails = [f"{prefix}{i}@example.com" for i in range(count)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(
            lambda email: requests.post(url + "/users", data={"email": email, "password": "pw-" + email},
                                        timeout=60).status_code, emails))
    assert statuses == [200] * count
    return emails


def request_resets(urls, emails):
    """POSTs one reset per address, spread over `urls`, 16 at a time; returns the answers (or None
    for a request the server did not answer)."""
    def reset(index_email):
        index, email = index_email
        try:
            response = requests.post(urls[index % len(urls)] + "/reset_password", data={"email": email}, timeout=60)
            return response.status_code, response.json()
        except requests.RequestException:
            return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(reset, enumerate(emails)))


def sqlite_rows(folder, sql):
    with sqlite3.connect(os.path.join(folder, "latchkey.sqlite"), timeout=30) as connection:
        return connection.execute(sql).fetchall()


def outbox_settled(folder):
    return sqlite_rows(folder, "SELECT count(*) FROM outbox WHERE status = 'pending'") == [(0,)]


def test_a_failing_receiver_gets_the_message_again_under_one_id_and_the_answer_does_not_wait(start_server):
    receiver = Receiver(fail_first=2).start()
    try:
        server = start_server(webhook_env(receiver))
        register(server.url, 1)
        # Every attempt is held until the answer has come: the answer waits for no send.
        receiver.gate.clear()
        started = time.monotonic()
        answer = requests.post(server.url + "/reset_password", data={"email": "user0@example.com"}, timeout=60)
        elapsed = time.monotonic() - started
        receiver.gate.set()
        assert (answer.status_code, answer.json()) == (200, {"email": "user0@example.com", "message": ACCEPTED})
        # Within the webhook's own timeout (5 s), which a wait for the held send would have reached.
        assert elapsed < 5
        receiver.wait_for(lambda: len(receiver.delivered()) == 1)
        with receiver.lock:
            attempts = list(receiver.attempts)
        assert [status for _, _, status in attempts] == [503, 503, 204]
        assert len({message_id for message_id, _, _ in attempts}) == 1 and attempts[0][0].startswith("msg_")
        assert len({body for _, body, _ in attempts}) == 1
        (event,) = receiver.delivered().values()
        assert event["event"] == "password_reset_requested" and event["email"] == "user0@example.com"
        # The row says what happened; nothing is left to send.
        ((status, attempts_made, error),) = sqlite_rows(
            server.folder, "SELECT status, attempts, last_error FROM outbox")
        assert (status, attempts_made, error) == ("sent", 3, "the webhook answered 503")
        listed = subprocess.run([BINARY, "outbox", "list", "--database-url", "sqlite://latchkey.sqlite"],
                                cwd=server.folder, env=clean_environment(), capture_output=True, text=True,
                                timeout=60)
        assert listed.returncode == 0 and listed.stdout == "", listed.stderr
        metrics = requests.get(server.url + "/metrics").text
        assert 'latchkey_outbox_sent_total{kind="webhook"} 1' in metrics.splitlines()
        # The gauge is refreshed each second.
        receiver.wait_for(
            lambda: "latchkey_outbox_pending 0.0" in requests.get(server.url + "/metrics").text.splitlines(), 10)
        # The token works.
        reset = requests.put(server.url + "/reset_password", data={
            "email": "user0@example.com", "reset_token": event["reset_token"], "new_password": "a-new-password"})
        assert reset.status_code == 200
        assert server.stop() == 0
    finally:
        receiver.stop()


def test_a_receiver_down_for_a_while_loses_nothing_and_the_database_holds_no_token(start_server, tmp_path):
    receiver = Receiver()  # nothing listens on its port yet
    server = start_server(webhook_env(receiver))
    emails = register(server.url, 10)
    assert all(answer and answer[0] == 200 for answer in request_resets([server.url], emails))
    deadline = time.time() + 30
    # Each message has failed once (its outcome recorded), with nothing listening.
    while sqlite_rows(server.folder, "SELECT count(*) FROM outbox WHERE last_error IS NOT NULL") != [(10,)]:
        assert time.time() < deadline, "the messages were not tried"
        time.sleep(0.1)
    # A copy of the database while the tokens wait in it.
    copies = tmp_path / "copies"
    copies.mkdir()
    for path in glob.glob(os.path.join(server.folder, "latchkey.sqlite*")):
        shutil.copy(path, copies)
    receiver.start()
    try:
        receiver.wait_for(lambda: len(receiver.delivered()) == 10)
        tokens = [event["reset_token"] for event in receiver.delivered().values()]
        assert sorted(event["email"] for event in receiver.delivered().values()) == sorted(emails)
        assert len(set(tokens)) == 10
        receiver.wait_for(lambda: outbox_settled(server.folder))
        assert sqlite_rows(server.folder, "SELECT count(*) FROM outbox WHERE payload IS NOT NULL") == [(0,)]
        for path in glob.glob(str(copies / "*")) + glob.glob(os.path.join(server.folder, "latchkey.sqlite*")):
            found = subprocess.run(["strings", "-n", "8", path], capture_output=True, text=True, timeout=60).stdout
            assert not any(token in found for token in tokens), f"a token is readable in {path}"
            assert not any(token[:16] in found for token in tokens)
        assert "message not sent; will retry" in server.output()
        assert server.stop() == 0
    finally:
        receiver.stop()


def test_kill_9_during_a_burst_of_resets_loses_no_issued_token(start_server):
    receiver = Receiver()
    env = webhook_env(receiver)
    server = start_server(env)
    emails = register(server.url, 200)
    burst = threading.Thread(target=request_resets, args=([server.url], emails))
    burst.start()
    # Killed once about half of the tokens are in the outbox, while requests still come.
    deadline = time.time() + 60
    while sqlite_rows(server.folder, "SELECT count(*) FROM outbox")[0][0] < 100 and time.time() < deadline:
        time.sleep(0.02)
    assert server.kill() < 0
    burst.join()
    issued = {row[0] for row in sqlite_rows(server.folder, "SELECT id FROM outbox")}
    assert 100 <= len(issued) <= 200
    receiver.start()
    try:
        again = start_server(env)
        receiver.wait_for(lambda: issued <= set(receiver.delivered()), seconds=90)
        delivered = receiver.delivered()
        # Every stored reset token is one the receiver got.
        digests = {row[0] for row in sqlite_rows(again.folder, "SELECT token_hash FROM reset_tokens")}
        received = {hashlib.sha256(event["reset_token"].encode()).digest() for event in delivered.values()}
        assert digests and digests <= received
        # A duplicate comes only under its one id, with the same body.
        with receiver.lock:
            bodies = {}
            for message_id, body, _ in receiver.attempts:
                assert bodies.setdefault(message_id, body) == body
        assert len({body for body in bodies.values()}) == len(bodies)
        assert again.stop() == 0
    finally:
        receiver.stop()


def test_two_nodes_on_postgresql_deliver_every_message_never_twice_at_once(postgres_database, start_server):
    receiver = Receiver().start()
    try:
        env = webhook_env(receiver, {"DATABASE_URL": postgres_database.url, "DATABASE_TIMEOUT": "30",
                                     "MFA_ENCRYPTION_KEY": OUTBOX_KEY})
        first = start_server(env)
        second = start_server(env)
        emails = register(first.url, 200)
        answers = request_resets([first.url, second.url], emails)
        assert all(answer and answer[0] == 200 for answer in answers)
        receiver.wait_for(lambda: len(receiver.delivered()) == 200, seconds=90)
        ids = postgres_database.query("SELECT id FROM outbox WHERE status = 'sent'").split()
        assert sorted(ids) == sorted(receiver.delivered())
        with receiver.lock:
            assert receiver.overlaps == []
            # Nothing failed and nothing crashed: each message was sent once.
            assert len(receiver.attempts) == 200
        assert sorted(event["email"] for event in receiver.delivered().values()) == sorted(emails)
        assert first.stop() == 0 and second.stop() == 0
    finally:
        receiver.stop()
