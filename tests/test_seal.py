"""The organisation's seal: PAdES on a PDF/A that anyone can check with pdfsig, a changed byte caught."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from qms.cli import cli
from qms.adapters.convert import to_pdf
from qms.adapters.pdf import pdfa_part
from qms.adapters.pades import keys_dir, seal_pdf, validate_seal
from qms.store.workspace import open_workspace

from conftest import Qms

ADMIN_PW = "admin-pass-2026"


@pytest.fixture(scope="module")
def pdfa(tmp_path_factory) -> Path:
    """One real PDF/A-2b from LibreOffice (Chinese text), copied by each test."""
    import docx
    folder = tmp_path_factory.mktemp("pdfa")
    d = docx.Document()
    d.add_paragraph("服务过程控制程序 XX-XX-022")
    d.save(folder / "procedure.docx")
    pdf = to_pdf([folder / "procedure.docx"])[0]
    assert pdfa_part(pdf) == "2B"
    return pdf


@pytest.fixture
def ws(tmp_path) -> Qms:
    root = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["init", str(root), "--admin", "admin", "--name", "张建华", "--password-stdin"],
                                input=ADMIN_PW + "\n")
    assert result.exit_code == 0, result.output
    q = Qms(root)
    q("login", "admin", "--password-stdin", input=ADMIN_PW + "\n")
    return q


def pdfsig(path: Path) -> str:
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout


def test_init_makes_a_private_org_ca_and_signing_certificate(ws):
    folder = keys_dir(open_workspace(ws.root))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("signing-key.pem", "signing-cert.pem", "chain.pem", "ca-key.pem"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    info = ws.json("keys", "show")
    assert "XXXXXX有限公司" in info["subject"] and info["self_issued_ca"] is True
    assert "质量管理体系根证书" in info["issuer"]
    assert "already has a signing key" in ws.fail("keys", "init")
    ws("keys", "init", "--replace")
    assert ws.json("keys", "show")["sha256"] != info["sha256"]
    assert [e["action"] for e in ws.log("--target", "keys")] == ["keys.created", "keys.created"]


def test_sealed_pdfa_stays_pdfa_and_pdfsig_finds_it_valid(ws, pdfa, tmp_path):
    w = open_workspace(ws.root)
    pdf = tmp_path / "sealed.pdf"
    shutil.copyfile(pdfa, pdf)
    status = seal_pdf(w, pdf, "编制 张建华; 批准 赵国庆")
    assert status.ok and status.trusted and status.reason == "编制 张建华; 批准 赵国庆"
    assert pdfa_part(pdf) == "2B"          # the XMP pdfaid claim survives pyHanko's incremental update
    out = pdfsig(pdf)
    assert "Signature is Valid" in out and "Total document signed" in out
    assert "ETSI.CAdES.detached" in out     # PAdES

    flipped = tmp_path / "flipped.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x01            # inside the signed byte range
    flipped.write_bytes(bytes(data))
    bad = validate_seal(w, flipped)
    assert not bad.ok and not bad.intact and "changed" in bad.problem
    assert "Digest Mismatch" in pdfsig(flipped)

    appended = tmp_path / "appended.pdf"
    appended.write_bytes(pdf.read_bytes() + b"\n% added later\n")
    later = validate_seal(w, appended)
    assert not later.ok and "added after the seal" in later.problem

    assert validate_seal(w, pdfa).sealed is False


def test_imported_pkcs12_key_seals_and_is_trusted_through_its_chain(ws, pdfa, tmp_path):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (x509.CertificateBuilder().subject_name(name("外部CA")).issuer_name(name("外部CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now)
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(name("某公司 签章")).issuer_name(name("外部CA"))
            .public_key(key.public_key()).serial_number(2).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(ca_key, hashes.SHA256()))
    p12 = tmp_path / "org.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"org", key, cert, [ca], serialization.BestAvailableEncryption(b"p12-pass")))

    assert "wrong passphrase" in ws("keys", "import", p12, "--passphrase-stdin", input="nope\n", ok=False).output
    ws("keys", "import", p12, "--passphrase-stdin", input="p12-pass\n")
    info = ws.json("keys", "show")
    assert "外部CA" in info["issuer"] and info["self_issued_ca"] is False
    assert not (keys_dir(open_workspace(ws.root)) / "ca-key.pem").exists()
    pdf = tmp_path / "sealed.pdf"
    shutil.copyfile(pdfa, pdf)
    status = seal_pdf(open_workspace(ws.root), pdf, "批准 赵国庆")
    assert status.ok and status.trusted and "签章" in status.signer
    assert "Signature is Valid" in pdfsig(pdf)
    assert [e["action"] for e in ws.log("--target", "keys")] == ["keys.created", "keys.imported"]
