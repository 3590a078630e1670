"""Web: the browser front of dissensus (``dissensus serve``), a thin layer over the library.

Owns HTTP: routes, server-rendered pages (Jinja2 templates, plain forms, charts drawn on the
server with matplotlib), logins with roles (``viewer``, ``reviewer``, ``admin``; passwords hashed
with argon2), sessions and CSRF tokens. It holds no business rules: every change goes through
:class:`~dissensus.knowledge.Governance` or :class:`~dissensus.review.ReviewQueue` with the
logged-in user as the actor, and what a state or a transition means is decided there. Uses
``knowledge``, ``review``, ``pipeline`` (run summaries only), ``llm`` (a model pool for the
memory manager), ``storage``, ``config`` and ``errors``; nothing in the library imports it.
"""

from dissensus.web.app import WebDeps, create_app
from dissensus.web.users import ROLES, Role, User, UserStore

__all__ = ["ROLES", "Role", "User", "UserStore", "WebDeps", "create_app"]
