"""Who an account is, end to end: one canonical form per email address (NFKC and case folding of
the local part, the A-label of the domain, invisible characters and malformed addresses refused,
look-alikes kept apart), passwords in which every character counts (NFKC, no 72-byte limit,
control characters refused), bodies that must be UTF-8, the reset rules, the production minimum,
and plain bcrypt hashes from the original service replaced at login.

Each kind is tried with several inputs, not only one example. Expected canonical forms are written
out: Python's `str.casefold` is not the reference (it folds some scripts differently)."""

import hashlib
import hmac
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import time
import unicodedata

import pytest
import requests

from latchkey_helpers import (
    BINARY, OUTBOX_KEY, PRODUCTION_BASE, clean_environment, flask_database, free_port, latchkey,
)

FAST = {"BCRYPT_COST": "4"}
INVISIBLE = "email must not contain invisible or control characters"
NOT_UTF8 = "request body must be UTF-8"


@pytest.fixture(scope="module")
def server(start_module_server):
    return start_module_server(FAST)


def tag(text):
    """A short, stable name for an input, to make addresses unique per case."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def register(url, email, password, as_json=False):
    body = {"email": email, "password": password}
    return requests.post(url + "/users", **({"json": body} if as_json else {"data": body}), timeout=30)


def log_in(url, email, password, as_json=False):
    body = {"email": email, "password": password}
    return requests.post(url + "/sessions", **({"json": body} if as_json else {"data": body}), timeout=30)


def assert_registered(response, canonical):
    assert response.status_code == 200, response.text
    assert response.json() == {"email": canonical, "message": "user created"}


def assert_refused(response, starts_with=None):
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"message"}
    if starts_with:
        assert response.json()["message"].startswith(starts_with), response.json()


# Email addresses: one canonical form per mailbox.

# Each group: spellings of one mailbox, and its canonical form. The first spelling registers; every
# other one is the same account.
SAME_MAILBOX = [
    pytest.param(["l\u00e9a@example.com", "le\u0301a@example.com", "L\u00c9A@example.com", "LE\u0301A@Example.COM"],
                 "l\u00e9a@example.com", id="NFC-NFD-case"),
    pytest.param(["zo\u00eb@example.com", "zoe\u0308@example.com", "Zo\u00cb@EXAMPLE.com"],
                 "zo\u00eb@example.com", id="diaeresis"),
    pytest.param(["\u1eadu@example.com", "a\u0323\u0302u@example.com", "a\u0302\u0323u@example.com",
                  "\u1ea1\u0302u@example.com"],
                 "\u1eadu@example.com", id="canonical-order-of-marks"),
    pytest.param(["\u00e5sa@example.com", "a\u030asa@example.com", "\u212bsa@example.com", "\u00c5SA@example.com"],
                 "\u00e5sa@example.com", id="angstrom-sign"),
    pytest.param(["\ud55c\uae00@example.com", "\u1112\u1161\u11ab\u1100\u1173\u11af@example.com"],
                 "\ud55c\uae00@example.com", id="hangul-jamo"),
    pytest.param(["\uff21\uff22\uff23@example.com", "abc@example.com", "ABC@example.com"],
                 "abc@example.com", id="fullwidth-letters"),
    pytest.param(["\u212aelvin@example.com", "kelvin@example.com", "KELVIN@example.com"],
                 "kelvin@example.com", id="kelvin-sign"),
    pytest.param(["Stra\u00dfe@example.com", "strasse@example.com", "STRASSE@example.com"],
                 "strasse@example.com", id="sharp-s"),
    pytest.param(["\u0418\u0432\u0430\u043d@example.com", "\u0438\u0432\u0430\u043d@example.com"],
                 "\u0438\u0432\u0430\u043d@example.com", id="cyrillic-case"),
    pytest.param(["\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3@example.com",
                  "\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c3@example.com"],
                 "\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c3@example.com", id="greek-case"),
    pytest.param(["  pad@example.com\t", "pad@example.com", "\u3000PAD@example.com\u00a0"],
                 "pad@example.com", id="white-space-at-the-ends"),
]


@pytest.mark.parametrize("spellings, canonical", SAME_MAILBOX)
def test_spellings_of_one_mailbox_are_one_account(server, spellings, canonical):
    first, *others = spellings
    assert_registered(register(server.url, first, "pw-" + canonical), canonical)
    for index, spelling in enumerate(others):
        response = register(server.url, spelling, "another-pw", as_json=index % 2 == 1)
        assert response.status_code == 400, spelling
        assert response.json() == {"message": "email already registered"}, spelling
        login = log_in(server.url, spelling, "pw-" + canonical)
        assert login.status_code == 200, spelling
        assert login.json() == {"email": canonical, "message": "logged in"}
        profile = requests.get(server.url + "/profile", cookies={"session_id": login.cookies["session_id"]})
        assert profile.json() == {"email": canonical}


SAME_DOMAIN = [
    pytest.param(["anna@b\u00fccher.example", "anna@xn--bcher-kva.example", "anna@B\u00dcCHER.example",
                  "anna@bu\u0308cher.example", "anna@XN--BCHER-KVA.EXAMPLE"],
                 "anna@xn--bcher-kva.example", id="bucher"),
    pytest.param(["jo@fa\u00df.de", "jo@xn--fa-hia.de"], "jo@xn--fa-hia.de", id="non-transitional-sharp-s"),
    pytest.param(["yu@\u4f8b\u3048.\u30c6\u30b9\u30c8", "yu@xn--r8jz45g.xn--zckzah"],
                 "yu@xn--r8jz45g.xn--zckzah", id="japanese"),
    pytest.param(["wide@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "wide@example.com", "wide@EXAMPLE.COM"],
                 "wide@example.com", id="fullwidth-domain"),
]


@pytest.mark.parametrize("spellings, canonical", SAME_DOMAIN)
def test_a_domain_is_its_a_label(server, spellings, canonical):
    first, *others = spellings
    assert_registered(register(server.url, first, "pw-domain"), canonical)
    for spelling in others:
        response = register(server.url, spelling, "pw-domain")
        assert response.json() == {"message": "email already registered"}, spelling
        login = log_in(server.url, spelling, "pw-domain")
        assert login.status_code == 200, spelling
        assert login.json()["email"] == canonical


def test_an_ideographic_full_stop_separates_labels_as_uts46_maps_it(server):
    assert_registered(register(server.url, "ko@\u4f8b\u3048\u3002\u30c6\u30b9\u30c8", "pw"),
                      "ko@xn--r8jz45g.xn--zckzah")


def test_non_transitional_processing_keeps_sharp_s_apart_from_ss(server):
    assert_registered(register(server.url, "ke@stra\u00dfe.de", "pw-1"), "ke@xn--strae-oqa.de")
    assert_registered(register(server.url, "ke@strasse.de", "pw-2"), "ke@strasse.de")


INVISIBLE_CHARACTERS = [
    "\u00ad",      # soft hyphen (Cf)
    "\u200b",      # zero-width space (Cf)
    "\u200c",      # zero-width non-joiner (Cf)
    "\u200d",      # zero-width joiner (Cf)
    "\u2060",      # word joiner (Cf)
    "\ufeff",      # byte-order mark (Cf)
    "\u202e",      # right-to-left override (Cf)
    "\u2066",      # left-to-right isolate (Cf)
    "\u180e",      # Mongolian vowel separator (Cf)
    "\U000e0041",  # tag latin capital letter A (Cf)
    "\u034f",      # combining grapheme joiner (Mn, default-ignorable)
    "\ufe0f",      # variation selector 16 (Mn, default-ignorable)
    "\u115f",      # Hangul choseong filler (Lo, default-ignorable)
    "\u3164",      # Hangul filler (Lo, default-ignorable)
    "\u0001",      # a C0 control
    "\u001b",      # escape
    "\u007f",      # delete
    "\u009b",      # a C1 control
]


@pytest.mark.parametrize("character", INVISIBLE_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_invisible_and_control_characters_are_refused_anywhere(server, character):
    for email in [f"bob@exa{character}mple.org", f"b{character}ob@example.org", f"{character}bob@example.org",
                  f"bob@example.org{character}", f"bob{character}@example.org", f"bob@{character}example.org"]:
        assert_refused(register(server.url, email, "pw"), INVISIBLE)
        assert_refused(register(server.url, email, "pw", as_json=True), INVISIBLE)
    assert_looked_up_as_unregistered(server, f"bob@exa{character}mple.org")


def assert_looked_up_as_unregistered(server, email):
    """The routes that only look an account up answer an address the rules refuse as an
    unregistered one, as the original did (decision 0010)."""
    response = log_in(server.url, email, "pw")
    assert (response.status_code, response.json()) == (401, {"message": "wrong email or password"}), email
    response = requests.post(server.url + "/reset_password", data={"email": email})
    assert (response.status_code, response.json()) == (403, {"message": "email not registered"}), email
    response = requests.put(server.url + "/reset_password",
                            data={"email": email, "reset_token": "A" * 43, "new_password": "pw"})
    assert response.status_code == 403, email
    assert response.json() == {"message": "reset token is not valid for this email"}


@pytest.mark.parametrize("space", [" ", "\t", "\u00a0", "\u2003", "\u3000", "\u2028", "\u0085", "\n"],
                         ids=lambda c: f"U+{ord(c):04X}")
def test_white_space_inside_an_address_is_refused(server, space):
    for email in [f"bo{space}b@example.org", f"bob@exa{space}mple.org", f"bob{space}@example.org"]:
        assert_refused(register(server.url, email, "pw"))


def test_a_fullwidth_at_sign_is_an_at_sign(server):
    for email in ["x\uff20evil.test@example.org", "x\ufe6bevil.test@example.org", "x\uff20evil.test\uff20example.org"]:
        assert_refused(register(server.url, email, "pw"), "email must contain exactly one @")
    # One fullwidth @ alone is the address with an @.
    assert_registered(register(server.url, "wide-at\uff20example.org", "pw"), "wide-at@example.org")
    assert register(server.url, "wide-at@example.org", "pw").json() == {"message": "email already registered"}


MALFORMED = [
    "a,b@example.com", "a<b>@example.com", "<a@example.com>", '"a"@example.com', '"a b"@example.com',
    "a(comment)@example.com", "a;b@example.com", "a:b@example.com", "a\\b@example.com", "a[b]@example.com",
    "a@[127.0.0.1]", "a@[IPv6:::1]", "a@example.com.", "a@example..com", "a..b@example.com", ".a@example.com",
    "a.@example.com", "a@-example.com", "a@example-.com", "a@ex_ample.com", "a@ab--cd.example",
    "a@xn--zz.example", "a@example.123", "a@127.0.0.1", "a@localhost", "a@.example.com", "a@example.com\u3002",
    "a@@example.com", "@example.com", "a@", "a", "", "a@" + "x" * 64 + ".com", "x" * 65 + "@example.com",
    "\u00e9" * 33 + "@example.com", "a@" + ".".join(["x" * 63] * 4) + ".com",
]


@pytest.mark.parametrize("email", MALFORMED)
def test_malformed_addresses_are_refused(server, email):
    assert_refused(register(server.url, email, "pw"))
    assert_looked_up_as_unregistered(server, email)


def test_length_limits_count_octets_of_the_canonical_form(server):
    # 64 octets of local part and 254 of address are accepted; one more is not.
    assert_registered(register(server.url, "l" * 64 + "@example.com", "pw"), "l" * 64 + "@example.com")
    assert_registered(register(server.url, "\u00e9" * 32 + "@example.com", "pw"), "\u00e9" * 32 + "@example.com")
    # 32 decomposed é are 64 code points but 32 characters (64 octets) once composed.
    assert register(server.url, "e\u0301" * 32 + "@example.com", "pw").json() == {"message": "email already registered"}
    domain = ".".join(["d" * 63, "d" * 63, "d" * 63, "d" * 49]) + ".com"  # 245 octets
    assert_registered(register(server.url, "abcdefgh@" + domain, "pw"), "abcdefgh@" + domain)  # 254
    assert_refused(register(server.url, "abcdefghi@" + domain, "pw"))  # 255


LOOK_ALIKES = [
    ("ada@example.com", "\u0430da@example.com"),       # Cyrillic а
    ("irene@example.com", "\u0131rene@example.com"),   # dotless ı
    ("bob@example.com", "b\u03bfb@example.com"),       # Greek ο
    ("eve@example.com", "ev\u0435@example.com"),       # Cyrillic е
    ("ada@example.net", "ada@ex\u0430mple.net"),       # Cyrillic а in the domain
]


@pytest.mark.parametrize("ascii_address, look_alike", LOOK_ALIKES)
def test_look_alikes_are_other_accounts(server, ascii_address, look_alike):
    assert_registered(register(server.url, ascii_address, "pw-ascii"), ascii_address)
    expected = look_alike
    if "\u0430mple" in look_alike:
        expected = "ada@xn--exmple-4nf.net"
    assert_registered(register(server.url, look_alike, "pw-look-alike"), expected)
    assert log_in(server.url, look_alike, "pw-look-alike").json()["email"] == expected
    assert log_in(server.url, look_alike, "pw-ascii").status_code == 401
    assert log_in(server.url, ascii_address, "pw-look-alike").status_code == 401
    token = requests.post(server.url + "/reset_password", data={"email": look_alike}).json()
    assert token["email"] == expected
    # The token issued for the look-alike does not reset the ASCII account.
    response = requests.put(server.url + "/reset_password", data={
        "email": ascii_address, "reset_token": token["reset_token"], "new_password": "taken-over"})
    assert response.status_code == 403


@pytest.mark.parametrize("typed, canonical", [
    ("Zo\u00eb@B\u00fccher.example", "zo\u00eb@xn--bcher-kva.example"),
    ("\u0418\u0432\u0430\u043d@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", "\u0438\u0432\u0430\u043d@xn--e1afmkfd.xn--p1ai"),
    ("Hdr@B\u00dcCHER.example", "hdr@xn--bcher-kva.example"),
])
def test_x_latchkey_email_carries_the_canonical_address_as_utf8(server, typed, canonical):
    assert_registered(register(server.url, typed, "pw-header"), canonical)
    cookie = log_in(server.url, unicodedata.normalize("NFD", typed), "pw-header").cookies["session_id"]
    response = requests.get(server.url + "/auth/verify", cookies={"session_id": cookie})
    assert response.status_code == 204
    # http.client reads header values as Latin-1: encoding them back gives the bytes on the wire.
    assert response.headers["X-Latchkey-Email"].encode("latin-1") == canonical.encode("utf-8")
    assert response.headers["X-Latchkey-User-Id"].isdigit()


def test_webhook_events_carry_the_canonical_address(receive_webhooks, start_server):
    receiver = receive_webhooks()
    secret = "a-webhook-secret-of-some-length"
    server = start_server({
        **FAST, **PRODUCTION_BASE, "RESET_TOKEN_DELIVERY": "webhook", "WEBHOOK_URL": receiver.url,
        "WEBHOOK_SECRET": secret, "MFA_ENCRYPTION_KEY": OUTBOX_KEY})
    canonical = "zo\u00eb@xn--bcher-kva.example"
    assert_registered(register(server.url, "Zo\u00eb@b\u00fccher.example", "correct horse battery"), canonical)
    # Production answers a second registration as a first, echoing the canonical form.
    again = register(server.url, "ZOE\u0308@xn--bcher-kva.example", "another long password")
    assert_registered(again, canonical)
    headers, body = receiver.delivery("registration_attempt_existing_account")
    assert json.loads(body) == {"event": "registration_attempt_existing_account", "email": canonical}
    # The exact bytes are signed: the address in them is raw UTF-8 or an escape, as JSON allows.
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Latchkey-Signature"] == expected
    response = requests.post(server.url + "/reset_password", data={"email": "zoe\u0308@B\u00dcCHER.example"})
    assert response.status_code == 200 and response.json()["email"] == canonical
    _, body = receiver.delivery("password_reset_requested")
    assert json.loads(body)["email"] == canonical


def test_the_command_line_uses_the_same_definition():
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "db.sqlite")
        url = "sqlite://" + path
        created = latchkey("users", "create", "Le\u0301a@B\u00fccher.example", url=url, stdin="pw-lea\n")
        assert created.returncode == 0, created.stderr
        assert created.stdout == "created\tl\u00e9a@xn--bcher-kva.example\n"
        again = latchkey("users", "create", "l\u00e9a@xn--bcher-kva.example", url=url, stdin="pw-lea\n")
        assert again.returncode != 0 and "email already registered" in again.stderr
        refused = latchkey("users", "create", "bob@exa\u00admple.org", url=url, stdin="pw-bob\n")
        assert refused.returncode != 0 and INVISIBLE in refused.stderr
        assert latchkey("users", "create", "bob@example.org", url=url, stdin="pw-bob\n").returncode == 0
        assert latchkey("users", "create", "eve@example.org", url=url, stdin="pw-eve\n").returncode == 0
        # Nothing to resolve in a database that never held an old address.
        conflicts = latchkey("users", "conflicts", url=url)
        assert conflicts.returncode == 0, conflicts.stderr
        assert "\t" not in conflicts.stdout, conflicts.stdout
        with sqlite3.connect(path) as db:
            ids = dict(db.execute("SELECT email, id FROM users").fetchall())
        # Rename takes the canonical form of the new address, and refuses one that is taken.
        renamed = latchkey("users", "rename", "--id", str(ids["bob@example.org"]), "Bob.New@B\u00fccher.example", url=url)
        assert renamed.returncode == 0, renamed.stderr
        taken = latchkey("users", "rename", "--id", str(ids["eve@example.org"]), "BOB.NEW@xn--bcher-kva.example", url=url)
        assert taken.returncode != 0 and "email already registered" in taken.stderr
        deleted = latchkey("users", "delete", "--id", str(ids["eve@example.org"]), url=url)
        assert deleted.returncode == 0, deleted.stderr
        assert latchkey("users", "delete", "LE\u0301A@b\u00fccher.example", url=url).returncode == 0
        listed = [line.split("\t")[0] for line in latchkey("users", "list", url=url).stdout.splitlines()]
        assert listed == ["bob.new@xn--bcher-kva.example"]


# Passwords: every character counts, in any script.

SAME_PASSWORD = [
    ("Caf\u00e9-Horse-Blue-77", "Cafe\u0301-Horse-Blue-77"),
    ("Cafe\u0301-Horse-Blue-78", "Caf\u00e9-Horse-Blue-78"),
    ("\ud55c\uae00-\ube44\ubc00\ubc88\ud638", unicodedata.normalize("NFD", "\ud55c\uae00-\ube44\ubc00\ubc88\ud638")),
    ("\uff30\uff41\uff53\uff53-\uff57\uff4f\uff52\uff44-\uff19", "Pass-word-9"),
    ("\ufb01sh-and-chips", "fish-and-chips"),
    ("\u212b-ngstr\u00f6m-\u2460", "\u00c5-ngstro\u0308m-1"),
]


@pytest.mark.parametrize("set_as, typed_as", SAME_PASSWORD)
def test_a_password_is_the_same_whatever_its_normalisation(server, set_as, typed_as):
    email = f"nfkc-{tag(set_as)}@example.com"
    assert_registered(register(server.url, email, set_as), email)
    assert log_in(server.url, email, typed_as).status_code == 200
    assert log_in(server.url, email, typed_as, as_json=True).status_code == 200
    assert log_in(server.url, email, set_as).status_code == 200
    # And through a reset: a new password set one way logs in typed the other.
    token = requests.post(server.url + "/reset_password", data={"email": email}).json()["reset_token"]
    response = requests.put(server.url + "/reset_password",
                            data={"email": email, "reset_token": token, "new_password": typed_as + "-2"})
    assert response.status_code == 200
    assert log_in(server.url, email, set_as + "-2").status_code == 200


CYRILLIC = "\u0441\u044a\u0435\u0448\u044c \u0436\u0435 \u0435\u0449\u0451 \u044d\u0442\u0438\u0445 \u043c\u044f\u0433\u043a\u0438\u0445 \u0444\u0440\u0430\u043d\u0446\u0443\u0437\u0441\u043a\u0438\u0445 \u0431\u0443\u043b\u043e\u043a, \u0434\u0430 \u0432\u044b\u043f\u0435\u0439 \u0436\u0435 \u0447\u0430\u044e. \u042d\u0445!"
GREEK = "\u03be\u03b5\u03c3\u03ba\u03b5\u03c0\u03ac\u03b6\u03c9 \u03c4\u03b7\u03bd \u03c8\u03c5\u03c7\u03bf\u03c6\u03b8\u03cc\u03c1\u03b1 \u03b2\u03b4\u03b5\u03bb\u03c5\u03b3\u03bc\u03af\u03b1 \u03ba\u03b1\u03b9 \u03b3\u03b1\u03b6\u03ad\u03b5\u03c2 \u03bc\u03c5\u03c1\u03c4\u03b9\u03ad\u03c2 \u03b4\u03b5\u03bd \u03b2\u03c1\u03af\u03c3\u03ba\u03c9!"
CJK = ("\u5929\u5730\u7384\u9ec4\u5b87\u5b99\u6d2a\u8352\u65e5\u6708\u76c8\u6603\u8fb0\u5bbf\u5217\u5f20"
       "\u5bd2\u6765\u6691\u5f80\u79cb\u6536\u51ac\u85cf\u95f0\u4f59\u6210\u5c81\u5f8b\u5415\u8c03\u9633"
       "\u4e91\u817e\u81f4\u96e8\u9732\u7ed3\u4e3a\u971c\u91d1\u751f\u4e3d\u6c34\u7389\u51fa\u6606\u5188"
       "\u5251\u53f7\u5de8\u9619\u73e0\u79f0\u591c\u5149\u679c\u73cd\u674e\u67f0\u83dc\u91cd\u82a5\u59dc")


@pytest.mark.parametrize("passphrase, last", [(CYRILLIC, "?"), (GREEK, "?"), (CJK, "\u59d4"), ("x" * 100, "y")],
                         ids=["cyrillic", "greek", "cjk", "ascii"])
def test_long_passphrases_count_every_character(server, passphrase, last):
    assert len(passphrase) >= 64 and len(passphrase.encode()) > 72
    other = passphrase[:-1] + last  # the same first 72 bytes, and more
    assert other.encode()[:72] == passphrase.encode()[:72]
    email = f"long-{tag(passphrase)}@example.com"
    assert_registered(register(server.url, email, passphrase), email)
    assert log_in(server.url, email, passphrase).status_code == 200
    assert log_in(server.url, email, passphrase, as_json=True).status_code == 200
    assert log_in(server.url, email, other).status_code == 401
    prefix = passphrase.encode()[:72].decode(errors="ignore")
    assert log_in(server.url, email, prefix).status_code == 401


def test_password_length_counts_unicode_scalars_after_nfkc(server):
    assert_registered(register(server.url, "len-256@example.com", "\u00e9" * 256), "len-256@example.com")
    assert log_in(server.url, "len-256@example.com", "e\u0301" * 256).status_code == 200
    assert_refused(register(server.url, "len-257@example.com", "\u00e9" * 257))
    # 400 code points that NFKC composes into 200 characters.
    assert_registered(register(server.url, "len-nfd@example.com", "e\u0301" * 200), "len-nfd@example.com")
    # 15 code points that NFKC expands into 270 (U+FDFA is 18 characters).
    assert_refused(register(server.url, "len-expands@example.com", "\ufdfa" * 15))
    assert_refused(register(server.url, "len-empty@example.com", ""))


@pytest.mark.parametrize("control", ["\t", "\u0000", "\u0085", "\u001b", "\u007f", "\u009f", "\n", "\r"],
                         ids=lambda c: f"U+{ord(c):04X}")
def test_a_password_with_a_control_character_is_refused(server, control):
    email = f"cc-{ord(control)}@example.com"
    password = f"Horse{control}Battery-9"
    response = register(server.url, email, password)
    assert_refused(response)
    assert "control" in response.json()["message"]
    assert_refused(register(server.url, email, password, as_json=True))
    # Registered without it, the account never matches a password holding one (401, not 400).
    assert_registered(register(server.url, email, "HorseBattery-9"), email)
    assert log_in(server.url, email, password).status_code == 401
    assert log_in(server.url, email, password, as_json=True).status_code == 401
    token = requests.post(server.url + "/reset_password", data={"email": email}).json()["reset_token"]
    response = requests.put(server.url + "/reset_password",
                            data={"email": email, "reset_token": token, "new_password": password})
    assert_refused(response)


@pytest.mark.parametrize("password", [
    "family-\U0001f468\u200d\U0001f469\u200d\U0001f467-2024",  # ZWJ sequence
    "flag-\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # tag sequence
    "soft\u00adhyphen-pass",
    "rtl-\u202epass\u202c-word",
])
def test_format_characters_in_passwords_are_allowed_and_count(server, password):
    email = f"cf-{tag(password)}@example.com"
    assert_registered(register(server.url, email, password, as_json=True), email)
    assert log_in(server.url, email, password).status_code == 200
    without = "".join(c for c in password if unicodedata.category(c) != "Cf")
    assert log_in(server.url, email, without).status_code == 401


# Bodies must be UTF-8, in every field of every route.

TOKEN = "A" * 43
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
NOT_UTF8_BODIES = [
    pytest.param("POST", "/users", b"email=t%FFm%40example.com&password=Horse-Tr1cky", FORM, id="users-email-escape"),
    pytest.param("POST", "/users", b"email=t%FEm%40example.com&password=Horse-Tr1cky", FORM, id="users-email-escape-2"),
    pytest.param("POST", "/users", b"email=tim%40example.com&password=%FF%FE-Horse-Tr1cky", FORM,
                 id="users-password-escape"),
    pytest.param("POST", "/users", b"email=tim%40example.com&password=%C0%AF-overlong", FORM, id="overlong"),
    pytest.param("POST", "/users", b"email=tim%40example.com&password=%ED%A0%80-surrogate", FORM, id="surrogate"),
    pytest.param("POST", "/users", b"email=tim%40example.com&password=truncated-%E2%82", FORM, id="truncated"),
    pytest.param("POST", "/users", b"email=tim%40example.com&password=Horse-Tr1cky&note=%FF", FORM,
                 id="unknown-field"),
    pytest.param("POST", "/users", b"email=tim%40example.com&password=Horse-Tr1cky&n%FFte=x", FORM, id="field-name"),
    pytest.param("POST", "/users", b"email=tim%40example.com&password=\xff\xfe-Horse", FORM, id="users-raw-form"),
    pytest.param("POST", "/users", b'{"email": "tim@example.com", "password": "\xff\xfe-Horse"}', JSON,
                 id="users-raw-json"),
    pytest.param("POST", "/users", b'{"email": "t\xffm@example.com", "password": "Horse-Tr1cky"}', JSON,
                 id="users-raw-json-email"),
    pytest.param("POST", "/users", b'{"email": "tim@example.com", "password": "Horse-Tr1cky", "n\xe9": "x"}', JSON,
                 id="json-key-latin1"),
    pytest.param("POST", "/sessions", b"email=tim%40example.com&password=%80%81-Horse-Tr1cky", FORM,
                 id="sessions-escape"),
    pytest.param("POST", "/sessions", b'{"email": "tim@example.com", "password": "\x80\x81"}', JSON,
                 id="sessions-raw-json"),
    pytest.param("POST", "/reset_password", b"email=t%FFm%40example.com", FORM, id="reset-request-escape"),
    pytest.param("POST", "/reset_password", b"email=t\xffm@example.com", FORM, id="reset-request-raw"),
    pytest.param("PUT", "/reset_password",
                 b"email=tim%40example.com&reset_token=" + TOKEN.encode() + b"&new_password=%FF-Horse", FORM,
                 id="reset-escape"),
    pytest.param("PUT", "/reset_password",
                 b'{"email": "tim@example.com", "reset_token": "' + TOKEN.encode() + b'", "new_password": "\xfe"}',
                 JSON, id="reset-raw-json"),
]


@pytest.mark.parametrize("method, path, body, headers", NOT_UTF8_BODIES)
def test_a_body_that_is_not_utf8_is_a_400(server, method, path, body, headers):
    response = requests.request(method, server.url + path, data=body, headers=headers, timeout=30)
    assert_refused(response, NOT_UTF8)


def test_invalid_utf8_no_longer_collides_or_repairs(server):
    for body in [b"email=t%FFm%40example.com&password=Horse-Tr1cky", b"email=t%FEm%40example.com&password=Horse-Tr1cky"]:
        assert_refused(requests.post(server.url + "/users", data=body, headers=FORM), NOT_UTF8)
    # Nothing was registered under a repaired spelling (U+FFFD).
    response = requests.post(server.url + "/reset_password", data={"email": "t\ufffdm@example.com"})
    assert response.status_code == 403
    assert_registered(register(server.url, "tricky@example.com", "good-Horse-Tr1cky"), "tricky@example.com")
    refused = requests.post(server.url + "/sessions", headers=FORM,
                            data=b"email=tricky%40example.com&password=%80%81-Horse-Tr1cky")
    assert_refused(refused, NOT_UTF8)


# Password reset: the token is checked first, and a refused password does not spend it.


def test_a_wrong_token_is_403_whatever_the_new_password(server):
    assert_registered(register(server.url, "wrong-token@example.com", "pw-1"), "wrong-token@example.com")
    for new_password in ["", "password", "tab\there", "\u00e9" * 300, "a-fine-new-password"]:
        response = requests.put(server.url + "/reset_password", data={
            "email": "wrong-token@example.com", "reset_token": TOKEN, "new_password": new_password})
        assert response.status_code == 403, (new_password, response.text)


def test_a_refused_new_password_keeps_the_token_usable(server):
    email = "retry@example.com"
    assert_registered(register(server.url, email, "pw-1"), email)
    token = requests.post(server.url + "/reset_password", data={"email": email}).json()["reset_token"]
    for refused in ["password", "nul\u0000byte", "\u00e9" * 257, ""]:
        response = requests.put(server.url + "/reset_password",
                                data={"email": email, "reset_token": token, "new_password": refused})
        assert_refused(response)
    response = requests.put(server.url + "/reset_password",
                            data={"email": "RETRY@example.com", "reset_token": token, "new_password": "Retry-Horse-9"})
    assert response.status_code == 200
    assert response.json() == {"email": email, "message": "Password updated"}
    assert log_in(server.url, email, "Retry-Horse-9").status_code == 200
    # Used once, it is spent.
    response = requests.put(server.url + "/reset_password",
                            data={"email": email, "reset_token": token, "new_password": "Another-Horse-9"})
    assert response.status_code == 403


# The production profile: at least 15 characters, unless set otherwise.

PRODUCTION = {**FAST, **PRODUCTION_BASE, "RESET_TOKEN_DELIVERY": "response",
              "ALLOW_RESET_TOKEN_IN_RESPONSE": "true"}


def security_line(server):
    lines = [line for line in server.output().splitlines() if "security settings" in line]
    assert len(lines) == 1, server.output()
    return lines[0]


def test_production_asks_for_15_characters_by_default(start_server):
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(PRODUCTION, folder=folder)
        url = server.url
        for short in ["fourteen-chars", "short7!", "e\u0301" * 14, "\u00e9" * 14]:
            response = register(url, "prod@example.com", short)
            assert_refused(response)
            assert "15" in response.json()["message"], response.json()
        # Counted after NFKC: 8 ligatures are 16 characters.
        assert_registered(register(url, "lig@example.com", "\ufb00" * 8), "lig@example.com")
        common = register(url, "prod@example.com", "1q2w3e4r5t6y7u8i9o0p")
        assert_refused(common)
        assert "common" in common.json()["message"]
        assert_registered(register(url, "prod@example.com", "fifteen-letters"), "prod@example.com")
        token = requests.post(url + "/reset_password", data={"email": "prod@example.com"}).json()["reset_token"]
        response = requests.put(url + "/reset_password", data={
            "email": "prod@example.com", "reset_token": token, "new_password": "fourteen-chars"})
        assert_refused(response)
        response = requests.put(url + "/reset_password", data={
            "email": "prod@example.com", "reset_token": token, "new_password": "a-longer-new-password"})
        assert response.status_code == 200
        assert server.stop() == 0
        assert "password_min_length=15" in security_line(server)


def test_production_accepts_8_to_14_with_a_warning(start_server):
    with tempfile.TemporaryDirectory() as folder:
        server = start_server({**PRODUCTION, "PASSWORD_MIN_LENGTH": "10"}, folder=folder)
        assert_registered(register(server.url, "ten@example.com", "ten-chars!"), "ten@example.com")
        assert_refused(register(server.url, "nine@example.com", "nine-char"))
        assert server.stop() == 0
        line = security_line(server)
        assert "password_min_length=10" in line and "warn" in line.lower(), line


@pytest.mark.parametrize("env, value", [
    ({**PRODUCTION_BASE, "RESET_TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true"}, "7"),
    ({}, "0"),
    ({}, "257"),
])
def test_password_min_length_out_of_range_stops_start_up(env, value):
    environment = clean_environment({"HOST": "127.0.0.1", "PORT": str(free_port()), "PASSWORD_MIN_LENGTH": value,
                                     **env})
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run([BINARY, "serve"], cwd=folder, env=environment, capture_output=True, text=True,
                                timeout=30)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "PASSWORD_MIN_LENGTH" in lines[0], result.stderr


def test_the_longest_minimum_is_256(start_server):
    server = start_server({**FAST, "PASSWORD_MIN_LENGTH": "256"})
    assert_refused(register(server.url, "max@example.com", "\u00e9" * 255))
    assert_registered(register(server.url, "max@example.com", "\u00e9" * 256), "max@example.com")


# Plain bcrypt hashes from the original service: checked as sent, then replaced.

LKB2 = re.compile(r"\$lkb2\$[A-Za-z0-9+/_-]{22}\$\$2[aby]\$04\$[./A-Za-z0-9]{53}")


def stored_hashes(path):
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT email, password_hash FROM users").fetchall())


def test_plain_bcrypt_hashes_log_in_and_are_replaced(start_server):
    import bcrypt

    def plain(password, prefix="$2b$"):
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode().replace("$2b$", prefix, 1)

    with tempfile.TemporaryDirectory() as folder:
        flask = os.path.join(folder, "flask.db")
        flask_database(flask, [
            ("legacy@example.com", bcrypt.hashpw(b"old-Passw0rd-1", bcrypt.gensalt(4)), None, None),  # bytes
            ("nfd@example.com", plain("Cafe\u0301-old-77"), None, None),
            ("two-a@example.com", plain("old-2a-pass", "$2a$"), None, None),
            ("Zo\u00eb@B\u00fccher.example", plain("old-zoe-pass"), None, None),
            ("zoe\u0308@xn--bcher-kva.example", plain("old-zoe-pass"), None, None),
            ("bob@exa\u00admple.org", plain("old-bob-pass"), None, None),
            ('"q"@example.com', plain("old-q-pass"), None, None),
        ])
        path = os.path.join(folder, "latchkey.sqlite")
        url = "sqlite://" + path
        result = latchkey("import-flask", flask, url=url)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0] == "imported 4, skipped 3", result.stdout
        assert lines[1] == "skipped\trow 5\tduplicate of row 4"
        assert lines[2].startswith("skipped\trow 6\tmalformed email (" + INVISIBLE)
        assert lines[3].startswith("skipped\trow 7\tmalformed email (")
        before = stored_hashes(path)
        assert set(before) == {"legacy@example.com", "nfd@example.com", "two-a@example.com",
                               "zo\u00eb@xn--bcher-kva.example"}
        assert all(value.startswith(("$2a$", "$2b$", "$2y$")) for value in before.values())

        server = start_server(FAST, folder=folder)
        # A plain hash is checked against the password exactly as sent: the composed spelling of
        # a password set decomposed does not match it yet.
        assert log_in(server.url, "nfd@example.com", "Caf\u00e9-old-77").status_code == 401
        for email, password in [("legacy@example.com", "old-Passw0rd-1"), ("nfd@example.com", "Cafe\u0301-old-77"),
                                ("two-a@example.com", "old-2a-pass"), ("ZOE\u0308@b\u00fccher.example", "old-zoe-pass")]:
            response = log_in(server.url, email, password)
            assert response.status_code == 200, (email, response.text)
        # Read while the service runs (WAL): every plain hash gives way to the keyed scheme.
        deadline = time.time() + 10
        while not all(LKB2.fullmatch(value) for value in stored_hashes(path).values()) and time.time() < deadline:
            time.sleep(0.1)
        assert server.stop() == 0
        after = stored_hashes(path)
        for email, value in after.items():
            assert LKB2.fullmatch(value), (email, value)
            assert value != before[email]

        server = start_server(FAST, folder=folder)
        for email, password in [("legacy@example.com", "old-Passw0rd-1"), ("nfd@example.com", "Cafe\u0301-old-77"),
                                ("nfd@example.com", "Caf\u00e9-old-77"), ("two-a@example.com", "old-2a-pass")]:
            assert log_in(server.url, email, password).status_code == 200, email
        assert log_in(server.url, "legacy@example.com", "old-Passw0rd-2").status_code == 401
        assert server.stop() == 0
        # A login with the new scheme leaves the hash alone.
        assert stored_hashes(path) == after


def test_new_hashes_use_the_keyed_scheme(server):
    assert_registered(register(server.url, "scheme@example.com", "Scheme-Horse-1"), "scheme@example.com")
    path = os.path.join(server.folder, "latchkey.sqlite")
    stored = stored_hashes(path)["scheme@example.com"]
    assert LKB2.fullmatch(stored), stored


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_every_plain_bcrypt_prefix_logs_in_and_is_replaced(prefix, start_server):
    import bcrypt

    stored = bcrypt.hashpw(b"old-prefix-pass", bcrypt.gensalt(4)).decode().replace("$2b$", prefix, 1)
    with tempfile.TemporaryDirectory() as folder:
        flask = os.path.join(folder, "flask.db")
        flask_database(flask, [("prefix@example.com", stored, None, None)])
        path = os.path.join(folder, "latchkey.sqlite")
        result = latchkey("import-flask", flask, url="sqlite://" + path)
        assert result.stdout.splitlines()[0] == "imported 1, skipped 0", result.stdout + result.stderr
        server = start_server(FAST, folder=folder)
        assert log_in(server.url, "prefix@example.com", "old-prefix-pass").status_code == 200
        deadline = time.time() + 10
        while not LKB2.fullmatch(stored_hashes(path)["prefix@example.com"]) and time.time() < deadline:
            time.sleep(0.1)
        assert log_in(server.url, "prefix@example.com", "old-prefix-pass").status_code == 200
        assert server.stop() == 0
        assert LKB2.fullmatch(stored_hashes(path)["prefix@example.com"])
