"""Sensitivity analyses: scenarios as overlays on the parameters, their headline results computed
in one process, the multiverse of analytic choices, and the comparison of two results folders.
The fifth layer: it may import ``analysis.data``, ``analysis.stats`` and ``analysis.report``."""
