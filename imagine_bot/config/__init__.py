"""Settings: one TOML file plus ``IMAGINE_*`` environment overrides."""

from imagine_bot.config.loader import SettingsError, load_settings
from imagine_bot.config.settings import ModelPreset, Settings

__all__ = ["ModelPreset", "Settings", "SettingsError", "load_settings"]
