"""The user-facing surface: the command line and the Discord bot. The only package that
imports discord."""
