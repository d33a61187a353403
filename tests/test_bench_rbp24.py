"""bench_rbp24: a cell trained with an older default recipe is not reported as CLI defaults."""

import sys
from pathlib import Path

import pytest

from varbind.training.recipes import resolve_recipe

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))

from bench_rbp24 import (  # noqa: E402
    PUBLISHED,
    acting,
    protocol,
    recipe_changes,
    summary_figures,
)

N_TRAIN = 15609


def _cell(arch, settings, auroc=0.95, commit="abc1234"):
    return {"auroc": auroc, "cpu_seconds": 60.0, "train_args": [], "commit": commit,
            "recipe": "varbind", "recipe_settings": settings,
            "recipe_changes": recipe_changes(arch, settings, N_TRAIN)}


def _today(arch):
    """Today's default recipe on an RBP-24 set (a dataset of labelled sequences)."""
    return resolve_recipe(arch, "varbind", N_TRAIN, sequences=True).to_json()


def _jittered(arch):
    """The record of a bundle trained while the default jittered sequence datasets too (a
    multi-label architecture's recipe on a peaks dataset of the same size)."""
    return resolve_recipe(arch, "varbind", N_TRAIN).to_json()


def _before_jitter(arch):
    """The record a bundle trained before the recipe had ``jitter`` (and the later
    ``smooth_epochs``, ``min_run_fraction``) carries."""
    return {k: v for k, v in _today(arch).items()
            if k not in ("jitter", "smooth_epochs", "min_run_fraction")}


def test_todays_recipe_is_the_cli_defaults():
    for arch in ("deepripe", "polaris", "rnassr"):
        assert recipe_changes(arch, _today(arch), N_TRAIN) == []
        assert protocol(_cell(arch, _today(arch))) == "CLI defaults"


def test_a_jittered_bundle_is_an_older_recipe_on_a_sequence_dataset():
    assert recipe_changes("deepripe", _jittered("deepripe"), N_TRAIN) == ["jitter"]
    assert "not today's default (jitter changed)" in protocol(
        _cell("deepripe", _jittered("deepripe")))
    # on a peaks dataset the jittered recipe is today's default
    assert recipe_changes("deepripe", _jittered("deepripe"), N_TRAIN, sequences=False) == []
    # bundles from before the recipe had jitter did not shift windows: the default again
    for arch in ("deepripe", "polaris", "rnassr"):
        assert recipe_changes(arch, _before_jitter(arch), N_TRAIN) == []


def test_changed_hyperparameter_and_unrecorded_settings():
    old = _today("deepripe")
    old["hparams"] = {**old["hparams"], "filters": old["hparams"]["filters"] + 1}
    assert recipe_changes("deepripe", old, N_TRAIN) == ["hparams.filters"]
    assert recipe_changes("deepripe", None, N_TRAIN) is None
    assert protocol(_cell("deepripe", None)) == "varbind recipe, settings not recorded"


def test_stale_cells_take_the_mean_out_of_the_target_and_notes_name_the_commit():
    sets = list(PUBLISHED)
    results = {s: {"deepripe": _cell("deepripe", _today("deepripe"))} for s in sets}
    results[sets[0]]["deepripe"] = _cell("deepripe", _jittered("deepripe"), commit="0ld0000")
    figures = {f["name"]: f for f in summary_figures(results, sets, ["deepripe"])}
    assert figures["mean_auroc_deepripe"]["target"] is None
    assert figures[f"cpu_minutes_{sets[0]}_deepripe"]["target"] is None
    assert figures[f"cpu_minutes_{sets[1]}_deepripe"]["target"] == {"op": "<=", "value": 10.0}
    first = figures[f"auroc_{sets[0]}_deepripe"]["note"]
    assert "jitter changed" in first and "trained at 0ld0000" in first
    assert figures[f"auroc_{sets[1]}_deepripe"]["note"] == "CLI defaults; trained at abc1234"
    results[sets[0]]["deepripe"] = _cell("deepripe", _today("deepripe"))
    figures = {f["name"]: f for f in summary_figures(results, sets, ["deepripe"])}
    assert figures["mean_auroc_deepripe"]["target"] == {"op": ">=", "value": 0.96}


def test_rnassr_against_its_paper_has_a_target_only_with_todays_defaults():
    s = next(iter(PUBLISHED))
    for settings, target in ((_today("rnassr"), {"op": ">=", "value": -0.01}),
                             (_jittered("rnassr"), None)):
        results = {s: {"rnassr": _cell("rnassr", settings, auroc=0.97)}}
        figures = {f["name"]: f for f in summary_figures(results, [s], ["rnassr"])}
        assert figures[f"rnassr_minus_paper_{s}"]["target"] == target


def test_min_run_fraction_counts_only_where_it_can_stop_a_run_later():
    today = _today("deepripe")  # 20 epochs, patience 10: a stop needs 10 flat epochs anyway
    assert today["min_run_fraction"] > 0 and today["patience"] >= today["epochs"] / 2
    assert acting(today)["min_run_fraction"] == 0.0
    binding = {**today, "patience": 4}  # could stop at epoch 5, the fraction says not before 10
    assert acting(binding)["min_run_fraction"] == today["min_run_fraction"]
    assert acting({**binding, "patience": 0})["min_run_fraction"] == 0.0


