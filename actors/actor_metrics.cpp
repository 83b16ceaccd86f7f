// Recording the context and denoiser roles' metrics; see actor_metrics.hpp.
#include "actors/actor_metrics.hpp"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <string>

#include "monitoring/names.hpp"

namespace tt::actors {
namespace {

std::atomic<mon::Metrics*> installed{nullptr};

double seconds_since(metrics_clock::time_point t) {
  return std::chrono::duration<double>(metrics_clock::now() - t).count();
}

}  // namespace

void install_metrics(mon::Metrics* metrics) { installed.store(metrics, std::memory_order_release); }
mon::Metrics* installed_metrics() { return installed.load(std::memory_order_acquire); }

bool context_exports(std::string_view f) {
  return f.starts_with("twotower_context_") || f.starts_with("twotower_engine_") || f.starts_with("twotower_cluster_");
}

bool denoiser_exports(std::string_view f) {
  return f.starts_with("twotower_denoiser_") || f.starts_with("twotower_engine_") ||
         f.starts_with("twotower_cache_handle_") || f.starts_with("twotower_cluster_");
}

uint64_t cache_capacity_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  uint64_t bytes = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
  std::ifstream limit("/sys/fs/cgroup/memory.max");  // cgroup v2; "max" when unlimited
  std::string text;
  if (limit >> text && !text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    const uint64_t cg = std::stoull(text);
    if (cg > 0 && (bytes == 0 || cg < bytes)) bytes = cg;
  }
  return bytes;
}

std::string_view outcome_of(const std::optional<msg::request_error>& error) {
  if (!error) return mon::names::outcome::cancelled;
  switch (error->code) {
    case msg::error_code::deadline: return mon::names::outcome::deadline;
    case msg::error_code::bad_request:
    case msg::error_code::overloaded:
    case msg::error_code::internal:
    case msg::error_code::peer_down: return mon::names::outcome::error;
  }
  return mon::names::outcome::error;
}

std::string_view transport_label(msg::cache_transport transport) {
  switch (transport) {
    case msg::cache_transport::in_process: return mon::names::transport::in_process;
    case msg::cache_transport::shared_memory: return mon::names::transport::shared_memory;
    case msg::cache_transport::inline_bytes: return mon::names::transport::network;
    case msg::cache_transport::cuda_ipc: return mon::names::transport::cuda_ipc;
    case msg::cache_transport::nccl: return mon::names::transport::nccl;
  }
  return mon::names::transport::network;
}

// --- context ---------------------------------------------------------------------

ContextMetrics::ContextMetrics(mon::Metrics* metrics) : m_(metrics) {
  if (m_ == nullptr) return;
  context_batch_ = &m_->forward_batch_size.with({"tower", mon::names::tower::context});
  m_->cache_capacity_bytes.set(static_cast<double>(cache_capacity_bytes()));
}

void ContextMetrics::admitted(uint64_t sequence, size_t prompt_tokens) {
  if (m_ == nullptr) return;
  seqs_[sequence] = Request{metrics_clock::now()};
  m_->context_prompt_tokens.inc(prompt_tokens);
  ++waiting_;
  update_gauges();
}

void ContextMetrics::events(const ContextEvents& ev, const ContextCore& core) {
  if (m_ == nullptr) return;
  for (uint64_t id : ev.started) {
    auto it = seqs_.find(id);
    if (it == seqs_.end() || it->second.started) continue;
    it->second.started = true;
    m_->queue_time.observe(seconds_since(it->second.arrival));
    --waiting_;
    ++running_;
  }
  if (ev.context_batch > 0) context_batch_->observe(ev.context_batch);
  m_->cache_used_bytes.set(static_cast<double>(core.cache_bytes()));
  update_gauges();
}

void ContextMetrics::streamed(uint64_t sequence, size_t tokens, bool final) {
  if (m_ == nullptr) return;
  auto it = seqs_.find(sequence);
  if (it == seqs_.end()) return;
  Request& r = it->second;
  if (tokens > 0) {
    m_->context_generation_tokens.inc(tokens);
    if (!r.streamed) m_->context_time_to_first_token.observe(seconds_since(r.arrival));
    r.streamed = true;
  }
  if (final) end(r, mon::names::outcome::ok);
}

