"""A web server reachable from other machines whose links still point at localhost."""

from __future__ import annotations

import pytest

from imagine_bot.config.web import WebSettings


@pytest.mark.parametrize("listen", ["0.0.0.0:8765", "[::]:8765", "192.168.1.20:8765"])
def test_listening_beyond_this_machine_with_a_localhost_public_url_is_warned(listen: str) -> None:
    warning = WebSettings(listen=listen).public_url_warning
    assert warning is not None
    assert f"web.listen is {listen}" in warning and "http://127.0.0.1:8765" in warning
    assert "public_url" in warning


@pytest.mark.parametrize(
    ("listen", "public_url"),
    [
        ("127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("localhost:8765", "http://localhost:8765"),
        ("0.0.0.0:8765", "https://imagine.example.org"),
        ("[::1]:8765", "http://[::1]:8765"),
    ],
)
def test_a_consistent_address_is_not_warned(listen: str, public_url: str) -> None:
    assert WebSettings(listen=listen, public_url=public_url).public_url_warning is None
