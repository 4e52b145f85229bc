"""``confsched serve`` (the scheduler) and ``confsched demo`` (with simulated rooms, console)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import signal
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from confsched.cli.common import data_option, data_option_saying
from confsched.config import (
    DEFAULT_HTTP,
    DEFAULT_ROOMS,
    DEFAULT_SSH,
    Settings,
    SmtpSecurity,
    SmtpSettings,
    data_dir_from_env,
    read_smtp_secrets,
    split_host_port,
)
from confsched.domain.timeparse import parse_duration
from confsched.errors import InvalidInput
from confsched.runtime.components import Components
from confsched.runtime.root import run_server

_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def host_name_option(text: str) -> str:
    """``--allowed-host``: a host name (an internationalised one is kept in its ASCII form) or
    an address; a clear refusal for anything else (a URL, a port, a path)."""
    from confsched.web.hosts import ascii_name

    refusal = InvalidInput(
        f"--allowed-host {text!r}: give a host name such as lich.example.gov.vn "
        f"(no scheme, port or path)"
    )
    try:
        name = ascii_name(text)
    except UnicodeError:
        raise refusal from None
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(name.strip("[]")))
    if len(name) > 253 or not _HOST_NAME.fullmatch(name):
        raise refusal
    return name


def public_url_option(text: str) -> str:
    """``--public-url``: an http(s) URL with a host, as subscribers and the console reach the
    scheduler (feed links start with it)."""
    parts = urlsplit(text)
    try:
        good = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # a port that is not a number (or out of range) raises
    except ValueError:
        good = False
    if not good:
        raise InvalidInput(
            f"--public-url {text!r}: give the URL others use to reach this scheduler, "
            f"e.g. https://lich.example.gov.vn"
        )
    return text


def build_settings(
    data_dir: Path | None,
    rooms: Path | None,
    http: str,
    ssh: str,
    public_url: str = "",
    allowed_hosts: Sequence[str] = (),
) -> Settings:
    http_host, http_port = split_host_port(http, "--http")
    ssh_host, ssh_port = split_host_port(ssh, "--ssh")
    if rooms is None and Path(DEFAULT_ROOMS).exists():
        rooms = Path(DEFAULT_ROOMS)
    elif rooms is not None and not rooms.exists():
        raise InvalidInput(f"--rooms {rooms}: no such file")
    return Settings(
        data_dir=data_dir_from_env(str(data_dir) if data_dir else None),
        rooms_file=rooms,
        http_host=http_host,
        http_port=http_port,
        ssh_host=ssh_host,
        ssh_port=ssh_port,
        public_url=public_url_option(public_url) if public_url else "",
        allowed_hosts=tuple(host_name_option(name) for name in allowed_hosts),
    )


def history_window(text: str) -> timedelta | None:
    """``--feed-history``: a duration (``30d``, ``12h``), or ``all`` for no window."""
    if text.strip().lower() == "all":
        return None
    try:
        return parse_duration(text)
    except InvalidInput:
        hint = "give a duration such as 30d, or 'all'"
        raise InvalidInput(f"--feed-history {text!r}: {hint}") from None


def smtp_settings(
    relay: str,
    sender: str,
    security: SmtpSecurity,
    secrets: Path | None,
    cafile: Path | None = None,
) -> SmtpSettings:
    """The relay's settings from the flags; a clear refusal for a missing or bad part."""
    host, port = split_host_port(relay, "--smtp")
    if "@" not in sender or sender.startswith("@") or sender.endswith("@"):
        raise InvalidInput(f"--smtp-from {sender!r}: give the sender's address, e.g. lich@tinh.vn")
    username, password = read_smtp_secrets(secrets) if secrets else ("", "")
    if cafile is not None and not cafile.is_file():
        raise InvalidInput(f"--smtp-cafile {cafile}: no such file")
    return SmtpSettings(host, port, sender, security, username, password, cafile)


