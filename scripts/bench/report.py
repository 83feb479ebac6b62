#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the consoles of the three benchmark guests into the report.

Usage: report.py LOG LOG LOG OUTDIR [--no-png]

The three logs are run.sh's, one per kernel (base, placement, full), in
any order: each says which kernel it is in its "HOST-INFO name=" line.
A log without that line, with a name that is not one of the three, or a
second log of the same kernel is refused. OUTDIR is created if missing.

Reads the BENCH lines vfio-bar-bench printed, the VMM lines of the nested
QEMU run (scripts/bench/vmm/) and run.sh's HOST-INFO lines, and writes
OUTDIR/bench.txt (per metric and row: median [min-max] of each kernel, the
ratios placement/base and full/placement, the winner; rows where the full
series is slower than placement beyond the run's noise; growth with BAR
size, placement, targets, the VMM), OUTDIR/bench.json (every sample) and
OUTDIR/bench.png. Fails on a log it cannot read completely.

Noise: each kernel's min-max range over the repetitions of a row. Two
kernels differ beyond noise only where their ranges do not overlap.
"""
import json
import os
import statistics
import sys
import textwrap

KINDS = ("base", "placement", "full")
PATTERNS = ("plain", "qemu", "dpdk", "msix", "vm", "nothp")
PATTERN_TEXT = {
    "plain": "plain mmap(NULL)",
    "qemu": "QEMU align+FIXED",
    "dpdk": "DPDK next-VA FIXED",
    "msix": "MSI-X hole",
    "vm": "VM decode toggle",
    "nothp": "THP disabled",
}
PATTERN_LONG = {
    "plain": "mmap(NULL) of the whole BAR (vfio selftests' library, simple tools)",
    "qemu": "QEMU's reserve size+align PROT_NONE, trim, MAP_FIXED",
    "dpdk": "DPDK's pci_vfio_mmap_bar(): each BAR MAP_FIXED into a PROT_NONE reservation "
            "at the next free VA after the memseg lists",
    "msix": "mmap(NULL) of BAR offset 2M+4K to the end: the area after an MSI-X table, "
            "mapped on its own",
    "vm": "mmap(NULL), memory decode off+on through PCI_COMMAND, VFIO_IOMMU_MAP_DMA, "
          "first touch",
    "nothp": "a child with prctl(PR_SET_THP_DISABLE): mmap(NULL) of the whole BAR",
}
NEED = {
    "touch": ("mmap_ns", "pt0_kb", "pt1_kb", "touch_ns", "touch_faults", "pt2_kb",
              "munmap_ns"),
    "type1": ("mmap_ns", "dma_ns", "dma_faults", "undma_ns", "munmap_ns"),
    "iommufd": ("dma_ns", "err", "errname"),
    "vm": ("mmap_ns", "pt0_kb", "pt1_kb", "toggle_ns", "ptz_kb", "dma_ns", "dma_faults",
           "touch_ns", "touch_faults", "pt2_kb", "undma_ns", "munmap_ns"),
    "nothp": ("mmap_ns", "pt0_kb", "pt1_kb", "munmap_ns"),
}
GIB = 1 << 30
MIB = 1 << 20

# name, tests it is read from, unit, text, value(sample) -> float
METRICS = [
    ("mmap", ("touch", "vm", "nothp"), "us", "mmap() latency (qemu, dpdk: the whole sequence)",
     lambda s: s["mmap_ns"] / 1e3),
    ("pt_mmap", ("touch", "vm", "nothp"), "KiB", "page tables after mmap() (PageTables: delta)",
     lambda s: s["pt1_kb"] - s["pt0_kb"]),
    ("toggle", ("vm",), "ms", "memory decode off and on (two PCI_COMMAND writes)",
     lambda s: s["toggle_ns"] / 1e6),
    ("touch", ("touch", "vm"), "ms", "first touch, one read per 4 KiB (vm: after the DMA map)",
     lambda s: s["touch_ns"] / 1e6),
    ("touch_faults", ("touch", "vm"), "", "first-touch minor faults",
     lambda s: s["touch_faults"]),
    ("mmap_touch", ("touch",), "ms", "mmap() + first touch",
     lambda s: (s["mmap_ns"] + s["touch_ns"]) / 1e6),
    ("pt_touch", ("touch", "vm"), "KiB", "page tables after the first touch",
     lambda s: s["pt2_kb"] - s["pt0_kb"]),
    ("munmap", ("touch", "vm", "nothp"), "ms", "munmap() (nothp: of the untouched mapping)",
     lambda s: s["munmap_ns"] / 1e6),
    ("dma", ("type1", "vm"), "ms", "VFIO_IOMMU_MAP_DMA (type1v2) of an untouched mapping",
     lambda s: s["dma_ns"] / 1e6),
    ("dma_faults", ("type1", "vm"), "", "faults during VFIO_IOMMU_MAP_DMA",
     lambda s: s["dma_faults"]),
    ("undma", ("type1", "vm"), "ms", "VFIO_IOMMU_UNMAP_DMA",
     lambda s: s["undma_ns"] / 1e6),
    ("iommufd", ("iommufd",), "ms", "IOMMU_IOAS_MAP (iommufd)",
     lambda s: s["dma_ns"] / 1e6),
]
METRIC = {m[0]: m for m in METRICS}

# What the nested QEMU's shim (scripts/bench/vmm/vmm-shim.c) reports.
VMM_KEYS = ("rep", "bar_size", "va", "shim_ms", "mmap_ms", "mmap_us", "populated", "decode_off",
            "decode_on", "map_start_ms", "map_end_ms", "map_us", "map_faults",
            "proc_faults", "other_maps", "other_map_us")


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
    """-> (info dict, devices list, samples list, VMM results: None (not
    run), a list of dicts, or {"error": text}). Strict."""
    info, devices, samples, vmm = {}, [], [], None
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
                if k == "name" and info.get(k, v) != v:
                    raise LogError(f"{where}: a second HOST-INFO name=, {v!r} after "
                                   f"{info[k]!r}")
                info[k] = v
            elif tag == "BENCH-INFO":
                info.update(parse_kv(rest.split(), where))
            elif tag == "BENCH-DEV":
                devices.append(parse_kv(rest.split(), where))
            elif tag == "BENCH":
                s = parse_kv(rest.split(), where)
                for k in ("size", "pattern", "rep", "test", "va", "len"):
                    if k not in s:
                        raise LogError(f"{where}: BENCH line without {k}")
                if s["pattern"] not in PATTERNS:
                    raise LogError(f"{where}: unknown pattern {s['pattern']}")
                need = NEED.get(s["test"])
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
            elif tag == "VMM-RESULT":
                r = parse_kv(rest.split(), where)
                missing = [k for k in VMM_KEYS if k not in r]
                if missing:
                    raise LogError(f"{where}: VMM-RESULT without {', '.join(missing)}")
                vmm = (vmm or []) + [r]
            elif tag == "VMM-ERROR":
                vmm = {"error": rest}
    if not done:
        raise LogError(f"{path}: no BENCH-DONE: the benchmark did not finish")
    if not samples:
        raise LogError(f"{path}: no BENCH samples")
    return info, devices, samples, vmm


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


def ratio_text(a, b):
    """b / a, for medians a (the reference) and b."""
    if a is None or b is None:
        return "-"
    if a == 0:
        return "=" if b == 0 else "inf"
    return f"{b / a:.3g}"


class Data:
    def __init__(self, logs):
        """logs: the paths of one log per kernel of KINDS, in any order; each
        log names its kernel in its HOST-INFO name= line (run.sh)."""
        self.info, self.devices, self.samples, self.vmm = {}, {}, {}, {}
        path_of = {}
        for path in logs:
            parsed = parse_log(path)
            kind = parsed[0].get("name")
            if kind is None:
                raise LogError(f"{path}: no HOST-INFO name= line: which kernel "
                               f"({', '.join(KINDS)}) it ran is unknown")
            if kind not in KINDS:
                raise LogError(f"{path}: HOST-INFO name={kind}: not one of "
                               f"{', '.join(KINDS)}")
            if kind in path_of:
                raise LogError(f"{path_of[kind]} and {path} are both the {kind} "
                               f"kernel's log (HOST-INFO name={kind})")
            path_of[kind] = path
            (self.info[kind], self.devices[kind], self.samples[kind],
             self.vmm[kind]) = parsed
        missing = [k for k in KINDS if k not in path_of]
        if missing:
            raise LogError(f"no log of the {', '.join(missing)} kernel")
        sizes = [sorted({s["size"] for s in self.samples[k]}) for k in KINDS]
        if any(s != sizes[0] for s in sizes):
            raise LogError(f"the logs measured different BAR sizes: {sizes}")
        self.sizes = sizes[0]
        self.pa = {k: {d["size"]: d["pa"] for d in self.devices[k]} for k in KINDS}

    def values(self, kind, metric, size, pattern):
        _, tests, _, _, fn = METRIC[metric]
        out = []
        for s in self.samples[kind]:
            if s["test"] not in tests or s["size"] != size or s["pattern"] != pattern:
                continue
            if s["test"] == "iommufd" and s["err"]:
                continue
            out.append(fn(s))
        return out

    def errors(self, kind, size, pattern):
        return sorted({s["errname"] for s in self.samples[kind]
                       if s["test"] == "iommufd" and s["size"] == size
                       and s["pattern"] == pattern and s["err"]})

    def median(self, kind, metric, size, pattern):
        v = self.values(kind, metric, size, pattern)
        return statistics.median(v) if v else None

    def span(self, kind, metric, size, pattern):
        v = self.values(kind, metric, size, pattern)
        return (min(v), max(v)) if v else None

    def rows(self, metric):
        """The (size, pattern) rows any kernel measured this metric for."""
        tests = METRIC[metric][1]
        have = {(s["size"], s["pattern"]) for k in KINDS for s in self.samples[k]
                if s["test"] in tests}
        return [(size, p) for size in self.sizes for p in PATTERNS if (size, p) in have]

    def placement(self, kind, size, pattern):
        """The leaves each mapping's VA allows, as in '511x4K+510x2M+1x1G'."""
        off = 0x201000 if pattern == "msix" else 0
        pa = self.pa[kind].get(size)
        if pa is None:
            return "?"
        seen = []
        for s in self.samples[kind]:
            if s["test"] in ("touch", "vm", "nothp") and s["size"] == size \
                    and s["pattern"] == pattern:
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


