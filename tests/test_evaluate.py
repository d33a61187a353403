"""Evaluation: hand-worked AUROC/AP, unscorable RBPs, tables, plots and the evaluate CLI."""

import numpy as np
import pytest
from planted import TINY, planted_data, write_dataset

from varbind.cli import main
from varbind.training import evaluate as ev
from varbind.training import train as tr


def test_auroc_and_ap_hand_worked():
    labels = np.array([[0], [0], [1], [1]])
    preds = np.array([[0.1], [0.4], [0.35], [0.8]])
    m = ev.score_metrics(labels, preds, ["R"])
    # pairs (pos, neg): (.35,.1) ok, (.35,.4) wrong, (.8,.1) ok, (.8,.4) ok -> 3/4
    assert m["auroc"]["R"] == pytest.approx(0.75)
    # ranked: .8 (1), .4 (0), .35 (1) -> AP = 1/2 * 1 + 1/2 * 2/3
    assert m["ap"]["R"] == pytest.approx(0.5 + 1 / 3)
    assert m["positives"] == {"R": 2} and m["n_windows"] == 4


def test_rbp_without_positives_is_reported_not_averaged(caplog):
    labels = np.array([[0, 1], [0, 0], [0, 1], [0, 0]])
    preds = np.array([[0.2, 0.9], [0.1, 0.2], [0.3, 0.8], [0.4, 0.1]])
    m = ev.score_metrics(labels, preds, ["NONE", "R"])
    assert m["auroc"]["NONE"] is None and m["ap"]["NONE"] is None
    assert m["mean_auroc"] == 1.0 and m["mean_ap"] == 1.0
    assert "cannot score NONE" in caplog.text


def test_merge_metrics_recomputes_means():
    a = ev.score_metrics(np.array([[0], [1]]), np.array([[0.1], [0.9]]), ["A"])
    b = ev.score_metrics(np.array([[0], [1], [1]]), np.array([[0.5], [0.4], [0.6]]), ["B"])
    m = ev.merge_metrics([a, b])
    assert m["auroc"] == {"A": 1.0, "B": 0.5}
    assert m["mean_auroc"] == 0.75
    assert m["n_windows"] == {"A": 2, "B": 3}


def test_format_table_lists_every_rbp_and_the_mean():
    m = ev.score_metrics(np.array([[0, 1], [1, 0], [1, 1], [0, 0]]),
                         np.array([[0.1, 0.9], [0.8, 0.1], [0.7, 0.6], [0.2, 0.3]]),
                         ["HuR", "QKI"])
    lines = ev.format_table(m, title="t").splitlines()
    assert lines[0] == "t"
    assert lines[1].split() == ["RBP", "positives", "AUROC", "SE", "AP"]
    assert lines[2].split() == ["HuR", "2", "1.000", "0.000", "1.000"]  # perfect: no spread
    assert lines[-1].split() == ["mean", "1.000", "1.000"]


def test_auroc_errors_are_hanley_mcneil_on_each_rbps_own_split():
    one = {"auroc": {"A": 0.8, "B": None}, "positives": {"A": 50, "B": 0}, "n_windows": 100}
    assert ev.auroc_errors(one) == {"A": 0.045, "B": None}  # 0.0445, to 3 decimals
    merged = {"auroc": {"A": 0.8, "C": 0.8}, "positives": {"A": 50, "C": 5},
              "n_windows": {"A": 100, "C": 100}}
    errors = ev.auroc_errors(merged)
    assert errors["C"] > 2 * errors["A"]  # 5 positives: a much wider AUROC
    assert ev.auroc_errors({"auroc": {"A": 0.8}, "positives": {"A": 5}}) == {"A": None}


def test_few_positives_warning_names_each_rare_rbp_with_its_count():
    metrics = {"split": "test", "auroc": {"A": 0.57, "B": 0.9, "C": None},
               "positives": {"A": 4, "B": 40, "C": 0}, "n_windows": 260}
    line = ev.few_positives_warning(metrics)
    assert "fewer than 20 positive test windows for A (4, SE 0.1" in line
    assert "B" not in line.split("for ", 1)[1].split(":")[0] and "C (" not in line
    assert "varbind evaluate" in line and "\n" not in line
    assert ev.few_positives_warning(metrics, least=4) is None


