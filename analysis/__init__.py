"""Statistics, data contract and report helpers for the anlotinib + ICI ES-SCLC report.

Submodules are imported explicitly (``from analysis import km``) so that importing
the package stays cheap.
"""
import sys

# jsonschema (imported by nbformat, hence by papermill and jupytext) loads rfc3987_syntax when it is
# installed (it comes with Jupyter), which compiles a grammar at import: over a second of CPU in
# every process, e.g. each notebook's papermill run. Its only use is checking the "iri" string
# format, which no notebook or schema of this project has; marking it absent skips it.
sys.modules.setdefault("rfc3987_syntax", None)

__all__ = ["paths"]
