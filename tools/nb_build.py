"""Developer helper: write notebooks/*.ipynb from the cell sources in tools/notebooks_src.py.

Source notebooks are committed without outputs. Run: python tools/nb_build.py [OUT_DIR]  (default: notebooks/)
"""
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from notebooks_src import NOTEBOOKS  # noqa: E402


def build(out_dir: Path = ROOT / "notebooks"):
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}}
        for i, cell in enumerate(cells):
            kind, src = cell[0], cell[1].strip("\n")
            tags = cell[2] if len(cell) > 2 else []
            c = nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
            c.id = f"{name[:2]}-{i:02d}"
            if tags:
                c.metadata["tags"] = tags
            nb.cells.append(c)
        nbformat.write(nb, out_dir / f"{name}.ipynb")
        print("wrote", name)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "notebooks")
