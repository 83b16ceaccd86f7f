// Where the router finds context actors besides its fixed --context list: every
// address a DNS name resolves to (a Kubernetes headless Service lists one per cell
// pod) and every HOST:PORT line of a file (written by a job script or a ConfigMap),
// looked up again periodically so cells can come and go without a restart.
// BackendSlots maps those addresses onto the dispatcher's fixed backend indices.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace tt::router {

using Address = std::pair<std::string, uint16_t>;  // host, port

struct DiscoverySources {
  std::vector<Address> dns;  // name, port: every address the name resolves to, on that port
  std::string file;          // HOST:PORT per line; '#' comments and blank lines ignored
  bool empty() const { return dns.empty() && file.empty(); }
};

// The numeric addresses `name` resolves to (IPv4 and IPv6), sorted; empty when it does not.
std::vector<std::string> resolve_host(const std::string& name);

// One lookup of every source. Problems (a name that does not resolve, an unreadable file,
// a bad line) go to `problems`; the rest is still returned.
std::set<Address> discover(const DiscoverySources& sources, std::vector<std::string>& problems);

// Backend indices: the first `fixed` are the --context list, always wanted; the rest are
// given to discovered addresses. An address that is no longer discovered is no longer
// wanted (the connector stops reconnecting to it); its slot is given to a new address
// once it is not connected either.
class BackendSlots {
public:
  BackendSlots(const std::vector<Address>& fixed, size_t discovered_capacity);

  // Applies one lookup's result; `connected(i)` says whether backend i is up. Returns the
  // addresses that found no free slot.
  template <class Connected>
  std::vector<Address> update(const std::set<Address>& found, Connected connected);

  size_t size() const { return slots_.size(); }
  bool wanted(size_t i) const { return slots_[i].wanted; }
  const Address& address(size_t i) const { return slots_[i].address; }

  // A failed connection to slot i: true the first time since its address was given or it
  // last connected (the connector warns once, not on every retry).
  bool first_failure(size_t i) { return !std::exchange(slots_[i].warned, true); }
  void connected(size_t i) { slots_[i].warned = false; }

private:
  struct Slot {
    Address address;
    bool fixed = false;
    bool wanted = false;
    bool warned = false;  // a failure to connect to `address` was reported
  };
  std::vector<Slot> slots_;
};

template <class Connected>
std::vector<Address> BackendSlots::update(const std::set<Address>& found, Connected connected) {
  std::set<Address> placed;
  for (auto& s : slots_) {
    if (s.fixed) continue;
    s.wanted = !s.address.first.empty() && found.count(s.address) > 0;
    if (s.wanted) placed.insert(s.address);
  }
  std::vector<Address> homeless;
  for (const auto& a : found) {
    if (placed.count(a)) continue;
    std::optional<size_t> free;
    for (size_t i = 0; i < slots_.size() && !free; ++i)
      if (!slots_[i].fixed && !slots_[i].wanted && !connected(i)) free = i;
    if (!free) {
      homeless.push_back(a);
      continue;
    }
    Slot& s = slots_[*free];
    if (s.address != a) s = Slot{a, false, false, false};  // a new address: nothing reported yet
    s.wanted = true;
  }
  return homeless;
}

}  // namespace tt::router
