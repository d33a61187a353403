"""Config file location, parsing and precedence."""

import pytest

from varbind.config import config_path, load_config, merge_settings
from varbind.errors import InputFileError, VarbindError


def test_location_env_then_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("VARBIND_CONFIG", str(tmp_path / "mine.toml"))
    assert config_path() == tmp_path / "mine.toml"
    monkeypatch.delenv("VARBIND_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "varbind" / "config.toml"


def test_missing_default_config_is_empty(tmp_path, monkeypatch):
    monkeypatch.delenv("VARBIND_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_config() == {}


def test_missing_explicit_config_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("VARBIND_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(InputFileError, match="config file not found"):
        load_config()


def test_bad_toml_and_unknown_keys(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[score\nfasta=1")
    with pytest.raises(InputFileError, match="not valid TOML"):
        load_config(bad)
    bad.write_text('[score]\nfastq = "x"\n')
    with pytest.raises(InputFileError, match=r"unknown key \[score\].fastq"):
        load_config(bad)


def test_relative_paths_and_precedence(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[score]\ngenome = "g"\nbatch_size = 64\nfasta = "own.fa"\n\n'
                   '[genomes.g]\nfasta = "ref/g.fa"\ngtf = "ref/g.gtf"\nmodels = "m"\n')
    config = load_config(cfg)
    assert config["genomes"]["g"]["gtf"] == str(tmp_path / "ref" / "g.gtf")
    # [score] wins over the genome it names ...
    merged = merge_settings({"fasta": None, "genome": None, "batch_size": None}, config)
    assert merged["fasta"] == str(tmp_path / "own.fa") and merged["batch_size"] == 64
    assert merged["gtf"] == str(tmp_path / "ref" / "g.gtf")
    # ... a --genome flag wins over [score], and other flags win over everything
    merged = merge_settings({"fasta": None, "genome": "g", "batch_size": 8}, config)
    assert merged["fasta"] == str(tmp_path / "ref" / "g.fa") and merged["batch_size"] == 8


def test_unknown_genome_names_the_choices(tmp_path):
    with pytest.raises(VarbindError, match="--genome 'hg99' is not defined.*known: demo"):
        merge_settings({"genome": "hg99"}, {})