def cell(d, kind, metric, size, pattern):
    unit = METRIC[metric][2]
    v = d.values(kind, metric, size, pattern)
    if not v:
        errs = d.errors(kind, size, pattern) if metric == "iommufd" else []
        return ", ".join(errs) if errs else "-"
    med = statistics.median(v)
    if min(v) == max(v):
        return fmt(med, unit)
    return f"{fmt(med, unit)} [{fmt(min(v), unit)}-{fmt(max(v), unit)}]"


def overlap(a, b):
    return a[0] <= b[1] and b[0] <= a[1]


def winner(d, metric, size, pattern):
    """Which kernel wins the row (lowest median) and by how much over the
    runner-up; '~' where their min-max ranges overlap (within noise)."""
    have = [(d.median(k, metric, size, pattern), k) for k in KINDS]
    have = sorted((m, KINDS.index(k), k) for m, k in have if m is not None)
    if len(have) < 2:
        return "-"
    (mw, _, w), (mr, _, r) = have[0], have[1]
    if mw == have[-1][0]:
        return "all equal"
    if mw == mr:
        return f"{w}={r}"
    if overlap(d.span(w, metric, size, pattern), d.span(r, metric, size, pattern)):
        return f"{w}~{r} (noise)"
    return f"{w}, {mr / mw:.3g}x" if mw else f"{w} (0)"


