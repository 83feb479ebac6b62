#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the consoles of the two benchmark guests into the report.

Usage: report.py BASE_LOG PATCHED_LOG OUTDIR [--no-png]

Reads the BENCH lines vfio-bar-bench printed (and run.sh's HOST-INFO
lines) and writes OUTDIR/bench.txt (medians, min-max and patched/base per
row, growth with BAR size, placement, targets), OUTDIR/bench.json (every
sample) and OUTDIR/bench.png. Fails on a log it cannot read completely.
"""
import json
import statistics
import sys

KINDS = ("base", "patched")
STYLES = ("plain", "aligned", "offset")
STYLE_TEXT = {
    "plain": "mmap(NULL)",
    "aligned": "hand-aligned (QEMU)",
    "offset": "offset 2M+4K (DPDK)",
}
GIB = 1 << 30
MIB = 1 << 20

# name, test, unit, text, value(sample) -> float
METRICS = [
    ("mmap", "touch", "us", "mmap() latency",
     lambda s: s["mmap_ns"] / 1e3),
    ("touch", "touch", "ms", "first touch, one read per 4 KiB",
     lambda s: s["touch_ns"] / 1e6),
    ("faults", "touch", "", "first-touch minor faults",
     lambda s: s["faults"]),
    ("mmap_touch", "touch", "ms", "mmap() + first touch",
     lambda s: (s["mmap_ns"] + s["touch_ns"]) / 1e6),
    ("page_tables", "touch", "KiB", "page tables (PageTables: delta)",
     lambda s: s["pt2_kb"] - s["pt0_kb"]),
    ("munmap", "touch", "ms", "munmap() of the touched mapping",
     lambda s: s["munmap_ns"] / 1e6),
    ("type1_map", "type1", "ms", "VFIO_IOMMU_MAP_DMA (type1v2)",
     lambda s: s["map_ns"] / 1e6),
    ("type1_faults", "type1", "", "faults during VFIO_IOMMU_MAP_DMA",
     lambda s: s["faults"]),
    ("type1_unmap", "type1", "ms", "VFIO_IOMMU_UNMAP_DMA",
     lambda s: s["unmap_ns"] / 1e6),
    ("iommufd_map", "iommufd", "ms", "IOMMU_IOAS_MAP (iommufd)",
     lambda s: s["map_ns"] / 1e6),
]
METRIC = {m[0]: m for m in METRICS}


class LogError(Exception):
    pass


def parse_kv(words, where):
    out = {}
    for w in words:
        k, sep, v = w.partition("=")
        if not sep or not k:
            raise LogError(f"{where}: not key=value: {w!r}")
        try:
            out[k] = int(v, 0)
        except ValueError:
            out[k] = v
    return out


def parse_log(path):
    """-> (info dict, devices list, samples list). Strict."""
    info, devices, samples = {}, [], []
    done = False
    with open(path, errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            where = f"{path}:{n}"
            tag, _, rest = line.partition(" ")
            if tag == "HOST-INFO":
                # One key per line, the value is the rest of it.
                k, sep, v = rest.partition("=")
                if not sep or not k or " " in k:
                    raise LogError(f"{where}: not key=value: {rest!r}")
                info[k] = v
            elif tag == "BENCH-INFO":
                info.update(parse_kv(rest.split(), where))
            elif tag == "BENCH-DEV":
                devices.append(parse_kv(rest.split(), where))
            elif tag == "BENCH":
                s = parse_kv(rest.split(), where)
                for k in ("size", "style", "rep", "test", "va", "len"):
                    if k not in s:
                        raise LogError(f"{where}: BENCH line without {k}")
                if s["style"] not in STYLES:
                    raise LogError(f"{where}: unknown style {s['style']}")
                need = {"touch": ("mmap_ns", "touch_ns", "faults", "pt0_kb",
                                  "pt1_kb", "pt2_kb", "munmap_ns"),
                        "type1": ("mmap_ns", "map_ns", "faults", "unmap_ns",
                                  "munmap_ns"),
                        "iommufd": ("map_ns", "err", "errname")}.get(s["test"])
                if need is None:
                    raise LogError(f"{where}: unknown test {s['test']}")
                missing = [k for k in need if k not in s]
                if missing:
                    raise LogError(f"{where}: {s['test']} line without {', '.join(missing)}")
                samples.append(s)
            elif tag == "BENCH-ERROR":
                raise LogError(f"{where}: the guest reported an error: {rest}")
            elif tag == "BENCH-DONE":
                done = True
    if not done:
        raise LogError(f"{path}: no BENCH-DONE: the benchmark did not finish")
    if not samples:
        raise LogError(f"{path}: no BENCH samples")
    return info, devices, samples


def size_text(n):
    return f"{n // GIB} GiB" if n >= GIB else f"{n // MIB} MiB"


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "" or unit == "KiB":
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


class Data:
    def __init__(self, logs):
        self.info, self.devices, self.samples = {}, {}, {}
        for kind, path in zip(KINDS, logs):
            self.info[kind], self.devices[kind], self.samples[kind] = parse_log(path)
        sizes = [sorted({s["size"] for s in self.samples[k]}) for k in KINDS]
        if sizes[0] != sizes[1]:
            raise LogError(f"the two logs measured different BAR sizes: {sizes}")
        self.sizes = sizes[0]
        self.pa = {k: {d["size"]: d["pa"] for d in self.devices[k]} for k in KINDS}

    def values(self, kind, metric, size, style):
        name, test, _, _, fn = METRIC[metric]
        out = []
        for s in self.samples[kind]:
            if s["test"] != test or s["size"] != size or s["style"] != style:
                continue
            if test == "iommufd" and s["err"]:
                continue
            out.append(fn(s))
        return out

    def errors(self, kind, size, style):
        return sorted({s["errname"] for s in self.samples[kind]
                       if s["test"] == "iommufd" and s["size"] == size
                       and s["style"] == style and s["err"]})

    def median(self, kind, metric, size, style):
        v = self.values(kind, metric, size, style)
        return statistics.median(v) if v else None

    def placement(self, kind, size, style):
        """The leaves each mapping's VA allows, as in 'offset 511x4K+510x2M+1x1G'."""
        off = 0x201000 if style == "offset" else 0
        pa = self.pa[kind].get(size)
        if pa is None:
            return "?"
        seen = []
        for s in self.samples[kind]:
            if s["test"] == "touch" and s["size"] == size and s["style"] == style:
                text = leaves_text(leaves(s["va"], pa + off, s["len"]))
                if text not in seen:
                    seen.append(text)
        return " or ".join(seen) or "?"


