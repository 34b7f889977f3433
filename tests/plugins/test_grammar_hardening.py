"""What people type reaches the model as typed, through ``imagine-bot parse``: em dashes in the
text, flags right after punctuation, ``--sref`` values, and prompts that are only an image."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imagine_bot.cli.main import EXIT_USAGE, main


def parse_json(
    prompt: str, test_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> tuple[int, list[dict[str, Any]], str]:
    for key, value in test_env.items():
        monkeypatch.setenv(key, value)
    code = main(["parse", prompt, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else [], err


@pytest.mark.parametrize(
    ("prompt", "text"),
    [
        ("dusk — stormy sea", "dusk — stormy sea"),
        ("dusk—stormy sea", "dusk—stormy sea"),
        ("a — b — c --ar 3:2", "a — b — c"),
    ],
)
def test_an_em_dash_in_the_text_stays_as_typed(
    prompt: str, text: str, test_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    code, (job,), err = parse_json(prompt, test_env, monkeypatch, capsys)
    assert code == 0, err
    assert job["prompt"] == text and "--" not in job["prompt"]


@pytest.mark.parametrize(
    ("prompt", "text", "flags"),
    [
        ("watercolor,--ar 3:2", "watercolor,", {"ar": "3:2"}),
        ("(watercolor)--no text", "(watercolor)", {"no": ["text"]}),
        ('"OPEN"--ar 16:9', '"OPEN"', {"ar": "16:9"}),
        ("dawn.—ar 2:3", "dawn.", {"ar": "2:3"}),
        ("a fox —no people —ar 2:1", "a fox", {"no": ["people"], "ar": "2:1"}),
    ],
)
def test_a_flag_right_after_punctuation_is_a_flag(
    prompt: str,
    text: str,
    flags: dict[str, Any],
    test_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    code, (job,), err = parse_json(prompt, test_env, monkeypatch, capsys)
    assert code == 0, err
    assert job["prompt"] == text
    assert job["flags"] == flags
    if "no" in flags:
        assert "text" in job["negative_prompt"] or "people" in job["negative_prompt"]


@pytest.mark.parametrize(
    "value", ["not-a-url", "javascript:alert(1)", "data:image/png;base64,AAAA", "/etc/passwd"]
)
def test_an_sref_that_is_no_link_code_or_random_is_refused(
    value: str, test_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    code, _, err = parse_json(f"a fox --sref {value}", test_env, monkeypatch, capsys)
    assert code == EXIT_USAGE
    assert "--sref takes image links (https://…), numeric style codes or random" in err
    assert value in err


def test_sref_codes_and_random_are_still_accepted_with_a_warning(
    test_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    for key, value in test_env.items():
        monkeypatch.setenv(key, value)
    assert main(["parse", "a fox --sref 12345 random"]) == 0
    assert "style codes and `random`" in capsys.readouterr().err


def test_a_lone_image_link_without_an_adapter_is_refused(
    test_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    prompt = "https://cdn.discordapp.com/attachments/1/2/fox.png"
    code, _, err = parse_json(prompt, test_env, monkeypatch, capsys)
    assert code == EXIT_USAGE
    assert "only an image" in err and "no image-prompt adapter" in err


@pytest.mark.parametrize("style", ["cute", "expressive", "original", "scenic"])
def test_a_midjourney_only_style_is_ignored_with_a_warning(
    style: str, test_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    for key, value in test_env.items():
        monkeypatch.setenv(key, value)
    assert main(["parse", f"a fox --style {style}"]) == 0
    assert f"warning: --style {style} is one of Midjourney's own styles" in capsys.readouterr().err
