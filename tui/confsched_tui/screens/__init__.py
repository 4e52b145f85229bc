"""The console's screens: fleet, sessions, session detail, booking, endpoint detail, help."""
