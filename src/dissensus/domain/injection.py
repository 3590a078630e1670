"""Text that addresses the model instead of describing the product: prompt-injection attempts.

Every text from a product, a seller or a customer is data. Prompts quote it, but a small model
may still obey it, so what a case teaches is held back (placed ``proposed`` for a person) when
the product's text looks like it is giving instructions. The patterns are deliberately broad and
cover a few languages; a false alarm only costs a review.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["injection_reason"]

_INJECTION = [
    re.compile(p, re.I)
    for p in (
        r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instruction|rule|prompt|previous|above"
        r"|system)s?\b",
        r"\b(system|developer)\s*(prompt|message|:)",
        r"\byou are (now|an? )\b",
        r"\b(new|add (a|this)|write (a|this)|create (a|this)) (rule|learning|lesson|instruction)",
        r"\b(always|never) (set|answer|output|extract|return|say)\b",
        r"<\|?/?(im_start|im_end|system|assistant|user)\|?>",
        r"^\s*(assistant|system|user)\s*:",
        r"\bjailbreak\b|\bDAN\b|\bprompt injection\b",
        # The same in other languages sellers write in.
        r"\b(ignorez|oubliez)\b.{0,40}\b(instructions?|consignes?|règles?)\b",
        r"\b(ignoriere|vergiss)\b.{0,40}\b(anweisungen|regeln|vorherigen)\b",
        r"\b(ignora|olvida)\b.{0,40}\b(instrucciones|reglas|anteriores|istruzioni)\b",
        r"\b(ignore|ignora)\b.{0,40}\b(instruções|anteriores)\b",
        r"(忽略|无视).{0,20}(指令|说明|规则)|(前の|以前の).{0,10}(指示|命令).{0,10}(無視)",
        # Machine-shaped payloads: JSON that names learnings or rules, catalog "rules" for all.
        r"[\"']\s*(learning|learnings|rule|rules|instruction|lesson)s?\s*[\"']\s*:",
        r"\b(catalog|catalogue) (rule|policy)\b",
        r"\bfor (all|every) (products?|items?|listings?)\b",
    )
]
"""Phrases that address the model rather than describe the product."""

_BLOB = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
"""A long base64-looking run: decoded and checked too (an encoded instruction is one)."""


def injection_reason(text: str) -> str | None:
    """Why ``text`` looks like an attempt to instruct the model, or ``None``."""
    for pattern in _INJECTION:
        found = pattern.search(text)
        if found:
            return f"suspected prompt injection ({found.group(0).strip()[:40]!r})"
    for blob in _BLOB.findall(text):
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        inner = injection_reason(decoded) if decoded != text else None
        if inner is not None:
            return f"suspected prompt injection, base64-encoded ({decoded[:40]!r})"
    return None
