"""The bot's web server: signed links and the pages they open."""
