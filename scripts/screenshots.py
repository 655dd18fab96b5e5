"""Write the README's screenshots from the real app: `python scripts/screenshots.py`.

The scenes are the snapshot tests' scenes (tests/tui/conftest.py): a frozen clock, a fixed host,
seeded tokens and injected process facts, so the pictures only change when the screen does.
Each scene is one SVG in screenshots/, named <scene>-<cols>x<rows>.svg.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.pop("NO_COLOR", None)

from tests.tui.conftest import SNAP_BASE, build_store, loaded, select, settle  # noqa: E402

# (file name, store state, size, phase to put the cursor on, keys to press)
SCENES: Sequence[tuple[str, str, tuple[int, int], str | None, tuple[str, ...]]] = (
    ("fresh", "fresh", (80, 24), None, ()),
    ("mid-sprint", "mid", (80, 24), None, ()),
    ("mid-sprint", "mid", (120, 40), None, ()),
    ("stale", "stale", (80, 24), None, ()),
    ("reclaim-confirm", "stale", (80, 24), "security", ("r",)),
    ("details", "mid", (120, 40), "build", ("enter",)),
    ("locks", "stale", (80, 24), None, ("2",)),
    ("lanes", "mid", (80, 24), None, ("3",)),
    ("stale", "stale", (120, 40), None, ()),
    ("custom", "custom", (80, 24), None, ()),
    ("custom", "custom", (120, 40), None, ()),
    ("custom", "custom", (200, 60), None, ()),
    ("narrow", "stale", (50, 24), None, ()),
    ("help", "mid", (80, 24), None, ("question_mark",)),
)


async def shoot(
    name: str, state: str, size: tuple[int, int], phase: str | None, keys: tuple[str, ...], out: str
) -> str:
    """Render one scene and save it as an SVG; returns the file name."""
    base = os.path.join(SNAP_BASE, "screens")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    built = build_store(base, state)
    app = built.app()
    filename = f"{name}-{size[0]}x{size[1]}.svg"
    async with app.run_test(size=size) as pilot:
        await loaded(pilot)
        if phase is not None:
            await select(pilot, phase)
        if keys:
            await pilot.press(*keys)
        await settle(pilot)
        app.save_screenshot(filename, out)
    return filename


def main() -> int:
    """Write every scene into screenshots/."""
    out = os.path.join(ROOT, "screenshots")
    os.makedirs(out, exist_ok=True)
    for scene in SCENES:
        print(asyncio.run(shoot(*scene, out=out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
