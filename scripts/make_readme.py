"""Write README.md from nbs/index.ipynb, the project's front page (nbdev's `readme_nb`).

nbdev renders the README with quarto, which cannot be installed offline, so this does what that rendering does for a
page of markdown: the markdown cells in order, code cells shown as Python blocks, cells marked `#| hide` left out.

    python scripts/make_readme.py            # write README.md
    python scripts/make_readme.py --check    # exit 1 if README.md differs from what the notebook gives
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "<!-- Generated from nbs/index.ipynb by scripts/make_readme.py: edit the notebook, not this file. -->\n\n"


def render(nb_path: Path) -> str:
    "The README text of a front-page notebook."
    try:
        cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(f"make_readme: {nb_path}: not a readable notebook ({e})") from None
    parts = []
    for c in cells:
        src = "".join(c["source"]).strip("\n")
        if not src: continue
        if c["cell_type"] == "markdown": parts.append(src)
        elif c["cell_type"] == "code" and not src.lstrip().startswith("#| hide"):
            parts.append(f"```python\n{src}\n```")
    return HEADER + "\n\n".join(parts) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare, do not write")
    a = p.parse_args(argv)
    text, readme = render(ROOT / "nbs" / "index.ipynb"), ROOT / "README.md"
    if a.check:
        if not readme.is_file() or readme.read_text(encoding="utf-8") != text:
            print("make_readme: README.md is not nbs/index.ipynb rendered: run python scripts/make_readme.py",
                  file=sys.stderr)
            return 1
        return 0
    readme.write_text(text, encoding="utf-8")
    print(f"README.md: {len(text.encode())} bytes from nbs/index.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
