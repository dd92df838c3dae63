#!/usr/bin/env python3
"""Fixtures for the empirical source (src/corr/empirical.rs): a synthetic daily returns panel
with dates, missing values (empty cells and the French library's -99.99 code) and the numpy
`corrcoef` of every rolling window, with the windows the source must skip.

    python3 scripts/fixtures_empirical.py   # writes fixtures/empirical/  (needs numpy)
"""
import datetime as dt
import json
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "empirical"
OUT.mkdir(parents=True, exist_ok=True)

rng = np.random.default_rng(20261202)
T, N, WINDOW, STEP = 260, 6, 60, 20
# A one-factor panel so that correlations are positive and varied.
market = rng.standard_normal(T) * 0.01
betas = rng.uniform(0.3, 1.5, N)
x = market[:, None] * betas[None, :] + rng.standard_normal((T, N)) * 0.008
missing = {(45, 2): "", (130, 4): "-99.99"}  # rows 45 and 130: windows containing them are skipped
dates = []
d = dt.date(2007, 1, 2)
while len(dates) < T:
    if d.weekday() < 5:
        dates.append(d)
    d += dt.timedelta(days=1)
names = [f"Ind{j}" for j in range(N)]
lines = ["," + ",".join(names)]
for t in range(T):
    cells = []
    for j in range(N):
        cells.append(missing[(t, j)] if (t, j) in missing else repr(float(x[t, j])))
    lines.append(dates[t].isoformat() + "," + ",".join(cells))
(OUT / "panel.csv").write_text("\n".join(lines) + "\n")

windows = []
for start in range(0, T - WINDOW + 1, STEP):
    rows = range(start, start + WINDOW)
    if any((r, j) in missing for r in rows for j in range(N)):
        windows.append({"start_row": start, "usable": False})
        continue
    c = np.corrcoef(x[start:start + WINDOW], rowvar=False)
    windows.append({
        "start_row": start,
        "usable": True,
        "start_date": int(dates[start].strftime("%Y%m%d")),
        "corr": c.tolist(),
    })
# A date-restricted variant: rows from 2007-06-01 on.
lo = next(i for i, dd in enumerate(dates) if dd >= dt.date(2007, 6, 1))
ranged = []
for start in range(lo, T - WINDOW + 1, STEP):
    rows = range(start, start + WINDOW)
    if any((r, j) in missing for r in rows for j in range(N)):
        continue
    ranged.append({"start_date": int(dates[start].strftime("%Y%m%d")),
                   "corr": np.corrcoef(x[start:start + WINDOW], rowvar=False).tolist()})
(OUT / "expected.json").write_text(json.dumps({
    "window": WINDOW, "step": STEP, "n": N, "windows": windows,
    "range_start": "2007-06-01", "ranged": ranged, "numpy": np.__version__,
}, indent=1))
print(f"wrote {OUT}: {sum(w['usable'] for w in windows)} usable of {len(windows)} windows; "
      f"{len(ranged)} in the date range")
