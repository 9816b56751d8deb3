"""What both programs need to RUN (not what they speak): the configuration loader, logging, systemd notification and
watchdog, SQLite online backup and restore, Prometheus metrics, doctor checks and the offline install bundle.

Imports only the standard library and the libraries both programs run on (aiohttp, click, prometheus-client);
`agent` and `server` import it, never the other way round (tests/test_imports.py).
"""
