"""One application behind Latchkey, with the shipped proxy configurations: deploy/nginx/portal.conf
(nginx's auth_request) and deploy/caddy/Caddyfile (Caddy's forward_auth), each run as it is with
only its addresses, host name and ports replaced, in front of a small application that shows every
request it gets, on app.example.localhost; Latchkey is on auth.example.localhost, its session
cookie on the domain both share (SESSION_COOKIE_DOMAIN). Each test runs once per proxy.

In headless Chromium with JavaScript off: the application's URL leads to Latchkey's login page
with the URL in `rd`, and after logging in back to that exact URL, where the application sees the
address Latchkey vouches for; `/ui/logout?rd=` and its button lead back to the application, which
sends the browser to log in again; the same in the production profile, with `__Secure-` cookies.
Over HTTP: identity headers a client forges (any case, `_` for `-`) never reach the application,
nor do Latchkey's cookies; the step-up location asks for a session at AAL 2; `rd` values that are
tricks are dropped by the login and logout pages.

Host names end in `.localhost`, which Chromium resolves to loopback and treats as a secure context,
so `Secure` and `__Secure-` cookies work over plain http. Screenshots go to LATCHKEY_SCREENSHOTS, in
a folder per test, when it names a folder.
"""

import base64
import html
import http.client
import http.server
import json
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time
import urllib.parse

import pytest
import requests

from latchkey_helpers import PRODUCTION_BASE, ROOT, end_process, free_port
from test_mfa import Authenticator, register
from test_pages_browser import Page, link_on, require_browser

APP_HOST = "app.example.localhost"
AUTH_HOST = "auth.example.localhost"
COOKIE_DOMAIN = "example.localhost"
NGINX_PORTAL_CONF = os.path.join(ROOT, "deploy", "nginx", "portal.conf")
CADDYFILE = os.path.join(ROOT, "deploy", "caddy", "Caddyfile")
PROXIES = ["nginx", "caddy"]
PASSWORD = "b4l0u-a-portal-passphrase"  # long enough for production's 15 characters
MFA_KEY = base64.b64encode(bytes(range(32))).decode()

PROFILES = {
    "development": ({}, "session_id"),
    "production": ({**PRODUCTION_BASE, "TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true",
                    "SESSION_COOKIE_SECURE": "true"}, "__Secure-session_id"),
}

# What the proxies must never hand to the application: Latchkey's cookies.
LATCHKEY_COOKIE = re.compile(r"(?:^|;)\s*(?:__Host-|__Secure-)?(?:session_id|latchkey_csrf)=")
HIDDEN_RD = re.compile(r'<input type="hidden" name="rd" value="([^"]*)">')


def fail_or_skip(reason):
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true: " + reason)
    pytest.skip(reason)


def encoded(url):
    """`url` as Latchkey puts it in `rd`: every character but RFC 3986's unreserved ones escaped."""
    return urllib.parse.quote(url, safe="")


class Application:
    """The protected application: it answers every request with a page that shows the path and
    query, and every header it received in order (names as sent), as JSON in `<pre id="request">`;
    it keeps each request, for the tests to look at what reached it."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        application = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                seen = {"method": self.command, "path": self.path, "headers": list(self.headers.items())}
                with application.lock:
                    application.requests.append(seen)
                # JSON, a header a line.
                pairs = ",\n  ".join(json.dumps(pair) for pair in seen["headers"])
                shown = html.escape(f'{{"method": {json.dumps(self.command)}, "path": {json.dumps(self.path)},\n'
                                    f' "headers": [\n  {pairs}\n ]}}')
                body = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Application</title>"
                        "<meta name=\"viewport\" content=\"width=device-width\"></head><body><h1>Application</h1>"
                        f"<pre id=\"request\" style=\"white-space: pre-wrap; overflow-wrap: anywhere\">{shown}</pre>"
                        "</body></html>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def seen(self, path=None):
        """The requests that reached the application (those for `path` only, when given), but the
        browser's own asks for /favicon.ico, which come when they come."""
        with self.lock:
            return [seen for seen in self.requests
                    if seen["path"] == path or path is None and seen["path"] != "/favicon.ico"]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def set_cookie(response, name):
    """The value `response` gives cookie `name`, read from Set-Cookie itself: its Domain is not
    127.0.0.1, where the tests ask the API, so a cookie jar would drop it."""
    for line in response.raw.headers.getlist("Set-Cookie"):
        key, _, value = line.split(";", 1)[0].partition("=")
        if key.strip() == name:
            return value.strip()
    raise AssertionError(f"no {name} cookie in {response.headers}")


