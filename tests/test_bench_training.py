"""The training benchmark's target checks (training_targets.py): only models tested on the same
windows are compared."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))

from bench_training import table  # noqa: E402
from training_targets import (  # noqa: E402
    bootstrap_mean_aurocs,
    check_targets,
    comparison_misses,
    gap_error,
)


def _row(arch, mean, auroc, baseline=0.7, cpu=100.0, wall=999.0):
    return {"arch": arch, "rbps": len(auroc), "mean_auroc": mean, "min_auroc": min(auroc.values()),
            "min_rbp": min(auroc, key=auroc.get), "auroc": auroc, "baseline_mean_auroc": baseline,
            "epochs": 10, "train_seconds": 1.0, "wall_seconds": wall, "cpu_seconds": cpu,
            "weak": [], "auroc_se": {k: 0.05 for k in auroc}}


def test_polaris_is_not_compared_with_the_multilabel_models():
    rows = [_row("multiresbind", 0.90, {"A": 0.90, "B": 0.90}),
            _row("deepripe", 0.91, {"A": 0.91, "B": 0.91}),
            _row("polaris", 0.99, {"A": 0.99, "B": 0.99})]
    assert check_targets(rows, "tiny") == []  # POLARIS' own windows are easier: no miss


def test_misses_among_multilabel_models_and_against_the_baseline():
    rows = [_row("multiresbind", 0.85, {"A": 0.80, "B": 0.90}),
            _row("deepripe", 0.96, {"A": 0.95, "B": 0.97}),
            _row("polaris", 0.60, {"A": 0.60}, baseline=0.65)]
    misses = check_targets(rows, "tiny")
    assert any("multiresbind mean 0.850 more than 0.02 below deepripe" in m for m in misses)
    assert any(m.startswith("multiresbind mean 0.850 < 0.93") for m in misses)
    assert any(m.startswith("multiresbind A 0.800 < 0.85") for m in misses)
    assert any(m.startswith("polaris mean 0.600 does not beat") for m in misses)
    assert not any(m.startswith("deepripe") for m in misses)


def test_small_target_uses_wall_seconds():
    rows = [_row("deepripe", 0.9, {"A": 0.9}, cpu=400.0)]
    assert check_targets(rows, "small") == ["deepripe took 999 s > 180 s on small "
                                            "(0.4 cores busy)"]
    assert check_targets(rows, "tiny") == []  # only small has a time target
    rows = [_row("polaris", 0.9, {"A": 0.9}, cpu=300.0, wall=170.0)]  # 2 worker processes
    assert check_targets(rows, "small") == []


def test_table_shows_polaris_per_rbp_with_standard_errors():
    cell = {"size": "tiny", "seed": 1, "rows": [_row("polaris", 0.4, {"A": 0.4})], "misses": []}
    assert "polaris per RBP (own windows, test AUROC ± SE): A 0.40±0.05" in table([cell])


def test_merge_joins_runs_and_writes_the_results_file(tmp_path, capsys):
    import json

    from bench_training import main

    runs = []
    for size, cmd in (("tiny", "python a"), ("small", "python b")):
        cell = {"size": size, "seed": 1, "rows": [_row("deepripe", 0.9, {"A": 0.9}),
                                                  _row("multiresbind", 0.8, {"A": 0.8})]}
        path = tmp_path / f"{size}.json"
        cpu = {"cpu": "Some CPU (AVX-512)"} if size == "small" else {}  # older runs: none
        path.write_text(json.dumps({"commit": "abc", "command": cmd, "cells": [cell], **cpu}))
        runs.append(str(path))
    out = tmp_path / "bench_training.json"
    assert main(["--merge", ",".join(runs), "--results", str(out)]) == 0
    data = json.loads(out.read_text())
    names = {f["name"] for f in data["figures"]}
    assert names == {f"{kind}_{s}_{a}" for kind in ("mean_auroc", "wall_seconds", "test_gap")
                     for s in ("tiny", "small") for a in ("deepripe", "multiresbind")}
    assert data["extra"]["runs"] == [{"command": "python a", "commit": "abc"},
                                     {"command": "python b", "commit": "abc",
                                      "cpu": "Some CPU (AVX-512)"}]
    assert data["machine"]["cpu"]  # the processor the merge ran on
    assert "more than 0.02 below deepripe" in capsys.readouterr().out


def test_merge_joins_the_rows_of_one_world_and_keeps_the_later_row():
    from bench_training import join_cells

    def run(commit, *rows):
        return {"commit": commit, "cells": [{"size": "small", "seed": 4, "rows": list(rows)}]}

    cells = join_cells([run("a", _row("deepripe", 0.9, {"A": 0.9}),
                            _row("polaris", 0.5, {"A": 0.5})),
                        run("b", _row("polaris", 0.8, {"A": 0.8}))])
    assert len(cells) == 1 and cells[0]["size"] == "small" and cells[0]["seed"] == 4
    rows = {r["arch"]: r for r in cells[0]["rows"]}
    assert rows["polaris"]["mean_auroc"] == 0.8 and rows["polaris"]["commit"] == "b"
    assert rows["deepripe"]["commit"] == "a"


def test_worlds_of_another_rbp_panel_are_kept_and_reported_apart(tmp_path, capsys):
    import json

    from bench_training import main, world_dir

    assert world_dir(tmp_path, "small", 4) == tmp_path / "world_small_4"
    assert world_dir(tmp_path, "small", 4, "alt") == tmp_path / "world_alt_small_4"
    cells = [{"size": "small", "seed": 4, "rows": [_row("deepripe", 0.9, {"A": 0.9})]},
             {"size": "small", "seed": 4, "panel": "alt",
              "rows": [_row("deepripe", 0.7, {"B": 0.7})]}]
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"commit": "c", "command": "python c", "cells": cells}))
    out = tmp_path / "out.json"
    assert main(["--merge", str(path), "--results", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [c.get("panel") for c in data["extra"]["cells"]] == [None, "alt"]
    means = {f["name"]: f["values"] for f in data["figures"] if f["name"].startswith("mean")}
    assert means == {"mean_auroc_small_deepripe": [0.9], "mean_auroc_small-alt_deepripe": [0.7]}
    assert "small-alt    4 deepripe" in capsys.readouterr().out


def test_merge_adds_new_runs_to_a_published_results_file(tmp_path):
    import json

    from bench_training import main

    def write(name, commit, cmd, *rows):
        path = tmp_path / name
        path.write_text(json.dumps({"commit": commit, "command": cmd,
                                    "cells": [{"size": "small", "seed": 4, "rows": list(rows)}]}))
        return str(path)

    first = write("a.json", "a", "python a", _row("deepripe", 0.9, {"A": 0.9}),
                  _row("polaris", 0.5, {"A": 0.5}))
    published = tmp_path / "published.json"
    assert main(["--merge", first, "--results", str(published)]) == 0
    second = write("b.json", "b", "python b", _row("polaris", 0.8, {"A": 0.8}))
    out = tmp_path / "out.json"
    assert main(["--merge", f"{published},{second}", "--results", str(out)]) == 0
    extra = json.loads(out.read_text())["extra"]
    rows = {r["arch"]: r for r in extra["cells"][0]["rows"]}
    assert rows["polaris"]["mean_auroc"] == 0.8 and rows["polaris"]["commit"] == "b"
    assert rows["deepripe"]["commit"] == "a"
    assert [r["command"] for r in extra["runs"]] == ["python a", "python b"]


def test_paired_bootstrap_gives_each_miss_its_standard_error():
    import numpy as np

    rng = np.random.default_rng(0)
    labels = (rng.random((300, 3)) < 0.2).astype(int)
    labels[:, 2] = 0
    labels[:3, 2] = 1  # a rare RBP: some resamples lack its positives
    good = labels + rng.normal(0, 0.6, labels.shape)
    poor = labels + rng.normal(0, 1.5, labels.shape)
    boot = {name: bootstrap_mean_aurocs(labels, scores, seed=7, rounds=60)
            for name, scores in (("good", good), ("poor", poor))}
    assert boot["good"] == bootstrap_mean_aurocs(labels, good, seed=7, rounds=60)  # same resamples
    assert len(boot["good"]) == 60 and np.mean(boot["good"]) > np.mean(boot["poor"]) + 0.1
    best = {**_row("deepripe", 0.94, {"A": 0.94}), "mean_auroc_boot": boot["good"]}
    worse = {**_row("multiresbind", 0.89, {"A": 0.92}), "mean_auroc_boot": boot["poor"]}
    se = gap_error(worse, best)
    assert 0 < se < 0.1
    assert gap_error(best, best) == 0.0
    miss = comparison_misses([best, worse])
    assert miss == [f"multiresbind mean 0.890 more than 0.02 below deepripe's 0.940 "
                    f"(gap -0.050 ± {se:.3f} SE, paired bootstrap)"]
    older = {k: v for k, v in worse.items() if k != "mean_auroc_boot"}  # a row from before
    assert gap_error(older, best) is None
    assert comparison_misses([best, older]) == [
        "multiresbind mean 0.890 more than 0.02 below deepripe's 0.940"]


def test_judge_world_gaps_are_printed_and_kept_as_figures(tmp_path):
    import json

    import pytest
    from bench_training import judge_gaps, judge_world, main

    def judged(arch, mean, judge):
        return {**_row(arch, mean, {"A": mean}), "judge_mean_auroc": judge,
                "judge_auroc": {"A": judge}}

    rows = [judged("deepripe", 0.88, 0.90), judged("multiresbind", 0.89, 0.86),
            judged("polaris", 0.99, 0.97)]
    assert judge_gaps(rows) == "multiresbind -0.040 (best: deepripe)"  # POLARIS: own windows
    assert judge_gaps(rows[:1]) == ""
    cell = {"size": "small", "seed": 5, "rows": rows}
    out = table([{**cell, "misses": []}])
    assert "judge" in out.splitlines()[0] and " 0.860 " in out
    assert "judge-world gaps to the best multi-label model: multiresbind -0.040" in out
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"commit": "abc", "command": "python a", "cells": [cell]}))
    assert main(["--merge", str(path), "--results", str(tmp_path / "r.json")]) == 0
    figures = {f["name"]: f for f in json.loads((tmp_path / "r.json").read_text())["figures"]}
    assert figures["judge_auroc_small_multiresbind"]["values"] == [0.86]
    assert figures["judge_gap_small_multiresbind"]["values"] == [-0.04]
    assert figures["judge_gap_small_deepripe"]["values"] == [0.0]
    assert "judge_gap_small_polaris" not in figures
    assert figures["test_gap_small_deepripe"]["values"] == [-0.01]  # test split: MRB best
    assert figures["test_gap_small_multiresbind"]["values"] == [0.0]
    assert "test_gap_small_polaris" not in figures
    wall = figures["wall_seconds_small_deepripe"]
    assert wall["values"] == [999.0] and wall["unit"] == "s" and wall["met"] is False
    assert "1 over 180 s" in wall["note"]
    assert judge_world(tmp_path, "none") is None
    with pytest.raises(SystemExit, match="give SIZE:SEED"):
        judge_world(tmp_path, "huge:1")
