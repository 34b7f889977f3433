"""A test CA and its signing certificate, and an image edited the way an editor that keeps
metadata edits it: new pixels, every other chunk (the C2PA manifest too) left in place."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image

from imagine_bot.engine.provenance.credentials import issue, pem

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class CAFiles:
    root: Path
    """The CA's certificate: the trust anchor."""
    chain: Path
    """The signing certificate, then the CA's."""
    key: Path


def make_test_ca(folder: Path) -> CAFiles:
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = issue(_name("test CA"), ca_key, ca_key, None)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = issue(_name("test signer"), key, ca_key, ca)
    paths = CAFiles(folder / "ca.pem", folder / "chain.pem", folder / "signer.key")
    paths.root.write_bytes(pem(ca))
    paths.chain.write_bytes(pem(leaf) + pem(ca))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def edit_pixels_keeping_chunks(png: bytes) -> bytes:
    """``png`` with its top-left pixel inverted; its text and C2PA chunks stay as they were."""
    with Image.open(io.BytesIO(png)) as image:
        edited = image.convert("RGB")
    red, green, blue = edited.getpixel((0, 0))  # type: ignore[misc]
    edited.putpixel((0, 0), (255 - red, 255 - green, 255 - blue))
    buffer = io.BytesIO()
    edited.save(buffer, format="PNG")
    new_data = b"".join(data for kind, data in _chunks(buffer.getvalue()) if kind == b"IDAT")
    out, wrote_pixels = [PNG_SIGNATURE], False
    for kind, data in _chunks(png):
        if kind != b"IDAT":
            out.append(_chunk(kind, data))
        elif not wrote_pixels:
            out.append(_chunk(b"IDAT", new_data))
            wrote_pixels = True
    return b"".join(out)


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png.startswith(PNG_SIGNATURE)
    chunks, offset = [], len(PNG_SIGNATURE)
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        chunks.append((kind, png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
