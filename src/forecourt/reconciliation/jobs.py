"""Jobs of the reconciliation context (the ``reconcile`` job is added with the service)."""

from __future__ import annotations
