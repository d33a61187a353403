"""The demo data: located in the package, else simulated once into the cache."""

import pytest
import scoring_world as sw

import varbind.demo as demo
from varbind.cli import main
from varbind.errors import VarbindError


@pytest.fixture
def demo_env(tmp_path, monkeypatch):
    """An empty package demo folder with toy models, a cache, and a tiny demo world."""
    package = tmp_path / "package_demo"
    sw.save_models(package / "models")
    monkeypatch.setattr(demo, "DEMO_DIR", package)
    monkeypatch.setattr(demo, "DEMO_WORLD_SIZE", "tiny")
    monkeypatch.setenv("VARBIND_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VARBIND_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


def test_demo_world_is_simulated_once_into_the_cache(demo_env):
    fasta = demo.demo_file("fasta")
    assert fasta.parent == demo.demo_world_dir() and fasta.name == "genome.fa"
    stamp = (fasta.parent / "world.json").stat().st_mtime_ns
    assert demo.demo_file("vcf").name == "variants.vcf.gz"
    assert (fasta.parent / "world.json").stat().st_mtime_ns == stamp  # not simulated again
    assert demo.demo_settings()["models"] == str(demo_env / "package_demo" / "models")


def test_missing_demo_models_is_a_clear_error(demo_env, monkeypatch, capsys):
    monkeypatch.setattr(demo, "DEMO_DIR", demo_env / "nothing")
    with pytest.raises(VarbindError, match="the demo data has no models"):
        demo.demo_file("models")
    assert main(["score", "demo", "--genome", "demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the demo data has no models" in err


def test_readme_command_scores_the_demo(demo_env, capsys, monkeypatch):
    monkeypatch.chdir(demo_env)
    code = main(["score", "demo", "--genome", "demo"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "records:" in err and "scored" in err
    assert (demo_env / "varbind_demo.vcf.gz").exists()
    assert (demo_env / "varbind_demo.vcf.gz.summary.json").exists()
