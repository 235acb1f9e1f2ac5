"""Data layer: the data contract (schema), readers, validation, endpoint derivation and RECIST.
"""
