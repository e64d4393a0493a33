"""The pages' language and brand.

The language follows Accept-Language: its q-values, a regional tag for its language (fr-CA is
French), English when nothing asked for is spoken, on the error page as on the others; `<html lang>`
and Content-Language name it, and Vary says the answer depends on Accept-Language. Every page in
French, in a browser asking for French, is walked by test_pages_a11y.py (`test_every_page_passes_axe`,
the walk per language): there each page's `<html lang>`, heading and text are checked against the
catalogs, besides axe-core and sideways scrolling.

A brand: UI_TITLE names the product in every title and on every page; a folder in UI_TEMPLATES_DIR
replaces shipped files one at a time (a brand.css that changes the colours and the font, a logo, one
French sentence: the others stay the shipped ones), checked in Chromium, in French, with axe-core on
the branded pages. UI_LOGO_PATH serves a PNG logo of its own. A folder with a file the pages do not
have, or a catalog with an unknown key or a sentence without its placeholders, stops the start with
one line that names what is wrong.
"""

import base64
import json
import re
import struct
import zlib

import pytest
import requests

import test_pages_a11y
from latchkey_helpers import refusal
from test_pages_a11y import catalog, say
from test_pages_browser import HOST

# The fixture of the accessibility tests: an `AuditedPage` (JavaScript on, for axe-core) per call.
audited_page_at = test_pages_a11y.audited_page_at

TITLE = re.compile(r"<title>(.*) · (.*)</title>")
HTML_LANG = re.compile(r'<html lang="([^"]*)">')
HEADING = re.compile(r"<h1>(.*)</h1>")


def page_language(response):
    """The language a page says it is in: `<html lang>`, checked against Content-Language and Vary."""
    lang = HTML_LANG.search(response.text).group(1)
    assert response.headers["Content-Language"] == lang
    assert "accept-language" in [name.strip().lower() for name in response.headers["Vary"].split(",")]
    return lang


# What a browser may ask for, and the language it gets.
ASKED = [
    (None, "en"),
    ("fr", "fr"),
    ("FR", "fr"),
    ("fr-CA", "fr"),
    ("fr-ca,en;q=0.8", "fr"),
    ("en;q=0.5, fr;q=0.9", "fr"),
    ("fr;q=0.1, en", "en"),
    ("de", "en"),
    ("de, fr;q=0.5", "fr"),
    ("fr;q=0", "en"),
    ("es, en-GB;q=0.9, fr;q=0.8", "en"),
    ("*", "en"),
]


def test_the_language_follows_accept_language(start_server):
    server = start_server({"BCRYPT_COST": "4"})
    got = {}
    for asked, expected in ASKED:
        headers = {} if asked is None else {"Accept-Language": asked}
        login = requests.get(server.url + "/ui/login", headers=headers)
        assert login.status_code == 200
        lang = page_language(login)
        got[asked] = lang
        if lang == expected:
            assert TITLE.search(login.text).groups() == (catalog(lang)["login.title"], "Latchkey")
            assert HEADING.search(login.text).group(1) == catalog(lang)["login.title"]
    assert got == {asked: expected for asked, expected in ASKED}

    # The error page of a path that does not exist speaks the same language.
    for lang in ("en", "fr"):
        missing = requests.get(server.url + "/ui/nonexistent", headers={"Accept-Language": lang})
        assert missing.status_code == 404
        assert page_language(missing) == lang
        assert HEADING.search(missing.text).group(1) == catalog(lang)["error.404"]


BRAND_CSS = ":root { --accent: #7a1f5c; --background: #fdf6ec; --font: Georgia, serif; }\n"
ACCENT = "rgb(122, 31, 92)"
BACKGROUND = "rgb(253, 246, 236)"
LOGO_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="32" height="32">'
            '<circle cx="16" cy="16" r="15" fill="#7a1f5c"/>'
            '<path d="M9 23 16 8l7 15M11.5 18h9" stroke="#fdf6ec" stroke-width="3" fill="none"/></svg>\n')
BRAND_LOGIN = "Connexion à Acme"

LOOKS = """
const button = document.querySelector('form[action="/ui/login"] button[type=submit]');
const mark = document.querySelector('img.mark');
return {button: getComputedStyle(button).backgroundColor,
        html: getComputedStyle(document.documentElement).fontFamily,
        body: getComputedStyle(document.body).fontFamily,
        background: getComputedStyle(document.documentElement).backgroundColor,
        brand: document.querySelector('.brand').textContent,
        src: mark.getAttribute('src'), loaded: mark.complete, width: mark.naturalWidth};
"""


