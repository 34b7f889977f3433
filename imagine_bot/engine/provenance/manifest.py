"""Signing a PNG with its C2PA manifest: how it was made, by what, and from which image.

A job's images say ``c2pa.created`` (text-to-image) or ``c2pa.opened`` + ``c2pa.edited`` with
the image the action started from as their ``parentOf`` ingredient; that image carries its own
manifest, so a validator walks the chain back to the first grid. A grid also lists the images
it is made of (``componentOf``), which is how U1-U4 (the grid's images, posted alone) link back
to it. Runs on a worker's CPU thread: signing hashes the whole file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import c2pa

from imagine_bot.engine.provenance.credentials import SigningCredentials

GENERATOR = "imagine-bot"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
"""IPTC's digital source type for what a generative model made."""
PNG = "image/png"
PARENT_LABEL = "parent"


@dataclass(frozen=True)
class ParentImage:
    png: bytes
    title: str
    """How verify names it, e.g. ``job 1f3c… image 2``."""


@dataclass(frozen=True)
class ContentRecord:
    """What every manifest of one job says; the worker signs each of its PNGs with it."""

    credentials: SigningCredentials
    version: str
    """imagine-bot's version: the claim generator's and the actions' software agent."""
    model: str
    """The model preset that made the images."""
    action: str
    """``imagine`` for a prompt, else the button action (``vary_subtle``, ``zoom_out_2x``…)."""
    prompt: str | None
    """The prompt, only when ``[provenance] include_prompt`` is on."""
    parent: ParentImage | None

    def sign(self, png: bytes, title: str, components: Sequence[bytes] = ()) -> bytes:
        """``png`` with a signed manifest embedded; ``components`` (signed PNGs) are the images
        a grid is made of. The PNG's text chunks are kept."""
        signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(
                c2pa.C2paSigningAlg.ES256,
                self.credentials.chain,
                self.credentials.private_key,
                None,
            )
        )
        # The ingredients' validation is recorded in the manifest: against our own root, so a
        # parent we signed reads as trusted there, as it does to a verifier who trusts us.
        # No thumbnails: they are optional, and making them was nearly all of the signing time.
        settings = c2pa.Settings.from_dict(
            {
                "verify": {"verify_trust": True},
                "trust": {"trust_anchors": self.credentials.root.decode()},
                "builder": {"thumbnail": {"enabled": False}},
            }
        )
        context = c2pa.Context(settings, signer)  # takes the signer over
        with context, c2pa.Builder(self._manifest(title), context) as builder:
            if self.parent is not None:
                ingredient = {
                    "title": self.parent.title,
                    "relationship": "parentOf",
                    "label": PARENT_LABEL,
                }
                builder.add_ingredient(ingredient, PNG, io.BytesIO(self.parent.png))
            for index, component in enumerate(components, 1):
                ingredient = {"title": f"image {index}", "relationship": "componentOf"}
                builder.add_ingredient(ingredient, PNG, io.BytesIO(component))
            signed = io.BytesIO()
            builder.sign(PNG, io.BytesIO(png), signed)
        return signed.getvalue()

    def _manifest(self, title: str) -> dict[str, Any]:
        agent = {"name": GENERATOR, "version": self.version}
        parameters: dict[str, str] = {"model": self.model, "imagine-bot.action": self.action}
        if self.prompt is not None:
            parameters["prompt"] = self.prompt
        made = {
            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
            "softwareAgent": agent,
            "parameters": parameters,
        }
        if self.parent is None:
            actions = [{"action": "c2pa.created", **made}]
        else:
            opened = {"action": "c2pa.opened", "parameters": {"ingredientIds": [PARENT_LABEL]}}
            actions = [opened, {"action": "c2pa.edited", **made}]
        return {
            "claim_generator_info": [agent],
            "title": title,
            "format": PNG,
            "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": actions}}],
        }
