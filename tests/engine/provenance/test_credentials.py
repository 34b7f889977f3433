"""The local signer: made once in the data folder, private, a CA-issued ES256 certificate that
c2pa accepts, and signing with it keeps the PNG's text chunks."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from PIL import Image

from imagine_bot.config import load_settings
from imagine_bot.engine.images.store import PARAMETERS_KEY, png_bytes
from imagine_bot.engine.provenance.credentials import (
    LOCAL_CA,
    LOCAL_FOLDER,
    LOCAL_SIGNER,
    local_credentials,
    signing_credentials,
)
from imagine_bot.engine.provenance.manifest import ContentRecord
from imagine_bot.engine.provenance.verify import verify_png


def test_the_local_signer_is_made_once_privately(tmp_path: Path) -> None:
    settings = load_settings(env={"IMAGINE_PATHS__DATA_DIR": str(tmp_path)})
    first = signing_credentials(settings)
    folder = tmp_path / LOCAL_FOLDER
    for name in (LOCAL_SIGNER, LOCAL_CA):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    local_credentials.cache_clear()  # as a restarted bot would read it
    assert signing_credentials(settings) == first
    assert (folder / LOCAL_CA).read_bytes() == first.root


def test_the_signing_certificate_is_what_c2pa_asks_for(tmp_path: Path) -> None:
    credentials = local_credentials(tmp_path)
    leaf, ca = x509.load_pem_x509_certificates(credentials.chain)
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.issuer == ca.subject != leaf.subject  # not self-signed
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in usage
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_signed_pngs_keep_their_text_and_verify_as_untrusted_without_the_root(
    tmp_path: Path,
) -> None:
    credentials = local_credentials(tmp_path)
    record = ContentRecord(credentials, "9.9", "tiny", "imagine", None, None)
    png = png_bytes(Image.new("RGB", (16, 16), "teal"), "a teal square\nSteps: 1")
    signed = record.sign(png, "image 1 of 1")
    with Image.open(io.BytesIO(signed)) as image:
        assert image.info[PARAMETERS_KEY] == "a teal square\nSteps: 1"

    untrusted = verify_png(signed)
    assert untrusted.ok and untrusted.state == "Valid"
    assert any(f.startswith("signingCredential.untrusted") for f in untrusted.failures)
    trusted = verify_png(signed, credentials.root)
    assert trusted.state == "Trusted" and trusted.failures == ()
    (manifest,) = trusted.manifests
    assert manifest.generator == "imagine-bot 9.9"
    with c2pa.Reader("image/png", io.BytesIO(signed)) as reader:
        assert "prompt" not in reader.json()  # include_prompt is off
