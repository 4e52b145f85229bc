"""The confsched console: a Textual application for the IT staff.

It talks to the scheduler only through the JSON API (``docs/api.md``), so it runs on an
operator's own machine. Nothing outside this package imports textual.
"""