LEAF_SIZES = ((GIB, "1G"), (2 * MIB, "2M"), (4096, "4K"))


def leaves(va, pa, length):
    """How many leaves of each size map [va, va + length) to pa at best:
    a leaf of size S needs VA and PA congruent modulo S and S-aligned VA."""
    counts = {name: 0 for _, name in LEAF_SIZES}

    def cover(start, end, i):
        size, name = LEAF_SIZES[i]
        if i == len(LEAF_SIZES) - 1:
            counts[name] += (end - start) // size
            return
        a = -(-start // size) * size
        b = end // size * size
        if (va - pa) % size or a >= b:
            cover(start, end, i + 1)
            return
        counts[name] += (b - a) // size
        cover(start, a, i + 1)
        cover(b, end, i + 1)

    cover(va, va + length, 0)
    return counts


def leaves_text(counts):
    parts = [f"{n:,}x{name}" for _, name in reversed(LEAF_SIZES) if (n := counts[name])]
    return "+".join(parts) or "0"


def cell(d, kind, metric, size, style):
    unit = METRIC[metric][2]
    v = d.values(kind, metric, size, style)
    if not v:
        errs = d.errors(kind, size, style) if metric == "iommufd_map" else []
        return ", ".join(errs) if errs else "-"
    med = statistics.median(v)
    if min(v) == max(v):
        return fmt(med, unit)
    return f"{fmt(med, unit)} [{fmt(min(v), unit)}-{fmt(max(v), unit)}]"


def ratio(d, metric, size, style):
    b = d.median("base", metric, size, style)
    p = d.median("patched", metric, size, style)
    if b is None or p is None:
        return "-"
    if b == 0:
        return "=" if p == 0 else "inf"
    return f"{p / b:.3g}"


def table(d):
    lines = []
    w = lines.append
    ib, ip = d.info["base"], d.info["patched"]
    w("make bench: vfio-pci BAR mappings, unpatched base vs the series")
    w("")
    w(f"base:    {ib.get('label', '?')}, uname -r {ib.get('kernel', '?')}")
    w(f"patched: {ip.get('label', '?')}, uname -r {ip.get('kernel', '?')}")
    w(f"{ib.get('qemu', 'QEMU ?')}, TCG, q35, -cpu max, emulated Intel IOMMU; "
      f"{ib.get('reps', '?')} repetitions per row; run {ib.get('date', '?')}")
    w(f"host load average (1 min) before/after: base {ib.get('loadavg_before', '?')}/"
      f"{ib.get('loadavg_after', '?')}, patched {ip.get('loadavg_before', '?')}/"
      f"{ip.get('loadavg_after', '?')}")
    w("cells: median [min-max]; ratio: patched median / base median")
    w("mappings: mmap(NULL) of the whole BAR; hand-aligned as QEMU does it (its mmap()")
    w("latency is the whole reserve, trim and MAP_FIXED sequence); offset 2M+4K to the")
    w("BAR's end. Each test maps afresh: the DMA maps are of untouched mappings.")
    for metric, test, unit, text, _ in METRICS:
        w("")
        w(f"{text}" + (f" ({unit})" if unit else ""))
        rows = [("BAR", "mapping", "base", "patched", "ratio")]
        for size in d.sizes:
            for style in STYLES:
                rows.append((size_text(size), STYLE_TEXT[style],
                             cell(d, "base", metric, size, style),
                             cell(d, "patched", metric, size, style),
                             ratio(d, metric, size, style)))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            w("  " + "  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i])
                               for i, c in enumerate(r)).rstrip())

    w("")
    w("Growth with BAR size: median at the larger size / median at the smaller")
    steps = list(zip(d.sizes, d.sizes[1:]))
    head = ["metric", "mapping"] + [f"{k} {size_text(a)}->{size_text(b)} (x{b // a})"
                                   for k in KINDS for a, b in steps]
    rows = [tuple(head)]
    for metric in ("mmap", "touch", "faults", "page_tables", "munmap", "type1_map"):
        for style in STYLES:
            r = [metric, style]
            for k in KINDS:
                for a, b in steps:
                    ma, mb = d.median(k, metric, a, style), d.median(k, metric, b, style)
                    r.append("-" if ma is None or mb is None else
                             ("=" if ma == mb else ("inf" if ma == 0 else f"x{mb / ma:.3g}")))
            rows.append(tuple(r))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        w("  " + "  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i])
                           for i, c in enumerate(r)).rstrip())

    w("")
    w("Placement: the leaves each mapping's VA allows at best (VA and PA congruent")
    w("modulo the leaf size); a kernel that maps lazily takes one fault per leaf")
    rows = [("BAR", "mapping", "base", "patched")]
    for size in d.sizes:
        for style in STYLES:
            rows.append((size_text(size), STYLE_TEXT[style],
                         d.placement("base", size, style), d.placement("patched", size, style)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        w("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())

    w("")
    w("Targets for the series (reported, not asserted)")
    for line in targets(d):
        w("  " + line)
    return "\n".join(lines) + "\n"


def targets(d):
    g2 = 2 * GIB
    out = []
    if g2 not in d.sizes:
        return ["(no 2 GiB BAR measured)"]
    m = lambda k, metric, style: d.median(k, metric, g2, style)

    def line(ok, text):
        out.append(("met      " if ok else "NOT MET  ") + text)

    bf, bd = m("base", "faults", "plain"), m("base", "type1_map", "plain")
    out.append(f"base, 2 GiB plain: {fmt(bf, '')} first-touch faults (brief: 524,288), "
               f"DMA map {fmt(bd, 'ms')} ms (brief: 3,900-4,900)")
    af, ad = m("base", "faults", "aligned"), m("base", "type1_map", "aligned")
    out.append(f"base, 2 GiB hand-aligned: {fmt(af, '')} faults (brief: 3), "
               f"DMA map {fmt(ad, 'ms')} ms (brief: 2.8-8.7)")
    for style in ("plain", "offset"):
        worst = max(d.median("patched", "faults", s, style) for s in d.sizes)
        line(worst == 0, f"0 first-touch faults, {style}: at most {fmt(worst, '')} "
             f"(any BAR size)")
    pd = m("patched", "type1_map", "plain")
    line(pd <= 1.1 * ad, f"patched plain DMA map <= 1.1x base hand-aligned: "
         f"{fmt(pd, 'ms')} ms vs {fmt(ad, 'ms')} ms ({pd / ad:.3g}x)")
    pt = m("patched", "page_tables", "plain")
    line(pt <= 4, f"page tables of the 2 GiB plain mapping <= one page: {fmt(pt, 'KiB')} KiB")
    for style, what in (("aligned", "hand-aligned"), ("plain", "plain (kernel-aligned)")):
        pm, bm = m("patched", "mmap", style), m("base", "mmap", style)
        line(pm <= 2 * bm, f"{what} 2 GiB mmap() <= 2x base: {fmt(pm, 'us')} us vs "
             f"{fmt(bm, 'us')} us ({pm / bm:.3g}x)")
    pmt, bmt = m("patched", "mmap_touch", "plain"), m("base", "mmap_touch", "plain")
    line(bmt >= 10 * pmt, f"plain mmap()+first touch >= 10x faster than base: "
         f"{fmt(pmt, 'ms')} ms vs {fmt(bmt, 'ms')} ms ({bmt / pmt:.3g}x faster)")
    return out


def to_json(d):
    return {
        "units": {"*_ns": "nanoseconds", "pt*_kb": "kB of PageTables: in /proc/meminfo",
                  "faults": "minor faults (getrusage) during the touch or the DMA map",
                  "err": "errno of IOMMU_IOAS_MAP, 0 on success"},
        "metrics": {m[0]: {"test": m[1], "unit": m[2], "text": m[3]} for m in METRICS},
        "kernels": {k: {"info": d.info[k], "devices": d.devices[k],
                        "samples": d.samples[k]} for k in KINDS},
    }


def chart(d, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    panels = ["mmap", "touch", "faults", "mmap_touch",
              "type1_map", "page_tables", "munmap", "iommufd_map"]
    look = {"plain": ("tab:red", "o", 0.87), "aligned": ("tab:blue", "s", 1.0),
            "offset": ("tab:green", "^", 1.15)}
    fig, axes = plt.subplots(2, 4, figsize=(18, 9))
    for ax, metric in zip(axes.flat, panels):
        _, _, unit, text, _ = METRIC[metric]
        any_data, seen = False, []
        for kind, ls, alpha in (("base", "--", 0.55), ("patched", "-", 1.0)):
            for style in STYLES:
                color, marker, shift = look[style]
                xs, ys, lo, hi = [], [], [], []
                for size in d.sizes:
                    v = d.values(kind, metric, size, style)
                    if not v:
                        continue
                    med = statistics.median(v)
                    seen += v
                    xs.append(size * shift)
                    ys.append(med)
                    lo.append(med - min(v))
                    hi.append(max(v) - med)
                if not xs:
                    continue
                any_data = True
                ax.errorbar(xs, ys, yerr=[lo, hi], color=color, ls=ls, alpha=alpha,
                            marker=marker, ms=6, lw=2, capsize=3,
                            mfc=color if kind == "patched" else "white",
                            label=f"{kind}, {STYLE_TEXT[style]}")
        ax.set_title(text + (f" ({unit})" if unit else ""), fontsize=12)
        ax.set_xscale("log", base=2)
        ax.set_xticks(d.sizes, [size_text(s) for s in d.sizes])
        ax.set_xlim(d.sizes[0] / 2, d.sizes[-1] * 2)
        ax.xaxis.set_minor_formatter(NullFormatter())
        if not any_data:
            errs = sorted({e for k in KINDS for s in d.sizes for st in STYLES
                           for e in d.errors(k, s, st)})
            ax.text(0.5, 0.5, ("refused on both kernels:\n" + ", ".join(errs)) if errs
                    else "no data", ha="center", va="center", transform=ax.transAxes,
                    fontsize=14)
            ax.set_yticks([])
            continue
        if metric in ("faults", "page_tables"):
            ax.set_yscale("symlog", linthresh=1)
            ax.set_ylim(bottom=-0.3)
        elif min(seen) > 0 and max(seen) / min(seen) > 10:
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0, top=max(seen) * 1.15 or 1)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.10g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="major", alpha=0.3)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=6, fontsize=11, frameon=False)
    ib, ip = d.info["base"], d.info["patched"]
    fig.suptitle("vfio-pci BAR mappings in a QEMU TCG guest, per BAR size: "
                 f"base ({ib.get('label', '?')}) dashed, hollow; "
                 f"patched ({ip.get('label', '?')}) solid\n"
                 "median of each row, bars min-max; lower is better", fontsize=13)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        d = Data(args[:2])
    except (LogError, OSError) as e:
        print(f"report: {e}", file=sys.stderr)
        return 1
    out = args[2]
    text = table(d)
    with open(f"{out}/bench.txt", "w") as f:
        f.write(text)
    with open(f"{out}/bench.json", "w") as f:
        json.dump(to_json(d), f, indent=1)
        f.write("\n")
    if "--no-png" not in argv:
        chart(d, f"{out}/bench.png")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
