#!/usr/bin/env python3
"""Prints the headline ratios of tally's benchmarks from the JSON files in bench/results/.

Every ratio compares medians from one file, that is from one run of one binary, so the two
sides saw the same machine state.

Usage: bench/ratios.py [--harness] [results-dir]
  Prints the headline table, then the false-sharing and contention table.
  --harness  only the false-sharing and contention table (what bench/harness prints)
"""
import json
import os
import re
import sys


def load(results_dir, suite):
    path = os.path.join(results_dir, suite + ".json")
    if not os.path.exists(path):
        return None, {}
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    medians = {b["run_name"]: b for b in report["benchmarks"] if b.get("aggregate_name") == "median"}
    # A per-benchmark MinTime() puts "/min_time:0.100" into the name: look names up without it.
    for name, b in list(medians.items()):
        medians.setdefault(re.sub(r"/min_time:[0-9.]+", "", name), b)
    return report.get("context", {}), medians


def rate(m, name):
    b = m.get(name)
    return b.get("items_per_second") if b else None


def time_of(m, name):
    b = m.get(name)
    return b["real_time"] if b else None


def fmt(x, unit=""):
    return "n/a" if x is None else f"{x:.2f}{unit}"


def sig(x):
    """Small per-operation rates: three significant digits."""
    return "n/a" if x is None else f"{x:.3g}"


def pct(x):
    return "n/a" if x is None else f"{100 * x:.3g}%"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def counter(m, name, key):
    b = m.get(name)
    return b.get(key) if b else None


