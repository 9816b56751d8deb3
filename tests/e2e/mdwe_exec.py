"""Run a program with the kernel's memory-deny-write-execute on (prctl PR_SET_MDWE, Linux 6.3+), as systemd's
MemoryDenyWriteExecute=yes would: `python mdwe_exec.py PROGRAM ARGS...`. Exits 3 when the kernel lacks it."""

from __future__ import annotations

import ctypes
import os
import sys

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1

if __name__ == "__main__":
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        sys.stderr.write(f"PR_SET_MDWE not available: errno {ctypes.get_errno()}\n")
        sys.exit(3)
    os.execv(sys.argv[1], sys.argv[1:])
