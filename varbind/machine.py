"""What this machine lets a process use: its cores and its free memory.

Shared by the Dask clusters of scoring (:mod:`varbind.parallel.cluster`) and the worker
processes of per-RBP training (``training/members.py``); cheap to import (no numerical
libraries).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a batch job's allocation)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


#: Where each cgroup version keeps a memory limit: (the hierarchy's folder under the cgroup
#: mount, the limit file, the usage file). v1 marks "no limit" with a huge number.
CGROUP_V2 = ("", "memory.max", "memory.current")
CGROUP_V1 = ("memory", "memory.limit_in_bytes", "memory.usage_in_bytes")
NO_V1_LIMIT = 2**60


def available_memory(proc: Path = Path("/proc"),
                     cgroups: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Bytes of memory this process can still use: the system's available memory, or less
    under a cgroup memory limit (v2, or v1's memory controller) on this process's cgroup or
    one above it, such as a batch job's; None where neither can be read."""
    found = []
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open(proc / "meminfo") as f:
            line = next(x for x in f if x.startswith("MemAvailable:"))
        found.append(int(line.split()[1]) * 1024)
    for (folder, limit_file, usage_file), path in own_cgroups(proc):
        root = cgroups / folder
        group = root / path
        for level in (group, *group.parents):
            with contextlib.suppress(OSError, ValueError):
                limit = (level / limit_file).read_text().strip()
                if limit != "max" and int(limit) < NO_V1_LIMIT:
                    used = int((level / usage_file).read_text())
                    found.append(max(0, int(limit) - used))
            if level == root:
                break
    return min(found) if found else None


def own_cgroups(proc: Path = Path("/proc")) -> list[tuple[tuple[str, str, str], str]]:
    """This process's memory cgroups from ``/proc/self/cgroup``: ``(CGROUP_V2 or CGROUP_V1,
    path relative to that hierarchy's root)``, for the v2 line and v1's memory controller."""
    out = []
    with contextlib.suppress(OSError):
        for line in (proc / "self" / "cgroup").read_text().splitlines():
            number, controllers, path = (line.split(":", 2) + ["", ""])[:3]
            path = path.strip().lstrip("/")
            if number == "0" and not controllers:
                out.append((CGROUP_V2, path))
            elif "memory" in controllers.split(","):
                out.append((CGROUP_V1, path))
    return out
