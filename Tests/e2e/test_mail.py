"""Mail through the system's mailer: Latchkey runs SENDMAIL_PATH (a wrapper around Debian's msmtp
with the test's configuration), which relays to a local aiosmtpd that keeps every message."""

import email
import email.policy
import os
import re
import sqlite3
import stat
import time
import urllib.parse

import pytest
import requests
from aiosmtpd.controller import Controller

from latchkey_helpers import free_port, refusal
import test_pages_browser as browsers

PASSWORD = "correct horse battery"


class Inbox:
    """An SMTP server on loopback that keeps each message it is given."""

    def __init__(self):
        self.messages = []
        inbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                inbox.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content,
                                                                                  policy=email.policy.default)))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def wait(self, count=1, seconds=30):
        deadline = time.time() + seconds
        while len(self.messages) < count and time.time() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"{len(self.messages)} of {count} messages within {seconds} s"
        return self.messages

    def stop(self):
        self.controller.stop()


@pytest.fixture
def inbox():
    box = Inbox()
    yield box
    box.stop()


def mailer(folder, inbox, before=""):
    """A sendmail wrapper: `before` (shell) runs first, then msmtp with a configuration that relays
    to the inbox."""
    config = os.path.join(folder, "msmtprc")
    with open(config, "w") as file:
        file.write(f"account default\nhost 127.0.0.1\nport {inbox.port}\nfrom no-reply@example.com\n"
                   "auth off\ntls off\n")
    os.chmod(config, 0o600)
    script = os.path.join(folder, "sendmail")
    with open(script, "w") as file:
        file.write(f"#!/bin/sh\n{before}\nexec msmtp -C {config} \"$@\"\n")
    os.chmod(script, stat.S_IRWXU)
    return script


def mail_env(script, extra=None):
    env = {
        "TOKEN_DELIVERY": "email", "EMAIL_FROM": "Latchkey <no-reply@example.com>",
        "PUBLIC_URL": "http://127.0.0.1:{port}", "SENDMAIL_PATH": script, "BCRYPT_COST": "4",
        "OUTBOX_RETRY_FIRST": "1",
    }
    env.update(extra or {})
    return env


def parts(message):
    """The text and HTML parts of a message, decoded."""
    assert message.get_content_type() == "multipart/alternative"
    found = {}
    for part in message.iter_parts():
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part.get_content_charset() == "utf-8"
        found[part.get_content_type()] = part.get_content()
    return found["text/plain"], found["text/html"]


def link(message, public_url):
    """The one link of a token mail, the same in both parts, built on PUBLIC_URL."""
    text, html = parts(message)
    found = set(re.findall(re.escape(public_url) + r"/ui/(?:reset|verify)\?[^\s\"<]+", text))
    assert len(found) == 1, text
    (url,) = found
    assert url.replace("&", "&amp;") in html or url in html
    return url


def test_token_mails_and_notices_carry_the_headers_both_parts_and_a_link_from_public_url(inbox, start_server):
    server = start_server(mail_env(mailer(os.getcwd(), inbox)))
    public = server.url
    assert requests.post(server.url + "/users", data={"email": "ada@example.com", "password": PASSWORD}
                         ).status_code == 200
    (recipients, message), = inbox.wait(1)
    assert recipients == ["ada@example.com"]
    assert message["From"] == "Latchkey <no-reply@example.com>" and message["To"] == "ada@example.com"
    assert message["MIME-Version"] == "1.0" and message["Auto-Submitted"] == "auto-generated"
    assert re.fullmatch(r"<msg_[A-Za-z0-9_-]{22}@127\.0\.0\.1>", message["Message-ID"])
    assert message["Date"] and message["Subject"] == "Confirm your address for Latchkey"
    verify = link(message, public)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(verify).query)
    assert query["email"] == ["ada@example.com"] and len(query["token"][0]) == 43
    # The link opens the page, which consumes nothing; the token verifies the address.
    assert requests.get(verify).status_code == 200
    assert requests.put(server.url + "/verify_email", data={"email": "ada@example.com",
                                                            "verification_token": query["token"][0]}
                        ).status_code == 200

    # A forged Host or forwarded header changes no link.
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
              "Forwarded": "host=evil.example;proto=https"}
    assert requests.post(server.url + "/reset_password", data={"email": "ada@example.com"}, headers=forged
                         ).status_code == 200
    _, reset_mail = inbox.wait(2)[1]
    assert reset_mail["Subject"] == "Reset your Latchkey password"
    reset = link(reset_mail, public)
    assert "evil" not in reset_mail.as_string()
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(reset).query)["token"][0]
    assert requests.put(server.url + "/reset_password", data={
        "email": "ada@example.com", "reset_token": token, "new_password": "a brand new password"}).status_code == 200

    # Notices: the password reset by the link, then changed from a session.
    session = requests.post(server.url + "/sessions", data={"email": "ada@example.com",
                                                            "password": "a brand new password"})
    assert requests.put(server.url + "/account/password", cookies=session.cookies, data={
        "current_password": "a brand new password", "new_password": PASSWORD}).status_code == 200
    notices = {message["Subject"]: message for _, message in inbox.wait(4)[2:]}
    assert set(notices) == {"The password of your Latchkey account was reset", "Your Latchkey password was changed"}
    notice = notices["Your Latchkey password was changed"]
    text, html = parts(notice)
    assert "was changed on" in text and "was changed on" in html and "/ui/" not in text
    # The tokens never reached the log.
    assert query["token"][0] not in server.output() and token not in server.output()
    assert server.stop() == 0


