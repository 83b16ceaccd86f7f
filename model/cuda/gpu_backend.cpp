// GPU decoding backend (see gpu_backend.hpp).
#include "model/cuda/gpu_backend.hpp"

#include <cstdio>
#include <map>
#include <string>
#include <utility>

#include "model/cuda/gpu_denoiser.hpp"
#include "model/error.hpp"
#include "model/memory_plan.hpp"
#include "model/weights.hpp"

namespace tt::gpu {
namespace {

int parse_device(const std::string& s) {
  size_t used = 0;
  int d = -1;
  try {
    d = std::stoi(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || d < 0) throw Error("--device: '" + s + "' is not a device number");
  return d;
}

// Frees a cache on its own device, whatever the calling thread has current.
void free_on(int device, std::unique_ptr<SequenceCache>& cache) {
  if (!cache) return;
  cuda::DeviceScope on(device, std::nothrow);
  cache.reset();
}

}  // namespace

Placement parse_devices(const std::string& spec) {
  Placement p;
  const auto comma = spec.find(',');
  p.context_device = parse_device(spec.substr(0, comma));
  p.denoiser_device = comma == std::string::npos ? p.context_device : parse_device(spec.substr(comma + 1));
  return p;
}

std::string memory_plan_line(const ModelConfig& config, int device, const std::string& role) {
  const cuda::DeviceInfo info = cuda::device_info(device);
  PlanOptions o;
  o.gpu_memory_gb = static_cast<double>(info.memory_bytes) / 1e9;
  o.gpus = role == "context+denoiser" ? 1 : 2;
  const MemoryPlan plan = plan_memory(config, o);
  const GpuPlan* g = &plan.ar_only;
  for (const auto& candidate : plan.gpus)
    if (candidate.role == role) g = &candidate;
  char line[320];
  std::snprintf(line, sizeof line,
                "memory plan for cuda:%d (%s, %.1f GB) as %s: weights %.2f GB, reserve %.2f GB, workspace %.2f GB, "
                "%.1f MB per sequence of %d tokens, %lld sequences fit%s",
                device, info.name.c_str(), info.memory_bytes / 1e9, role.c_str(), g->weights / 1e9, g->reserve / 1e9,
                g->workspace / 1e9, g->per_sequence / 1e6, o.seq_len, static_cast<long long>(g->sequences),
                g->fits ? "" : " (DOES NOT FIT)");
  return line;
}

Backend::Backend(const ModelConfig& config, const Checkpoint& checkpoint, const Placement& placement)
    : config_(config), placement_(placement) {
  check_device(placement.context_device);
  if (placement.denoiser) check_device(placement.denoiser_device);
  context_ = std::make_unique<DeviceTower>(config, checkpoint, placement.context_device, DeviceTower::Kind::context);
  if (!placement.denoiser) return;
  if (placement.denoiser_device != placement.context_device) {
    cuda::DeviceScope on(placement.denoiser_device);
    int can = 0;
    cuda::check(cudaDeviceCanAccessPeer(&can, placement.denoiser_device, placement.context_device), "peer query");
    if (can) cudaDeviceEnablePeerAccess(placement.context_device, 0);  // else copies stage through the host
    cudaGetLastError();  // "already enabled" is not an error here
  }
  denoiser_ = std::make_unique<DeviceTower>(config, checkpoint, placement.denoiser_device, DeviceTower::Kind::denoiser);
}

Backend::~Backend() {
  for (size_t i = 0; i < caches_.size(); ++i) free_cache(static_cast<int>(i));
}

int Backend::new_cache() {
  cuda::DeviceScope on(placement_.context_device);
  size_t i = 0;
  while (i < caches_.size() && caches_[i]) ++i;
  if (i == caches_.size()) caches_.emplace_back(), mirrors_.emplace_back();
  caches_[i] = std::make_unique<SequenceCache>(config_);
  return static_cast<int>(i);
}

void Backend::free_cache(int cache) {
  free_on(placement_.context_device, caches_.at(cache));
  free_on(placement_.denoiser_device, mirrors_.at(cache));
}

SequenceCache& Backend::cache(int handle) {
  auto& c = caches_.at(handle);
  if (!c) throw Error("gpu backend: cache " + std::to_string(handle) + " was freed");
  return *c;
}

size_t Backend::cache_bytes() const {
  size_t n = 0;
  for (const auto* v : {&caches_, &mirrors_})
    for (const auto& c : *v) n += c ? c->bytes() : 0;
  return n;
}

std::string Backend::describe() const {
  auto name = [](int d) { return cuda::device_info(d).name; };
  std::string s = "context tower on cuda:" + std::to_string(placement_.context_device) + " (" +
                  name(placement_.context_device) + ", " + std::to_string(context_->weight_bytes() >> 20) + " MiB)";
  if (placement_.denoiser)
    s += ", denoiser tower on cuda:" + std::to_string(placement_.denoiser_device) + " (" +
         name(placement_.denoiser_device) + ", " + std::to_string(denoiser_->weight_bytes() >> 20) + " MiB)";
  const bool one = !placement_.denoiser || placement_.denoiser_device == placement_.context_device;
  s.append("\n").append(memory_plan_line(config_, placement_.context_device,
                                         !placement_.denoiser ? "ar" : one ? "context+denoiser" : "context"));
  if (placement_.denoiser && !one)
    s.append("\n").append(memory_plan_line(config_, placement_.denoiser_device, "denoiser"));
  return s;
}

void Backend::extend(std::span<const Extend> items, std::vector<int32_t>& picked) {
  cuda::DeviceScope on(placement_.context_device);
  std::vector<TowerItem> towers;
  std::vector<RowPick> picks;
  int r = 0;
  for (const auto& it : items) {
    towers.push_back(TowerItem{it.tokens, &cache(it.cache), nullptr, nullptr, true});
    r += static_cast<int>(it.tokens.size());
    if (it.pick) picks.push_back({r - 1, it.temperature, it.seed, it.stream});
  }
  context_->tower().forward(towers);
  picked = pick_rows(context_->tower(), picks);
  cuda::check(cudaStreamSynchronize(context_->stream()), "context forward");
}

// The cache a denoiser reads: the context's own on one device; on two, its
// mirror, brought up to date with the rows added since the last block.
const SequenceCache& Backend::seed_for(int handle) {
  SequenceCache& src = cache(handle);
  if (placement_.denoiser_device == placement_.context_device && !placement_.mirror) return src;
  auto& mirror = mirrors_.at(handle);
  // A context cache changes only by growing: a mirror at its length is up to date, so the
  // refinement steps of a block do not copy the whole Mamba state again.
  if (mirror && mirror->length() == src.length()) return *mirror;
  if (!mirror) mirror = std::make_unique<SequenceCache>(config_, src.length());
  mirror->pull_from(src, placement_.context_device, placement_.denoiser_device, denoiser_->stream());
  return *mirror;
}

void Backend::denoise(std::span<const Denoise> items, std::vector<int32_t>& pred, std::vector<float>& conf) {
  if (!denoiser_) throw Error("mode: diffusion needs the denoiser tower, which is not loaded (AR-only placement)");
  cuda::DeviceScope on(placement_.denoiser_device);
  std::vector<BlockJob> jobs(items.size());
  std::vector<CacheView> seeds;
  for (size_t i = 0; i < items.size(); ++i) {
    jobs[i].block = *items[i].block;
    jobs[i].params = *items[i].params;
    seeds.push_back(seed_for(items[i].cache).view());
  }
  denoiser_step(denoiser_->tower(), denoiser_->modulation(), config_, jobs, seeds, pred, conf);
}

}  // namespace tt::gpu
