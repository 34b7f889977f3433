"""Discord features, one package each; ``setup()`` in each package adds its cog."""
