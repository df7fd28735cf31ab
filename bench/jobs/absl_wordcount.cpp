// A single-threaded word count as a careful C++ user would write it with Abseil: the baseline
// that bench/jobs/wordcount_bench.cpp runs as a process beside `tally wordcount`
// (BM_Process_AbslFlatHashMap). Not part of tally.
//
//   absl_wordcount FILE > counts.tsv
//
// Same word rule and output as `tally wordcount -f tsv FILE`: words are maximal runs of bytes
// other than the six ASCII whitespace bytes, with A-Z lowercased; one "word<TAB>count" line
// per distinct word, count descending, then word ascending (bytewise).
//
// How: the file is mapped (mmap, read-only); words are counted in one
// absl::flat_hash_map<std::string, uint64_t>. The table owns its keys (std::string: words of
// up to 15 bytes live inside the slot, longer ones on the heap) and is probed with a
// string_view into the mapping, so a word already counted costs no copy; a word with capitals
// is lowercased into a reused buffer first. Then the (word, count) pairs are copied out of
// the table into a vector, sorted, and written through a 64 KiB buffer with write(2), every
// write checked. Copies, not string_views into the table: with 10^7 words the table is
// hundreds of MB, and a sort of views into it misses the cache on every comparison (on the
// distinct1e7 corpus that made the whole run more than twice as slow).
//
// Exit status: 0 success, 2 usage, 3 the input cannot be read, 4 the output cannot be written.
#include <absl/container/flat_hash_map.h>
#include <absl/strings/string_view.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitInput = 3;
constexpr int kExitOutput = 4;

// The countwords whitespace set, as tally's default word rule (jobs/word_scan.hpp).
constexpr bool is_ascii_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

constexpr bool is_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }

// A regular file mapped read-only for the life of the object.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_ != nullptr) munmap(data_, size_);
  }

  // False, with errno set, if the file cannot be opened, is not a regular file, or cannot be
  // mapped. An empty file maps to an empty text.
  bool open(const char* path) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      const int saved = errno;
      close(fd);
      errno = saved;
      return false;
    }
    if (!S_ISREG(st.st_mode)) {
      close(fd);
      errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
      return false;
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int saved = errno;
        close(fd);
        errno = saved;
        return false;
      }
      data_ = p;
      madvise(data_, size_, MADV_SEQUENTIAL);
    }
    close(fd);
    return true;
  }

  std::string_view text() const noexcept {
    return data_ == nullptr ? std::string_view()
                            : std::string_view(static_cast<char*>(data_), size_);
  }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

using Counts = absl::flat_hash_map<std::string, std::uint64_t>;

Counts count_words(std::string_view text) {
  Counts counts;
  std::string lowered;
  const std::size_t n = text.size();
  std::size_t i = 0;
  for (;;) {
    while (i < n && is_ascii_space(text[i])) ++i;
    if (i == n) break;
    const std::size_t start = i;
    bool upper = false;
    while (i < n && !is_ascii_space(text[i])) upper |= is_upper(text[i++]);
    std::string_view word = text.substr(start, i - start);
    if (upper) {
      lowered.assign(word);
      for (char& c : lowered) {
        if (is_upper(c)) c = static_cast<char>(c - 'A' + 'a');
      }
      word = lowered;
    }
    // Debian's Abseil has its own string_view type (ABSL_USES_STD_STRING_VIEW is 0).
    const absl::string_view key(word.data(), word.size());
    if (auto it = counts.find(key); it != counts.end()) {
      ++it->second;
    } else {
      counts.emplace(key, 1);
    }
  }
  return counts;
}

// Buffers output for one file descriptor; the first failed write sticks.
class Writer {
 public:
  explicit Writer(int fd) : fd_(fd) { buf_.reserve(kCapacity); }

  void append(std::string_view s) {
    if (buf_.size() + s.size() > kCapacity) flush();
    if (s.size() > kCapacity) {
      write_all(s);
    } else {
      buf_.append(s);
    }
  }

  // False if any write failed (errno is that write's).
  bool flush() {
    write_all(buf_);
    buf_.clear();
    return ok_;
  }

 private:
  static constexpr std::size_t kCapacity = std::size_t{64} << 10;

  void write_all(std::string_view s) {
    while (ok_ && !s.empty()) {
      const ssize_t w = write(fd_, s.data(), s.size());
      if (w < 0) {
        if (errno == EINTR) continue;
        ok_ = false;
        return;
      }
      s.remove_prefix(static_cast<std::size_t>(w));
    }
  }

  int fd_;
  bool ok_ = true;
  std::string buf_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: absl_wordcount FILE\n");
    return kExitUsage;
  }
  MappedFile file;
  if (!file.open(argv[1])) {
    std::fprintf(stderr, "absl_wordcount: %s: %s\n", argv[1], std::strerror(errno));
    return kExitInput;
  }
  const Counts counts = count_words(file.text());

  std::vector<std::pair<std::string, std::uint64_t>> rows(counts.begin(), counts.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });

  Writer out(STDOUT_FILENO);
  char digits[24];
  for (const auto& [word, count] : rows) {
    out.append(word);
    digits[0] = '\t';
    char* end = std::to_chars(digits + 1, digits + sizeof digits - 1, count).ptr;
    *end++ = '\n';
    out.append(std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
  if (!out.flush()) {
    std::fprintf(stderr, "absl_wordcount: writing the output: %s\n", std::strerror(errno));
    return kExitOutput;
  }
  return 0;
}