def harness_rows(results_dir):
    """False sharing (padded vs packed, per structure) and contention (shard counts, CAS
    retries, steals). Time ratios are slow / fast: above 1 means the padded layout wins."""
    rows = []

    _, fs = load(results_dir, "false_sharing_bench")
    if fs:
        for t in (2, 4):
            packed = time_of(fs, f"BM_FalseSharing_Packed/real_time/threads:{t}")
            p64 = time_of(fs, f"BM_FalseSharing_Pad64/real_time/threads:{t}")
            p128 = time_of(fs, f"BM_FalseSharing_Pad128/real_time/threads:{t}")
            rows.append((f"false sharing: counters packed / padded-128, {t} threads", fmt(ratio(packed, p128), "x"),
                         f"time ratio; padded-64 / padded-128 {fmt(ratio(p64, p128), 'x')}"))

    _, q = load(results_dir, "mpmc_queue_bench")
    if q:
        for sc in ("1P1C", "2P2C", "4P4C"):
            padded = rate(q, f"BM_MpmcQueuePadded_Try/{sc}/manual_time")
            packed = rate(q, f"BM_MpmcQueuePacked_Try/{sc}/manual_time")
            remapped = rate(q, f"BM_MpmcQueue_Try/{sc}/manual_time")
            rows.append((f"false sharing: MpmcQueue slots padded / packed, try {sc}", fmt(ratio(padded, packed), "x"),
                         f"throughput ratio; remapped (default) / packed {fmt(ratio(remapped, packed), 'x')}"))

    _, sh = load(results_dir, "shard_bench")
    if sh:
        for t in (2, 4):
            for n in (2, 8, 32, 256):
                padded = rate(sh, f"BM_ShardedAggregate_Padded/shards:{n}/real_time/threads:{t}")
                packed = rate(sh, f"BM_ShardedAggregate_Packed/shards:{n}/real_time/threads:{t}")
                rows.append((f"false sharing: aggregator shards padded / packed, {n} shards, {t} threads",
                             fmt(ratio(padded, packed), "x"),
                             f"throughput ratio; {fmt(padded and padded / 1e6)} vs {fmt(packed and packed / 1e6)} M updates/s"))

    _, d = load(results_dir, "ws_deque_bench")
    if d:
        for th in (1, 3):
            sep = rate(d, f"BM_WorkStealingDeque_OwnerWithThieves/thieves:{th}/manual_time")
            shared = rate(d, f"BM_WorkStealingDequeSharedLine_OwnerWithThieves/thieves:{th}/manual_time")
            rows.append((f"false sharing: deque top/bottom separate / one line, owner + {th} thieves",
                         fmt(ratio(sep, shared), "x"),
                         f"throughput ratio; stolen {fmt(counter(d, f'BM_WorkStealingDeque_OwnerWithThieves/thieves:{th}/manual_time', 'stolen'))}"
                         f" vs {fmt(counter(d, f'BM_WorkStealingDequeSharedLine_OwnerWithThieves/thieves:{th}/manual_time', 'stolen'))}"))
        sep = time_of(d, "BM_WorkStealingDeque_PushPop/depth:64")
        shared = time_of(d, "BM_WorkStealingDequeSharedLine_PushPop/depth:64")
        rows.append(("false sharing: deque top/bottom separate / one line, owner push+pop alone",
                     fmt(ratio(shared, sep), "x"), f"time ratio; {fmt(sep)} vs {fmt(shared)} ns"))

    if sh:
        for t in (1, 2, 4, 8):
            rates = {n: rate(sh, f"BM_ShardedAggregate_Padded/shards:{n}/real_time/threads:{t}")
                     for n in (1, 2, 4, 8, 16, 32, 64, 128, 256)}
            rates = {n: r for n, r in rates.items() if r}
            if not rates:
                continue
            best = max(rates, key=rates.get)
            worst = min(rates, key=rates.get)
            cont = {n: counter(sh, f"BM_ShardedAggregate_Padded/shards:{n}/real_time/threads:{t}", "contended")
                    for n in (1, best, worst, 256)}
            rows.append((f"contention: aggregator best / worst shard count, {t} threads",
                         fmt(ratio(rates[best], rates[worst]), "x"),
                         f"best {best} shards {fmt(rates[best] / 1e6)}, worst {worst} shards {fmt(rates[worst] / 1e6)} M updates/s; "
                         f"contended acquisitions {pct(cont[1])} at 1 shard, {pct(cont[256])} at 256"))

    if q:
        for p in (1, 2, 4):
            for c in (1, 2, 4):
                name = f"BM_MpmcQueue_Try/{p}P{c}C/manual_time"
                if name not in q:
                    continue
                push = counter(q, name, "push_retries_per_op")
                pop = counter(q, name, "pop_retries_per_op")
                cas = counter(q, name, "cas_failures_per_op")
                rows.append((f"contention: MpmcQueue try {p}P{c}C, retries per push / per pop",
                             f"{sig(push)} / {sig(pop)}",
                             f"lost CASes per op {sig(cas)}; {fmt(rate(q, name) and rate(q, name) / 1e6)} M msg/s"))

    if d:
        for th in (1, 3):
            name = f"BM_WorkStealingDeque_OwnerWithThieves/thieves:{th}/manual_time"
            rows.append((f"contention: deque lost steal CASes per item, owner + {th} thieves",
                         sig(counter(d, name, "steal_cas_failures")), f"stolen fraction {fmt(counter(d, name, 'stolen'))}"))

    _, s = load(results_dir, "scheduler_bench")
    if s:
        for kind, bench in (("fork-join", "BM_Scheduler_ForkJoinSteals"), ("parallel_for", "BM_Scheduler_ParallelForSteals")):
            for t in (1, 2, 4, 8):
                name = f"{bench}/threads:{t}/real_time"
                if name not in s:
                    continue
                rows.append((f"contention: scheduler {kind}, {t} workers: steals / failed steals per task",
                             f"{sig(counter(s, name, 'steals_per_task'))} / {sig(counter(s, name, 'failed_steals_per_task'))}",
                             f"{fmt(counter(s, name, 'tasks'), '')} tasks per run, {fmt(time_of(s, name))} ms"))
    return rows


def process_time(m, name):
    """Median wall time (ms) and peak RSS (bytes) of a BM_Process_* benchmark."""
    for suffix in ("/manual_time", "/iterations:1/manual_time"):
        b = m.get(name + suffix)
        if b:
            return b["real_time"], b.get("peak_rss_bytes"), b.get("bytes_per_second")
    return None, None, None


def whole(x):
    return "n/a" if x is None else f"{x:.0f}"


def mib(x):
    return "n/a" if x is None else f"{x / 2**20:.0f} MiB"


