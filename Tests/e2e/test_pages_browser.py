"""The pages in a real browser: headless Chromium through Selenium, with JavaScript turned off, at
320 and 1280 pixels wide. A person registers, verifies the address with the development link, logs
in, ends another session, changes the password and the address, resets a forgotten password, logs
out and deletes the account; forged and cross-site forms are refused; nothing scrolls sideways. In
production the same pages run with `Secure` `__Host-` cookies.

Host names end in `.localhost`: Chromium resolves them to loopback and treats them as secure
contexts, so `Secure` and prefixed cookies and `Sec-Fetch-Site` behave over plain http as over
https. Screenshots of every page go to LATCHKEY_SCREENSHOTS when it names a folder.
"""

import importlib.util
import os
import re
import shutil
import urllib.parse

import pytest
import requests

from latchkey_helpers import PRODUCTION_BASE

HOST = "auth.example.localhost"
WIDTHS = [320, 1280]


def require_browser():
    if importlib.util.find_spec("selenium") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: selenium is not installed")
        pytest.skip("selenium is not installed")
    if not shutil.which("chromedriver") or not (shutil.which("chromium") or shutil.which("chromium-browser")):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: chromium and chromium-driver are not installed")
        pytest.skip("chromium is not installed")


class Page:
    """Chromium with JavaScript off at one width, on the service at `base`."""

    def __init__(self, base, width):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        os.environ["SE_OFFLINE"] = "true"
        options = webdriver.ChromeOptions()
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--host-resolver-rules=MAP *.localhost 127.0.0.1", "--window-size=1280,900"):
            options.add_argument(argument)
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
        options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        # --window-size does not make a narrow viewport in headless Chromium: set the metrics.
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
        self.base = base
        self.width = width
        self.shots = 0

    def open(self, path):
        self.driver.get(self.base + path)
        self.check_layout()

    def field(self, autocomplete, form=None):
        from selenium.webdriver.common.by import By
        scope = self.driver if form is None else form
        return scope.find_element(By.CSS_SELECTOR, f'input[autocomplete="{autocomplete}"]')

    def form(self, action):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, f'form[action="{action}"]')

    def submit(self, action, values):
        """Fills the form posting to `action` (fields by their autocomplete token or name) and sends it.
        With JavaScript off, chromedriver now and then loses a node it just found ("does not belong
        to the document"); the form is then found and filled again, at most three times."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.common.by import By
        for attempt in range(3):
            try:
                form = self.form(action)
                for key, value in values.items():
                    found = form.find_elements(By.CSS_SELECTOR, f'input[autocomplete="{key}"]') or \
                        form.find_elements(By.CSS_SELECTOR, f'input[name="{key}"]')
                    found[0].clear()
                    found[0].send_keys(value)
                button = form.find_element(By.CSS_SELECTOR, "button[type=submit]")
                break
            except (StaleElementReferenceException, WebDriverException) as error:
                if attempt == 2 or "does not belong to the document" not in str(error) and \
                        not isinstance(error, StaleElementReferenceException):
                    raise
        self.click_and_wait(button)
        self.check_layout()

    def click_and_wait(self, button):
        """Clicks and waits until the next page replaced this one (a form post, then its 303)."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
        old = self.driver.find_element(By.TAG_NAME, "html")
        button.click()

        def replaced(_):
            # With JavaScript off, chromedriver reports the old page's node either as stale or as
            # not belonging to the document: both mean the next page is there.
            try:
                old.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as error:
                if "does not belong to the document" in str(error):
                    return True
                raise

        wait = WebDriverWait(self.driver, 60)
        wait.until(replaced)
        wait.until(lambda driver: driver.execute_script("return document.readyState") == "complete")

    def text(self):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.TAG_NAME, "body").text

    def check_layout(self):
        """JavaScript is off for pages, not for the test's own look at them (CDP)."""
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        viewport = metrics["cssLayoutViewport"]["clientWidth"]
        content = metrics["cssContentSize"]["width"]
        # The layout viewport is the width asked for, less a vertical scrollbar on a long page.
        assert self.width - 20 <= viewport <= self.width, (viewport, self.width)
        assert content <= viewport + 1, f"the page scrolls sideways at {self.width} px: {content} > {viewport}"
        folder = os.environ.get("LATCHKEY_SCREENSHOTS")
        if folder:
            os.makedirs(folder, exist_ok=True)
            self.shots += 1
            name = re.sub(r"[^a-z0-9]+", "-", self.driver.current_url.split("/ui/")[-1].split("?")[0]) or "page"
            self.driver.save_screenshot(os.path.join(folder, f"{self.width}-{self.shots:02d}-{name}.png"))

    def cookie(self, name):
        return self.driver.get_cookie(name)

    def quit(self):
        self.driver.quit()


