"""Secret redaction: nothing credential-shaped or credential-named is ever written.

Every value the recorder writes goes through this module, and nothing else masks secrets,
so one table says what a secret looks like:

- **By shape**: ``_SHAPES`` lists provider key formats (OpenAI, Anthropic, Google, AWS,
  GitHub, Slack, Hugging Face, Groq, xAI, Stripe, Cloudflare origin CA keys, JWTs) and
  ``Bearer <token>`` / ``Basic <user:pass in base64>`` values, matched anywhere in any
  string: a header value, a query parameter, an id, a prompt.
- **By name**: a header, query parameter, property or JSON field whose name holds a
  credential word (``key``, ``token``, ``secret``, ``password``, ``auth``, ``cookie``, ...:
  ``_SECRET_NAME``) has its string value masked whatever it looks like (an Azure 32-hex
  key, an AWS secret, a password). Counting words are not credentials: ``max_tokens``,
  ``prompt_tokens``, ``token_count``, ``tokenizer``, ``keys``, ``keywords``, ``author``
  and a logprob's ``token`` keep their values. In free text the same names are caught
  in ``name=value`` / ``name: value`` form (``?key=AIza...``, a form body, an echoed
  header line).

A mask keeps a fingerprint, not a hash: ``[redacted:<kind>…<last 4>]`` (``kind`` when the
shape is known, the last 4 only for a single token of 20 characters or more, so a short
password shows nothing). Providers show keys the same way (``sk-…a1b2``), so a user can
tell which of their keys a call used; a hash needs a salt this pure module does not have,
and the salted fingerprint of the API key itself is ``fingerprint_key`` (the
``key_fingerprint`` column).

Almost no body holds a secret, and walking a parsed body string by string costs more than
parsing it, so every entry point first asks a cheaper question of the bytes: can anything
here match at all (``_suspect``)? Each prefilter is a necessary condition for one row's
mask, written as a regex with the literals one of which any match holds: one
Aho-Corasick scan finds the literals, and only the prefilters whose literals are there are
run; a ``\\u00XX`` escape of a character the rows look at, or a NUL (UTF-16/32 JSON),
makes the bytes suspect too. Only a hit pays for the walk.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote_plus

import ahocorasick_rs

from wiretrace_proxy.callrecord import JSON

REDACTED = "[redacted]"

EXTRA_SECRET_HEADERS = frozenset({"openai-organization", "openai-project"})
"""Account ids rather than credentials (no credential word in the name), masked as ever."""

_API_KEY_HEADERS = ("api-key", "x-api-key", "x-goog-api-key", "ocp-apim-subscription-key")
"""Where providers other than OpenAI take the API key (Azure, Anthropic, Google, APIM)."""

_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "bot", "digest", "apikey", "sharedkey"})
"""A masked ``Authorization``-style value keeps its scheme word, for reading."""

_ASCII = re.ASCII
_I = re.IGNORECASE | re.ASCII

# A name is secret when this finds a credential word in it (case-insensitive; ``-``, ``_``
# and camelCase need no care, since each word is a single stem). The lookarounds are the
# false positives: plural and counting forms (max_tokens, token_count, tokenizer, keys,
# keywords), words that merely contain a stem (monkey, author, design) and OpenAI's
# ``prompt_cache_key`` (a cache bucket name, not a credential).
_STEMS = r"""
    (?<!mon)(?<!don)(?<!tur)(?<!hoc)(?<!whis)(?<!joc)(?<!cache)(?<!cache[-_])
    key(?!words?|board|s(?![a-z0-9]))
  | token(?!s|i[sz]|[-_ ]?(?:counts?|ids?|usage|limits?|budget|logprobs?|len|lengths?|num
                           |type|index))
  | secret | passw | pwd | credential | signature | cookie | jwt
  | auth(?!or(?!i[sz]))
  | (?<![a-z])sig(?![a-z])
"""
_SECRET_NAME = re.compile(_STEMS, _I | re.VERBOSE)


@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether a header, parameter, property or JSON field named ``name`` holds a secret."""
    return _SECRET_NAME.search(name) is not None


def _is_secret_header(lower: str) -> bool:
    return lower in EXTRA_SECRET_HEADERS or is_secret_name(lower)


# --- the shape table -------------------------------------------------------------------


def _fixed(kind: str) -> Callable[[str], str]:
    return lambda _token: kind


