"""What we know of other servers: remote actors fetched and kept up to date."""
