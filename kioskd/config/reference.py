"""The device types and their options, as `kioskd devices --types` prints them and
docs/device-types.md holds them: made from the families' own tables, so neither can drift."""

from __future__ import annotations

from kioskd.drivers.registry import TYPES


_HEAD = """# Device types and their options

Made by `kioskd devices --types --markdown` from each family's table (drivers/FAMILY/family.py);
`tests/hall/test_families.py` fails when this file and the tables differ. Every `[[device]]`
also takes `id`, `type`, `url` (but a page), where it serves (`kiosk`, `window` or
`hall = true`) and `sim` (the twin's script, for the simulated hall).
"""


def markdown() -> str:
    out = [_HEAD]
    for t in TYPES.values():
        urls = ", ".join(f"`{s}://`" for s in t.schemes) or "none (" + t.no_url.split(":")[0] + ")"
        out.append(f"\n## `{t.name}` ({t.role})\n\n")
        out.append(f"Serves a {' or '.join(t.binds)}; url {urls}. Technician's keys: "
                   + ", ".join(f"`{a.key}` {a.label}" for a in t.all_actions()) + ".\n")
        out.append("\n| option | kind | what it is |\n|---|---|---|\n")
        out.extend(f"| `{o.name}` | {o.describe()} | {o.help} |\n" for o in t.options.values())
    return "".join(out)


def text() -> str:
    out = []
    for t in TYPES.values():
        out.append(f"{t.name}  ({t.role}; serves a {' or '.join(t.binds)}; "
                   f"url {', '.join(s + '://' for s in t.schemes) or 'none'})\n")
        width = max((len(o.name) for o in t.options.values()), default=0)
        out.extend(f"  {o.name:<{width}}  {o.describe()}: {o.help}\n" for o in t.options.values())
    return "".join(out)
