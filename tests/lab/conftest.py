"""pytest wiring for the lab checks: the fixtures and hooks live in :mod:`labkit`.

The helpers are in a module with a unique name (``labkit``) so that test modules import them
without clashing with other directories' ``conftest`` modules.
"""

from labkit import (  # noqa: F401
    backend,
    clause_runs,
    engine_background,
    lab,
    peer,
    pytest_collection_modifyitems,
    pytest_sessionfinish,
)
