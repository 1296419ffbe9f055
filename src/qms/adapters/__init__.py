"""Every third-party internal in one module each: LibreOffice, pypdf/fpdf2, pyHanko, docxtpl,
openpyxl, Pillow."""
