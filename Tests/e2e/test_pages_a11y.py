"""The pages' accessibility in headless Chromium, at 320 and 1280 pixels wide, in English and in French.

axe-core (3.1.1, bundled with axe-selenium-python) audits every page a person meets: login,
register, forgot, reset and verify, each form with an error next to a field, the account page
(address not verified and verified, alone and with other sessions whose forms show, with the second
factor on), the second factor's enrolment, the recovery codes, the login's code step, the notices
after a step, and the error page of a path that does not exist. No page may have a violation of
impact "serious" or "critical"; the colour contrast of text is one of the rules (`color-contrast`).
The one exception: `autocomplete-valid` on a field with `autocomplete="one-time-code"`, a token newer
than that axe-core.

The walk runs once per language, the browser asking for it (`intl.accept_languages`). On every page
`<html lang>` names that language, the heading is that language's sentence in its catalog
(Sources/LatchkeyUI/Resources/<language>.json, read by the test), no sentence of the other catalog shows
in the text, the title or an `aria-label` (French sentences would leak into an English page as much as
English ones into a French page), and nothing scrolls sideways: French sentences are longer.

A person also logs in with the keyboard alone: Tab to each field, type, Tab to the button, Enter;
every element that gets the focus must show it (an outline or a shadow it does not have otherwise).
That runs at both widths in English and once in French.

axe-core waits on timers, so these pages run with JavaScript on (they have no script of their own;
test_pages_browser.py runs them with it off). Screenshots of every page go to the `a11y` folder of
LATCHKEY_SCREENSHOTS when it names a folder (a folder per test, then per language; each file named by
width and page), with axe-core's full results (every impact, and what it could not decide) beside them.
"""

import functools
import json
import os
import re
import shutil
import urllib.parse

import pytest
import requests

from latchkey_helpers import ROOT
from test_mfa import Authenticator
from test_mfa import log_in as api_log_in
from test_pages_browser import HOST, WIDTHS, Page, link_on, require_browser

# The impacts that fail the audit.
FAILING = {"serious", "critical"}

LANGUAGES = ["en", "fr"]
CATALOGS = os.path.join(ROOT, "Sources", "LatchkeyUI", "Resources")


@functools.cache
def catalog(language):
    """The shipped sentences of `language`, by key."""
    with open(os.path.join(CATALOGS, f"{language}.json"), encoding="utf-8") as sentences:
        return json.load(sentences)


def as_read(sentence):
    """`sentence` as WebDriver reads it from a page: a no-break space (French puts one before `:`)
    reads as a plain one; a narrow one (before `?`) stays."""
    return sentence.replace("\u00a0", " ")


def say(language, key, **values):
    """The catalog's sentence `key` in `language`, with its `{placeholders}` filled from `values`, as
    WebDriver reads it (`as_read`)."""
    sentence = catalog(language)[key]
    for name, value in values.items():
        sentence = sentence.replace("{" + name + "}", value)
    assert not re.search(r"\{[a-z]+\}", sentence), f"{key}: a placeholder left in {sentence!r}"
    return as_read(sentence)


def foreign_fragments(language):
    """What of the other catalogs must never show on a page in `language`: each of their sentences
    that differs from this catalog's, cut at its placeholders, in pieces of four characters or more."""
    own = catalog(language)
    fragments = set()
    for other in LANGUAGES:
        if other == language:
            continue
        for key, sentence in catalog(other).items():
            if key in own and own[key] == sentence:
                continue
            fragments.update(piece.strip() for piece in re.split(r"\{[a-z]+\}", as_read(sentence))
                             if len(piece.strip()) >= 4)
    return sorted(fragments)


# The text a person meets besides the body's: the title, and the names given to images and controls.
SHOWN = """
return [document.title].concat(Array.from(document.querySelectorAll('[aria-label], img[alt]'),
    element => element.getAttribute('aria-label') || element.getAttribute('alt')));
"""

STYLE = """
const style = getComputedStyle(arguments[0]);
return {outline: [style.outlineStyle, style.outlineWidth, style.outlineColor].join(" "),
        shadow: style.boxShadow};
"""


