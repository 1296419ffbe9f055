"""The organisation's seal: a PAdES signature on every released PDF/A, checkable by anyone.

Keys live in `<workspace>/.qms/identity/keys/` (folder 0700, files 0600), outside the archive:
  signing-key.pem   the private key the seal is made with
  signing-cert.pem  its certificate
  chain.pem         the issuers' certificates (for a generated key: the organisation's own CA)
  ca-key.pem        only for a generated key: the CA's private key, to issue a new signing certificate
`qms init` / `qms keys init` generate a self-signed organisation CA and a signing certificate;
`qms keys import FILE.p12` replaces them by a certificate from a real CA.

Sealing keeps PDF/A-2b: pyHanko rewrites the XMP packet in its incremental update (its issue
#755 loses extension schemas), so the pdfaid claim is read back after sealing and a lost one refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import Conflict, InvalidInput, NotFound, QmsError
from ..store.journalkey import private_write
from ..store.workspace import Workspace
from .pdf import pdfa_part
from ..base import dates
from concurrent.futures import ThreadPoolExecutor

# pyHanko logs a failed validation with its traceback; with no handler configured Python prints
# that to stderr — the user reads our one line (SealStatus.problem), never pyHanko's log.
for _name_ in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_name_).addHandler(logging.NullHandler())
    logging.getLogger(_name_).propagate = False

KEY, CERT, CHAIN, CA_KEY = "signing-key.pem", "signing-cert.pem", "chain.pem", "ca-key.pem"
FIELD_NAME = "QmsSeal"


def keys_dir(ws: Workspace) -> Path:
    return ws.root / ".qms" / "keys"


def _prepare_dir(ws: Workspace) -> Path:
    for folder in (ws.root / ".qms", keys_dir(ws)):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    return keys_dir(ws)


def has_keys(ws: Workspace) -> bool:
    d = keys_dir(ws)
    return (d / KEY).is_file() and (d / CERT).is_file()


# ------------------------------------------------------------------ keys

@dataclass(frozen=True)
class KeyInfo:
    subject: str
    issuer: str
    serial: str
    not_before: str
    not_after: str
    sha256: str
    self_issued_ca: bool

    def to_json(self) -> dict:
        return {"subject": self.subject, "issuer": self.issuer, "serial": self.serial,
                "not_before": self.not_before, "not_after": self.not_after, "sha256": self.sha256,
                "self_issued_ca": self.self_issued_ca}


def _name(org: str, common: str):
    from cryptography.x509.oid import NameOID    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    from cryptography import x509
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def generate_keys(ws: Workspace, *, years: int = 10, replace: bool = False) -> KeyInfo:
    """A self-signed organisation CA and a signing certificate it issues (ECDSA P-256)."""
    from cryptography import x509    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    from cryptography.x509.oid import ExtendedKeyUsageOID

    if has_keys(ws) and not replace:
        raise Conflict("the organisation already has a signing key (qms keys show); "
                       "pass --replace to make a new one", file=keys_dir(ws))
    org = ws.config.org_name
    now = dates.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(org, f"{org} 质量管理体系根证书")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + dt.timedelta(days=365 * years + 10))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(org, f"{org} 文件发布签章"))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=365 * years))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    pkcs8 = dict(encoding=pem, format=serialization.PrivateFormat.PKCS8,
                 encryption_algorithm=serialization.NoEncryption())
    d = _prepare_dir(ws)
    private_write(d / CA_KEY, ca_key.private_bytes(**pkcs8))
    private_write(d / CHAIN, ca.public_bytes(pem))
    private_write(d / KEY, key.private_bytes(**pkcs8))
    private_write(d / CERT, cert.public_bytes(pem))
    return key_info(ws)


def import_p12(ws: Workspace, p12: Path | str, passphrase: bytes | None) -> KeyInfo:
    """Take the organisation's key and certificate (and its issuers) from a PKCS#12 file."""
    from cryptography.hazmat.primitives import serialization    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    from cryptography.hazmat.primitives.serialization import pkcs12    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it

    p12 = Path(p12)
    if not p12.is_file():
        raise NotFound("PKCS#12 file not found", file=p12)
    try:
        key, cert, others = pkcs12.load_key_and_certificates(p12.read_bytes(), passphrase or None)
    except ValueError as exc:
        raise InvalidInput(f"cannot open the PKCS#12 file (wrong passphrase or not PKCS#12): {exc}", file=p12) from None
    if key is None or cert is None:
        raise InvalidInput("the PKCS#12 file holds no private key with its certificate", file=p12)
    pem = serialization.Encoding.PEM
    d = _prepare_dir(ws)
    private_write(d / KEY, key.private_bytes(encoding=pem, format=serialization.PrivateFormat.PKCS8,
                                              encryption_algorithm=serialization.NoEncryption()))
    private_write(d / CERT, cert.public_bytes(pem))
    private_write(d / CHAIN, b"".join(c.public_bytes(pem) for c in others or []))
    (d / CA_KEY).unlink(missing_ok=True)   # the generated CA no longer issues this key
    return key_info(ws)


