"""The community server: web routes, services, inbound handlers, workers and the CLI."""

__version__ = "0.1.0"
