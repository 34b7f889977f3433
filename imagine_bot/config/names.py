"""The names that travel inside a Discord custom_id: action names (a job button's
``action:job_id:index``) and model preset names (a /settings button's ``setting:model:NAME``).

A custom_id is matched against its button's template when pressed; a name the template cannot
match makes a button that never answers. So the templates are built from these patterns, and
each name is checked against them where it is born: an action when a plugin registers it, a
preset when the settings load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class IdName:
    kind: str
    pattern: str
    """A regular expression without groups, for a custom_id template."""
    rule: str
    """The pattern in words."""

    def refusal(self, name: str) -> str | None:
        """Why ``name`` cannot be such a name (a sentence), or None when it fits."""
        if re.fullmatch(self.pattern, name):
            return None
        return f"the {self.kind} name {name!r} must be {self.rule} (it goes into button ids)"


ACTION_NAME = IdName(
    "action",
    r"[a-z][a-z0-9_]{0,39}",
    "1 to 40 lower-case letters, digits or _, starting with a letter",
)
PRESET_NAME = IdName(
    "model preset",
    r"[a-z0-9][a-z0-9_.-]{0,39}",
    "1 to 40 lower-case letters, digits, _, . or -, starting with a letter or digit",
)
