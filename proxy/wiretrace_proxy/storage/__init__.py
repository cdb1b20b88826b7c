"""Storage: the tables, engines, migrations and the queries over them.

Only modules here issue SQL; everything outside sees ``CallRecord`` and plain values.
``models`` holds the tables, ``rows`` converts records to rows and back, ``writes`` stores
records (the writer's batches, SDK span upserts), ``calls`` reads single calls and traces,
``listing`` pages through calls, and ``filters`` is the shared filter vocabulary.
"""
