"""A small, fast, deterministic YAML emitter for plain documents.

`dump(document)` writes the text `output.dump_yaml` wrote with PyYAML's
CSafeDumper (block style, 2-space indentation, key order as given, no
anchors/aliases, no line folding, multi-line strings as literal blocks) for
documents made of dict, list/tuple, str, int, float, bool and None - 8 to 14
times faster: PyYAML's pure-Python representer and serializer dominate its run
time on a large output tree, whatever the C emitter saves.

Design:

* One recursive pass over the document appends finished lines to a list,
  joined once at the end. No nodes, events or emitter states.
* How a string is written (plain, single-quoted, double-quoted or a literal
  block) is decided once per distinct string and memoised (plain dicts: a hit
  costs half an lru_cache hit), with str methods - plus one regex search for
  a non-ASCII string - never a Python loop or a regex per character.
* A string is plain only when PyYAML's own implicit resolver (the one
  `yaml.safe_load` uses) reads it back as a str - so `yes`, `off`, `~`,
  `1_000`, `0x1f`, `1:20`, `2024-01-01`, `.5`, `=`, `<<` ... are quoted - and
  libyaml's scalar analysis (what CSafeDumper applied) allows it: no leading
  or trailing space, no leading indicator, no `: `, ` #` or trailing `:`, no
  `---`/`...` start, printable characters only. Other one-line strings are
  single-quoted when printable, else double-quoted with escapes.
* A multi-line string is a literal block - `|`, `|-` (no final line break),
  `|+` (more than one), with an indentation indicator (`|2-`) when it starts
  with a space or a line break - unless a block could not hold it exactly
  (a line with trailing spaces, a tab, `\\r` or any other non-printable or
  line-break character): then it is double-quoted, on one line.
* A mapping key longer than 128 UTF-8 bytes or holding a line break is written
  as an explicit `? key` / `: value` entry, as libyaml does (an implicit key
  is one line of at most 1024 characters).

Differences from CSafeDumper's output, both in strings no compiler writes
(the two texts load back to the same value): a string holding U+2028 or
U+2029 is double-quoted (libyaml single-quotes it, the separator written
raw), and a line longer than 1,000,000 characters is never folded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from yaml.resolver import Resolver

__all__ = ["dump"]

# The implicit resolvers safe_load applies to a plain scalar, by its first character.
_IMPLICIT = Resolver.yaml_implicit_resolvers
_WILDCARD = tuple(regexp for _tag, regexp in _IMPLICIT.get(None, ()))
_RESOLVERS = {
    first: tuple(regexp for _tag, regexp in resolvers) + _WILDCARD
    for first, resolvers in _IMPLICIT.items()
    if first is not None
}

# Characters libyaml counts as printable, less the line breaks other than \n
# (\x85, \u2028, \u2029). A string with any other character is double-quoted.
_PRINTABLE = " -~\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
_special = re.compile(f"[^\n{_PRINTABLE}]").search
# What a double-quoted scalar escapes: the non-printable characters, \n, `"` and `\`.
_DOUBLE_QUOTED_ESCAPE = re.compile(f'[^{_PRINTABLE}]|["\\\\]')
_ESCAPES = {
    "\0": "\\0", "\x07": "\\a", "\x08": "\\b", "\t": "\\t", "\n": "\\n", "\x0b": "\\v",
    "\x0c": "\\f", "\r": "\\r", "\x1b": "\\e", '"': '\\"', "\\": "\\\\",
    "\x85": "\\N", "\u2028": "\\L", "\u2029": "\\P",
}  # fmt: skip
_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")
_NOT_PLAIN_FIRST = frozenset(" #,[]{}&*!|>'\"%@`")
_KEY_LIMIT = 128  # UTF-8 bytes: the longest key libyaml writes as an implicit key
_MEMO_LIMIT = 1 << 16  # distinct strings remembered (the memo is cleared when full)

# Memos: str -> its one-line text or block header (never ""); str key -> "key:"
# ("" for an explicit entry). The emitter looks up every string it writes.
_SCALARS: dict[str, str] = {}
_KEYS: dict[str, str] = {}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    escape = _ESCAPES.get(char)
    if escape is not None:
        return escape
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        raise _Unsupported(match.string, "with a lone surrogate ", error=ValueError)  # no UTF-8 for it
    if code <= 0xFF:
        return f"\\x{code:02X}"
    if code <= 0xFFFF:
        return f"\\u{code:04X}"
    return f"\\U{code:08X}"


def _double_quoted(text: str) -> str:
    return '"' + _DOUBLE_QUOTED_ESCAPE.sub(_escape, text) + '"'


def _plain(text: str) -> bool:
    """Whether `text` (not empty, printable, one line) can be written unquoted and read back as this str."""
    first = text[0]
    if first in _NOT_PLAIN_FIRST or (first in "-?:" and (len(text) == 1 or text[1] == " ")):
        return False
    if first in "-." and text.startswith(("---", "...")):
        return False
    last = text[-1]
    if last == " " or last == ":" or ": " in text or " #" in text:
        return False
    for regexp in _RESOLVERS.get(first, _WILDCARD):
        if regexp.match(text):
            return False  # reads back as a bool, null, number, timestamp, merge key ...
    return True


def _scalar(text: str) -> str:
    """How a str is written: its one-line form, or the header (`|`, `|2-` ...) of its literal block. Memoised."""
    if text.isascii():  # O(1); str.isprintable is then exactly libyaml's printable, and faster than a regex
        one_line = text.isprintable()
        special = not one_line and ("\n" not in text or not text.replace("\n", " ").isprintable())
    else:
        one_line = "\n" not in text
        special = _special(text) is not None
    if special:
        style = _double_quoted(text)
    elif one_line:
        if not text:
            style = "''"
        elif _plain(text):
            style = text
        else:
            style = "'" + text.replace("'", "''") + "'"
    elif text[-1] == " " or " \n" in text:
        style = _double_quoted(text)  # a literal block would lose a line's trailing spaces
    else:
        style = "|"
        if text[0] in " \n":
            style += "2"  # the first line's own indentation must not set the block's
        if text[-1] != "\n":
            style += "-"
        elif len(text) == 1 or text[-2] == "\n":
            style += "+"
    if len(_SCALARS) >= _MEMO_LIMIT:
        _SCALARS.clear()
    _SCALARS[text] = style
    return style


def _block(text: str, header: str, indent: str) -> str:
    """The lines of `text`'s literal block (whose header is `header`), indented by `indent`."""
    if header[-1] != "-":
        text = text[:-1]  # the last line break is the block's own
    if header[-1] != "+" and text[0] != "\n" and "\n\n" not in text:
        return indent + text.replace("\n", "\n" + indent) + "\n"  # the usual case: no empty line
    return "".join([f"{indent}{line}\n" if line else "\n" for line in text.split("\n")])


