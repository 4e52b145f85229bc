"""Use cases: each takes a database (or the server context) and plain arguments."""
