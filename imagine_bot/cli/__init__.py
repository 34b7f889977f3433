"""The ``imagine-bot`` command line."""