class AuditedPage(Page):
    """`Page` with JavaScript on, which axe-core needs; the same flags and width otherwise. The
    browser asks for `language` (its Accept-Language)."""

    def __init__(self, base, width, language="en"):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        os.environ["SE_OFFLINE"] = "true"
        options = webdriver.ChromeOptions()
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--host-resolver-rules=MAP *.localhost 127.0.0.1", "--window-size=1280,900"):
            options.add_argument(argument)
        # --lang alone leaves headless Chromium's Accept-Language as it was: the preference sets it.
        options.add_argument(f"--lang={language}")
        options.add_experimental_option("prefs", {"intl.accept_languages": language})
        options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
        self.driver.set_script_timeout(60)
        self.base = base
        self.width = width
        self.language = language
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

    def check(self, label, heading, **values):
        """The page in its language (see `language_problems`), then `audit`: every problem found."""
        return self.language_problems(label, heading, **values) + self.audit(label)

    def language_problems(self, label, heading, **values):
        """What is wrong with the page as one in `self.language`: `<html lang>`, the heading (catalog
        key `heading`, filled from `values`), another catalog's sentences, a sideways scroll."""
        from selenium.webdriver.common.by import By
        where = f"{label} at {self.width} px in {self.language}"
        found = []
        lang = self.driver.execute_script("return document.documentElement.lang")
        if lang != self.language:
            found.append(f"{where}: <html lang={lang!r}>")
        shown = as_read(self.driver.find_element(By.TAG_NAME, "h1").text)
        if shown != say(self.language, heading, **values):
            found.append(f"{where}: the heading is {shown!r}, not {heading}")
        text = as_read("\n".join([self.text()] + self.driver.execute_script(SHOWN)))
        found += [f"{where}: {fragment!r} shows" for fragment in foreign_fragments(self.language)
                  if fragment in text]
        scroll, client = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if scroll > client:
            found.append(f"{where}: the page scrolls sideways ({scroll} > {client} px)")
        return found

    def too_new_for_axe(self, rule, node):
        """The field's `autocomplete="one-time-code"`, a token axe-core 3.1.1 does not know."""
        if rule != "autocomplete-valid":
            return False
        return self.driver.execute_script(
            "return document.querySelector(arguments[0]).getAttribute('autocomplete')",
            node["target"][0]) == "one-time-code"

    def check_layout(self):
        """`Page.check_layout`, with the screenshots in a folder of the language's own."""
        folder = os.environ.get("LATCHKEY_SCREENSHOTS")
        if not folder:
            return super().check_layout()
        os.environ["LATCHKEY_SCREENSHOTS"] = os.path.join(folder, self.language)
        try:
            super().check_layout()
        finally:
            os.environ["LATCHKEY_SCREENSHOTS"] = folder

    def save_results(self):
        folder = os.environ.get("LATCHKEY_SCREENSHOTS")
        if folder and self.results:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"axe-{self.width}-{self.language}.json"), "w") as out:
                json.dump(self.results, out, indent=2)


