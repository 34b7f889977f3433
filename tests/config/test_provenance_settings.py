"""``[provenance]``: the prompt stays out unless asked for; certificate and key come together
and must exist, checked when the settings load."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagine_bot.config import SettingsError, load_settings


def test_by_default_the_prompt_stays_out_and_a_local_certificate_is_used() -> None:
    provenance = load_settings(env={}).provenance
    assert provenance.include_prompt is False
    assert provenance.certificate is None and provenance.private_key is None


def test_certificate_and_key_are_read_together(tmp_path: Path) -> None:
    chain, key = tmp_path / "chain.pem", tmp_path / "signer.key"
    chain.write_text("chain")
    key.write_text("key")
    env = {
        "IMAGINE_PROVENANCE__CERTIFICATE": str(chain),
        "IMAGINE_PROVENANCE__PRIVATE_KEY": str(key),
    }
    provenance = load_settings(env=env).provenance
    assert (provenance.certificate, provenance.private_key) == (chain, key)


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    chain = tmp_path / "chain.pem"
    chain.write_text("chain")
    with pytest.raises(SettingsError, match="certificate is set but private_key is not"):
        load_settings(env={"IMAGINE_PROVENANCE__CERTIFICATE": str(chain)})


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    chain = tmp_path / "chain.pem"
    chain.write_text("chain")
    env = {
        "IMAGINE_PROVENANCE__CERTIFICATE": str(chain),
        "IMAGINE_PROVENANCE__PRIVATE_KEY": str(tmp_path / "gone.key"),
    }
    with pytest.raises(SettingsError, match=r"private_key: '.*gone\.key' is not a readable file"):
        load_settings(env=env)
