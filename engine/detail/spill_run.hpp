// A spilled run: entries sorted by some order (key order for the exchange's runs, value
// order for a result's), written as a sequence of checksummed blocks of a SpillFile
// (spill_file.hpp) by a RunWriter, read back one entry at a time by a RunReader.
//
// A run lists its blocks' offsets rather than assuming they are consecutive, so that several
// runs can be written to one file at the same time (SpillFile::append is thread-safe).
//
// Thread safety: a RunWriter and a RunReader belong to one thread each; any number of readers
// may read the same run at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tally/engine/detail/spill_codec.hpp"
#include "tally/engine/detail/spill_file.hpp"
#include "tally/engine/status.hpp"

namespace tally::detail {

struct SpillRun {
  const SpillFile* file = nullptr;
  std::vector<std::uint64_t> blocks;  // offsets of its blocks, in order
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  // on disk, block headers included
};

template <typename Key, typename T>
class RunWriter {
 public:
  // Blocks hold about `block_bytes` of entries each (one entry larger than that gets a block
  // of its own size).
  RunWriter(SpillFile& file, std::size_t block_bytes) : file_(file), block_bytes_(block_bytes) {
    run_.file = &file;
    buffer_.reserve(block_bytes + block_bytes / 8);
  }

  void add(const Key& key, const T& value) {
    SpillCodec<Key, T>::encode(buffer_, key, value);
    ++run_.entries;
    if (buffer_.size() >= block_bytes_) flush();
  }

  // The run written so far, with the last block flushed.
  SpillRun finish() {
    if (!buffer_.empty()) flush();
    return std::move(run_);
  }

 private:
  void flush() {
    run_.blocks.push_back(file_.append(buffer_));
    run_.bytes += SpillFile::kHeaderBytes + buffer_.size();
    buffer_.clear();
  }

  SpillFile& file_;
  const std::size_t block_bytes_;
  std::string buffer_;
  SpillRun run_;
};

// Reads a run's entries in order: head() is the current entry (nullptr once the run is
// exhausted); advance() moves to the next. A string key points into the reader's current
// block, so it stays valid until the next advance() only. A source for MergedRuns
// (result_stream.hpp).
template <typename Key, typename T>
class RunReader {
 public:
  using Entry = std::pair<Key, T>;

  // REQUIRES: `run` (and its file) outlive the reader.
  explicit RunReader(const SpillRun& run) : run_(&run) { advance(); }

  const Entry* head() const noexcept { return exhausted_ ? nullptr : &entry_; }

  // Throws StatusError (kDataLoss) if a block fails its checks or does not decode.
  void advance() {
    while (pos_ == end_) {
      if (next_block_ == run_->blocks.size()) {
        exhausted_ = true;
        return;
      }
      run_->file->read(run_->blocks[next_block_++], *payload_);
      pos_ = payload_->data();
      end_ = pos_ + payload_->size();
    }
    if (!SpillCodec<Key, T>::decode(pos_, end_, entry_.first, entry_.second)) {
      throw StatusError(Status::DataLoss("spill file in '" + run_->file->dir() +
                                         "' is corrupt: an entry runs past its block"));
    }
  }

 private:
  const SpillRun* run_;
  std::size_t next_block_ = 0;
  // On the heap, so that moving the reader leaves the keys it points into where they are
  // (a short payload would move with a std::string's inline buffer).
  std::unique_ptr<std::string> payload_ = std::make_unique<std::string>();
  const char* pos_ = nullptr;
  const char* end_ = nullptr;
  Entry entry_{};
  bool exhausted_ = false;
};

}  // namespace tally::detail
