"""Ingest at volume: ``python -m helpers.bench_scale`` (``make bench-scale``).

For each scale (default the demo, 10× and 100×) the synthetic extracts are generated into a
temporary folder (:func:`helpers.data.synth.generate.main` with ``scale``), then ingested there
(:func:`helpers.data.ingest.run`) in a child process of its own, and the wall-clock time and the
peak memory (maximum resident set size of that process) of each step are printed. Nothing in
``data/`` is touched. The temporary folder is removed afterwards (``--keep DIR`` keeps the
extracts in ``DIR/scale-<N>`` and reuses them on the next run).

At 100× the generator is slow (its placement matching grows faster than the volume), so by
default only one year (2019) is generated there: about 500 000 aktualiseringar instead of
2,5 million over five years (``--years-at-100 all`` generates all five).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_GENERATE = """
import sys
from pathlib import Path
from helpers.data.synth import generate
years = [int(y) for y in sys.argv[3].split(",")] if sys.argv[3] else None
generate.main(Path(sys.argv[1]), scale=float(sys.argv[2]), flow_years=years)
"""
_INGEST = """
import sys
from pathlib import Path
from helpers.data import ingest
m = ingest.run(Path(sys.argv[1]), Path(sys.argv[2]))
print(m["outputs"]["aktualiseringar.parquet"]["rows"])
"""


def _child(code: str, *args: str) -> tuple[float, float, str]:
    """Run ``code`` in a new Python process: (seconds, peak resident MB, stdout)."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"fel: barnprocessen avslutades med kod {os.waitstatus_to_exitcode(status)}")
    return seconds, usage.ru_maxrss / 1024, out.strip()  # ru_maxrss is in KiB on Linux


def _fmt(x: float, decimals: int = 1) -> str:
    return f"{x:,.{decimals}f}".replace(",", "\u00a0").replace(".", ",")


def bench(scales: list[float], root: Path, years_at_100: str) -> list[dict]:
    rows = []
    for scale in scales:
        label = f"{scale:g}×"
        raw = root / f"scale-{scale:g}" / "raw"
        years = "2019" if scale >= 100 and years_at_100 != "all" else ""
        gen_s = gen_mb = None
        if not any(raw.glob("*.xlsx")):
            print(f"{label}: genererar syntetiska extrakt{' (år ' + years + ')' if years else ''} …", flush=True)
            raw.mkdir(parents=True, exist_ok=True)
            gen_s, gen_mb, _ = _child(_GENERATE, str(raw), str(scale), years)
        processed = root / f"scale-{scale:g}" / "processed"
        shutil.rmtree(processed, ignore_errors=True)
        print(f"{label}: läser in …", flush=True)
        s, mb, n_akt = _child(_INGEST, str(raw), str(processed))
        size = sum(p.stat().st_size for p in raw.glob("*.xlsx")) / 1e6
        rows.append({"skala": label, "år": years or "alla", "aktualiseringar": int(n_akt), "xlsx_mb": size,
                     "ingest_s": s, "ingest_mb": mb, "gen_s": gen_s, "gen_mb": gen_mb})
        print(f"{label}: inläsning {_fmt(s)} s, topp {_fmt(mb, 0)} MB", flush=True)
        shutil.rmtree(processed, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench_scale",
                                     description="Mät inläsningens tid och minne vid 1×, 10× och 100× demovolymen.")
    parser.add_argument("--scales", default="1,10,100", help="skalor, kommaseparerade (standard 1,10,100)")
    parser.add_argument("--years-at-100", choices=("one", "all"), default="one",
                        help="vid skala 100 och uppåt: generera ett år (2019, standard) eller alla fem")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="behåll extrakten i DIR och återanvänd dem nästa gång")
    args = parser.parse_args(argv)
    scales = [float(s) for s in args.scales.split(",") if s.strip()]
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        rows = bench(scales, root, args.years_at_100)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\n{'skala':>6} {'år':>5} {'aktualiseringar':>16} {'xlsx MB':>8} {'inläsning s':>12} {'topp MB':>8}"
          f" {'generering s':>13} {'topp MB':>8}")
    for r in rows:
        gen = (f"{_fmt(r['gen_s']):>13} {_fmt(r['gen_mb'], 0):>8}" if r["gen_s"] is not None else f"{'(sparad)':>13} {'':>8}")
        print(f"{r['skala']:>6} {r['år']:>5} {_fmt(r['aktualiseringar'], 0):>16} {_fmt(r['xlsx_mb']):>8} "
              f"{_fmt(r['ingest_s']):>12} {_fmt(r['ingest_mb'], 0):>8} {gen}")
    print(f"\nMaskin: {os.cpu_count()} kärnor. Topp MB = största residenta minne (maxrss) i processen.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
