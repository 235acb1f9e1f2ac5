"""Statistics, data contract and report helpers for the anlotinib + ICI ES-SCLC report.

Submodules are imported explicitly (``from analysis import km``) so that importing
the package stays cheap.
"""

__all__ = ["paths"]
