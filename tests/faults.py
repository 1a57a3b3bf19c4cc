"""Tasks that fail the way real files make workers fail (for the executor's fault tests). Top
level, so that worker processes can import them."""
from __future__ import annotations

import os
import signal

from foi_research.pipeline import _GUARD, FileLimits


def killed_at(item):
    """Item ('kill', n): the worker is killed with SIGKILL (as by the kernel's out-of-memory
    killer); any other item: doubled."""
    if isinstance(item, tuple) and item[0] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    return item * 2


def stuck_in_c(item):
    """Item 'stuck': a call inside C that never checks for signals (sum over a huge range), under
    a 0.3 s time limit with 0.5 s of grace; any other item: doubled."""
    if item == "stuck":
        token = _GUARD.start(FileLimits(max_seconds=0.3, grace_seconds=0.5))
        try:
            sum(range(10**13))
        finally:
            _GUARD.stop(token)
        return "finished"
    return item * 2
