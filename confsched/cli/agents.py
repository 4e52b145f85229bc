"""``confsched agents enroll|revoke|list`` and ``confsched simulate``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from confsched.cli.common import data_option, json_option, open_store, print_json, table
from confsched.config import DEFAULT_SSH, data_dir_from_env, split_host_port, write_private


@click.group()
def agents() -> None:
    """Agent keys: enrol an endpoint's agent, revoke it, list who is enrolled.

    \b
    Examples:
      confsched agents enroll dt-la-bang --out la-bang.conf
      confsched agents list --json
    """


@agents.command()
@click.argument("endpoint")
@click.option(
    "--scheduler",
    default=DEFAULT_SSH,
    show_default=True,
    help="The scheduler's SSH address as the agent must dial it.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the config here (and the key beside it) instead of printing it.",
)
@click.option(
    "--bundle",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write a folder to copy to the room PC: config, key (0600), pinned host key, systemd "
    "unit, install steps for Linux and Windows.",
)
@data_option
def enroll(
    endpoint: str, scheduler: str, out: Path | None, bundle: Path | None, data_dir: Path | None
) -> None:
    """Create ENDPOINT's key pair and print its agent configuration (host key pinned).

    The configuration names the room's home bridge and its conferencing client's process from
    the fleet file. A running scheduler accepts the new key at once; an older key of ENDPOINT
    stops working.

    \b
    Examples:
      confsched agents enroll dt-la-bang --scheduler sched.example:8022 --out la-bang.conf
      confsched agents enroll dt-la-bang --scheduler 10.0.0.1:8022 --bundle dt-la-bang/
    """
    from confsched_agent.config import render

    from confsched.agentlink.enrol import enroll as enroll_endpoint

    split_host_port(scheduler, "--scheduler")
    if out is not None and bundle is not None:
        raise click.UsageError("give --out or --bundle, not both")
    directory = data_dir_from_env(str(data_dir) if data_dir else None)
    db = open_store(data_dir)
    config = enroll_endpoint(db, directory, endpoint, scheduler, datetime.now(UTC))
    if bundle is not None:
        from confsched.agentlink.bundle import INSTALL_FILE, write_bundle

        files = write_bundle(config, bundle)
        click.echo(f"wrote {bundle}: {', '.join(f.name for f in files)}")
        click.echo(f"copy the folder to {endpoint}'s PC and follow {bundle / INSTALL_FILE}")
        return
    if out is None:
        click.echo(render(config), nl=False)
        return
    key_copy = out.parent / f"{endpoint}.key"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_private(key_copy, config.key.read_bytes())
    portable = replace(config, key=Path(key_copy.name), spool=Path("spool"))
    out.write_text(render(portable), encoding="utf-8")
    click.echo(f"wrote {out} and {key_copy} (copy both to the endpoint; keep the key private)")


@agents.command()
@click.argument("endpoint")
@data_option
def revoke(endpoint: str, data_dir: Path | None) -> None:
    """Cut ENDPOINT's agent off: a running scheduler closes its connection at once.

    \b
    Example:
      confsched agents revoke dt-la-bang
    """
    from confsched.services.health import revoke as revoke_endpoint

    db = open_store(data_dir)
    if revoke_endpoint(db, endpoint, datetime.now(UTC)):
        click.echo(f"{endpoint}: key revoked")
    else:
        click.echo(f"{endpoint}: had no active key")


@agents.command("list")
@data_option
@json_option
def list_(data_dir: Path | None, as_json: bool) -> None:
    """Every endpoint with an agent key, and whether it is still valid.

    \b
    Examples:
      confsched agents list
      confsched agents list --json
    """
    from confsched.store.health import list_keys

    keys = list_keys(open_store(data_dir))
    rows = [
        {
            "endpoint": k.endpoint,
            "status": "revoked" if k.revoked_at else "active",
            "enrolled_at": k.enrolled_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            "public_key": k.public_key,
        }
        for k in keys
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no agent enrolled: run 'confsched agents enroll ENDPOINT'")
        return
    lines = [[k.endpoint, "revoked" if k.revoked_at else "active", k.enrolled_at.isoformat()[:16]]
             for k in keys]  # fmt: skip
    click.echo(table(lines, ["ENDPOINT", "KEY", "ENROLLED (UTC)"]))


@click.command()
@click.option("--agents", "count", type=click.IntRange(1, 20000), required=True, help="How many.")
@click.option("--ssh", default=DEFAULT_SSH, show_default=True, help="The scheduler's SSH address.")
@click.option("--interval", type=click.FloatRange(1, 3600), default=None, help="Report seconds.")
@click.option(
    "--faults",
    type=click.FloatRange(0, 1),
    default=0.08,
    show_default=True,
    help="Share of rooms with a standing fault.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Which rooms misbehave.")
@click.option(
    "--codecs/--no-codecs",
    default=True,
    show_default=True,
    help="Serve simulated codecs (HTTPS) for the fleet's codec rooms, for the scheduler to poll.",
)
@data_option
def simulate(
    count: int,
    ssh: str,
    interval: float | None,
    faults: float,
    seed: int,
    codecs: bool,
    data_dir: Path | None,
) -> None:
    """Run COUNT simulated agents (real SSH, pretend rooms) against the scheduler of --data.

    Their keys are enrolled in the data directory; the first COUNT PC rooms of the fleet are
    simulated. With --codecs (the default) the codec rooms are pointed at simulated codecs
    and their credentials written to DATA/codec-secrets.toml; `confsched rooms import` of the
    real fleet file points them back. Stop with Ctrl-C.

    \b
    Example:
      confsched simulate --agents 192
    """
    import logging

    from confsched.cli.serve import run_until_signal
    from confsched.config import Settings
    from confsched.devsim.codec_fleet import DEMO_FAULTS
    from confsched.simulate import run_simulation

    host, port = split_host_port(ssh, "--ssh")
    settings = Settings(
        data_dir=data_dir_from_env(str(data_dir) if data_dir else None),
        ssh_host=host,
        ssh_port=port,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    logging.getLogger("confsched.agent").setLevel(logging.ERROR)
    click.echo(f"simulating {count} agents against {ssh}; Ctrl-C to stop")
    run_until_signal(
        run_simulation(
            settings,
            count,
            interval=interval,
            fault_rate=faults,
            seed=seed,
            codecs=DEMO_FAULTS if codecs else None,
        )
    )
