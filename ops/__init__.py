"""What both programs need to RUN (not what they speak): logging, systemd notification and watchdog, SQLite online
backup and restore, Prometheus text, doctor checks and the offline install bundle.

Imports only the standard library and aiohttp; `agent` and `server` import it, never the other way round.
"""
