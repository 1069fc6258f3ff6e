"""benchmarks/conditional_sampling.py: its option check and its table (the run itself needs MNIST and minutes)."""
import pytest

from benchmarks import conditional_sampling


def test_a_bad_number_of_seconds_is_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        conditional_sampling.main(["--seconds", "-3"])
    assert "seconds=-3.0 is not allowed" in capsys.readouterr().err


def test_the_table_has_a_row_per_generator_and_noise_scale():
    rows = [{"generator": g, "steps": 1234, "psi": psi, "score": 8.0 + psi, "kl": 0.01, "precision": 0.9,
             "recall": 0.3 * psi} for g in ("G", "EMA of G (0.99)") for psi in conditional_sampling.PSIS]
    text = conditional_sampling.table(rows, 9.53)
    lines = text.splitlines()
    assert lines[0].startswith("| generator | steps | psi | score |") and len(lines) == 2 + 6 + 2
    assert "| EMA of G (0.99) | 1,234 | 0.6 | 8.60 | 0.0100 | 0.900 | 0.180 |" in lines
    assert lines[-1] == "Held-out real digits score 9.53."
