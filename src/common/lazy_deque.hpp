#pragma once
// A deque that costs one pointer until something is pushed. libstdc++'s std::deque
// allocates its map and a 512-byte node when it is made, even empty: ~600 bytes for every
// per-peer or per-client queue that, for most of a million clients, stays empty (issue 22).
// Once used it keeps its deque, so a busy queue does not allocate on every push.
#include <deque>
#include <memory>
#include <utility>

namespace tether {

template <typename T>
class LazyDeque {
 public:
  using iterator = typename std::deque<T>::iterator;
  using const_iterator = typename std::deque<T>::const_iterator;

  LazyDeque() = default;
  LazyDeque(LazyDeque&&) noexcept = default;
  LazyDeque& operator=(LazyDeque&&) noexcept = default;

  bool empty() const { return !items_ || items_->empty(); }
  std::size_t size() const { return items_ ? items_->size() : 0; }
  void push_back(T value) { used().push_back(std::move(value)); }
  T& front() { return items_->front(); }
  const T& front() const { return items_->front(); }
  void pop_front() { items_->pop_front(); }
  void clear() { items_.reset(); }

  iterator begin() { return items_ ? items_->begin() : iterator{}; }
  iterator end() { return items_ ? items_->end() : iterator{}; }
  const_iterator begin() const { return items_ ? items_->cbegin() : const_iterator{}; }
  const_iterator end() const { return items_ ? items_->cend() : const_iterator{}; }
  iterator erase(iterator it) { return items_->erase(it); }
  template <typename Predicate>
  friend std::size_t erase_if(LazyDeque& d, Predicate pred) {
    return d.items_ ? std::erase_if(*d.items_, pred) : 0;
  }

 private:
  std::deque<T>& used() {
    if (!items_) items_ = std::make_unique<std::deque<T>>();
    return *items_;
  }
  std::unique_ptr<std::deque<T>> items_;
};

}  // namespace tether
