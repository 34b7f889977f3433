"""The documentation keeps up with the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from PIL import Image

import imagine_bot
from imagine_bot.config import load_settings
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.spec import SourceImage
from imagine_bot.plugins import hookspecs
from imagine_bot.plugins.manager import build_plugin_manager, describe_plugins
from imagine_bot.plugins.planner import JobPlanner

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
    # What the command does on a fresh machine: tests/test_test_script.py.
    assert ci_command == "scripts/test.sh"


def plugin_examples() -> list[str]:
    text = (ROOT / "docs" / "plugins.md").read_text()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


async def test_the_plugin_examples_load_and_work(tmp_path: Path, test_env: dict[str, str]) -> None:
    examples = plugin_examples()
    assert len(examples) == 2
    for number, code in enumerate(examples, 1):
        imports = [line for line in code.splitlines() if re.match(r"(from|import) ", line)]
        assert imports and all(line.startswith("from imagine_bot import ") for line in imports)
        (tmp_path / f"example_{number}.py").write_text(code)
    env = {**test_env, "IMAGINE_PLUGINS__FOLDER": str(tmp_path)}
    settings = load_settings(env=env)
    manager = build_plugin_manager(settings)
    loaded = {info.name: info.hooks for info in describe_plugins(manager)}
    assert loaded["example_1"] == ("imagine_register_flags", "imagine_transform")
    assert loaded["example_2"] == ("imagine_register_actions",)
    planner = JobPlanner(settings, manager)
    (spec,) = await planner.plan("a fox --size 192")
    assert (spec.width, spec.height) == (192, 192) and spec.warnings == ()
    assert planner.actions.title("half_vary") == "Varied (Half)"
    stored = ImageStore(settings.paths.store).put(Image.new("RGB", (spec.width, spec.height)))
    source = SourceImage(sha256=stored.sha256)
    (derived,) = await planner.derive(spec, "half_vary", 2, source)
    assert derived.action == "half_vary" and derived.kind == "img2img"
    assert derived.strength == 0.5 and derived.seeds[0] == spec.seeds[1]


def test_the_plugin_api_is_one_light_import() -> None:
    code = (
        "import sys, imagine_bot; print(imagine_bot.hookimpl, imagine_bot.Flag, "
        "imagine_bot.Action); print(sorted(m for m in ('torch', 'diffusers', 'discord') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
    assert sorted(imagine_bot.__all__) == sorted(vars(imagine_bot)["_HOMES"])
    assert all(getattr(imagine_bot, name) is not None for name in imagine_bot.__all__)
