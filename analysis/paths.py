"""Every path of the project, built from the project root.

No notebook, test or script writes ``../``: they import these constants.
"""
from __future__ import annotations

from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJ_ROOT / "data"
SYNTHETIC_DIR = DATA_DIR / "synthetic"
TARGETS_FILE = DATA_DIR / "published_targets.yaml"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
PARAMS_DIR = PROJ_ROOT / "params"
REPORT_DIR = PROJ_ROOT / "report"
RESULTS_DIR = PROJ_ROOT / "results"
TESTS_DIR = PROJ_ROOT / "tests"
REFERENCE_DIR = TESTS_DIR / "reference"

#: Days per month used for every duration in the report (Julian year / 12).
DAYS_PER_MONTH = 365.25 / 12


def results_dir(section: str, out: Path | str | None = None) -> Path:
    """Folder where a notebook section writes its results (created on demand)."""
    base = Path(out) if out is not None else PROJ_ROOT
    d = base / "results" / section
    d.mkdir(parents=True, exist_ok=True)
    return d


def resolve(path: Path | str) -> Path:
    """A path given relative to the project root (as in params files) made absolute."""
    p = Path(path)
    return p if p.is_absolute() else PROJ_ROOT / p


def validated_data(out: Path | str) -> Path:
    """The validated cohort that the validation step saves for the notebooks (``make validate``).

    It holds the patient-level tables, identifiers included, so it sits beside the validation log
    (``<out>/validation/``), never in ``results/`` and never in git.
    """
    return resolve(out) / "validation" / "validated.pkl"
