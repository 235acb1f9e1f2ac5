"""papermill's command line, started through :mod:`analysis` (so without jsonschema's IRI grammar,
see ``analysis/__init__.py``): ``python -m analysis.report.papermill_cli`` takes papermill's arguments.

It saves over a second of CPU per notebook; everything else is papermill's own CLI.
"""
from papermill.cli import papermill

if __name__ == "__main__":
    papermill()
