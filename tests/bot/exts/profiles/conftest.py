"""The bot with the tiny IP-Adapter and SimCord's attachments fetched from its CDN, as the
/describe and Remix tests run it."""

from tests.bot.test_loop import bot_settings, cdn  # noqa: F401  (fixtures, used by name)