def brand_folder(folder):
    folder.mkdir()
    (folder / "brand.css").write_text(BRAND_CSS)
    (folder / "logo.svg").write_text(LOGO_SVG)
    (folder / "fr.json").write_text(json.dumps({"login.title": BRAND_LOGIN}, ensure_ascii=False))
    return str(folder)


def test_a_brand_replaces_the_colours_font_logo_and_one_sentence(start_server, audited_page_at, tmp_path):
    server = start_server({"BCRYPT_COST": "4", "UI_TITLE": "Acme Accounts",
                           "UI_TEMPLATES_DIR": brand_folder(tmp_path / "acme")})

    # The files as served: the brand's own, the logo under a policy that runs nothing in it.
    logo = requests.get(server.url + "/ui/static/logo.svg")
    assert logo.status_code == 200 and logo.text == LOGO_SVG
    assert logo.headers["Content-Type"].startswith("image/svg+xml")
    assert logo.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    assert requests.get(server.url + "/ui/static/brand.css").text == BRAND_CSS
    # The English catalog is untouched: its login page keeps its sentence.
    english = requests.get(server.url + "/ui/login", headers={"Accept-Language": "en"})
    assert TITLE.search(english.text).groups() == (catalog("en")["login.title"], "Acme Accounts")

    page = audited_page_at(f"http://{HOST}:{server.port}", 1280, "fr")
    page.open("/ui/login")
    driver = page.driver
    assert driver.execute_script("return document.documentElement.lang") == "fr"
    assert driver.title == f"{BRAND_LOGIN} · Acme Accounts"
    looks = driver.execute_script(LOOKS)
    assert "Acme Accounts" in looks["brand"]
    assert looks["src"] == "/ui/static/logo.svg" and looks["loaded"] and looks["width"] > 0, looks
    assert looks["button"] == ACCENT, looks
    assert looks["background"] == BACKGROUND, looks
    assert "Georgia" in looks["html"] and "Georgia" in looks["body"], looks

    # The one sentence replaced; the others are the shipped French ones.
    assert driver.find_element("css selector", "h1").text == BRAND_LOGIN
    form = page.form("/ui/login")
    assert form.find_element("css selector", "label[for=email]").text == say("fr", "common.email")
    assert form.find_element("css selector", "label[for=password]").text == say("fr", "common.password")
    assert form.find_element("css selector", "button[type=submit]").text == say("fr", "common.log-in")
    links = [anchor.text for anchor in driver.find_elements("css selector", ".links a")]
    assert links == [say("fr", "login.forgot"), say("fr", "login.register")]
    found = page.audit("branded login")

    page.open("/ui/register")
    assert driver.title == f"{say('fr', 'register.title')} · Acme Accounts"
    found += page.language_problems("branded register", "register.title") + page.audit("branded register")
    assert not found, f"{len(found)} problems:\n" + "\n".join(found)


def png(width, height, rgb):
    """A PNG of one colour."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_png_logo_from_ui_logo_path(start_server, tmp_path):
    mark = png(16, 16, (122, 31, 92))
    (tmp_path / "mark.png").write_bytes(mark)
    server = start_server({"BCRYPT_COST": "4", "UI_TITLE": "Acme", "UI_LOGO_PATH": str(tmp_path / "mark.png")})
    login = requests.get(server.url + "/ui/login")
    assert '<img class="mark" src="/ui/static/logo.png"' in login.text
    assert TITLE.search(login.text).group(2) == "Acme"
    logo = requests.get(server.url + "/ui/static/logo.png")
    assert logo.status_code == 200 and logo.content == mark
    assert logo.headers["Content-Type"] == "image/png"
    assert requests.get(server.url + "/ui/static/logo.svg").status_code == 404


@pytest.mark.parametrize("name, content, named", [
    ("nope.txt", "x", "nope.txt"),
    ("fr.json", '{"login.nope": "x"}', "login.nope"),
    ("fr.json", '{"forgot.accepted": "Un lien est en route."}', "forgot.accepted"),
    ("en.json", "not json", "en.json"),
])
def test_a_templates_folder_the_pages_cannot_use_stops_the_start(name, content, named, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / name).write_text(content)
    # A second-factor key of its own: development would otherwise make one, and log it, first.
    key = base64.b64encode(bytes(range(32))).decode()
    line = refusal({"UI_TEMPLATES_DIR": str(folder), "MFA_ENCRYPTION_KEY": key})
    assert "UI_TEMPLATES_DIR" in line and named in line, line
