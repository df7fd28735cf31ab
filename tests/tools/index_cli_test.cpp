// `tally index` as a user runs it: the real binary, its output in every format against an
// independent oracle, and its exit statuses.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/scratch_dir.hpp"
#include "tests/support/subprocess.hpp"

namespace {

using nlohmann::json;
using tally::testing::run_process;

// word -> its postings as "path:line", in order.
using Index = std::map<std::string, std::vector<std::string>>;

// The oracle, independent of jobs/: each input (printed path, bytes) in the order given,
// cut into lines at '\n' (numbered from 1, a last line without '\n' counted), each line into
// words at the six ASCII whitespace bytes, A-Z lowercased unless case-sensitive; a word's
// postings are its (input, line) pairs, each once, sorted.
Index oracle(const std::vector<std::pair<std::string, std::string>>& inputs,
             bool case_sensitive = false) {
  std::map<std::string, std::set<std::pair<std::size_t, std::uint64_t>>> sets;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::istringstream text(inputs[i].second);
    std::string line;
    std::uint64_t number = 0;
    while (std::getline(text, line)) {
      ++number;
      std::string word;
      for (char c : line + ' ') {
        if (c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r') {
          if (!word.empty()) sets[word].insert({i, number});
          word.clear();
        } else {
          word += (!case_sensitive && c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
        }
      }
    }
  }
  Index out;
  for (const auto& [word, postings] : sets) {
    for (const auto& [input, line] : postings) {
      out[word].push_back(inputs[input].first + ":" + std::to_string(line));
    }
  }
  return out;
}

// The TSV the documentation promises: "word<TAB>posting,posting" lines, words bytewise.
std::string expected_tsv(const Index& index) {
  std::string out;
  for (const auto& [word, postings] : index) {
    out += word + "\t";
    for (std::size_t k = 0; k < postings.size(); ++k) out += (k ? "," : "") + postings[k];
    out += "\n";
  }
  return out;
}

// Words drawn Zipf-like from a vocabulary with mixed case, punctuation, CSV and JSON
// metacharacters and UTF-8, separated by every whitespace byte, some lines empty.
std::string random_text(std::uint64_t seed, std::size_t words) {
  std::mt19937_64 rng(seed);
  const char* const vocab[] = {"the",         "The",         "of",          "and",
                               "x,y",         "\"quoted\"",  "a:b",         "to",
                               "back\\slash", "caf\xc3\xa9", "Caf\xc3\xa9", "end."};
  const char* const seps[] = {" ", " ", " ", "  ", "\t", "\n", "\n", "\r\n", "\v", "\f", "\n\n"};
  std::string text;
  for (std::size_t i = 0; i < words; ++i) {
    const std::size_t r = rng() % 100;
    text +=
        r < 80 ? vocab[rng() % (1 + rng() % std::size(vocab))] : "w" + std::to_string(rng() % 5000);
    text += seps[rng() % std::size(seps)];
  }
  return text;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class IndexCli : public tally::testing::ScratchDirTest {
 protected:
  // Two files and a directory of three (given out of order), about 60,000 words in all:
  // enough postings that the output is formatted in several batches of pieces. Returns the
  // paths to pass and fills `inputs_` with the files in the order the postings number them.
  std::vector<std::string> make_inputs() {
    const std::string second = write("second.txt", random_text(2, 15000));
    const std::string first = write("first.txt", random_text(1, 25000));
    write("d/z.txt", random_text(3, 10000));
    write("d/a.txt", random_text(4, 8000) + "no-final-newline");
    write("d/sub/m.txt", random_text(5, 5000));
    const std::string d = (dir_ / "d").string();
    for (const std::string& p : {second, first, d + "/a.txt", d + "/sub/m.txt", d + "/z.txt"}) {
      inputs_.emplace_back(p, read_file(p));
    }
    return {second, first, d};
  }

  std::vector<std::pair<std::string, std::string>> inputs_;
};

class IndexCliThreads : public IndexCli, public ::testing::WithParamInterface<const char*> {};

// Oracle: the TSV equals expected_tsv(oracle()) over the inputs in their documented order
// (paths as given, a directory's files in bytewise path order), at -j 1, 2 and 4.
TEST_P(IndexCliThreads, TsvMatchesOracle) {
  std::vector<std::string> argv = {TALLY_EXE, "index", "-j", GetParam()};
  for (const std::string& p : make_inputs()) argv.push_back(p);
  const auto r = run_process(argv);
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, expected_tsv(oracle(inputs_)));
}

// Oracle: the JSON parses to {"index":[{"word","postings"}...]} with the oracle's words in
// order and their postings; the CSV is the header and one row per posting, RFC 4180 quoted.
TEST_P(IndexCliThreads, JsonAndCsvMatchOracle) {
  std::vector<std::string> argv = {TALLY_EXE, "index", "-j", GetParam()};
  for (const std::string& p : make_inputs()) argv.push_back(p);
  const Index want = oracle(inputs_);

  argv.insert(argv.begin() + 2, {"-f", "json"});
  const auto j = run_process(argv);
  ASSERT_EQ(j.exit_status, 0) << j.err;
  const json doc = json::parse(j.out);
  ASSERT_TRUE(doc.is_object() && doc.size() == 1 && doc["index"].is_array());
  Index got;
  std::vector<std::string> order;
  for (const json& entry : doc["index"]) {
    ASSERT_EQ(entry.size(), 2u);
    order.push_back(entry["word"].get<std::string>());
    got[order.back()] = entry["postings"].get<std::vector<std::string>>();
  }
  EXPECT_EQ(got, want);
  std::vector<std::string> want_order;
  for (const auto& [word, postings] : want) want_order.push_back(word);
  EXPECT_EQ(order, want_order);

  argv[3] = "csv";
  const auto c = run_process(argv);
  ASSERT_EQ(c.exit_status, 0) << c.err;
  const auto quoted = [](const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return out + "\"";
  };
  std::string csv = "word,path,line\r\n";
  for (const auto& [word, postings] : want) {
    for (const std::string& p : postings) {
      const std::size_t colon = p.rfind(':');
      csv += quoted(word) + "," + quoted(p.substr(0, colon)) + "," + p.substr(colon + 1) + "\r\n";
    }
  }
  EXPECT_EQ(c.out, csv);
}

INSTANTIATE_TEST_SUITE_P(Threads, IndexCliThreads, ::testing::Values("1", "2", "4"));

// Oracle: --case-sensitive keeps "The" and "the" apart, as the oracle does.
TEST_F(IndexCli, CaseSensitive) {
  const std::string path = write("c.txt", "The the\nTHE x\nthe\n");
  const auto r = run_process({TALLY_EXE, "index", "--case-sensitive", path});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, expected_tsv(oracle({{path, read_file(path)}}, true)));
  EXPECT_EQ(r.out, "THE\t" + path + ":2\nThe\t" + path + ":1\nthe\t" + path + ":1," + path +
                       ":3\nx\t" + path + ":2\n");
}