def process_rows(w):
    """The programs as users run them (BM_Process_*): exec to exit, output written."""
    rows = []
    d = "distinct1e7"
    t1, rss1, _ = process_time(w, f"BM_Process_Tally/{d}/threads:1")
    t2, rss2, bps = process_time(w, f"BM_Process_Tally/{d}/threads:2")
    su, rss_su, _ = process_time(w, f"BM_Process_SortUniq/{d}")
    ab, rss_ab, _ = process_time(w, f"BM_Process_AbslFlatHashMap/{d}")
    base2, rss_b2, _ = process_time(w, f"BM_Process_TallyBaseline/{d}/threads:2")
    input_bytes = bps * t2 / 1e3 if bps and t2 else None
    if t2:
        rows.append((f"tally wordcount {d} -j 2 / sort --parallel=2 \\| uniq -c (processes)",
                     fmt(ratio(su, t2), "x"), f"{fmt(t2)} vs {fmt(su)} ms; target >= 2.5x"))
        rows.append((f"tally wordcount {d} -j 2 peak RSS / input size", fmt(ratio(rss2, input_bytes), "x"),
                     f"{mib(rss2)} for {mib(input_bytes)}; target <= 4x; sort \\| uniq -c {mib(rss_su)}"))
        rows.append((f"tally wordcount {d} -j 1 / absl::flat_hash_map program (1 thread)",
                     fmt(ratio(ab, t1), "x"), f"{fmt(t1)} vs {fmt(ab)} ms; RSS {mib(rss1)} vs {mib(rss_ab)}"))
        rows.append((f"tally wordcount {d}: -j 2 / -j 1", fmt(ratio(t1, t2), "x"), f"{fmt(t2)} vs {fmt(t1)} ms"))
    if t2 and base2:
        rows.append((f"tally wordcount {d} -j 2 / TALLY_BASELINE_EXE -j 2", fmt(ratio(base2, t2), "x"),
                     f"{fmt(t2)} vs {fmt(base2)} ms; RSS {mib(rss2)} vs {mib(rss_b2)}"))
    for threads in (1, 2):
        k, rss_k, _ = process_time(w, f"BM_Process_Tally/kjv10/threads:{threads}")
        kb, rss_kb, _ = process_time(w, f"BM_Process_TallyBaseline/kjv10/threads:{threads}")
        if k and kb:
            rows.append((f"tally wordcount kjv10 -j {threads} / TALLY_BASELINE_EXE (processes)",
                         fmt(ratio(kb, k), "x"), f"{fmt(k)} vs {fmt(kb)} ms; target >= 1.0x (no slower)"))
    return rows


def spill_rows(sp):
    """Spilling under a memory budget (spill_bench): tally at each budget against its unlimited
    run and against sort -S at the same budget (sort's "unlimited" is -S 2G); a budget never
    reached on KJV x10."""
    rows = []
    targets = {("distinct1e7", 128): ("peak RSS target <= 192 MiB", "target <= 2x"),
               ("distinct1e8", 256): ("peak RSS target <= 320 MiB", None)}
    for d in ("distinct1e7", "distinct1e8"):
        t0, rss0, _ = process_time(sp, f"BM_Process_TallySpill/{d}/memory_mib:0")
        if t0 is None:
            continue
        for m in (0, 64, 128, 256):
            name = f"BM_Process_TallySpill/{d}/memory_mib:{m}"
            t, rss, _ = process_time(sp, name)
            s, rss_s, _ = process_time(sp, f"BM_Process_SortUniq/{d}/memory_mib:{m}")
            b = sp.get(name + "/iterations:1/manual_time") or sp.get(name + "/manual_time") or {}
            budget = f"--memory {m}M" if m else "no --memory"
            sort_budget = f"-S {m}M" if m else "-S 2G"
            rss_target, time_target = targets.get((d, m), (None, None))
            spilled = (f"spilled {mib(b.get('spill_bytes'))} in {whole(b.get('spill_runs'))} runs, "
                       f"merge_passes {whole(b.get('merge_passes'))}" if m else "")
            if m:
                rows.append((f"tally wordcount {d} -j 2 {budget}: wall time / unlimited", fmt(ratio(t, t0), "x"),
                             f"{fmt(t)} vs {fmt(t0)} ms; peak RSS {mib(rss)} vs {mib(rss0)}"
                             + (f" ({rss_target})" if rss_target else "") + f"; {spilled}"
                             + (f"; {time_target}" if time_target else "")))
            rows.append((f"tally wordcount {d} -j 2 {budget} / sort --parallel=2 {sort_budget} \\| uniq -c",
                         fmt(ratio(s, t), "x"),
                         f"{fmt(t)} vs {fmt(s)} ms; peak RSS {mib(rss)} vs {mib(rss_s)}"
                         + ("; target > 1x (faster)" if (d, m) == ("distinct1e8", 256) else "")))
    u0, rss_u0, _ = process_time(sp, "BM_Process_TallyBudgetUnreached/kjv10/memory_mib:0")
    u1, rss_u1, _ = process_time(sp, "BM_Process_TallyBudgetUnreached/kjv10/memory_mib:1024")
    if u0 and u1:
        rows.append(("tally wordcount kjv10 -j 2 --memory 1G (never reached): wall time / no --memory",
                     fmt(ratio(u1, u0), "x"),
                     f"{fmt(u1)} vs {fmt(u0)} ms; peak RSS {mib(rss_u1)} vs {mib(rss_u0)}; target: no measurable cost"))
    return rows


