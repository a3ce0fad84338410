"""Reading one large JSON document a piece at a time, with the standard library only.

`gunzip_chunks` inflates a gzip body in bounded pieces (size-capped),
`text_chunks` decodes UTF-8 incrementally, and `JsonCursor` walks the text: it
parses one value at a time with the C scanner behind `json`, and hands out the
elements of a long array in batches (each batch one `json.loads` call over the
complete elements in the buffer), so a 140 MB document never sits in memory whole.

A batch is cut at the last `},` in the buffer. A cut that is not a real element
boundary (inside a string, inside a nested value) can never parse as a JSON
array once wrapped in `[...]`, so a failed batch falls back to the exact
one-element-at-a-time scanner, which either succeeds or reports the error.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from rtsales.errors import ReportParseError

CHUNK = 1 << 16  # bytes inflated, and characters parsed, per step: small enough to stay in cache
MAX_VALUE_CHARS = 16 << 20  # one value (other than the streamed array) larger than this is refused
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner: one value at an index
_WS = re.compile(r"[ \t\n\r]*")
_NUMBER_CHARS = re.compile(r"[0-9.eE+\-]*")
_GZIP_HINT = "the download may be corrupt; it will be retried"


class NotJson(ValueError):
    """The text is not JSON (or not the shape the caller asked for) at `sample`."""

    def __init__(self, sample: str):
        super().__init__(sample)
        self.sample = sample


def gunzip_chunks(raw: bytes, limit: int) -> Iterator[bytes]:
    """Inflate a gzip body in pieces of at most CHUNK bytes, refusing more than `limit` in all."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    data, total = raw, 0
    while not inflater.eof:
        try:
            out = inflater.decompress(data, CHUNK)
        except zlib.error:
            raise ReportParseError("document is not valid gzip", hint=_GZIP_HINT) from None
        data = inflater.unconsumed_tail
        total += len(out)
        if total > limit:
            raise ReportParseError(f"document expands beyond the {limit // (1024 * 1024)} MB cap",
                                   hint="raise MAX_DOCUMENT_MB if your reports really are this large")
        if not out and not data:
            break
        if out:
            yield out
    if not inflater.eof:
        raise ReportParseError("document gzip stream is truncated",
                               hint="the download was cut short; it will be retried")


def byte_chunks(body: bytes) -> Iterator[bytes]:
    """An uncompressed body in pieces of CHUNK bytes."""
    for start in range(0, len(body), CHUNK):
        yield body[start:start + CHUNK]


def text_chunks(chunks: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 text, decoded incrementally (raises UnicodeDecodeError on bad bytes)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for chunk in chunks:
        yield decoder.decode(chunk)
    yield decoder.decode(b"", final=True)


class JsonCursor:
    """A position in JSON text that arrives in chunks; consumed text is dropped."""

    def __init__(self, texts: Iterable[str]):
        self._texts = iter(texts)
        self.buf = ""
        self.pos = 0
        self.eof = False

    def sample(self) -> str:
        return self.buf[self.pos:self.pos + 200]

    def _more(self) -> bool:
        """Append the next chunk (dropping consumed text); False at the end of the input."""
        for text in self._texts:
            if text:
                self.buf = self.buf[self.pos:] + text
                self.pos = 0
                return True
        self.eof = True
        return False

    def peek(self) -> str:
        """The next character that is not whitespace ('' at the end); whitespace is consumed."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def expect(self, allowed: str) -> str:
        """Consume one of the `allowed` characters (after whitespace) and return it."""
        char = self.peek()
        if not char or char not in allowed:
            raise NotJson(self.sample())
        self.pos += 1
        return char

    def value(self) -> Any:
        """Parse the one JSON value at the cursor."""
        self.peek()
        while True:
            try:
                value, end = _SCAN(self.buf, self.pos)
            except (StopIteration, ValueError):
                if len(self.buf) - self.pos <= MAX_VALUE_CHARS and self._more():
                    continue  # the value may just be cut at the end of the buffer
                raise NotJson(self.sample()) from None
            if self._cut_number(value, end) and self._more():
                continue  # a number cut at the end of the buffer parses too soon: read on
            self.pos = end
            return value

    def _cut_number(self, value: Any, end: int) -> bool:
        """True if `value` is a number that may go on past the end of the buffer ('12', '12.', '1e')."""
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        return _NUMBER_CHARS.match(self.buf, end).end() == len(self.buf)  # type: ignore[union-attr]

    def array_batches(self) -> Iterator[list[Any]]:
        """The elements of the array at the cursor, a batch at a time; ends after its ']'."""
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            batch = self._batch()
            if batch is not None:
                yield batch
                continue
            yield [self.value()]
            if self.expect(",]") == "]":
                return

    def _batch(self) -> list[Any] | None:
        """Every complete element up to the last '},' in the buffer, or None (use the scanner)."""
        if len(self.buf) - self.pos < CHUNK and not self.eof:
            self._more()
        cut = self.buf.rfind("},", self.pos)
        if cut < 0:
            return None
        try:
            items = json.loads("[" + self.buf[self.pos:cut + 1] + "]")
        except ValueError:
            return None
        self.pos = cut + 2
        return items  # type: ignore[no-any-return]
