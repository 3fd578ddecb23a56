"""The domain: the rules of accounts, people, social features, tribes and initiatives.

Nothing here knows ActivityStreams or does network I/O: services change the database and
emit domain events (``fedi.domain.events``) that the federation layer turns into activities."""
