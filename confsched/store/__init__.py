"""The SQLite store: the only package that writes SQL. All times are stored as UTC ISO 8601."""
