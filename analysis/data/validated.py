"""The validated cohort, saved once by the validation step and read by every notebook.

``python -m analysis.data.validate DATA --save FILE`` (the Makefile's validation step) writes, when
the cohort is valid, its tables as read (a pickle) and a manifest beside it (``FILE`` with
``.yaml``) holding the pickle's SHA-256 and every input file's path and SHA-256.
:func:`analysis.data.cohort.load_cohort` with ``validated=FILE`` takes the tables from it when the
manifest matches the files now at the data path, instead of reading and validating them again (six
notebooks: six reads and validations before). The file holds patient identifiers and dates (the
notebooks need them to guard their outputs), so it is kept beside the validation log, never in
``results/`` and never in git.
"""
from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import yaml

from analysis import fastyaml
from analysis.data.readers import _sha256


def validated_tables(raw, report) -> dict:
    """What is saved: the tables without the reader's row numbers, sources, checksums and warnings."""
    return {"tables": {k: df.drop(columns=["_row"], errors="ignore") for k, df in raw.tables.items()},
            "sources": dict(raw.sources), "sha256": dict(raw.sha256), "warnings": report.warnings}


def _manifest_path(validated: Path) -> Path:
    return validated.with_suffix(".yaml")


def save_validated(raw, report, validated: str | Path) -> Path:
    """Write a validated cohort for :func:`analysis.data.cohort.load_cohort`: tables (pickle), manifest.

    The pickle holds the patient-level tables as read (identifiers and dates included: the
    notebooks need them to guard their outputs against them), so it belongs beside the validation
    log, never in ``results/`` or in git. The manifest (same name, ``.yaml``) records the SHA-256
    of the pickle and of every input file. Both are written to temporary files and moved into place.
    """
    report.raise_for_errors()
    validated = Path(validated)
    validated.parent.mkdir(parents=True, exist_ok=True)
    blob = pickle.dumps(validated_tables(raw, report), protocol=pickle.HIGHEST_PROTOCOL)
    manifest = {"format": 1, "sha256": hashlib.sha256(blob).hexdigest(),
                "inputs": {t: {"file": str(Path(str(raw.sources[t]).split("#")[0]).resolve()),
                               "sha256": raw.sha256[t]} for t in sorted(raw.sha256)}}
    tmp = validated.with_name(validated.name + ".tmp")
    tmp.write_bytes(blob)
    tmp.replace(validated)
    man = _manifest_path(validated)
    tmp = man.with_name(man.name + ".tmp")
    tmp.write_text(yaml.safe_dump(manifest, sort_keys=True), encoding="utf-8")
    tmp.replace(man)
    return validated


def load_validated(validated: str | Path, data_path: str | Path) -> dict | None:
    """The tables saved by :func:`save_validated` if they are those of the files at ``data_path``, else None."""
    validated, man = Path(validated), _manifest_path(Path(validated))
    try:
        manifest = fastyaml.load(man.read_text(encoding="utf-8"))
        inputs = manifest["inputs"]
        data_path = Path(data_path).resolve()
        for entry in inputs.values():
            f = Path(entry["file"])
            if data_path not in (f, f.parent) or _sha256(f) != entry["sha256"]:
                return None
        blob = validated.read_bytes()
        if manifest.get("format") != 1 or hashlib.sha256(blob).hexdigest() != manifest["sha256"]:
            return None
        return pickle.loads(blob)
    except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError, pickle.UnpicklingError):
        return None
