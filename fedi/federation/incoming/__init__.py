"""Incoming activities: the handler registry, one handler per activity, and the receivers
that turn verified activities into domain calls."""
