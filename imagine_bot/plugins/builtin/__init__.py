"""Built-in behaviour, as ordinary plugins: one module per stage, each registered by the
plugin manager as ``builtin.<name>`` with ``trylast=True`` (``manager.BUILTIN_PLUGINS`` lists
them in calling order). The plugin core never imports these modules."""
