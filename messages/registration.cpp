// The one list of wire types and their portable names.
#include "messages/registration.hpp"

#include <typeindex>

#include <caf/actor_system_config.hpp>

#include "messages/interfaces.hpp"

namespace tt::msg {
namespace {

// Calls f.operator()<T>(name) for every wire type; the only list there is.
template <class F>
void for_each_wire_type(F&& f) {
  f.template operator()<hello>("tt.hello");
  f.template operator()<hello_ack>("tt.hello_ack");
  f.template operator()<generate_request>("tt.generate_request");
  f.template operator()<score_request>("tt.score_request");
  f.template operator()<cancel_request>("tt.cancel_request");
  f.template operator()<token_chunk>("tt.token_chunk");
  f.template operator()<token_chunks>("tt.token_chunks");
  f.template operator()<score_result>("tt.score_result");
  f.template operator()<request_error>("tt.request_error");
  f.template operator()<cache_handle>("tt.cache_handle");
  f.template operator()<denoise_block>("tt.denoise_block");
  f.template operator()<block_committed>("tt.block_committed");
  f.template operator()<release_handle>("tt.release_handle");
  f.template operator()<register_denoiser>("tt.register_denoiser");
  f.template operator()<nccl_join>("tt.nccl_join");
  f.template operator()<load_report>("tt.load_report");
  f.template operator()<transport_stats>("tt.transport_stats");
  f.template operator()<context_stats>("tt.context_stats");
  f.template operator()<client_actor>("tt.client_actor");
  f.template operator()<denoiser_actor>("tt.denoiser_actor");
  f.template operator()<context_actor>("tt.context_actor");
}

}  // namespace

void register_messages(caf::actor_system_config& cfg) {
  for_each_wire_type([&]<class T>(const char* name) { cfg.add_message_type<T>(name); });
}

std::vector<std::string> message_type_names() {
  std::vector<std::string> names;
  for_each_wire_type([&]<class T>(const char* name) { names.emplace_back(name); });
  return names;
}

std::vector<std::string> missing_message_types(const caf::actor_system_config& cfg) {
  std::vector<std::string> missing;
  for_each_wire_type([&]<class T>(const char* name) {
    const auto it = cfg.type_names_by_rtti.find(std::type_index(typeid(T)));
    if (it == cfg.type_names_by_rtti.end() || it->second != name) missing.emplace_back(name);
  });
  return missing;
}

}  // namespace tt::msg