@pytest.fixture
def browser_at():
    require_browser()
    pages = []

    def start(base, width):
        page = Page(base, width)
        pages.append(page)
        return page

    yield start
    for page in pages:
        page.quit()


def link_on(page, prefix):
    from selenium.webdriver.common.by import By
    for anchor in page.driver.find_elements(By.TAG_NAME, "a"):
        href = anchor.get_attribute("href") or ""
        if prefix in href:
            return href
    raise AssertionError(f"no link with {prefix} on {page.driver.current_url}: {page.text()}")


# The production profile with the token in the answer (allowed there when asked for), so that the
# same development links lead the way; its cookies are `Secure` and `__Host-`.
PROFILES = {
    "development": ({}, "session_id"),
    "production": ({**PRODUCTION_BASE, "TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true",
                    "SESSION_COOKIE_SECURE": "true", "PUBLIC_URL": f"http://{HOST}:{{port}}"}, "__Host-session_id"),
}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("width", WIDTHS)
def test_a_person_uses_every_page_with_javascript_off(width, profile, start_server, browser_at):
    env, cookie = PROFILES[profile]
    server = start_server({"BCRYPT_COST": "4", **env})
    base = f"http://{HOST}:{server.port}"
    api = f"http://127.0.0.1:{server.port}"
    page = browser_at(base, width)
    # Long enough for production's 15 characters.
    email = f"ada{width}@example.com"
    password, new_password, third = "b4l0u-first-passphrase", "t4rt1fl3tt3-second-one", "a-third-one-42-long"

    # Register: the page never logs in.
    page.open("/ui/register")
    page.submit("/ui/register", {"email": email, "new-password": password})
    assert page.driver.current_url == base + "/ui/login?registered"
    assert "Your registration is done" in page.text()
    assert page.cookie(cookie) is None

    # Log in; the account page.
    page.submit("/ui/login", {"username": email, "current-password": password})
    assert page.driver.current_url == base + "/ui/account"
    assert f"{email} · not verified yet" in page.text()
    session = page.cookie(cookie)
    assert session["httpOnly"] and session["path"] == "/" and session["secure"] == (profile == "production")

    # Verify the address with the development link: opening it consumes nothing.
    page.submit("/ui/account/verification", {})
    verify_link = link_on(page, "/ui/verify?")
    page.driver.get(verify_link)
    page.driver.get(verify_link)
    page.submit("/ui/verify", {"new-password": password})
    assert f"{email} is verified." in page.text()
    # A proof of the mailbox with a password ends the sessions where a reset does (production).
    page.open("/ui/account")
    if profile == "production":
        assert page.driver.current_url == base + "/ui/login"
        page.submit("/ui/login", {"username": email, "current-password": password})
    assert f"{email} · verified" in page.text()

    # Another session (a phone), ended from this page.
    phone = requests.post(api + "/sessions", data={"email": email, "password": password},
                          headers={"User-Agent": "Phone/2.0"})
    assert phone.status_code == 200
    page.open("/ui/account")
    assert "Phone/2.0" in page.text()
    end_forms = [form.get_attribute("action") for form in page.driver.find_elements("css selector", "form")
                 if "/ui/account/sessions/" in (form.get_attribute("action") or "") and
                 form.get_attribute("action").endswith("/end")]
    assert len(end_forms) == 1
    page.submit(end_forms[0].replace(base, ""), {"current-password": password})
    assert "That session is ended." in page.text()
    assert requests.get(api + "/profile", cookies={cookie: phone.cookies[cookie]}).status_code == 403

    # Change the password: a wrong current one is shown next to its field.
    page.submit("/ui/account/password", {"current_password": "wrong-one", "new_password": new_password})
    assert "That is not your password." in page.text()
    page.submit("/ui/account/password", {"current_password": password, "new_password": new_password})
    assert "Your password is changed" in page.text()

    # Change the address, with the development link.
    new_email = f"ada{width}.new@example.com"
    page.submit("/ui/account/email", {"new_email": new_email, "password": new_password})
    page.driver.get(link_on(page, "/ui/verify?"))
    page.submit("/ui/verify", {"new-password": new_password})
    page.open("/ui/account")
    assert f"{new_email} · verified" in page.text()  # a change of address ends nothing

    # Log out, forget the password, reset it.
    page.submit("/ui/logout", {})
    assert "You are logged out." in page.text()
    assert page.cookie(cookie) is None
    page.open("/ui/forgot")
    page.submit("/ui/forgot", {"username": new_email})
    reset_link = link_on(page, "/ui/reset?")
    page.driver.get(reset_link)
    page.submit("/ui/reset", {"new-password": third})
    assert "Your password is changed. Log in with the new one." in page.text()

    # Log in with it, and delete the account.
    page.submit("/ui/login", {"username": new_email, "current-password": third})
    page.submit("/ui/account/delete", {"password": third})
    assert "Your account is deleted." in page.text()
    page.submit("/ui/login", {"username": new_email, "current-password": third})
    assert "Wrong email or password." in page.text()


