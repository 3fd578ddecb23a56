"""Server-side ActivityPub: routes, actors, the inbox, publishing and the runtime they share."""
