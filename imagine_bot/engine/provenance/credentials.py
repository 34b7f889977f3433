"""The key and certificate chain that sign our C2PA manifests: the admin's, from
``[provenance]``, else a local CA and signing certificate made once in the data folder.

C2PA validators want an ES256 (P-256) key, a leaf that is not self-signed, with the
digitalSignature key usage and an extended key usage they accept (emailProtection here); the
local CA's own key signs the leaf and is then thrown away, so nobody can issue more from it.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from imagine_bot.config import Settings

LOCAL_FOLDER = "provenance"
LOCAL_SIGNER = "local-signer.pem"
"""The private key, then the signing certificate, then the local CA: one file, written once."""
LOCAL_CA = "local-ca.pem"
"""The local CA's certificate alone: what ``imagine-bot verify --trust`` takes."""
VALID_FOR = datetime.timedelta(days=10 * 365)
_PRIVATE = 0o600
_lock = threading.Lock()


@dataclass(frozen=True)
class SigningCredentials:
    chain: bytes
    """PEM certificates, the signing one first."""
    private_key: bytes
    """PEM PKCS#8 private key of the first certificate."""

    @property
    def root(self) -> bytes:
        """The last certificate of the chain (PEM): the trust anchor to verify against."""
        marker = b"-----BEGIN CERTIFICATE-----"
        return marker + self.chain.rsplit(marker, 1)[1]


def signing_credentials(settings: Settings) -> SigningCredentials:
    """The credentials ``settings`` name, else the data folder's local ones (made if missing)."""
    provenance = settings.provenance
    if provenance.certificate is not None and provenance.private_key is not None:
        return _read_configured(provenance.certificate, provenance.private_key)
    return local_credentials(settings.paths.data_dir / LOCAL_FOLDER)


@functools.cache
def _read_configured(certificate: Path, private_key: Path) -> SigningCredentials:
    return SigningCredentials(certificate.read_bytes(), private_key.read_bytes())


@functools.cache
def local_credentials(folder: Path) -> SigningCredentials:
    """The local signer in ``folder``, made on first use (by one thread, and by one process:
    the file is linked into place only if no other process got there first)."""
    path = folder / LOCAL_SIGNER
    with _lock:
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            _write_once(path, _new_local_signer())
        data = path.read_bytes()
        marker = b"-----BEGIN CERTIFICATE-----"
        key, _, chain = data.partition(marker)
        credentials = SigningCredentials(marker + chain, key)
        ca = folder / LOCAL_CA
        if not ca.exists():
            _write_once(ca, credentials.root)
    return credentials


def _write_once(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, _PRIVATE)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        # Another process may have made it first: theirs is the one in use.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _new_local_signer() -> bytes:
    """A fresh CA and a signing certificate it issued, as key + leaf + CA in PEM."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = issue(_name("imagine-bot local CA"), ca_key, ca_key, None)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = issue(_name("imagine-bot signer"), key, ca_key, ca)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private + pem(leaf) + pem(ca)


def issue(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
) -> x509.Certificate:
    """A certificate for ``key``: a CA when ``issuer`` is None (self-signed), else a C2PA
    signing certificate issued by ``issuer``."""
    now = datetime.datetime.now(datetime.UTC)
    is_ca = issuer is None
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), True)
        .add_extension(_key_usage(is_ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if not is_ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_usage(is_ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not is_ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=is_ca,
        crl_sign=is_ca,
        encipher_only=False,
        decipher_only=False,
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "imagine-bot"),
        ]
    )
