"""``imagine-bot db upgrade`` and ``imagine-bot quota show|grant|reset``, as an admin runs them."""

from __future__ import annotations

from pathlib import Path

from imagine_bot.config import load_settings
from imagine_bot.engine.images.store import ImageStore, StoredImage
from imagine_bot.engine.jobs.records import Requester
from imagine_bot.engine.jobs.scheduler import FairScheduler
from imagine_bot.engine.jobs.storage import LATEST_VERSION, Database
from imagine_bot.engine.jobs.store import JobStore
from tests.cli.test_main import run
from tests.support.jobkit import make_spec


def test_db_upgrade_and_quota_commands(test_env: dict[str, str], tmp_path: Path) -> None:
    env = {**test_env, "IMAGINE_PATHS__DATA_DIR": str(tmp_path)}
    refused = run("quota", "show", "42", env=env)
    assert refused.returncode == 2
    assert "run `imagine-bot db upgrade` first" in refused.stderr

    created = run("db", "upgrade", env=env)
    assert created.returncode == 0, created.stderr
    assert (
        created.stdout.strip()
        == f"sqlite:///{tmp_path / 'imagine.db'}: created at schema version {LATEST_VERSION}"
    )
    assert f"already at schema version {LATEST_VERSION}" in run("db", "upgrade", env=env).stdout

    # member 42 runs a job that takes 12.5 GPU-seconds
    settings = load_settings(env=env)
    database = Database(f"sqlite:///{tmp_path / 'imagine.db'}")
    store = JobStore(settings, database, ImageStore(tmp_path / "images"))
    store.submit(Requester(42), [make_spec()])
    job = store.start_next(FairScheduler(3))
    assert job is not None
    image = StoredImage("e" * 64, tmp_path / "e.png", 1, 1, 1)
    store.finish_success(job.id, 12.5, [image] * 4, image)

    shown = run("quota", "show", "42", env=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "member 42: tier everyone (daily budget, relax allowed)"
    assert "  used      12.5 s" in lines and "  left      3,587.5 s" in lines

    granted = run("quota", "grant", "42", "100", "--note", "contest", env=env).stdout
    assert "  granted   100 s" in granted and "  left      3,687.5 s" in granted
    reset = run("quota", "reset", "42", env=env).stdout
    assert "  used      0 s" in reset and "  left      3,700 s" in reset
