"""Turn a raw webhook body into the value rules see as ``$``.

Parsing happens *after* signature verification and never feeds back into it:
signatures are always checked on the raw bytes.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from sources.exceptions import BodyError

__all__ = ["MAX_DEPTH", "MAX_FORM_FIELDS", "parse_body", "parse_content_type"]

MAX_DEPTH = 64  # deeper JSON is refused: no real provider nests this far, and the mapper recurses
MAX_FORM_FIELDS = 10_000

_FORM = "application/x-www-form-urlencoded"
_JSON_TYPES = frozenset({"application/json", "text/json"})
# One JSON token of interest for error location: a whole string (skipped), a bracket, or a
# non-standard constant that Python's json module would otherwise accept.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|([\[\]{}])|(-?Infinity|NaN)')


def parse_content_type(value: str | None) -> tuple[str | None, dict[str, str]]:
    """Split a ``Content-Type`` value into its media type and parameters.

    Parameters
    ----------
    value : str or None
        The raw header value, e.g. ``'application/json; charset="UTF-8"'``.

    Returns
    -------
    tuple
        The lower-cased media type (None when absent or blank) and a dict of
        parameters with lower-cased names and unquoted values.
    """
    if value is None or not value.strip():
        return None, {}
    media, *rest = value.split(";")
    params: dict[str, str] = {}
    for item in rest:
        name, sep, val = item.partition("=")
        if sep:
            params[name.strip().lower()] = val.strip().strip('"')
    return media.strip().lower() or None, params


def parse_body(raw: bytes, content_type: str | None) -> Any:
    """Parse a webhook body according to its content type.

    Parameters
    ----------
    raw : bytes
        The body exactly as received.
    content_type : str or None
        The ``Content-Type`` header. A missing one is treated as JSON, which is
        what every JSON-sending provider in our corpus means by omitting it.

    Returns
    -------
    Any
        For JSON (``application/json``, ``application/*+json``, ``text/json`` or
        no content type): the decoded value, with integers kept exact. For
        ``application/x-www-form-urlencoded``: a dict where a field sent once is a
        string and a repeated field is a list of strings in arrival order.

    Raises
    ------
    BodyError
        ``status=415`` for any other media type or an unknown charset;
        ``status=400`` for malformed JSON (with line and column), bytes that are
        not valid in the charset, ``NaN``/``Infinity`` literals, or nesting deeper
        than ``MAX_DEPTH``.

    Examples
    --------
    >>> parse_body(b"a=1&b=2&a=3", "application/x-www-form-urlencoded")
    {'a': ['1', '3'], 'b': '2'}
    """
    media, params = parse_content_type(content_type)
    is_json = media is None or media in _JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))
    if not is_json and media != _FORM:
        raise BodyError(415, f"unsupported content type {media!r}: expected JSON or {_FORM}")
    charset = params.get("charset", "utf-8")
    text = _decode(raw, charset)
    return _parse_json(text) if is_json else _parse_form(text, charset)


def _decode(raw: bytes, charset: str) -> str:
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        raise BodyError(415, f"unsupported charset {charset!r}") from None
    try:
        text = raw.decode(codec.name)
    except UnicodeDecodeError as exc:
        raise BodyError(400, f"body is not valid {codec.name}: invalid byte at offset {exc.start}") from None
    # A UTF-8 byte order mark is not JSON, but some .NET senders add one; it carries no data.
    return text[1:] if text.startswith("\ufeff") else text


def _parse_json(text: str) -> Any:
    if not text.strip():
        raise BodyError(400, "malformed JSON body: the body is empty")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BodyError(400, f"malformed JSON body: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except _ConstantError:
        raise BodyError(400, f"malformed JSON body: NaN and Infinity are not JSON{_locate(text, 'constant')}") from None
    except RecursionError:
        raise BodyError(
            400, f"malformed JSON body: nested deeper than {MAX_DEPTH} levels{_locate(text, 'depth')}"
        ) from None
    except ValueError as exc:
        # Python refuses integers with more than 4300 digits (CVE-2020-10735 guard).
        raise BodyError(400, f"malformed JSON body: {exc}") from None
    if _too_deep(value):
        raise BodyError(400, f"malformed JSON body: nested deeper than {MAX_DEPTH} levels{_locate(text, 'depth')}")
    return value


class _ConstantError(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _ConstantError(name)


def _too_deep(value: Any) -> bool:
    # Iterative walk over containers only: recursion here would hit the very limit we guard.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _locate(text: str, what: str) -> str:
    """Return ' at line L, column C' for the first offending token (error path only)."""
    depth = 0
    for match in _TOKEN.finditer(text):
        bracket, constant = match.group(1), match.group(2)
        if what == "constant" and constant:
            return _position(text, match.start())
        if what == "depth" and bracket:
            depth += 1 if bracket in "[{" else -1
            if depth > MAX_DEPTH:
                return _position(text, match.start())
    return ""


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f" at line {line}, column {column}"


def _parse_form(text: str, charset: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, encoding=charset, errors="strict", max_num_fields=MAX_FORM_FIELDS
        )
    except UnicodeDecodeError as exc:
        raise BodyError(
            400, f"form body is not valid {charset} after percent-decoding: invalid byte at offset {exc.start}"
        ) from None
    except ValueError as exc:
        raise BodyError(400, f"malformed form body: {exc}") from None
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name not in result:
            result[name] = value
        elif isinstance(result[name], list):
            result[name].append(value)
        else:
            result[name] = [result[name], value]
    return result
