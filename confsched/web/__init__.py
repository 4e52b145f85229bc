"""The HTTP side: JSON API, calendar feeds, metrics (aiohttp)."""
