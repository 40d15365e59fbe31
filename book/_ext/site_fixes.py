"""Fixes to the built site (navigation, scripts, search): filled in by issue 13."""


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
