#include "tools/tally/compare/report_inputs.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "tools/tally/compare/benchmark_report.hpp"

namespace tally::compare {
namespace {

namespace fs = std::filesystem;

Result<std::set<std::string>> json_files_in(const std::string& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json" && it->is_regular_file(ec)) {
      names.insert(it->path().filename().string());
    }
  }
  if (ec) return input_problem(dir, ec.message());
  return names;
}

}  // namespace

Result<InputPlan> plan_inputs(const std::string& base, const std::string& contender) {
  std::error_code ec;
  for (const std::string& path : {base, contender}) {
    if (!fs::exists(path, ec)) return input_problem(path, "No such file or directory");
  }
  const bool base_is_dir = fs::is_directory(base, ec);
  const bool new_is_dir = fs::is_directory(contender, ec);
  if (base_is_dir != new_is_dir) {
    const std::string& dir = base_is_dir ? base : contender;
    const std::string& file = base_is_dir ? contender : base;
    return input_problem(dir, "is a directory but '" + file +
                                  "' is not: compare two files or two "
                                  "directories");
  }
  InputPlan plan;
  if (!base_is_dir) {
    plan.files.push_back({.source = "", .base_path = base, .new_path = contender});
    return plan;
  }
  Result<std::set<std::string>> base_names = json_files_in(base);
  if (!base_names.ok()) return base_names.status();
  Result<std::set<std::string>> new_names = json_files_in(contender);
  if (!new_names.ok()) return new_names.status();
  for (const std::string& name : *base_names) {
    if (new_names->count(name) == 0) {
      plan.only_in_base.push_back(name);
      continue;
    }
    plan.files.push_back({.source = name,
                          .base_path = (fs::path(base) / name).string(),
                          .new_path = (fs::path(contender) / name).string()});
  }
  for (const std::string& name : *new_names) {
    if (base_names->count(name) == 0) plan.only_in_new.push_back(name);
  }
  if (plan.files.empty()) {
    return input_problem(contender, "no .json report with the same name as one in '" + base + "'");
  }
  return plan;
}

}  // namespace tally::compare
