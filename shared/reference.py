"""The mark that reference data ingest relies on has changed.

Ingest keeps the tokens and sessions it has looked up in memory (see
`services.ingest.cache`). Whatever changes what it may accept, a session opening or
closing, a token revoked, sets this key to a new random value after the SQL commit; ingest
reads the key before using its memory and forgets everything when the value moved. So a
close or a revocation takes effect for the next request, as when ingest read SQL on every
request, without a SQL round trip per request.
"""

import secrets

from shared.runtime import SyncRedis

CHANGED_KEY = "expo:{reference}:changed"


def mark_changed(redis: SyncRedis) -> None:
    """Call after committing a change to a session's status or to a token."""
    redis.set(CHANGED_KEY, secrets.token_hex(8))
