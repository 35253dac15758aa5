"""E-mail of notices over SMTP (SEALFLOW_SMTP_URL, SEALFLOW_MAIL_FROM): the mail each notice
makes, and its sending, after the commit that wrote the notice (the steps, and the retries'
rules, are in processes/notice_mail.py).

``app.jobs.JobRunner.on_notices`` runs :func:`send_notices` right after the commit (inline or in
its thread, as the sealing job); the scheduler's sweep runs :func:`send_due`, which sends again
what failed or was never sent. Each send holds no transaction open: the notice is leased in
one, mailed, and the result recorded in another. With no SMTP URL set nothing is sent.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import Flask
from flask_babel import force_locale, gettext

from app.errors import translate
from app.extensions import db
from config import parse_smtp_url
from processes import notice_mail
from processes.db import unit_of_work

logger = logging.getLogger(__name__)

SMTP_TIMEOUT = 10
"""Seconds to wait for the SMTP server at each step: a server that hangs delays only this."""


def enabled(app: Flask) -> bool:
    return bool(app.config.get("SMTP_URL"))


def compose(out: notice_mail.Outgoing, *, mail_from: str, base_url: str) -> EmailMessage:
    """The mail of one notice, in the recipient's language: to the user, its message as
    subject and body, and its link (SEALFLOW_BASE_URL and the page) to open it in Sealflow."""
    with force_locale(out.language):
        text = translate(out.message)
        opener = gettext("Open: %(link)s", link=base_url.rstrip("/") + out.link) \
            if out.link else None
        name = gettext("Sealflow")
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = formataddr((out.display_name, out.to))
    subject = " ".join(text.split())
    message["Subject"] = subject if len(subject) <= 120 else subject[:119] + "…"
    message["Message-ID"] = make_msgid(domain=mail_from.rpartition("@")[2] or None)
    body = [text, ""]
    if opener:
        body += [opener, ""]
    body += ["-- ", name]
    message.set_content("\n".join(body))
    return message


def deliver(smtp_url: str, message: EmailMessage) -> None:
    """Send one mail (smtplib.SMTPException or OSError when it could not be handed over)."""
    tls, host, port, user, password = parse_smtp_url(smtp_url)
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if tls:
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    with smtp:
        smtp.ehlo()
        if not tls and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        if user:
            smtp.login(user, password or "")
        smtp.send_message(message)


def send_notices(app: Flask, notice_ids: list[int]) -> int:
    """Mail the notices among ``notice_ids`` that still wait; returns how many were sent. A
    failed send is logged and recorded for the sweep to try again; it never raises."""
    if not enabled(app) or not notice_ids:
        return 0
    config = app.config
    with unit_of_work(db.session):
        outgoing = notice_mail.take(db.session, notice_ids)
    sent = 0
    for out in outgoing:
        try:
            deliver(config["SMTP_URL"], compose(out, mail_from=config["MAIL_FROM"],
                                                base_url=config["BASE_URL"]))
        except (smtplib.SMTPException, OSError) as exc:
            with unit_of_work(db.session):
                notice_mail.record_failure(db.session, out.notice_id,
                                           f"{type(exc).__name__}: {exc}")
            continue
        with unit_of_work(db.session):
            notice_mail.record_sent(db.session, out.notice_id)
        sent += 1
    return sent


def send_due(app: Flask) -> int:
    """The sweep's part: mail what failed before or was never sent (the process stopped)."""
    if not enabled(app):
        return 0
    with unit_of_work(db.session, write=False):
        due = notice_mail.due(db.session)
    return send_notices(app, due) if due else 0
