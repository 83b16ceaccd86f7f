// Building, installing and serving a process's metrics.
#include "actors/metrics_endpoint.hpp"

#include "actors/actor_metrics.hpp"
#include "actors/cluster_config.hpp"
#include "model/error.hpp"

namespace tt::actors {

MetricsEndpoint::MetricsEndpoint(const std::string& host_port, mon::FamilyFilter exports) {
  const auto [host, port] = parse_host_port(host_port, "metrics");
  try {
    server_ = std::make_unique<mon::MetricsServer>(registry_, host, port, mon::MetricsServerLimits{}, std::move(exports));
  } catch (const std::exception& e) {
    throw Error(std::string("--metrics ") + host_port + ": " + e.what());
  }
  install_metrics(&metrics_);
}

MetricsEndpoint::~MetricsEndpoint() {
  if (installed_metrics() == &metrics_) install_metrics(nullptr);
}

}  // namespace tt::actors
