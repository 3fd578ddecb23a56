"""The HTTP layer: ActivityPub routes (``ap``) and web pages (``web``)."""
