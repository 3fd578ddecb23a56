"""Outgoing activities: domain events turned into activities and ``Delivery`` rows."""