def test_a_mail_is_in_the_language_of_the_request_that_caused_it(inbox, start_server):
    server = start_server(mail_env(mailer(os.getcwd(), inbox), {"EMAIL_VERIFICATION": "off"}))
    for email_address, language in [("ada@example.com", "fr-CA,fr;q=0.9,en;q=0.5"), ("bob@example.com", "de, en;q=0.1")]:
        assert requests.post(server.url + "/users", data={"email": email_address, "password": PASSWORD}
                             ).status_code == 200
        assert requests.post(server.url + "/reset_password", data={"email": email_address},
                             headers={"Accept-Language": language}).status_code == 200
    messages = dict((recipients[0], message) for recipients, message in inbox.wait(2))
    french, english = messages["ada@example.com"], messages["bob@example.com"]
    assert french["Subject"] == "Réinitialisez votre mot de passe Latchkey"
    assert english["Subject"] == "Reset your Latchkey password"
    text, html = parts(french)
    assert "Choisir un nouveau mot de passe" in text and 'lang="fr"' in html
    assert server.stop() == 0


def test_no_header_can_be_injected(inbox, start_server, tmp_path):
    # A subject template that tries to add a header: the subject stays one line.
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "mail-subject.mustache").write_text("{{% CONTENT_TYPE: TEXT}}{{subject}}\r\nBcc: eve@example.com\n")
    server = start_server(mail_env(mailer(os.getcwd(), inbox), {"UI_TEMPLATES_DIR": str(folder)}))
    # Addresses with line breaks are refused before anything is written.
    for address in ["ada@example.com\r\nBcc: eve@example.com", "ada@example.com\nBcc: eve@example.com",
                    "ada@example.com\rBcc: eve@example.com"]:
        refused = requests.post(server.url + "/users", data={"email": address, "password": PASSWORD})
        assert refused.status_code == 400
    assert requests.post(server.url + "/users", data={"email": "ada@example.com", "password": PASSWORD}
                         ).status_code == 200
    (recipients, message), = inbox.wait(1)
    assert recipients == ["ada@example.com"] and message["Bcc"] is None
    assert message["Subject"] == "Confirm your address for Latchkey Bcc: eve@example.com"
    time.sleep(1)
    assert len(inbox.messages) == 1
    # A sender whose name holds a line break is refused at start-up, naming the setting.
    line = refusal({"EMAIL_FROM": "Latchkey\r\nBcc: eve@example.com <no-reply@example.com>",
                    "PUBLIC_URL": "http://127.0.0.1:5000", "SENDMAIL_PATH": "/bin/true"})
    assert "EMAIL_FROM" in line
    assert server.stop() == 0