def _float(value: float) -> str:
    if value != value:
        return ".nan"
    if value == _INF:
        return ".inf"
    if value == -_INF:
        return "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)  # a YAML 1.1 float has a dot: 1e-09 -> 1.0e-09
    return text


_INF = float("inf")


class _Unsupported(Exception):
    def __init__(self, value: Any, what: str = "", in_key: bool = False, error: type[Exception] = TypeError) -> None:
        super().__init__()
        self.value = value
        self.what = what
        self.in_key = in_key  # a key's: the path is the mapping's
        self.error = error
        self.path: list[Any] = []  # innermost first


def _other_scalar(value: Any) -> str:
    """The text of a bool, int, float or None."""
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return _float(value)
    if value is None:
        return "null"
    raise _Unsupported(value)


def _key(key: Any) -> str:
    """`key:` for an implicit key, "" for a key that needs an explicit `? key` entry."""
    if type(key) is str:
        if (len(key) > _KEY_LIMIT // 4 and len(key.encode("utf-8", "surrogatepass")) > _KEY_LIMIT) or any(
            line_break in key for line_break in _LINE_BREAKS
        ):
            text = ""
        else:
            try:
                text = (_SCALARS.get(key) or _scalar(key)) + ":"  # one line: never a block
            except _Unsupported as error:
                error.what = "key " + error.what
                error.in_key = True
                raise
        if len(_KEYS) >= _MEMO_LIMIT:
            _KEYS.clear()
        _KEYS[key] = text
        return text
    try:
        text = _other_scalar(key)  # not memoised: 1, 1.0 and True are equal dict keys
    except _Unsupported:
        raise _Unsupported(key, "key ", in_key=True) from None
    return text + ":" if len(text) <= _KEY_LIMIT else ""


