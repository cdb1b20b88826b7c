"""``python bench/bench_writer.py``: how many records per second the writer's work sustains.

The writer does two things per call, both off the event loop: the recorder builds a
``CallRecord`` from the capture (parse, redact, reassemble, usage, pricing, prompt digest)
and storage inserts it in batches. This times each alone and together, on one thread, for
the call shapes the proxy sees most (a non-streamed chat completion, a streamed one with
upstream usage, a Responses API stream), into a fresh SQLite file in WAL mode, as
``wiretrace serve`` opens it. Each figure is the best of ``--rounds`` rounds (the least
disturbed by other processes on the machine).

Compare the total with the proxy's own maximum call rate (``make bench``, wiretrace's
throughput at concurrency 64): the writer keeps up at full load only if it is well above it.
``--profile`` prints a cProfile of one round of building and inserting, top 40 by
cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wiretrace_proxy.callrecord import CallRecord  # noqa: E402
from wiretrace_proxy.forward.capture import Capture  # noqa: E402
from wiretrace_proxy.record.pricing import Pricer  # noqa: E402
from wiretrace_proxy.record.recorder import Recorder  # noqa: E402
from wiretrace_proxy.record.usage import TOKENIZERS  # noqa: E402
from wiretrace_proxy.settings import Settings  # noqa: E402
from wiretrace_proxy.storage.engine import create_engine_for  # noqa: E402
from wiretrace_proxy.storage.migrate import upgrade_to_head  # noqa: E402
from wiretrace_proxy.storage.writes import write_batch  # noqa: E402

from tests.factories import chat_request, chat_stream, make_capture  # noqa: E402

BATCH = 500


def _responses_stream() -> list[bytes]:
    events: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": {"id": "resp_1", "status": "in_progress"}}),
        ("response.output_text.delta", {"delta": "Hel", "output_index": 0}),
        ("response.output_text.delta", {"delta": "lo", "output_index": 0}),
        (
            "response.completed",
            {
                "response": {
                    "id": "resp_1",
                    "status": "completed",
                    "model": "gpt-4o-mini-2024-07-18",
                    "output": [
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": "Hello"}],
                        }
                    ],
                    "usage": {"input_tokens": 9, "output_tokens": 2, "total_tokens": 11},
                }
            },
        ),
    ]
    return [
        f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()
        for name, data in events
    ]


def _shapes() -> dict[str, Callable[[int], Capture]]:
    usage = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
    pieces = tuple(f"tok{i} " for i in range(20))
    responses_body = json.dumps(
        {"model": "gpt-4o-mini", "input": "Say hello", "stream": True}
    ).encode()
    return {
        "chat": lambda n: make_capture(n),
        "chat stream (20 chunks)": lambda n: make_capture(
            n,
            stream=True,
            request=chat_request(stream=True),
            chunks=chat_stream(pieces, usage=usage),
            usage_injected=True,
        ),
        "responses stream": lambda n: make_capture(
            n,
            path="/v1/responses",
            stream=True,
            request=responses_body,
            chunks=_responses_stream(),
        ),
    }


def _recorder() -> Recorder:
    settings = Settings()
    return Recorder(settings, "bench-salt", TOKENIZERS, Pricer.from_settings(settings))


def _insert_all(url: str, records: list[CallRecord]) -> float:
    engine = create_engine_for(url)
    upgrade_to_head(engine)
    t = time.perf_counter()
    for i in range(0, len(records), BATCH):
        result = write_batch(engine, records[i : i + BATCH])
        if result.failure is not None or result.refused:
            raise SystemExit(f"insert failed: {result}")
    elapsed = time.perf_counter() - t
    engine.dispose()
    return elapsed


def measure(name: str, make: Callable[[int], Capture], calls: int, rounds: int) -> dict[str, float]:
    recorder = _recorder()
    build_best = insert_best = float("inf")
    for r in range(rounds):
        captures = [make(r * calls + i + 1) for i in range(calls)]
        t = time.perf_counter()
        records = [recorder.build(c) for c in captures]
        build_best = min(build_best, time.perf_counter() - t)
        with tempfile.TemporaryDirectory() as tmp:
            insert_best = min(insert_best, _insert_all(f"sqlite:///{tmp}/w.db", records))
    return {
        "build_us": build_best / calls * 1e6,
        "insert_us": insert_best / calls * 1e6,
        "records_per_s": calls / (build_best + insert_best),
    }


def profile(make: Callable[[int], Capture], calls: int) -> None:
    recorder = _recorder()
    captures = [make(i + 1) for i in range(calls)]
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine_for(f"sqlite:///{tmp}/w.db")
        upgrade_to_head(engine)
        prof = cProfile.Profile()
        prof.enable()
        records = [recorder.build(c) for c in captures]
        for i in range(0, len(records), BATCH):
            write_batch(engine, records[i : i + BATCH])
        prof.disable()
        engine.dispose()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000, help="records per round and shape")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shape", choices=sorted(_shapes()), help="only this call shape")
    parser.add_argument("--profile", action="store_true", help="cProfile one round instead")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    shapes = _shapes()
    if args.shape:
        shapes = {args.shape: shapes[args.shape]}
    if args.profile:
        for make in shapes.values():
            profile(make, args.calls)
        return
    results = {name: measure(name, make, args.calls, args.rounds) for name, make in shapes.items()}
    print(f"{'shape':<26}{'build µs':>10}{'insert µs':>11}{'records/s':>11}")
    for name, r in results.items():
        print(f"{name:<26}{r['build_us']:>10.0f}{r['insert_us']:>11.0f}{r['records_per_s']:>11.0f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
