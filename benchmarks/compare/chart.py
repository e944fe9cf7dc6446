"""The comparison's PNG chart: wall time and achieved rate per scenario and contender."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def chart(results: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no chart", file=sys.stderr)
        return
    scenarios = list(results["scenarios"])
    contenders = sorted(
        {m["contender"] for m in results["medians"]}, key=lambda c: (c != "harvester", c)
    )
    med = {(m["scenario"], m["contender"]): m for m in results["medians"]}
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    width = 0.8 / max(1, len(contenders))
    for i, contender in enumerate(contenders):
        xs = [j + i * width for j in range(len(scenarios))]
        walls = [(med.get((s, contender)) or {}).get("wall") or 0 for s in scenarios]
        ratios = [(med.get((s, contender)) or {}).get("rate_ratio") or 0 for s in scenarios]
        bars = [
            axes[0].bar(xs, walls, width, label=contender),
            axes[1].bar(xs, ratios, width, label=contender),
        ]
        for s_index, scenario in enumerate(scenarios):
            m = med.get((scenario, contender)) or {}
            if m and m.get("complete", 0) < m.get("runs", 0):  # failed, incomplete or too slow
                for group in bars:
                    group[s_index].set_hatch("//")
                    group[s_index].set_alpha(0.45)
    for ax, title in zip(
        axes, ("wall time (s, log scale)", "achieved / allowed request rate"), strict=True
    ):
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(scenarios))], scenarios)
        ax.set_title(title)
    axes[0].set_yscale("log")
    axes[1].axhline(0.97, color="grey", linestyle="--", linewidth=0.8)
    axes[1].axhline(1.0, color="black", linewidth=0.6)
    axes[1].legend(fontsize=8, loc="lower right")
    parts = results["parts"]
    fig.suptitle(
        f"medians of up to {max(p['options']['repeats'] for p in parts)} run(s) per bar, "
        f"{len(parts)} invocation(s); {parts[0]['machine']['cpu']}; hatched: output not "
        "complete (failed, or cut off at the timeout)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
