"""Loading plugins: built-ins, an installed entry-point package, a plugins folder, the rules."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.plugins.manager import (
    BUILTIN_PLUGINS,
    ESSENTIAL,
    PluginError,
    build_plugin_manager,
    describe_plugins,
)
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner

SIZE_PLUGIN = """
from PIL import Image
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.flags import Flag


@hookimpl
def imagine_register_flags(register):
    register(Flag("size", "integer", minimum=64, maximum=512, help="square side in pixels"))


@hookimpl
def imagine_transform(draft, settings):
    size = draft.flag("size")
    if size is not None:
        draft.width = draft.height = size


@hookimpl
def imagine_generate(spec, models, control):
    return [Image.new("RGB", (spec.width, spec.height), (seed % 256, 0, 0)) for seed in spec.seeds]
"""


def install_package(site: Path, name: str, source: str) -> None:
    """Install ``name`` the way pip lays it out: a module plus a dist-info with entry points."""
    site.mkdir(exist_ok=True)
    (site / f"{name}.py").write_text(source)
    dist_info = site / f"{name}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[imagine]\n{name} = {name}\n")


def settings_with(test_env: dict[str, str], **env: str) -> Settings:
    return load_settings(
        env={**test_env, **{f"IMAGINE_PLUGINS__{k.upper()}": v for k, v in env.items()}}
    )


@pytest.fixture
def size_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    install_package(tmp_path / "site", "imagine_size", SIZE_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return "imagine_size"


async def test_an_installed_plugin_adds_a_flag_and_changes_the_spec(
    size_plugin: str, test_env: dict[str, str]
) -> None:
    settings = settings_with(test_env)
    planner = JobPlanner(settings, build_plugin_manager(settings))
    (spec,) = await planner.plan("a fox --size 192 --ar 16:9")
    assert (spec.width, spec.height) == (192, 192)  # the plugin ran before the built-in aspect
    assert spec.warnings == ()


async def test_an_installed_plugin_overrides_the_generate_stage(
    size_plugin: str, test_env: dict[str, str]
) -> None:
    settings = settings_with(test_env)
    manager = build_plugin_manager(settings)
    (spec,) = await JobPlanner(settings, manager).plan("a fox --size 64 --seed 7")
    runner = JobRunner(manager, ModelRegistry(settings))
    try:
        result = runner.submit(spec, JobControl()).result()
    finally:
        runner.close()
    assert [image.getpixel((0, 0)) for image in result.images] == [
        (7, 0, 0),
        (8, 0, 0),
        (9, 0, 0),
        (10, 0, 0),
    ]
    assert result.grid is not None and result.grid.size == (128, 128)  # built-in grid still runs
    assert "Seed: 7" in result.parameters[0]


async def test_a_blocked_plugin_is_not_loaded(size_plugin: str, test_env: dict[str, str]) -> None:
    settings = settings_with(test_env, blocked='["imagine_size"]')
    manager = build_plugin_manager(settings)
    assert "imagine_size" not in {plugin.name for plugin in describe_plugins(manager)}
    with pytest.raises(UserError, match="Unknown flag --size"):
        await JobPlanner(settings, manager).plan("a fox --size 64")


def test_built_ins_can_be_blocked(test_env: dict[str, str]) -> None:
    manager = build_plugin_manager(settings_with(test_env, blocked='["builtin.grid"]'))
    loaded = {name for name, plugin in manager.list_name_plugin() if plugin is not None}
    assert "builtin.grid" not in loaded and "builtin.metadata" in loaded


@pytest.mark.parametrize("name", sorted(ESSENTIAL))
def test_an_essential_built_in_cannot_be_blocked(test_env: dict[str, str], name: str) -> None:
    with pytest.raises(PluginError, match=f"'builtin.{name}', which cannot be blocked: "):
        build_plugin_manager(settings_with(test_env, blocked=f'["builtin.{name}"]'))


def test_essential_built_ins_are_ordinary_trylast_plugins(test_env: dict[str, str]) -> None:
    manager = build_plugin_manager(settings_with(test_env))
    for name in ESSENTIAL:
        assert name in BUILTIN_PLUGINS
        plugin = manager.get_plugin(f"builtin.{name}")
        impls = [
            impl
            for caller in manager.get_hookcallers(plugin) or ()
            for impl in caller.get_hookimpls()
            if impl.plugin is plugin
        ]
        assert impls and all(impl.trylast for impl in impls)


def test_a_plugins_folder_is_loaded(tmp_path: Path, test_env: dict[str, str]) -> None:
    (tmp_path / "sizes.py").write_text(SIZE_PLUGIN)
    (tmp_path / "_helper.py").write_text("raise RuntimeError('private modules are not plugins')")
    manager = build_plugin_manager(settings_with(test_env, folder=str(tmp_path)))
    info = {plugin.name: plugin for plugin in describe_plugins(manager)}
    assert info["sizes"].hooks == (
        "imagine_generate",
        "imagine_register_flags",
        "imagine_transform",
    )
    assert info["sizes"].source.endswith("sizes.py")


def test_a_missing_plugins_folder_is_reported(tmp_path: Path, test_env: dict[str, str]) -> None:
    with pytest.raises(PluginError, match="is not a folder"):
        build_plugin_manager(settings_with(test_env, folder=str(tmp_path / "missing")))


@pytest.mark.parametrize("hook", ["imagine_generate", "imagine_postprocess", "imagine_transform"])
def test_async_implementations_of_sync_hooks_are_refused(
    hook: str, tmp_path: Path, test_env: dict[str, str]
) -> None:
    arguments = {
        "imagine_generate": "spec, models, control",
        "imagine_postprocess": "result",
        "imagine_transform": "draft, settings",
    }[hook]
    (tmp_path / "eager.py").write_text(
        textwrap.dedent(f"""
        from imagine_bot.plugins import hookimpl

        @hookimpl
        async def {hook}({arguments}):
            pass
    """)
    )
    with pytest.raises(PluginError, match=f"'eager'.*{hook} must be a plain 'def'"):
        build_plugin_manager(settings_with(test_env, folder=str(tmp_path)))


async def test_async_validate_hooks_are_awaited(tmp_path: Path, test_env: dict[str, str]) -> None:
    (tmp_path / "moderation.py").write_text(
        textwrap.dedent("""
        import asyncio
        from imagine_bot.engine.errors import UserError
        from imagine_bot.plugins import hookimpl

        @hookimpl
        async def imagine_validate(spec, settings):
            await asyncio.sleep(0)
            if "forbidden" in spec.prompt:
                raise UserError("That prompt is not allowed here.")
    """)
    )
    settings = settings_with(test_env, folder=str(tmp_path))
    planner = JobPlanner(settings, build_plugin_manager(settings))
    assert await planner.plan("a fox")
    with pytest.raises(UserError, match="not allowed"):
        await planner.plan("a forbidden fox")


def test_a_misspelled_hook_is_reported(tmp_path: Path, test_env: dict[str, str]) -> None:
    (tmp_path / "typo.py").write_text(
        textwrap.dedent("""
        from imagine_bot.plugins import hookimpl

        @hookimpl
        def imagine_tranform(draft, settings):
            pass
    """)
    )
    with pytest.raises(PluginError, match="typo"):
        build_plugin_manager(settings_with(test_env, folder=str(tmp_path)))


def test_a_flag_name_taken_twice_is_reported(tmp_path: Path, test_env: dict[str, str]) -> None:
    (tmp_path / "clash.py").write_text(
        textwrap.dedent("""
        from imagine_bot.plugins import hookimpl
        from imagine_bot.plugins.flags import Flag

        @hookimpl
        def imagine_register_flags(register):
            register(Flag("seedling", aliases=("seed",)))
    """)
    )
    settings = settings_with(test_env, folder=str(tmp_path))
    with pytest.raises(PluginError, match="--seed is already registered"):
        JobPlanner(settings, build_plugin_manager(settings))


def test_every_built_in_is_listed_with_its_hooks(settings: Settings) -> None:
    info = {plugin.name: plugin for plugin in describe_plugins(build_plugin_manager(settings))}
    assert {f"builtin.{name}" for name in BUILTIN_PLUGINS} <= set(info)
    assert info["builtin.grammar"].hooks == ("imagine_parse",)
    assert info["builtin.generate"].source == "built in"


async def test_a_user_error_from_a_plugin_reaches_the_caller(
    tmp_path: Path, test_env: dict[str, str]
) -> None:
    (tmp_path / "nofoxes.py").write_text(
        textwrap.dedent("""
        from imagine_bot.engine.errors import UserError
        from imagine_bot.plugins import hookimpl

        @hookimpl
        def imagine_transform(draft, settings):
            if "fox" in draft.prompt.text:
                raise UserError("No foxes today.")
    """)
    )
    settings = settings_with(test_env, folder=str(tmp_path))
    with pytest.raises(UserError, match="No foxes"):
        await JobPlanner(settings, build_plugin_manager(settings)).plan("a fox")


@pytest.mark.parametrize("name", ["a" * 41, "Upscale", "zoom-out", "2x"])
def test_an_action_name_no_button_can_carry_is_refused_at_registration(
    tmp_path: Path, test_env: dict[str, str], name: str
) -> None:
    """The name goes into the button's custom_id: one the template cannot match would make a
    button that never answers."""
    (tmp_path / "long.py").write_text(
        textwrap.dedent(f"""
        from imagine_bot import Action, hookimpl

        @hookimpl
        def imagine_register_actions(register):
            register(Action({name!r}, "Go", "grid", prepare=lambda request, draft: None))
    """)
    )
    settings = settings_with(test_env, folder=str(tmp_path))
    with pytest.raises(PluginError, match=f"action name '{name}' must be 1 to 40 lower-case"):
        JobPlanner(settings, build_plugin_manager(settings))
