"""Every img2pdf call of qms: images on PDF pages without re-encoding them (a JPEG's bytes go
into the PDF as they are), turned upright by their EXIF orientation, fitted into A4."""

from __future__ import annotations

import io

A4 = (210 * 72 / 25.4, 297 * 72 / 25.4)       # points (img2pdf.mm_to_pt)


def images_to_pdf(images: list[bytes]) -> bytes:
    """One page per image (JPEG, PNG, TIFF bytes); each page fitted into A4, aspect kept, EXIF
    rotation applied as the page's /Rotate (lossless)."""
    import img2pdf    # lazy: img2pdf brings pikepdf and Pillow (~60 ms); only a scan put on pages needs it
    layout = img2pdf.get_layout_fun(A4, fit=img2pdf.FitMode.into, auto_orient=True)
    return img2pdf.convert(images, layout_fun=layout, rotation=img2pdf.Rotation.ifvalid)


def image_bytes(path, index: int = 0) -> bytes:
    """What img2pdf is given for frame `index` of an image file: the file's own bytes when it can
    take them as they are (a JPEG, an opaque PNG), else that frame re-saved as PNG (lossless)."""
    from PIL import Image    # lazy: Pillow loads in ~15 ms; only an image re-saved as PNG needs it
    data = open(path, "rb").read()
    with Image.open(io.BytesIO(data)) as im:
        if getattr(im, "n_frames", 1) == 1 and im.format in ("JPEG", "PNG") and im.mode in ("RGB", "L", "1", "CMYK"):
            return data
        im.seek(index)
        frame = im.copy()
        exif = im.getexif()
    if frame.mode not in ("RGB", "L", "1"):
        frame = frame.convert("RGB")         # img2pdf refuses an alpha channel
    buf = io.BytesIO()
    frame.save(buf, "PNG", exif=exif) if exif else frame.save(buf, "PNG")
    return buf.getvalue()
