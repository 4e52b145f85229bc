"""Simulated devices at the machine's edge, for ``confsched demo``, ``confsched simulate``,
the tests and the benchmarks: never imported by the scheduler's own code paths."""
