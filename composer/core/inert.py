"""What compose writes for helmfile must stay data: helmfile renders release fields as Go templates.

Profiles are checked by the schema's strict patterns first; this is the last line, run over the whole
helmfile document before it is written, so a pattern that is ever loosened cannot open a hole.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

TEMPLATE_MARKERS = ("{{", "}}")
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]*@")


def template_strings(doc: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, text) of every key or value in ``doc`` that helmfile could read as a template."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            here = f"{path}.{key}" if path else str(key)
            if any(m in str(key) for m in TEMPLATE_MARKERS):
                yield here, str(key)
            yield from template_strings(value, here)
    elif isinstance(doc, list):
        for index, item in enumerate(doc):
            yield from template_strings(item, f"{path}[{index}]")
    elif isinstance(doc, str) and any(m in doc for m in TEMPLATE_MARKERS):
        yield path, doc


def redact(text: str) -> str:
    """``text`` with the user:password part of every URL replaced by ``***``."""
    return _CREDENTIALS.sub(lambda m: f"{m['scheme']}***@", text)


def has_credentials(url: str) -> bool:
    return bool(_CREDENTIALS.match(url))
