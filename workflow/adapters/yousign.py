"""The e-signature platform's webhook, Yousign's (developers.yousign.com, "Handling Webhooks" and "Security"): the
callback's raw body is signed with HMAC-SHA256 under the subscription's secret key, sent as
`X-Yousign-Signature-256: sha256=<hex>`; the body is `{event_id, event_name, event_time (Unix seconds, constant
through retries), data: {signature_request: {id, status, external_id, ...}}}`. We set `external_id` to the
registration's id when we create the request. Everything is checked before anything is believed."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

PLATFORM = "yousign"
SIGNATURE_HEADER = "X-Yousign-Signature-256"
DONE = "signature_request.done"  # every signer signed: the form is signed
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


@dataclass(frozen=True)
class Callback:
    event_id: str
    event_name: str
    event_time: datetime
    reference: str | None  # the signature request's id: the form's `electronic_reference`
    registration_id: str | None


@dataclass(frozen=True)
class CallbackError(ValueError):
    status: int
    code: str
    fr: str
    en: str


def read_callback(secret: str, body: bytes, signature: str | None, *, now: datetime,
                  tolerance: timedelta) -> Callback:
    """The callback, once its signature matches (401 otherwise), its JSON has the documented shape (400) and its
    signed event time is neither older than `tolerance` nor in the future by more than five minutes (401)."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        raise CallbackError(401, "bad_signature", "Signature du rappel invalide.", "Invalid callback signature.")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CallbackError(400, "not_json", "Le rappel n'est pas du JSON UTF-8.", "Not UTF-8 JSON.") from exc
    raw_time = data.get("event_time") if isinstance(data, dict) else None
    at = str(raw_time) if isinstance(raw_time, int) and not isinstance(raw_time, bool) else _text(data, "event_time")
    event_id, name = _text(data, "event_id"), _text(data, "event_name")
    if not (event_id and _ID.fullmatch(event_id) and name and _ID.fullmatch(name) and at and at.isdigit()
            and len(at) <= 12):
        raise CallbackError(400, "bad_shape", "Rappel mal formé (event_id, event_name, event_time).",
                              "Malformed callback (event_id, event_name, event_time).")
    happened = datetime.fromtimestamp(int(at), UTC)
    if happened < now - tolerance or happened > now + timedelta(minutes=5):
        raise CallbackError(401, "stale", "Rappel trop ancien ou daté du futur : refusé comme rejeu.",
                              "Callback too old or from the future: refused as a replay.")
    request = data.get("data", {}).get("signature_request") if isinstance(data.get("data"), dict) else None
    request = request if isinstance(request, dict) else {}
    reference, external = _text(request, "id"), _text(request, "external_id")
    return Callback(event_id, name, happened, reference if reference and len(reference) <= 200 else None,
                    external if external and len(external) <= 64 else None)


def _text(data: Any, key: str) -> str | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
