"""Prometheus metrics of the scheduler: what ``/metrics`` exports and how it renders fast.

- ``sources``: the typed snapshot sources a scrape reads (health board, booking snapshot).
- ``families``: every exported family, built the plain prometheus-client way (the reference).
- ``render`` and ``exporter``: the incremental renderer the HTTP route uses, byte-identical to
  prometheus-client's output for the same families.
- ``booking``: the booking snapshot, read from the store off the event loop.

The running scheduler as a source is ``confsched.runtime.metrics``; the HTTP route is
``confsched.web.metrics``; the Grafana dashboard and Prometheus rules are in
``deploy/``.
"""
