"""What this console may do with its token: write (an operator's), or only read, and then how
to give it an operator's token (the words of ``confsched tui --help`` and the README)."""

from __future__ import annotations

import enum

from confsched_tui.api import ApiClient, ApiError, RouteMissing, Unreachable
from confsched_tui.i18n import N_, _

HOW = N_(
    "confsched tui --token TOKEN (or $CONFSCHED_TOKEN), with the operator token in "
    "DATA/operator.token or one made by 'confsched tokens create --name NAME'"
)


class Access(enum.Enum):
    OPERATOR = "operator"
    VIEWER = "viewer"
    NO_TOKEN = "no token"
    BAD_TOKEN = "bad token"
    UNKNOWN = "unknown"
    """Not known (yet): an older scheduler, or none reached so far; writes are tried."""

    @property
    def read_only(self) -> bool:
        return self in (Access.VIEWER, Access.NO_TOKEN, Access.BAD_TOKEN)

    def notes(self) -> tuple[str, ...]:
        """The status line's note, in full then short (none when the console may write)."""
        notes = {
            Access.VIEWER: _("read-only (viewer token)"),
            Access.NO_TOKEN: _("read-only (no token)"),
            Access.BAD_TOKEN: _("read-only (token not recognised)"),
        }
        return (notes[self], _("read-only")) if self in notes else ()

    def explain(self) -> str:
        """Why nothing can be booked, moved or cancelled, and how to change that."""
        why = {
            Access.VIEWER: _(
                "This console has a viewer token: it can read, not book, move or cancel."
            ),
            Access.NO_TOKEN: _(
                "This console has no token: the scheduler shows and changes nothing without one."
            ),
            Access.BAD_TOKEN: _(
                "The scheduler does not know this console's token (mistyped, "
                "or revoked with 'confsched tokens revoke')."
            ),
        }.get(self, "")
        return _("{why} To book, move or cancel, start it with an operator token: {how}.").format(
            why=why, how=_(HOW)
        )


async def access_from(api: ApiClient) -> Access | None:
    """Ask the scheduler (None when it cannot be reached: ask again later)."""
    if not api.token:
        return Access.NO_TOKEN
    try:
        role = await api.role()
    except RouteMissing:
        return Access.UNKNOWN
    except ApiError as exc:
        return Access.BAD_TOKEN if exc.status == 401 else Access.UNKNOWN
    except Unreachable:
        return None
    return Access.OPERATOR if role == "operator" else Access.VIEWER if role else Access.UNKNOWN
