#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Draw the ratios of a benchmark CSV as one SVG of bar charts.

    python3 bench/plot.py bench/results/latest.csv [out.svg]

One panel per workload, one bar per engine: its median as a multiple of
the kernel's mmap (the dashed line at 1x), with the min-max spread drawn as
a whisker.  The panel title says which way is better.  Standard library
only, so it runs wherever python3 does.
"""
import csv
import html
import math
import sys

BAR_H, GAP, LEFT, WIDTH, PAD = 18, 6, 270, 760, 40
LOWER_BETTER_UNITS = ("us/touch", "s", "us")


def load(path):
    panels = {}
    order = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            key = (r["bench"], r["workload"], r["unit"])
            if key not in panels:
                panels[key] = []
                order.append(key)
            panels[key].append(r)
    return [(k, panels[k]) for k in order]


def panel(out, y, key, rows):
    bench, workload, unit = key
    better = "lower" if unit in LOWER_BETTER_UNITS else "higher"
    base = [r for r in rows if abs(float(r["x_kernel"]) - 1) < 1e-9]
    base_med = float(base[0]["median"]) if base else None
    vals = []
    for r in rows:
        try:
            med, lo, hi = (float(r[k]) for k in ("median", "min", "max"))
        except ValueError:
            continue
        if not base_med:
            continue
        vals.append((r, med / base_med, lo / base_med, hi / base_med))
    top = max([1.0] + [v[3] for v in vals]) * 1.08
    bottom = min([1.0] + [v[2] for v in vals if v[2] > 0]) / 1.5
    span = WIDTH - LEFT - PAD
    if top / bottom > 12:
        # Ratios spanning orders of magnitude: a log scale, so that every
        # bar stays visible.
        def pos(x):
            x = max(x, bottom)
            return span * math.log(x / bottom) / math.log(top / bottom)
        scale_note = ", log scale"
    else:
        def pos(x):
            return span * x / top
        scale_note = ""
    out.append(f'<text x="10" y="{y + 14}" font-weight="bold">'
               f'{html.escape(bench)}: {html.escape(workload)} '
               f'({html.escape(unit)}, {better} is better; x kernel mmap'
               f'{scale_note})'
               f'</text>')
    y += 24
    y0 = y
    for r, x, lo, hi in vals:
        wrong = r.get("verified") == "no"
        color = "#999" if wrong else (
            "#4477aa" if r["engine"].startswith("upager") else "#bb5566")
        out.append(f'<text x="{LEFT - 6}" y="{y + 13}" text-anchor="end">'
                   f'{html.escape(r["engine"])}</text>')
        out.append(f'<rect x="{LEFT}" y="{y}" width="{pos(x):.1f}" '
                   f'height="{BAR_H}" fill="{color}"/>')
        out.append(f'<line x1="{LEFT + pos(lo):.1f}" y1="{y + BAR_H / 2}" '
                   f'x2="{LEFT + pos(hi):.1f}" y2="{y + BAR_H / 2}" '
                   f'stroke="black"/>')
        label = "WRONG" if wrong else f"{x:.2f}x ({float(r['median']):.3g})"
        out.append(f'<text x="{LEFT + pos(max(x, hi)) + 4:.1f}" '
                   f'y="{y + 13}">{label}</text>')
        y += BAR_H + GAP
    out.append(f'<line x1="{LEFT + pos(1):.1f}" y1="{y0 - 3}" '
               f'x2="{LEFT + pos(1):.1f}" y2="{y}" stroke="black" '
               f'stroke-dasharray="4 3"/>')
    return y + 16


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    src = sys.argv[1]
    dst = sys.argv[2] if len(sys.argv) > 2 else src.rsplit(".", 1)[0] + ".svg"
    panels = load(src)
    if not panels:
        sys.exit(f"{src}: no rows")
    first = panels[0][1][0]
    body = []
    y = 36
    for key, rows in panels:
        y = panel(body, y, key, rows)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH + 120}" '
            f'height="{y}" font-family="sans-serif" font-size="12">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="10" y="20" font-size="14">upager vs the kernel, '
            f'{html.escape(first["date"])}, Linux '
            f'{html.escape(first["kernel"])}, {first["nproc"]} CPUs, load '
            f'{html.escape(first.get("load", "?"))}; bars: '
            f'median, whiskers: min-max</text>')
    with open(dst, "w") as f:
        f.write(head + "".join(body) + "</svg>\n")


if __name__ == "__main__":
    main()
