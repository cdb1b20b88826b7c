"""Deterministic OpenAI-shaped bodies and SSE streams for the fake upstream.

Everything is derived from the request payload (ids, created time, texts), so the same
request gives the same bytes whether it went direct or through the proxy.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

JSONDict = dict[str, Any]

ANSWER = "Hello! The fake upstream says hi, héllo 👋."
REFUSAL = "I'm sorry, I can't help with that."
RESPONSE_MODEL_SUFFIX = "-2024-07-18"


def _digest(payload: JSONDict) -> str:
    clean = {k: v for k, v in payload.items() if k not in ("stream_options", "stream")}
    return hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()


def sse(obj: object) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


def done() -> bytes:
    return b"data: [DONE]\n\n"


def error_event() -> bytes:
    body = {"error": {"message": "The server had an error.", "type": "server_error", "code": None}}
    return b"event: error\n" + sse(body)


def pieces(text: str) -> list[str]:
    """Split text into word-ish deltas, as a tokenizer would."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def count(text: str) -> int:
    return max(1, len(text.split()))


@dataclass
class ChatPlan:
    payload: JSONDict
    scenario: str

    @property
    def ident(self) -> str:
        return "chatcmpl-" + _digest(self.payload)[:24]

    @property
    def created(self) -> int:
        return 1_700_000_000 + int(_digest(self.payload)[:6], 16) % 10_000_000

    @property
    def model(self) -> str:
        return str(self.payload.get("model", "gpt-4o-mini")) + RESPONSE_MODEL_SUFFIX

    @property
    def n(self) -> int:
        return int(self.payload.get("n") or 1)

    def text(self, index: int) -> str:
        return ANSWER if index == 0 else f"{ANSWER} (choice {index})"

    def tool_calls(self) -> list[JSONDict]:
        calls = [("call_weather_paris", "get_weather", {"city": "Paris", "unit": "celsius"})]
        if self.scenario == "parallel_tools":
            calls.append(("call_weather_tokyo", "get_weather", {"city": "Tokyo", "unit": "c"}))
        return [
            {
                "id": cid,
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for cid, name, args in calls
        ]

    def usage(self) -> JSONDict:
        prompt = sum(count(str(m.get("content", ""))) for m in self.payload.get("messages", []))
        completion = sum(count(self.text(i)) for i in range(self.n))
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }

    def _logprobs(self, token: str) -> JSONDict | None:
        if not self.payload.get("logprobs"):
            return None
        entry = {"token": token, "logprob": -0.5, "bytes": list(token.encode()), "top_logprobs": []}
        key = "refusal" if self.scenario == "refusal" else "content"
        return {
            "content": [entry] if key == "content" else None,
            "refusal": [entry] if key == "refusal" else None,
        }

    def completion(self) -> JSONDict:
        choices = []
        for i in range(self.n):
            message: JSONDict = {
                "role": "assistant",
                "content": self.text(i),
                "refusal": None,
                "annotations": [],
            }
            finish = "stop"
            if self.scenario in ("tools", "parallel_tools"):
                message["content"] = None
                message["tool_calls"] = self.tool_calls()
                finish = "tool_calls"
            elif self.scenario == "refusal":
                message["content"] = None
                message["refusal"] = REFUSAL
            logprobs = None
            if self.payload.get("logprobs"):
                entries = [self._logprobs(p) or {} for p in pieces(self.text(i))]
                logprobs = {"content": [e["content"][0] for e in entries], "refusal": None}
            choices.append(
                {"index": i, "message": message, "logprobs": logprobs, "finish_reason": finish}
            )
        return {
            "id": self.ident,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "usage": self.usage(),
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }

    def _chunk(self, choices: list[JSONDict], include_usage: bool) -> bytes:
        obj: JSONDict = {
            "id": self.ident,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
            "choices": choices,
        }
        if include_usage:
            obj["usage"] = None
        return sse(obj)

    def _deltas(self, index: int) -> list[tuple[JSONDict, JSONDict | None]]:
        if self.scenario in ("tools", "parallel_tools"):
            out: list[tuple[JSONDict, JSONDict | None]] = []
            for t, call in enumerate(self.tool_calls()):
                head = {
                    "index": t,
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""},
                }
                out.append(({"tool_calls": [head]}, None))
                args = call["function"]["arguments"]
                for k in range(0, len(args), 7):
                    out.append(
                        (
                            {
                                "tool_calls": [
                                    {"index": t, "function": {"arguments": args[k : k + 7]}}
                                ]
                            },
                            None,
                        )
                    )
            return out
        key = "refusal" if self.scenario == "refusal" else "content"
        text = REFUSAL if key == "refusal" else self.text(index)
        return [({key: p}, self._logprobs(p)) for p in pieces(text)]

    def chunks(self, include_usage: bool) -> list[bytes]:
        first_delta = {"role": "assistant", "content": "", "refusal": None}
        if self.scenario == "refusal":
            first_delta = {"role": "assistant", "content": None, "refusal": ""}
        events = [
            self._chunk(
                [
                    {"index": i, "delta": first_delta, "logprobs": None, "finish_reason": None}
                    for i in range(self.n)
                ],
                include_usage,
            )
        ]
        per_choice = [self._deltas(i) for i in range(self.n)]
        for step in range(max(len(d) for d in per_choice)):
            for i, deltas in enumerate(per_choice):  # interleave choices like n>1 streams do
                if step < len(deltas):
                    delta, logprobs = deltas[step]
                    events.append(
                        self._chunk(
                            [
                                {
                                    "index": i,
                                    "delta": delta,
                                    "logprobs": logprobs,
                                    "finish_reason": None,
                                }
                            ],
                            include_usage,
                        )
                    )
        finish = "tool_calls" if self.scenario in ("tools", "parallel_tools") else "stop"
        for i in range(self.n):
            events.append(
                self._chunk(
                    [{"index": i, "delta": {}, "logprobs": None, "finish_reason": finish}],
                    include_usage,
                )
            )
        if include_usage:
            final: JSONDict = json.loads(self._chunk([], False)[6:])
            final["usage"] = self.usage()
            events.append(sse(final))
        events.append(done())
        return events


