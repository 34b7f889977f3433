"""Signed links: bound to a page, a member and a job; they expire; the secret is kept."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from imagine_bot.bot.web.links import SECRET_FILE, BadLink, LinkSigner, load_secret

JOB = "0" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def signer(clock: Clock) -> LinkSigner:
    return LinkSigner(b"s" * 32, 30 * 60, clock)


def test_a_link_verifies_for_its_member_page_and_job(signer: LinkSigner) -> None:
    token = signer.sign("region", 42, JOB, index=3, channel_id=7)
    link = signer.verify(token, "region", 42)
    assert (link.member_id, link.job_id, link.index, link.channel_id) == (42, JOB, 3, 7)


def test_a_link_expires_after_its_lifetime(signer: LinkSigner, clock: Clock) -> None:
    token = signer.sign("region", 42, JOB)
    clock.now += 29 * 60
    signer.verify(token, "region", 42)
    clock.now += 2 * 60
    with pytest.raises(BadLink, match="expired"):
        signer.verify(token, "region", 42)


def test_another_member_page_or_secret_is_refused(signer: LinkSigner, clock: Clock) -> None:
    token = signer.sign("region", 42, JOB)
    with pytest.raises(BadLink, match="another member"):
        signer.verify(token, "region", 43)
    with pytest.raises(BadLink, match="another page"):
        signer.verify(token, "gallery", 42)
    with pytest.raises(BadLink, match="not valid"):
        LinkSigner(b"t" * 32, 60, clock).verify(token, "region", 42)


@pytest.mark.parametrize("token", ["", "abc", "abc.", "!!.??", "e30.e30"])
def test_damaged_tokens_are_refused_with_a_sentence(signer: LinkSigner, token: str) -> None:
    with pytest.raises(BadLink):
        signer.verify(token, "region")


def test_a_changed_payload_is_refused(signer: LinkSigner) -> None:
    token = signer.sign("region", 42, JOB)
    other = signer.sign("region", 43, JOB)
    forged = other.split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(BadLink, match="not valid"):
        signer.verify(forged, "region")


def test_each_link_has_its_own_nonce(signer: LinkSigner, clock: Clock) -> None:
    first = signer.verify(signer.sign("region", 42, JOB, index=1), "region")
    again = signer.verify(signer.sign("region", 42, JOB, index=1), "region")
    clock.now += 1
    later = signer.verify(signer.sign("region", 42, JOB, index=1), "region")
    assert first.nonce == again.nonce != later.nonce
    assert 0 < first.nonce < 2**63


def test_the_secret_comes_from_the_environment(tmp_path: Path) -> None:
    assert load_secret(tmp_path, {"IMAGINE_WEB_SECRET": " hunter2 "}) == b"hunter2"
    assert not (tmp_path / SECRET_FILE).exists()


def test_without_one_a_secret_is_made_once_readable_by_the_owner_only(tmp_path: Path) -> None:
    secret = load_secret(tmp_path / "data", {})
    path = tmp_path / "data" / SECRET_FILE
    assert len(secret) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(tmp_path / "data", {}) == secret
