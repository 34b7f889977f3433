"""The GPU runtime and job lifecycle. Knows nothing of Discord or of the plugin system."""
