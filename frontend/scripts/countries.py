"""Writes frontend/src/countries.ts: ISO 3166-1 numeric → alpha-2, from pycountry's table.

world-atlas names its countries by numeric code, the event store by alpha-2. Run with the
project's environment: `.venv/bin/python frontend/scripts/countries.py`.
"""

from pathlib import Path

import pycountry

pairs = sorted((int(c.numeric), c.alpha_2) for c in pycountry.countries)
body = ",".join(f'{n}:"{a}"' for n, a in pairs)
target = Path(__file__).resolve().parent.parent / "src" / "countries.ts"
target.write_text(
    "// ISO 3166-1 numeric code (world-atlas' feature ids) → alpha-2 code (visit:country).\n"
    "// Generated from pycountry's ISO 3166 table by frontend/scripts/countries.py.\n"
    f"export const ALPHA2: Record<number, string> = {{{body}}};\n"
)
