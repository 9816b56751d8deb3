"""What the township agent and the county server both speak: wire messages, vocabulary, codes, case rules.

Imports only the standard library and msgspec; `agent` and `server` import it, never each other.
"""

PROTOCOL_VERSION = 1
API_PREFIX = f"/api/v{PROTOCOL_VERSION}"
