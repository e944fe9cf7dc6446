"""One hierarchy of errors, so callers catch by meaning and the CLI maps each kind to an exit code.

    HarvesterError                 exit_code
    ├── ConfigError                2   bad job file, flag or dataset spec (file:line when known)
    ├── InputError                 3   bad source ids, id file missing, output not writable
    ├── TransportError             4   network failed after every retry (connection, timeout)
    ├── NcbiError                  5   NCBI said no
    │   ├── NcbiTransientError         worth retrying: 429, 5xx, Search Backend failed, ...
    │   │   └── HistoryExpiredError    a WebEnv/query_key NCBI no longer knows: rebuild it
    │   └── NcbiPermanentError         not worth retrying: invalid key, invalid db, bad ids
    │       └── DateTypeRefused        esearch: the db has no such date (datetype=mdat)
    ├── ParseError                 6   a response that is not what its endpoint promises
    ├── StoreError                 7   the job store is unusable or belongs to another job
    └── IncompleteError            8   the run ended with targets neither fetched nor said
                                       missing: a guard that should never fire

Messages are one plain sentence meant for the user; they never contain the API key.
"""

from __future__ import annotations


class HarvesterError(Exception):
    """Base of every error the harvester reports to its user."""

    exit_code = 1


class ConfigError(HarvesterError):
    """A job file, flag or dataset spec is invalid."""

    exit_code = 2


class InputError(HarvesterError):
    """Input data (ids, id files, output paths) is unusable."""

    exit_code = 3


class TransportError(HarvesterError):
    """The network failed and retries were exhausted."""

    exit_code = 4


class NcbiError(HarvesterError):
    """NCBI (or the emulator) answered with an error."""

    exit_code = 5


class NcbiTransientError(NcbiError):
    """An error that a later attempt may not see."""


class HistoryExpiredError(NcbiTransientError):
    """A History server entry is gone; the caller must rebuild it."""


class NcbiPermanentError(NcbiError):
    """An error that retrying cannot fix."""


class DateTypeRefused(NcbiPermanentError):
    """NCBI answered in-band that a database has no such date (esearch `datetype`)."""


class ParseError(HarvesterError):
    """A response body could not be understood."""

    exit_code = 6


class StoreError(HarvesterError):
    """The job store cannot be used."""

    exit_code = 7


class IncompleteError(HarvesterError):
    """The harvest ended with work not done: never written as complete (exit 0)."""

    exit_code = 8


EXIT_INTERRUPTED = 130
"""Ctrl-C: the job store keeps what was finished; run again to resume."""
