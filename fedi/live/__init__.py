"""Live updates: committed changes told to watching web pages (server-sent events) and apps
(the Mastodon streaming API), in this process and, on PostgreSQL, across processes."""
