// Runs the Unicode word count from the installed headers and static library.
#include <tally/engine/engine.hpp>
#include <tally/engine/version.hpp>
#include <tally/jobs/unicode_wordcount.hpp>

#include <cstdio>
#include <string>

int main() {
  tally::Engine engine({.threads = 2});
  tally::Inputs inputs = tally::Inputs::buffers({{"t", "Straße STRASSE caf\xE9\n"}});
  const tally::jobs::UnicodeWordCount job{.case_sensitive = false};
  auto result = engine.run(job, inputs);
  if (!result.ok()) return 1;
  const auto n = result->table.find("strasse");
  if (!n || *n != 2 || job.invalid_sequences() != 1) return 2;
  std::printf("tally %s ok\n", std::string(tally::version()).c_str());
  return 0;
}