def _mapping(
    mapping: dict[Any, Any],
    indent: str,
    append: Callable[[str], None],
    state: list[str],
    prefix: str,
    keys: Callable[[str], str | None] = _KEYS.get,
    scalars: Callable[[str], str | None] = _SCALARS.get,
) -> None:
    """Append a non-empty mapping, keys at `indent`; `prefix` starts its first line (`indent`, `- ` ...)."""
    child = indent + "  "
    key = None
    try:
        for key, value in mapping.items():
            key_text = keys(key) or _key(key)
            if not key_text:
                _item(key, indent, append, state, prefix + "? ")
                _item(value, indent, append, state, indent + ": ")
                prefix = indent
                continue
            kind = type(value)
            if kind is str:
                text = scalars(value) or _scalar(value)
                append(f"{prefix}{key_text} {text}\n")
                if text is not value and text[0] == "|":
                    append(_block(value, text, child))
                    state[0] = text
            elif kind is dict:
                if value:
                    append(f"{prefix}{key_text}\n")
                    _mapping(value, child, append, state, child)
                else:
                    append(f"{prefix}{key_text} {{}}\n")
            elif kind is list or kind is tuple:
                if value:
                    append(f"{prefix}{key_text}\n")
                    _sequence(value, indent, append, state, indent)  # indentless: `key:\n- item`
                else:
                    append(f"{prefix}{key_text} []\n")
            else:
                append(f"{prefix}{key_text} {_other_scalar(value)}\n")
            prefix = indent
    except _Unsupported as error:
        if error.in_key:
            error.in_key = False
        else:
            error.path.append(key)
        raise


def _sequence(
    sequence: list[Any] | tuple[Any, ...],
    indent: str,
    append: Callable[[str], None],
    state: list[str],
    prefix: str,
    scalars: Callable[[str], str | None] = _SCALARS.get,
) -> None:
    """Append a non-empty sequence, dashes at `indent`; `prefix` starts its first line."""
    item_prefix = prefix + "- "
    rest = indent + "- "
    child = indent + "  "
    index = 0
    try:
        for index, value in enumerate(sequence):
            kind = type(value)
            if kind is str:
                text = scalars(value) or _scalar(value)
                append(f"{item_prefix}{text}\n")
                if text is not value and text[0] == "|":
                    append(_block(value, text, child))
                    state[0] = text
            elif kind is dict and value:
                _mapping(value, child, append, state, item_prefix)
            else:
                _item(value, indent, append, state, item_prefix)
            item_prefix = rest
    except _Unsupported as error:
        error.path.append(index)
        raise


def _item(value: Any, indent: str, append: Callable[[str], None], state: list[str], prefix: str) -> None:
    """Append a node that follows an indicator (`- `, `? `, `: `) at `indent`; `prefix` ends with it."""
    kind = type(value)
    if kind is str:
        text = _SCALARS.get(value) or _scalar(value)
        append(f"{prefix}{text}\n")
        if text[0] == "|":
            append(_block(value, text, indent + "  "))
            state[0] = text
    elif kind is dict:
        if value:
            _mapping(value, indent + "  ", append, state, prefix)
        else:
            append(f"{prefix}{{}}\n")
    elif kind is list or kind is tuple:
        if value:
            _sequence(value, indent + "  ", append, state, prefix)
        else:
            append(f"{prefix}[]\n")
    else:
        append(f"{prefix}{_other_scalar(value)}\n")


def _path(parts: list[Any]) -> str:
    text = ""
    for part in reversed(parts):
        if type(part) is int:
            text += f"[{part}]"
        elif type(part) is str and part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "the document root"


def dump(document: Any) -> str:
    """The YAML text of `document` - dicts, lists/tuples, str, int, float, bool, None - ending with a newline.

    Raises TypeError naming the type and the path (e.g. `groups[0].rules[3].expr`)
    of a value of any other type (subclasses included, as PyYAML's safe dumper
    did), ValueError for a str holding a lone surrogate (it has no UTF-8)."""
    out: list[str] = []
    append = out.append
    state = [""]  # the header of the last literal block written
    try:
        kind = type(document)
        if kind is dict and document:
            _mapping(document, "", append, state, "")
        elif (kind is list or kind is tuple) and document:
            _sequence(document, "", append, state, "")
        else:
            _item(document, "", append, state, "")
    except _Unsupported as error:
        raise error.error(
            f"cannot write a {type(error.value).__name__} {error.what}as YAML"
            f" (at {_path(error.path)}): {error.value!r:.80}"
        ) from None
    if state[0].endswith("+"):
        # A keep-chomped block's trailing empty lines run on to the end of the
        # stream: libyaml ends the document explicitly after one.
        out.append("...\n")
    return "".join(out)
