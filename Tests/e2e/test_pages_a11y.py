"""The pages' accessibility in headless Chromium, at 320 and 1280 pixels wide.

axe-core (3.1.1, bundled with axe-selenium-python) audits every page a person meets: login,
register, forgot, reset and verify, each form with an error next to a field, the account page
(address not verified and verified, alone and with other sessions whose forms show, with the second
factor on), the second factor's enrolment, the recovery codes, the login's code step, the notices
after a step, and the error page of a path that does not exist. No page may have a violation of
impact "serious" or "critical"; the colour contrast of text is one of the rules (`color-contrast`).
The one exception: `autocomplete-valid` on a field with `autocomplete="one-time-code"`, a token newer
than that axe-core.

A person also logs in with the keyboard alone: Tab to each field, type, Tab to the button, Enter;
every element that gets the focus must show it (an outline or a shadow it does not have otherwise).

axe-core waits on timers, so these pages run with JavaScript on (they have no script of their own;
test_pages_browser.py runs them with it off). Screenshots of every page go to the `a11y` folder of
LATCHKEY_SCREENSHOTS when it names a folder, with axe-core's full results (every impact, and what it
could not decide) beside them.
"""

import json
import os
import re
import shutil
import urllib.parse

import pytest
import requests

from test_mfa import Authenticator
from test_mfa import log_in as api_log_in
from test_pages_browser import HOST, WIDTHS, Page, link_on, require_browser

# The impacts that fail the audit.
FAILING = {"serious", "critical"}

STYLE = """
const style = getComputedStyle(arguments[0]);
return {outline: [style.outlineStyle, style.outlineWidth, style.outlineColor].join(" "),
        shadow: style.boxShadow};
"""


class AuditedPage(Page):
    """`Page` with JavaScript on, which axe-core needs; the same flags and width otherwise."""

    def __init__(self, base, width):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        os.environ["SE_OFFLINE"] = "true"
        options = webdriver.ChromeOptions()
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--host-resolver-rules=MAP *.localhost 127.0.0.1", "--window-size=1280,900"):
            options.add_argument(argument)
        options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
        self.driver.set_script_timeout(60)
        self.base = base
        self.width = width
        self.shots = 0
        self.results = []

    def audit(self, label):
        """Runs axe-core on the page as it is; returns its failing violations, one line per node."""
        from axe_selenium_python import Axe
        axe = Axe(self.driver)
        axe.inject()
        results = axe.run()
        self.results.append({"page": label, "url": self.driver.current_url, "violations": results["violations"],
                             "incomplete": results["incomplete"]})
        found = []
        for violation in results["violations"]:
            for node in violation["nodes"]:
                if node["impact"] not in FAILING or self.too_new_for_axe(violation["id"], node):
                    continue
                summary = "\n".join("    " + line.strip() for line in node["failureSummary"].splitlines())
                found.append(f"{label} at {self.width} px: {violation['id']} ({node['impact']}) {node['html']}\n"
                             + summary)
        return found

    def too_new_for_axe(self, rule, node):
        """The field's `autocomplete="one-time-code"`, a token axe-core 3.1.1 does not know."""
        if rule != "autocomplete-valid":
            return False
        return self.driver.execute_script(
            "return document.querySelector(arguments[0]).getAttribute('autocomplete')",
            node["target"][0]) == "one-time-code"

    def save_results(self):
        folder = os.environ.get("LATCHKEY_SCREENSHOTS")
        if folder and self.results:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"axe-{self.width}.json"), "w") as out:
                json.dump(self.results, out, indent=2)


