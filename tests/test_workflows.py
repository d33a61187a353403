"""Tests for workflows/: dask-jobqueue job scripts (SLURM, PBS), the genome-wide workflow on a
LocalCluster, and the de novo case/control statistics, report, plot and CLI."""

from __future__ import annotations

import functools
import gzip
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_parallel import ToyOptions, body_and_header, toy_score, write_toy_vcf

from varbind.cli import main
from varbind.errors import VarbindError
from varbind.workflows import denovo, jobqueue
from varbind.workflows.genome_wide import GenomeWideRun, run_genome_wide
from varbind.workflows.jobqueue import JobSpec

# ----------------------------------------------------------------------------- job scripts


def test_slurm_job_script_has_the_requested_resources():
    spec = JobSpec("slurm", queue="gpu", cores=8, memory="64GB", walltime="12:00:00", gpus=2,
                   account="proj42", prologue=["module load cuda/12"],
                   job_extra=["--constraint=a100"])
    script = jobqueue.render_job_script(spec)
    lines = script.splitlines()
    for directive in ("#SBATCH -p gpu", "#SBATCH -A proj42", "#SBATCH --cpus-per-task=8",
                      "#SBATCH --mem=64G", "#SBATCH -t 12:00:00", "#SBATCH --gres=gpu:2",
                      "#SBATCH --constraint=a100"):
        assert directive in lines, directive
    # one worker per GPU, each with cores // processes model threads, one partition at a time
    assert "export TF_NUM_INTRAOP_THREADS=4" in lines
    assert "module load cuda/12" in lines
    worker = next(ln for ln in lines if "distributed.cli.dask_worker" in ln)
    assert jobqueue.PLACEHOLDER_SCHEDULER in worker
    for arg in ("--nthreads 4", "--nworkers 2", "--resources partition=1"):
        assert arg in worker, arg
    assert lines.index("module load cuda/12") < lines.index(worker)


def test_pbs_job_script_has_the_requested_resources():
    spec = JobSpec("pbs", queue="workq", cores=16, memory="96GB", walltime="02:30:00", gpus=1,
                   account="proj7")
    lines = jobqueue.render_job_script(spec).splitlines()
    for directive in ("#PBS -q workq", "#PBS -A proj7",
                      "#PBS -l select=1:ncpus=16:mem=96gb:ngpus=1",
                      "#PBS -l walltime=02:30:00"):
        assert directive in lines, directive
    worker = next(ln for ln in lines if "distributed.cli.dask_worker" in ln)
    assert "--nthreads 16" in worker and "--nworkers" not in worker


def test_cpu_jobs_run_one_single_threaded_worker_per_core():
    spec = JobSpec("slurm", cores=4, memory="16GB")
    assert (spec.worker_processes, spec.threads_per_worker, spec.total_workers) == (4, 1, 4)
    script = jobqueue.render_job_script(spec)
    assert "--gres" not in script and "export OMP_NUM_THREADS=1" in script
    assert JobSpec("pbs", cores=8, processes=2, jobs=3).total_workers == 6


@pytest.mark.parametrize("kwargs, message", [
    ({"cluster": "lsf"}, "--cluster 'lsf' is not a batch system"),
    ({"cluster": "slurm", "cores": 0}, "--cores must be at least 1"),
    ({"cluster": "slurm", "walltime": "2 hours"}, "--walltime '2 hours' not understood"),
    ({"cluster": "slurm", "memory": "lots"}, "--memory 'lots' not understood"),
    ({"cluster": "pbs", "cores": 4, "processes": 8}, "--processes must be between 1 and"),
    ({"cluster": "pbs", "gpus": -1}, "--gpus must be 0 or more"),
])
def test_job_spec_errors(kwargs, message):
    with pytest.raises(VarbindError, match=message):
        JobSpec(**kwargs)


def test_memory_units_for_each_batch_system():
    assert jobqueue._memory_for_slurm("64GB") == "64G"
    assert jobqueue._memory_for_slurm("1.5G") == "1536M"
    assert jobqueue._memory_for_pbs("64GB") == "64gb"
    assert jobqueue._memory_for_pbs("500MB") == "500mb"


