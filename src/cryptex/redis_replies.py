"""How Redis's replies read: text whether the client decodes replies or not, and stream ids as
comparable pairs. Pure: no client, so the ledger's pure modules can use them."""

from __future__ import annotations


def as_text(value: bytes | str) -> str:
    """A Redis reply's string, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else value


def stream_id(text: str) -> tuple[int, int]:
    """A stream id `ms-seq` as a comparable pair ('' sorts before every id)."""
    if not text:
        return (-1, -1)
    ms, _, seq = text.partition("-")
    return (int(ms), int(seq or 0))
