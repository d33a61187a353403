"""The batch size follows the device when the user gives none, and TensorFlow stays quiet
(varbind.model.device)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
import scoring_world as sw

from varbind.model import device
from varbind.scoring.options import ScoreOptions
from varbind.scoring.scorer import Scorer


def test_cpu_keeps_1024_and_a_gpu_gets_larger_batches(tmp_path, monkeypatch):
    world = sw.build_world(tmp_path / "world")
    options = ScoreOptions(vcf=world["vcf"], fasta=world["fasta"], models=world["models"],
                           gtf=world["gtf"], expression=world["expression"],
                           annotation_cache=tmp_path / "cache", batch_size=None)
    assert device.accelerators() == []  # the tests hide GPUs (conftest)
    assert Scorer(options).options.batch_size == device.CPU_BATCH_SIZE == 1024
    monkeypatch.setattr(device, "accelerators", lambda: ["/physical_device:GPU:0"])
    scorer = Scorer(options)
    assert scorer.options.batch_size == device.GPU_BATCH_SIZE
    # a partition's options (batch size unset) keep the scorer's; a given one wins
    partition = dataclasses.replace(options, region="chr1:1-100")
    assert scorer.with_options(partition).options.batch_size == device.GPU_BATCH_SIZE
    given = dataclasses.replace(options, batch_size=16)
    assert scorer.with_options(given).options.batch_size == 16
    assert Scorer(given).options.batch_size == 16


def test_cli_leaves_the_batch_size_to_the_device_unless_given(tmp_path, monkeypatch):
    from varbind.cli import build_parser
    from varbind.cli.score import build_options

    world = sw.build_world(tmp_path / "world")
    common = ["score", str(world["vcf"]), "--fasta", str(world["fasta"]), "--models",
              str(world["models"]), "--gtf", str(world["gtf"])]
    monkeypatch.setenv("VARBIND_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text("")  # no batch size from a user's config
    assert build_options(build_parser().parse_args(common)).batch_size is None
    args = build_parser().parse_args(common + ["--batch-size", "64"])
    assert build_options(args).batch_size == 64


BOOLEAN_GRAPH = """
import sys
if sys.argv[1] == "quiet":
    from varbind.model.device import spend_onednn_boolean_notice
    spend_onednn_boolean_notice()  # as varbind.training.fitting.fit does
import tensorflow as tf

def transpose(x):
    return tf.transpose(x > 0)

tf.function(transpose, autograph=False)(tf.ones((3, 4)))  # as Keras's multi-label AUC does
"""
ONEDNN_NOTICE = "oneDNN supports DT_BOOL"


def test_onednn_boolean_notice_is_spent_quietly_before_training():
    def stderr_of(mode: str) -> str:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
        done = subprocess.run([sys.executable, "-c", BOOLEAN_GRAPH, mode], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stderr

    if ONEDNN_NOTICE not in stderr_of("loud"):
        pytest.skip("this TensorFlow build prints no oneDNN notice for boolean graphs")
    assert ONEDNN_NOTICE not in stderr_of("quiet")
