"""HPC clusters for varbind through dask-jobqueue: SLURM and PBS.

A :class:`JobSpec` says what one batch job asks for (queue, cores, memory, walltime, GPUs,
account) and how the Dask workers inside it run. :func:`render_job_script` shows the job
script the scheduler will submit (``varbind workflow job-script``); :func:`make_cluster` starts
the cluster (``varbind workflow genome-wide --cluster slurm``).

Each job runs ``processes`` Dask worker processes; each worker scores one partition at a time
(the ``partition=1`` worker resource) with ``cores // processes`` threads for the model
(TensorFlow intra-op, BLAS, OpenMP), so a job's memory holds ``processes`` partitions.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from varbind.errors import VarbindError

CLUSTER_KINDS = ("slurm", "pbs")
#: Worker resource that lets each worker score one partition at a time.
PARTITION_RESOURCE = "partition"
#: Scheduler address written into a job script that is only shown, not submitted.
PLACEHOLDER_SCHEDULER = "tcp://SCHEDULER-ADDRESS:8786"


@dataclass
class JobSpec:
    """One batch job of the cluster.

    cluster : ``slurm`` or ``pbs``
    queue : partition (SLURM ``-p``) or queue (PBS ``-q``)
    cores : CPU cores per job
    memory : memory per job (``32GB``, ``64GiB``)
    walltime : ``HH:MM:SS``
    gpus : GPUs per job (SLURM ``--gres=gpu:N``, PBS ``select=...:ngpus=N``)
    account : project to charge (``-A``)
    processes : Dask worker processes per job (default: one per GPU with GPUs, each seeing
        only its own GPU, else one per core); each gets ``cores // processes`` model threads
    jobs : jobs to start (``--jobs``); workers of finished jobs are not replaced
    prologue : shell lines run before the worker starts (``module load ...``, ``source
        venv/bin/activate``)
    job_extra : extra scheduler directives, verbatim (``--constraint=avx2``, ``-l place=scatter``)
    local_directory : worker scratch space (spilled data), e.g. ``$TMPDIR``
    log_directory : where the batch system writes the jobs' stdout/stderr
    interface : network interface the workers and scheduler talk over (``ib0``)
    python : Python executable on the compute nodes (default: this one)
    """

    cluster: str
    queue: str | None = None
    cores: int = 8
    memory: str = "32GB"
    walltime: str = "04:00:00"
    gpus: int = 0
    account: str | None = None
    processes: int | None = None
    jobs: int = 1
    prologue: list[str] = field(default_factory=list)
    job_extra: list[str] = field(default_factory=list)
    local_directory: str | None = None
    log_directory: str | None = None
    interface: str | None = None
    python: str | None = None
    job_name: str = "varbind"

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """One-line errors for values the batch system would reject later, far from here."""
        if self.cluster not in CLUSTER_KINDS:
            raise VarbindError(f"--cluster {self.cluster!r} is not a batch system varbind knows",
                               fix="use slurm or pbs (or local)")
        for name in ("cores", "jobs"):
            if getattr(self, name) < 1:
                raise VarbindError(f"--{name} must be at least 1, got {getattr(self, name)}",
                                   fix=f"pass --{name} N with N >= 1")
        if self.gpus < 0:
            raise VarbindError(f"--gpus must be 0 or more, got {self.gpus}", fix="pass --gpus N")
        if self.processes is not None and not 1 <= self.processes <= self.cores:
            raise VarbindError(f"--processes must be between 1 and --cores ({self.cores}), "
                               f"got {self.processes}", fix="lower --processes or raise --cores")
        if not re.fullmatch(r"(\d+-)?\d{1,3}(:\d{2}){0,2}", self.walltime):
            raise VarbindError(f"--walltime {self.walltime!r} not understood",
                               fix="write HH:MM:SS, e.g. 04:00:00")
        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*[kKmMgGtT]i?[bB]?\s*", self.memory):
            raise VarbindError(f"--memory {self.memory!r} not understood",
                               fix="write e.g. 32GB or 64GiB")

    @property
    def worker_processes(self) -> int:
        if self.processes is not None:
            return self.processes
        return max(1, min(self.gpus, self.cores)) if self.gpus else self.cores

    @property
    def threads_per_worker(self) -> int:
        return max(1, self.cores // self.worker_processes)

    @property
    def total_workers(self) -> int:
        return self.jobs * self.worker_processes


def _memory_for_slurm(memory: str) -> str:
    """SLURM's ``--mem``: a whole number with K/M/G/T, in the unit the user wrote (64GB -> 64G)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)", memory.replace("iB", "")
                         .replace("ib", "").rstrip("bB"))
    number, unit = float(match[1]), (match[2] or "M").upper()
    if number != int(number):  # 1.5G -> 1536M
        scale = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}[unit]
        return f"{int(number * scale)}M"
    return f"{int(number)}{unit}"


