"""A schemathesis check loaded by the OpenAPI test in test_operability.py (`SCHEMATHESIS_HOOKS`).

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
