// Every metric the runtime exports, in one file: names, help, label names,
// label values and default buckets. Names are {prefix}_{component}_{name}_{unit}
// in base units (seconds, bytes); "_total" only on counters. Add a metric here
// (and to `all` below and to Metrics) before recording it anywhere.
#pragma once

#include <string_view>

#include "monitoring/metric_spec.hpp"

namespace tt::mon::names {

inline constexpr std::string_view prefix = "twotower";

// --- label names -------------------------------------------------------------
inline constexpr std::string_view outcome_label[] = {"outcome"};
inline constexpr std::string_view reason_label[] = {"reason"};
inline constexpr std::string_view tower_label[] = {"tower"};
inline constexpr std::string_view transport_label[] = {"transport"};
inline constexpr std::string_view role_event_labels[] = {"role", "event"};

// --- label values (every series is created at start-up, so rates start at 0) --
namespace outcome {  // how a request ended
inline constexpr std::string_view ok = "ok";                // EOS, stop sequence or max tokens
inline constexpr std::string_view cancelled = "cancelled";  // the client went away or cancelled
inline constexpr std::string_view deadline = "deadline";    // the request's deadline passed
inline constexpr std::string_view error = "error";          // failed after admission
inline constexpr std::string_view all[] = {ok, cancelled, deadline, error};
}  // namespace outcome

namespace reason {  // why admission turned a request away
inline constexpr std::string_view invalid_request = "invalid_request";
inline constexpr std::string_view prompt_too_long = "prompt_too_long";
inline constexpr std::string_view queue_full = "queue_full";
inline constexpr std::string_view no_backend = "no_backend";  // no context actor is up
inline constexpr std::string_view shutting_down = "shutting_down";
inline constexpr std::string_view all[] = {invalid_request, prompt_too_long, queue_full, no_backend, shutting_down};
}  // namespace reason

namespace tower {
inline constexpr std::string_view context = "context";
inline constexpr std::string_view denoiser = "denoiser";
inline constexpr std::string_view all[] = {context, denoiser};
}  // namespace tower

namespace transport {  // how a cache handle's bytes reach a denoiser (ARCHITECTURE.md)
inline constexpr std::string_view in_process = "in_process";
inline constexpr std::string_view shared_memory = "shared_memory";
inline constexpr std::string_view network = "network";
inline constexpr std::string_view cuda_ipc = "cuda_ipc";
inline constexpr std::string_view nccl = "nccl";
inline constexpr std::string_view all[] = {in_process, shared_memory, network, cuda_ipc, nccl};
}  // namespace transport

namespace role {
inline constexpr std::string_view router = "router";
inline constexpr std::string_view context = "context";
inline constexpr std::string_view denoiser = "denoiser";
inline constexpr std::string_view all[] = {router, context, denoiser};
}  // namespace role

namespace event {
inline constexpr std::string_view up = "up";
inline constexpr std::string_view down = "down";
inline constexpr std::string_view all[] = {up, down};
}  // namespace event

// --- default buckets (upper bounds; +Inf is implicit) -------------------------
inline constexpr double ttft_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5,
                                          0.75,  1,    1.5,   2,    3,     5,   7.5,  10,  20,  60};
inline constexpr double inter_token_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05,
                                                 0.075,  0.1,   0.15,   0.2,   0.3,  0.5,  1,    2.5};
inline constexpr double request_buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600};
inline constexpr double queue_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                           0.5,   1,      2.5,   5,    10,    30,   60};
inline constexpr double block_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075,
                                           0.1,   0.15,   0.25,  0.5,  1,    2.5,   5};
inline constexpr double steps_buckets[] = {1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, 64};
inline constexpr double tokens_per_forward_buckets[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
inline constexpr double batch_buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
inline constexpr double transfer_buckets[] = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                              0.005,   0.01,     0.025,   0.05,   0.1,     0.25,   0.5,   1};

using enum MetricType;

// --- router: the front door ---------------------------------------------------
inline constexpr MetricSpec requests{counter, "twotower_router_requests_total",
                                     "Requests that finished after admission, by outcome.", outcome_label};
inline constexpr MetricSpec rejections{counter, "twotower_router_rejections_total",
                                       "Requests turned away by admission control, by reason.", reason_label};
inline constexpr MetricSpec time_to_first_token{
    histogram, "twotower_router_time_to_first_token_seconds",
    "Seconds from a request's arrival to its first token being sent to the client.", {}, ttft_buckets};
inline constexpr MetricSpec inter_token_latency{
    histogram, "twotower_router_inter_token_latency_seconds",
    "Seconds between consecutive chunks sent to a client, divided by the tokens in the later chunk.", {},
    inter_token_buckets};
inline constexpr MetricSpec request_duration{
    histogram, "twotower_router_request_duration_seconds",
    "Seconds from a request's arrival to its last token (end-to-end latency).", {}, request_buckets};
inline constexpr MetricSpec prompt_tokens{counter, "twotower_router_prompt_tokens_total",
                                          "Prompt tokens of admitted requests."};
inline constexpr MetricSpec generation_tokens{counter, "twotower_router_generation_tokens_total",
                                              "Generated tokens sent to clients."};
inline constexpr MetricSpec migrations{
    counter, "twotower_router_migrations_total",
    "Sequences re-submitted to another context actor after theirs went down."};

// --- context: the home of each sequence ----------------------------------------
inline constexpr MetricSpec queue_time{
    histogram, "twotower_context_queue_time_seconds",
    "Seconds a request waited in a context actor's queue before its prefill started.", {}, queue_buckets};