def _memory_for_pbs(memory: str) -> str:
    """PBS wants ``32gb`` / ``30000mb``: whole numbers with a lower-case unit."""
    from dask.utils import parse_bytes

    mb = parse_bytes(memory.replace(" ", "")) // 10**6
    return f"{mb // 1000}gb" if mb % 1000 == 0 else f"{mb}mb"


def cluster_kwargs(spec: JobSpec, scheduler_options: dict | None = None) -> dict:
    """Keyword arguments for ``SLURMCluster`` / ``PBSCluster`` (and their job classes)."""
    from varbind.parallel.cluster import thread_environment

    threads = spec.threads_per_worker
    exports = [f"export {k}={v}" for k, v in thread_environment(threads).items()]
    directives = list(spec.job_extra)
    kwargs: dict = dict(
        queue=spec.queue, account=spec.account, cores=spec.cores, memory=spec.memory,
        walltime=spec.walltime, processes=spec.worker_processes,
        job_name=spec.job_name,
        job_script_prologue=exports + list(spec.prologue),
        worker_extra_args=["--resources", f"{PARTITION_RESOURCE}=1"],
        local_directory=spec.local_directory, log_directory=spec.log_directory,
        interface=spec.interface,
    )
    if spec.python:
        kwargs["python"] = spec.python
    if spec.cluster == "slurm":
        kwargs["job_mem"] = _memory_for_slurm(spec.memory)
        if spec.gpus:
            directives.append(f"--gres=gpu:{spec.gpus}")
    else:
        select = f"select=1:ncpus={spec.cores}:mem={_memory_for_pbs(spec.memory)}"
        if spec.gpus:
            select += f":ngpus={spec.gpus}"
        kwargs["resource_spec"] = select
    kwargs["job_extra_directives"] = directives
    if scheduler_options:
        kwargs["scheduler_options"] = scheduler_options
    return {k: v for k, v in kwargs.items() if v is not None}


def _classes(kind: str):
    from dask_jobqueue import PBSCluster, SLURMCluster
    from dask_jobqueue.pbs import PBSJob
    from dask_jobqueue.slurm import SLURMJob

    return {"slurm": (SLURMCluster, SLURMJob), "pbs": (PBSCluster, PBSJob)}[kind]


def render_job_script(spec: JobSpec, scheduler: str = PLACEHOLDER_SCHEDULER) -> str:
    """The batch script of one worker job, as dask-jobqueue will submit it.

    Parameters
    ----------
    spec : the job
    scheduler : the scheduler address written into the script (a placeholder by default;
        :func:`make_cluster` fills in the real one)
    """
    _, job_cls = _classes(spec.cluster)
    kwargs = cluster_kwargs(spec)
    kwargs.pop("interface", None)  # resolving an interface needs it to exist on this host
    job = job_cls(scheduler=scheduler, name=f"{spec.job_name}-worker", **kwargs)
    return job.job_script()


def make_cluster(spec: JobSpec, scheduler_options: dict | None = None):
    """Start a dask-jobqueue cluster for ``spec`` and ask for ``spec.jobs`` jobs.

    The scheduler runs in this process (on the login node or inside a small driver job);
    the batch system starts the workers as their jobs begin.
    """
    cluster_cls, _ = _classes(spec.cluster)
    try:
        cluster = cluster_cls(**cluster_kwargs(spec, scheduler_options))
    except (OSError, ValueError) as exc:
        raise VarbindError(f"cannot start the {spec.cluster} cluster ({exc})",
                           fix="check --interface and that this host can submit jobs") from None
    cluster.scale(jobs=spec.jobs)
    return cluster


def render_driver_script(spec: JobSpec, command: list[str], cores: int = 2,
                         memory: str = "8GB") -> str:
    """A batch script that runs the varbind driver (scheduler, partition plan, merge) as a
    job of its own, for sites that forbid long processes on login nodes. It asks for the same
    queue, account and walltime as the workers, no GPU."""
    lines = ["#!/usr/bin/env bash", ""]
    name = f"{spec.job_name}-driver"
    if spec.cluster == "slurm":
        lines += [f"#SBATCH -J {name}", "#SBATCH -n 1", f"#SBATCH --cpus-per-task={cores}",
                  f"#SBATCH --mem={memory}", f"#SBATCH -t {spec.walltime}"]
        lines += [f"#SBATCH -p {spec.queue}"] if spec.queue else []
        lines += [f"#SBATCH -A {spec.account}"] if spec.account else []
    else:
        lines += [f"#PBS -N {name}",
                  f"#PBS -l select=1:ncpus={cores}:mem={_memory_for_pbs(memory)}",
                  f"#PBS -l walltime={spec.walltime}"]
        lines += [f"#PBS -q {spec.queue}"] if spec.queue else []
        lines += [f"#PBS -A {spec.account}"] if spec.account else []
        lines += ["", 'cd "${PBS_O_WORKDIR:-.}"']
    lines += [""] + list(spec.prologue) + [shlex.join(command), ""]
    return "\n".join(lines)
