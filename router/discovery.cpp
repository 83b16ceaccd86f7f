// Context actor discovery (see discovery.hpp).
#include "router/discovery.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>

#include "actors/cluster_config.hpp"

namespace tt::router {

std::vector<std::string> resolve_host(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0) return {};
  std::vector<std::string> out;
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    char host[NI_MAXHOST];
    if (getnameinfo(p->ai_addr, p->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST) == 0)
      out.emplace_back(host);
  }
  freeaddrinfo(res);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::set<Address> discover(const DiscoverySources& sources, std::vector<std::string>& problems) {
  std::set<Address> found;
  for (const auto& [name, port] : sources.dns) {
    const auto hosts = resolve_host(name);
    if (hosts.empty()) problems.push_back("--context-dns " + name + ": does not resolve");
    for (const auto& h : hosts) found.emplace(h, port);
  }
  if (!sources.file.empty()) {
    std::ifstream in(sources.file);
    if (!in) problems.push_back("--contexts-file " + sources.file + ": cannot read");
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      const auto begin = line.find_first_not_of(" \t\r");
      if (begin == std::string::npos || line[begin] == '#') continue;
      const auto end = line.find_last_not_of(" \t\r");
      try {
        found.insert(actors::parse_host_port(line.substr(begin, end - begin + 1), "contexts-file"));
      } catch (const std::exception& e) {
        problems.push_back(sources.file + ":" + std::to_string(n) + ": " + e.what());
      }
    }
  }
  return found;
}

BackendSlots::BackendSlots(const std::vector<Address>& fixed, size_t discovered_capacity)
    : slots_(fixed.size() + discovered_capacity) {
  for (size_t i = 0; i < fixed.size(); ++i) slots_[i] = Slot{fixed[i], true, true};
}

}  // namespace tt::router
