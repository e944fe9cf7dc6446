"""The local E-utilities server: NCBI's protocol, shapes and limits over loopback HTTP."""

from __future__ import annotations
