"""``python -m confsched``: the same command as ``confsched``."""

from confsched.cli import main

main()
