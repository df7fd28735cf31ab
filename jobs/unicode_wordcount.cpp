#include "tally/jobs/unicode_wordcount.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <memory>

namespace tally::jobs {
namespace {

// What one byte is, for the ASCII fast path. Every ASCII code point's category is fixed, so
// ASCII bytes never reach utf8proc: letters and digits are the only ASCII word characters
// (L*, M*, N*); ' and - are the ASCII joiners; everything else below 0x80 separates.
enum class ByteClass : unsigned char { kSeparator, kWord, kJoiner, kNonAscii };

constexpr std::array<ByteClass, 256> kByteClass = [] {
  std::array<ByteClass, 256> t{};
  for (int b = 0; b < 256; ++b) {
    const bool alnum = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9');
    t[static_cast<std::size_t>(b)] = b >= 0x80                 ? ByteClass::kNonAscii
                                     : alnum                   ? ByteClass::kWord
                                     : (b == '\'' || b == '-') ? ByteClass::kJoiner
                                                               : ByteClass::kSeparator;
  }
  return t;
}();

// ASCII full case folding is plain lowercasing; the identity table serves case_sensitive.
constexpr std::array<char, 256> make_ascii_map(bool lower) {
  std::array<char, 256> t{};
  for (int b = 0; b < 256; ++b) {
    const int mapped = (lower && b >= 'A' && b <= 'Z') ? b - 'A' + 'a' : b;
    t[static_cast<std::size_t>(b)] = static_cast<char>(static_cast<unsigned char>(mapped));
  }
  return t;
}
constexpr std::array<char, 256> kAsciiFolded = make_ascii_map(true);
constexpr std::array<char, 256> kAsciiKept = make_ascii_map(false);

constexpr char32_t kReplacement = 0xFFFD;

struct Decoded {
  char32_t cp;
  bool invalid;
};

// Decodes the sequence that starts at p (a byte >= 0x80) and advances p past it. An invalid
// sequence gives U+FFFD and consumes its maximal subpart: the lead byte and the continuation
// bytes that were still valid for it, but never the byte that broke it, which starts the next
// sequence (WHATWG "UTF-8 decode"; the accepted ranges are Unicode Table 3-7). A byte that
// cannot lead (80-C1, F5-FF) is a subpart of one byte.
Decoded decode_non_ascii(const unsigned char*& p, const unsigned char* end) noexcept {
  const unsigned char lead = *p++;
  int needed = 0;
  char32_t cp = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    needed = 1;
    cp = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    needed = 2;
    cp = lead & 0x0Fu;
    if (lead == 0xE0) lo = 0xA0;  // below: overlong
    if (lead == 0xED) hi = 0x9F;  // above: surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    needed = 3;
    cp = lead & 0x07u;
    if (lead == 0xF0) lo = 0x90;  // below: overlong
    if (lead == 0xF4) hi = 0x8F;  // above: beyond U+10FFFF
  } else {
    return {kReplacement, true};
  }
  for (int i = 0; i < needed; ++i) {
    if (p == end || *p < lo || *p > hi) return {kReplacement, true};
    cp = (cp << 6) | (*p & 0x3Fu);
    ++p;
    lo = 0x80;
    hi = 0xBF;
  }
  return {cp, false};
}

enum class CharClass { kSeparator, kWord, kJoiner };

CharClass classify_non_ascii(char32_t cp) noexcept {
  if (cp == 0x2019 || cp == 0x2010 || cp == 0x2011) return CharClass::kJoiner;
  if (cp == kReplacement) return CharClass::kWord;
  const int cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  // Lu Ll Lt Lm Lo Mn Mc Me Nd Nl No are the consecutive values 1..11 of utf8proc_category_t.
  static_assert(UTF8PROC_CATEGORY_LU == 1 && UTF8PROC_CATEGORY_NO == 11);
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO) ? CharClass::kWord
                                                                      : CharClass::kSeparator;
}

