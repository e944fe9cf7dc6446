"""The list of subcommand modules the CLI registers, in the order `--help` shows them."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _registry() -> list[Register]:
    from harvester import inspector as inspect_cli
    from harvester import links as links_cli
    from harvester.emulator import cli as emulator_cli
    from harvester.workflow import cli as harvest_cli
    from harvester.workflow import export_cli, link_cli

    return [
        harvest_cli.register,
        link_cli.register,
        export_cli.register,
        links_cli.register,
        emulator_cli.register,
        inspect_cli.register,
    ]


REGISTRY: list[Register] = _registry()
