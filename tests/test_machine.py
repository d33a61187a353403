"""What the machine lets varbind use: cores (CPU affinity) and memory (cgroups)."""

import os

import pytest

from varbind import machine


def test_usable_cores_follow_the_cpu_affinity(monkeypatch):
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    assert machine.usable_cores() == len(os.sched_getaffinity(0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3, 5, 7})  # e.g. a SLURM step
    assert machine.usable_cores() == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set())
    assert machine.usable_cores() == 1  # never 0


def test_available_memory_is_the_tightest_of_the_system_and_the_own_cgroups(tmp_path):
    gb = 1024**3
    proc, cgroups = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "self").mkdir(parents=True)
    (proc / "meminfo").write_text(f"MemTotal: {16 * gb // 1024} kB\n"
                                  f"MemAvailable: {8 * gb // 1024} kB\n")
    assert machine.available_memory(proc, cgroups) == 8 * gb  # no cgroup files
    (proc / "self" / "cgroup").write_text("0::/job_7/step_0\n")
    step, job = cgroups / "job_7" / "step_0", cgroups / "job_7"
    step.mkdir(parents=True)
    (step / "memory.max").write_text("max\n")
    (job / "memory.max").write_text(f"{4 * gb}\n")
    (job / "memory.current").write_text(f"{gb}\n")
    assert machine.available_memory(proc, cgroups) == 3 * gb  # the job's limit, one level up
    (proc / "meminfo").write_text("MemTotal: 1 kB\n")
    (proc / "self" / "cgroup").write_text("0::/\n")
    assert machine.available_memory(proc, cgroups) is None  # the root has no limit
    (cgroups / "memory.max").write_text(f"{2 * gb}\n")  # e.g. a container's own cgroup
    (cgroups / "memory.current").write_text(f"{gb // 2}\n")
    assert machine.available_memory(proc, cgroups) == 3 * gb // 2
    # cgroup v1 (e.g. SLURM on older nodes): the memory controller's own hierarchy
    (proc / "self" / "cgroup").write_text("5:cpuset:/\n4:memory:/slurm/job_9/step_0\n0::/\n")
    v1 = cgroups / "memory"
    (v1 / "slurm" / "job_9" / "step_0").mkdir(parents=True)
    (v1 / "slurm" / "job_9" / "step_0" / "memory.limit_in_bytes").write_text(f"{2**63 - 4096}\n")
    (v1 / "slurm" / "job_9" / "memory.limit_in_bytes").write_text(f"{gb}\n")
    (v1 / "slurm" / "job_9" / "memory.usage_in_bytes").write_text(f"{gb // 4}\n")
    assert machine.available_memory(proc, cgroups) == 3 * gb // 4  # tighter than v2's