def size(x):
    """Bytes for people: KiB below a MiB."""
    if x is None:
        return "n/a"
    return f"{x / 2**10:.0f} KiB" if x < 2**20 else f"{x / 2**20:.0f} MiB"


def mpi_time(m, corpus, ranks, threads=None):
    """Median wall time (ms) and the median benchmark of a BM_Process_* in mpi_bench."""
    name = (f"BM_Process_MpiTally/{corpus}/ranks:{ranks}/threads:{threads}" if threads
            else f"BM_Process_MrMpiWordFreq/{corpus}/ranks:{ranks}")
    for suffix in ("/manual_time", "/iterations:1/manual_time"):
        b = m.get(name + suffix)
        if b:
            return b["real_time"], b
    return None, {}


def mpi_rows(m):
    """tally across MPI ranks (mpi_bench): beside MR-MPI at the same ranks, its own scaling,
    and the launch floor every MPI program pays."""
    rows = []
    floor, _, _ = process_time(m, "BM_Process_MpiLaunch/mpi_noop/ranks:2")
    launch, _, _ = process_time(m, "BM_Process_MpiLaunch/true/ranks:2")
    rows.append(("mpirun -np 2 of a program that only calls MPI_Init and MPI_Finalize", f"{fmt(floor)} ms",
                 f"mpirun -np 2 true: {fmt(launch)} ms; the floor of every row below"))
    for corpus in ("kjv10", "distinct1e7"):
        for ranks in (1, 2):
            mr, _ = mpi_time(m, corpus, ranks)
            for threads in (1, 2):
                t, b = mpi_time(m, corpus, ranks, threads)
                if t is None:
                    continue
                detail = (f"{fmt(t)} vs {fmt(mr)} ms; without the floor {fmt(t - floor)} vs "
                          f"{fmt(mr - floor)} ms ({fmt(ratio(mr - floor, t - floor), 'x')})"
                          if mr and floor else f"{fmt(t)} ms")
                if ranks > 1:
                    detail += (f"; exchange {size(b.get('exchange_bytes'))} in {whole(b.get('exchange_rounds'))} "
                               f"rounds, {fmt(b.get('exchange_seconds'))} s; gather {size(b.get('gather_bytes'))}, "
                               f"{fmt(b.get('gather_seconds'))} s")
                rows.append((f"MR-MPI / mpirun -np {ranks} tally wordcount -j {threads}, {corpus}",
                             fmt(ratio(mr, t), "x"), detail + ("; target >= 4x (same ranks)" if threads == 1 else "")))
    g1, _ = mpi_time(m, "generated1g", 1, 1)
    g2, _ = mpi_time(m, "generated1g", 2, 1)
    if g1 and g2:
        rows.append(("mpirun -np 1 -j 1 / -np 2 -j 1, 1 GiB generated text", fmt(ratio(g1, g2), "x"),
                     f"{fmt(g2)} vs {fmt(g1)} ms; target >= 1.6x"))
    return rows


# The scale-out model's assumptions (README "Many machines"): what is not measured here.
MODEL_NODES = (8, 64, 512)
MODEL_INPUT_BYTES = 2**40          # 1 TiB of input
MODEL_LINK_BYTES_PER_S = 1.25e9    # each node's network link: 10 Gb/s Ethernet


