"""The Mastodon client API (issue 14): what residents' favourite apps speak.

Every route here calls the same domain services as the web pages and the C2S outbox, with
the same permission checks; this package only translates between Mastodon's JSON and
those services. ``common`` holds the conventions every endpoint shares (bearer tokens and
scopes, JSON errors, ``Link`` pagination, CORS, timestamps), ``account_entity`` the
Account entity, ``oauth`` the OAuth 2 server, ``instance`` the instance documents and
the empty-but-valid lists, ``accounts`` the account endpoints.
"""
