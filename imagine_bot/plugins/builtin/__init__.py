"""Built-in behaviour, as ordinary plugins. Each module is registered as ``builtin.<name>``.

The order below is the order their implementations of a hook are called in.
"""

BUILTIN_PLUGINS = (
    "midjourney_flags",
    "grammar",
    "model_preset",
    "prompt_text",
    "aspect",
    "quality",
    "stylize",
    "seed",
    "lane",
    "image_refs",
    "limits",
    "txt2img",
    "grid",
    "metadata",
)
