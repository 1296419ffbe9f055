#!/usr/bin/env bash
# Installs the Debian packages qms needs when they are missing (as root), else says what to install.
set -euo pipefail
need=()
# read the font list once: `fc-list | grep -q` under pipefail fails when grep stops early (SIGPIPE)
fonts="$(fc-list 2>/dev/null || true)"
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
# the resident converter (issue 21): Debian's /usr/bin/python3 drives a running LibreOffice over UNO
/usr/bin/python3 -c 'import uno' >/dev/null 2>&1 || need+=(python3-uno)
grep -q 'Noto Serif CJK' <<<"$fonts" || need+=(fonts-noto-cjk)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
grep -qi 'Liberation Serif' <<<"$fonts" || need+=(fonts-liberation2)
# the browser tests of the web application drive Debian's chromium (playwright cannot download its own)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# tests move the clock of a subprocess with faketime (in process: time-machine); the product has no clock switch
command -v faketime >/dev/null 2>&1 || need+=(faketime)
# flow charts of procedures (flow: blocks) are drawn by graphviz's dot
command -v dot >/dev/null 2>&1 || need+=(graphviz)
# OCR of scanned records (issue 22): tesseract with Simplified Chinese, driven by OCRmyPDF from PyPI
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
langs="$(tesseract --list-langs 2>/dev/null || true)"      # read once (see fonts above: SIGPIPE under pipefail)
grep -qx chi_sim <<<"$langs" || need+=(tesseract-ocr-chi-sim)
# several sites (issue 26): make test starts a real PostgreSQL 15 (initdb/pg_ctl into a temp folder)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "qms needs these Debian packages: ${need[*]}" >&2
  echo "install them with: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
