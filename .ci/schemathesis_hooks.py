"""Schemathesis hooks for `.ci/run`.

The service documents that an `Idempotency-Key` names one request: a key sent
again with another request is refused (422, `idempotency_key_reused`), as the
IETF draft on the header says. A generator repeats short keys ("0", "00") across
requests, which no client does, so every positive case that carries a key is
sent with a fresh one. Negative cases are left as generated: editing a case makes
schemathesis revalidate it, which would turn a case that leaves a required
header out into a positive one. The refusal of a reused key is tested in
tests/it/service.
"""

import uuid

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    meta = case.meta
    if meta is not None and meta.generation.mode.is_negative:
        return
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key":
            headers[name] = f"st-{uuid.uuid4()}"
