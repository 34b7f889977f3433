"""Members' preferences and macros, kept per member."""

from __future__ import annotations

from pathlib import Path

from imagine_bot.engine.jobs.members import Members
from imagine_bot.engine.jobs.storage import Database, upgrade

ALICE, BOB = 1, 2


def test_preferences_and_macros(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    upgrade(database)
    members = Members(database)
    assert members.preferences(ALICE) == {}
    members.set_preference(ALICE, "suffix", "--ar 16:9")
    assert members.set_preference(ALICE, "stylize", 250) == {
        "suffix": "--ar 16:9",
        "stylize": 250,
    }
    members.set_preference(ALICE, "suffix", None)
    assert members.preferences(ALICE) == {"stylize": 250}
    members.set_macro(ALICE, "cinema", "--ar 21:9 --s 300")
    members.set_macro(ALICE, "cinema", "--ar 2:1")
    members.set_macro(ALICE, "square", "--ar 1:1")
    assert members.macros(ALICE) == {"cinema": "--ar 2:1", "square": "--ar 1:1"}
    assert members.delete_macro(ALICE, "square")
    assert not members.delete_macro(ALICE, "square")
    assert members.macros(BOB) == {}