def _openai_kind(token: str) -> str:
    head, _, rest = token.partition("-")
    project = rest.partition("-")[0]
    return f"{head}-{project}" if project in ("proj", "svcacct", "admin", "None") else head


def _first(n: int) -> Callable[[str], str]:
    return lambda token: token[:n]


def _bounded_or_random(match: re.Match[str]) -> bool:
    """An ``sk-`` key at a word start, or glued to a word but random-looking (upper, lower
    and digit): ``task-management-system`` is prose, ``xsk-AbC123...`` is not."""
    start = match.start()
    if start == 0 or not (match.string[start - 1].isalnum() or match.string[start - 1] == "_"):
        return True
    token = match.group(0)
    return (
        any(c.isdigit() for c in token)
        and any(c.isupper() for c in token)
        and any(c.islower() for c in token)
    )


def _always(_match: re.Match[str]) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Shape:
    """One credential format: how it looks, and the kind shown in its mask."""

    name: str
    pattern: re.Pattern[str]
    kind: Callable[[str], str]
    valid: Callable[[re.Match[str]], bool] = _always

    def mask(self, match: re.Match[str]) -> str:
        token = match.group(0)
        return _marker(token, self.kind(token)) if self.valid(match) else token


def _shape(
    name: str,
    pattern: str,
    kind: Callable[[str], str],
    valid: Callable[[re.Match[str]], bool] = _always,
) -> Shape:
    return Shape(name, re.compile(pattern, _ASCII), kind, valid)


# Formats after detect-secrets (Yelp, Apache-2.0: keyword, AWS, GitHub, Slack, JWT
# detectors) and gitleaks (MIT: Hugging Face, Groq, xAI, Stripe, Cloudflare origin CA
# rules), loosened on length where providers have changed it. A new row needs its literal
# in ``PREFILTERS`` (the table-driven tests check every row against the fast paths).
_SHAPES: tuple[Shape, ...] = (
    _shape("anthropic", r"sk-ant-[A-Za-z0-9_\-]{20,}", _fixed("sk-ant")),
    _shape("openai", r"(?:sk|rk|pk)-[A-Za-z0-9_\-]{16,}", _openai_kind, _bounded_or_random),
    _shape("google", r"AIza[0-9A-Za-z_\-]{35}", _fixed("AIza")),
    _shape("google-oauth", r"ya29\.[0-9A-Za-z_\-]{20,}", _fixed("ya29")),
    _shape("aws", r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])", _first(4)),
    _shape(
        "github",
        r"(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})",
        lambda token: "github_pat" if token.startswith("github_pat_") else token[:3],
    ),
    _shape("slack", r"xox[abposr]-[A-Za-z0-9\-]{10,}", _first(4)),
    _shape("huggingface", r"hf_[A-Za-z0-9]{30,}", _fixed("hf")),
    _shape("groq", r"gsk_[A-Za-z0-9]{40,}", _fixed("gsk")),
    _shape("xai", r"xai-[A-Za-z0-9]{40,}", _fixed("xai")),
    _shape("stripe", r"[rs]k_(?:live|test)_[A-Za-z0-9]{16,}", _first(7)),
    _shape("cloudflare-origin-ca", r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}", _fixed("cf")),
    _shape(
        "jwt", r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]*)?", _fixed("jwt")
    ),
)

_BEARER = re.compile(r"\b(bearer)( +)([A-Za-z0-9\-._~+/]+=*)", _I)
_BASIC = re.compile(r"\b(basic)( +)([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])", _I)

# ``name=value`` / ``name: value`` in free text: led by the credential word, the name's
# start is found by walking back (a leading ``[A-Za-z0-9_-]*`` would try every position).
_ASSIGNMENT = re.compile(
    rf"(?:{_STEMS})[A-Za-z0-9_\-]*(?P<sep>\\?[\"']?[ ]*[:=][ ]*\[?[ ]*\\?[\"']?)"
    r"(?P<scheme>(?:bearer|basic|token)[ ]+)?(?P<value>[^\s\"'\\&,;<>()\[\]{}]+)",
    _I | re.VERBOSE,
)
_LINE_END = re.compile(r"[\r\n\"\\]")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

