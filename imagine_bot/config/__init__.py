"""Settings: one TOML file plus ``IMAGINE_*`` environment overrides."""

from imagine_bot.config.loader import SettingsError, effective_settings, load_settings
from imagine_bot.config.settings import FetchSettings, IPAdapterSettings, ModelPreset, Settings

__all__ = [
    "FetchSettings",
    "IPAdapterSettings",
    "ModelPreset",
    "Settings",
    "SettingsError",
    "effective_settings",
    "load_settings",
]
