"""E-mail through the SMTP server config.yaml names:

    notify:
      smtp: {host: 127.0.0.1, port: 25, from: qms@example.com, starttls: false, user: …, password_env: QMS_SMTP_PASSWORD}

The password, if any, comes from the environment variable named, never from the file."""

from __future__ import annotations

import os
import smtplib
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr

from ..base.errors import InvalidInput


def smtp_settings(ws) -> dict | None:
    smtp = (ws.config.quality.get("notify") or {}).get("smtp")
    if not smtp:
        return None
    if not isinstance(smtp, dict) or not smtp.get("host"):
        raise InvalidInput("notify.smtp: expected {host, port, from}", file=ws.root / "config.yaml",
                           field="notify.smtp")
    return {"host": str(smtp["host"]), "port": int(smtp.get("port") or 25),
            "from": str(smtp.get("from") or "qms@localhost"), "starttls": bool(smtp.get("starttls")),
            "user": smtp.get("user"), "password": os.environ.get(str(smtp.get("password_env") or ""), None),
            "timeout": float(smtp.get("timeout") or 10)}


def send(settings: dict, to: str, subject: str, body: str, *, org: str = "") -> None:
    msg = EmailMessage()
    msg["Subject"] = str(Header(subject, "utf-8"))
    msg["From"] = formataddr((str(Header(org or "质量体系", "utf-8")), settings["from"]))
    msg["To"] = to
    msg.set_content(body, charset="utf-8")
    with smtplib.SMTP(settings["host"], settings["port"], timeout=settings["timeout"]) as s:
        if settings["starttls"]:
            s.starttls()
        if settings["user"] and settings["password"]:
            s.login(settings["user"], settings["password"])
        s.send_message(msg)