def log_in(portal, email):
    """A session for `email`, through the API: its token."""
    response = requests.post(portal.api + "/sessions", data={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return set_cookie(response, portal.cookie)


def enrol(portal, token):
    """Turns a second factor on from the session `token` (its address verified): the
    authenticator, and the session's new token, at AAL 2."""
    jar = {portal.cookie: token}
    started = requests.post(portal.api + "/account/mfa/totp", data={"password": PASSWORD}, cookies=jar)
    assert started.status_code == 200, started.text
    authenticator = Authenticator(started.json()["secret"])
    confirmed = requests.put(portal.api + "/account/mfa/totp", data={"code": authenticator.code()}, cookies=jar)
    assert confirmed.status_code == 200, confirmed.text
    return authenticator, set_cookie(confirmed, portal.cookie)


def identity(headers):
    """The identity headers among `headers` (name, value pairs), by name in lowercase with `_` read
    as `-`, as a framework that reads them alike would see them: {name: [values]}."""
    found = {}
    for name, value in headers:
        normal = name.lower().replace("_", "-")
        if normal.startswith("x-latchkey"):
            found.setdefault(normal, []).append(value)
    return found


def cookies_of(headers):
    return [value for name, value in headers if name.lower() == "cookie"]


class Proxy:
    """nginx or Caddy running the shipped configuration, with the example values replaced, in
    `folder`, not as a system service; it answers on 127.0.0.1:`port` for the host APP_HOST, and
    is up once a request without a session is sent to the login page (Latchkey is up too)."""

    def __init__(self, kind, folder, port, latchkey_port, app_port):
        self.kind = kind
        self.folder = folder
        if kind == "nginx":
            if not os.path.exists("/usr/sbin/nginx"):
                fail_or_skip("nginx is not installed")
            command = self.nginx(port, latchkey_port, app_port)
        else:
            if not shutil.which("caddy"):
                fail_or_skip("caddy is not installed")
            command = self.caddy(port, latchkey_port, app_port)
        self.log_path = os.path.join(folder, f"{kind}.log")
        self.log = open(self.log_path, "ab")
        # Caddy keeps its state under HOME and the XDG folders: the test's folder, not the machine's.
        environment = {**os.environ, "HOME": folder, "XDG_CONFIG_HOME": folder, "XDG_DATA_HOME": folder}
        self.process = subprocess.Popen(command, cwd=folder, env=environment, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{kind} exited with {self.process.returncode}:\n{self.output()}")
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/", headers={"Host": f"{APP_HOST}:{port}"},
                                      allow_redirects=False, timeout=5)
                if answer.status_code == 302 and "/ui/login" in answer.headers.get("Location", ""):
                    return
            except requests.RequestException:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"{kind} did not send to the login page within 20 s:\n{self.output()}")
            time.sleep(0.1)

    @staticmethod
    def shipped(path, replacements):
        with open(path) as shipped:
            text = shipped.read()
        for old, new in replacements.items():
            assert old in text, f"{old!r} is not in {path}"
            text = text.replace(old, new)
        return text

    def nginx(self, port, latchkey_port, app_port):
        conf = self.shipped(NGINX_PORTAL_CONF, {
            "server 127.0.0.1:5000;": f"server 127.0.0.1:{latchkey_port};",
            "server 127.0.0.1:8080;": f"server 127.0.0.1:{app_port};",
            "listen 443 ssl;": f"listen 127.0.0.1:{port};",
            "listen 80;": f"listen 127.0.0.1:{free_port()};",
            "server_name app.example.com;": f"server_name {APP_HOST};",
            # Plain http on the test's port: no certificate.
            "ssl_certificate /etc/latchkey/tls/fullchain.pem;": "",
            "ssl_certificate_key /etc/latchkey/tls/privkey.pem;": "",
        })
        with open(os.path.join(self.folder, "portal.conf"), "w") as site:
            site.write(conf)
        temporary = os.path.join(self.folder, "tmp")
        os.makedirs(temporary, exist_ok=True)
        main = os.path.join(self.folder, "nginx.conf")
        with open(main, "w") as written:
            written.write(f"""
worker_processes 1;
events {{
    worker_connections 256;
}}
http {{
    access_log off;
    client_body_temp_path {temporary}/body;
    proxy_temp_path {temporary}/proxy;
    fastcgi_temp_path {temporary}/fastcgi;
    uwsgi_temp_path {temporary}/uwsgi;
    scgi_temp_path {temporary}/scgi;
    include {self.folder}/portal.conf;
}}
""")
        return ["/usr/sbin/nginx", "-e", "stderr", "-p", self.folder, "-c", main,
                "-g", f"daemon off; pid {self.folder}/nginx.pid; error_log stderr;"]

    def caddy(self, port, latchkey_port, app_port):
        caddyfile = self.shipped(CADDYFILE, {
            "admin localhost:2019": "admin off",
            "app.example.com {": f"http://{APP_HOST}:{port} {{\n\tbind 127.0.0.1",
            "127.0.0.1:5000": f"127.0.0.1:{latchkey_port}",
            "127.0.0.1:8080": f"127.0.0.1:{app_port}",
        })
        path = os.path.join(self.folder, "Caddyfile")
        with open(path, "w") as written:
            written.write(caddyfile)
        return ["caddy", "run", "--config", path, "--adapter", "caddyfile"]

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as log:
            return log.read().decode(errors="replace")

    def stop(self):
        end_process(self.process)
        self.log.close()


class Portal:
    """The application behind a proxy on http://APP_HOST:`port` (`origin`), and Latchkey on
    http://AUTH_HOST:<its port> (`pages`; `api` is the same on 127.0.0.1)."""

    def __init__(self, kind, profile, start_server, folder):
        env, self.cookie = PROFILES[profile]
        self.kind = kind
        self.port = free_port()
        self.origin = f"http://{APP_HOST}:{self.port}"
        self.app = Application()
        self.proxy = None
        self.latchkey = start_server({
            "BCRYPT_COST": "4", "MFA_ENCRYPTION_KEY": MFA_KEY, **env,
            "PUBLIC_URL": f"http://{AUTH_HOST}:{{port}}", "SESSION_COOKIE_DOMAIN": COOKIE_DOMAIN,
            "ALLOWED_REDIRECT_HOSTS": f"{APP_HOST}:{self.port}",
        }, folder=folder)
        self.api = self.latchkey.url
        self.pages = f"http://{AUTH_HOST}:{self.latchkey.port}"
        try:
            self.proxy = Proxy(kind, str(folder), self.port, self.latchkey.port, self.app.port)
        except BaseException:
            self.stop()
            raise

    def login_url(self, url, aal=None):
        return f"{self.pages}/ui/login?rd={encoded(url)}" + ("&aal=2" if aal == 2 else "")

    def get(self, path, headers=(), method="GET", pages=False):
        """`method path` through the proxy (or to Latchkey's pages) with exactly `headers` (name,
        value pairs, sent as given, repeats and all) besides Host: (status, headers, body)."""
        port, host = (self.latchkey.port, AUTH_HOST) if pages else (self.port, APP_HOST)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", f"{host}:{port}")
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, {name.lower(): value for name, value in response.getheaders()}, \
                response.read().decode(errors="replace")
        finally:
            connection.close()

    def stop(self):
        if self.proxy:
            self.proxy.stop()
        self.app.stop()


@pytest.fixture(scope="module", params=PROXIES)
def proxy_kind(request):
    return request.param


@pytest.fixture(scope="module")
def portal(proxy_kind, start_module_server, tmp_path_factory):
    """The development portal of the proxy under test, shared by the module's tests."""
    started = Portal(proxy_kind, "development", start_module_server, tmp_path_factory.mktemp(f"{proxy_kind}-dev"))
    yield started
    started.stop()


class PortalPage(Page):
    """`Page`, with its screenshots in `shots` (when given) named by the host and path they show,
    without the test's ports: `02-app-some-path.png`."""

    def __init__(self, base, width, shots):
        super().__init__(base, width)
        self.shots_folder = shots

    def check_layout(self):
        super().check_layout()
        if self.shots_folder:
            os.makedirs(self.shots_folder, exist_ok=True)
            self.shots += 1
            url = urllib.parse.urlsplit(self.driver.current_url)
            name = re.sub(r"[^a-z0-9]+", "-", f"{url.hostname.split('.')[0]} {url.path}".lower()).strip("-")
            self.driver.save_screenshot(os.path.join(self.shots_folder, f"{self.shots:02d}-{name}.png"))


@pytest.fixture
def portal_browser(request, monkeypatch):
    """`portal_browser(portal)`: Chromium, JavaScript off, 1280 pixels wide, on Latchkey's pages
    (`open`); its screenshots go to a folder of the test's own under LATCHKEY_SCREENSHOTS."""
    require_browser()
    pages = []
    shots = None
    if os.environ.get("LATCHKEY_SCREENSHOTS"):
        shots = os.path.join(os.environ["LATCHKEY_SCREENSHOTS"],
                             re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-"))
        # The pages' own naming (`Page.check_layout`) is replaced by PortalPage's.
        monkeypatch.delenv("LATCHKEY_SCREENSHOTS")

    def start(portal):
        page = PortalPage(portal.pages, 1280, shots)
        pages.append(page)
        return page

    yield start
    for page in pages:
        page.quit()


def shown_request(page):
    """What the application's page in the browser says it received."""
    return json.loads(page.driver.find_element("id", "request").get_attribute("textContent"))


def hidden_rd(text):
    found = HIDDEN_RD.findall(text)
    assert len(found) <= 1, found
    return html.unescape(found[0]) if found else None


def walk_in_and_out(portal, page, email):
    """Opens a URL of the application, logs in on the page it lands on, comes back to that URL;
    then logs out through /ui/logout?rd= and its button, and lands on the login page again."""
    url = f"{portal.origin}/some/path?x=1&y=two"
    page.driver.get(url)
    page.check_layout()
    assert page.driver.current_url == portal.login_url(url)
    assert hidden_rd(page.driver.page_source) == url
    before = len(portal.app.seen())

    page.submit("/ui/login", {"username": email, "current-password": PASSWORD})
    assert page.driver.current_url == url
    shown = shown_request(page)
    assert shown["path"] == "/some/path?x=1&y=two"
    seen = identity(shown["headers"])
    assert seen["x-latchkey-email"] == [email]
    assert seen["x-latchkey-aal"] == ["1"] and seen["x-latchkey-user-id"][0].isdigit(), seen
    session = page.cookie(portal.cookie)
    assert session and session["httpOnly"] and session["secure"] == portal.cookie.startswith("__")
    assert session["domain"] == "." + COOKIE_DOMAIN
    arrived = portal.app.seen()[before:]
    assert [seen["path"] for seen in arrived] == ["/some/path?x=1&y=two"]

    # Log out: the page carries rd, its button ends the session and goes back to the application,
    # which sends the browser to log in again.
    page.open(f"/ui/logout?rd={encoded(url)}")
    assert hidden_rd(page.driver.page_source) == url
    before = len(portal.app.seen())
    page.submit("/ui/logout", {})
    assert page.driver.current_url == portal.login_url(url)
    assert page.cookie(portal.cookie) is None
    assert len(portal.app.seen()) == before
    status, _, _ = portal.get("/some/path", [("Cookie", f"{portal.cookie}={session['value']}")])
    assert status == 302

    # Nothing the application got carried Latchkey's cookies.
    for seen in portal.app.requests:
        for value in cookies_of(seen["headers"]):
            assert session["value"] not in value and not LATCHKEY_COOKIE.search(value), value


def test_a_browser_logs_in_through_the_portal_and_out_again(portal, portal_browser):
    email = f"ada.{portal.kind}@example.com"
    register(portal.api, email, PASSWORD, verified=False)
    walk_in_and_out(portal, portal_browser(portal), email)


@pytest.mark.parametrize("kind", PROXIES)
def test_the_round_trip_in_production(kind, start_server, portal_browser, tmp_path):
    portal = Portal(kind, "production", start_server, tmp_path / "latchkey")
    try:
        email = f"grace.{kind}@example.com"
        register(portal.api, email, PASSWORD, verified=False)
        walk_in_and_out(portal, portal_browser(portal), email)
        # With Latchkey gone, the proxy fails closed: an error, and nothing reaches the application.
        token = log_in(portal, email)
        assert portal.latchkey.stop() == 0
        status, _, _ = portal.get("/while-latchkey-is-down", [("Cookie", f"{portal.cookie}={token}")])
        assert status >= 500 and portal.app.seen("/while-latchkey-is-down") == []
    finally:
        portal.stop()


# What a client may send as an identity header: the names, in other cases and with `_` for `-`.
FORGED = [
    ("X-Latchkey-Email", "evil@example.com"),
    ("X-Latchkey_Email", "evil@example.com"),
    ("x-latchkey-email", "evil@example.com"),
    ("X_Latchkey_Email", "evil@example.com"),
    ("X-LATCHKEY-EMAIL", "evil@example.com"),
    ("X-Latchkey-AAL", "2"),
    ("X-Latchkey_AAL", "2"),
    ("X-Latchkey-User-Id", "1"),
    ("x_latchkey_user_id", "1"),
]


def test_forged_identity_headers_never_reach_the_application(portal):
    email = f"nia.{portal.kind}@example.com"
    register(portal.api, email, PASSWORD, verified=False)
    token = log_in(portal, email)
    cookie = ("Cookie", f"{portal.cookie}={token}")
    assert portal.get("/whoami", [cookie])[0] == 200
    (honest,) = portal.app.seen("/whoami")
    truth = identity(honest["headers"])
    assert truth["x-latchkey-email"] == [email] and truth["x-latchkey-aal"] == ["1"], truth

    # Each forged header alone, then all of them at once, with a live session: the application
    # sees Latchkey's values, once each, and nothing else under those names.
    for case, forged in enumerate([[header] for header in FORGED] + [FORGED]):
        path = f"/forged?case={case}"
        status, _, _ = portal.get(path, [*forged, cookie])
        assert status == 200
        (seen,) = portal.app.seen(path)
        assert identity(seen["headers"]) == truth, (forged, seen["headers"])

    # Headers some frameworks route by never reach the application: a client cannot choose another
    # path than the one checked.
    path = "/rewrite"
    status, _, _ = portal.get(path, [("X-Original-URL", "/admin/reports"), ("X-Rewrite-URL", "/admin"), cookie])
    assert status == 200
    (seen,) = portal.app.seen(path)
    names = {name.lower() for name, _ in seen["headers"]}
    assert "x-original-url" not in names and "x-rewrite-url" not in names, seen["headers"]

    # A query of the application's own is not the check's: a parameter named `aal` (which
    # /auth/verify reads) changes nothing.
    for query in ("aal=3", "aal=1&aal=2", "aal=2"):
        status, _, _ = portal.get(f"/search?{query}", [cookie])
        assert status == 200, query
        assert identity(portal.app.seen(f"/search?{query}")[0]["headers"]) == truth

    # Without a session nothing reaches the application, forged headers or not.
    status, headers, _ = portal.get("/forged?anonymous", FORGED)
    assert status == 302 and headers["location"] == portal.login_url(f"{portal.origin}/forged?anonymous")
    assert portal.app.seen("/forged?anonymous") == []


def test_latchkeys_cookies_never_reach_the_application(portal):
    email = f"lin.{portal.kind}@example.com"
    register(portal.api, email, PASSWORD, verified=False)
    token = log_in(portal, email)
    name = portal.cookie
    planted = "p" * 43
    cases = [
        # (Cookie as the browser sends it, what the application gets; None: no Cookie header)
        (f"a=1; {name}={token}; latchkey_csrf=c; b=2", "a=1; b=2"),
        (f"{name}={token}", None),
        (f"{name}={token}; latchkey_csrf=c", None),
        (f"{name}={token}; b=2", "b=2"),
        (f"a=1; {name}={token}", "a=1"),
        (f"latchkey_csrf=c; {name}={token}; a=b", "a=b"),
        (f"x{name}=1; {name}={token}; a{name}=2", f"x{name}=1; a{name}=2"),
        (f"__Secure-{name}=1; {name}={token}; theme=dark", "theme=dark"),
        # Planted duplicates: nginx then drops every cookie, Caddy removes them all (checked below).
        (f"{name}={planted}; {name}={token}; latchkey_csrf=c; a=1", "any"),
    ]
    for case, (sent, expected) in enumerate(cases):
        path = f"/cookies?case={case}"
        status, _, _ = portal.get(path, [("Cookie", sent)])
        assert status == 200, sent
        (seen,) = portal.app.seen(path)
        got = cookies_of(seen["headers"])
        for value in got:
            assert token not in value and planted not in value and not LATCHKEY_COOKIE.search(value), (sent, value)
        if expected != "any":
            assert got == ([] if expected is None else [expected]), (sent, got)


def test_the_step_up_location_asks_for_a_second_factor(portal):
    email = f"kai.{portal.kind}@example.com"
    register(portal.api, email, PASSWORD)
    one_factor = log_in(portal, email)
    cookie = ("Cookie", f"{portal.cookie}={one_factor}")
    url = f"{portal.origin}/admin/reports?week=2"

    # A one-factor session passes the ordinary location, not the step-up one.
    assert portal.get("/reports?week=2", [cookie])[0] == 200
    status, headers, _ = portal.get("/admin/reports?week=2", [cookie])
    assert status == 302 and headers["location"] == portal.login_url(url, aal=2)
    assert portal.app.seen("/admin/reports?week=2") == []
    # For any other method, the login page without rd.
    status, headers, _ = portal.get("/admin/reports", [cookie], method="POST")
    assert status == 302 and headers["location"] == f"{portal.pages}/ui/login"
    # Other spellings of the step-up path, which an application may take for it, ask for AAL 2 too;
    # a query that names `aal` itself changes nothing.
    for spelling in ("/ADMIN/reports", "//admin/reports", "/%61dmin/reports", "/x/../admin/reports", "/Admin",
                     "/admin/reports?aal=1", "/admin;jsessionid=x/reports", "/admin;x", "/admin.json",
                     "/ADMIN.json"):
        status, headers, _ = portal.get(spelling, [cookie])
        assert status == 302 and headers["location"].endswith("&aal=2"), (spelling, status, headers)

    # With a second factor (enrolling raises the session to AAL 2 under a new token).
    _, two_factors = enrol(portal, one_factor)
    status, _, _ = portal.get("/admin/reports?week=2", [("Cookie", f"{portal.cookie}={two_factors}")])
    assert status == 200
    (seen,) = portal.app.seen("/admin/reports?week=2")
    assert identity(seen["headers"])["x-latchkey-aal"] == ["2"]
    assert identity(seen["headers"])["x-latchkey-email"] == [email]


def lower_to_one_factor(portal, email):
    """Brings the account's sessions to AAL 1 in the database: a one-factor session of an account
    whose second factor is on, which the service's own flows do not make (a login with a factor,
    and enrolment, give AAL 2), for the step-up page to raise."""
    with sqlite3.connect(os.path.join(portal.latchkey.folder, "latchkey.sqlite"), timeout=10) as db:
        changed = db.execute("UPDATE sessions SET aal = 1 WHERE user_id = (SELECT id FROM users WHERE email = ?)",
                             (email,)).rowcount
    assert changed == 1


def test_stepping_up_in_the_browser(portal, portal_browser):
    page = portal_browser(portal)
    url = f"{portal.origin}/admin/reports?week=3"

    # An account with a second factor, on a one-factor session: the code form, then the URL.
    email = f"eve.{portal.kind}@example.com"
    register(portal.api, email, PASSWORD)
    token = log_in(portal, email)
    authenticator, token = enrol(portal, token)
    lower_to_one_factor(portal, email)
    page.open("/ui/login")
    page.driver.add_cookie({"name": portal.cookie, "value": token, "path": "/", "domain": COOKIE_DOMAIN,
                            "httpOnly": True})
    page.driver.get(url)
    page.check_layout()
    assert page.driver.current_url == portal.login_url(url, aal=2)
    form = page.form("/ui/login/step-up")
    assert form.find_element("css selector", 'input[type=hidden][name="rd"]').get_attribute("value") == url
    assert form.find_elements("css selector", 'input[name="code"]')
    page.submit("/ui/login/step-up", {"code": authenticator.code()})
    assert page.driver.current_url == url
    seen = identity(shown_request(page)["headers"])
    assert seen["x-latchkey-aal"] == ["2"] and seen["x-latchkey-email"] == [email]
    raised = page.cookie(portal.cookie)["value"]
    assert requests.get(portal.api + "/auth/verify?aal=2", cookies={portal.cookie: raised}).status_code == 204

    # An account without one: a page that says a second factor is needed, with the way to turn
    # one on; the application is not reached.
    email = f"finn.{portal.kind}@example.com"
    register(portal.api, email, PASSWORD)
    token = log_in(portal, email)
    page.driver.delete_all_cookies()
    page.open("/ui/login")
    page.driver.add_cookie({"name": portal.cookie, "value": token, "path": "/", "domain": COOKIE_DOMAIN,
                            "httpOnly": True})
    before = len(portal.app.seen())
    page.driver.get(url)
    page.check_layout()
    assert page.driver.current_url == portal.login_url(url, aal=2)
    assert "second factor" in page.text()
    assert link_on(page, "/ui/account")
    assert not page.driver.find_elements("css selector", 'form[action="/ui/login/step-up"]')
    assert len(portal.app.seen()) == before


# `rd` values that must not be carried: another host in every disguise, other schemes, the right
# host on another port, relative URLs.
TRICKS = [
    "//evil.example",
    "https://{app}@evil.example",
    "http://{app}@evil.example/",
    "javascript:alert(1)",
    "http://evil.example/",
    "http://{app}.evil.example/",
    "http://app.example.localhost:1/",
    "/some/path",
    "http:\\\\evil.example\\",
    "data:text/html,hi",
]


def test_the_pages_carry_only_allowed_return_addresses(portal):
    app = f"{APP_HOST}:{portal.port}"
    allowed = f"{portal.origin}/some/path?x=1&y=two"
    for page in ("/ui/login", "/ui/logout"):
        status, headers, body = portal.get(f"{page}?rd={encoded(allowed)}", pages=True)
        assert status == 200 and hidden_rd(body) == allowed
        # The form may send the browser back to the application's origin.
        policy = headers["content-security-policy"]
        assert re.search(r"form-action [^;]*" + re.escape(portal.origin) + r"(?:[ ;]|$)", policy), policy
        for trick in TRICKS:
            rd = trick.format(app=app)
            status, _, body = portal.get(f"{page}?rd={encoded(rd)}", pages=True)
            assert status == 200 and f'action="{page}"' in body, rd
            assert hidden_rd(body) is None, rd
