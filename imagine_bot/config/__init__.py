"""Settings: one TOML file plus ``IMAGINE_*`` environment overrides."""

from imagine_bot.config.loader import SettingsError, load_settings
from imagine_bot.config.settings import FetchSettings, IPAdapterSettings, ModelPreset, Settings

__all__ = [
    "FetchSettings",
    "IPAdapterSettings",
    "ModelPreset",
    "Settings",
    "SettingsError",
    "load_settings",
]
