"""Invites by e-mail: the outbox's changes become messages, and messages reach an SMTP relay.

``message``  one recipient's MIME message for an invitation (what Outlook, Gmail and
             Thunderbird recognise as an invite);
``smtp``     one connection to the relay (smtplib: blocking, so it runs on the mailer's thread);
``mailer``   the runtime component: expands recorded changes, sends what is due, retries with
             backoff, and never sends one delivery again once the relay accepted it.
"""
