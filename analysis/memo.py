"""Results of pure functions kept on disk between processes: the builds of ``make sensitivity``.

The scenario reports of ``make sensitivity`` each run the scorecard and the sensitivity section in
their own kernel, and compute many of the same things: the parts of the headline results that the
multiverses share (:mod:`analysis.sensitivity.headline`) and what the consistency audit derives
from the published numbers alone (:mod:`analysis.synthetic.audit`). With ``RR_CACHE`` naming a
folder (the Makefile sets it to ``build/sensitivity/.cache`` for those two sections), a
:class:`StoredMemo` keeps each such result in a file named by the SHA-256 of its context (what
the key does not say: the analysis code, :func:`code_digest`, and for the headline parts the
cohort's contents) and its key, so it is only ever used for the same inputs; what is loaded is the
pickled value itself, the same bits. Without ``RR_CACHE`` the memo is a plain dict (one process).
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
from pathlib import Path
from typing import Callable

__all__ = ["CACHE_ENV", "StoredMemo", "stored_memo", "code_digest", "frame_digest", "memoised"]

#: The environment variable naming the folder of stored results (unset: memo in memory only).
CACHE_ENV = "RR_CACHE"


class StoredMemo(dict):
    """A memo ``{key: value}`` whose values (those ``stored(key)`` accepts) are also files in ``folder``.

    Files are written under a temporary name and renamed, so processes sharing the folder never
    read half a file; a file that cannot be read or written is ignored (the value is computed).
    Keys must have a stable ``repr`` (tuples of strings, numbers and dataclasses).
    """

    def __init__(self, folder: str | Path, context: str, stored: Callable[[object], bool] | None = None):
        super().__init__()
        self.folder, self.context = Path(folder), context
        self.stored = stored or (lambda key: True)

    def _file(self, key) -> Path:
        return self.folder / (hashlib.sha256(f"{self.context}\0{key!r}".encode()).hexdigest() + ".pkl")

    def __contains__(self, key) -> bool:
        if dict.__contains__(self, key):
            return True
        if not self.stored(key):
            return False
        try:
            value = pickle.loads(self._file(key).read_bytes())  # noqa: S301  files this class wrote
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError):
            return False
        dict.__setitem__(self, key, value)
        return True

    def __setitem__(self, key, value) -> None:
        dict.__setitem__(self, key, value)
        if not self.stored(key):
            return
        target = self._file(key)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            tmp.replace(target)
        except OSError:
            tmp.unlink(missing_ok=True)


@functools.lru_cache(maxsize=None)
def code_digest() -> str:
    """SHA-256 of the analysis code: every ``analysis/`` source file and ``requirements.lock``."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for f in sorted((root / "analysis").rglob("*.py")) + [root / "requirements.lock"]:
        if f.is_file():
            h.update(str(f.relative_to(root)).encode() + b"\0" + hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def frame_digest(frame) -> str:
    """SHA-256 of a pandas DataFrame's contents, index, column names and dtypes."""
    import pandas as pd

    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    h.update(repr(list(frame.columns)).encode() + repr(frame.dtypes.astype(str).tolist()).encode())
    return h.hexdigest()


def stored_memo(part: str, context: str = "", stored: Callable[[object], bool] | None = None,
                folder: str | Path | None = None) -> dict:
    """A :class:`StoredMemo` in ``<folder or $RR_CACHE>/<part>`` (context: ``context`` and the code),
    or a plain dict when no folder is set."""
    folder = folder or os.environ.get(CACHE_ENV)
    if not folder:
        return {}
    return StoredMemo(Path(folder) / part, context + code_digest(), stored)


def memoised(memo: dict | None, key, compute: Callable[[], object]):
    """``memo[key]``, computed by ``compute()`` the first time (no memo: ``compute()``)."""
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]