def test_plot_curves_writes_roc_and_pr(tmp_path):
    y = np.array([0, 1, 0, 1, 1])
    p = np.array([0.1, 0.7, 0.4, 0.9, 0.3])
    paths = ev.plot_curves([("A", y, p), ("EMPTY", np.zeros(5), p)], tmp_path / "plots")
    assert [x.name for x in paths] == ["roc.png", "pr.png"]
    assert all(x.stat().st_size > 1000 for x in paths)
    assert (tmp_path / "plots" / "roc.png").read_bytes()[:4] == b"\x89PNG"


@pytest.fixture(scope="module")
def bundle_and_data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ev")
    write_dataset(tmp / "d.h5", n=300)
    cfg = tr.TrainConfig(arch="deepripe", epochs=3, seq_length=60, region_length=80,
                         min_positives=5, hparams=TINY["deepripe"], progress=False,
                         baseline_windows=10, batch_size=32, max_tries=1)
    result = tr.train_multilabel(tr.load_dataset(tmp / "d.h5"), cfg)
    return tr.write_bundle(result, tmp / "b"), tmp / "d.h5", result


def test_evaluate_bundle_matches_the_stored_test_metrics(bundle_and_data):
    from varbind.model.bundle import load_bundle

    out, data, result = bundle_and_data
    metrics, groups, labels, preds = ev.evaluate_bundle(load_bundle(out), data, "test")
    assert groups == [("U6", "GA3")]
    assert metrics["auroc"] == pytest.approx(result.meta.metrics["auroc"], abs=1e-6)
    assert labels[0].shape == preds[0].shape


def test_cli_evaluate_prints_tables_and_writes_plots(bundle_and_data, tmp_path, capsys,
                                                    caplog):
    out, data, result = bundle_and_data
    assert main(["evaluate", str(out)]) == 0
    stored = capsys.readouterr().out
    assert "stored test metrics" in stored and "GA3" in stored
    rare = [r for r, n in result.meta.metrics["positives"].items() if n < 20]
    warned = [x for x in caplog.messages if "positive test windows" in x]
    assert rare and len(warned) == 1 and all(f"{r} (" in warned[0] for r in rare)
    caplog.clear()
    code = main(["evaluate", str(out), "--dataset", str(data), "--split", "all",
                 "--plots", str(tmp_path / "p"), "--tsv", str(tmp_path / "m.tsv")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "all windows" in printed
    many = all(n >= 20 for n in planted_data(300).splits["train"].labels.sum(axis=0))
    assert many and not [x for x in caplog.messages if "positive" in x]  # 'all': enough
    assert (tmp_path / "p" / "roc.png").exists() and (tmp_path / "p" / "pr.png").exists()
    rows = (tmp_path / "m.tsv").read_text().splitlines()
    assert rows[0] == "rbp\tpositives\tauroc\tap\tauroc_se" and rows[-1].startswith("mean\t")
    assert all(len(r.split("\t")) == 5 for r in rows)
    n_pos = sum(int(r.split("\t")[1]) for r in rows[1:3])
    full = planted_data(300)  # same generator, same seed: 'all' counts every window
    assert n_pos == sum(int(s.labels.sum()) for s in full.splits.values())


def test_cli_evaluate_errors_are_one_line(bundle_and_data, tmp_path, capsys):
    out, data, _ = bundle_and_data
    write_dataset(tmp_path / "other.h5", n=40, rbps=("X", "Y"))
    code = main(["evaluate", str(out), "--dataset", str(tmp_path / "other.h5")])
    err = capsys.readouterr().err
    assert code == 2 and "labels none of the model's RBPs (U6, GA3)" in err
    assert len(err.strip().splitlines()) == 1
    code = main(["evaluate", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "not a model bundle" in err


def test_benchmark_judge_scores_a_bundle_on_all_windows_of_another_dataset(bundle_and_data):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
    from bench_training import judge_scores

    from varbind.model.bundle import load_bundle

    out, data, _ = bundle_and_data
    scores = judge_scores(load_bundle(out), data)
    metrics = ev.evaluate_bundle(load_bundle(out), data, "all")[0]
    assert scores["judge_auroc"] == {r: round(v, 4) for r, v in metrics["auroc"].items()}
    assert scores["judge_mean_auroc"] == pytest.approx(metrics["mean_auroc"], abs=1e-4)
