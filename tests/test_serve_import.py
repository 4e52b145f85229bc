"""``serve --rooms FILE`` at every start: a file the store holds already is not parsed and
compared again (10,000 rooms cost seconds, issue 17); any other file, or the same file after
another was imported, is imported as ``rooms import`` would."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils

from confsched.errors import FleetInvalid
from confsched.services.inventory import import_fleet, import_unless_imported, require_fleet
from tests.conftest import SAMPLE


def test_the_file_imported_last_is_not_imported_again_and_any_other_is(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    assert import_unless_imported(db, SAMPLE) is False  # the fixture imported it
    renamed = tmp_path / "renamed.yaml"
    original = require_fleet(db).name
    renamed.write_text(
        SAMPLE.read_text(encoding="utf-8").replace(original, "Tỉnh Mới", 1), encoding="utf-8"
    )
    assert import_unless_imported(db, renamed) is True
    assert require_fleet(db).name == "Tỉnh Mới"
    assert import_unless_imported(db, renamed) is False
    import_fleet(db, SAMPLE)  # as 'confsched rooms import' does meanwhile
    assert import_unless_imported(db, renamed) is True
    assert require_fleet(db).name == "Tỉnh Mới"


def test_a_missing_file_is_refused_as_the_import_refuses_it(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    with pytest.raises(FleetInvalid, match=r"gone\.yaml:0: no such file"):
        import_unless_imported(db, tmp_path / "gone.yaml")