def test_driver_script_runs_the_workflow_as_a_job():
    spec = JobSpec("slurm", queue="long", account="p1", walltime="24:00:00")
    script = jobqueue.render_driver_script(
        spec, ["varbind", "workflow", "genome-wide", "in put.vcf.gz", "--cluster", "slurm"])
    lines = script.splitlines()
    assert "#SBATCH -p long" in lines and "#SBATCH -t 24:00:00" in lines
    assert "--gres" not in script
    assert lines[-1] == "varbind workflow genome-wide 'in put.vcf.gz' --cluster slurm"


def test_cli_job_script_prints_slurm_and_pbs(capsys):
    assert main(["workflow", "job-script", "--cluster", "slurm", "--queue", "gpu", "--cores",
                 "8", "--memory", "32GB", "--walltime", "06:00:00", "--gpus", "1"]) == 0
    out = capsys.readouterr().out
    assert "#SBATCH --gres=gpu:1" in out and "#SBATCH -t 06:00:00" in out
    assert "#SBATCH --mem=32G" in out and "#SBATCH --cpus-per-task=8" in out
    assert main(["workflow", "job-script", "--cluster", "pbs", "--queue", "q", "--cores", "4",
                 "--memory", "8GB", "--walltime", "01:00:00", "--driver", "in.vcf.gz", "-o",
                 "out.vcf.gz"]) == 0
    out = capsys.readouterr().out
    assert "#PBS -q q" in out
    assert out.strip().splitlines()[-1] == (
        "varbind workflow genome-wide in.vcf.gz -o out.vcf.gz --cluster pbs --queue q "
        "--cores 4 --memory 8GB --walltime 01:00:00 --gpus 0 --jobs 1")


def test_only_workflows_that_run_models_load_tensorflow_up_front():
    from varbind.cli import build_parser, runs_models

    parse = build_parser().parse_args
    assert not runs_models(parse(["workflow", "job-script", "--cluster", "slurm"]))
    assert not runs_models(parse(["workflow", "denovo", "--cases", "c.tsv", "--controls",
                                  "k.tsv"]))
    assert runs_models(parse(["workflow", "genome-wide", "in.vcf.gz", "-o", "o.vcf.gz"]))
    assert runs_models(parse(["score", "in.vcf.gz", "-o", "o.vcf.gz"]))
    # on Dask the workers run the models, not the driver
    assert not runs_models(parse(["score", "in.vcf.gz", "-o", "o.vcf.gz", "--dask", "local:2"]))
    assert not runs_models(parse(["simulate", "world"]))


def test_cli_job_script_bad_walltime_is_one_line(capsys):
    assert main(["workflow", "job-script", "--cluster", "slurm", "--walltime", "soon"]) == 2
    err = capsys.readouterr().err
    assert "--walltime 'soon' not understood" in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- genome-wide


