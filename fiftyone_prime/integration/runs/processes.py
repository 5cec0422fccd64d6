"""Process identity: who holds a lease or runs a slice, and whether it is gone.

A writer is recorded as ``host:pid``; on the same host a recorded process
that no longer exists is known to be gone. Used by the leases
(:mod:`fiftyone_prime.integration.runs.leases`) and the tagging workers
(:mod:`fiftyone_prime.integration.jobs`).
"""

from __future__ import annotations

import os
import socket
from typing import Optional


def worker_id() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _local_state(worker: Optional[str]) -> Optional[bool]:
    """Whether a worker recorded as ``host:pid`` of this machine is alive
    (``None``: another machine, or unknown)."""
    if not worker:
        return None
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    except (ValueError, OverflowError):
        return None
    return True


def dead_worker(worker: Optional[str]) -> Optional[str]:
    """Why a worker recorded as ``host:pid`` is known to be gone, or None."""
    if _local_state(worker) is False:
        host, _, pid = worker.rpartition(":")
        return f"worker process {pid} on {host} is gone"
    return None


def local_worker_alive(worker: Optional[str]) -> bool:
    """Whether a worker recorded as ``host:pid`` is a live process of this
    machine (alive even when it is paused)."""
    return _local_state(worker) is True
