"""Every segno call of qms: a QR code as a PNG (no transparency: it goes on PDF/A pages)."""

from __future__ import annotations

import io



def qr_png(text: str, *, scale: int = 8) -> bytes:
    """The QR of `text` as a black-on-white PNG, error correction M (a signature or a stamp may
    cross it), quiet zone of 2 modules."""
    import segno    # lazy: segno brings urllib and email (~20 ms); qms record show imports records, only printing draws a QR
    code = segno.make_qr(text, error="m", boost_error=False)
    buf = io.BytesIO()
    code.save(buf, kind="png", scale=scale, border=2, dark="black", light="white")
    return buf.getvalue()