# --- the prefilters --------------------------------------------------------------------
# Each prefilter is a regex that is a necessary condition for the rows it stands for (a
# superset of their matches), with the literals one of which is in every match of it.
# ``_suspect`` finds every literal in one Aho-Corasick scan of the ASCII-lowercased bytes
# (``ahocorasick_rs``: SIMD-accelerated, so a clean body costs one pass, not eleven regex
# scans) and then runs only the prefilters whose literals it found, on the bytes (``raw``)
# or on their lowercased copy. ``_TAIL`` is what follows a credential word in a name that
# matters: the rest of a JSON object key up to its ``":``, or ``=`` / ``:`` after it in
# text (quoted, escaped or spaced as ``_ASSIGNMENT`` allows).


@dataclass(frozen=True, slots=True)
class Prefilter:
    """A scan that every text one of its rows masks passes (see above)."""

    pattern: re.Pattern[bytes]
    lower: bool
    """Searched in the ASCII-lowercased bytes, not the bytes themselves."""
    literals: tuple[bytes, ...]
    """Every match of ``pattern`` holds one of these (in any ASCII case)."""
    head: re.Pattern[bytes] | None = None
    """For a credential-word row: ``pattern`` without its ``_TAIL``; with ``text``, what
    ``_word_then_tail`` needs to answer as ``pattern`` does, in linear time:
    ``pattern.search`` would scan from every word to the next quote, so prose dense with
    "key", "token" and "author" cost tens of milliseconds per 8 KB."""
    text: re.Pattern[bytes] | None = None
    """``head`` followed by ``_TAIL``'s first branch (``_TEXT_TAIL``), as a lookahead."""

    def search(self, data: bytes, lower: bytes) -> bool:
        """Whether ``pattern`` matches ``data`` (or ``lower``), as cheaply as it can tell."""
        if self.head is not None and self.text is not None:
            return _word_then_tail(lower, self.head, self.text)
        return self.pattern.search(lower if self.lower else data) is not None


def _prefilter(pattern: bytes, *literals: bytes, lower: bool = False) -> Prefilter:
    return Prefilter(re.compile(pattern), lower, literals)


def _word_prefilter(head: bytes, *literals: bytes) -> Prefilter:
    """A credential word (``head``) followed by ``_TAIL``, searched in the lowercased bytes."""
    text = re.compile(head + rb"(?=" + _TEXT_TAIL + rb")")
    return Prefilter(re.compile(head + _TAIL), True, literals, re.compile(head), text)


_TEXT_TAIL = rb"""[a-z0-9_\-]*[\\"']*[ ]*[:=]"""
_TAIL = rb"""(?:""" + _TEXT_TAIL + rb"""|(?:[^"\\]|\\.)*+"\s*:)"""
_STRING_RUN = re.compile(rb"""(?:[^"\\]++|\\.)*+""")
"""``_TAIL``'s second branch up to its quote: it stops at a quote, at a backslash that
cannot pair (before a newline or the end), or at the end."""
_KEY_END = re.compile(rb"\s*:")


def _word_then_tail(lower: bytes, head: re.Pattern[bytes], text: re.Pattern[bytes]) -> bool:
    """``re.search(head + _TAIL, lower)``, in linear time.

    ``text`` (``head`` with ``_TAIL``'s first branch as a lookahead) is one scan. The second
    branch (the word is inside a JSON object key) runs from the word to where
    ``_STRING_RUN`` stops, which must be a quote followed by ``:``. Every word before that
    stop reaches the same stop (a word ends in a letter, so no escape pair straddles its
    end), so one run answers for all of them, and the search goes on after it.
    """
    if text.search(lower) is not None:
        return True
    position = 0
    while (word := head.search(lower, position)) is not None:
        stop = _STRING_RUN.match(lower, word.end()).end()  # type: ignore[union-attr]  # never None
        if stop >= len(lower):
            return False
        if lower[stop] == 0x22 and _KEY_END.match(lower, stop + 1) is not None:  # '"'
            return True
        position = stop + 1
    return False