// Oracle: stdin is the input "-"; a word twice on a line is one posting.
TEST_F(IndexCli, StdinAndRepeatedWords) {
  const auto r = run_process({TALLY_EXE, "index", "-"}, "a a b\nb\n\nA\n");
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "a\t-:1,-:4\nb\t-:1,-:2\n");
}

// Oracle: inputs without words give each format's empty form, exit 0.
TEST_F(IndexCli, EmptyInput) {
  const std::string empty = write("empty.txt", "");
  const std::string blank = write("blank.txt", "\n \t\n");
  auto r = run_process({TALLY_EXE, "index", empty, blank});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "");
  r = run_process({TALLY_EXE, "index", "-f", "json", empty});
  EXPECT_EQ(r.out, "{\"index\":[]}\n");
  r = run_process({TALLY_EXE, "index", "-f", "csv", empty});
  EXPECT_EQ(r.out, "word,path,line\r\n");
}

// Oracle: a missing input is exit 3 with exactly one message naming it, nothing on stdout,
// and no output file; an -o target that exists is left as it was.
TEST_F(IndexCli, MissingInputIsExit3WithOneMessageAndNoOutput) {
  const std::string present = write("present.txt", "word\n");
  const std::string missing = (dir_ / "missing.txt").string();
  const std::string out = (dir_ / "out.tsv").string();
  auto r = run_process({TALLY_EXE, "index", "-o", out, present, missing});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "tally: cannot open '" + missing + "': No such file or directory\n");
  EXPECT_FALSE(std::filesystem::exists(out));

  const std::string kept = write("kept.tsv", "old contents\n");
  r = run_process({TALLY_EXE, "index", "-o", kept, missing});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(read_file(kept), "old contents\n");
  EXPECT_EQ(files_in_dir(), (std::vector<std::string>{"kept.tsv", "present.txt"}));
}

// Oracle: -o replaces the target with the whole index (what stdout gets) and leaves no
// temporary file; --report writes a JSON report beside it.
TEST_F(IndexCli, OutputFileIsWrittenWhole) {
  const std::string in = write("in.txt", random_text(9, 20000));
  const std::string out = write("out.tsv", "old contents\n");
  const std::string report = (dir_ / "report.json").string();
  auto r = run_process({TALLY_EXE, "index", "-o", out, "--report", report, in});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(read_file(out), expected_tsv(oracle({{in, read_file(in)}})));
  EXPECT_TRUE(json::parse(read_file(report)).is_object());
  EXPECT_EQ(files_in_dir(), (std::vector<std::string>{"in.txt", "out.tsv", "report.json"}));
}

// Oracle: no path, or a format the index does not have, is a usage error (exit 2).
TEST_F(IndexCli, UsageErrors) {
  EXPECT_EQ(run_process({TALLY_EXE, "index"}).exit_status, 2);
  const std::string in = write("in.txt", "a\n");
  EXPECT_EQ(run_process({TALLY_EXE, "index", "-f", "text", in}).exit_status, 2);
}

}  // namespace
