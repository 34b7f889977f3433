"""Signed links: each one names a page, one member, one job (and image), and expires.

A token is ``payload.signature``, both base64url: the payload is the link's fields joined by
``:``, the signature its HMAC-SHA256 under the server's secret. Nothing is stored per link: a
token that verifies is the whole proof of who may open what, until it expires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from imagine_bot.config.web import SECRET_ENV

log = logging.getLogger(__name__)

SECRET_FILE = "web-secret"
_FIELDS = 6


class BadLink(Exception):
    """A link that must not open; the message says why, for the person holding it."""


@dataclass(frozen=True)
class Link:
    page: str
    member_id: int
    job_id: str
    index: int
    """The image of the job (1-4), 0 for the whole job."""
    channel_id: int
    """Where results of the page's actions are posted."""
    expires: int
    """Unix time."""

    @property
    def nonce(self) -> int:
        """A number unique to this link: the job service's idempotency key for what it submits,
        so a link used twice queues one job."""
        digest = hashlib.sha256(self._payload().encode()).digest()
        return int.from_bytes(digest[:7], "big")

    def _payload(self) -> str:
        fields = (self.page, self.member_id, self.job_id, self.index, self.channel_id, self.expires)
        return ":".join(str(field) for field in fields)


class LinkSigner:
    def __init__(
        self, secret: bytes, lifetime_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self.lifetime_s = lifetime_s
        self._clock = clock

    def sign(
        self,
        page: str,
        member_id: int,
        job_id: str,
        *,
        index: int = 0,
        channel_id: int = 0,
        issued: float | None = None,
    ) -> str:
        """A token for ``page`` that only ``member_id`` may use, valid from ``issued`` (now)."""
        start = self._clock() if issued is None else issued
        link = Link(page, member_id, job_id, index, channel_id, int(start + self.lifetime_s))
        payload = link._payload().encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def verify(self, token: str, page: str, member_id: int | None = None) -> Link:
        """The link ``token`` stands for, if it is ours, for ``page``, unexpired and (when
        given) ``member_id``'s; else ``BadLink``."""
        payload_text, _, signature_text = token.partition(".")
        try:
            payload, signature = _unb64(payload_text), _unb64(signature_text)
        except ValueError:
            raise BadLink("This link is damaged: copy the whole link from Discord.") from None
        if not hmac.compare_digest(signature, self._mac(payload)):
            raise BadLink("This link is not valid: it was changed, or made by another server.")
        link = _parse(payload.decode())
        if link.page != page:
            raise BadLink("This link is for another page.")
        if link.expires < self._clock():
            raise BadLink("This link has expired: press the button in Discord again.")
        if member_id is not None and link.member_id != member_id:
            raise BadLink("This link belongs to another member.")
        return link

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()


def load_secret(data_dir: Path, env: Mapping[str, str] = os.environ) -> bytes:
    """``IMAGINE_WEB_SECRET``, else the secret kept in the data folder (made on first use,
    readable by the bot's user only)."""
    if value := env.get(SECRET_ENV, "").strip():
        return value.encode()
    path = data_dir / SECRET_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as file:
        file.write(secret)
    log.info("generated a link-signing secret in %s (set %s to choose one)", path, SECRET_ENV)
    return secret


def _parse(payload: str) -> Link:
    fields = payload.split(":")
    if len(fields) != _FIELDS:
        raise BadLink("This link is not valid.")
    page, member_id, job_id, index, channel_id, expires = fields
    try:
        return Link(page, int(member_id), job_id, int(index), int(channel_id), int(expires))
    except ValueError:
        raise BadLink("This link is not valid.") from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text:
        raise ValueError("empty")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(text) from None