def _load_cert(path: Path):
    from cryptography import x509    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    return x509.load_pem_x509_certificate(path.read_bytes())


def _load_chain(ws: Workspace) -> list:
    from cryptography import x509    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    path = keys_dir(ws) / CHAIN
    if not path.is_file() or not path.read_bytes().strip():
        return []
    return x509.load_pem_x509_certificates(path.read_bytes())


def key_info(ws: Workspace) -> KeyInfo:
    if not has_keys(ws):
        raise NotFound("no signing key yet: qms keys init (or qms keys import FILE.p12)", file=keys_dir(ws))
    from cryptography.hazmat.primitives import serialization    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    cert = _load_cert(keys_dir(ws) / CERT)
    return KeyInfo(subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
                   serial=format(cert.serial_number, "x"),
                   not_before=cert.not_valid_before_utc.isoformat(), not_after=cert.not_valid_after_utc.isoformat(),
                   sha256=hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
                   self_issued_ca=(keys_dir(ws) / CA_KEY).is_file())


# ------------------------------------------------------------------ sealing

@dataclass(frozen=True)
class SealStatus:
    file: str
    sealed: bool
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    covers_whole_file: bool = False
    signer: str = ""
    signed_at: str = ""
    reason: str = ""
    pdfa: str | None = None
    problem: str = ""
    signer_sha256: str = ""      # SHA-256 of the sealing certificate (DER), as keys.* events pin it

    @property
    def ok(self) -> bool:
        return self.sealed and self.intact and self.valid and self.covers_whole_file

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"ok": self.ok}


def _signer(ws: Workspace):
    from pyhanko.sign import signers    # lazy: pyHanko loads in ~300 ms; only sealing or checking a seal needs it
    d = keys_dir(ws)
    if not has_keys(ws):
        raise NotFound("no signing key to seal with: qms keys init (or qms keys import FILE.p12)", file=d)
    chain = [str(d / CHAIN)] if (d / CHAIN).is_file() and (d / CHAIN).read_bytes().strip() else None
    signer = signers.SimpleSigner.load(str(d / KEY), str(d / CERT), ca_chain_files=chain)
    if signer is None:
        raise QmsError("the signing key or certificate cannot be read", file=d)
    return signer