def test_forged_and_cross_site_forms_are_refused(start_server, browser_at):
    server = start_server({"BCRYPT_COST": "4"})
    base = f"http://{HOST}:{server.port}"
    requests.post(f"http://127.0.0.1:{server.port}/users", data={"email": "ada@example.com", "password": "b4l0u"})
    page = browser_at(base, 1280)
    # A form without the browser's token (its cookie gone, as in another browser profile).
    page.open("/ui/login")
    page.driver.delete_cookie("latchkey_csrf")
    page.submit("/ui/login", {"username": "ada@example.com", "current-password": "b4l0u"})
    assert "This form has expired" in page.text()
    assert page.cookie("session_id") is None
    # A form on another site that posts here, with the right token copied into it.
    page.open("/ui/login")
    token = page.cookie("latchkey_csrf")["value"]
    forged = (f"<form method='post' action='{base}/ui/login'><input name='csrf_token' value='{token}'>"
              "<input name='email' value='ada@example.com'><input name='password' value='b4l0u'>"
              "<button type='submit'>go</button></form>")
    page.driver.get("data:text/html," + forged)
    page.click_and_wait(page.driver.find_element("css selector", "button"))
    assert "This form was sent from another site" in page.text()
    assert page.cookie("session_id") is None


def test_production_pages_use_secure_host_cookies(start_server, browser_at):
    server = start_server({**PRODUCTION_BASE, "BCRYPT_COST": "4", "TOKEN_DELIVERY": "response",
                           "ALLOW_RESET_TOKEN_IN_RESPONSE": "true", "PUBLIC_URL": f"http://{HOST}:{{port}}", "SESSION_COOKIE_SECURE": "true"})
    base = f"http://{HOST}:{server.port}"
    password = "correct horse battery staple"
    page = browser_at(base, 1280)
    page.open("/ui/register")
    page.submit("/ui/register", {"email": "ada@example.com", "new-password": password})
    page.submit("/ui/login", {"username": "ada@example.com", "current-password": password})
    assert page.driver.current_url == base + "/ui/account"
    session = page.cookie("__Host-session_id")
    csrf = page.cookie("__Host-latchkey_csrf")
    assert session and session["secure"] and session["httpOnly"] and session["path"] == "/"
    assert csrf and csrf["secure"] and csrf["httpOnly"]
    # The same registration again answers as a new one, and logs nobody in.
    page.submit("/ui/logout", {})
    page.open("/ui/register")
    page.submit("/ui/register", {"email": "ada@example.com", "new-password": "another long passphrase"})
    assert page.driver.current_url == base + "/ui/login?registered"
    assert page.cookie("__Host-session_id") is None