@pytest.fixture
def audited_page_at(request, monkeypatch):
    """`audited_page_at(base, width, language="en")`: an `AuditedPage`, quit when the test ends. Its
    screenshots go to a folder of the test's own under LATCHKEY_SCREENSHOTS/a11y, apart from the other
    pages' tests, in a folder of the language's own there, named by width and page."""
    require_browser()
    folder = os.environ.get("LATCHKEY_SCREENSHOTS")
    if folder:
        monkeypatch.setenv("LATCHKEY_SCREENSHOTS",
                           os.path.join(folder, "a11y", re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")))
    pages = []

    def start(base, width, language="en"):
        page = AuditedPage(base, width, language)
        pages.append(page)
        return page

    yield start
    for page in pages:
        page.save_results()
        page.quit()


def errors_shown(page):
    return [element.text for element in page.driver.find_elements("css selector", ".field-error, .problem")]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_passes_axe(width, language, start_server, audited_page_at):
    server = start_server({"BCRYPT_COST": "4", "MFA_MAX_FAILURES": "50"})
    base = f"http://{HOST}:{server.port}"
    api = f"http://127.0.0.1:{server.port}"
    page = audited_page_at(base, width, language)
    email, password = f"ada{width}@example.com", "b4l0u-accessible-pages"
    found = []

    def said(key, **values):
        return say(language, key, **values)

    for path, label, heading in (("/ui/login", "login", "login.title"), ("/ui/register", "register", "register.title"),
                                 ("/ui/forgot", "forgot", "forgot.title")):
        page.open(path)
        found += page.check(label, heading)

    # The forms with an error next to a field.
    page.open("/ui/register")
    page.submit("/ui/register", {"email": "not an address", "new-password": password})
    assert errors_shown(page)
    found += page.check("register with an error", "register.title")
    page.submit("/ui/register", {"email": email, "new-password": password})
    assert page.driver.current_url == base + "/ui/login?registered"
    found += page.check("login after registering", "login.title")
    page.submit("/ui/login", {"username": email, "current-password": "a-wrong-password"})
    assert said("problem.credentials") in errors_shown(page)
    found += page.check("login with a wrong password", "login.title")

    # The account page: the address not verified yet, alone, then with another session.
    page.submit("/ui/login", {"username": email, "current-password": password})
    assert page.driver.current_url == base + "/ui/account"
    found += page.check("account, not verified, one session", "account.title")
    # The step-up page an application's aal=2 sends a one-factor session to: no factor yet.
    page.open("/ui/login?aal=2")
    assert said("stepup.verify-first") in page.text()
    found += page.check("step-up, address not verified", "stepup.title")
    for agent in ("Phone/2.0", "Tablet/1.0"):
        other = requests.post(api + "/sessions", data={"email": email, "password": password},
                              headers={"User-Agent": agent})
        assert other.status_code == 200, other.text
    page.open("/ui/account")
    assert "Phone/2.0" in page.text()
    found += page.check("account, not verified, other sessions", "account.title")

    # Verify the address with the development link.
    page.submit("/ui/account/verification", {})
    found += page.check("account with the verification link", "account.title")
    page.open(link_on(page, "/ui/verify?").replace(base, ""))
    found += page.check("verify", "verify.title")
    page.submit("/ui/verify", {"new-password": password})
    assert said("verify.done", email=email) in page.text()
    found += page.check("address verified", "verify.done-title")
    page.open("/ui/account")
    assert f"{email} · {said('account.verified')}" in page.text()
    found += page.check("account, verified, other sessions", "account.title")
    page.open("/ui/login?aal=2")
    assert said("stepup.needs-factor") in page.text()
    found += page.check("step-up, no second factor", "stepup.title")
    page.open("/ui/account")
    tablet = page.driver.find_element("xpath", "//li[contains(., 'Tablet/1.0')]//form").get_attribute("action")
    page.submit(tablet.replace(base, ""), {"current-password": password})
    assert said("account.done-session") in page.text()
    found += page.check("account after ending a session", "account.title")

    # The second factor: enrolment (with a wrong code first), the recovery codes.
    page.submit("/ui/account/factor", {"current-password": password})
    found += page.check("second-factor enrolment", "enrol.title")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link_on(page, "otpauth://")).query)
    app = Authenticator(query["secret"][0])
    page.submit("/ui/account/factor/confirm", {"one-time-code": app.wrong_code()})
    assert errors_shown(page)
    found += page.check("second-factor enrolment with a wrong code", "enrol.title")
    page.submit("/ui/account/factor/confirm", {"one-time-code": app.code()})
    codes = [element.text for element in page.driver.find_elements("css selector", ".codes code")]
    assert len(codes) == 10
    found += page.check("recovery codes", "recovery.title")
    api_log_in(api, email, password, code=codes[0], agent="Phone/3.0")
    page.open("/ui/account")
    assert said("account.factor-on") in page.text() and "Phone/3.0" in page.text()
    found += page.check("account with the second factor, other session", "account.title")

    # Log out; the login's code step, with a wrong code first.
    page.submit("/ui/logout", {})
    assert said("login.logged-out") in page.text()
    found += page.check("logged out", "login.title")
    page.submit("/ui/login", {"username": email, "current-password": password})
    assert page.driver.current_url == base + "/ui/login"
    found += page.check("login code", "code.title")
    page.submit("/ui/login/code", {"one-time-code": app.wrong_code()})
    assert errors_shown(page)
    found += page.check("login code with a wrong code", "code.title")
    page.submit("/ui/login/code", {"one-time-code": app.code()})
    assert page.driver.current_url == base + "/ui/account"

    # The log-out page an application's link leads to; a reset link, and a page that does not exist.
    page.open("/ui/logout")
    found += page.check("log out", "logout.title")
    page.submit("/ui/logout", {})
    page.open("/ui/forgot")
    page.submit("/ui/forgot", {"username": email})
    found += page.check("forgot, link sent", "forgot.title")
    page.open(link_on(page, "/ui/reset?").replace(base, ""))
    found += page.check("reset", "reset.title")
    page.open("/ui/nonexistent")
    found += page.check("page not found", "error.404")

    assert not found, f"{len(found)} problems:\n" + "\n".join(found)


# Both widths in English, and once in French: the fields' labels and the button's name change.
@pytest.mark.parametrize("width, language", [(320, "en"), (1280, "en"), (320, "fr")])
def test_logging_in_with_the_keyboard_alone(width, language, start_server, audited_page_at):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    server = start_server({"BCRYPT_COST": "4"})
    base = f"http://{HOST}:{server.port}"
    email, password = f"grace{width}@example.com", "b4l0u-keyboard-only"
    assert requests.post(f"http://127.0.0.1:{server.port}/users",
                         data={"email": email, "password": password}).status_code == 200
    page = audited_page_at(base, width, language)
    page.open("/ui/login")
    driver = page.driver
    assert driver.execute_script("return document.documentElement.lang") == language
    form = page.form("/ui/login")
    steps = [(page.field("username", form), email), (page.field("current-password", form), password),
             (form.find_element(By.CSS_SELECTOR, "button[type=submit]"), None)]
    assert steps[-1][0].text == say(language, "common.log-in")
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
    assert f"{email} · {say(language, 'account.not-verified')}" in page.text()
