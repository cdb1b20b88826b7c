"""The JSON API under ``/api/`` (design.md contract): one module per resource."""
