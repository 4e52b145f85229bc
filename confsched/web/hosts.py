"""The names the scheduler is served as: what the API answers to, and the URL it is known by.

DNS rebinding: a web page from ``evil.example`` whose name the attacker then points at
127.0.0.1 (or at the scheduler's address inside the network) makes the browser of someone
who can reach the scheduler send it requests, with ``Host: evil.example``. The API answers
only to the names it is served as, so such a request gets a 421 before anything else happens.
An address given as the Host is always accepted: a page whose origin is an address cannot be
re-pointed anywhere.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from confsched.config import Settings

WILDCARDS = frozenset({"", "0.0.0.0", "::"})
"""Listen addresses that mean "every address of this host"."""


LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


def machine_names() -> tuple[str, ...]:
    """This host's own names, the most qualified first (its fully qualified name, then its
    hostname), loopback names left out; looked up once, at start-up."""
    names: list[str] = []
    for found in (socket.getfqdn(), socket.gethostname()):
        name = found.lower().rstrip(".")
        if name and name not in names and name.partition(".")[0] not in LOOPBACK_NAMES:
            names.append(name)
    return tuple(names)


def served_names(settings: Settings, machine: Iterable[str]) -> frozenset[str]:
    """Every name the API answers to: the loopback names, this host's names, the bound name,
    the public URL's host and each ``--allowed-host``."""
    names = {"localhost", *machine, *settings.allowed_hosts}
    public = urlsplit(settings.public_url).hostname
    if public:
        names.add(public)
    if settings.http_host not in WILDCARDS:
        names.add(settings.http_host)
    return frozenset(ascii_name(name) for name in names)


def ascii_name(name: str) -> str:
    """A name as a ``Host`` header carries it: lower case, no final dot, an internationalised
    name in its ASCII form (``lịch.vn`` → ``xn--lch-…``). Raises UnicodeError for a name IDNA
    cannot spell."""
    text = name.strip().lower().rstrip(".")
    return text if text.isascii() else text.encode("idna").decode("ascii")


def host_name(header: str) -> str:
    """The name of a ``Host`` header, without its port or brackets, lower case:
    ``Lich.Example:8080`` → ``lich.example``, ``[::1]:8080`` → ``::1``."""
    text = header.strip().lower()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    if text.count(":") > 1:  # an IPv6 address without its brackets (and so without a port)
        return text
    name, sep, port = text.rpartition(":")
    return (name if sep and port.isdigit() else text).rstrip(".")


def answers_to(header: str | None, names: frozenset[str]) -> bool:
    """Whether a request with this ``Host`` header is meant for this scheduler. No header at
    all (HTTP/1.0 tools) is accepted: a browser always sends one."""
    if header is None:
        return True
    name = host_name(header)
    if name in names or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def misdirected(header: str) -> str:
    """The 421's message: what was refused, and how to serve a name that is really ours."""
    name = host_name(header)
    return (
        f"this scheduler is not served as {name!r} (the request's Host header), so it does not "
        f"answer it: a page using DNS rebinding sends such requests. If {name!r} is one of its "
        f"names, start it with 'confsched serve --allowed-host {name}'"
    )


def public_base_url(settings: Settings, port: int, machine: Iterable[str]) -> str:
    """The URL feed links start with: ``--public-url``, else the bound address, where a
    wildcard (``0.0.0.0``, ``::``) is replaced by this host's name (``machine``, the most
    qualified first), as other hosts must reach it: ``http://0.0.0.0:8080`` reaches nothing."""
    if settings.public_url:
        return settings.public_url
    host = settings.http_host
    if host in WILDCARDS:
        host = next(iter(machine), "localhost")
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def beyond_loopback(addresses: Iterable[str]) -> list[str]:
    """The bound addresses other hosts can reach (not 127.0.0.0/8 nor ::1)."""
    reachable = []
    for address in addresses:
        try:
            loopback = ipaddress.ip_address(address).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            reachable.append(address)
    return reachable


def clear_text_warning(settings: Settings, addresses: Iterable[str], port: int) -> str | None:
    """One line when HTTP is bound beyond loopback with no TLS in front: the tokens, feed URLs
    and every session would cross the network in clear. A ``--public-url`` in ``https://`` says
    a TLS proxy is in front."""
    reachable = beyond_loopback(addresses)
    if not reachable or settings.public_url.lower().startswith("https://"):
        return None
    where = ", ".join(f"[{a}]:{port}" if ":" in a else f"{a}:{port}" for a in reachable)
    return (
        f"HTTP on {where} is reachable from other hosts without TLS: API tokens, feed URLs "
        f"and sessions cross the network in clear; put a TLS proxy in front (deploy/nginx) "
        f"and give --public-url https://…, or listen on 127.0.0.1"
    )