def mpi_model_rows(m):
    """A model of `tally wordcount` on N nodes like this machine (one rank of -j 2 each) over
    1 TiB, from mpi_bench's medians: the MPI floor, the 1-rank throughput, and the exchange
    and gather volumes per input byte at 2 ranks.

      T(N) = floor + map + exchange + gather
      map      = input / N / (1-rank throughput, floor excluded)
      exchange = what one rank sends = (exchanged bytes per input byte at 2 ranks) x input / N
                 x 2 (N - 1) / N (a key's rank is one of N, so (N - 1) / N of each rank's
                 entries leave it, against 1/2 at 2 ranks), over one link
      gather   = the whole result into rank 0's one link: (gathered bytes per input byte at
                 2 ranks) x input x 2 (N - 1) / N
    The text job's exchange and result do not grow with the input (its vocabulary is the
    corpus's), so for it both are the 2-rank volumes times (N - 1) / N, not per byte."""
    floor, _, _ = process_time(m, "BM_Process_MpiLaunch/mpi_noop/ranks:2")
    rows = []
    if floor is None:
        return rows
    floor /= 1e3
    for corpus, per_byte in (("kjv10", False), ("distinct1e7", True)):
        t1, b1 = mpi_time(m, corpus, 1, 2)
        _, b2 = mpi_time(m, corpus, 2, 2)
        if t1 is None or not b2:
            continue
        input_bytes = b1["bytes_per_second"] * t1 / 1e3
        rate = input_bytes / (t1 / 1e3 - floor)
        for n in MODEL_NODES:
            leave = 2 * (n - 1) / n
            if per_byte:
                sent = b2["exchange_bytes"] / input_bytes * MODEL_INPUT_BYTES / n * leave
                gathered = b2["gather_bytes"] / input_bytes * MODEL_INPUT_BYTES * leave
            else:
                sent = b2["exchange_bytes"] / 2 * leave
                gathered = b2["gather_bytes"] * leave
            mapping = MODEL_INPUT_BYTES / n / rate
            exchange = sent / MODEL_LINK_BYTES_PER_S
            gather = gathered / MODEL_LINK_BYTES_PER_S
            total = floor + mapping + exchange + gather
            rows.append((f"1 TiB like {corpus}, {n} nodes", f"{total:.1f} s",
                         f"map {mapping:.1f} s, exchange {exchange:.2f} s, gather {gather:.2f} s, "
                         f"MPI floor {floor:.2f} s (1-rank rate {rate / 1e6:.0f} MB/s)"))
    return rows


def first_time(m, *names):
    """The median time of the first of `names` that has a result (names differ in suffix)."""
    for n in names:
        t = time_of(m, n)
        if t:
            return t
    return None


# The jobs suite (issue 16): per job, the names of its contenders in bench/jobs/<job>_bench.
# Each entry: (job label, suite, engine name at T threads, sequential name, oneTBB name at T,
# tally process name at T, the 1.1x-of-sequential target applies).
JOB_SUITES = [
    ("histogram 1.4 GB BMP", "histogram_bench", "BM_Histogram_Tally/large/threads:{t}/real_time",
     "BM_Histogram_Sequential/large/real_time", "BM_Histogram_Tbb/large/threads:{t}/real_time",
     "BM_Process_Histogram/large/threads:{t}/manual_time", True),
    ("linreg 500 MB int8 pairs", "linreg_bench", "BM_Linreg_Tally/pairs500M/threads:{t}/real_time",
     "BM_Linreg_Sequential/pairs500M/threads:1/real_time", "BM_Linreg_Tbb/pairs500M/threads:{t}/real_time",
     "BM_Linreg_Process/pairs500M/threads:{t}/manual_time", True),
    ("linreg 50 MB CSV", "linreg_bench", "BM_Linreg_Tally/csv50M/threads:{t}/real_time",
     "BM_Linreg_Sequential/csv50M/threads:1/real_time", "BM_Linreg_Tbb/csv50M/threads:{t}/real_time",
     "BM_Linreg_Process/csv50M/threads:{t}/manual_time", False),
    ("kmeans 500,000 3-D points, k = 100, 10 rounds", "kmeans_bench", "BM_KMeans_Tally/threads:{t}/real_time",
     "BM_KMeans_Sequential/real_time", "BM_KMeans_Tbb/threads:{t}/real_time",
     "BM_Process_TallyKMeans/threads:{t}/manual_time", False),
    ("grep 500 MB, one pattern", "grep_bench", "BM_Grep_Engine/one/threads:{t}/real_time",
     "BM_Grep_Sequential/one/real_time", "BM_Grep_Tbb/one/threads:{t}/real_time",
     "BM_Grep_ProcessTally/one/threads:{t}/manual_time", False),
    ("grep 500 MB, eight patterns", "grep_bench", "BM_Grep_Engine/eight/threads:{t}/real_time",
     "BM_Grep_Sequential/eight/real_time", "BM_Grep_Tbb/eight/threads:{t}/real_time",
     "BM_Grep_ProcessTally/eight/threads:{t}/manual_time", False),
    ("index 500 MB in 50 files", "index_bench", "BM_Index_Tally/threads:{t}/manual_time",
     "BM_Index_Sequential/manual_time", "BM_Index_Tbb/threads:{t}/manual_time",
     "BM_Process_TallyIndex/threads:{t}/manual_time", False),
]


