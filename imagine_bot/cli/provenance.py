"""``imagine-bot verify IMAGE``: an image's Content Credentials, manifest by manifest, and
whether they validate. Exits 1 when they do not (e.g. the pixels changed after signing) or the
image has none."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from imagine_bot.config import Settings
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.provenance.credentials import LOCAL_CA, LOCAL_FOLDER
from imagine_bot.engine.provenance.verify import Verification, verify_png

EXIT_INVALID = 1


def add_provenance_commands(commands: Any) -> None:
    verify = commands.add_parser(
        "verify", help="print an image's Content Credentials and whether they validate"
    )
    verify.add_argument("image", type=Path, metavar="IMAGE", help="a PNG the bot made")
    verify.add_argument(
        "--trust",
        type=Path,
        metavar="PEM",
        help="trust anchors (default: the root of the bot's own signing certificate)",
    )
    verify.set_defaults(command=_verify)


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    image: Path = args.image
    if not image.is_file():
        raise UserError(f"{image} is not a file")
    anchors = _trust_anchors(args.trust, settings)
    verification = verify_png(image.read_bytes(), anchors)
    print(describe(verification, trusted_by=args.trust or _own_root(settings)))
    return 0 if verification.ok else EXIT_INVALID


def describe(verification: Verification, trusted_by: Path | None) -> str:
    if verification.state is None:
        return "no Content Credentials: the image carries no C2PA manifest"
    meaning = {
        "Trusted": f"intact, signed by a certificate issued under {trusted_by}",
        "Valid": "intact, but signed by an untrusted issuer",
        "Invalid": "INVALID: the image or its manifest changed after signing",
    }
    lines = [f"validation: {verification.state} ({meaning.get(verification.state, '?')})"]
    for manifest in verification.manifests:
        indent = "  " * manifest.depth
        lines.append(f"{indent}manifest {manifest.label} {manifest.title!r}")
        lines.append(f"{indent}  generator: {manifest.generator}")
        lines += [f"{indent}  action: {action}" for action in manifest.actions]
        lines += [f"{indent}  ingredient: {title}" for title in manifest.ingredients]
    lines += [f"failure: {failure}" for failure in verification.failures]
    return "\n".join(lines)


def _trust_anchors(given: Path | None, settings: Settings) -> bytes | None:
    path = given or _own_root(settings)
    if path is None:
        return None
    if not path.is_file():
        raise UserError(f"{path} is not a file")
    return path.read_bytes()


def _own_root(settings: Settings) -> Path | None:
    """The bot's signing chain when it is configured (every certificate of it is an anchor),
    else the local CA when one was made."""
    if settings.provenance.certificate is not None:
        return settings.provenance.certificate
    local = settings.paths.data_dir / LOCAL_FOLDER / LOCAL_CA
    return local if local.is_file() else None
