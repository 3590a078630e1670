"""Compact GBNF grammars from the JSON schemas our typed outputs produce.

llama.cpp's own schema converter allows runs of newlines and tabs between JSON tokens, and a
270M model will happily spend its whole ``max_tokens`` on indentation and then abstain (seen on
the sample catalog: one Gemma generator call in three). The grammar built here admits no
whitespace at all, so every output token carries content. It covers the shapes pydantic emits
for our outputs (objects, enums/consts, strings with ``maxLength``, booleans, numbers, arrays,
``anyOf``/nullable, ``$ref`` into ``$defs``); for anything else it returns ``None`` and the
caller keeps llama.cpp's converter.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["compact_grammar"]

_CHAR = r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})'
_MAX_STRING = 400


class _Unsupported(Exception):
    pass


def _literal(text: str) -> str:
    """A GBNF string literal matching ``text`` exactly."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def _json_literal(value: Any) -> str:
    return _literal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


class _Builder:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.rules: dict[str, str] = {}
        self.by_ref: dict[str, str] = {}

    def rule(self, hint: str, body: str) -> str:
        base = re.sub(r"[^a-zA-Z0-9]+", "-", hint).strip("-").lower() or "r"
        name, n = base, 1
        while name in self.rules and self.rules[name] != body:
            n += 1
            name = f"{base}-{n}"
        self.rules[name] = body
        return name

    def ref(self, ref: str) -> str:
        if ref in self.by_ref:
            return self.by_ref[ref]
        if not ref.startswith("#/$defs/"):
            raise _Unsupported(ref)
        key = ref.removeprefix("#/$defs/")
        target = self.root.get("$defs", {}).get(key)
        if not isinstance(target, dict):
            raise _Unsupported(ref)
        name = self.rule(f"def-{key}", "")  # reserve the name: definitions may recurse
        self.by_ref[ref] = name
        self.rules[name] = self.visit(target, f"def-{key}")
        return name

    def visit(self, schema: dict[str, Any], hint: str) -> str:
        """A GBNF expression for ``schema``."""
        if "$ref" in schema:
            return self.ref(schema["$ref"])
        if "const" in schema:
            return _json_literal(schema["const"])
        if "enum" in schema:
            return "(" + " | ".join(_json_literal(v) for v in schema["enum"]) + ")"
        for key in ("anyOf", "oneOf"):
            if key in schema:
                parts = [self.visit(s, f"{hint}-{i}") for i, s in enumerate(schema[key])]
                # pydantic-ai wraps a described $ref in a one-member anyOf; leaving out the group
                # keeps the grammar the same text as for the plain schema.
                return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"
        kind = schema.get("type")
        if isinstance(kind, list):
            parts = [self.visit({**schema, "type": k}, f"{hint}-{k}") for k in kind]
            return "(" + " | ".join(parts) + ")"
        if kind == "object":
            return self.rule(hint, self.object(schema, hint))
        if kind == "string":
            if "pattern" in schema or "format" in schema:
                raise _Unsupported("string pattern/format")
            longest = int(schema.get("maxLength", _MAX_STRING))
            shortest = int(schema.get("minLength", 0))
            return f'"\\"" char{{{shortest},{longest}}} "\\""'
        if kind == "boolean":
            return '("true" | "false")'
        if kind == "null":
            return '"null"'
        if kind == "integer":
            return '("-"? [0-9]{1,15})'
        if kind == "number":
            return '("-"? [0-9]{1,15} ("." [0-9]{1,10})?)'
        if kind == "array":
            item = self.visit(schema.get("items", {}), f"{hint}-item")
            if item == "":
                raise _Unsupported("array without items")
            return f'("[" ({item} ("," {item})*)? "]")'
        raise _Unsupported(str(kind))

    def object(self, schema: dict[str, Any], hint: str) -> str:
        properties: dict[str, Any] = schema.get("properties") or {}
        if not properties:
            raise _Unsupported("free-form object")
        # Every property in schema order: our output models declare all fields required, and
        # emitting an optional one too still validates.
        parts = []
        for i, (name, sub) in enumerate(properties.items()):
            sep = "," if i else ""
            key = _literal(sep + json.dumps(name, ensure_ascii=False) + ":")
            parts.append(f"{key} {self.visit(sub, f'{hint}-{name}')}")
        return '"{" ' + " ".join(parts) + ' "}"'


def compact_grammar(schema: dict[str, Any]) -> str | None:
    """A whitespace-free GBNF grammar for ``schema``, or ``None`` if a shape is not covered."""
    builder = _Builder(schema)
    try:
        root = builder.visit(schema, "root-value")
    except _Unsupported:
        return None
    lines = [f"root ::= {root}", f"char ::= {_CHAR}"]
    lines += [f"{name} ::= {body}" for name, body in builder.rules.items()]
    return "\n".join(lines) + "\n"
