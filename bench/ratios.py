#!/usr/bin/env python3
"""The results of tally's benchmarks, from the JSON files in bench/results/, and the numbers
that README.md and bench/README.md quote from them.

Every ratio compares medians from one file, that is from one run of one binary, so the two
sides saw the same machine state.

Usage:
  bench/ratios.py [results-dir]    where the JSON came from (commit, load, quiet or not),
                                   then every table
  bench/ratios.py --harness        only the false-sharing and contention table
  bench/ratios.py --update README.md bench/README.md
                                   rewrites the generated parts of those files: tables between
                                   <!-- ratios:begin NAME --> and <!-- ratios:end -->, values
                                   as <!-- v:KEY -->1.56x<!-- /v -->. Refuses (exit 2) when the
                                   suites come from different commits (--allow-mixed) or ran on
                                   a busy machine (--allow-noisy), and says which.
  bench/ratios.py --check README.md bench/README.md
                                   exits 1 naming every marker that disagrees with the JSON,
                                   and every ratio or time (1.5x, 12 ms) written by hand in a
                                   results region: between <!-- results:begin --> and
                                   <!-- results:end -->, or the whole file when it has none.
                                   A target is written after its comparison (>= 1.5x).
"""
import argparse
import glob
import json
import os
import re
import sys

# The values quoted in prose, by key: filled by the row builders through put().
VALUES = {}


