"""Server-side ActivityPub: routes, actors, the inbox, publishing and the runtime they share.

Importing this package registers the subscribers that turn domain events into activities
(``fedi.federation.outgoing.*``); the app, the workers and the CLI import it.
"""

# Issue 12: notifications hung off the same domain events.
from fedi.domain import notify_social as _notify_social  # noqa: F401
from fedi.domain import notify_tribes as _notify_tribes  # noqa: F401
from fedi.domain import push as _push  # noqa: F401  (forgets a deleted account's browsers)
from fedi.federation.outgoing import follows as _follow_subscribers  # noqa: F401
from fedi.federation.outgoing import initiatives as _initiative_subscribers  # noqa: F401
from fedi.federation.outgoing import meetups as _meetup_subscribers  # noqa: F401
from fedi.federation.outgoing import moves as _move_subscribers  # noqa: F401
from fedi.federation.outgoing import notes as _note_subscribers  # noqa: F401
from fedi.federation.outgoing import people as _people_subscribers  # noqa: F401
from fedi.federation.outgoing import polls as _poll_subscribers  # noqa: F401
from fedi.federation.outgoing import reactions as _reaction_subscribers  # noqa: F401
from fedi.federation.outgoing import tribes as _tribe_subscribers  # noqa: F401
