"""What the township agent and the county server both speak: wire messages, vocabulary, codes, case rules.

Imports only the standard library and msgspec; `agent` and `server` import it, never each other.
"""

# 2: events name their case's heads (`parents`, `replaces`); the pull; conflicts; the township digest. Agents of
# protocol 1 keep pushing under the same prefix: what they send still decodes, and they ignore what they do not know.
PROTOCOL_VERSION = 2
API_PREFIX = "/api/v1"
