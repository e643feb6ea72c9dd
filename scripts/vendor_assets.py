"""Copy the front-end files we serve from node_modules/ into static_vendor/ (git-ignored).

Run after `npm ci --ignore-scripts`; only the files listed here are served.
"""

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {
    "htmx/htmx.min.js": "htmx.org/dist/htmx.min.js",
    "leaflet/leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet/leaflet.css": "leaflet/dist/leaflet.css",
    "leaflet/images": "leaflet/dist/images",
    "echarts/echarts.min.js": "echarts/dist/echarts.min.js",
}


def main() -> int:
    modules = ROOT / "node_modules"
    target = ROOT / "static_vendor"
    missing = [src for src in SOURCES.values() if not (modules / src).exists()]
    if missing:
        print(f"Missing in node_modules/: {', '.join(missing)}. Run `npm ci --ignore-scripts`.")
        return 1
    for dest, src in SOURCES.items():
        out = target / dest
        out.parent.mkdir(parents=True, exist_ok=True)
        if (modules / src).is_dir():
            shutil.copytree(modules / src, out, dirs_exist_ok=True)
        else:
            shutil.copy2(modules / src, out)
    print(f"Copied {len(SOURCES)} front-end assets into {target.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
