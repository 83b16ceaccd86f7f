// Denoiser actor behavior: decode, apply the cache handle, batch, reply.
#include "actors/denoiser_actor.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <set>

#include <caf/all.hpp>

#include "actors/actor_metrics.hpp"
#include "actors/block_wire.hpp"
#include "actors/cache_transport.hpp"
#include "actors/channel_join.hpp"
#include "actors/cluster_config.hpp"
#include "model/denoiser_core.hpp"
#include "monitoring/names.hpp"

namespace tt::actors {
namespace {

struct DenoiserState {
  const Model* model = nullptr;
  std::unique_ptr<DenoiserCore> core;
  std::unique_ptr<ReplicaStore> replicas;
  std::map<uint64_t, caf::typed_response_promise<msg::block_committed>> promises;  // by job id
  std::set<uint64_t> busy;  // sequences with a block in the batch (their replica is read)
  std::set<uint64_t> finished_while_busy;
  bool step_pending = false;
  DenoiserMetrics metrics;
  // nccl_join in progress: our join (on its thread) and the answer the context waits for.
  std::shared_ptr<ChannelJoin> nccl_join;
  caf::typed_response_promise<msg::hello_ack> nccl_answer;
};

using self_ptr = denoiser_impl::stateful_pointer<DenoiserState>;

void kick(self_ptr self) {
  auto& st = self->state;
  if (!st.step_pending && st.core->active() > 0) {
    st.step_pending = true;
    self->send(self, step_atom::value);
  }
}

denoiser_impl::behavior_type denoiser_behavior(self_ptr self, const Model* model) {
  auto& st = self->state;
  st.model = model;
  st.core = std::make_unique<DenoiserCore>(*model);
  const auto& reader = installed_device_cache_reader();
  st.replicas =
      std::make_unique<ReplicaStore>(this_process(), CacheShape::of(model->config), reader ? reader() : nullptr);
  return {
    [=](const msg::hello& h) -> msg::hello_ack { return msg::answer_hello(h); },
    [=](const msg::denoise_block& m) -> caf::result<msg::block_committed> {
      auto& st = self->state;
      const uint64_t seq = m.handle.sequence_id;
      if (st.busy.count(seq)) {
        st.replicas->refuse(m.handle);
        return caf::make_error(caf::sec::invalid_argument,
                               "denoiser: a block of sequence " + std::to_string(seq) + " is already in the batch");
      }
      CacheView view;
      std::string error;
      BlockJob job;
      const auto applying = metrics_clock::now();
      if (!st.replicas->apply(m.handle, view, error) ||
          !from_wire(m, view, st.model->config.mask_token_id, job, error))
        return caf::make_error(caf::sec::invalid_argument, "denoiser: " + error);
      st.metrics.handle_applied(m.handle, applying);
      auto promise = self->make_response_promise<msg::block_committed>();
      st.promises[m.job_id] = promise;
      st.busy.insert(seq);
      st.core->add(std::move(job));
      kick(self);
      return promise;
    },
    [=](msg::load_atom) -> msg::load_report {
      return {static_cast<uint32_t>(self->state.core->active()), 0};
    },
    [=](step_atom) {
      auto& st = self->state;
      st.step_pending = false;
      std::vector<JobResult> done;
      try {
        done = st.core->step();
      } catch (const std::exception& e) {
        // A bug, not bad input: answer every waiting job with the error and start over.
        for (auto& [id, p] : st.promises) p.deliver(caf::make_error(caf::sec::runtime_error, e.what()));
        st.promises.clear();
        st.busy.clear();
        st.core = std::make_unique<DenoiserCore>(*st.model);
        return;
      }
      st.metrics.stepped(*st.core, done);
      for (JobResult& r : done) {
        st.busy.erase(r.sequence_id);
        if (st.finished_while_busy.erase(r.sequence_id)) st.replicas->drop(r.sequence_id);
        auto it = st.promises.find(r.job_id);
        if (it == st.promises.end()) continue;
        it->second.deliver(to_wire(r));
        st.promises.erase(it);
      }
      kick(self);
    },
    [=](const msg::nccl_join& m) -> caf::result<msg::hello_ack> {
      auto& st = self->state;
      const ChannelFactory& factory = installed_channel_factory();
      if (!factory || st.replicas->device() < 0) return msg::hello_ack{false, "this denoiser has no GPU with NCCL"};
      if (st.nccl_join) return msg::hello_ack{false, "an NCCL channel join is already in progress"};
      st.nccl_answer = self->make_response_promise<msg::hello_ack>();
      auto me = caf::actor_cast<denoiser_impl>(self);
      st.nccl_join = ChannelJoin::start(factory, m.channel_id, 1,
                                        [me] { caf::anon_send(me, nccl_joined_atom::value, uint64_t{0}); });
      return st.nccl_answer;
    },
    [=](nccl_joined_atom, uint64_t) {
      auto& st = self->state;
      if (!st.nccl_join) return;
      std::string error;
      auto channel = st.nccl_join->take(error);
      st.nccl_join.reset();
      const bool joined = channel != nullptr;
      if (joined) st.replicas->set_channel(std::move(channel));
      st.nccl_answer.deliver(msg::hello_ack{joined, error});
    },
    [=](const msg::release_handle& r) {
      auto& st = self->state;
      if (st.busy.count(r.sequence_id))
        st.finished_while_busy.insert(r.sequence_id);
      else
        st.replicas->drop(r.sequence_id);
    },
  };
}

// Hello, then register_denoiser. CAF 0.17 can lose a hello while many nodes connect at once
// (see remote_generate.cpp), so an unanswered one is said again every second until `until`.
// Once a hello is answered the context holds a proxy of this actor, so the registration's handle
// arrives.
void greet(self_ptr self, msg::context_actor context, Peer me, caf::timespan timeout,
           std::chrono::steady_clock::time_point until, std::function<void(std::string)> fail) {
  using namespace std::chrono;
  self->request(context, hello_attempt_wait(until), msg::make_hello("denoiser", me.node, me.pid))
    .then(
      [=](const msg::hello_ack& ack) {
        if (!ack.accepted) return fail("the context actor refused us: " + ack.reason);
        auto me_hdl = caf::actor_cast<msg::denoiser_actor>(self);
        self->request(context, timeout, msg::register_denoiser{me.node, me.pid, 0, me.device, me.nccl}, me_hdl)
          .then(
            [=](const msg::hello_ack& reg) {
              if (!reg.accepted) return fail("the context actor refused to register us: " + reg.reason);
              self->state.metrics.peer(mon::names::role::context, mon::names::event::up);
            },
            [=](caf::error& err) { fail("register_denoiser: " + caf::to_string(err)); });
      },
      [=](caf::error& err) {
        if (err == caf::sec::request_timeout && steady_clock::now() < until)
          return greet(self, context, me, timeout, until, fail);
        fail("hello: " + caf::to_string(err));
      });
}

}  // namespace

denoiser_impl spawn_denoiser(caf::actor_system& sys, const Model& model) {
  return sys.spawn(denoiser_behavior, &model);
}

denoiser_impl spawn_registered_denoiser(caf::actor_system& sys, const Model& model, msg::context_actor context,
                                        caf::timespan timeout, std::function<void(std::string)> on_fail) {
  return sys.spawn([=, &model](self_ptr self) -> denoiser_impl::behavior_type {
    auto behavior = denoiser_behavior(self, &model);
    self->monitor(context);
    self->set_down_handler([=](caf::down_msg&) {
      self->state.replicas->abort_channel();  // nothing more comes over it
      self->state.metrics.peer(mon::names::role::context, mon::names::event::down);
      on_fail("the context actor is down");
      self->quit();
    });
    Peer me = this_process();
    me.device = self->state.replicas->device();  // takes cuda_ipc handles: on a GPU
    me.nccl = me.device >= 0 && static_cast<bool>(installed_channel_factory());
    auto fail = [=](std::string why) {
      on_fail(std::move(why));
      self->quit();
    };
    greet(self, context, me, timeout, std::chrono::steady_clock::now() + timeout, fail);
    return behavior;
  });
}

}  // namespace tt::actors