def job_rows(results_dir):
    """The jobs suite's rows: per job, in process (engine, sequential, oneTBB) and the tally
    process end to end, with the issue's targets: 2 threads >= 1.8x 1 thread, histogram and
    linreg (binary) within 1.1x of the sequential loop at 1 thread, grep faster than GNU grep."""
    rows = []
    loaded = {}
    for label, suite, tally, seq, tbb, proc, near_seq in JOB_SUITES:
        if suite not in loaded:
            loaded[suite] = load(results_dir, suite)[1]
        m = loaded[suite]
        if not m:
            continue
        t1, t2 = time_of(m, tally.format(t=1)), time_of(m, tally.format(t=2))
        sq = time_of(m, seq)
        b1, b2 = time_of(m, tbb.format(t=1)), time_of(m, tbb.format(t=2))
        p1, p2 = time_of(m, proc.format(t=1)), time_of(m, proc.format(t=2))
        rows.append((f"{label}: engine 2 threads / 1 thread", fmt(ratio(t1, t2), "x"),
                     f"{fmt(t2)} vs {fmt(t1)} ms; target >= 1.8x"))
        rows.append((f"{label}: tally process 2 threads / 1 thread", fmt(ratio(p1, p2), "x"),
                     f"{fmt(p2)} vs {fmt(p1)} ms; target >= 1.8x"))
        rows.append((f"{label}: engine 1 thread / sequential loop (time)", fmt(ratio(t1, sq), "x"),
                     f"{fmt(t1)} vs {fmt(sq)} ms" + ("; target <= 1.1x" if near_seq else "")))
        rows.append((f"{label}: engine 2 threads / oneTBB 2 threads (time)", fmt(ratio(t2, b2), "x"),
                     f"{fmt(t2)} vs {fmt(b2)} ms; oneTBB 1 thread {fmt(b1)} ms"))
        if suite == "grep_bench":
            pattern = "one" if "one" in label else "eight"
            gnu = time_of(m, f"BM_Grep_ProcessGnuGrep/{pattern}/manual_time")
            rows.append((f"{label}: GNU grep / tally grep 2 threads (time)", fmt(ratio(gnu, p2), "x"),
                         f"{fmt(gnu)} vs {fmt(p2)} ms; target > 1x"))
    return rows


def print_context(ctx):
    if ctx:
        print(f"Machine: {ctx.get('cpu_model', '?')}, {ctx.get('cores', '?')} cores, {ctx.get('kernel', '?')}, "
              f"{ctx.get('compiler', '?')}, flags {ctx.get('flags', '?')}\n")


def print_table(rows):
    print("| measure | median ratio / value | detail |")
    print("|---|---|---|")
    for name, value, detail in rows:
        print(f"| {name} | {value} | {detail} |")


