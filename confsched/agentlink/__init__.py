"""The scheduler's SSH server for agents: key auth from the store, one session per agent."""