void ContextMetrics::aborted(uint64_t sequence, std::string_view outcome) {
  if (m_ == nullptr) return;
  if (auto it = seqs_.find(sequence); it != seqs_.end()) end(it->second, outcome);
}

void ContextMetrics::end(Request& r, std::string_view outcome) {
  if (r.ended) return;
  r.ended = true;
  m_->context_requests.with({"outcome", outcome}).inc();
  m_->context_request_duration.observe(seconds_since(r.arrival));
}

void ContextMetrics::forgotten(uint64_t sequence, const ContextCore& core) {
  if (m_ == nullptr) return;
  auto it = seqs_.find(sequence);
  if (it == seqs_.end()) return;
  --(it->second.started ? running_ : waiting_);
  seqs_.erase(it);
  for (auto b = blocks_.begin(); b != blocks_.end();) b = b->second.sequence == sequence ? blocks_.erase(b) : ++b;
  m_->cache_used_bytes.set(static_cast<double>(core.cache_bytes()));
  update_gauges();
}

void ContextMetrics::block_sent(uint64_t job, uint64_t sequence) {
  if (m_ == nullptr) return;
  blocks_[job] = Block{sequence, metrics_clock::now()};
}

void ContextMetrics::block_committed(uint64_t job) {
  if (m_ == nullptr) return;
  auto it = blocks_.find(job);
  if (it == blocks_.end()) return;
  m_->block_latency.observe(seconds_since(it->second.sent));
  blocks_.erase(it);
}

void ContextMetrics::peer(std::string_view role, std::string_view event) {
  if (m_ != nullptr) m_->peer_events.with({{"role", role}, {"event", event}}).inc();
}

void ContextMetrics::update_gauges() {
  m_->requests_waiting.set(static_cast<double>(waiting_));
  m_->requests_running.set(static_cast<double>(running_));
}

// --- denoiser --------------------------------------------------------------------

DenoiserMetrics::DenoiserMetrics(mon::Metrics* metrics) : m_(metrics) {
  if (m_ == nullptr) return;
  denoiser_batch_ = &m_->forward_batch_size.with({"tower", mon::names::tower::denoiser});
  for (auto t : {msg::cache_transport::in_process, msg::cache_transport::shared_memory,
                 msg::cache_transport::inline_bytes, msg::cache_transport::cuda_ipc, msg::cache_transport::nccl}) {
    transfer_bytes_[static_cast<size_t>(t)] = &m_->handle_transfer_bytes.with({"transport", transport_label(t)});
    transfer_seconds_[static_cast<size_t>(t)] = &m_->handle_transfer_duration.with({"transport", transport_label(t)});
  }
}

void DenoiserMetrics::handle_applied(const msg::cache_handle& handle, metrics_clock::time_point start) {
  if (m_ == nullptr) return;
  const auto t = static_cast<size_t>(handle.transport);
  if (t >= std::size(transfer_bytes_)) return;  // apply() refuses unknown transports
  // Bytes moved to this denoiser: carried in the message, or over the NCCL channel beside it.
  const uint64_t moved = handle.transport == msg::cache_transport::nccl
                             ? msg::kv_delta_bytes(handle.attention_layers, handle.kv_row_bytes, handle.delta_from_epoch,
                                                   handle.epoch).value_or(0) + handle.mamba_bytes
                             : handle.kv_delta.size() + handle.mamba_state.size();
  transfer_bytes_[t]->inc(moved);
  transfer_seconds_[t]->observe(seconds_since(start));
}

void DenoiserMetrics::stepped(const DenoiserCore& core, const std::vector<JobResult>& done) {
  if (m_ == nullptr) return;
  const std::vector<int>& committed = core.last_committed();
  if (committed.empty()) return;
  denoiser_batch_->observe(static_cast<double>(committed.size()));
  for (int n : committed) m_->tokens_per_forward.observe(n);
  for (const JobResult& r : done) m_->steps_per_block.observe(r.steps);
}

void DenoiserMetrics::peer(std::string_view role, std::string_view event) {
  if (m_ != nullptr) m_->peer_events.with({{"role", role}, {"event", event}}).inc();
}

}  // namespace tt::actors