def main():
    args = sys.argv[1:]
    harness_only = "--harness" in args
    args = [a for a in args if a != "--harness"]
    results_dir = args[0] if args else os.path.join(os.path.dirname(__file__), "results")
    if harness_only:
        ctx = {}
        for suite in ("false_sharing_bench", "shard_bench", "mpmc_queue_bench", "ws_deque_bench", "scheduler_bench"):
            ctx = ctx or load(results_dir, suite)[0]
        print_context(ctx)
        print_table(harness_rows(results_dir))
        return
    rows = []

    ctx, q = load(results_dir, "mpmc_queue_bench")
    if q:
        for s in ("1P1C", "2P2C", "4P4C"):
            ours = rate(q, f"BM_MpmcQueue_Try/{s}/manual_time")
            rivals = {n: rate(q, f"BM_{n}_Try/{s}/manual_time")
                      for n in ("TbbBoundedQueue", "BoostLockfreeQueue", "MoodycamelQueue")}
            best = max((v for v in rivals.values() if v), default=None)
            rows.append((f"MpmcQueue try {s} / best of tbb, boost, moodycamel", fmt(ratio(ours, best), "x"),
                         f"{fmt(ours and ours / 1e6)} vs {fmt(best and best / 1e6)} M msg/s"))
        b2 = rate(q, "BM_MpmcQueue_Blocking/2P2C/manual_time")
        b4 = rate(q, "BM_MpmcQueue_Blocking/4P4C/manual_time")
        rows.append(("MpmcQueue blocking 4P4C / its 2P2C", fmt(ratio(b4, b2), "x"),
                     f"{fmt(b4 and b4 / 1e6)} vs {fmt(b2 and b2 / 1e6)} M msg/s"))
        ours_pp = min(t for t in (time_of(q, "BM_MpmcQueue_Try/PingPong/real_time"),
                                  time_of(q, "BM_MpmcQueue_Blocking/PingPong/real_time")) if t)
        rival_pp = {n: time_of(q, f"BM_{n}/PingPong/real_time") for n in
                    ("TbbBoundedQueue_Try", "BoostLockfreeQueue_Try", "MoodycamelQueue_Try")}
        best_pp = min(v for v in rival_pp.values() if v)
        rows.append(("MpmcQueue ping-pong round trip / best comparator", fmt(ratio(ours_pp, best_pp), "x"),
                     f"{fmt(ours_pp)} vs {fmt(best_pp)} ns (lower is better)"))
        for layout in ("Padded", "Packed"):
            for s in ("1P1C", "2P2C"):
                other = rate(q, f"BM_MpmcQueue{layout}_Try/{s}/manual_time")
                ours = rate(q, f"BM_MpmcQueue_Try/{s}/manual_time")
                rows.append((f"slots {layout.lower()} / remapped (default), try {s}", fmt(ratio(other, ours), "x"),
                             "throughput ratio"))

    _, d = load(results_dir, "ws_deque_bench")
    if d:
        rows.append(("WorkStealingDeque owner push+pop pair", fmt(time_of(d, "BM_WorkStealingDeque_PushPop/depth:64"), " ns"),
                     "target <= 10 ns"))

    _, fs = load(results_dir, "false_sharing_bench")
    if fs:
        for t in (1, 2, 4):
            packed = time_of(fs, f"BM_FalseSharing_Packed/real_time/threads:{t}")
            p64 = time_of(fs, f"BM_FalseSharing_Pad64/real_time/threads:{t}")
            p128 = time_of(fs, f"BM_FalseSharing_Pad128/real_time/threads:{t}")
            rows.append((f"counters packed / padded-128, {t} thread(s)", fmt(ratio(packed, p128), "x"), "time ratio"))
            rows.append((f"counters padded-64 / padded-128, {t} thread(s)", fmt(ratio(p64, p128), "x"), "time ratio"))

    _, s = load(results_dir, "scheduler_bench")
    if s:
        for t in (1, 2):
            ours = rate(s, f"BM_TaskGroup_EmptySpawn/threads:{t}/real_time")
            tbb = rate(s, f"BM_TbbTaskGroup_EmptySpawn/threads:{t}/real_time")
            rows.append((f"TaskGroup empty spawn / tbb::task_group, {t} thread(s)", fmt(ratio(ours, tbb), "x"),
                         f"{fmt(ours and ours / 1e6)} vs {fmt(tbb and tbb / 1e6)} M tasks/s"))
        for kind, ours_name, tbb_name in (("parallel_reduce", "BM_ParallelReduce_Sum", "BM_TbbParallelReduce_Sum"),
                                          ("parallel_for", "BM_ParallelFor_Map", "BM_TbbParallelFor_Map")):
            for t in (1, 2):
                ours = time_of(s, f"{ours_name}/threads:{t}/real_time")
                tbb = time_of(s, f"{tbb_name}/threads:{t}/real_time")
                rows.append((f"{kind} throughput / oneTBB, {t} thread(s)", fmt(ratio(tbb, ours), "x"),
                             f"{fmt(ours)} vs {fmt(tbb)} ms"))
        for t in (1, 2):
            b = s.get(f"BM_TaskGroup_CancelLatency/threads:{t}/iterations:500/manual_time")
            if b:
                rows.append((f"cancellation latency, {t} thread(s)", fmt(b["real_time"], " us"),
                             f"p99 {fmt(b.get('p99_us'), ' us')}, max {fmt(b.get('max_us'), ' us')}"))
        b = s.get("BM_Scheduler_IdleCpu/iterations:1/real_time")
        if b:
            rows.append(("idle pool CPU over 1 s", fmt(b.get("idle_cpu_ms"), " ms"), "whole process"))

    _, a = load(results_dir, "aggregate_bench")
    if a:
        for d in (1000, 100000, 1000000):
            times = {st: time_of(a, f"BM_Engine_{st}/distinct:{d}/threads:2/real_time")
                     for st in ("Local", "Sharded", "Partitioned")}
            tbb = time_of(a, f"BM_TbbCombinable/distinct:{d}/threads:2/real_time")
            best = min((t, st) for st, t in times.items() if t)
            rows.append((f"word count, {d} distinct, 2 threads: best strategy / oneTBB combinable",
                         fmt(ratio(tbb, best[0]), "x"),
                         f"best {best[1].lower()} {fmt(best[0])} ms; " +
                         ", ".join(f"{st.lower()} {fmt(t)}" for st, t in times.items()) + f"; tbb {fmt(tbb)} ms"))
            for st in ("Local", "Sharded", "Partitioned"):
                one = time_of(a, f"BM_Engine_{st}/distinct:{d}/threads:1/real_time")
                two = times[st]
                rows.append((f"word count, {d} distinct, {st.lower()}: 2 threads / 1 thread",
                             fmt(ratio(one, two), "x"), "throughput ratio"))
            flat = time_of(a, f"BM_Table_Flat/distinct:{d}")
            um = time_of(a, f"BM_Table_UnorderedMap/distinct:{d}")
            rows.append((f"FlatTable / std::unordered_map, {d} distinct, 1 thread", fmt(ratio(um, flat), "x"),
                         f"{fmt(flat)} vs {fmt(um)} ms"))

    _, w = load(results_dir, "wordcount_bench")
    if w:
        for corpus in ("kjv10", "vocab1e7"):
            suffix = "/real_time" if corpus == "kjv10" else "/iterations:1/real_time"
            t1 = time_of(w, f"BM_Tally/{corpus}/threads:1{suffix}")
            t2 = time_of(w, f"BM_Tally/{corpus}/threads:2{suffix}")
            t4 = time_of(w, f"BM_Tally/{corpus}/threads:4{suffix}")
            tbb1 = time_of(w, f"BM_TbbBaseline/{corpus}/threads:1{suffix}")
            tbb2 = time_of(w, f"BM_TbbBaseline/{corpus}/threads:2{suffix}")
            label = (w.get(f"BM_Tally/{corpus}/threads:1{suffix}") or {}).get("label", corpus)
            if corpus == "kjv10":
                cw = time_of(w, "BM_CountwordsOptimizedC/kjv10/threads:1/real_time")
                rows.append((f"wordcount {label}, 1 thread / countwords optimized.c", fmt(ratio(cw, t1), "x"),
                             f"{fmt(t1)} vs {fmt(cw)} ms; target >= 1.2x"))
            rows.append((f"wordcount {label}: 2 threads / 1 thread", fmt(ratio(t1, t2), "x"),
                         f"{fmt(t2)} vs {fmt(t1)} ms; target >= 1.8x"))
            rows.append((f"wordcount {label}, 2 threads / oneTBB baseline 2 threads", fmt(ratio(tbb2, t2), "x"),
                         f"{fmt(t2)} vs {fmt(tbb2)} ms; target >= 1.5x"))
            if tbb1:
                rows.append((f"wordcount {label}, 1 thread / oneTBB baseline 1 thread", fmt(ratio(tbb1, t1), "x"),
                             f"{fmt(t1)} vs {fmt(tbb1)} ms"))
            if t4:
                rows.append((f"wordcount {label}: 4 threads (oversubscribed) / 2 threads", fmt(ratio(t2, t4), "x"),
                             f"{fmt(t4)} vs {fmt(t2)} ms"))

    if w:
        rows.extend(process_rows(w))

    _, sp = load(results_dir, "spill_bench")
    if sp:
        rows.extend(spill_rows(sp))

    _, mp = load(results_dir, "mpi_bench")
    if mp:
        rows.extend(mpi_rows(mp))

    rows.extend(job_rows(results_dir))

    print_context(ctx)
    print_table(rows)
    if mp:
        print("\nScale-out model (bench/ratios.py mpi_model_rows: its assumptions are there):\n")
        print_table(mpi_model_rows(mp))
    print("\nFalse sharing and contention (bench/harness):\n")
    print_table(harness_rows(results_dir))


if __name__ == "__main__":
    main()
