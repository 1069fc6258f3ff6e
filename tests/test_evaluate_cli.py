"""`python -m gan_lessons evaluate`: prints every metric beside real vs real, writes JSON, explains bad checkpoints."""
from __future__ import annotations

import json

import pytest
import torch

from gan_lessons import cli, classifier, models
from gan_lessons.checkpoints import write_atomic as write_checkpoint
from gan_lessons.image_metrics import METRICS
from classifier_cache import needs_mnist, shared_classifier


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    generator = models.ImageMLPGenerator()
    arch = {"generator": "mlp", "z_dim": 100, "widths": [128, 256]}
    return write_checkpoint(tmp_path / "g.pt", {"generator": generator.state_dict(), "arch": arch})


@needs_mnist
def test_evaluate_prints_every_metric_and_writes_json(checkpoint, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(classifier, "load_classifier", lambda **kwargs: shared_classifier())
    out = tmp_path / "metrics.json"
    assert cli.main(["evaluate", str(checkpoint), "--samples", "200", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "real vs real" in printed and "n = 200" in printed
    saved = json.loads(out.read_text())
    for name in METRICS:
        assert name in printed
        assert isinstance(saved[name], (int, float)) and isinstance(saved[name + "_real"], (int, float))
    assert saved["n_samples"] == 200 and saved["classifier_accuracy"] >= 0.985


def test_evaluate_explains_a_checkpoint_without_arch(tmp_path, capsys):
    path = write_checkpoint(tmp_path / "old.pt", {"generator": models.ImageMLPGenerator().state_dict()})
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["evaluate", str(path)])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert "no 'arch' entry" in message and 'extra={"arch"' in message


def test_evaluate_explains_unknown_arch_and_mismatched_weights(tmp_path, capsys):
    weights = models.ImageMLPGenerator().state_dict()
    for arch, phrase in (({"generator": "vae"}, "is not known"), ({"generator": "dcgan"}, "do not fit")):
        path = write_checkpoint(tmp_path / "g.pt", {"generator": weights, "arch": arch})
        with pytest.raises(SystemExit):
            cli.main(["evaluate", str(path)])
        assert phrase in capsys.readouterr().err