def decode_qr(page, tmp_path):
    """The text of the QR code on the page: a screenshot with the code in view, read by zbarimg."""
    from selenium.webdriver.common.by import By
    import subprocess
    code = page.driver.find_element(By.CSS_SELECTOR, "svg.qr")
    page.driver.execute_cdp_cmd("Emulation.setScrollbarsHidden", {"hidden": True})
    code.location_once_scrolled_into_view
    shot = tmp_path / f"qr-{page.width}.png"
    page.driver.save_screenshot(str(shot))
    folder = os.environ.get("LATCHKEY_SCREENSHOTS")
    if folder:
        shutil.copy(shot, os.path.join(folder, f"{page.width}-qr.png"))
    decoded = subprocess.run(["zbarimg", "--raw", "-q", str(shot)], capture_output=True, text=True)
    assert decoded.returncode == 0, decoded.stderr
    return decoded.stdout.rstrip("\n")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_second_factor_with_javascript_off(width, start_server, browser_at, tmp_path):
    """Enrol from the QR code drawn on the server, log out, log in with a code, with a recovery code,
    try a wrong code, get new recovery codes, turn the factor off."""
    from test_mfa import Authenticator, verify_address
    if not shutil.which("zbarimg"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: zbar-tools is not installed")
        pytest.skip("zbarimg is not installed")
    server = start_server({"BCRYPT_COST": "4", "MFA_MAX_FAILURES": "50"})
    base = f"http://{HOST}:{server.port}"
    api = f"http://127.0.0.1:{server.port}"
    email, password = f"grace{width}@example.com", "b4l0u-second-factor"
    assert requests.post(api + "/users", data={"email": email, "password": password}).status_code == 200
    verify_address(api, email)
    page = browser_at(base, width)
    page.open("/ui/login")
    page.submit("/ui/login", {"username": email, "current-password": password})
    page.submit("/ui/account/factor", {"current-password": password})
    uri = decode_qr(page, tmp_path)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
    assert uri.startswith("otpauth://totp/") and query["issuer"] == ["Latchkey"]
    secret = query["secret"][0]
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    assert grouped in page.text()
    assert link_on(page, "otpauth://") == uri
    app = Authenticator(secret)
    page.submit("/ui/account/factor/confirm", {"one-time-code": app.code()})
    assert "This is the only time they are shown" in page.text()
    codes = [element.text for element in page.driver.find_elements("css selector", ".codes code")]
    assert len(codes) == 10
    page.open("/ui/account")
    assert "On: logging in asks for a code" in page.text()

    # Log out; log in with a code, after a wrong one.
    page.submit("/ui/logout", {})
    page.submit("/ui/login", {"username": email, "current-password": password})
    assert page.driver.current_url == base + "/ui/login"
    page.submit("/ui/login/code", {"one-time-code": app.wrong_code()})
    assert "That code is not right." in page.text()
    page.submit("/ui/login/code", {"one-time-code": app.code()})
    assert page.driver.current_url == base + "/ui/account"

    # Log out; log in with a recovery code.
    page.submit("/ui/logout", {})
    page.submit("/ui/login", {"username": email, "current-password": password})
    page.submit("/ui/login/code", {"one-time-code": codes[0]})
    assert page.driver.current_url == base + "/ui/account"

    # New recovery codes, then turn the factor off with one of them.
    page.submit("/ui/account/factor/recovery-codes", {"current-password": password, "one-time-code": app.code()})
    new_codes = [element.text for element in page.driver.find_elements("css selector", ".codes code")]
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    page.open("/ui/account")
    page.submit("/ui/account/factor/delete", {"current-password": password, "one-time-code": new_codes[0]})
    assert "The second factor is off" in page.text()
    page.submit("/ui/logout", {})
    page.submit("/ui/login", {"username": email, "current-password": password})
    assert page.driver.current_url == base + "/ui/account"
