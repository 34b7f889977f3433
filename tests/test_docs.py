"""The documentation keeps up with the code."""

from __future__ import annotations

from pathlib import Path

from imagine_bot.plugins import hookspecs

ROOT = Path(__file__).resolve().parents[1]


def hook_names() -> list[str]:
    return [name for name in vars(hookspecs) if name.startswith("imagine_")]


def test_the_docs_mention_every_hook() -> None:
    docs = (ROOT / "README.md").read_text() + (ROOT / "docs" / "plugins.md").read_text()
    assert hook_names()
    assert [name for name in hook_names() if name not in docs] == []


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci_command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    readme_lines = [line.strip() for line in (ROOT / "README.md").read_text().splitlines()]
    assert ci_command in readme_lines
    assert "pytest" in ci_command