inline constexpr MetricSpec requests_running{gauge, "twotower_context_requests_running",
                                             "Requests with a sequence being prefilled or decoded."};
inline constexpr MetricSpec requests_waiting{gauge, "twotower_context_requests_waiting",
                                             "Requests queued for a context actor, not yet started."};
inline constexpr MetricSpec cache_used{gauge, "twotower_context_cache_used_bytes",
                                       "Bytes of K/V pages and Mamba state slots in use."};
inline constexpr MetricSpec cache_capacity{gauge, "twotower_context_cache_capacity_bytes",
                                           "Bytes of K/V pages and Mamba state slots available in total."};
inline constexpr MetricSpec block_latency{
    histogram, "twotower_context_block_latency_seconds",
    "Seconds from sending a block to a denoiser until it came back committed.", {}, block_buckets};

// --- denoiser: block refinement --------------------------------------------------
inline constexpr MetricSpec steps_per_block{histogram, "twotower_denoiser_steps_per_block",
                                            "Denoiser steps (forwards) a block took until it was committed.",
                                            {}, steps_buckets};
inline constexpr MetricSpec tokens_per_forward{
    histogram, "twotower_denoiser_committed_tokens_per_forward",
    "Tokens of one block committed by one denoiser forward.", {}, tokens_per_forward_buckets};

// --- engine: both towers -----------------------------------------------------------
inline constexpr MetricSpec forward_batch_size{histogram, "twotower_engine_forward_batch_size",
                                               "Sequences (context) or blocks (denoiser) in one batched forward.",
                                               tower_label, batch_buckets};

// --- cache handles: moving a snapshot to a denoiser --------------------------------
inline constexpr MetricSpec handle_transfer_bytes{
    counter, "twotower_cache_handle_transfer_bytes_total",
    "Bytes of cache handles (K/V delta and Mamba state) moved to a lessee, by transport.", transport_label};
inline constexpr MetricSpec handle_transfer_duration{
    histogram, "twotower_cache_handle_transfer_seconds",
    "Seconds to move one cache handle's bytes to a lessee, by transport.", transport_label, transfer_buckets};

// --- cluster: peers -------------------------------------------------------------
inline constexpr MetricSpec peer_events{counter, "twotower_cluster_peer_events_total",
                                        "Peers seen coming up or going down, by role and event.",
                                        role_event_labels};

// --- context: requests as the context actor serves them -------------------------
// Every request passes a context actor, whether a router sent it or a client
// connected directly (`twotower generate --connect`), so these count each
// request once per cluster; the router's series above add the HTTP side.
inline constexpr MetricSpec context_requests{counter, "twotower_context_requests_total",
                                             "Requests a context actor finished after admission, by outcome.",
                                             outcome_label};
inline constexpr MetricSpec context_time_to_first_token{
    histogram, "twotower_context_time_to_first_token_seconds",
    "Seconds from a request's arrival at the context actor to its first tokens being streamed.", {}, ttft_buckets};
inline constexpr MetricSpec context_request_duration{
    histogram, "twotower_context_request_duration_seconds",
    "Seconds from a request's arrival at the context actor to its last tokens being streamed.", {},
    request_buckets};
inline constexpr MetricSpec context_prompt_tokens{counter, "twotower_context_prompt_tokens_total",
                                                  "Prompt tokens of requests a context actor admitted."};
inline constexpr MetricSpec context_generation_tokens{counter, "twotower_context_generation_tokens_total",
                                                      "Generated tokens a context actor streamed to its clients."};
// --- router: admission and per-request decoding (appended) ----------------------
inline constexpr MetricSpec router_requests_running{gauge, "twotower_router_requests_running",
                                                    "Requests this router has sent to a context actor, not finished."};
inline constexpr MetricSpec router_requests_waiting{gauge, "twotower_router_requests_waiting",
                                                    "Requests admitted by this router and queued for a context actor."};
inline constexpr MetricSpec router_queue_time{
    histogram, "twotower_router_queue_time_seconds",
    "Seconds a request waited in the router's queue before it was sent to a context actor.", {}, queue_buckets};
inline constexpr MetricSpec router_overhead{
    histogram, "twotower_router_overhead_seconds",
    "Seconds a finished request spent in the router itself: from its HTTP request being read to its "
    "submission to a context actor (less any wait in the router's queue), plus from its last tokens "
    "arriving from the context actor to their last byte being written to the client.",
    {}, transfer_buckets};
inline constexpr MetricSpec router_tokens_per_forward{
    histogram, "twotower_router_tokens_per_denoiser_forward",
    "Generated tokens per denoiser forward of one finished diffusion request.", {}, tokens_per_forward_buckets};

// Every spec above, for registering and checking them all.
inline constexpr const MetricSpec* all[] = {
    &requests,          &rejections,         &time_to_first_token, &inter_token_latency,   &request_duration,
    &prompt_tokens,     &generation_tokens,  &migrations,          &queue_time,            &requests_running,
    &requests_waiting,  &cache_used,         &cache_capacity,      &block_latency,         &steps_per_block,
    &tokens_per_forward, &forward_batch_size, &handle_transfer_bytes, &handle_transfer_duration, &peer_events,
    &context_requests,  &context_time_to_first_token, &context_request_duration, &context_prompt_tokens,
    &context_generation_tokens,
    &router_requests_running, &router_requests_waiting, &router_queue_time, &router_tokens_per_forward,
    &router_overhead,
};

}  // namespace tt::mon::names
