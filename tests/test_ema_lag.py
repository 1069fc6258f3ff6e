"""benchmarks/ema_lag.py: its option check and its table (the run itself needs MNIST and a minute)."""
import pytest

from benchmarks import ema_lag


@pytest.mark.parametrize("bad", ["-3", "300,x", ""])
def test_bad_steps_are_refused_by_name(capsys, bad):
    with pytest.raises(SystemExit):
        ema_lag.main(["--steps", bad])
    assert f"steps={bad!r} is not allowed" in capsys.readouterr().err


def test_a_bad_start_is_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        ema_lag.main(["--start", "0"])
    assert "start=0 is not allowed" in capsys.readouterr().err


def test_the_table_has_a_row_per_step_count_and_a_dash_before_the_late_average_starts():
    text = ema_lag.table([{"steps": 100, "G": 0.2, "EMA": 0.1, "late": None},
                          {"steps": 4000, "G": 0.842, "EMA": 0.929, "late": 0.93}], 150)
    assert text.splitlines() == ["| steps | G | EMA of G (0.99) from step 0 | EMA of G (0.99) from step 150 |",
                                 "|---|---|---|---|", "| 100 | 20.0% | 10.0% | – |", "| 4,000 | 84.2% | 92.9% | 93.0% |"]