def chat_plan(payload: JSONDict, scenario: str) -> ChatPlan:
    return ChatPlan(payload, scenario)


@dataclass
class CompletionPlan:
    payload: JSONDict

    def _base(self) -> JSONDict:
        ident = "cmpl-" + _digest(self.payload)[:24]
        return {
            "id": ident,
            "object": "text_completion",
            "created": 1_700_000_000,
            "model": str(self.payload.get("model")),
        }

    def usage(self) -> JSONDict:
        prompt = count(str(self.payload.get("prompt", "")))
        return {
            "prompt_tokens": prompt,
            "completion_tokens": count(ANSWER),
            "total_tokens": prompt + count(ANSWER),
        }

    def completion(self) -> JSONDict:
        choice = {"text": ANSWER, "index": 0, "logprobs": None, "finish_reason": "stop"}
        return {**self._base(), "choices": [choice], "usage": self.usage()}

    def chunks(self, include_usage: bool) -> list[bytes]:
        events = []
        parts = pieces(ANSWER)
        for k, part in enumerate(parts):
            finish = "stop" if k == len(parts) - 1 else None
            obj = {
                **self._base(),
                "choices": [{"text": part, "index": 0, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                obj["usage"] = None
            events.append(sse(obj))
        if include_usage:
            events.append(sse({**self._base(), "choices": [], "usage": self.usage()}))
        events.append(done())
        return events


def completion_plan(payload: JSONDict) -> CompletionPlan:
    return CompletionPlan(payload)


@dataclass
class ResponsesPlan:
    payload: JSONDict

    def response(self, status: str = "completed") -> JSONDict:
        ident = "resp_" + _digest(self.payload)[:24]
        text_in = json.dumps(self.payload.get("input", ""))
        done_output = status == "completed"
        return {
            "id": ident,
            "object": "response",
            "created_at": 1_700_000_000,
            "status": status,
            "model": str(self.payload.get("model", "gpt-4o-mini")) + RESPONSE_MODEL_SUFFIX,
            "output": [
                {
                    "id": "msg_" + ident[5:],
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": ANSWER, "annotations": []}],
                }
            ]
            if done_output
            else [],
            "usage": {
                "input_tokens": count(text_in),
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": count(ANSWER),
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": count(text_in) + count(ANSWER),
            }
            if done_output
            else None,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }

    def events(self) -> list[bytes]:
        final = self.response()
        item = final["output"][0]
        seq = 0

        def ev(kind: str, **fields: Any) -> bytes:
            nonlocal seq
            seq += 1
            return f"event: {kind}\n".encode() + sse(
                {"type": kind, "sequence_number": seq, **fields}
            )

        out = [
            ev("response.created", response=self.response("in_progress")),
            ev(
                "response.output_item.added",
                output_index=0,
                item={**item, "status": "in_progress", "content": []},
            ),
            ev(
                "response.content_part.added",
                item_id=item["id"],
                output_index=0,
                content_index=0,
                part={"type": "output_text", "text": "", "annotations": []},
            ),
        ]
        for part in pieces(ANSWER):
            out.append(
                ev(
                    "response.output_text.delta",
                    item_id=item["id"],
                    output_index=0,
                    content_index=0,
                    delta=part,
                )
            )
        out += [
            ev(
                "response.output_text.done",
                item_id=item["id"],
                output_index=0,
                content_index=0,
                text=ANSWER,
            ),
            ev(
                "response.content_part.done",
                item_id=item["id"],
                output_index=0,
                content_index=0,
                part=item["content"][0],
            ),
            ev("response.output_item.done", output_index=0, item=item),
            ev("response.completed", response=final),
        ]
        return out


def responses_plan(payload: JSONDict) -> ResponsesPlan:
    return ResponsesPlan(payload)
