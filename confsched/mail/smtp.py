"""One connection to the SMTP relay, with smtplib (blocking: the mailer runs it on its thread).

smtplib rather than an async client: the mailer sends a few hundred messages a year, one at a
time, so a thread costs nothing and no dependency is added. Every way a relay can say no (a
4xx or 5xx reply, a refused or dropped connection, a failed STARTTLS) becomes
:class:`SendRefused` with the relay's words, for the outbox to keep and retry.
"""

from __future__ import annotations

import smtplib
import ssl
from types import TracebackType

from confsched.config import SmtpSecurity, SmtpSettings


class SendRefused(Exception):
    """The relay did not take the message; ``reason`` is what it (or the network) said."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Relay:
    """A lazily opened connection, reused for a batch, reopened after any failure."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        """Hand one message to the relay; returns only once the relay accepted it."""
        try:
            smtp = self._connection()
            refused = smtp.sendmail(sender, [recipient], message)
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise SendRefused(f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            code, text = next(iter(exc.recipients.values()))
            raise SendRefused(f"{code} {_text(text)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SendRefused(f"{type(exc).__name__}: {exc}") from None
        if refused:  # one recipient per message: not reached, but never count it as sent
            raise SendRefused(f"recipient refused: {refused}")

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        s = self.settings
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        try:
            smtp.ehlo()
            if s.security is SmtpSecurity.STARTTLS:
                smtp.starttls(context=ssl.create_default_context(cafile=s.cafile))
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def __enter__(self) -> Relay:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