def full_slower(d, metric, size, pattern):
    """full's median > placement's and their ranges do not overlap."""
    p, f = d.span("placement", metric, size, pattern), d.span("full", metric, size, pattern)
    return p is not None and f is not None and f[0] > p[1]


def full_faster(d, metric, size, pattern):
    p, f = d.span("placement", metric, size, pattern), d.span("full", metric, size, pattern)
    return p is not None and f is not None and f[1] < p[0]


def aligned(rows, left=2):
    """The first `left` columns and the last one flush left, the rest right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(widths[i]) if i < left or i == len(r) - 1 else
                             c.rjust(widths[i]) for i, c in enumerate(r)).rstrip()
            for r in rows]


def table(d):
    lines = []
    w = lines.append
    reps = d.info["base"].get("reps", "?")
    w("make bench: vfio-pci BAR mappings, the unpatched base, the series without")
    w("population (placement) and the whole series (full)")
    w("")
    for k in KINDS:
        i = d.info[k]
        w(f"{k + ':':10} {i.get('label', '?')}, uname -r {i.get('kernel', '?')}")
    ib = d.info["base"]
    w(f"{ib.get('qemu', 'QEMU ?')}, TCG, q35, -cpu max, emulated Intel IOMMU; "
      f"repetitions per row: {reps}; run {ib.get('date', '?')}")
    w("host load average (1 min) before/after: " + ", ".join(
        f"{k} {d.info[k].get('loadavg_before', '?')}/{d.info[k].get('loadavg_after', '?')}"
        for k in KINDS))
    w("cells: median [min-max] over the repetitions; plc/base: placement median / base")
    w("median; full/plc: full median / placement median (< 1: population helps);")
    w("best: the kernel with the lowest median and the runner-up's median over it;")
    w("'a~b (noise)' where their min-max ranges overlap. Noise is estimated per row")
    w("and kernel as the min-max range of its repetitions: two kernels differ beyond")
    w("noise only where their ranges do not overlap (with 1 repetition every")
    w("difference counts). Each kernel is one boot: the ranges do not cover what")
    w("varies between boots, which rows where two kernels take the same faults")
    w("show. '!': full slower than placement beyond noise.")
    w("")
    w("Patterns (each maps BAR2 afresh for each test):")
    for p in PATTERNS:
        lines += textwrap.wrap(PATTERN_LONG[p], 78, initial_indent=f"  {p:7}",
                               subsequent_indent=" " * 9)
    for metric, _, unit, text, _ in METRICS:
        rows_ = d.rows(metric)
        if not rows_:
            continue
        w("")
        w(f"{text}" + (f" ({unit})" if unit else ""))
        rows = [("BAR", "pattern", "base", "placement", "full", "plc/base", "full/plc",
                 "best")]
        for size, p in rows_:
            m = {k: d.median(k, metric, size, p) for k in KINDS}
            rows.append((size_text(size), p,
                         *(cell(d, k, metric, size, p) for k in KINDS),
                         ratio_text(m["base"], m["placement"]),
                         ratio_text(m["placement"], m["full"]) +
                         ("!" if full_slower(d, metric, size, p) else ""),
                         winner(d, metric, size, p)))
        lines += aligned(rows)

    for title, test, mark in (
            ("Full slower than placement alone beyond the run's noise (what population "
             "costs),\nlargest factor first:", full_slower, "! "),
            ("Full faster than placement alone beyond the run's noise (what population "
             "buys),\nlargest factor first:", full_faster, "")):
        w("")
        lines += title.split("\n")
        found = []
        for metric, _, unit, text, _ in METRICS:
            for size, p in d.rows(metric):
                if test(d, metric, size, p):
                    pm = d.median("placement", metric, size, p)
                    fm = d.median("full", metric, size, p)
                    key = max(pm, fm) / min(pm, fm) if min(pm, fm) else float("inf")
                    how = "from 0" if not pm else "to 0" if not fm else f"{ratio_text(pm, fm)}x"
                    found.append((-key, f"  {mark}{size_text(size)} {p}: {metric}, "
                                  f"{fmt(fm, unit)} vs {fmt(pm, unit)}"
                                  f"{' ' + unit if unit else ''} ({how})"))
        lines += [t for _, t in sorted(found, key=lambda f: f[0])] or ["  none"]

    w("")
    w("Growth with BAR size: median at the larger size / median at the smaller")
    steps = list(zip(d.sizes, d.sizes[1:]))
    head = ["metric", "pattern"] + [f"{k} {size_text(a)}->{size_text(b)}"
                                   for k in KINDS for a, b in steps]
    rows = [tuple(head + [""])]
    for metric in ("mmap", "touch_faults", "dma", "munmap"):
        for p in PATTERNS:
            if not any(r[1] == p for r in d.rows(metric)):
                continue
            r = [metric, p]
            for k in KINDS:
                for a, b in steps:
                    r.append(ratio_text(d.median(k, metric, a, p), d.median(k, metric, b, p)))
            rows.append(tuple(r + [""]))
    if steps:
        lines += aligned(rows)
    else:
        w("  (one BAR size measured)")

    w("")
    w("Placement: the leaves each mapping's VA allows at best (VA and PA congruent")
    w("modulo the leaf size); a kernel that maps lazily takes one fault per leaf")
    rows = [("BAR", "pattern") + KINDS + ("",)]
    for size in d.sizes:
        for p in PATTERNS:
            rows.append((size_text(size), p) + tuple(d.placement(k, size, p) for k in KINDS)
                        + ("",))
    lines += [r.rstrip() for r in aligned(rows)]

    w("")
    w("A real VMM: Debian's qemu-system-x86_64 in the guest assigns the BAR with")
    w("-device vfio-pci to a nested TCG guest that runs only SeaBIOS; from QEMU's")
    w("exec to the end of the BAR's VFIO_IOMMU_MAP_DMA (scripts/bench/vmm/)")
    lines += vmm_table(d)

    w("")
    w("Targets for the series (reported, not asserted; full series vs base)")
    for line in targets(d):
        w("  " + line)
    return "\n".join(lines) + "\n"


def vmm_table(d):
    v = d.vmm
    if all(v[k] is None for k in KINDS):
        return ["  not run (BENCH_VMM=0)"]
    errs = [f"  {k}: FAILED: {v[k]['error']}" for k in KINDS if isinstance(v[k], dict)]
    ok = [k for k in KINDS if isinstance(v[k], list)]
    out = []
    if not ok:
        return errs

    def num(k, key):
        x = [r[key] for r in v[k]]
        med = f"{statistics.median(x):,.0f}"
        return med if min(x) == max(x) else f"{med} [{min(x):,}-{max(x):,}]"

    def count(k, key, what):
        return f"{sum(1 for r in v[k] if r[key] > 0)} of {len(v[k])}"

    def placed(k):
        texts = []
        for r in v[k]:
            pa = d.pa[k].get(r["bar_size"])
            texts.append("?" if pa is None else leaves_text(leaves(r["va"], pa, r["bar_size"])))
        return ", ".join(f"{t} ({texts.count(t)})" for t in dict.fromkeys(texts))

    bar = sorted({r["bar_size"] for k in ok for r in v[k]})
    out.append(f"  BAR: {', '.join(size_text(b) for b in bar)}; QEMU started "
               + ", ".join(f"{len(v[k])}x on {k}" for k in ok)
               + "; median [min-max]")
    rows = [("", *ok, "")]
    for text, f in (
            ("exec to BAR MAP_DMA done (ms)", lambda k: num(k, "map_end_ms")),
            ("BAR mmap() at (ms after exec)", lambda k: num(k, "mmap_ms")),
            ("BAR mmap() latency (us)", lambda k: num(k, "mmap_us")),
            ("leaves the BAR's VA allows (runs)", placed),
            ("runs where mmap() populated the BAR", lambda k: count(k, "populated", "")),
            ("decode-off writes (zaps) before the map", lambda k: num(k, "decode_off")),
            ("decode-on writes before the map", lambda k: num(k, "decode_on")),
            ("BAR VFIO_IOMMU_MAP_DMA (us)", lambda k: num(k, "map_us")),
            ("faults in the BAR's MAP_DMA (refill)", lambda k: num(k, "map_faults")),
            ("QEMU's faults, exec to map done", lambda k: num(k, "proc_faults")),
            ("other MAP_DMAs before it (RAM, ROM)", lambda k: num(k, "other_maps")),
            ("their total time (us)", lambda k: num(k, "other_map_us"))):
        rows.append((text, *(f(k) for k in ok), ""))
    return out + aligned(rows, left=1) + errs


def targets(d):
    g2 = 2 * GIB
    out = []
    if g2 not in d.sizes:
        return ["(no 2 GiB BAR measured)"]
    m = lambda k, metric, p: d.median(k, metric, g2, p)

    def line(ok, text):
        out.append(("met      " if ok else "NOT MET  ") + text)

    bf, bd = m("base", "touch_faults", "plain"), m("base", "dma", "plain")
    out.append(f"base, 2 GiB plain: {fmt(bf, '')} first-touch faults (brief: 524,288), "
               f"DMA map {fmt(bd, 'ms')} ms (brief: 3,900-4,900)")
    af, ad = m("base", "touch_faults", "qemu"), m("base", "dma", "qemu")
    out.append(f"base, 2 GiB QEMU-aligned: {fmt(af, '')} faults (brief: 3), "
               f"DMA map {fmt(ad, 'ms')} ms (brief: 2.8-8.7)")
    for p in ("plain", "msix"):
        worst = max(d.median("full", "touch_faults", s, p) for s in d.sizes)
        line(worst == 0, f"0 first-touch faults, {p}: at most {fmt(worst, '')} "
             f"(any BAR size)")
    pd = m("full", "dma", "plain")
    line(pd <= 1.1 * ad, f"full plain DMA map <= 1.1x base QEMU-aligned: "
         f"{fmt(pd, 'ms')} ms vs {fmt(ad, 'ms')} ms ({pd / ad:.3g}x)")
    pt = m("full", "pt_touch", "plain")
    line(pt <= 4, f"page tables of the 2 GiB plain mapping <= one page: {fmt(pt, 'KiB')} KiB")
    for p, what in (("qemu", "QEMU-aligned"), ("plain", "plain (kernel-aligned)")):
        pm, bm = m("full", "mmap", p), m("base", "mmap", p)
        line(pm <= 2 * bm, f"{what} 2 GiB mmap() <= 2x base: {fmt(pm, 'us')} us vs "
             f"{fmt(bm, 'us')} us ({pm / bm:.3g}x)")
    pmt, bmt = m("full", "mmap_touch", "plain"), m("base", "mmap_touch", "plain")
    line(bmt >= 10 * pmt, f"plain mmap()+first touch >= 10x faster than base: "
         f"{fmt(pmt, 'ms')} ms vs {fmt(bmt, 'ms')} ms ({bmt / pmt:.3g}x faster)")
    return out


def to_json(d):
    return {
        "units": {"*_ns": "nanoseconds", "pt*_kb": "kB of PageTables: in /proc/meminfo",
                  "*faults": "minor faults (getrusage) during the touch or the DMA map",
                  "err": "errno of IOMMU_IOAS_MAP, 0 on success",
                  "vmm": "the nested QEMU run: *_ms since QEMU's exec, *_us durations"},
        "noise": "min-max over the repetitions of a row; overlapping ranges = within noise",
        "metrics": {m[0]: {"tests": m[1], "unit": m[2], "text": m[3]} for m in METRICS},
        "kernels": {k: {"info": d.info[k], "devices": d.devices[k],
                        "samples": d.samples[k], "vmm": d.vmm[k]} for k in KINDS},
    }


def chart(d, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    panels = ["mmap", "pt_mmap", "touch", "touch_faults", "dma", "munmap"]
    colors = {"base": "tab:gray", "placement": "tab:blue", "full": "tab:red"}
    fig, axes = plt.subplots(len(d.sizes), len(panels),
                             figsize=(4.2 * len(panels), 3.6 * len(d.sizes) + 1),
                             squeeze=False)
    for row, size in enumerate(d.sizes):
        for ax, metric in zip(axes[row], panels):
            _, _, unit, text, _ = METRIC[metric]
            pats = [p for s, p in d.rows(metric) if s == size]
            seen = []
            for j, k in enumerate(KINDS):
                xs, ys, lo, hi = [], [], [], []
                for i, p in enumerate(pats):
                    v = d.values(k, metric, size, p)
                    if not v:
                        continue
                    med = statistics.median(v)
                    seen += v
                    xs.append(i + (j - 1) * 0.27)
                    ys.append(med)
                    lo.append(med - min(v))
                    hi.append(max(v) - med)
                ax.bar(xs, ys, width=0.27, color=colors[k], label=k,
                       yerr=[lo, hi], capsize=2, error_kw={"lw": 1})
            ax.set_xticks(range(len(pats)), pats, fontsize=9)
            ax.set_title(f"{size_text(size)}: {text.split(' (')[0]}"
                         + (f" ({unit})" if unit else ""), fontsize=10)
            if seen and max(seen) > 0:
                pos = [x for x in seen if x > 0]
                if metric in ("touch_faults", "pt_mmap") or min(seen) <= 0:
                    ax.set_yscale("symlog", linthresh=max(min(pos), 1e-3))
                elif max(seen) / min(pos) > 10:
                    ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.6g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.grid(True, axis="y", which="major", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=11, frameon=False)
    fig.suptitle("vfio-pci BAR mappings in a QEMU TCG guest: base, placement (the series "
                 "without population), full series\nmedian per pattern, bars min-max; "
                 "lower is better", fontsize=13)
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != len(KINDS) + 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        d = Data(args[:len(KINDS)])
    except (LogError, OSError) as e:
        print(f"report: {e}", file=sys.stderr)
        return 1
    out = args[-1]
    text = table(d)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        print(f"report: {e}", file=sys.stderr)
        return 1
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
