"""Secrets and signatures of the Standard Webhooks specification
(https://www.standardwebhooks.com/): a secret is ``whsec_`` and base64 of random bytes; a
signature is ``v1,`` and base64 of HMAC-SHA256, keyed with the secret's bytes, of
``{webhook-id}.{webhook-timestamp}.{body}``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(secrets_in_use: list[str], message_id: str, timestamp: int, body: str) -> str:
    """Space-separated signatures, one per secret: while a rotated secret is still valid
    the receiver may check either."""
    return " ".join(signature(secret, message_id, timestamp, body) for secret in secrets_in_use)
