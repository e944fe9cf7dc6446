"""`python -m harvester` is the `harvester` command."""

from __future__ import annotations

import sys

from harvester.cli import main

sys.exit(main())
