"""Outgoing email (account confirmation, password reset, email checks).

Sent through SMTP when ``smtp_host`` is configured; otherwise the message is
written to the log at WARNING so that a single-machine ``pagurus serve``
still shows the confirmation link to whoever runs it.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from pagurus.config import Settings
from pagurus.tasks.app import celery_app, runtime

log = logging.getLogger(__name__)

MAX_RETRIES = 8


def build_message(settings: Settings, to: str, subject: str, body: str,
                  headers: dict[str, str] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    # a header must stay one line whatever the caller passes
    msg["Subject"] = " ".join(str(subject).split())
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        del msg[name]
        msg[name] = " ".join(str(value).split())
    msg.set_content(body)
    return msg


def deliver(settings: Settings, msg: EmailMessage) -> None:
    """Hand ``msg`` to the configured SMTP server (TLS and login when set)."""
    if settings.smtp_ssl:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port,
                                              timeout=30, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    with smtp:
        if settings.smtp_starttls and not settings.smtp_ssl:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(msg)


@celery_app.task(name="pagurus.send_email", bind=True, max_retries=MAX_RETRIES)
def send_email(self: Any, to: str, subject: str, body: str,
               headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Send one plain-text email; retried with backoff while the SMTP server is down."""
    settings = runtime().settings
    msg = build_message(settings, to, subject, body, headers)
    if not settings.smtp_host:
        log.warning("No SMTP server configured; email to %s not sent.\nSubject: %s\n\n%s",
                    to, msg["Subject"], body)
        return {"message": "logged", "to": to}
    try:
        deliver(settings, msg)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("sending email to %s failed (%s); will retry", to, exc)
        raise self.retry(exc=exc, countdown=min(600, 5 * 2 ** self.request.retries)) from exc
    return {"message": "sent", "to": to}
