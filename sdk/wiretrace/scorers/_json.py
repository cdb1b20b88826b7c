"""Scorers on JSON output: does it parse, does it match a JSON Schema."""

from __future__ import annotations

import json
from typing import Any

from wiretrace._op import op
from wiretrace._scorer import Scorer

from ._optional import require

__all__ = ["JSONSchema", "ValidJSON"]


def _parsed(output: Any) -> Any:
    """A string or bytes output parsed as JSON; anything else as it is."""
    if isinstance(output, str | bytes | bytearray):
        return json.loads(output)
    return output


class ValidJSON(Scorer):
    """``output`` is a string (or bytes) that parses as JSON."""

    @op
    def score(self, *, output: Any) -> bool:
        try:
            json.loads(output)
        except (TypeError, ValueError):
            return False
        return True


class JSONSchema(Scorer):
    """``output`` (parsed when it is a string) is valid against ``schema`` (jsonschema)."""

    schema: dict[str, Any]

    def ready(self) -> None:
        require("jsonschema", "JSONSchema")

    @op
    def score(self, *, output: Any) -> bool:
        jsonschema = require("jsonschema", "JSONSchema")
        try:
            value = _parsed(output)
        except ValueError:
            return False
        validator = jsonschema.validators.validator_for(self.schema)(self.schema)
        return bool(validator.is_valid(value))
