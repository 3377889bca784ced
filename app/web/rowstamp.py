"""A row's content fingerprint (``data-h``): the page skips a pushed row whose visible content did
not change (issue 19 item 5: most events change nothing a row shows, say a node's progress when the
node column is hidden, or ``updated_at``).

The fingerprint leaves out what changes without the content changing: the row's version, its
out-of-band marker, and a running duration's text (the page ticks that itself every second).
"""

from __future__ import annotations

import hashlib
import re

_VOLATILE = re.compile(r' data-version="\d+"| hx-swap-oob="[^"]*"|(data-started="[^"]*">)[^<]*')
_TR = '<tr id="'


def stamp_row(html: str) -> str:
    """``html`` (one ``_row.html`` render) with ``data-h="<fingerprint>"`` on its ``<tr>``."""
    at = html.find(_TR)
    if at < 0:
        return html
    digest = hashlib.blake2b(_VOLATILE.sub(lambda m: m.group(1) or "", html).encode(), digest_size=8).hexdigest()
    end = html.index('"', at + len(_TR)) + 1  # after the id: frames still start with '<tr id="row-'
    return f'{html[:end]} data-h="{digest}"{html[end:]}'