def test_a_bundle_without_todays_viewpoint_input_is_not_the_cli_defaults(tmp_path):
    from bench_rbp24 import input_changes

    from varbind.cli import main
    from varbind.training.training_data import load_dataset

    rows = "".join(f">r{i}\nacgu{'ACGUAC' if i % 2 else 'GGCCAA'}uuca\n" for i in range(20))
    (tmp_path / "p.fa").write_text(rows)
    (tmp_path / "n.fa").write_text(rows.replace("ACGUAC", "CCCCCC"))
    data = tmp_path / "X.h5"
    assert main(["dataset", "--kind", "per-rbp", "--positives", str(tmp_path / "p.fa"),
                 "--negatives", str(tmp_path / "n.fa"), "--name", "X", "-o", str(data)]) == 0

    def meta(*kinds):
        return {"inputs": [{"components": [{"kind": k} for k in kinds]}]}

    loaded = load_dataset(data, "X")
    assert input_changes(meta("sequence", "viewpoint"), "deepripe", loaded) == []
    assert input_changes(meta("sequence", "viewpoint", "pairs"), "rnassr", loaded) == []
    assert input_changes(meta("sequence"), "deepripe", loaded) == ["+viewpoint"]
    cell = {**_cell("deepripe", _today("deepripe")), "input_changes": ["+viewpoint"]}
    assert protocol(cell) == "older inputs, not today's default (+viewpoint)"


def _before_extension(arch):
    """The record of a bundle trained before the recipe could extend a run still learning."""
    return {k: v for k, v in _today(arch).items() if k != "extend_fraction"}


def test_the_extension_counts_only_for_a_run_that_could_have_been_extended():
    today = _today("deepripe")
    assert today["extend_fraction"] > 0
    epochs, old = today["epochs"], _before_extension("deepripe")
    for ran in ((epochs, epochs - 3), (epochs - 4, epochs - 4), (epochs - 6, epochs - 9)):
        assert recipe_changes("deepripe", old, N_TRAIN, ran=ran) == []  # stopped or kept earlier
    for ran in ((epochs, epochs), None, (None, None)):  # ran all, kept the last; or unknown
        assert recipe_changes("deepripe", old, N_TRAIN, ran=ran) == ["extend_fraction"]
    shorter = {**today, "extend_fraction": today["extend_fraction"] / 2}  # an extended run
    assert recipe_changes("deepripe", shorter, N_TRAIN, ran=(epochs + 3, epochs + 1)) == [
        "extend_fraction"]


def _sequence_set(folder, name):
    """A tiny RBP-24-like set ``name`` in ``folder``: train and ls FASTA files, gzipped."""
    import gzip

    def fasta(motif, start):
        return "".join(f">r{i}\nacgu{motif if i % 3 else 'GGCCAA'}uuca{'ACGU'[i % 4]}\n"
                       for i in range(start, start + 30))

    for split, start in (("train", 0), ("ls", 100)):
        for part, motif in (("positives", "ACGUAC"), ("negatives", "CCCCCC")):
            with gzip.open(folder / f"{name}.{split}.{part}.fa.gz", "wt") as out:
                out.write(fasta(motif, start))


def test_merge_fills_cells_without_a_bundle_and_judges_them_today(tmp_path):
    import json

    from bench_rbp24 import build_dataset, main

    from varbind.training.training_data import load_dataset

    data, work = tmp_path / "data", tmp_path / "work"
    data.mkdir()
    name = next(iter(PUBLISHED))
    _sequence_set(data, name)
    n_train = len(load_dataset(build_dataset(data, name, work), name).splits["train"].labels)

    def earlier_cell(arch, epochs_run, best_epoch):
        old = {k: v for k, v in resolve_recipe(arch, "varbind", n_train, sequences=True)
               .to_json().items() if k != "extend_fraction"}
        return {**_cell(arch, old), "epochs_run": epochs_run, "best_epoch": best_epoch,
                "recipe_changes": ["extend_fraction"]}

    epochs = resolve_recipe("deepripe", "varbind", n_train, sequences=True).epochs
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"extra": {"results": {name: {
        "deepripe": earlier_cell("deepripe", epochs - 2, epochs - 8),  # stopped early
        "rnassr": earlier_cell("rnassr", epochs, epochs),  # kept its last planned epoch
        "polaris": {"not_run": True}}}}}))
    report = tmp_path / "report.json"
    assert main(["--data", str(data), "--workdir", str(work), "--archs",
                 "deepripe,rnassr,polaris", "--existing-only", "--merge", str(earlier),
                 "--json", str(report), "--results", str(tmp_path / "figures.json")]) == 0
    results = json.loads(report.read_text())["results"][name]
    assert results["deepripe"]["merged"] and protocol(results["deepripe"]) == "CLI defaults"
    assert results["rnassr"]["recipe_changes"] == ["extend_fraction"]
    assert results["polaris"] == {"not_run": True}
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(SystemExit, match="not a bench_rbp24 results file"):
        main(["--data", str(data), "--workdir", str(work), "--merge", str(bad)])