@pytest.fixture
def audited_page_at(request, monkeypatch):
    """`audited_page_at(base, width)`: an `AuditedPage`, quit when the test ends. Its screenshots go
    to a folder of the test's own under LATCHKEY_SCREENSHOTS/a11y, apart from the other pages' tests."""
    require_browser()
    folder = os.environ.get("LATCHKEY_SCREENSHOTS")
    if folder:
        monkeypatch.setenv("LATCHKEY_SCREENSHOTS",
                           os.path.join(folder, "a11y", re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")))
    pages = []

    def start(base, width):
        page = AuditedPage(base, width)
        pages.append(page)
        return page

    yield start
    for page in pages:
        page.save_results()
        page.quit()


def errors_shown(page):
    return [element.text for element in page.driver.find_elements("css selector", ".field-error, .problem")]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_passes_axe(width, start_server, audited_page_at):
    server = start_server({"BCRYPT_COST": "4", "MFA_MAX_FAILURES": "50"})
    base = f"http://{HOST}:{server.port}"
    api = f"http://127.0.0.1:{server.port}"
    page = audited_page_at(base, width)
    email, password = f"ada{width}@example.com", "b4l0u-accessible-pages"
    found = []

    for path, label in (("/ui/login", "login"), ("/ui/register", "register"), ("/ui/forgot", "forgot")):
        page.open(path)
        found += page.audit(label)

    # The forms with an error next to a field.
    page.open("/ui/register")
    page.submit("/ui/register", {"email": "not an address", "new-password": password})
    assert errors_shown(page)
    found += page.audit("register with an error")
    page.submit("/ui/register", {"email": email, "new-password": password})
    assert page.driver.current_url == base + "/ui/login?registered"
    found += page.audit("login after registering")
    page.submit("/ui/login", {"username": email, "current-password": "a-wrong-password"})
    assert "Wrong email or password." in errors_shown(page)
    found += page.audit("login with a wrong password")

    # The account page: the address not verified yet, alone, then with another session.
    page.submit("/ui/login", {"username": email, "current-password": password})
    assert page.driver.current_url == base + "/ui/account"
    found += page.audit("account, not verified, one session")
    for agent in ("Phone/2.0", "Tablet/1.0"):
        other = requests.post(api + "/sessions", data={"email": email, "password": password},
                              headers={"User-Agent": agent})
        assert other.status_code == 200, other.text
    page.open("/ui/account")
    assert "Phone/2.0" in page.text()
    found += page.audit("account, not verified, other sessions")

    # Verify the address with the development link.
    page.submit("/ui/account/verification", {})
    found += page.audit("account with the verification link")
    page.open(link_on(page, "/ui/verify?").replace(base, ""))
    found += page.audit("verify")
    page.submit("/ui/verify", {"new-password": password})
    assert f"{email} is verified." in page.text()
    found += page.audit("address verified")
    page.open("/ui/account")
    assert f"{email} · verified" in page.text()
    found += page.audit("account, verified, other sessions")
    tablet = page.driver.find_element("xpath", "//li[contains(., 'Tablet/1.0')]//form").get_attribute("action")
    page.submit(tablet.replace(base, ""), {"current-password": password})
    assert "That session is ended." in page.text()
    found += page.audit("account after ending a session")

    # The second factor: enrolment (with a wrong code first), the recovery codes.
    page.submit("/ui/account/factor", {"current-password": password})
    found += page.audit("second-factor enrolment")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link_on(page, "otpauth://")).query)
    app = Authenticator(query["secret"][0])
    page.submit("/ui/account/factor/confirm", {"one-time-code": app.wrong_code()})
    assert errors_shown(page)
    found += page.audit("second-factor enrolment with a wrong code")
    page.submit("/ui/account/factor/confirm", {"one-time-code": app.code()})
    codes = [element.text for element in page.driver.find_elements("css selector", ".codes code")]
    assert len(codes) == 10
    found += page.audit("recovery codes")
    api_log_in(api, email, password, code=codes[0], agent="Phone/3.0")
    page.open("/ui/account")
    assert "On: logging in asks for a code" in page.text() and "Phone/3.0" in page.text()
    found += page.audit("account with the second factor, other session")

    # Log out; the login's code step, with a wrong code first.
    page.submit("/ui/logout", {})
    found += page.audit("logged out")
    page.submit("/ui/login", {"username": email, "current-password": password})
    assert page.driver.current_url == base + "/ui/login"
    found += page.audit("login code")
    page.submit("/ui/login/code", {"one-time-code": app.wrong_code()})
    assert errors_shown(page)
    found += page.audit("login code with a wrong code")
    page.submit("/ui/login/code", {"one-time-code": app.code()})
    assert page.driver.current_url == base + "/ui/account"

    # A reset link, and a page that does not exist.
    page.submit("/ui/logout", {})
    page.open("/ui/forgot")
    page.submit("/ui/forgot", {"username": email})
    found += page.audit("forgot, link sent")
    page.open(link_on(page, "/ui/reset?").replace(base, ""))
    found += page.audit("reset")
    page.open("/ui/nonexistent")
    assert "Page not found" in page.text()
    found += page.audit("page not found")

    assert not found, f"{len(found)} serious or critical violations:\n" + "\n".join(found)


@pytest.mark.parametrize("width", WIDTHS)
def test_logging_in_with_the_keyboard_alone(width, start_server, audited_page_at):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    server = start_server({"BCRYPT_COST": "4"})
    base = f"http://{HOST}:{server.port}"
    email, password = f"grace{width}@example.com", "b4l0u-keyboard-only"
    assert requests.post(f"http://127.0.0.1:{server.port}/users",
                         data={"email": email, "password": password}).status_code == 200
    page = audited_page_at(base, width)
    page.open("/ui/login")
    driver = page.driver
    form = page.form("/ui/login")
    steps = [(page.field("username", form), email), (page.field("current-password", form), password),
             (form.find_element(By.CSS_SELECTOR, "button[type=submit]"), None)]
    unfocused = [driver.execute_script(STYLE, element) for element, _ in steps]
    assert driver.execute_script("return document.activeElement === document.body")

    for (element, text), before in zip(steps, unfocused):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        focused = driver.switch_to.active_element
        assert focused == element, f"Tab reached {focused.get_attribute('outerHTML')}"
        after = driver.execute_script(STYLE, element)
        outline_style, outline_width, _ = after["outline"].split(" ", 2)
        shown = (outline_style != "none" and outline_width != "0px") or after["shadow"] not in ("none", before["shadow"])
        assert shown and after != before, f"no focus indicator on {element.get_attribute('outerHTML')}: {after}"
        if text is not None:
            ActionChains(driver).send_keys(text).perform()
            assert element.get_attribute("value") == text

    ActionChains(driver).send_keys(Keys.ENTER).perform()
    WebDriverWait(driver, 60).until(lambda driver: driver.current_url == base + "/ui/account")
    assert f"{email} · not verified yet" in page.text()