// Appends the UTF-8 form of a valid scalar value; returns the bytes written (1..4).
std::size_t encode_utf8(char32_t cp, char* dst) noexcept {
  if (cp < 0x80) {
    dst[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    dst[0] = static_cast<char>(0xC0 | (cp >> 6));
    dst[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    dst[0] = static_cast<char>(0xE0 | (cp >> 12));
    dst[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    dst[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  dst[0] = static_cast<char>(0xF0 | (cp >> 18));
  dst[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  dst[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  dst[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// Full case folding of one code point yields at most 3 code points (CaseFolding.txt, status F);
// room for more costs nothing and keeps a future Unicode version from truncating.
constexpr std::size_t kMaxFoldedCodePoints = 8;
constexpr std::size_t kMaxFoldedBytes = 4 * kMaxFoldedCodePoints;

// The word being built. Starts in a buffer on the stack; a longer word moves to the heap.
// emit() copies the key, so the buffer is reused for the next word.
class WordBuffer {
 public:
  WordBuffer() = default;
  WordBuffer(const WordBuffer&) = delete;
  WordBuffer& operator=(const WordBuffer&) = delete;

  std::string_view view() const noexcept { return {data_, size_}; }
  std::size_t room() const noexcept { return capacity_ - size_; }
  bool empty() const noexcept { return size_ == 0; }
  void clear() noexcept { size_ = 0; }
  char* tail() noexcept { return data_ + size_; }
  void commit(std::size_t n) noexcept { size_ += n; }

  void ensure_room(std::size_t n) {
    if (room() >= n) return;
    const std::size_t capacity = std::max(capacity_ * 2, size_ + n);
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
    std::memcpy(bigger.get(), data_, size_);
    heap_ = std::move(bigger);
    data_ = heap_.get();
    capacity_ = capacity;
  }

  void append(const unsigned char* bytes, std::size_t n) {
    ensure_room(n);
    std::memcpy(tail(), bytes, n);
    size_ += n;
  }

 private:
  char inline_[256];
  std::unique_ptr<char[]> heap_;
  char* data_ = inline_;
  std::size_t capacity_ = sizeof inline_;
  std::size_t size_ = 0;
};

}  // namespace

void UnicodeWordCount::map(Record rec, Emitter<Key, Value>& out) const {
  const auto* p = reinterpret_cast<const unsigned char*>(rec.bytes.data());
  const auto* const end = p + rec.bytes.size();
  const std::array<char, 256>& ascii = case_sensitive ? kAsciiKept : kAsciiFolded;
  WordBuffer word;
  // A joiner that directly follows a word character: it joins only if a word character comes
  // next, so it waits here (its input bytes) until the next character decides.
  const unsigned char* joiner = nullptr;
  std::size_t joiner_size = 0;
  std::uint64_t invalid = 0;

  const auto end_word = [&] {
    if (!word.empty()) out.emit(word.view(), 1);
    word.clear();
    joiner = nullptr;
  };
  const auto take_joiner = [&] {
    if (joiner != nullptr) {
      word.append(joiner, joiner_size);
      joiner = nullptr;
    }
  };
  const auto on_joiner = [&](const unsigned char* bytes, std::size_t n) {
    if (!word.empty() && joiner == nullptr) {
      joiner = bytes;
      joiner_size = n;
    } else {
      end_word();  // nothing on its left, or another joiner: it separates
    }
  };

  while (p < end) {
    switch (kByteClass[*p]) {
      case ByteClass::kSeparator:
        end_word();
        ++p;
        break;
      case ByteClass::kJoiner:
        on_joiner(p, 1);
        ++p;
        break;
      case ByteClass::kWord: {
        take_joiner();
        // The whole ASCII run at once, in chunks that fit the buffer.
        for (;;) {
          const std::size_t limit = std::min(word.room(), static_cast<std::size_t>(end - p));
          char* dst = word.tail();
          std::size_t n = 0;
          while (n < limit && kByteClass[p[n]] == ByteClass::kWord) {
            dst[n] = ascii[p[n]];
            ++n;
          }
          word.commit(n);
          p += n;
          if (n < limit || p == end) break;
          word.ensure_room(64);
        }
        break;
      }
      case ByteClass::kNonAscii: {
        const unsigned char* const start = p;
        const Decoded d = decode_non_ascii(p, end);
        invalid += d.invalid ? 1 : 0;
        const CharClass cls = classify_non_ascii(d.cp);
        if (cls == CharClass::kSeparator) {
          end_word();
          break;
        }
        if (cls == CharClass::kJoiner) {
          on_joiner(start, static_cast<std::size_t>(p - start));
          break;
        }
        take_joiner();
        word.ensure_room(kMaxFoldedBytes);
        if (d.invalid) {
          word.commit(encode_utf8(kReplacement, word.tail()));
        } else if (case_sensitive) {
          word.append(start, static_cast<std::size_t>(p - start));
        } else {
          utf8proc_int32_t folded[kMaxFoldedCodePoints];
          int boundclass = 0;  // used only with UTF8PROC_CHARBOUND
          const utf8proc_ssize_t n =
              utf8proc_decompose_char(static_cast<utf8proc_int32_t>(d.cp), folded,
                                      kMaxFoldedCodePoints, UTF8PROC_CASEFOLD, &boundclass);
          if (n < 1 || static_cast<std::size_t>(n) > kMaxFoldedCodePoints) {
            // Cannot happen for a valid scalar value; keep the character as it came.
            word.append(start, static_cast<std::size_t>(p - start));
          } else {
            for (utf8proc_ssize_t i = 0; i < n; ++i) {
              word.commit(encode_utf8(static_cast<char32_t>(folded[i]), word.tail()));
            }
          }
        }
        break;
      }
    }
  }
  end_word();
  if (invalid != 0) {
    // Relaxed: a plain event count; readers are ordered after this by the run's join (see
    // invalid_sequences()), not by this counter.
    invalid_->fetch_add(invalid, std::memory_order_relaxed);
  }
}

}  // namespace tally::jobs
