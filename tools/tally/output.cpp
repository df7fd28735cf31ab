#include "tools/tally/output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <utility>

#include "tools/tally/supervisor.hpp"

namespace tally::cli {
namespace {

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

}  // namespace

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

std::optional<Format> parse_format(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "tsv") return Format::kTsv;
  if (name == "csv") return Format::kCsv;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

namespace {

Status io_failure(const char* what, const std::string& path, int err) {
  // generic_category().message: strerror's text, without strerror's shared buffer.
  const std::string where = path.empty() ? std::string("to stdout") : "'" + path + "'";
  return Status::IoError(std::string("cannot ") + what + " " + where + ": " +
                         std::generic_category().message(err));
}

std::string_view decimal(std::uint64_t n, char (&buf)[20]) {
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  return {buf, static_cast<std::size_t>(end - buf)};
}

}  // namespace

OutputFile::~OutputFile() {
  if (!path_.empty() && fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) {
    ::unlink(tmp_.c_str());
    if (supervisor_ != nullptr) supervisor_->forget_temporary(tmp_);
  }
}

Status OutputFile::open(const std::string& path, Supervisor* supervisor) {
  supervisor_ = supervisor;
  buffer_.reserve(kBufferBytes);
  if (path.empty() || path == "-") {
    fd_ = STDOUT_FILENO;
    return Status::Ok();
  }
  path_ = path;
  target_ = path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    // Replace the file the link points to, not the link. A dangling link is written through,
    // which creates its target (not atomically: there is nothing to keep).
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved == nullptr) {
      fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666);
      if (fd_ < 0) return io_failure("write", path, errno);
      return Status::Ok();
    }
    target_ = resolved;
    std::free(resolved);  // NOLINT(cppcoreguidelines-no-malloc): realpath's buffer
  }
  const bool exists = ::stat(target_.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return io_failure("write", path, EISDIR);
  if (exists && !S_ISREG(st.st_mode)) {
    fd_ = ::open(target_.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd_ < 0) return io_failure("write", path, errno);
    return Status::Ok();
  }
  const std::filesystem::path target(target_);
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  // A fresh name in the target's directory (rename is atomic only within one file system),
  // created with O_EXCL and mode 0666 so the umask applies as to any new file (mkstemp would
  // force 0600); a file replaced keeps its own mode and, where we may, its owner.
  std::random_device random;
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string tmp = (dir / ("." + target.filename().string() + ".tally-" +
                              std::to_string(::getpid()) + "-" + std::to_string(random())))
                          .string();
    fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
      tmp_ = std::move(tmp);
      if (supervisor_ != nullptr) supervisor_->track_temporary(tmp_);
      if (exists) {
        ::fchmod(fd_, st.st_mode & 07777);
        // Only root may give a file away; anyone else keeps the file as theirs, as cp does.
        if (::geteuid() == 0) (void)::fchown(fd_, st.st_uid, st.st_gid);
      }
      return Status::Ok();
    }
    if (errno != EEXIST) return io_failure("create a temporary file next to", path, errno);
  }
  return io_failure("create a temporary file next to", path, EEXIST);
}

void OutputFile::append(std::string_view bytes) {
  if (buffer_.size() + bytes.size() > kBufferBytes) {
    flush_buffer();
    if (bytes.size() > kBufferBytes) {  // too big to buffer: straight through
      buffer_.assign(bytes);
      flush_buffer();
      return;
    }
  }
  buffer_.append(bytes);
}

void OutputFile::flush_buffer() {
  if (status_.ok() && supervisor_ != nullptr && supervisor_->stopped()) {
    status_ = Status::Cancelled("stopped while writing" +
                                (path_.empty() ? std::string(" to stdout") : " '" + path_ + "'"));
  }
  std::size_t done = 0;
  while (status_.ok() && done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      status_ = io_failure("write", path_, errno);
    } else {
      done += static_cast<std::size_t>(n);
    }
  }
  buffer_.clear();
}

Status OutputFile::finish() {
  flush_buffer();
  if (!status_.ok() || path_.empty() || fd_ < 0) return status_;
  // fsync only what will be renamed: a device or FIFO written in place may not support it.
  if (!tmp_.empty() && ::fsync(fd_) != 0) return status_ = io_failure("write", path_, errno);
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return status_ = io_failure("write", path_, errno);
  return status_;
}

Status OutputFile::publish() {
  if (!status_.ok() || tmp_.empty()) return status_;
  if (::rename(tmp_.c_str(), target_.c_str()) != 0) {
    status_ = io_failure("write", path_, errno);
    ::unlink(tmp_.c_str());
  }
  if (supervisor_ != nullptr) supervisor_->forget_temporary(tmp_);
  tmp_.clear();
  return status_;
}

Status OutputFile::commit() {
  if (Status s = finish(); !s.ok()) return s;
  if (supervisor_ != nullptr && !supervisor_->begin_publishing()) {
    return status_ = Status::Cancelled("stopped before publishing '" + path_ + "'");
  }
  return publish();
}

void ColumnWidths::widen(std::string_view w, std::uint64_t n) {
  char buf[20];
  word = std::max(word, std::min(w.size(), kMaxWordColumn));
  count = std::max(count, decimal(n, buf).size());
}

void CountsFormat::begin(std::string& out) const {
  if (format_ == Format::kCsv) out += "word,count\r\n";  // RFC 4180: CRLF
  if (format_ == Format::kJson) out += "{\"words\":[";
}

void CountsFormat::row(std::string& out, std::string_view word, std::uint64_t count,
                       bool first_in_piece) const {
  char buf[20];
  const std::string_view n = decimal(count, buf);
  switch (format_) {
    case Format::kText:
      out += word;
      out.append(widths_.word - std::min(widths_.word, word.size()) + 2 + widths_.count -
                     std::min(widths_.count, n.size()),
                 ' ');
      out += n;
      out += '\n';
      break;
    case Format::kTsv:
      out += word;
      out += '\t';
      out += n;
      out += '\n';
      break;
    case Format::kCsv:
      append_csv_field(out, word);
      out += ',';
      out += n;
      out += "\r\n";
      break;
    case Format::kJson:
      out += first_in_piece ? "\n{\"word\":" : ",\n{\"word\":";
      append_json_string(out, word);
      out += ",\"count\":";
      out += n;
      out += '}';
      break;
  }
}

void CountsFormat::end(std::string& out, bool any_rows) const {
  if (format_ == Format::kJson) out += any_rows ? "\n]}\n" : "]}\n";
}

Status write_file_atomically(const std::string& path, std::string_view contents) {
  OutputFile out;
  if (Status s = out.open(path); !s.ok()) return s;
  out.append(contents);
  return out.commit();
}

}  // namespace tally::cli
