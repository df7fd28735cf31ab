#include "tools/tally/output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace tally::cli {
namespace {

void append_csv_field(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one (overlong
// forms, surrogates and code points above U+10FFFF are invalid, as RFC 3629 says).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
      ++i;
    } else if (const std::size_t n = utf8_sequence(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    }
  }
  out += '"';
}

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "tsv") return Format::kTsv;
  if (name == "csv") return Format::kCsv;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

std::string render(const WordCounts& rows, Format format) {
  std::string out;
  switch (format) {
    case Format::kText: {
      std::size_t word_width = 0;
      std::size_t count_width = 0;
      for (const auto& [w, n] : rows) {
        word_width = std::max(word_width, w.size());
        count_width = std::max(count_width, std::to_string(n).size());
      }
      for (const auto& [w, n] : rows) {
        const std::string count = std::to_string(n);
        out += w;
        out.append(word_width - w.size() + 2 + count_width - count.size(), ' ');
        out += count;
        out += '\n';
      }
      break;
    }
    case Format::kTsv:
      for (const auto& [w, n] : rows) {
        out += w;
        out += '\t';
        out += std::to_string(n);
        out += '\n';
      }
      break;
    case Format::kCsv:
      out += "word,count\r\n";  // RFC 4180 lines end in CRLF
      for (const auto& [w, n] : rows) {
        append_csv_field(out, w);
        out += ',';
        out += std::to_string(n);
        out += "\r\n";
      }
      break;
    case Format::kJson:
      out += "{\"words\":[";
      for (std::size_t i = 0; i < rows.size(); ++i) {
        out += i == 0 ? "\n" : ",\n";
        out += "{\"word\":";
        append_json_string(out, rows[i].first);
        out += ",\"count\":";
        out += std::to_string(rows[i].second);
        out += '}';
      }
      out += rows.empty() ? "]}\n" : "\n]}\n";
      break;
  }
  return out;
}

Status write_file_atomically(const std::string& path, std::string_view contents) {
  const auto fail = [&](const char* what, int err) {
    // generic_category().message: strerror's text, without strerror's shared buffer.
    return Status::IoError(std::string("cannot ") + what + " '" + path +
                           "': " + std::generic_category().message(err));
  };
  const std::filesystem::path target(path);
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  // A fresh name in the target's directory (rename is atomic only within one file system),
  // created with O_EXCL and mode 0666 so the umask applies as to any new file (mkstemp would
  // force 0600).
  std::string tmp;
  int fd = -1;
  std::random_device random;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    tmp = (dir / ("." + target.filename().string() + ".tally-" + std::to_string(::getpid()) + "-" +
                  std::to_string(random())))
              .string();
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) return fail("create a temporary file next to", errno);
  }
  if (fd < 0) return fail("create a temporary file next to", EEXIST);
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail("write", err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail("write", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail("write", err);
  }
  return Status::Ok();
}

}  // namespace tally::cli