PREFILTERS: tuple[Prefilter, ...] = (
    _prefilter(
        rb"-(?:(?<=k-)[A-Za-z0-9_\-]{16}|(?<=xox[abposr]-)|(?<=xai-)|(?<=v1\.0-))",
        b"k-",
        *(b"xox" + bytes([c]) + b"-" for c in b"abposr"),
        b"xai-",
        b"v1.0-",
    ),
    _prefilter(
        rb"_(?:(?<=gh[pousr]_)|(?<=github_pat_)|(?<=hf_)|(?<=gsk_)|(?<=k_live_)|(?<=k_test_))",
        *(b"gh" + bytes([c]) + b"_" for c in b"pousr"),
        b"github_pat_",
        b"hf_",
        b"gsk_",
        b"k_live_",
        b"k_test_",
    ),
    _prefilter(rb"A(?:Iza|[KS]IA|BIA|CCA|3T)", b"AIza", b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"A3T"),
    _prefilter(rb"y(?:J(?<=eyJ)|a29\.)", b"eyJ", b"ya29."),
    # A JSON ``\u00XX`` escape of printable ASCII, which could spell what any row looks
    # for (``&``, ``<`` and ``>``, which Go escapes and no row needs, are left out).
    _prefilter(rb"\\u00(?!26|3[cCeE])[2-7][0-9a-fA-F]", *(b"\\u00%d" % d for d in range(2, 8))),
    # Credential words (key, token, cookie; passw, pwd, jwt; secret, credential; sig;
    # auth) with their ``_TAIL``, and ``Bearer`` / ``Basic`` with eight token characters.
    _word_prefilter(rb"k(?:ey|en(?<=token)(?!s)|ie(?<=cookie))", b"key", b"token", b"cookie"),
    _word_prefilter(rb"w(?:(?<=passw)|d(?<=pwd)|t(?<=jwt))", b"passw", b"pwd", b"jwt"),
    _word_prefilter(rb"cr(?:et(?<=secret)|edential)", b"secret", b"credential"),
    _word_prefilter(rb"sig", b"sig"),
    _word_prefilter(rb"auth", b"auth"),
    _prefilter(rb"b(?:earer|asic) +[a-z0-9\-._~+/\\]{8}", b"bearer ", b"basic ", lower=True),
)

_LITERAL_OWNERS: tuple[int, ...] = tuple(
    i for i, prefilter in enumerate(PREFILTERS) for _ in prefilter.literals
)
"""For each literal of ``_LITERALS`` (in order), the index of its prefilter."""
_LITERALS = ahocorasick_rs.BytesAhoCorasick(
    [literal.lower() for prefilter in PREFILTERS for literal in prefilter.literals],
    implementation=ahocorasick_rs.Implementation.DFA,
)

_MARKED = re.compile(r"(?:[A-Za-z0-9]+ )?\[redacted(?::[A-Za-z0-9_\-]*(?:…[^\]\s]{1,4})?)?\]")
"""A value this module already masked (masking is idempotent)."""

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
"""ASCII-only JSON: the encoder escapes no printable ASCII but ``"`` and ``\\``, so a string
in a value holds a row's text exactly when the encoded value passes its prefilter."""


def _suspect(data: bytes) -> bool:
    """False when no row can match any text in ``data`` (raw, JSON or JSON's strings):
    no prefilter matches (a NUL, from UTF-16/32 JSON, is suspect as such)."""
    if b"\x00" in data:
        return True
    lower = data.lower()
    found = _LITERALS.find_matches_as_indexes(lower, overlapping=True)
    for index in {_LITERAL_OWNERS[literal] for literal, _, _ in found}:
        if PREFILTERS[index].search(data, lower):
            return True
    return False


# --- masks -----------------------------------------------------------------------------


def _marker(secret: str, kind: str | None, tail: bool = True) -> str:
    """``[redacted:kind…last4]``; the last 4 only for one token of 20+ characters."""
    single = tail and len(secret) >= 20 and not any(c in secret for c in " ;,=:")
    end = f"…{secret[-4:]}" if single else ""
    return f"[redacted:{kind or ''}{end}]" if kind or end else REDACTED


def _kind_of(token: str) -> str | None:
    for shape in _SHAPES:
        match = shape.pattern.fullmatch(token)
        if match is not None and shape.valid(match):
            return shape.kind(token)
    return None


def _mask_scheme_token(match: re.Match[str]) -> str:
    token = match.group(3)
    if match.re is _BASIC:
        if not _is_basic_credential(token):
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{_marker(token, 'basic', tail=False)}"
    kind = _kind_of(token)
    if kind is None and not (len(token) >= 20 or any(c.isdigit() for c in token)):
        return match.group(0)  # "bearer of bad news"
    if len(token) < 8:
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{_marker(token, kind)}"


