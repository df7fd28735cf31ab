#!/usr/bin/env python3
"""Tests of bench/ratios.py --check and --update: that the check fails, naming the
disagreement, when a README's numbers and the JSON disagree or a result is written by hand;
and that --update refuses results from different commits or a busy machine.

Works on copies in a temporary directory; run by ctest as bench.readme_numbers_check_fails.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RATIOS = os.path.join(ROOT, "bench", "ratios.py")
RESULTS = os.path.join(ROOT, "bench", "results")


def ratios(*args):
    return subprocess.run([sys.executable, RATIOS, *args], capture_output=True, text=True, check=False)


class CheckTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.readme = os.path.join(self.dir, "README.md")
        self.bench_readme = os.path.join(self.dir, "bench-README.md")
        shutil.copy(os.path.join(ROOT, "README.md"), self.readme)
        shutil.copy(os.path.join(ROOT, "bench", "README.md"), self.bench_readme)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def check(self):
        return ratios("--results", RESULTS, "--check", self.readme, self.bench_readme)

    def edit(self, path, old_pattern, new, count=1):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        changed, n = re.subn(old_pattern, new, text, count=count)
        self.assertEqual(n, count, f"pattern {old_pattern!r} not found in {path}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(changed)

    def test_the_committed_files_agree(self):
        result = self.check()
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_an_altered_inline_value_fails_and_is_named(self):
        self.edit(self.bench_readme, r"(<!-- v:mpmc\.try\.1P1C\.vs_best -->)[^<]*(<!-- /v -->)", r"\g<1>99.99x\g<2>")
        result = self.check()
        self.assertEqual(result.returncode, 1)
        self.assertIn("v:mpmc.try.1P1C.vs_best is '99.99x'", result.stderr)
        self.assertIn("bench-README.md", result.stderr)

    def test_an_altered_table_cell_fails_and_is_named(self):
        # The targets table in README.md: the parallel_reduce row's value.
        self.edit(self.readme, r"(\| parallel_reduce throughput / oneTBB, 1 thread\(s\) \| )[^|]*", r"\g<1>7.77x ")
        result = self.check()
        self.assertEqual(result.returncode, 1)
        self.assertIn("table 'targets' disagrees", result.stderr)
        self.assertIn("7.77x", result.stderr)

    def test_a_hand_written_ratio_or_time_in_prose_fails(self):
        self.edit(self.bench_readme, r"\n## Aggregation\n", "\n## Aggregation\n\nThe queue is 3.3x faster and takes 12 ms.\n")
        result = self.check()
        self.assertEqual(result.returncode, 1)
        self.assertIn("'3.3x' looks like a result", result.stderr)
        self.assertIn("'12 ms' looks like a result", result.stderr)

    def test_a_target_written_after_its_comparison_passes(self):
        self.edit(self.bench_readme, r"\n## Aggregation\n", "\n## Aggregation\n\nThe target is >= 3.3x and <= 12 ms.\n")
        result = self.check()
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_numbers_outside_the_results_regions_of_a_file_that_has_them_pass(self):
        self.edit(self.readme, r"\n## The `tally` program\n", "\n## The `tally` program\n\nA backstop of 700 ms.\n")
        self.assertEqual(self.check().returncode, 0)

    def test_an_unknown_key_fails(self):
        self.edit(self.bench_readme, r"\n## Aggregation\n", "\n## Aggregation\n\n<!-- v:no.such.key -->1x<!-- /v -->\n")
        result = self.check()
        self.assertEqual(result.returncode, 1)
        self.assertIn("unknown value 'no.such.key'", result.stderr)

    def test_update_rewrites_what_the_check_found(self):
        self.edit(self.bench_readme, r"(<!-- v:deque\.push_pop_ns -->)[^<]*(<!-- /v -->)", r"\g<1>1.00 ns\g<2>")
        self.edit(self.readme, r"(\| WorkStealingDeque owner push\+pop pair \| )[^|]*", r"\g<1>1.00 ns ")
        self.assertEqual(self.check().returncode, 1)
        update = ratios("--results", RESULTS, "--allow-mixed", "--allow-noisy", "--update", self.readme, self.bench_readme)
        self.assertEqual(update.returncode, 0, update.stderr)
        result = self.check()
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(self.bench_readme, encoding="utf-8") as f, open(os.path.join(ROOT, "bench", "README.md"), encoding="utf-8") as g:
            self.assertEqual(f.read(), g.read())


def write_suite(results_dir, suite, commit, load, quiet=None):
    context = {"git_commit": commit, "load_average": load, "cores": "2"}
    if quiet is not None:
        context["quiet"] = quiet
    with open(os.path.join(results_dir, suite + ".json"), "w", encoding="utf-8") as f:
        json.dump({"context": context, "benchmarks": []}, f)


class UpdateRefusesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.md = os.path.join(self.dir, "x.md")
        with open(self.md, "w", encoding="utf-8") as f:
            f.write("<!-- ratios:begin provenance -->\n<!-- ratios:end -->\n")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def update(self, *flags):
        return ratios("--results", self.dir, *flags, "--update", self.md)

    def test_one_quiet_commit_is_written(self):
        write_suite(self.dir, "a_bench", "abc1234", "0.20 0.30 0.40")
        write_suite(self.dir, "b_bench", "abc1234", "0.90 0.30 0.40", quiet="true")
        result = self.update()
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(self.md, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("| `a_bench` | abc1234 |", text)
        self.assertIn("| `b_bench` | abc1234 |", text)

    def test_mixed_commits_are_refused_and_named(self):
        write_suite(self.dir, "a_bench", "abc1234", "0.20 0.30 0.40")
        write_suite(self.dir, "b_bench", "def5678", "0.20 0.30 0.40")
        result = self.update()
        self.assertEqual(result.returncode, 2)
        self.assertIn("abc1234: a_bench", result.stderr)
        self.assertIn("def5678: b_bench", result.stderr)
        self.assertEqual(self.update("--allow-mixed").returncode, 0)

    def test_a_dirty_commit_is_refused(self):
        write_suite(self.dir, "a_bench", "abc1234-dirty", "0.20 0.30 0.40")
        self.assertEqual(self.update().returncode, 2)

    def test_noisy_suites_are_refused_and_named(self):
        write_suite(self.dir, "a_bench", "abc1234", "1.20 0.30 0.40")       # above 0.5 per core
        write_suite(self.dir, "b_bench", "abc1234", "0.20 0.30 0.40", quiet="false")
        write_suite(self.dir, "c_bench", "abc1234", "0.20 0.30 0.40")
        result = self.update()
        self.assertEqual(result.returncode, 2)
        self.assertIn("a_bench, b_bench", result.stderr)
        self.assertNotIn("c_bench", result.stderr)
        self.assertEqual(self.update("--allow-noisy").returncode, 0)
        with open(self.md, encoding="utf-8") as f:
            self.assertIn("| `a_bench` | abc1234 | ? | 1.20 0.30 0.40 | 0.60 | **no** |", f.read())


if __name__ == "__main__":
    unittest.main()
