"""Why an attempt is tried again: one word per kind of failure, the key the summary counts
retries and give-ups by (`retry/<reason>`, `giveup/<reason>`) and the transport acts on."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RetryReason"]


class RetryReason(StrEnum):
    """A failed attempt's kind. HTTP statuses NCBI is seen to answer have their own member;
    any other 4xx/5xx shares its class's (`http_4xx`, `http_5xx`), as the `http/<status>`
    counts keep the exact status."""

    CONNECTION = "connection"
    TIMEOUT = "timeout"
    TRUNCATED = "truncated"
    """The body ended early (the connection, or the XML, was cut off)."""
    BAD_ENCODING = "bad_encoding"
    """Labelled gzip (Content-Encoding) but not."""
    EMPTY = "empty"
    NOT_XML = "not_xml"
    MALFORMED = "malformed"
    WRONG_ROOT = "wrong_root"
    """Well-formed, but another utility's document."""
    HISTORY = "history"
    """The History server lost an entry."""
    NCBI = "ncbi"
    """A transient error of ours raised from an answer (NcbiTransientError)."""
    BACKEND = "backend"
    NCBI_ERROR = "ncbi_error"
    """An in-band error text never seen before: a few attempts, then it fails."""
    HTTP_400 = "http_400"
    HTTP_429 = "http_429"
    """NCBI's rate limit (by status or in-band text): the gate slows down."""
    HTTP_500 = "http_500"
    HTTP_502 = "http_502"
    HTTP_503 = "http_503"
    HTTP_504 = "http_504"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"

    @classmethod
    def http(cls, status: int) -> RetryReason:
        """The reason for a retried HTTP status."""
        try:
            return cls(f"http_{status}")
        except ValueError:
            return cls.HTTP_5XX if status >= 500 else cls.HTTP_4XX

    @property
    def server_trouble(self) -> bool:
        """A sign the server is overloaded (a timeout, a 5xx): fewer requests at once help."""
        return self is RetryReason.TIMEOUT or self.value.startswith("http_5")
