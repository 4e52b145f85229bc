"""The booking engine's core stays pure: its domain modules load nothing beyond the stdlib."""

from __future__ import annotations

from tests.test_layering import HEAVY, loaded_after_import


def test_booking_domain_imports_only_the_standard_library() -> None:
    loaded = loaded_after_import(
        "confsched.domain.booking, confsched.domain.conflicts, confsched.domain.ports, "
        "confsched.domain.recurrence, confsched.domain.slots"
    )
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_booking_cli_does_not_load_the_server_stack() -> None:
    loaded = loaded_after_import("confsched.cli.booking")
    assert not {m for m in loaded if m.split(".")[0] in ("textual", "asyncssh", "aiohttp")}