def _is_basic_credential(token: str) -> bool:
    try:
        decoded = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


def _mask_assignments(text: str) -> str:
    out: list[str] = []
    last = 0
    for match in _ASSIGNMENT.finditer(text):
        start = match.start()
        while start > 0 and text[start - 1] in _NAME_CHARS:
            start -= 1
        name = text[start : match.start("sep")]
        value, end = match.group("value"), match.end("value")
        if "cookie" in name.lower():  # a cookie line is pairs: all of it, to its end
            found = _LINE_END.search(text, end)
            end = found.start() if found else len(text)
            value = text[match.start("value") : end]
        query = match.group("sep") == "=" and (start == 0 or text[start - 1] in "?&;")
        plausible = query or (len(value) >= 6 and any(c.isdigit() for c in value))
        if not is_secret_name(name) or not (plausible or len(value) >= 16):
            continue
        out.append(text[last : match.start("value")])
        out.append(_marker(value, _kind_of(value)))
        last = end
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def _mask_text(text: str) -> str:
    """Every row on ``text``, no prefilter: what the fast paths must agree with."""
    text = _BEARER.sub(_mask_scheme_token, text)
    text = _BASIC.sub(_mask_scheme_token, text)
    text = _mask_assignments(text)
    for shape in _SHAPES:
        text = shape.pattern.sub(shape.mask, text)
    return text


_CLEAN_TEXTS: dict[str, None] = {}
"""Short texts ``_suspect`` found clean (header values, paths, ids repeat call after call):
a dict lookup instead of a scan. Only clean texts are kept, so it never holds a secret."""
_CLEAN_TEXT_CHARS = 256
_CLEAN_TEXTS_LIMIT = 4096  # then cleared: clients choose the values


def _remember_clean(texts: list[str]) -> None:
    if len(_CLEAN_TEXTS) + len(texts) > _CLEAN_TEXTS_LIMIT:
        _CLEAN_TEXTS.clear()
    for text in texts:
        if len(text) <= _CLEAN_TEXT_CHARS:
            _CLEAN_TEXTS[text] = None


def mask_secrets(text: str) -> str:
    """Mask credential-shaped substrings (and ``name=value`` credentials) in free text."""
    if text in _CLEAN_TEXTS:
        return text
    if not _suspect(text.encode("utf-8", "surrogatepass")):
        _remember_clean([text])
        return text
    return _mask_text(text)


def mask_value(value: str) -> str:
    """The whole of a value whose name says it is a secret, masked (an auth scheme word
    such as ``Bearer`` is kept); an empty or already masked value is returned as it is."""
    if not value or _MARKED.fullmatch(value):
        return value
    scheme, space, rest = value.strip().partition(" ")
    if space and scheme.lower() in _AUTH_SCHEMES and rest.strip():
        token = rest.strip()
        if scheme.lower() == "basic":
            return f"{scheme} {_marker(token, 'basic', tail=False)}"
        return f"{scheme} {_marker(token, _kind_of(token))}"
    token = value.strip()
    return _marker(token, _kind_of(token))


# --- the things a record holds ---------------------------------------------------------


