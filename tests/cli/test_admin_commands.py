"""The commands an admin runs around an upgrade or a settings edit: --version, config, check."""

from __future__ import annotations

import pytest

import imagine_bot
from imagine_bot.cli.main import main


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"imagine-bot {imagine_bot.__version__}"
