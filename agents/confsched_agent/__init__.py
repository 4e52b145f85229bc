"""confsched-agent: the small daemon on each room's endpoint PC.

It probes the room and streams reports to the scheduler over SSH. It imports only the standard
library, asyncssh and ``confsched_agent.wire`` (it runs on small PCs; a test proves it).
"""