def redact_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict with secret values masked (repeated names joined by ', ').

    A header named like a credential is masked whole; the others as ``mask_secrets`` masks
    them, but the values not already known clean are scanned once, joined (a prefilter
    that matches one value matches the joined text), rather than one by one: they almost
    never hold a key.
    """
    pairs = [(name.lower(), value) for name, value in headers]
    secret = [_is_secret_header(lower) for lower, _ in pairs]
    unknown = [
        value
        for (_, value), hidden in zip(pairs, secret, strict=True)
        if not hidden and value not in _CLEAN_TEXTS
    ]
    clean = not unknown or not _suspect("\n".join(unknown).encode("utf-8", "surrogatepass"))
    if clean and unknown:
        _remember_clean(unknown)
    out: dict[str, str] = {}
    for (lower, value), hidden in zip(pairs, secret, strict=True):
        if hidden:
            safe = mask_value(value) or REDACTED
        else:
            safe = value if clean else mask_secrets(value)
        out[lower] = f"{out[lower]}, {safe}" if lower in out else safe
    return out


def redact_query(query: str) -> str:
    """A query string with each secret parameter's value masked (by name or by shape).

    Every other parameter is kept byte for byte; a masked value is written as its marker,
    unencoded, to be read.
    """
    if not query or ("%" not in query and "+" not in query and not _suspect(query.encode())):
        return query
    parts: list[str] = []
    for part in query.split("&"):
        name, eq, raw = part.partition("=")
        if not eq:
            parts.append(_mask_part(part))
            continue
        value = unquote_plus(raw)
        if is_secret_name(unquote_plus(name)) and value:
            parts.append(f"{_mask_part(name)}={mask_value(value)}")
        else:
            masked = mask_secrets(value)
            parts.append(f"{_mask_part(name)}={raw if masked == value else masked}")
    return "&".join(parts)


def _mask_part(text: str) -> str:
    decoded = unquote_plus(text)
    masked = mask_secrets(decoded)
    return text if masked == decoded else masked


def redact_properties(properties: dict[str, str]) -> dict[str, str]:
    """``Wiretrace-Property-*`` values: masked whole under a credential name, else by shape."""
    return {
        mask_secrets(name): mask_value(value) if is_secret_name(name) else mask_secrets(value)
        for name, value in properties.items()
    }


def mask_optional(text: str | None) -> str | None:
    """``mask_secrets`` for a value that may be absent (ids, names, paths)."""
    return None if text is None else mask_secrets(text)


def api_key_from_headers(headers: list[tuple[str, str]]) -> str | None:
    """The API key a request carries (``Authorization: Bearer``, then a provider's key
    header: ``api-key``, ``x-api-key``, ``x-goog-api-key``, ``Ocp-Apim-Subscription-Key``)."""
    found: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        if lower == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif lower in _API_KEY_HEADERS and value.strip():
            found.setdefault(lower, value.strip())
    return next((found[name] for name in _API_KEY_HEADERS if name in found), None)


def api_key_from_query(query: str) -> str | None:
    """The ``key`` / ``api_key`` query parameter (Google's way of passing the key), if any."""
    for part in query.split("&") if query else ():
        name, _, value = part.partition("=")
        if unquote_plus(name).lower().replace("-", "_") in ("key", "api_key", "apikey"):
            return unquote_plus(value) or None
    return None


def fingerprint_key(key: str, salt: str) -> str:
    """``<12 hex of salted sha256>…<last 4>``: stable per key, useless for recovering it."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()[:12]
    return f"{digest}…{key[-4:]}"


def is_clean_json_bytes(data: bytes) -> bool:
    """True when no string ``json.loads(data)`` yields, no object key in it, and no text
    decoded from ``data`` can hold a secret (by shape or by name)."""
    return not _suspect(data)


def redact_parsed(value: JSON, data: bytes) -> JSON:
    """``redact_json(value)`` for ``value = json.loads(data)`` (or a part of it).

    Why: scanning the bytes once costs a few microseconds; encoding or walking the parsed
    value costs ten or more, and the bytes are clean for nearly every call.
    """
    return value if is_clean_json_bytes(data) else _walk(value, mask_secrets)


def redact_json(value: JSON) -> JSON:
    """A JSON value with every secret masked: strings by shape, keys by shape, and the
    string values of credential-named fields whole.

    A container is first encoded (in C) and scanned once: a clean one is returned as it is,
    since the walk would only copy it.
    """
    if isinstance(value, str):
        return mask_secrets(value)
    if not isinstance(value, dict | list):
        return value
    try:
        text = _ENCODE(value)
    except (TypeError, ValueError, RecursionError):
        return _walk(value, mask_secrets)
    return _walk(value, mask_secrets) if _suspect(text.encode("ascii")) else value


def _walk(value: JSON, mask: Callable[[str], str], secret: bool = False) -> JSON:
    """Mask every string (``mask``) and credential-named fields' strings whole.

    A credential name masks the strings directly under it (a list of keys included) but
    not an object under it, whose own names decide: a JSON schema's ``"api_key":
    {"type": "string"}`` is a description, not a key. A logprob's ``token`` is text.
    """
    if isinstance(value, str):
        return mask_value(value) if secret else mask(value)
    if isinstance(value, list):
        return [_walk(item, mask, secret) for item in value]
    if isinstance(value, dict):
        logprob = "logprob" in value
        return {
            mask(key): _walk(item, mask, is_secret_name(key) and not (logprob and key == "token"))
            for key, item in value.items()
        }
    return value
