"""The server-rendered web interface: blueprints, sessions, CSRF, translations."""