def put(key, text):
    VALUES[key] = text
    return text


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
            packed = rate(q, f"BM_MpmcQueue_Try/{sc}/manual_time")
            remapped = rate(q, f"BM_MpmcQueueRemapped_Try/{sc}/manual_time")
            rows.append((f"false sharing: MpmcQueue slots padded / packed (default), try {sc}",
                         fmt(ratio(padded, packed), "x"),
                         f"throughput ratio; remapped / packed {fmt(ratio(remapped, packed), 'x')}"))

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
                         put(f"harness.deque.separate_vs_shared.th{th}", fmt(ratio(sep, shared), "x")),
                         f"throughput ratio; stolen {fmt(counter(d, f'BM_WorkStealingDeque_OwnerWithThieves/thieves:{th}/manual_time', 'stolen'))}"
                         f" vs {fmt(counter(d, f'BM_WorkStealingDequeSharedLine_OwnerWithThieves/thieves:{th}/manual_time', 'stolen'))}"))
        sep = time_of(d, "BM_WorkStealingDeque_PushPop/depth:64")
        shared = time_of(d, "BM_WorkStealingDequeSharedLine_PushPop/depth:64")
        rows.append(("false sharing: deque top/bottom separate / one line, owner push+pop alone",
                     put("harness.deque.separate_vs_shared.alone", fmt(ratio(shared, sep), "x")), f"time ratio; {fmt(sep)} vs {fmt(shared)} ns"))

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
            put(f"harness.shard.contended_1shard.t{t}", pct(cont[1]))
            rows.append((f"contention: aggregator best / worst shard count, {t} threads",
                         put(f"harness.shard.best_vs_worst.t{t}", fmt(ratio(rates[best], rates[worst]), "x")),
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

# The keys of JOB_SUITES' rows in the values quoted in prose (jobs.KEY.engine_scaling, ...).
JOB_KEYS = ("histogram", "linreg_pairs", "linreg_csv", "kmeans", "grep_one", "grep_eight", "index")


def job_rows(results_dir):
    """The jobs suite's rows: per job, in process (engine, sequential, oneTBB) and the tally
    process end to end, with the issue's targets: 2 threads >= 1.8x 1 thread, histogram and
    linreg (binary) within 1.1x of the sequential loop at 1 thread, grep faster than GNU grep."""
    rows = []
    loaded = {}
    for (label, suite, tally, seq, tbb, proc, near_seq), key in zip(JOB_SUITES, JOB_KEYS):
        if suite not in loaded:
            loaded[suite] = load(results_dir, suite)[1]
        m = loaded[suite]
        if not m:
            continue
        t1, t2 = time_of(m, tally.format(t=1)), time_of(m, tally.format(t=2))
        sq = time_of(m, seq)
        b1, b2 = time_of(m, tbb.format(t=1)), time_of(m, tbb.format(t=2))
        p1, p2 = time_of(m, proc.format(t=1)), time_of(m, proc.format(t=2))
        rows.append((f"{label}: engine 2 threads / 1 thread", put(f"jobs.{key}.engine_scaling", fmt(ratio(t1, t2), "x")),
                     f"{fmt(t2)} vs {fmt(t1)} ms; target >= 1.8x"))
        rows.append((f"{label}: tally process 2 threads / 1 thread", put(f"jobs.{key}.process_scaling", fmt(ratio(p1, p2), "x")),
                     f"{fmt(p2)} vs {fmt(p1)} ms; target >= 1.8x"))
        rows.append((f"{label}: engine 1 thread / sequential loop (time)", put(f"jobs.{key}.vs_sequential", fmt(ratio(t1, sq), "x")),
                     f"{fmt(t1)} vs {fmt(sq)} ms" + ("; target <= 1.1x" if near_seq else "")))
        rows.append((f"{label}: engine 2 threads / oneTBB 2 threads (time)", put(f"jobs.{key}.vs_tbb", fmt(ratio(t2, b2), "x")),
                     f"{fmt(t2)} vs {fmt(b2)} ms; oneTBB 1 thread {fmt(b1)} ms"))
        if suite == "grep_bench":
            pattern = "one" if "one" in label else "eight"
            gnu = time_of(m, f"BM_Grep_ProcessGnuGrep/{pattern}/manual_time")
            rows.append((f"{label}: GNU grep / tally grep 2 threads (time)", put(f"jobs.{key}.vs_gnu_grep", fmt(ratio(gnu, p2), "x")),
                         f"{fmt(gnu)} vs {fmt(p2)} ms; target > 1x"))
    return rows


MPMC_TRY_RIVALS = (("TbbBoundedQueue_Try", "oneTBB"), ("BoostLockfreeQueue_Try", "boost.lockfree"),
                   ("MoodycamelQueue_Try", "moodycamel"), ("MoodycamelQueueTokens_Try", "moodycamel with tokens"))
MPMC_BLOCKING_RIVALS = (("TbbBoundedQueue_Blocking", "oneTBB"),
                        ("MoodycamelBlockingQueue_Blocking", "moodycamel"),
                        ("MoodycamelBlockingQueueTokens_Blocking", "moodycamel with tokens"))


def best_of(values):
    """(value, label) of the largest value in {label: value}, or (None, None)."""
    present = [(v, k) for k, v in values.items() if v]
    return max(present) if present else (None, None)


def queue_rows(q):
    """MpmcQueue against its rivals, like with like: try mode against the rivals' try loops,
    blocking mode against the rivals' own waits (boost.lockfree has none)."""
    rows = []
    for mode, rivals, label in (("Try", MPMC_TRY_RIVALS, "oneTBB, boost.lockfree, moodycamel (with or without tokens)"),
                                ("Blocking", MPMC_BLOCKING_RIVALS, "oneTBB, moodycamel (with or without tokens)")):
        for s in ("1P1C", "2P2C", "4P4C"):
            ours = rate(q, f"BM_MpmcQueue_{mode}/{s}/manual_time")
            best, who = best_of({n: rate(q, f"BM_{b}/{s}/manual_time") for b, n in rivals})
            value = put(f"mpmc.{mode.lower()}.{s}.vs_best", fmt(ratio(ours, best), "x"))
            rows.append((f"MpmcQueue {mode.lower()} {s} / best of {label}, {mode.lower()} mode", value,
                         f"{fmt(ours and ours / 1e6)} vs {fmt(best and best / 1e6)} M msg/s (best: {who or 'n/a'})"
                         + ("; target >= 2x" if (mode, s) == ("Try", "1P1C") else "")))
    for s in ("1P1C", "2P2C", "4P4C"):
        with_t = rate(q, f"BM_MoodycamelQueueTokens_Try/{s}/manual_time")
        without = rate(q, f"BM_MoodycamelQueue_Try/{s}/manual_time")
        rows.append((f"moodycamel with tokens / without, try {s}", put(f"mpmc.moodycamel_tokens.{s}", fmt(ratio(with_t, without), "x")),
                     f"{fmt(with_t and with_t / 1e6)} vs {fmt(without and without / 1e6)} M msg/s; with tokens its "
                     "producers enqueue without a bound (bench/lockfree/mpmc_queue_bench.cpp says why)"))
    b2 = rate(q, "BM_MpmcQueue_Blocking/2P2C/manual_time")
    b4 = rate(q, "BM_MpmcQueue_Blocking/4P4C/manual_time")
    rows.append(("MpmcQueue blocking 4P4C / its 2P2C", put("mpmc.blocking.4P4C_vs_2P2C", fmt(ratio(b4, b2), "x")),
                 f"{fmt(b4 and b4 / 1e6)} vs {fmt(b2 and b2 / 1e6)} M msg/s"))
    for mode, rivals in (("Try", MPMC_TRY_RIVALS), ("Blocking", MPMC_BLOCKING_RIVALS)):
        ours = time_of(q, f"BM_MpmcQueue_{mode}/PingPong/real_time")
        # The best rival is the fastest round trip: the smallest time, so the largest 1 / time.
        times = {n: time_of(q, f"BM_{b}/PingPong/real_time") for b, n in rivals}
        present = [(t, n) for n, t in times.items() if t]
        best, who = min(present) if present else (None, None)
        rows.append((f"MpmcQueue ping-pong, {mode.lower()} mode: round trips per second / best rival's, {mode.lower()} mode",
                     put(f"mpmc.pingpong.{mode.lower()}", fmt(ratio(best, ours), "x")),
                     f"{fmt(ours)} vs {fmt(best)} ns per round trip (best: {who or 'n/a'})"))
    mutex = time_of(q, "BM_MutexDeque_Blocking/PingPong/real_time")
    ours = time_of(q, "BM_MpmcQueue_Blocking/PingPong/real_time")
    rows.append(("MpmcQueue ping-pong, blocking mode: round trips per second / std::mutex + std::deque",
                 fmt(ratio(mutex, ours), "x"), f"{fmt(ours)} vs {fmt(mutex)} ns per round trip"))
    for layout in ("Padded", "Remapped"):
        for s in ("1P1C", "2P2C"):
            other = rate(q, f"BM_MpmcQueue{layout}_Try/{s}/manual_time")
            ours = rate(q, f"BM_MpmcQueue_Try/{s}/manual_time")
            rows.append((f"slots {layout.lower()} / packed (default), try {s}",
                         put(f"mpmc.layout.{layout.lower()}.{s}", fmt(ratio(other, ours), "x")), "throughput ratio"))
    return rows


def deque_rows(d):
    return [("WorkStealingDeque owner push+pop pair",
             put("deque.push_pop_ns", fmt(time_of(d, "BM_WorkStealingDeque_PushPop/depth:64"), " ns")),
             "target <= 10 ns")]


def false_sharing_rows(fs):
    rows = []
    for t in (1, 2, 4):
        packed = time_of(fs, f"BM_FalseSharing_Packed/real_time/threads:{t}")
        p64 = time_of(fs, f"BM_FalseSharing_Pad64/real_time/threads:{t}")
        p128 = time_of(fs, f"BM_FalseSharing_Pad128/real_time/threads:{t}")
        rows.append((f"counters packed / padded-128, {t} thread(s)",
                     put(f"fs.packed.t{t}", fmt(ratio(packed, p128), "x")), "time ratio"))
        rows.append((f"counters padded-64 / padded-128, {t} thread(s)",
                     put(f"fs.pad64.t{t}", fmt(ratio(p64, p128), "x")), "time ratio"))
    return rows


def scheduler_rows(s):
    rows = []
    for t in (1, 2):
        ours = rate(s, f"BM_TaskGroup_EmptySpawn/threads:{t}/real_time")
        tbb = rate(s, f"BM_TbbTaskGroup_EmptySpawnPlusCaller/threads:{t}/real_time")
        tbb_n = rate(s, f"BM_TbbTaskGroup_EmptySpawn/threads:{t}/real_time")
        workers_only = rate(s, f"BM_TaskGroup_EmptySpawnWorkersOnly/threads:{t}/real_time")
        rows.append((f"TaskGroup (caller_runs) empty spawn / tbb::task_group, {t} worker(s) + the caller",
                     put(f"sched.spawn.t{t}", fmt(ratio(ours, tbb), "x")),
                     f"{fmt(ours and ours / 1e6)} vs {fmt(tbb and tbb / 1e6)} M tasks/s; target >= 1.5x; "
                     f"TBB with {t} thread(s) counting the caller {fmt(tbb_n and tbb_n / 1e6)}, "
                     f"tally without caller_runs {fmt(workers_only and workers_only / 1e6)} M tasks/s"))
    for kind, ours_name, tbb_name in (("parallel_reduce", "BM_ParallelReduce_Sum", "BM_TbbParallelReduce_Sum"),
                                      ("parallel_for", "BM_ParallelFor_Map", "BM_TbbParallelFor_Map")):
        for t in (1, 2):
            ours = time_of(s, f"{ours_name}/threads:{t}/real_time")
            tbb = time_of(s, f"{tbb_name}/threads:{t}/real_time")
            rows.append((f"{kind} throughput / oneTBB, {t} thread(s)", put(f"sched.{kind}.t{t}", fmt(ratio(tbb, ours), "x")),
                         f"{fmt(ours)} vs {fmt(tbb)} ms" + ("; target >= 0.95x" if kind == "parallel_reduce" else "")))
    for t in (1, 2):
        ours = time_of(s, f"BM_ParallelReduce_SumFromWorker/threads:{t}/real_time")
        tbb = time_of(s, f"BM_TbbParallelReduce_Sum/threads:{t}/real_time")
        rows.append((f"parallel_reduce called from a worker / oneTBB, {t} thread(s)",
                     put(f"sched.parallel_reduce_from_worker.t{t}", fmt(ratio(tbb, ours), "x")),
                     f"{fmt(ours)} vs {fmt(tbb)} ms; no hand-off to a parked pool per call"))
    b = s.get("BM_Host_WakeLatency/iterations:300/manual_time")
    if b:
        rows.append(("host: wake-up of a thread parked on a futex, its CPU idle (no tally code)",
                     put("host.wake_p50", fmt(b.get("p50_us"), " us")),
                     f"median; p99 {put('host.wake_p99', fmt(b.get('p99_us'), ' us'))}, "
                     f"max {put('host.wake_max', fmt(b.get('max_us'), ' us'))}"))
    for t in (1, 2):
        b = s.get(f"BM_TaskGroup_CancelLatency/threads:{t}/iterations:500/manual_time")
        if b:
            rows.append((f"cancellation latency, {t} thread(s)", put(f"sched.cancel.t{t}", fmt(b["real_time"], " us")),
                         f"p99 {put(f'sched.cancel_p99.t{t}', fmt(b.get('p99_us'), ' us'))}, "
                         f"max {put(f'sched.cancel_max.t{t}', fmt(b.get('max_us'), ' us'))}; target: p99 <= 1 ms"))
    b = s.get("BM_Scheduler_IdleCpu/iterations:1/real_time")
    if b:
        # The pool's own threads are the headline: the process figure also holds whatever the
        # benchmark thread is charged while it sleeps, which varies from run to run.
        rows.append(("idle pool CPU over 1 s, its 2 workers", put("sched.idle_cpu", fmt(b.get("worker_cpu_ms"), " ms")),
                     f"whole process {put('sched.idle_cpu_process', fmt(b.get('idle_cpu_ms'), ' ms'))}"))
    return rows


def aggregate_rows(a):
    rows = []
    for d in (1000, 100000, 1000000):
        times = {st: time_of(a, f"BM_Engine_{st}/distinct:{d}/threads:2/real_time")
                 for st in ("Local", "Sharded", "Partitioned")}
        tbb = time_of(a, f"BM_TbbCombinable/distinct:{d}/threads:2/real_time")
        present = [(t, st) for st, t in times.items() if t]
        best = min(present) if present else (None, "n/a")
        put(f"agg.best_strategy.{d}", f"`{best[1].lower()}`")
        rows.append((f"word count, {d} distinct, 2 threads: best strategy / oneTBB combinable",
                     put(f"agg.best_vs_tbb.{d}", fmt(ratio(tbb, best[0]), "x")),
                     f"best {best[1].lower()} {fmt(best[0])} ms; " +
                     ", ".join(f"{st.lower()} {fmt(t)}" for st, t in times.items()) + f"; tbb {fmt(tbb)} ms"))
        for st in ("Local", "Sharded", "Partitioned"):
            one = time_of(a, f"BM_Engine_{st}/distinct:{d}/threads:1/real_time")
            rows.append((f"word count, {d} distinct, {st.lower()}: 2 threads / 1 thread",
                         put(f"agg.scaling.{st.lower()}.{d}", fmt(ratio(one, times[st]), "x")), "throughput ratio"))
        flat = time_of(a, f"BM_Table_Flat/distinct:{d}")
        um = time_of(a, f"BM_Table_UnorderedMap/distinct:{d}")
        rows.append((f"FlatTable / std::unordered_map, {d} distinct, 1 thread",
                     put(f"agg.flat_vs_unordered.{d}", fmt(ratio(um, flat), "x")), f"{fmt(flat)} vs {fmt(um)} ms"))
    return rows


def wordcount_rows(w):
    """tally wordcount's job in process (Engine::run on files in the page cache)."""
    rows = []
    for corpus in ("kjv10", "vocab1e7"):
        suffix = "/real_time" if corpus == "kjv10" else "/iterations:1/real_time"
        t = {n: time_of(w, f"BM_Tally/{corpus}/threads:{n}{suffix}") for n in (1, 2, 4)}
        tbb = {n: time_of(w, f"BM_TbbBaseline/{corpus}/threads:{n}{suffix}") for n in (1, 2)}
        engine = {n: time_of(w, f"BM_TbbTallyTable/{corpus}/threads:{n}{suffix}") for n in (1, 2)}
        label = (w.get(f"BM_Tally/{corpus}/threads:1{suffix}") or {}).get("label", corpus)
        if t[1] is None:
            continue
        if corpus == "kjv10":
            cw = time_of(w, "BM_CountwordsOptimizedC/kjv10/threads:1/real_time")
            rows.append((f"wordcount {label}, 1 thread / countwords optimized.c, in process",
                         put("wc.kjv10.vs_countwords", fmt(ratio(cw, t[1]), "x")), f"{fmt(t[1])} vs {fmt(cw)} ms"))
        rows.append((f"wordcount {label}: 2 threads / 1 thread", put(f"wc.{corpus}.scaling", fmt(ratio(t[1], t[2]), "x")),
                     f"{fmt(t[2])} vs {fmt(t[1])} ms; target >= 1.8x"))
        for n in (1, 2):
            if engine[n] is None and corpus != "kjv10":
                continue  # kjv10's row shows n/a when the benchmark is missing; one is enough
            rows.append((f"wordcount {label}, {n} thread(s): tally engine / oneTBB with tally's tokenizer and table",
                         put(f"wc.{corpus}.vs_tbb_same_table.t{n}", fmt(ratio(engine[n], t[n]), "x")),
                         f"{fmt(t[n])} vs {fmt(engine[n])} ms: the same tokenizer and table inside "
                         "tbb::parallel_for + enumerable_thread_specific, so the ratio is the engine's"))
        for n in (1, 2):
            if tbb[n]:
                rows.append((f"wordcount {label}, {n} thread(s): tally / oneTBB + std::unordered_map + its own tokenizer",
                             put(f"wc.{corpus}.vs_tbb_unordered.t{n}", fmt(ratio(tbb[n], t[n]), "x")),
                             f"{fmt(t[n])} vs {fmt(tbb[n])} ms: a different tokenizer and hash table, not only the engine"))
        if t[4]:
            rows.append((f"wordcount {label}: 4 threads (oversubscribed) / 2 threads",
                         put(f"wc.{corpus}.oversubscribed", fmt(ratio(t[2], t[4]), "x")), f"{fmt(t[4])} vs {fmt(t[2])} ms"))
    return rows


def kjv_ceiling_ratio(w):
    """What two CPUs give two tally -j 1 processes at once: 2 x one's time over both's."""
    p1, _, _ = process_time(w, "BM_Process_Tally/kjv10/threads:1")
    pair, _, _ = process_time(w, "BM_Process_TallyTwoAtOnce/kjv10")
    return ratio(2 * p1, pair) if p1 else None


def kjv_ceiling(w):
    return fmt(kjv_ceiling_ratio(w), "x")


def kjv_process_rows(w):
    """The tally program on KJV x10 from exec to exit against countwords' optimized.c as a
    process, and its own scaling (the issue's end-to-end targets)."""
    rows = []
    p1, rss1, _ = process_time(w, "BM_Process_Tally/kjv10/threads:1")
    p2, rss2, _ = process_time(w, "BM_Process_Tally/kjv10/threads:2")
    cw, rss_cw, _ = process_time(w, "BM_Process_CountwordsOptimizedC/kjv10")
    rows.append(("tally wordcount kjv10 -j 1 / countwords optimized.c (processes)",
                 put("proc.kjv10.vs_countwords", fmt(ratio(cw, p1), "x")),
                 f"{fmt(p1)} vs {fmt(cw)} ms; target >= 1.3x (goal >= 1.5x)"))
    rows.append(("tally wordcount kjv10 -j 2 / -j 1 (processes)", put("proc.kjv10.scaling", fmt(ratio(p1, p2), "x")),
                 f"{fmt(p2)} vs {fmt(p1)} ms; target >= 1.8x"))
    pair, _, _ = process_time(w, "BM_Process_TallyTwoAtOnce/kjv10")
    rows.append(("two tally wordcount kjv10 -j 1 at once / one alone, throughput (this machine's ceiling for -j 2)",
                 put("proc.kjv10.ceiling", kjv_ceiling(w)),
                 f"both done in {fmt(pair)} ms, one alone in {fmt(p1)} ms"))
    rows.append(("tally wordcount kjv10 peak RSS, -j 1 / -j 2", f"{put('proc.kjv10.rss.t1', mib(rss1))} / {put('proc.kjv10.rss.t2', mib(rss2))}",
                 f"countwords optimized.c {mib(rss_cw)}"))
    return rows


def target_rows(results_dir):
    """Issue 17's targets, one row each: (measure, result, target, detail)."""
    _, w = load(results_dir, "wordcount_bench")
    _, s = load(results_dir, "scheduler_bench")
    _, d = load(results_dir, "ws_deque_bench")
    _, q = load(results_dir, "mpmc_queue_bench")
    p1, _, _ = process_time(w, "BM_Process_Tally/kjv10/threads:1")
    p2, _, _ = process_time(w, "BM_Process_Tally/kjv10/threads:2")
    cw, _, _ = process_time(w, "BM_Process_CountwordsOptimizedC/kjv10")
    vs_countwords = fmt(ratio(cw, p1), "x")
    ceiling_ratio = kjv_ceiling_ratio(w)
    ceiling = fmt(ceiling_ratio, "x")
    # The pair row takes the host's other load twice over: when it reads below the -j 2 run
    # itself it measured the host, not the machine's ceiling, and the detail says so.
    below_scaling = ceiling_ratio is not None and p2 and ceiling_ratio < ratio(p1, p2)
    ceiling_note = ("in this run below the -j 2 run itself, so noise, not the ceiling" if below_scaling
                    else "the machine's ceiling")
    rows = [("tally wordcount kjv10 -j 1 process / countwords optimized.c process", vs_countwords, ">= 1.3x",
             f"goal >= 1.5x: {status(vs_countwords, '>= 1.5x')}; {fmt(p1)} vs {fmt(cw)} ms"),
            ("tally wordcount kjv10 -j 2 process / -j 1 process", fmt(ratio(p1, p2), "x"), ">= 1.8x",
             f"{fmt(p2)} vs {fmt(p1)} ms; two -j 1 processes at once reach {ceiling} ({ceiling_note})")]
    for t in (1, 2):
        ours = rate(s, f"BM_TaskGroup_EmptySpawn/threads:{t}/real_time")
        tbb = rate(s, f"BM_TbbTaskGroup_EmptySpawnPlusCaller/threads:{t}/real_time")
        rows.append((f"empty-task spawn (caller_runs) / tbb::task_group, {t} worker(s) + the caller",
                     fmt(ratio(ours, tbb), "x"), ">= 1.5x",
                     f"{fmt(ours and ours / 1e6)} vs {fmt(tbb and tbb / 1e6)} M tasks/s"))
    for t in (1, 2):
        ours = time_of(s, f"BM_ParallelReduce_Sum/threads:{t}/real_time")
        tbb = time_of(s, f"BM_TbbParallelReduce_Sum/threads:{t}/real_time")
        from_worker = time_of(s, f"BM_ParallelReduce_SumFromWorker/threads:{t}/real_time")
        rows.append((f"parallel_reduce throughput / oneTBB, {t} thread(s)", fmt(ratio(tbb, ours), "x"), ">= 0.95x",
                     f"{fmt(ours)} vs {fmt(tbb)} ms; called from a worker {fmt(from_worker)} ms "
                     f"({fmt(ratio(tbb, from_worker), 'x')})"))
    rows.append(("WorkStealingDeque owner push+pop pair", fmt(time_of(d, "BM_WorkStealingDeque_PushPop/depth:64"), " ns"),
                 "<= 10 ns", ""))
    ours = rate(q, "BM_MpmcQueue_Try/1P1C/manual_time")
    best, who = best_of({n: rate(q, f"BM_{b}/1P1C/manual_time") for b, n in MPMC_TRY_RIVALS})
    rows.append(("MpmcQueue try 1P1C / best of oneTBB, boost.lockfree and moodycamel (with tokens), try mode",
                 fmt(ratio(ours, best), "x"), ">= 2x",
                 f"{fmt(ours and ours / 1e6)} vs {fmt(best and best / 1e6)} M msg/s (best: {who or 'n/a'})"))
    return rows


def spill_budget_rows(sp):
    """Every budget of spill_bench: tally beside sort -S | uniq -c."""
    rows = []
    for d in ("distinct1e7", "distinct1e8"):
        for m in (0, 64, 128, 256):
            name = f"BM_Process_TallySpill/{d}/memory_mib:{m}"
            t, rss, _ = process_time(sp, name)
            if t is None:
                continue
            st, rss_s, _ = process_time(sp, f"BM_Process_SortUniq/{d}/memory_mib:{m}")
            b = sp.get(name + "/iterations:1/manual_time") or sp.get(name + "/manual_time") or {}
            spilled = (f"{mib(b.get('spill_bytes'))} ({whole(b.get('spill_runs'))}, {whole(b.get('merge_passes'))})"
                       if m else "-")
            rows.append((d, f"{m} MiB" if m else "unlimited (sort: `-S 2G`)", f"{fmt(t)} ms", mib(rss), spilled,
                         f"{fmt(st)} ms", mib(rss_s), fmt(ratio(st, t), "x")))
    return rows


# Ranges over rows, quoted in prose: the smallest and largest of some rows' values.
def value_range(key, values):
    nums = [v for v in values if v is not None]
    put(key + ".min", fmt(min(nums), "x") if nums else "n/a")
    put(key + ".max", fmt(max(nums), "x") if nums else "n/a")


def spill_values(sp):
    """The ranges bench/README.md and README.md quote about spilling."""
    faster, cost = [], {"distinct1e7": [], "distinct1e8": []}
    over = []
    for d in ("distinct1e7", "distinct1e8"):
        t0, _, _ = process_time(sp, f"BM_Process_TallySpill/{d}/memory_mib:0")
        for m in (64, 128, 256):
            t, rss, _ = process_time(sp, f"BM_Process_TallySpill/{d}/memory_mib:{m}")
            st, _, _ = process_time(sp, f"BM_Process_SortUniq/{d}/memory_mib:{m}")
            faster.append(ratio(st, t))
            cost[d].append(ratio(t, t0))
            if rss:
                over.append(rss / 2**20 - m)
    value_range("spill.vs_sort", faster)
    value_range("spill.cost.distinct1e7", cost["distinct1e7"])
    value_range("spill.cost.distinct1e8", cost["distinct1e8"])
    # A phrase, since the peak can also stay under the budget.
    worst = max(over) if over else None
    put("spill.rss_over_budget.max",
        "n/a" if worst is None else f"at most the budget plus {worst:.0f} MiB" if worst >= 0.5
        else f"within the budget ({-worst:.0f} MiB under it at the closest)")


def mpi_values(m):
    floor, _, _ = process_time(m, "BM_Process_MpiLaunch/mpi_noop/ranks:2")
    put("mpi.floor", fmt(floor, " ms"))
    g1, _ = mpi_time(m, "generated1g", 1, 1)
    g2, _ = mpi_time(m, "generated1g", 2, 1)
    put("mpi.generated1g.scaling", fmt(ratio(g1, g2), "x"))
    same, nofloor = [], []
    for corpus in ("kjv10", "distinct1e7"):
        for ranks in (1, 2):
            mr, _ = mpi_time(m, corpus, ranks)
            t, _ = mpi_time(m, corpus, ranks, 1)
            same.append(ratio(mr, t))
            put(f"mpi.{corpus}.r{ranks}.vs_mrmpi", fmt(ratio(mr, t), "x"))
            if corpus == "kjv10" and mr and t and floor:
                nofloor.append(ratio(mr - floor, t - floor))
    value_range("mpi.vs_mrmpi", same)
    value_range("mpi.kjv10.vs_mrmpi_without_floor", nofloor)


def mpi_model_values(rows):
    for name, value, detail in rows:
        corpus, nodes = re.match(r"1 TiB like (\S+), (\d+) nodes", name).groups()
        put(f"model.{corpus}.n{nodes}", value)
        gather = re.search(r"gather ([0-9.]+ s)", detail)
        put(f"model.{corpus}.n{nodes}.gather", gather.group(1) if gather else "n/a")


def load_1min(ctx):
    la = ctx.get("load_average")
    try:
        return float(la.split()[0]) if la else None
    except ValueError:
        return None


def cores_of(ctx):
    try:
        return int(ctx.get("cores") or ctx.get("num_cpus") or 0)
    except ValueError:
        return 0


def is_quiet(ctx):
    """True, False, or None when the JSON does not say (no load average recorded). bench/run
    records quiet=true/false after waiting for the machine; older JSON is judged by its load:
    at most 0.5 per core."""
    if ctx.get("quiet") in ("true", "false"):
        return ctx["quiet"] == "true"
    load, cores = load_1min(ctx), cores_of(ctx)
    if load is None or not cores:
        return None
    return load <= 0.5 * cores


def suites(results_dir):
    """{suite: (context, repetitions)} for every JSON in results_dir."""
    return {suite: (ctx, reps) for suite, (ctx, reps, _) in suite_reports(results_dir).items()}


def suite_reports(results_dir):
    """{suite: (context, repetitions, spreads)}: spreads are the coefficients of variation of
    every row's time across its repetitions."""
    out = {}
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        benchmarks = report.get("benchmarks", [])
        reps = max((b.get("repetitions", 1) for b in benchmarks), default=0)
        spreads = [b["real_time"] for b in benchmarks
                   if b.get("aggregate_name") == "cv" and b.get("real_time") is not None]
        out[os.path.basename(path)[:-len(".json")]] = (report.get("context", {}), reps, spreads)
    return out


def spread_cell(spreads):
    """The median and the largest spread of a suite's rows, as percentages. The load gate sees
    only this machine's load; a host that takes CPU from it shows here instead."""
    if not spreads:
        return "n/a"
    ordered = sorted(spreads)
    return f"{100 * ordered[len(ordered) // 2]:.1f}% / {100 * ordered[-1]:.0f}%"


PROVENANCE_HEADER = ("suite", "commit", "date", "load average at start (1, 5, 15 min)",
                     "1-min load per core", "quiet (<= 0.5 per core)", "repetitions",
                     "spread across repetitions (median / largest row)")


def provenance_rows(results_dir):
    rows = []
    for suite, (ctx, reps, spreads) in suite_reports(results_dir).items():
        load, cores, q = load_1min(ctx), cores_of(ctx), is_quiet(ctx)
        per_core = f"{load / cores:.2f}" if load is not None and cores else "n/a"
        rows.append((f"`{suite}`", ctx.get("git_commit", "?"), (ctx.get("date") or "?")[:10],
                     ctx.get("load_average") or "not recorded", per_core,
                     {True: "yes", False: "**no**", None: "**unknown**"}[q], str(reps),
                     spread_cell(spreads)))
    return rows


def provenance_problems(results_dir):
    """(mixed, noisy): the commits when the suites come from more than one, or from a commit
    with uncommitted changes; and the suites run on a busy machine or without a load."""
    commits = {}
    noisy = []
    for suite, (ctx, _) in suites(results_dir).items():
        commits.setdefault(ctx.get("git_commit", "?"), []).append(suite)
        if not is_quiet(ctx):
            noisy.append(suite)
    mixed = len(commits) > 1 or any(c.endswith("-dirty") or c in ("?", "none") for c in commits)
    return (commits if mixed else {}), noisy


def provenance_values(results_dir):
    commits, noisy = provenance_problems(results_dir)
    all_commits = sorted({ctx.get("git_commit", "?") for ctx, _ in suites(results_dir).values()})
    put("provenance.commits", ", ".join(all_commits) or "none")
    put("provenance.commit_count", str(len(all_commits)))
    put("provenance.noisy", ", ".join(f"`{s}`" for s in noisy) or "none")
    put("provenance.noisy_count", str(len(noisy)))


def md_escape(text):
    return text.replace("|", "\\|") if "\\|" not in text else text


def render(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


TARGET_RE = re.compile(r"(?:;\s*)?\btarget (>=|<=|>|<) ?([0-9.]+)( ?x| ns| ms| us)(\s*\([^)]*\))?")


def number(text):
    """The leading number of a value like "1.56x" or "13.18 ns", and its unit."""
    m = re.match(r"\s*(-?[0-9.]+)\s*(x|ns|ms|us)?\s*$", text)
    return (float(m.group(1)), m.group(2) or "") if m else (None, None)


def meets(value, op, bound):
    return {">=": value >= bound, "<=": value <= bound, ">": value > bound, "<": value < bound}[op]


def status(value_text, target_text):
    """met / **unmet** / n/a of a value against a target like ">= 1.8x"."""
    m = re.match(r"(>=|<=|>|<) ?([0-9.]+) ?(x|ns|ms|us)?", target_text)
    value, unit = number(value_text)
    if not m or value is None:
        return "n/a"
    if (m.group(3) or "") != unit:
        return "n/a"
    return "met" if meets(value, m.group(1), float(m.group(2))) else "**unmet**"


def results_table(rows):
    """A (measure, value, detail) table, with a target and a status column where a row's
    detail names a target in the value's unit."""
    out = []
    any_target = False
    for name, value, detail in rows:
        target, state = "", ""
        m = TARGET_RE.search(detail)
        _, unit = number(value)
        if m and (unit is None or m.group(3).strip() == unit):
            target = f"{m.group(1)} {m.group(2)}{m.group(3)}" + (m.group(4) or "")
            state = status(value, f"{m.group(1)} {m.group(2)}{m.group(3)}")
            detail = (detail[:m.start()] + detail[m.end():]).strip("; ")
            any_target = True
        out.append((md_escape(name), value, target, state, md_escape(detail)))
    if any_target:
        return render(("measure", "median ratio / value", "target", "status", "detail"), out)
    return render(("measure", "median ratio / value", "detail"), [(n, v, d) for n, v, _, _, d in out])


def machine_line(results_dir):
    ctx = {}
    for suite, (c, _) in suites(results_dir).items():
        ctx = ctx or c
    return (f"{ctx.get('cpu_model', '?')}, {ctx.get('cores', '?')} cores, {ctx.get('kernel', '?')}, "
            f"{ctx.get('compiler', '?')}, flags {ctx.get('flags', '?')}") if ctx else "n/a"


def build(results_dir):
    """Every generated table {name: markdown}; fills VALUES."""
    VALUES.clear()
    tables = {}
    put("machine", machine_line(results_dir))
    provenance_values(results_dir)
    tables["provenance"] = render(PROVENANCE_HEADER, provenance_rows(results_dir))
    targets = []
    for name, value, target, detail in target_rows(results_dir):
        targets.append((md_escape(name), value, target, status(value, target), detail))
    tables["targets"] = render(("measure", "median", "target", "status", "detail"), targets)

    def add(name, suite, fn):
        _, m = load(results_dir, suite)
        if m:
            tables[name] = results_table(fn(m))
        else:
            tables[name] = f"(no results: bench/results/{suite}.json is missing)"
        return m

    add("queue", "mpmc_queue_bench", queue_rows)
    add("deque", "ws_deque_bench", deque_rows)
    add("false-sharing", "false_sharing_bench", false_sharing_rows)
    add("scheduler", "scheduler_bench", scheduler_rows)
    add("aggregate", "aggregate_bench", aggregate_rows)
    add("wordcount", "wordcount_bench", wordcount_rows)
    add("wordcount-process", "wordcount_bench", lambda w: kjv_process_rows(w) + process_rows(w))
    sp = add("spill", "spill_bench", spill_rows)
    if sp:
        spill_values(sp)
        tables["spill-budgets"] = render(("corpus", "budget", "tally wall", "tally peak RSS",
                                          "spilled (runs, merge passes)", "sort \\| uniq -c wall", "its peak RSS",
                                          "sort / tally"), spill_budget_rows(sp))
    mp = add("mpi", "mpi_bench", mpi_rows)
    if mp:
        mpi_values(mp)
        model = mpi_model_rows(mp)
        mpi_model_values(model)
        tables["mpi-model"] = results_table(model)
    tables["jobs"] = results_table(job_rows(results_dir))
    tables["harness"] = results_table(harness_rows(results_dir))
    return tables


# In-place markers in markdown: a generated table between
#   <!-- ratios:begin NAME --> and <!-- ratios:end -->
# and a generated value as <!-- v:KEY -->1.56x<!-- /v -->.
# Names and keys start with a lowercase letter, so that prose can show the scheme (NAME, KEY).
BLOCK_RE = re.compile(r"(<!-- ratios:begin ([a-z][\w.-]*) -->\n)(.*?)(<!-- ratios:end -->)", re.S)
INLINE_RE = re.compile(r"(<!-- v:([a-z][\w.:-]*) -->)(.*?)(<!-- /v -->)", re.S)
# What looks like a result: a ratio (1.5x) or a time (12 ms, 3 s). Targets are written after a
# comparison (>= 1.5x), which exempts them.
RESULT_RE = re.compile(r"(?<![\w.^/])(\d+(?:\.\d+)?)(?:x\b| ?(?:ns|us|µs|ms|s|min)\b)")
TARGET_BEFORE_RE = re.compile(r"(>=|<=|≥|≤|>|<)\s*$")


def regenerate(text, tables):
    """text with every marker's content regenerated, and the list of unknown markers."""
    unknown = []

    def block(m):
        if m.group(2) not in tables:
            unknown.append(f"table '{m.group(2)}'")
            return m.group(0)
        return m.group(1) + tables[m.group(2)] + "\n" + m.group(4)

    def inline(m):
        if m.group(2) not in VALUES:
            unknown.append(f"value '{m.group(2)}'")
            return m.group(0)
        return m.group(1) + VALUES[m.group(2)] + m.group(4)

    return INLINE_RE.sub(inline, BLOCK_RE.sub(block, text)), unknown


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def blank(text, spans):
    """text with the given spans replaced by spaces (newlines kept, so lines still count)."""
    chars = list(text)
    for a, b in spans:
        for i in range(a, b):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def stray_results(text):
    """(line, number) of every ratio- or time-looking number outside a marker, a code block or
    a code span, within the results regions (<!-- results:begin --> ... <!-- results:end -->,
    or the whole file when it has none), except targets."""
    spans = [m.span() for m in BLOCK_RE.finditer(text)] + [m.span() for m in INLINE_RE.finditer(text)]
    spans += [m.span() for m in re.finditer(r"^```.*?^```", text, re.S | re.M)]
    scrubbed = blank(text, spans)
    spans = [m.span() for m in re.finditer(r"`[^`\n]*`", scrubbed)]
    scrubbed = blank(scrubbed, spans)
    regions = [(m.end(1), m.start(2)) for m in
               re.finditer(r"(<!-- results:begin -->)(?:.*?)(<!-- results:end -->)", scrubbed, re.S)]
    if not regions:
        regions = [(0, len(scrubbed))]
    found = []
    for a, b in regions:
        for m in RESULT_RE.finditer(scrubbed, a, b):
            if TARGET_BEFORE_RE.search(scrubbed[max(0, m.start() - 4):m.start()]):
                continue
            found.append((line_of(scrubbed, m.start()), m.group(0)))
    return found


def check(paths, tables):
    """Every disagreement between the files and the JSON, as messages."""
    problems = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        _, unknown = regenerate(text, tables)
        problems += [f"{path}: unknown {u} (bench/ratios.py does not make it)" for u in unknown]
        for m in BLOCK_RE.finditer(text):
            want = tables.get(m.group(2))
            if want is not None and m.group(3) != want + "\n":
                have, need = m.group(3).splitlines(), want.splitlines()
                k = next((i for i, (x, y) in enumerate(zip(have, need)) if x != y), min(len(have), len(need)))
                problems.append(f"{path}:{line_of(text, m.start(3)) + k}: table '{m.group(2)}' disagrees with the "
                                f"JSON: has '{have[k] if k < len(have) else '(end)'}', the JSON gives "
                                f"'{need[k] if k < len(need) else '(end)'}'")
        for m in INLINE_RE.finditer(text):
            want = VALUES.get(m.group(2))
            if want is not None and m.group(3) != want:
                problems.append(f"{path}:{line_of(text, m.start())}: v:{m.group(2)} is '{m.group(3)}', "
                                f"the JSON gives '{want}'")
        for line, num in stray_results(text):
            problems.append(f"{path}:{line}: '{num}' looks like a result but is not generated "
                            "(put it in a <!-- v:KEY --> marker, or write a target as '>= N')")
    return problems


def print_context(results_dir):
    print(f"Machine: {machine_line(results_dir)}\n")
    print(render(PROVENANCE_HEADER, provenance_rows(results_dir)))
    commits, noisy = provenance_problems(results_dir)
    if commits:
        print("\nMixed commits: " + "; ".join(f"{c}: {', '.join(s)}" for c, s in commits.items()))
    if noisy:
        print("Noisy (load above 0.5 per core, or not recorded): " + ", ".join(noisy))
    print()


def main():
    parser = argparse.ArgumentParser(
        description="Prints the ratios of tally's benchmarks from bench/results/*.json, or writes and checks "
                    "the numbers quoted in markdown files from them.")
    parser.add_argument("results_dir", nargs="?", default=os.path.join(os.path.dirname(__file__), "results"))
    parser.add_argument("--harness", action="store_true", help="only the false-sharing and contention table")
    parser.add_argument("--update", nargs="+", metavar="FILE", help="rewrite the markers in these files")
    parser.add_argument("--check", nargs="+", metavar="FILE",
                        help="exit 1 naming every marker that disagrees with the JSON and every "
                             "unmarked result-looking number")
    parser.add_argument("--results", dest="results_opt", help="the results directory (default bench/results)")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="--update even when the suites come from different (or uncommitted) commits")
    parser.add_argument("--allow-noisy", action="store_true",
                        help="--update even when some suites ran on a busy machine or recorded no load")
    args = parser.parse_args()
    results_dir = args.results_opt or args.results_dir

    if args.harness:
        print_context(results_dir)
        print(results_table(harness_rows(results_dir)))
        return 0
    tables = build(results_dir)
    if args.check:
        problems = check(args.check, tables)
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print(f"bench/ratios.py --check: {len(problems)} disagreement(s); "
                  "bench/ratios.py --update FILE... rewrites the markers from the JSON", file=sys.stderr)
            return 1
        print(f"bench/ratios.py --check: {', '.join(args.check)} agree with {results_dir}")
        return 0
    if args.update:
        commits, noisy = provenance_problems(results_dir)
        refused = []
        if commits and not args.allow_mixed:
            refused.append("the suites come from different or uncommitted commits: "
                           + "; ".join(f"{c}: {', '.join(s)}" for c, s in commits.items()) + " (--allow-mixed)")
        if noisy and not args.allow_noisy:
            refused.append("these suites ran on a busy machine or recorded no load: " + ", ".join(noisy)
                           + " (--allow-noisy)")
        if refused:
            print("bench/ratios.py: not writing README numbers:\n  " + "\n  ".join(refused), file=sys.stderr)
            return 2
        for what, allowed in ((commits, args.allow_mixed), (noisy, args.allow_noisy)):
            if what and allowed:
                print(f"bench/ratios.py: writing anyway ({'mixed commits' if what is commits else 'noisy suites'}: "
                      f"{', '.join(what)})", file=sys.stderr)
        for path in args.update:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            new, unknown = regenerate(text, tables)
            if unknown:
                print(f"{path}: unknown " + ", ".join(unknown), file=sys.stderr)
                return 1
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
        return 0

    print_context(results_dir)
    for name in ("targets", "queue", "deque", "false-sharing", "scheduler", "aggregate", "wordcount",
                 "wordcount-process", "spill", "spill-budgets", "mpi", "mpi-model", "jobs", "harness"):
        if name in tables:
            print(f"## {name}\n\n{tables[name]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
