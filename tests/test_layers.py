"""The package's layers: imports run one way (report -> stats -> data; synthetic and sensitivity may use
those three), nothing outside the synthetic package imports it (except the scorecard notebook), nothing outside
the sensitivity package imports it (except the sensitivity notebook), and no import cycle."""
import ast
from pathlib import Path

from analysis.paths import NOTEBOOKS_DIR, PROJ_ROOT

PACKAGE = PROJ_ROOT / "analysis"
LAYERS = ("data", "stats", "report", "synthetic", "sensitivity")
#: modules outside the layers that every layer may import: leaves that import nothing of the package
SHARED = ("analysis.paths", "analysis.fastyaml", "analysis.memo")
#: what each layer may import (besides itself and the SHARED modules)
ALLOWED = {"data": set(), "stats": {"data"}, "report": {"stats", "data"},
           "synthetic": {"report", "stats", "data"}, "sensitivity": {"report", "stats", "data"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJ_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every ``analysis`` module a file imports, at the top or inside a function."""
    name = module_name(path) if path.is_relative_to(PACKAGE) else ""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "analysis"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "analysis":
                continue
            for a in node.names:  # `from analysis.stats import km` imports the module analysis.stats.km
                sub = f"{base}.{a.name}"
                found.add(sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists() else base)
    return found


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


MODULES = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_sits_in_a_layer():
    loose = [m for m in MODULES if layer(m) is None and m not in ("analysis", *SHARED)]
    assert not loose, f"modules outside the layers: {loose}"


def test_imports_run_one_way():
    upward = [(m, i) for m, imps in MODULES.items() for i in imps
              if layer(m) and layer(i) and layer(i) != layer(m) and layer(i) not in ALLOWED[layer(m)]]
    assert not upward, f"imports against the layering: {upward}"
    for shared in SHARED:
        assert MODULES[shared] <= {"analysis"}, f"{shared} imports nothing of the package"


def test_no_import_cycle():
    graph = {m: {i for i in imps if i in MODULES and i != m} for m, imps in MODULES.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):  # depth-first search; grey (1) on the stack, black (2) done
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, f"import cycles: {cycles}"


def test_the_cycle_check_finds_a_cycle(tmp_path):
    """The walker sees relative and function-level imports (what a cycle would be made of)."""
    f = PACKAGE / "synthetic" / "interval_fit.py"
    assert "analysis.synthetic.calibrate" in imports_of(f)
    g = tmp_path / "x.py"
    g.write_text("def f():\n    from analysis.synthetic import build\n", encoding="utf-8")
    assert "analysis.synthetic.build" in imports_of(g)


def test_only_the_scorecard_notebook_imports_the_synthetic_package():
    users = sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.py") if any(layer(i) == "synthetic" for i in imports_of(p)))
    assert users == ["06-scorecard"]


def test_only_the_sensitivity_notebook_imports_the_sensitivity_package():
    users = sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.py") if any(layer(i) == "sensitivity" for i in imports_of(p)))
    assert users == ["07-sensitivity"]
