"""Helper apps and scraping utilities for the instrumentation tests (no tests here)."""
