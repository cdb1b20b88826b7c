"""Storage: the ``calls`` table, engines, migrations and the queries over them.

Only ``storage.queries`` and ``writer`` issue SQL; everything else sees ``CallRecord``.
"""
