"""Every zxing-cpp call of qms: read the QR codes on one page image (QR only — reading every
format costs ten times as much: FIELD-NOTES, "Paper, QR and OCR")."""

from __future__ import annotations

import zxingcpp


def read_qr(image) -> list[str]:
    """The text of every QR code zxing finds on `image` (a PIL image, any mode), in reading order."""
    if image.mode not in ("L", "RGB"):
        image = image.convert("L")
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode, try_rotate=True,
                                   try_downscale=True)
    return [r.text for r in found if r.valid]
