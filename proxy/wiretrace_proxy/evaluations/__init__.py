"""Evaluations' pure parts: dataset digests, score summaries, compare and its bootstrap.

Numbers and JSON values in, numbers and JSON values out: no database, no I/O. The tables
and queries are in ``storage/datasets.py``, ``storage/eval_runs.py`` and
``storage/eval_calls.py``; the routes in ``api/datasets.py``, ``api/eval_runs.py`` and
``api/eval_compare.py``.
"""
