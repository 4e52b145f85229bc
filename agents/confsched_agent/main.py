"""``confsched-agent``: run the agent on an endpoint PC until SIGTERM.

    confsched-agent --config /etc/confsched-agent.toml
    confsched-agent --endpoint tn-pc-01 --scheduler 10.0.0.1:8022 --key tn-pc-01.key \\
        --host-key 'ssh-ed25519 AAAA…' --spool /var/lib/confsched-agent

Imports only the standard library, asyncssh, psutil (through the probes) and its own package.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import asyncssh

from confsched_agent.agent import Agent
from confsched_agent.config import AgentConfig, ConfigError, load
from confsched_agent.link import Link
from confsched_agent.probes.defaults import build
from confsched_agent.spool import DiskSpool

log = logging.getLogger("confsched.agent")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="confsched-agent",
        description="Check this room's endpoint and stream health reports to the confsched "
        "scheduler over SSH.",
    )
    p.add_argument("--config", type=Path, help="TOML file written by 'confsched agents enroll'")
    p.add_argument("--endpoint", help="this endpoint's id (the SSH user name)")
    p.add_argument("--scheduler", help="scheduler SSH address HOST:PORT")
    p.add_argument("--key", help="this endpoint's private key file")
    p.add_argument("--host-key", dest="host_key", help="the scheduler's pinned public host key")
    p.add_argument("--interval", type=float, help="seconds between reports")
    p.add_argument("--spool", help="directory for reports not yet acknowledged")
    p.add_argument("--bridge", help="HOST:PORT of the bridge to measure the network to")
    p.add_argument("--client-process", dest="client_process", help="conferencing client's name")
    p.add_argument("-v", "--verbose", action="store_true", help="also log SSH protocol events")
    return p.parse_args(argv)


def config_from(args: argparse.Namespace) -> AgentConfig:
    keys = ("endpoint", "scheduler", "key", "host_key", "interval", "spool", "bridge")
    overrides = {k: getattr(args, k) for k in (*keys, "client_process")}
    return load(args.config, overrides)


async def run(config: AgentConfig) -> int:
    """Probe, spool and deliver until SIGTERM or SIGINT (exit 0), or until a part of the agent
    fails in a way it cannot recover from (exit 1, so its service manager restarts it)."""
    spool = DiskSpool(config.spool, config.spool_max)
    agent = Agent(config.endpoint, build(config), spool, config.interval)
    key = asyncssh.read_private_key(config.key)
    link = Link(
        config.endpoint, config.scheduler_address, key, config.host_key, spool, agent.handle
    )
    agent.on_report = link.wake
    link.on_reconnected = agent.report_now
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    on_signals(loop, stop.set)
    tasks = [
        asyncio.create_task(agent.run(), name="reports"),
        asyncio.create_task(link.run(), name="link"),
    ]
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
    code = 0
    for task in done:
        if task is not stopping:
            code = 1
            error = task.exception() if not task.cancelled() else None
            log.critical("%s: %s stopped: %r; exiting", config.endpoint, task.get_name(), error)
    log.info("%s: stopping (%d reports spooled)", config.endpoint, len(spool))
    stopping.cancel()
    tasks[0].cancel()
    link.stop()
    await asyncio.gather(*tasks, stopping, return_exceptions=True)
    return code


def on_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """SIGTERM or SIGINT stops the agent. Windows' event loop has no signal handlers; there a
    service manager (NSSM) stops a console program with Ctrl+C (SIGINT, or SIGBREAK)."""
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, callback)
    except NotImplementedError:
        for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), lambda *_: loop.call_soon_threadsafe(callback))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(  # connects and disconnects (with the reason) show by default
        level=logging.INFO, format="%(asctime)s confsched-agent %(levelname)s %(message)s"
    )
    logging.getLogger("asyncssh").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        config = config_from(args)
        code = asyncio.run(run(config))
    except ConfigError as exc:
        print(f"confsched-agent: {exc}", file=sys.stderr)
        return 2
    except (OSError, asyncssh.KeyImportError) as exc:
        print(f"confsched-agent: cannot read the key: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
