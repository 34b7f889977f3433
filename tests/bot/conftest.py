"""The real bot against SimCord's offline Discord, with a real job service and the tiny model."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import simcord
from playwright.async_api import Browser, async_playwright

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.config import Settings, load_settings

# Generous: a grid on the tiny model is fast, but CI machines are small and shared.
SETTLE_SECONDS = 180.0
SIMCORD = pytest.mark.simcord(settle_timeout=SETTLE_SECONDS)


@pytest.fixture
def bot_settings(tmp_path: Path, test_env: dict[str, str]) -> Settings:
    """A fresh data folder (database, images, synced-commands marker) for every test."""
    return load_settings(env={**test_env, "IMAGINE_PATHS__DATA_DIR": str(tmp_path)})


@pytest.fixture
async def app(bot_settings: Settings) -> AsyncIterator[ImagineApp]:
    # Started outside the bot, as `imagine-bot run` does: the queue outlives any one client.
    imagine_app = ImagineApp.build(bot_settings)
    await imagine_app.start()
    yield imagine_app
    await imagine_app.stop()


@pytest.fixture
def simcord_bot(app: ImagineApp) -> ImagineBot:
    return ImagineBot(app)


@pytest.fixture
def env(simcord_env: simcord.Env) -> simcord.Env:
    return simcord_env


class World:
    """One server with a channel, the job's owner and a stranger."""

    def __init__(self, env: simcord.Env) -> None:
        self.env = env
        self.guild = env.create_guild()
        self.channel = self.guild.create_text_channel("art")
        self.alice = self.guild.add_member(env.create_user("alice"))
        self.bob = self.guild.add_member(env.create_user("bob"))


@pytest.fixture
def world(env: simcord.Env) -> World:
    return World(env)


ButtonIds = Callable[[object], list[str]]


def button_ids(message: object) -> list[str]:
    return [
        child.custom_id
        for row in getattr(message, "components", [])
        for child in getattr(row, "children", [])
        if getattr(child, "custom_id", None)
    ]


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's headless Chromium, driven by Playwright (the region editor, the gallery)."""
    # Fail, never skip: CI installs the package, and a missing browser must not pass quietly.
    assert Path(CHROMIUM).exists(), "Install Debian's chromium: apt-get install -y chromium"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()