def test_a_mailer_that_fails_twice_sends_once_more_under_one_message_id(inbox, start_server):
    counter = os.path.join(os.getcwd(), "runs")
    script = mailer(os.getcwd(), inbox, before=(
        f"echo run >> {counter}\n"
        f"if [ $(wc -l < {counter}) -le 2 ]; then echo 'relay refused' >&2; exit 75; fi"))
    server = start_server(mail_env(script))
    assert requests.post(server.url + "/users", data={"email": "ada@example.com", "password": PASSWORD}
                         ).status_code == 200
    (_, message), = inbox.wait(1, seconds=60)
    with open(counter) as file:
        assert len(file.read().splitlines()) == 3
    with sqlite3.connect(os.path.join(server.folder, "latchkey.sqlite")) as connection:
        ((row_id, status, attempts),) = connection.execute("SELECT id, status, attempts FROM outbox").fetchall()
    assert message["Message-ID"] == f"<{row_id}@127.0.0.1>" and (status, attempts) == ("sent", 3)
    output = server.output()
    assert "relay refused" in output and "message not sent; will retry" in output
    assert server.stop() == 0


def test_a_mailer_that_hangs_is_stopped_after_the_timeout_and_tried_again(inbox, start_server):
    marker = os.path.join(os.getcwd(), "hung")
    # The first run starts a process of its own that hangs (a wrapper's mailer), records it and waits
    # for it; the next runs send.
    script = mailer(os.getcwd(), inbox,
                    before=f"if [ ! -e {marker} ]; then sleep 300 & echo $! > {marker}; wait; exit 0; fi")
    server = start_server(mail_env(script, {"SENDMAIL_TIMEOUT": "2"}))
    assert requests.post(server.url + "/users", data={"email": "ada@example.com", "password": PASSWORD}
                         ).status_code == 200
    inbox.wait(1, seconds=60)
    with open(marker) as file:
        pid = int(file.read())
    # The hung run was ended with every process it started, not left behind.
    assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower()
    assert "did not finish within SENDMAIL_TIMEOUT" in server.output()
    assert server.stop() == 0


@pytest.mark.parametrize("env, setting", [
    ({"TOKEN_DELIVERY": "email", "PUBLIC_URL": "http://127.0.0.1:5000"}, "EMAIL_FROM"),
    ({"TOKEN_DELIVERY": "email", "EMAIL_FROM": "no-reply@example.com", "SENDMAIL_PATH": "/bin/true"}, "PUBLIC_URL"),
    ({"EMAIL_FROM": "no-reply@example.com", "PUBLIC_URL": "http://127.0.0.1:5000",
      "SENDMAIL_PATH": "/nonexistent/sendmail"}, "SENDMAIL_PATH"),
    ({"EMAIL_FROM": "not an address", "PUBLIC_URL": "http://127.0.0.1:5000", "SENDMAIL_PATH": "/bin/true"},
     "EMAIL_FROM"),
])
def test_start_up_refuses_mail_it_cannot_send(env, setting):
    assert setting in refusal(env)


@pytest.fixture
def browser():
    """Chromium with JavaScript off (the pages' browser tests' `Page`), closed when the test ends."""
    browsers.require_browser()
    pages = []

    def start(base, width):
        pages.append(browsers.Page(base, width))
        return pages[-1]

    yield start
    for page in pages:
        page.quit()


def test_in_the_browser_register_verify_and_reset_by_the_mailed_links(inbox, start_server, browser):
    server = start_server(mail_env(mailer(os.getcwd(), inbox)))
    page = browser(server.url, 1280)
    page.open("/ui/register")
    page.submit("/ui/register", {"email": "ada@example.com", "new-password": PASSWORD})
    assert "Your registration is done" in page.text()
    # The page shows no link: it went by mail.
    verify = link(inbox.wait(1)[0][1], server.url)
    page.driver.get(verify)
    page.submit("/ui/verify", {"new-password": PASSWORD})
    assert "ada@example.com is verified." in page.text()

    page.open("/ui/forgot")
    page.submit("/ui/forgot", {"username": "ada@example.com"})
    assert "/ui/reset?" not in page.driver.page_source
    reset = link(inbox.wait(2)[1][1], server.url)
    page.driver.get(reset)
    page.submit("/ui/reset", {"new-password": "a brand new password"})
    assert "Your password is changed. Log in with the new one." in page.text()
    page.submit("/ui/login", {"username": "ada@example.com", "current-password": "a brand new password"})
    assert page.driver.current_url == server.url + "/ui/account"
    assert "ada@example.com · verified" in page.text()
    assert server.stop() == 0
