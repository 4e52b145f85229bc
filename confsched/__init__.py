"""confsched: scheduler and monitor for a video-conference room fleet.

Kept import-free on purpose: the agent imports ``confsched_agent.wire`` and must not pull in the
scheduler's heavy dependencies through this package.
"""

__version__ = "0.1.0"
