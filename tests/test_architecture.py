"""The import rules of docs/design.md, read statically from the source (ast: fast, no imports).

Layers, each importing only itself and the layers after it:
``bot -> workers -> plugins -> engine -> config``. ``imagine_bot/__init__.py`` re-exports the
plugin API, so it counts as ``plugins``; ``app.py`` and ``cli/`` sit above every layer and may
import anything (only ``bot`` may import ``app``: the client is handed the app).
``imagine_bot/workers/`` is a layer whether it exists yet or not.

Three kinds of import are told apart: module level (runs on import), inside a function (runs
when called) and under ``if TYPE_CHECKING:`` (never runs). Layers count all three: a type is a
dependency too. What a module loads counts the first two. Import cycles count module-level
imports only: a function-level import runs after every module is loaded, and a
TYPE_CHECKING-only one never runs, so neither can fail to import.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "imagine_bot"
LAYERS = ("config", "engine", "plugins", "workers", "bot")
"""Lowest first: a module may import its own layer and the layers before it."""
TOP = {"imagine_bot.app", "imagine_bot.metrics", "imagine_bot.cli", "imagine_bot.__main__"}
TORCH = {"torch", "diffusers", "transformers", "accelerate", "compel", "torchvision"}
"""torch, and the libraries that import it as they load."""
DATABASE = {"sqlalchemy", "sqlmodel", "alembic"}
MAX_LINES = 400
KNOWN_OVERSIZED: set[str] = set()
"""Files allowed over MAX_LINES for a while (none now: the dispatcher left service.py)."""

Kind = Literal["module", "function", "type_checking"]


@dataclass(frozen=True)
class Import:
    target: str
    """The imported module: ours resolved to a module of the package, others as written."""
    kind: Kind
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@cache
def imports_of(module: str) -> tuple[Import, ...]:
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    return tuple(_imports(tree.body, "module", package))


def _imports(body: list[ast.stmt], kind: Kind, package: str) -> Iterator[Import]:
    for node in body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(_resolve(alias.name), kind, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                yield Import(_resolve(f"{base}.{alias.name}", fallback=base), kind, node.lineno)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _imports(
                node.body, "type_checking" if kind == "type_checking" else "function", package
            )
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.body, "type_checking", package)
            yield from _imports(node.orelse, kind, package)
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    stmts = [child for child in children if isinstance(child, ast.stmt)]
                    handlers = [c for c in children if isinstance(c, ast.ExceptHandler)]
                    yield from _imports(stmts, kind, package)
                    for handler in handlers:
                        yield from _imports(handler.body, kind, package)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str, fallback: str | None = None) -> str:
    """``a.b.c`` as the deepest module of ours it names; others unchanged."""
    if not name.startswith("imagine_bot"):
        return fallback if fallback is not None else name
    candidate = name
    while candidate and candidate not in modules():
        candidate = candidate.rpartition(".")[0]
    return candidate or name


def is_ours(name: str) -> bool:
    return name == "imagine_bot" or name.startswith("imagine_bot.")


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer(module: str) -> str | None:
    """The layer of one of our modules; None for app.py and cli/ (above every layer)."""
    if any(within(module, top) for top in TOP):
        return None
    if module == "imagine_bot":
        return "plugins"
    name = module.split(".")[1]
    assert name in LAYERS, f"{module} is in no layer: add its package to LAYERS or TOP"
    return name


def loads(module: str, kinds: frozenset[Kind]) -> set[str]:
    """Every module (ours and others, by top-level name) importing ``module`` loads, following
    imports of ``kinds`` and the parent packages Python runs first."""
    seen: set[str] = set()
    outside: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo += [current.rsplit(".", depth)[0] for depth in range(1, current.count(".") + 1)]
        for found in imports_of(current):
            if found.kind not in kinds:
                continue
            if is_ours(found.target):
                todo.append(found.target)
            else:
                outside.add(found.target.split(".")[0])
    return seen | outside


RUNS = frozenset[Kind]({"module", "function"})
ON_IMPORT = frozenset[Kind]({"module"})


def test_modules_import_only_their_layer_and_the_ones_below() -> None:
    wrong = []
    for module in modules():
        own = layer(module)
        if own is None:
            continue
        for found in imports_of(module):
            if not is_ours(found.target):
                continue
            target = layer(found.target)
            if target is None:
                # The composition root and its metrics registry, which the bot reports into.
                allowed = own == "bot" and found.target in {
                    "imagine_bot.app",
                    "imagine_bot.metrics",
                }
            else:
                allowed = LAYERS.index(target) <= LAYERS.index(own)
            if not allowed:
                wrong.append(f"{module}:{found.line} ({own}) imports {found.target}")
    assert wrong == []


def test_the_plugin_core_never_imports_a_built_in() -> None:
    core = [m for m in modules() if within(m, "imagine_bot.plugins")]
    wrong = [
        f"{module}:{found.line} imports {found.target}"
        for module in core
        if not within(module, "imagine_bot.plugins.builtin")
        for found in imports_of(module)
        if within(found.target, "imagine_bot.plugins.builtin")
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("imagine_bot.engine.jobs", TORCH), ("imagine_bot.engine.gpu", DATABASE)],
    ids=["the job lifecycle loads no torch", "the GPU runtime loads no database"],
)
def test_a_package_never_loads(package: str, forbidden: set[str]) -> None:
    members = [m for m in modules() if within(m, package)]
    assert members
    found = {module: sorted(loads(module, RUNS) & forbidden) for module in members}
    assert {module: names for module, names in found.items() if names} == {}


def test_every_gpu_module_needs_torch() -> None:
    """``engine/gpu`` means "imports torch": numpy/PIL-only code (geometry, grids) lives in
    ``engine/images``, where the event loop may use it without loading torch."""
    light = [
        module
        for module, path in modules().items()
        if within(module, "imagine_bot.engine.gpu") and path.name != "__init__.py"
        if not loads(module, RUNS) & TORCH
    ]
    assert light == []


def test_only_the_bot_imports_discord() -> None:
    wrong = [
        f"{module}:{found.line}"
        for module in modules()
        if not within(module, "imagine_bot.bot")
        for found in imports_of(module)
        if found.target.split(".")[0] == "discord"
    ]
    assert wrong == []


def test_the_command_line_and_the_plugin_api_load_light() -> None:
    """``imagine-bot parse`` and ``import imagine_bot`` start in a moment: no torch, and the
    command line no discord until ``run`` or ``sync``."""
    assert loads("imagine_bot.cli.main", ON_IMPORT) & (TORCH | {"discord"}) == set()
    api = loads("imagine_bot", ON_IMPORT)
    assert {name for name in api if is_ours(name)} == {"imagine_bot"}
    assert api & (TORCH | {"discord", "pluggy"}) == set()


def test_no_package_has_an_import_cycle() -> None:
    graph = {
        module: {f.target for f in imports_of(module) if f.kind == "module" and is_ours(f.target)}
        for module in modules()
    }
    assert [cycle for cycle in _cycles(graph)] == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (or one importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for following in sorted(graph.get(node, ())):
            if following not in index:
                visit(following)
                low[node] = min(low[node], low[following])
            elif following in stack:
                low[node] = min(low[node], index[following])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_file_is_over_the_size_limit() -> None:
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    over = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert set(over) == KNOWN_OVERSIZED, over


EXTENSIONS = "imagine_bot.bot.exts"


def extension_of(module: str) -> str | None:
    """The feature package (``imagine_bot.bot.exts.<feature>``) holding ``module``, if any."""
    if not within(module, EXTENSIONS) or module == EXTENSIONS:
        return None
    return ".".join(module.split(".")[:4])


def test_nothing_imports_an_extension() -> None:
    """Extensions are leaves: the client loads them by dotted name (``load_extension``)."""
    wrong = [
        f"{module}:{found.line} imports {found.target}"
        for module in modules()
        if extension_of(module) is None
        for found in imports_of(module)
        if within(found.target, EXTENSIONS)
    ]
    assert wrong == []


def test_no_extension_imports_another() -> None:
    """What two features share lives outside ``exts/`` (``bot/jobs/``, ``bot/access.py``...)."""
    wrong = [
        f"{module}:{found.line} imports {found.target}"
        for module in modules()
        if (own := extension_of(module)) is not None
        for found in imports_of(module)
        if within(found.target, EXTENSIONS) and extension_of(found.target) != own
    ]
    assert wrong == []


def test_the_bot_process_loads_no_torch() -> None:
    """Every module of the bot process, imported for real in a fresh interpreter: GPU work runs
    on workers, so the bot never pays torch's start-up nor needs a GPU stack (with Ray it has
    none). Real imports, not the static graph: a library may load torch behind our back."""
    bot_modules = sorted(m for m in modules() if within(m, "imagine_bot.bot"))
    script = (
        "import importlib, sys\n"
        f"for name in {bot_modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(set(sys.modules) & set({sorted(TORCH)!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", f"the bot process loaded {done.stdout.strip()}"
