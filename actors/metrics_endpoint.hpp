// A process's metrics and their /metrics endpoint, for the role mains
// (`--metrics HOST:PORT`): builds the registry, installs it for the actors
// (actor_metrics.hpp) and serves it until destroyed.
#pragma once

#include <memory>
#include <string>

#include "monitoring/http_server.hpp"
#include "monitoring/metrics.hpp"
#include "monitoring/registry.hpp"

namespace tt::actors {

class MetricsEndpoint {
public:
  // `host_port` as given to --metrics (PORT 0: any free port); `exports` the
  // role's families (actor_metrics.hpp). Throws tt::Error naming the option when
  // the address is malformed or cannot be served.
  MetricsEndpoint(const std::string& host_port, mon::FamilyFilter exports);
  ~MetricsEndpoint();  // uninstalls; destroy it after the actor system
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  std::string address() const { return server_->address(); }
  mon::Metrics& metrics() { return metrics_; }

private:
  mon::Registry registry_;
  mon::Metrics metrics_{registry_};
  std::unique_ptr<mon::MetricsServer> server_;
};

}  // namespace tt::actors
