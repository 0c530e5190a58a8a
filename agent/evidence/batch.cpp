#include "agent/evidence/batch.h"

#include <algorithm>

namespace demarc::evidence {

void RecordBuffer::appendCopy(const RecordBuffer& from, size_t n) {
  if (n == 0) return;
  const size_t base = bytes_.size();
  const size_t bytes = from.entries_[n - 1].end;
  bytes_.append(from.bytes_, 0, bytes);
  entries_.reserve(entries_.size() + n);
  for (size_t i = 0; i < n; ++i) {
    Entry e = from.entries_[i];
    e.end += base;
    entries_.push_back(e);
  }
}

void RecordBuffer::moveFront(size_t n, RecordBuffer& to) {
  n = std::min(n, size());
  if (n == 0) return;
  to.appendCopy(*this, n);
  const size_t bytes = entries_[n - 1].end;
  bytes_.erase(0, bytes);
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(n));
  for (Entry& e : entries_) e.end -= bytes;
}

}  // namespace demarc::evidence
