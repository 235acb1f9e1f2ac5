"""The conda environment (environment.yml) and the pip lock (requirements.lock) install the same
packages: every package the project imports (pyproject.toml) is in both, at the same major.minor
version, and Quarto is in the conda environment (it renders the report when on PATH)."""
from __future__ import annotations

import re

import yaml

from analysis.paths import PROJ_ROOT


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    lines = (PROJ_ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    return {_norm(line.split("==")[0]): line.split("==")[1].strip() for line in lines if "==" in line}


def _conda() -> tuple[dict[str, str | None], dict[str, str]]:
    env = yaml.safe_load((PROJ_ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda, pip = {}, {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for spec in dep.get("pip", []):
                if "==" in spec:
                    pip[_norm(spec.split("==")[0])] = spec.split("==")[1]
            continue
        m = re.match(r"([A-Za-z0-9_.-]+)\s*(?:=([\d.]+))?", dep)
        conda[_norm(m.group(1))] = m.group(2)
    return conda, pip


def test_environment_yml_and_requirements_lock_agree_on_the_packages():
    lock = _lock()
    conda, pip = _conda()
    pyproject = (PROJ_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    deps = re.findall(r'"([A-Za-z0-9_.-]+)"', pyproject.split("dependencies = [", 1)[1].split("]", 1)[0])
    deps += ["pytest", "pytest-xdist"]
    for dep in map(_norm, deps):
        assert dep in lock, f"{dep} is not in requirements.lock"
        assert dep in conda or dep in pip, f"{dep} is not in environment.yml"
        if dep in pip:
            assert pip[dep] == lock[dep], f"{dep}: environment.yml pins {pip[dep]}, the lock {lock[dep]}"
        else:
            assert conda[dep] is not None and lock[dep].startswith(conda[dep] + "."), \
                f"{dep}: environment.yml pins {conda[dep]}, the lock has {lock[dep]}"
    for name, version in conda.items():
        if name in lock:
            assert version is not None and lock[name].startswith(version + "."), name
    assert "quarto" in conda and conda["python"] == "3.11"
