"""Landmark restriction: the patients who died within the first N months are left out, nobody else."""
import pandas as pd
import pytest

from analysis.data.landmark import exclude_early_deaths

A = pd.DataFrame({"os_months": [0.5, 2.9, 3.0, 1.0, 12.0], "os_event": [1, 1, 1, 0, 0]}, index=[1, 2, 3, 4, 5])


def test_deaths_before_the_landmark_are_left_out_censored_patients_stay():
    assert exclude_early_deaths(A, 3).index.tolist() == [3, 4, 5]


def test_zero_months_keeps_the_frame_itself():
    assert exclude_early_deaths(A, 0) is A


@pytest.mark.parametrize("bad", [-1, float("nan"), "3", True])
def test_a_bad_landmark_is_named(bad):
    with pytest.raises(ValueError, match="exclude_deaths_within"):
        exclude_early_deaths(A, bad)