@pytest.fixture(scope="module")
def job_like_client():
    """A LocalCluster shaped like dask-jobqueue workers: 2 threads and ``partition=1``."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                           resources={jobqueue.PARTITION_RESOURCE: 1}, dashboard_address=":0",
                           memory_limit=0)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def timed_score(log_dir: Path, options: ToyOptions) -> dict:
    """The toy scorer, logging (pid, start, end) of each partition it runs."""
    started = time.time()
    time.sleep(0.2)
    result = toy_score(options)
    (log_dir / options.region.replace(":", "_")).write_text(
        f"{os.getpid()} {started} {time.time()}")
    return result


def test_genome_wide_workflow_on_job_shaped_workers(tmp_path, job_like_client):
    (tmp_path / "in").mkdir()
    vcf = write_toy_vcf(tmp_path / "in" / "toy.vcf.gz")
    single = ToyOptions(vcf=vcf, output=tmp_path / "single.vcf.gz", table=tmp_path / "s.tsv")
    toy_score(single)
    options = ToyOptions(vcf=vcf, output=tmp_path / "gw.vcf.gz", table=tmp_path / "gw.tsv")
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    result = run_genome_wide(options, GenomeWideRun(partition_size=10_000),
                             client=job_like_client,
                             task_resources={jobqueue.PARTITION_RESOURCE: 1},
                             score_fn=functools.partial(timed_score, log_dir), progress=False)
    assert result.partitions == 9
    assert body_and_header(single.output)[0] == body_and_header(options.output)[0]
    assert body_and_header(single.table)[0] == body_and_header(options.table)[0]
    # two threads per worker, but the partition resource runs one partition at a time each
    spans: dict[str, list[tuple[float, float]]] = {}
    for f in log_dir.iterdir():
        pid, start, end = f.read_text().split()
        spans.setdefault(pid, []).append((float(start), float(end)))
    assert len(spans) == 2
    for runs in spans.values():
        runs.sort()
        assert all(a[1] <= b[0] for a, b in zip(runs, runs[1:], strict=False))


FAKE_SBATCH = """#!/usr/bin/env bash
# A stand-in for sbatch: keep the job script, run it in its own process group, print the id.
job="$FAKE_SLURM/job-$(date +%s%N).sh"
cp "$1" "$job"  # dask-jobqueue deletes "$1" as soon as sbatch returns
setsid bash "$job" > "$job.log" 2>&1 < /dev/null &
echo "Submitted batch job $!"
"""
FAKE_SCANCEL = """#!/usr/bin/env bash
echo "$1" >> "$FAKE_SLURM/cancelled"
kill -TERM -- "-$1" 2> /dev/null || true
"""


def test_genome_wide_on_slurm_submits_jobs_whose_workers_score(tmp_path, monkeypatch):
    """The SLURM path end to end: dask-jobqueue renders and submits the job script (to a
    stand-in sbatch that runs it here), its workers join, score, and the job is cancelled."""
    bin_dir, jobs = tmp_path / "bin", tmp_path / "slurm"
    bin_dir.mkdir()
    jobs.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("scancel", FAKE_SCANCEL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM", str(jobs))
    (tmp_path / "in").mkdir()
    vcf = write_toy_vcf(tmp_path / "in" / "toy.vcf.gz")
    single = ToyOptions(vcf=vcf, output=tmp_path / "single.vcf.gz", table=tmp_path / "s.tsv")
    toy_score(single)
    options = ToyOptions(vcf=vcf, output=tmp_path / "gw.vcf.gz", table=tmp_path / "gw.tsv")
    tests_dir = Path(__file__).resolve().parent
    spec = JobSpec("slurm", queue="short", cores=2, memory="2GB", walltime="00:10:00",
                   account="proj9", jobs=1, interface="lo",
                   prologue=[f"export PYTHONPATH={tests_dir}"])
    result = run_genome_wide(options, GenomeWideRun(cluster="slurm", job=spec,
                                                    partition_size=10_000, worker_wait=120),
                             score_fn=toy_score, progress=False)
    assert result.partitions == 9 and len(result.peak_rss_per_worker) >= 1
    assert body_and_header(single.output)[0] == body_and_header(options.output)[0]
    assert body_and_header(single.table)[0] == body_and_header(options.table)[0]
    (script,) = list(jobs.glob("job-*.sh"))  # one job asked for, one submitted
    text = script.read_text()
    assert "#SBATCH -p short" in text and "#SBATCH -A proj9" in text
    assert "#SBATCH -t 00:10:00" in text and "#SBATCH --mem=2G" in text
    assert "--resources partition=1" in text and "tcp://127.0.0.1:" in text
    assert (jobs / "cancelled").exists()  # the cluster cancelled its job on the way out


def test_genome_wide_gives_up_when_no_job_starts(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text("#!/usr/bin/env bash\necho 'Submitted batch job 42'\n")
    (bin_dir / "scancel").write_text("#!/usr/bin/env bash\ntrue\n")
    for name in ("sbatch", "scancel"):
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    (tmp_path / "in").mkdir()
    options = ToyOptions(vcf=write_toy_vcf(tmp_path / "in" / "toy.vcf.gz"),
                         output=tmp_path / "gw.vcf.gz")
    run = GenomeWideRun(cluster="slurm", job=JobSpec("slurm", cores=1, memory="1GB",
                                                     interface="lo"), worker_wait=2)
    with pytest.raises(VarbindError, match="no slurm worker joined within 2 s"):
        run_genome_wide(options, run, score_fn=toy_score, progress=False)
    assert not options.output.exists()


def test_cli_genome_wide_on_a_running_scheduler(tmp_path, job_like_client, capsys):
    import scoring_world as sw

    world = sw.build_world(tmp_path / "world")
    vcf = sw.write_vcf(tmp_path / "world" / "input.vcf.gz")
    common = [str(vcf), "--fasta", str(world["fasta"]), "--gtf", str(world["gtf"]),
              "--expression", str(world["expression"]), "--models", str(world["models"]),
              "--explain", "ig", "--ig-steps", "4", "--explain-all"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert main(["-q", "score", *common, "-o", str(tmp_path / "single.vcf.gz"),
                 "--tsv", str(tmp_path / "single.tsv"),
                 "--explain-out", str(tmp_path / "a" / "attr.h5")]) == 0
    assert main(["-q", "workflow", "genome-wide", *common, "-o", str(tmp_path / "gw.vcf.gz"),
                 "--tsv", str(tmp_path / "gw.tsv"), "--scheduler",
                 job_like_client.scheduler.address, "--partition-size", "40",
                 "--keep-shards", "--explain-out", str(tmp_path / "b" / "attr.h5")]) == 0
    err = capsys.readouterr().err
    assert "on 2 workers" in err
    assert body_and_header(tmp_path / "single.vcf.gz")[0] == \
        body_and_header(tmp_path / "gw.vcf.gz")[0]
    assert (tmp_path / "single.tsv").read_text() == (tmp_path / "gw.tsv").read_text()
    shards = tmp_path / "gw.vcf.gz.shards"
    assert sorted(p.name for p in shards.glob("*.done.json"))[0] == "part-00000.done.json"
    # --explain on the workflow: one attribution shard per partition, merged in order
    from varbind.interpret.store import list_rows

    assert len(list(shards.glob("*.attr.h5"))) == len(list(shards.glob("*.done.json")))
    rows = list_rows(tmp_path / "a" / "attr.h5")
    assert len(rows) > 20 and list_rows(tmp_path / "b" / "attr.h5") == rows


def test_cli_genome_wide_refuses_a_scheduler_with_slurm(tmp_path, capsys):
    code = main(["workflow", "genome-wide", "in.vcf.gz", "--fasta", "g.fa", "--models", "m",
                 "-o", str(tmp_path / "o.vcf.gz"), "--cluster", "slurm", "--scheduler",
                 "tcp://h:1"])
    err = capsys.readouterr().err
    assert code == 2 and "--cluster slurm starts its own scheduler" in err


# ----------------------------------------------------------------------------- de novo


def _table(rows) -> pd.DataFrame:
    """Rows (chrom, pos, alt, strand, region, rbp, delta, status) -> a varbind table."""
    frame = pd.DataFrame(rows, columns=["chrom", "pos", "alt", "strand", "region", "rbp",
                                        "delta", "status"])
    frame["id"], frame["ref"] = ".", "A"
    frame["gene_id"] = frame["gene_name"] = frame["model"] = "x"
    frame["ref_score"] = frame["alt_score"] = frame["logit_delta"] = 0.5
    return frame


CASES = _table([
    ("chr1", 10, "G", "+", "3utr", "PUM2", -0.5, "ok"),
    ("chr1", 10, "G", "-", "intron", "PUM2", -0.05, "ok"),  # weaker strand: not counted
    ("chr1", 20, "G", "+", "3utr", "PUM2", -0.3, "ok&n_rich"),
    ("chr1", 30, "G", "+", "3utr", "PUM2@polaris", -0.25, "ok"),  # label RBP@model
    ("chr1", 30, "G", "+", "3utr", "PUM2", -0.1, "ok"),  # same allele, other model: weaker
    ("chr1", 40, "G", "+", "3utr", "PUM2", 0.01, "ok"),
    ("chr1", 50, "G", "+", "intron", "QKI", 0.4, "ok"),
    ("chr1", 60, "<DEL>", "", "", "", np.nan, "symbolic_allele"),
])
CONTROLS = _table([
    ("chr2", 10, "G", "+", "3utr", "PUM2", 0.0, "ok"),
    ("chr2", 20, "G", "+", "3utr", "PUM2", 0.1, "ok"),
    ("chr2", 30, "G", "+", "3utr", "PUM2", -0.15, "ok"),
    ("chr2", 40, "G", "+", "3utr", "PUM2", 0.25, "ok"),
    ("chr2", 50, "G", "+", "intron", "QKI", 0.0, "ok"),
])


def test_strongest_effect_per_allele_and_rbp():
    best = denovo.strongest_effects(CASES)
    assert best[["pos", "rbp", "region", "delta"]].values.tolist() == [
        [10, "PUM2", "3utr", -0.5], [50, "QKI", "intron", 0.4], [20, "PUM2", "3utr", -0.3],
        [30, "PUM2", "3utr", -0.25], [40, "PUM2", "3utr", 0.01]]


def test_denovo_report_counts_and_fisher_by_hand():
    report = denovo.denovo_report(CASES, CONTROLS)
    row = report[(report.rbp == "PUM2") & (report.region == "3utr")
                 & (report.effect == "loss")].iloc[0]
    # cases: 3 of 4 PUM2 3'UTR alleles lose >= 0.2; controls: 0 of 4
    assert (row.cases_strong, row.cases_total, row.controls_strong, row.controls_total) == \
        (3, 4, 0, 4)
    # two-sided Fisher on [[3, 1], [0, 4]]: (C(4,3)C(4,0) + C(4,0)C(4,3)) / C(8,3) = 8/56
    assert row.p_value == pytest.approx(8 / 56)
    assert row.odds_ratio == np.inf
    assert row.log2_odds_ratio == pytest.approx(np.log2((3.5 * 4.5) / (1.5 * 0.5)))
    gain = report[(report.rbp == "PUM2") & (report.region == "3utr")
                  & (report.effect == "gain")].iloc[0]
    assert (gain.cases_strong, gain.controls_strong) == (0, 1)
    qki = report[(report.rbp == "QKI") & (report.region == "all") & (report.effect == "gain")]
    assert qki[["cases_strong", "cases_total", "controls_strong", "controls_total"]].values \
        .tolist() == [[1, 1, 0, 1]]
    assert list(report.columns) == denovo.REPORT_COLUMNS
    assert report[["rbp", "region", "effect"]].values.tolist()[:4] == [
        ["PUM2", "3utr", "loss"], ["PUM2", "3utr", "gain"], ["PUM2", "all", "loss"],
        ["PUM2", "all", "gain"]]


def test_thresholds_and_alternative_change_the_test():
    strict = denovo.denovo_report(CASES, CONTROLS, denovo.DenovoThresholds(0.4, 0.4))
    row = strict[(strict.rbp == "PUM2") & (strict.region == "3utr") & (strict.effect == "loss")]
    assert row.cases_strong.item() == 1
    greater = denovo.denovo_report(CASES, CONTROLS,
                                   denovo.DenovoThresholds(alternative="greater"))
    row = greater[(greater.rbp == "PUM2") & (greater.region == "3utr")
                  & (greater.effect == "loss")]
    assert row.p_value.item() == pytest.approx(4 / 56)
    with pytest.raises(VarbindError, match="must be above 0"):
        denovo.DenovoThresholds(loss_threshold=0)
    with pytest.raises(VarbindError, match="not a Fisher test alternative"):
        denovo.DenovoThresholds(alternative="bigger")


def test_benjamini_hochberg_by_hand():
    q = denovo.benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.2]))
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.2])


def test_plot_has_both_panels_and_counts(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report = denovo.denovo_report(CASES, CONTROLS)
    seen = {}
    real_savefig = plt.Figure.savefig

    def capture(fig, *args, **kwargs):
        seen["titles"] = [ax.get_title() for ax in fig.axes if ax.get_title()]
        seen["texts"] = [t.get_text() for ax in fig.axes for t in ax.texts]
        seen["rows"] = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        return real_savefig(fig, *args, **kwargs)

    plt.Figure.savefig = capture
    try:
        path = denovo.plot_report(report, tmp_path / "d.png")
    finally:
        plt.Figure.savefig = real_savefig
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert seen["titles"] == ["strong binding loss", "strong binding gain"]
    assert seen["rows"] == ["PUM2", "QKI"]
    assert "3/0" in seen["texts"] and "1/0" in seen["texts"]


def test_cli_denovo_from_scored_tables(tmp_path, capsys):
    CASES.to_csv(tmp_path / "cases.tsv", sep="\t", index=False)
    CONTROLS.to_csv(tmp_path / "controls.tsv", sep="\t", index=False)
    assert main(["workflow", "denovo", "--cases", str(tmp_path / "cases.tsv"), "--controls",
                 str(tmp_path / "controls.tsv"), "--out", str(tmp_path / "dn"),
                 "--plot-format", "pdf"]) == 0
    report = pd.read_csv(tmp_path / "dn" / "denovo.tsv", sep="\t")
    assert len(report) == 8 and (tmp_path / "dn" / "denovo.pdf").read_bytes()[:4] == b"%PDF"
    err = capsys.readouterr().err
    assert "PUM2       3utr         loss  cases 3/4 controls 0/4 p=0.143" in err


def test_cli_denovo_errors_are_one_line(tmp_path, capsys):
    CASES.to_csv(tmp_path / "cases.tsv", sep="\t", index=False)
    assert main(["workflow", "denovo", "--cases", str(tmp_path / "cases.tsv"),
                 "--controls", str(tmp_path / "c.vcf.gz")]) == 2
    assert "must both be VCFs or both scored tables" in capsys.readouterr().err
    (tmp_path / "bad.tsv").write_text("chrom\tpos\nchr1\t5\n")
    assert main(["workflow", "denovo", "--cases", str(tmp_path / "bad.tsv"), "--controls",
                 str(tmp_path / "bad.tsv"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not a varbind table: no column(s) ref, alt, rbp" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_denovo_scores_both_vcfs_on_dask(tmp_path, job_like_client, capsys):
    import scoring_world as sw

    world = sw.build_world(tmp_path / "world")
    records = sw.vcf_records()
    cases = sw.write_vcf(tmp_path / "cases.vcf.gz", records[:8])
    controls = sw.write_vcf(tmp_path / "controls.vcf.gz", records[8:])
    assert main(["workflow", "denovo", "--cases", str(cases), "--controls", str(controls),
                 "--out", str(tmp_path / "dn"), "--fasta", str(world["fasta"]), "--gtf",
                 str(world["gtf"]), "--expression", str(world["expression"]), "--models",
                 str(world["models"]), "--loss-threshold", "0.05", "--gain-threshold", "0.05",
                 "--scheduler", job_like_client.scheduler.address]) == 0
    for name in ("cases.vcf.gz", "controls.vcf.gz", "cases.tsv", "controls.tsv",
                 "denovo.tsv", "denovo.png"):
        assert (tmp_path / "dn" / name).exists(), name
    with gzip.open(tmp_path / "dn" / "cases.vcf.gz", "rt") as fh:
        assert sum(1 for line in fh if not line.startswith("#")) == 8
    report = pd.read_csv(tmp_path / "dn" / "denovo.tsv", sep="\t")
    cases_table = denovo.strongest_effects(denovo.read_table(tmp_path / "dn" / "cases.tsv"))
    frac = report[(report.rbp == "AFRAC") & (report.region == "all")
                  & (report.effect == "loss")].iloc[0]
    afrac = cases_table[cases_table.rbp == "AFRAC"]
    assert frac.cases_total == len(afrac)
    assert frac.cases_strong == int((afrac.delta <= -0.05).sum())
