"""The county's key file (`[privacy] key_file`): made once with mode 0600, read at start, rewritten on rotation.

The file lives outside the database so that a copy of the database or of its backups holds only ciphertext; whoever
has both has everything, so the file is kept off the backup volume and backed up on its own (docs/operations.md).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from server.errors import ConfigError
from server.model.sealing import Keyring

log = logging.getLogger(__name__)


def create(path: Path) -> Keyring:
    """A new keyring written to `path` (which must not exist), readable by this user only."""
    keys = Keyring.new()
    _write(path, keys, exclusive=True)
    log.info("key file created path=%s key_id=%s", path, keys.current.key_id)
    return keys


def load(path: Path) -> Keyring:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the key file ({e.strerror}); make one with "
                          "`county-server keys init`") from None
    if path.stat().st_mode & 0o077:
        log.warning("key file readable by others path=%s mode=%o: chmod 600 it", path, path.stat().st_mode & 0o777)
    try:
        return Keyring.from_json(raw)
    except ValueError as e:
        raise ConfigError(f"{path}: not a key file of county-server ({e})") from None


def load_or_create(path: Path) -> Keyring:
    """At start: the key file, made first when there is none (a new installation)."""
    if not path.exists():
        log.warning("no key file: making one path=%s (keep it apart from the database's backups)", path)
        try:
            return create(path)
        except FileExistsError:  # another process of the server made it meanwhile
            pass
    return load(path)


def save(path: Path, keys: Keyring) -> None:
    """Replace the key file atomically (rotation): the old file stays whole until the new one is complete."""
    _write(path, keys, exclusive=False)


def _write(path: Path, keys: Keyring, *, exclusive: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path if exclusive else path.with_name(path.name + ".new")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(keys.to_json())
        f.flush()
        os.fsync(f.fileno())
    if not exclusive:
        os.replace(target, path)
