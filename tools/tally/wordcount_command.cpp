#include "tools/tally/wordcount_command.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/mpi/collective.hpp"
#include "tally/engine/mpi/run.hpp"
#include "tally/engine/parallel.hpp"
#include "tally/engine/system.hpp"
#include "tally/jobs/unicode_wordcount.hpp"
#include "tally/jobs/wordcount.hpp"
#include "tools/tally/exit_status.hpp"
#include "tools/tally/job_command.hpp"
#include "tools/tally/mpi_launch.hpp"
#include "tools/tally/output.hpp"
#include "tools/tally/perf_control.hpp"
#include "tools/tally/progress.hpp"
#include "tools/tally/supervisor.hpp"
#include "tools/tally/units.hpp"

namespace tally::cli {
namespace {

// Whether this process reports failures: every process, except the ranks other than 0 of a
// job launched by mpirun or srun, whose failures rank 0 reports once for the whole job (the
// ranks agree on one status: mpi/collective.hpp). Set once, before any other thread starts.
bool reports_failures = true;

int fail(int status, const std::string& message) {
  if (reports_failures) std::cerr << "tally: " << message << "\n";
  return status;
}

// A run stopped by a signal or its deadline: the supervisor's status and reason.
int fail_stopped(const Supervisor& supervisor) {
  return fail(supervisor.exit_status(), supervisor.reason());
}

// The message and status for a failed run: the status with its code ("I/O error: ...");
// for a failed open() only its message, which already says "cannot open '<path>': ...".
int fail_with(const Status& s, const Supervisor& supervisor, bool with_code = true) {
  if (supervisor.stopped()) return fail_stopped(supervisor);
  return fail(exit_status_for(s), with_code ? s.to_string() : s.message());
}

}  // namespace

CLI::App* add_wordcount_command(CLI::App& app, WordcountArgs& args) {
  CLI::App* cmd = app.add_subcommand("wordcount", "Count words in files, directories or stdin");
  cmd->add_option("paths", args.paths, "Files, directories (recursive) or - for stdin")->required();
  cmd->add_option("-j,--threads", args.threads, "Worker threads (default: all usable cores)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  cmd->add_option("-n,--top", args.top, "Only the K most frequent words")
      ->check([](const std::string& k) {
        return k.starts_with('-') ? std::string("must not be negative") : std::string();
      });
  cmd->add_option("-f,--format", args.format, "text, tsv, csv or json")
      ->check(CLI::IsMember({"text", "tsv", "csv", "json"}));
  cmd->add_option("-o,--output", args.output,
                  "Write here instead of stdout (a regular file atomically; - is stdout)")
      ->check(empty_path_error);
  cmd->add_flag("--stats", args.stats, "Phase timings and throughput on stderr");
  cmd->add_option("--report", args.report_path, "Write the run report (JSON) to this file")
      ->check(empty_path_error);
  cmd->add_option("--timeout", args.timeout, "Give up after this long, e.g. 30s, 500ms, 2m");
  cmd->add_option("--strategy", args.strategy, "Aggregation: local, sharded or partitioned")
      ->check(CLI::IsMember({"local", "sharded", "partitioned"}));
  cmd->add_flag("--case-sensitive", args.case_sensitive, "Keep case (both word rules)");
  cmd->add_flag("--unicode", args.unicode,
                "Unicode words (letters, marks, digits) with case folding, on UTF-8 input");
  cmd->add_option("--memory", args.memory,
                  "Memory budget, e.g. 512M or 2G: past half of it, sorted runs spill to "
                  "--tmp-dir and are merged at the end (at least 256K per thread)");
  cmd->add_option("--tmp-dir", args.tmp_dir,
                  "Directory for spill files (default: $TMPDIR, else /tmp); they have no name "
                  "and vanish with the process")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag_function(
      "--progress,!--no-progress", [&args](std::int64_t count) { args.progress = count > 0; },
      "Progress on stderr (bytes, MB/s, ETA); default: when stderr is a terminal");
  CLI::Option* ctl =
      cmd->add_option("--perf-ctl-fd", args.perf_ctl_fd,
                      "Phase markers: write perf's enable/disable commands to this descriptor "
                      "(perf stat --delay=-1 --control fd:CTL,ACK; see docs/profiling.md)")
          ->check(CLI::NonNegativeNumber);
  cmd->add_option("--perf-ack-fd", args.perf_ack_fd,
                  "Wait for perf's ack on this descriptor after each command")
      ->check(CLI::NonNegativeNumber)
      ->needs(ctl);
  cmd->add_option("--perf-phase", args.perf_phase,
                  "Phase to count: map (default), merge, finalize, all, or each (every phase "
                  "enabled and disabled on its own)")
      ->check(CLI::IsMember({"map", "merge", "finalize", "all", "each"}))
      ->needs(ctl);
  cmd->footer(
      "Words (default rule): maximal runs of bytes other than ASCII whitespace; A-Z are\n"
      "lowercased. --unicode: runs of Unicode letters, marks and digits (with ' and - inside\n"
      "a word), case-folded; invalid UTF-8 becomes U+FFFD and is reported.\n"
      "Inputs ending in .gz or .zst are decompressed.\n"
      "Output: count descending, then word ascending (bytewise).");
  return cmd;
}

namespace {

// What run_job needs besides the job: validated options, and where the signals arrive.
struct RunSetup {
  Engine& engine;
  Inputs& inputs;
  RunOptions options;
  bool show_progress = false;
  // Set when this process is one rank of a job: the run is then mpi::run over it, and only
  // rank 0 holds the result.
  mpi::Communicator* ranks = nullptr;
  std::size_t top = 0;  // --top K: a distributed run gathers only each rank's top K
};

// Runs `job`, with a progress display if asked; the result, or the status that stopped it.
template <Job J>
Result<RunOutput<J>> run_job(const J& job, RunSetup& setup) {
  std::atomic<std::uint64_t> bytes_done{0};
  std::optional<ProgressDisplay> progress;
  if (setup.show_progress) {
    setup.options.progress_bytes = &bytes_done;
    progress.emplace(bytes_done, setup.inputs.total_bytes());
  }
  auto result = setup.ranks != nullptr ? mpi::run(setup.engine, job, setup.inputs, *setup.ranks,
                                                  setup.options, {.top = setup.top})
                                       : setup.engine.run(job, setup.inputs, setup.options);
  if (progress) progress->stop();
  return result;
}

// Rows per piece of output formatted on one task: pieces small enough that a few per worker
// in flight keep memory bounded, large enough that the per-piece work (a merge of every
// run's slice, a task) is noise.
constexpr std::size_t kRowsPerPiece = std::size_t{1} << 16;
// Below this many rows a piece is not worth a task of its own; above it, every worker gets
// pieces, so that a result of a few ten thousand rows (a natural-language vocabulary) is not
// formatted by one thread while the others wait.
constexpr std::size_t kMinRowsPerPiece = std::size_t{1} << 12;
// Pieces per worker when the rows allow: several, not one, so that the workers even out
// between them what one piece per worker would not: pieces of about equal row counts take
// unequal times, and a parked worker woken while another thread keeps its CPU may start
// late (the kernel can queue it behind that thread).
constexpr std::size_t kPiecesPerWorker = 4;

// How many pieces the rows of a result in memory are formatted in.
std::size_t piece_count(std::size_t rows, std::size_t workers) {
  return std::max(rows / kRowsPerPiece + 1,
                  std::min(kPiecesPerWorker * workers, rows / kMinRowsPerPiece + 1));
}
// Bytes of formatted rows of a result on disk written at a time.
constexpr std::size_t kSpilledPieceBytes = std::size_t{1} << 20;

// Writes the counts and the report; the exit status. All counts stream from the result in
// count order, cut into pieces that the engine's workers format in parallel, a bounded
// number at a time, and that are written in order; --top K selects K rows instead.
template <typename J>
int write_results(const WordcountArgs& args, Format format, const RunOutput<J>& out,
                  Scheduler& scheduler, Supervisor& supervisor) {
  OutputFile file;
  if (Status s = file.open(args.output, &supervisor); !s.ok()) {
    return fail(kExitJobFailed, s.message());
  }
  // The report is opened (and so checked) before any count is written, and both files are
  // published together at the end: a report that cannot be written leaves no output either.
  OutputFile report;
  if (!args.report_path.empty()) {
    if (Status s = report.open(args.report_path, &supervisor); !s.ok()) {
      return fail(kExitJobFailed, s.message());
    }
  }
  ColumnWidths widths;  // the text format aligns its columns to the widest row written
  std::string piece;
  bool any_rows = false;
  if (args.top != 0) {
    const auto rows = out.table.top(args.top);
    if (format == Format::kText) {
      for (const auto& [word, count] : rows) widths.widen(word, count);
    }
    const CountsFormat counts(format, widths);
    counts.begin(piece);
    for (const auto& [word, count] : rows) {
      counts.row(piece, word, count, !any_rows);
      any_rows = true;
    }
    counts.end(piece, any_rows);
    file.append(piece);
  } else {
    if (format == Format::kText) {
      out.table.for_each([&widths](const auto& e) { widths.widen(e.first, e.second); });
    }
    const CountsFormat counts(format, widths);
    counts.begin(piece);
    file.append(piece);
    // A result on disk is one stream (ResultTable::spilled): formatted here, a piece at a
    // time, so that memory stays bounded; one in memory is cut into slices that the workers
    // format in parallel.
    const auto slices = out.table.by_value_slices(
        out.table.spilled() ? 1 : piece_count(out.table.size(), scheduler.num_workers()));
    if (out.table.spilled()) {
      std::string rows;
      bool first_row = true;
      const auto write_rows = [&] {
        if (rows.empty()) return;
        if (any_rows) file.append(counts.separator());
        file.append(rows);
        rows.clear();
        any_rows = true;
        first_row = true;
      };
      for (const auto& [word, count] : slices.front()) {
        counts.row(rows, word, count, first_row);
        first_row = false;
        if (rows.size() >= kSpilledPieceBytes) {
          write_rows();
          if (!file.status().ok()) break;
        }
      }
      write_rows();
    }
    // A batch holds as many pieces as piece_count gives a result of fewer than
    // kRowsPerPiece rows, so that such a result is balanced within one batch.
    const std::size_t in_flight = kPiecesPerWorker * scheduler.num_workers();
    std::vector<std::string> pieces(in_flight);
    for (std::size_t first = 0; first < slices.size() && !out.table.spilled() && file.status().ok();
         first += in_flight) {
      const std::size_t n = std::min(in_flight, slices.size() - first);
      parallel_for_each_index(scheduler, n, [&](std::size_t i) {
        pieces[i].clear();
        bool first_row = true;
        for (const auto& [word, count] : slices[first + i]) {
          counts.row(pieces[i], word, count, first_row);
          first_row = false;
        }
      });
      for (std::size_t i = 0; i < n; ++i) {
        if (pieces[i].empty()) continue;
        if (any_rows) file.append(counts.separator());
        file.append(pieces[i]);
        any_rows = true;
      }
    }
    piece.clear();
    counts.end(piece, any_rows);
    file.append(piece);
  }
  if (!args.report_path.empty()) report.append(out.report.to_json() + "\n");
  // A write that failed is the job's failure (exit 4), not an input's.
  const auto write_failed = [&supervisor](const Status& s) {
    return supervisor.stopped() ? fail_stopped(supervisor) : fail(kExitJobFailed, s.message());
  };
  if (Status s = file.finish(); !s.ok()) return write_failed(s);
  if (Status s = report.finish(); !s.ok()) return write_failed(s);
  if (!supervisor.begin_publishing()) return fail_stopped(supervisor);
  if (Status s = file.publish(); !s.ok()) return fail(kExitJobFailed, s.message());
  if (Status s = report.publish(); !s.ok()) return fail(kExitJobFailed, s.message());
  if (args.stats) std::cerr << out.report.to_text();
  return kExitOk;
}

// Runs the job and turns its outcome into output and an exit status.
template <Job J>
int count(const J& job, const WordcountArgs& args, Format format, RunSetup& setup,
          Supervisor& supervisor) {
  auto result = run_job(job, setup);
  if (!result.ok()) return fail_with(result.status(), supervisor);
  // A stop that lands after the last task but before the output still cancels: nothing is
  // written.
  if (supervisor.stopped()) return fail_stopped(supervisor);
  if (setup.ranks != nullptr && setup.ranks->rank() != 0) return kExitOk;  // rank 0 writes
  // A result left on disk (a spilling run's) is read while it is written: a spill file that
  // fails its checks then fails the output, which is not published.
  try {
    return write_results(args, format, *result, setup.engine.scheduler(), supervisor);
  } catch (const StatusError& e) {
    return fail_with(e.status(), supervisor);
  }
}

}  // namespace

int run_wordcount(const WordcountArgs& args) {
  // The deadline counts from here: opening and reading the inputs are part of the run.
  std::optional<Supervisor::Clock::time_point> deadline;
  if (!args.timeout.empty()) {
    const auto timeout = parse_duration(args.timeout);
    if (!timeout) return fail(kExitUsage, "invalid --timeout '" + args.timeout + "'");
    deadline = Supervisor::Clock::now() + *timeout;
  }
  std::uint64_t memory_budget = 0;
  if (!args.memory.empty()) {
    const auto bytes = parse_size(args.memory);
    if (!bytes || *bytes == 0) {
      return fail(kExitUsage, "invalid --memory '" + args.memory + "' (e.g. 512M, 2G)");
    }
    memory_budget = *bytes;
  }
  if (args.perf_ctl_fd != -1) {
    if (Status s = PerfControl::check_descriptors(args.perf_ctl_fd, args.perf_ack_fd); !s.ok()) {
      return fail(kExitUsage, s.message());
    }
  }
  const Format format = *parse_format(args.format);          // validated by CLI11
  const Strategy strategy = *parse_strategy(args.strategy);  // validated by CLI11

  const Launch launch = detect_launch();
  reports_failures = launch.rank == 0;
  if (const auto why = unsupported_launch(launch)) return fail(kExitUsage, *why);
  if (launch.as_rank && std::find(args.paths.begin(), args.paths.end(), "-") != args.paths.end()) {
    return fail(kExitUsage, "stdin (-) cannot be shared between the ranks of " + launch.launcher +
                                ": name files that every rank can read");
  }

  // Before the engine starts its workers, and MPI its threads, so that they inherit the
  // blocked signal mask.
  Supervisor supervisor(deadline, args.timeout, reports_failures);
  std::unique_ptr<MpiSession> mpi_session;
  if (launch.as_rank) {
    auto started = MpiSession::start(launch);
    if (!started.ok()) return fail(kExitJobFailed, started.status().message());
    mpi_session = std::move(*started);
  }
  mpi::Communicator* ranks = mpi_session ? &mpi_session->world() : nullptr;
  // What this process found before the job starts: a usage error (kInvalidArgument) or a
  // failure to start (kResourceExhausted). The ranks of a job agree on it, so that none
  // returns alone while the others wait for it in the job's first collective step.
  Status ready;
  std::optional<Engine> engine;
  try {
    engine.emplace(EngineOptions{.threads = args.threads});
  } catch (const std::system_error& e) {
    ready = Status::ResourceExhausted("cannot start the worker threads: " + e.code().message());
  }
  if (ready.ok() && memory_budget != 0 &&
      memory_budget < minimum_memory_budget(engine->num_workers())) {
    ready = Status::InvalidArgument("--memory " + args.memory + " is below the minimum of " +
                                    format_bytes(minimum_memory_budget(engine->num_workers())) +
                                    " for " + std::to_string(engine->num_workers()) +
                                    " threads (256 KiB each)");
  }
  if (ranks != nullptr) ready = mpi::agree(*ranks, ready);
  if (!ready.ok()) {
    return fail(ready.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitJobFailed,
                ready.message());
  }
  Inputs inputs = Inputs::paths(args.paths);
  // Inputs read into memory (pipes, stdin, decompressed files) may hold at most the
  // machine's memory: past it they could only end in the out-of-memory killer. The deadline
  // reaches the inputs and the run as the supervisor's stop, so that one clock decides.
  Status opened =
      inputs.open({.stop = supervisor.token(), .max_held_bytes = usable_memory_bytes()});
  if (ranks != nullptr) opened = mpi::agree(*ranks, opened);  // an input missing on any rank
  if (!opened.ok()) return fail_with(opened, supervisor, /*with_code=*/false);
  // Signal handlers are the program's policy, not the library's: with the guard, an input
  // truncated during the run fails it with kIoError (exit 3, naming the file) instead of
  // killing tally with SIGBUS.
  install_sigbus_guard();

  RunSetup setup{.engine = *engine,
                 .inputs = inputs,
                 .options = {},
                 .show_progress = false,
                 .ranks = ranks,
                 .top = args.top};
  setup.options.strategy = strategy;
  setup.options.stop = supervisor.token();
  setup.options.memory_budget = memory_budget;
  setup.options.spill_dir = args.tmp_dir;
  // All counts are written in count order: sort the result's runs that way in parallel.
  // --top K selects from them instead, in O(n log K).
  if (args.top == 0) setup.options.order = ResultOrder::kByValue;
  setup.show_progress = args.progress.value_or(stderr_is_terminal()) && launch.rank == 0;

  std::optional<PerfControl> perf;
  if (args.perf_ctl_fd != -1) {
    perf.emplace(args.perf_ctl_fd, args.perf_ack_fd, *parse_perf_phases(args.perf_phase));
    setup.options.on_phase = [&perf](Phase phase, bool starting) {
      perf->on_phase(phase, starting);
    };
  }
  // Markers are best effort: a perf that stops answering costs the measurement, not the
  // counts, so its failure is a warning.
  const auto finish_perf = [&perf] {
    if (!perf) return;
    perf->finish();
    if (!perf->status().ok()) {
      std::cerr << "tally: warning: perf phase markers: " << perf->status().message() << "\n";
    }
  };

  if (!args.unicode) {
    const int status = count(jobs::WordCount{.case_sensitive = args.case_sensitive}, args, format,
                             setup, supervisor);
    finish_perf();
    return status;
  }
  const jobs::UnicodeWordCount job{.case_sensitive = args.case_sensitive};
  const int status = count(job, args, format, setup, supervisor);
  finish_perf();
  std::uint64_t invalid = job.invalid_sequences();
  if (ranks != nullptr) invalid = mpi::sum(*ranks, invalid);  // every rank, after its run
  if (invalid != 0 && reports_failures) {
    std::cerr << "tally: warning: " << invalid
              << " invalid UTF-8 sequence(s) were counted as U+FFFD\n";
  }
  return status;
}

}  // namespace tally::cli
