"""ActivityPub over HTTP: actors, inboxes, outboxes, objects, collections and discovery."""
