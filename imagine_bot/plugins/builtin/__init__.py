"""Built-in behaviour, as ordinary plugins. Each module is registered as ``builtin.<name>``.

The order below is the order their implementations of a hook are called in.
"""

BUILTIN_PLUGINS = (
    "midjourney_flags",
    "actions",
    "grammar",
    "model_preset",
    "prompt_text",
    "aspect",
    "quality",
    "stylize",
    "seed",
    "chaos",
    "stop",
    "tile",
    "lane",
    "image_refs",
    "limits",
    "safety",
    "generate",
    "grid",
    "metadata",
)
