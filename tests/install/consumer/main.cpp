// Uses the installed headers and library the way an embedding program does.
#include <tally/engine/version.hpp>

#include <cstdio>
#include <string>

int main() {
  if (tally::version() != tally::kVersion) return 1;
  std::printf("tally %s ok\n", std::string(tally::version()).c_str());
  return 0;
}
