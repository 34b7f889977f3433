"""imagine-bot: a self-hosted, Midjourney-style Discord bot on a local diffusers engine."""

__version__ = "0.1.0"
