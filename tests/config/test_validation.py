"""Settings that would break later are refused when they load, in plain words through the CLI."""

from __future__ import annotations

import pytest
import torch

from imagine_bot.cli.main import EXIT_USAGE, main
from imagine_bot.config import Settings, SettingsError, load_settings
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.runner import JobRunner


def run_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    *args: str,
) -> tuple[int, str]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = main(list(args))
    return code, capsys.readouterr().err


def test_a_default_tier_that_names_no_tier_is_refused_at_load() -> None:
    with pytest.raises(SettingsError, match=r"quota\.default_tier.*'gold'.*everyone"):
        load_settings(env={"IMAGINE_QUOTA__DEFAULT_TIER": "gold"})


@pytest.mark.parametrize("device", ["cdua", "cuda:", "gpu", "cpu0"])
def test_a_misspelt_device_is_refused_by_the_cli(
    device: str,
    test_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {**test_env, "IMAGINE_ENGINE__DEVICE": device}
    code, err = run_cli(monkeypatch, capsys, env, "parse", "a fox")
    assert code == EXIT_USAGE
    assert f"{device!r} is not a device" in err and "engine.device" in err
    assert "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a torch without CUDA")
def test_cuda_on_a_cpu_only_torch_is_refused_before_any_job(
    test_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {**test_env, "IMAGINE_ENGINE__DEVICE": "cuda"}
    code, err = run_cli(monkeypatch, capsys, env, "imagine", "a fox")
    assert code == EXIT_USAGE
    assert "engine.device is 'cuda'" in err and '"cpu"' in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_engine_threads_sets_torchs_threads_on_the_worker(test_env: dict[str, str]) -> None:
    wanted = 1 if torch.get_num_threads() != 1 else 2
    settings: Settings = load_settings(env={**test_env, "IMAGINE_ENGINE__THREADS": str(wanted)})
    runner = JobRunner(build_plugin_manager(settings), ModelRegistry(settings))
    try:
        assert runner.call(torch.get_num_threads).result() == wanted
    finally:
        runner.close()
