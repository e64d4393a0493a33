"""A schemathesis check and an auth provider, loaded by the OpenAPI test in test_operability.py
(`SCHEMATHESIS_HOOKS`).

The document's `EmailAddress` pattern accepts every address the server accepts, and more: the
server's further refusals (NFKC, IDNA, dot-atoms, lengths in octets) are listed in the schema's
description, not in a regular expression. Registration also refuses an address already registered
and a password the policy refuses, which no schema can say. So a schema-valid request may get a
documented 400, and the run lets `positive_data_acceptance` accept a 400 on the operations that
read an address or a password. This check keeps that allowance narrow: a 400 to a schema-valid
request must be one of those rules, never a refusal of the request's shape, which the schema does
describe (a missing field, a field that is not a string, a body that is not UTF-8, JSON or a form,
a content type).
"""

import os
import uuid

import requests
import schemathesis

SHAPE_REFUSALS = ("missing field", "request body", "content type")


@schemathesis.check
def refused_only_by_documented_rules(ctx, response, case):
    """A schema-valid request answered 400 was refused by a rule the schema documents."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        message = response.json()["message"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError(f"a 400 without a JSON message: {response.text[:200]!r}") from None
    if message.startswith(SHAPE_REFUSALS) or message.endswith("must be a string"):
        raise AssertionError(f"a schema-valid request was refused for its shape: {message!r}")
    return None


@schemathesis.auth(refresh_interval=None)
class FreshAccountSession:
    """A live session of an account of its own for every generated request (`refresh_interval=None`:
    no caching). schemathesis 4 drops response cookies between generated requests, so links cannot
    carry a session; and a request that ends sessions, changes the password or deletes the account
    must not leave the next one without a session. The service's URL is `LATCHKEY_URL`."""

    password = "b4l0u-st-fresh"

    def get(self, case, ctx):
        url = os.environ["LATCHKEY_URL"]
        email = f"st-{uuid.uuid4().hex}@example.com"
        registered = requests.post(url + "/users", data={"email": email, "password": self.password}, timeout=30)
        registered.raise_for_status()
        login = requests.post(url + "/sessions", data={"email": email, "password": self.password}, timeout=30)
        login.raise_for_status()
        return login.cookies["session_id"]

    def set(self, case, data, ctx):
        case.cookies = {**(case.cookies or {}), "session_id": data}
