"""Reusable console widgets; each carries its own DEFAULT_CSS, layout lives in console.tcss."""
