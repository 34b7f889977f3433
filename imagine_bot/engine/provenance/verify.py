"""Reading an image's Content Credentials back: its manifest chain and whether it validates."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import c2pa

from imagine_bot.engine.errors import UserError

VALID_STATES = frozenset({"Valid", "Trusted"})
"""c2pa's states for an intact manifest: ``Trusted`` when its chain ends at a trust anchor,
``Valid`` when the signature and hashes hold but the issuer is not trusted."""


@dataclass(frozen=True)
class ManifestSummary:
    label: str
    title: str
    depth: int
    """0 for the image's own manifest, 1 for its ingredients', and so on."""
    generator: str
    actions: tuple[str, ...]
    ingredients: tuple[str, ...]
    """Each ingredient's title and relationship, e.g. ``job 1f3c image 2 (parentOf)``."""


@dataclass(frozen=True)
class Verification:
    state: str | None
    """``Trusted``, ``Valid`` or ``Invalid``; None when the image has no manifest."""
    manifests: tuple[ManifestSummary, ...]
    """The active manifest first, then its ingredients' manifests, depth first."""
    failures: tuple[str, ...]
    """Why validation failed or the issuer is not trusted: ``code: explanation``."""

    @property
    def ok(self) -> bool:
        return self.state in VALID_STATES


def verify_png(data: bytes, trust_anchors: bytes | None = None) -> Verification:
    """Validate ``data``'s manifest store; with ``trust_anchors`` (PEM), also its issuer.
    ``UserError`` when ``data`` is no PNG c2pa can read."""
    settings: dict[str, Any] = {"verify": {"verify_trust": True}}
    if trust_anchors is not None:
        settings["trust"] = {"trust_anchors": trust_anchors.decode()}
    context = c2pa.Context(c2pa.Settings.from_dict(settings))
    try:
        reader = c2pa.Reader("image/png", io.BytesIO(data), context=context)
    except c2pa.C2paError as error:
        if "ManifestNotFound" in type(error).__name__:
            return Verification(None, (), ())
        message = f"The file cannot be read as a PNG with Content Credentials: {error}"
        raise UserError(message) from None
    with reader:
        store = json.loads(reader.json())
        state = reader.get_validation_state()
        results = reader.get_validation_results() or {}
    failures = tuple(
        f"{entry['code']}: {entry.get('explanation', '')}"
        for entry in results.get("activeManifest", {}).get("failure", [])
    )
    manifests = store.get("manifests", {})
    chain = tuple(_walk(manifests, store.get("active_manifest"), 0, set()))
    return Verification(state, chain, failures)


def _walk(
    manifests: dict[str, Any], label: str | None, depth: int, seen: set[str]
) -> list[ManifestSummary]:
    if label is None or label in seen or label not in manifests:
        return []
    seen.add(label)
    manifest = manifests[label]
    ingredients = manifest.get("ingredients", [])
    summaries = [
        ManifestSummary(
            label,
            manifest.get("title", ""),
            depth,
            _generator(manifest),
            tuple(_action(action) for action in _actions(manifest)),
            tuple(f"{i.get('title', '?')} ({i.get('relationship', '?')})" for i in ingredients),
        )
    ]
    for ingredient in ingredients:
        summaries += _walk(manifests, ingredient.get("active_manifest"), depth + 1, seen)
    return summaries


def _generator(manifest: dict[str, Any]) -> str:
    info = (manifest.get("claim_generator_info") or [{}])[0]
    return f"{info.get('name', '?')} {info.get('version', '')}".strip()


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    for assertion in manifest.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            actions: list[dict[str, Any]] = assertion.get("data", {}).get("actions", [])
            return actions
    return []


def _action(action: dict[str, Any]) -> str:
    """``c2pa.edited (trainedAlgorithmicMedia, model=tiny, imagine-bot.action=vary_subtle)``;
    the ingredient links are left out (the chain shows them)."""
    details = [
        f"{key}={value}"
        for key, value in action.get("parameters", {}).items()
        if key not in {"ingredients", "ingredientIds"} and not isinstance(value, list | dict)
    ]
    source = str(action.get("digitalSourceType", "")).rsplit("/", 1)[-1]
    described = ", ".join(filter(None, [source, *details]))
    name = str(action.get("action", "?"))
    return f"{name} ({described})" if described else name
