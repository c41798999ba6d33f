"""gunicorn's configuration for metrics in multiprocess mode: ``gunicorn -c deploy/observability/gunicorn.py``
with ``PROMETHEUS_MULTIPROC_DIR`` set to an empty directory of this process group (docs/observability.md)."""

from hall_common.metrics import child_exit, on_starting

__all__ = ["child_exit", "on_starting"]
