"""Our rows as ActivityStreams documents: actors, groups, initiatives and their parts."""
