"""Text from other programs, made safe to show: no terminal control sequences reach the screen, the
report or the log (a tool's output could otherwise move the cursor, clear the screen, retitle the
window or hide lines)."""

from __future__ import annotations

import re

# CSI (ESC [ or its 8-bit form, parameters, final byte), OSC (ESC ] or 8-bit, up to BEL or ST), other
# two-byte escapes, then any lone control character other than tab (C0, DEL and C1).
_CONTROL = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[@-_]?|[\x00-\x08\x0a-\x1f\x7f-\x9f]"
)


def printable(text: str) -> str:
    return _CONTROL.sub("", text)
