"""What a benchmark ran on: the CPU's model name and the cores this process may use."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu() -> str:
    """``"<model name>, <n> cores"``, from ``/proc/cpuinfo`` where there is one."""
    name = platform.processor() or platform.machine() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{name}, {cores} cores"