def run_until_signal(main: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine until it ends, Ctrl-C or SIGTERM; then stop it cleanly."""

    async def runner() -> None:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(runner())


@click.command()
@click.option(
    "--rooms",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Fleet file imported at start-up (default {DEFAULT_ROOMS} if present).",
)
@data_option
@click.option("--http", default=DEFAULT_HTTP, show_default=True, help="HTTP listen address.")
@click.option("--ssh", default=DEFAULT_SSH, show_default=True, help="SSH listen address (agents).")
@click.option(
    "--public-url",
    default="",
    help="The URL others reach this scheduler by (feed links start with it; https:// says a "
    "TLS proxy is in front). Default: the listen address, this host's name for 0.0.0.0.",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Another name the API answers to (repeatable); besides loopback names, this host's "
    "names, the listen address and --public-url's host. Others get a JSON 421.",
)
@click.option(
    "--feed-history",
    default="30d",
    show_default=True,
    help="How long feeds keep a session after its last sitting (e.g. 90d; 'all': for ever).",
)
@click.option(
    "--metrics-need-token",
    is_flag=True,
    help="/metrics answers only with an API token (a viewer token for Prometheus).",
)
@click.option("--smtp", default="", help="Mail invites through this relay (HOST:PORT).")
@click.option("--smtp-from", default="", help="Sender address of the invites (with --smtp).")
@click.option(
    "--smtp-security",
    type=click.Choice([s.value for s in SmtpSecurity]),
    default=SmtpSecurity.STARTTLS.value,
    show_default=True,
    help="STARTTLS before anything else, or plain SMTP (a local relay).",
)
@click.option(
    "--smtp-secrets",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File (mode 600) with 'username = …' and 'password = …' for the relay.",
)
@click.option(
    "--smtp-cafile",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CA certificates to trust for STARTTLS (default: the system's).",
)
def serve(
    rooms: Path | None,
    data_dir: Path | None,
    http: str,
    ssh: str,
    public_url: str,
    allowed_hosts: tuple[str, ...],
    feed_history: str,
    metrics_need_token: bool,
    smtp: str,
    smtp_from: str,
    smtp_security: str,
    smtp_secrets: Path | None,
    smtp_cafile: Path | None,
) -> None:
    """Run the scheduler: agent link (SSH), JSON API, feeds, /metrics (HTTP), mailed invites.

    \b
    Examples:
      confsched serve
      confsched serve --http 0.0.0.0:8080 --public-url https://lich.example.gov.vn
      confsched serve --http 10.0.0.5:8080 --allowed-host sched.tinh.vn
      confsched serve --smtp mail.example.gov.vn:587 --smtp-from lich@example.gov.vn \
        --smtp-secrets /etc/confsched/smtp.secrets
    """
    settings = build_settings(data_dir, rooms, http, ssh, public_url, allowed_hosts)
    settings = settings.with_(
        feed_history=history_window(feed_history), metrics_need_token=metrics_need_token
    )
    if smtp:
        security = SmtpSecurity(smtp_security)
        mail = smtp_settings(smtp, smtp_from, security, smtp_secrets, smtp_cafile)
        settings = settings.with_(smtp=mail)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # one line per channel otherwise

    def announce(components: Components) -> None:
        fleet = components.ctx.fleet
        click.echo(
            f"confsched: {len(fleet.endpoints)} endpoints of {fleet.name}; "
            f"http {settings.http_host}:{components.http_port} "
            f"(feeds and console at {components.http.public_url}) ; "
            f"agents ssh {settings.ssh_host}:{components.ssh_port}"
        )
        click.echo(f"operator token in {settings.data_dir / 'operator.token'}")

    run_until_signal(run_server(settings, ready=announce))


@click.command()
@data_option_saying(
    "The demo's own data directory (default ./confsched-demo, never $CONFSCHED_DATA); one "
    "holding a fleet the demo did not make is refused."
)
@click.option("--http", default=DEFAULT_HTTP, show_default=True, help="HTTP listen address.")
@click.option("--ssh", default=DEFAULT_SSH, show_default=True, help="SSH listen address (agents).")
@click.option("--headless", is_flag=True, help="No console: serve and simulate until Ctrl-C.")
@click.option(
    "--rooms",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Fleet file (default: the sample province); shipped examples work from anywhere.",
)
def demo(data_dir: Path | None, http: str, ssh: str, headless: bool, rooms: Path | None) -> None:
    """Serve the sample province (or --rooms FILE) with a simulated agent in every room, and
    open the console. Its data goes to ./confsched-demo (or --data DIR), never into a real
    scheduler's directory: one holding a fleet the demo did not make is refused, untouched.

    \b
    Examples:
      confsched demo
      confsched demo --headless
      confsched demo --rooms examples/thai-nguyen-2025.yaml
    """
    from confsched.demo import DEMO_DATA, demo_rooms, packaged_sample, run_demo

    chosen = demo_rooms(rooms) if rooms is not None else None
    settings = build_settings(data_dir or DEMO_DATA, chosen, http, ssh)
    if settings.rooms_file is None:
        settings = settings.with_(rooms_file=packaged_sample())
    run_demo(settings, headless=headless)