def seal_pdf(ws: Workspace, path: Path | str, reason: str, *, location: str | None = None) -> SealStatus:
    """Seal `path` in place with the organisation's key (PAdES B-B, SHA-256, invisible field).

    The file is replaced atomically; a PDF/A claim that does not survive sealing is refused
    (the original stays)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter    # lazy: pyHanko loads in ~300 ms; only sealing or checking a seal needs it
    from pyhanko.sign import fields, signers


    path = Path(path)
    before = pdfa_part(path)
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, reason=reason, location=location,
                                        md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES)
    with open(path, "rb") as fh:
        writer = IncrementalPdfFileWriter(fh, strict=False)
        # pyHanko runs its own asyncio loop: in a thread of its own, so a caller that already has
        # one running (a web server, playwright in the tests) does not make it fail
        with ThreadPoolExecutor(1) as pool:
            out = pool.submit(signers.sign_pdf, writer, meta, signer=_signer(ws)).result()
        data = out.getvalue() if isinstance(out, io.BytesIO) else out.read()
    tmp = path.with_name(f".{path.name}.sealed.tmp")
    tmp.write_bytes(data)
    try:
        after = pdfa_part(tmp)
        if before and after != before:
            raise QmsError(f"sealing lost the PDF/A claim ({before} before, {after or 'none'} after)", file=path)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return validate_seal(ws, path)


def _pinned_roots(pinned: dict[str, str | None]) -> list:
    from asn1crypto import pem as apem, x509 as ax509    # lazy: asn1crypto loads in ~20 ms; only reading a certificate needs it
    roots = []
    for text in pinned.values():
        if text:
            try:
                _, _, der = apem.unarmor(text.encode("ascii"))
                roots.append(ax509.Certificate.load(der))
            except (ValueError, TypeError):
                continue       # an unreadable pin trusts nothing
    return roots


def validate_seal(ws: Workspace | None, path: Path | str, *, pinned: dict[str, str | None] | None = None) -> SealStatus:
    """Check the seal of `path`: intact (the signed bytes unchanged), valid (the signature verifies),
    covering the whole file (nothing appended), trusted (issued by the workspace's CA).

    `pinned` (certificate SHA-256 → PEM, from the journal's keys.* events): then trusted means
    made with one of those certificates — never with whatever .qms/keys now holds."""
    from pyhanko.pdf_utils.reader import PdfFileReader    # lazy: pyHanko loads in ~300 ms; only sealing or checking a seal needs it
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel    # lazy: pyHanko loads in ~300 ms; only sealing or checking a seal needs it
    from pyhanko_certvalidator import ValidationContext


    path = Path(path)
    name = ws.rel(path) if ws else str(path)
    try:
        with open(path, "rb") as fh:
            reader = PdfFileReader(fh, strict=False)
            sigs = reader.embedded_signatures
            if not sigs:
                return SealStatus(file=name, sealed=False, problem="no seal")
            sig = sigs[-1]
            roots = []
            if pinned is not None:
                roots = _pinned_roots(pinned)
            elif ws is not None and has_keys(ws):
                from asn1crypto import x509 as ax509    # lazy: pyHanko's asn1crypto; only sealing or checking a seal needs it
                from cryptography.hazmat.primitives import serialization
                roots = [ax509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in _load_chain(ws)]
            ctx = ValidationContext(trust_roots=roots, allow_fetching=False)
            with ThreadPoolExecutor(1) as pool:
                status = pool.submit(validate_pdf_signature, sig, ctx).result()
            reason = str(sig.sig_object.get("/Reason", ""))
    except QmsError:
        raise
    except Exception as exc:   # a damaged file: pyHanko raises many types
        return SealStatus(file=name, sealed=True, problem=f"seal cannot be checked ({type(exc).__name__}: {exc})")
    try:
        pdfa = pdfa_part(path)
    except QmsError:
        pdfa = None
    problem = ""
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    if not status.intact:
        problem = "the sealed bytes were changed (signature not intact)"
    elif not status.valid:
        problem = "the seal's signature does not verify"
    elif not whole:
        problem = "bytes were added after the seal"
    signer_sha = hashlib.sha256(status.signing_cert.dump()).hexdigest()     # an asn1crypto certificate
    trusted = bool(status.trusted)
    if pinned is not None:      # a pin journaled before its PEM was: the fingerprint alone
        trusted = signer_sha in pinned and (trusted or pinned[signer_sha] is None)
    return SealStatus(file=name, sealed=True, intact=status.intact, valid=status.valid,
                      trusted=trusted, covers_whole_file=whole, signer_sha256=signer_sha,
                      signer=status.signing_cert.subject.human_friendly,
                      signed_at=status.signer_reported_dt.isoformat() if status.signer_reported_dt else "",
                      reason=reason, pdfa=pdfa, problem=problem)
