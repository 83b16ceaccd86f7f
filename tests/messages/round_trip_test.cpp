// Every wire type survives CAF 0.17's binary serializer field by field, alone
// and inside a type-erased caf::message; registration is complete; and the
// byte-buffer path is measured against a numeric vector.
#include <gtest/gtest.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <typeindex>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/message.hpp>

#include "messages/interfaces.hpp"
#include "messages/registration.hpp"
#include "tests/messages/samples.hpp"

namespace {

using namespace tt::msg;
using tt::msg::test::for_each_sample;

struct registered_config : caf::actor_system_config {
  registered_config() { register_messages(*this); }
};

// One actor system for all tests, torn down before main returns (a static
// actor_system outlives CAF's own statics and crashes at exit).
class caf_environment : public ::testing::Environment {
public:
  void SetUp() override { system = std::make_unique<caf::actor_system>(config); }
  void TearDown() override { system.reset(); }
  static inline registered_config config;
  static inline std::unique_ptr<caf::actor_system> system;
};
const auto* const environment = ::testing::AddGlobalTestEnvironment(new caf_environment);

caf::actor_system& sys() { return *caf_environment::system; }

std::vector<char> serialize(auto& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys(), buf};
  const auto err = sink(x);
  EXPECT_FALSE(err) << sys().render(err);
  return buf;
}

// Each top-level field of x, serialized on its own (the type_name annotation
// is skipped), so a mismatch names the field.
struct field_splitter {
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;
  std::vector<std::vector<char>> fields;

  template <class... Ts>
  void operator()(Ts&&... xs) {
    (add(xs), ...);
  }
  template <class T>
  void add(T& x) {
    if constexpr (!caf::meta::is_annotation<std::remove_const_t<T>>::value)
      fields.push_back(serialize(x));
  }
};

template <class T>
std::vector<std::vector<char>> fields_of(T x) {
  field_splitter f;
  inspect(f, x);
  return f.fields;
}

template <class T>
T deserialize(const std::vector<char>& buf) {
  T y;
  caf::binary_deserializer source{sys(), buf};
  const auto err = source(y);
  EXPECT_FALSE(err) << sys().render(err);
  EXPECT_EQ(source.remaining(), 0u) << "trailing bytes";
  return y;
}

TEST(RoundTrip, EveryFieldOfEveryTypeSurvives) {
  int types = 0;
  for_each_sample([&]<class T>(T x, const char* name) {
    SCOPED_TRACE(name);
    ++types;
    const auto sample = fields_of(x);
    const auto defaults = fields_of(T{});
    ASSERT_EQ(sample.size(), defaults.size());
    for (size_t i = 0; i < sample.size(); ++i)
      EXPECT_NE(sample[i], defaults[i]) << "the sample leaves field " << i << " at its default";

    const T y = deserialize<T>(serialize(x));
    const auto back = fields_of(y);
    ASSERT_EQ(back.size(), sample.size());
    for (size_t i = 0; i < sample.size(); ++i) EXPECT_EQ(back[i], sample[i]) << "field " << i;
    EXPECT_TRUE(y == x) << caf::deep_to_string(y);
  });
  EXPECT_EQ(types, 18);
}

TEST(RoundTrip, TypeErasedMessage) {
  for_each_sample([&]<class T>(T x, const char* name) {
    SCOPED_TRACE(name);
    auto msg = caf::make_message(x, uint64_t{5});
    const auto out = deserialize<caf::message>(serialize(msg));
    ASSERT_TRUE((out.template match_elements<T, uint64_t>())) << caf::to_string(out);
    EXPECT_TRUE(out.template get_as<T>(0) == x);
    EXPECT_EQ(out.template get_as<uint64_t>(1), 5u);
  });
}

template <class T>
void expect_registered_as(const caf::actor_system_config& cfg, const std::string& name) {
  const auto it = cfg.type_names_by_rtti.find(std::type_index(typeid(T)));
  ASSERT_NE(it, cfg.type_names_by_rtti.end()) << name << " is not registered";
  EXPECT_EQ(it->second, name);
}

TEST(Registration, EveryTypeUnderItsName) {
  const auto& cfg = sys().config();
  for_each_sample([&]<class T>(const T&, const char* name) { expect_registered_as<T>(cfg, name); });
  expect_registered_as<client_actor>(cfg, "tt.client_actor");
  expect_registered_as<denoiser_actor>(cfg, "tt.denoiser_actor");
  expect_registered_as<context_actor>(cfg, "tt.context_actor");
  expect_registered_as<std::vector<token_chunk>>(cfg, "std::vector<tt.token_chunk>");
  EXPECT_TRUE(missing_message_types(cfg).empty());
  EXPECT_EQ(message_type_names().size(), 21u);
}

TEST(Registration, MissingRegistrationIsDetected) {
  caf::actor_system_config bare;
  EXPECT_EQ(missing_message_types(bare), message_type_names());
  bare.add_message_type<hello>("tt.hello_v0");  // registered under another name
  const auto missing = missing_message_types(bare);
  EXPECT_EQ(missing.size(), message_type_names().size());
  EXPECT_EQ(missing.front(), "tt.hello");
}

struct never_registered {
  int32_t x = 0;
  friend bool operator==(const never_registered&, const never_registered&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, never_registered& v) {
  return f(v.x);
}

// CAF 0.17 reports a missing registration only on stderr and sends a message
// the peer cannot use; this pins that behaviour down (the reason
// missing_message_types exists and the tests above check every type).
TEST(Registration, UnregisteredTypeIsLostSilentlyByCaf) {
  auto msg = caf::make_message(never_registered{3});
  std::vector<char> buf;
  caf::binary_serializer sink{sys(), buf};
  EXPECT_FALSE(sink(msg)) << "CAF now reports unregistered types: simplify this test";
  caf::message out;
  caf::binary_deserializer source{sys(), buf};
  const auto err = source(out);
  EXPECT_TRUE(err || !out.match_elements<never_registered>()) << caf::to_string(out);
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct rate {
  double wall_mib_s = 0;
  double cpu_mib_s = 0;  // the figure to compare on a busy machine
};

template <class T>
rate round_trips_per_second(T& payload, size_t payload_bytes, int reps) {
  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = thread_cpu_seconds();
  for (int i = 0; i < reps; ++i) {
    const T back = deserialize<T>(serialize(payload));
    if (back.size() != payload.size()) ADD_FAILURE() << "size changed";
  }
  const double cpu = thread_cpu_seconds() - cpu_start;
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - wall_start;
  const double mib = reps * (payload_bytes / double(1 << 20));
  return {mib / wall.count(), mib / cpu};
}

// Printed, not asserted: a figure for the design notes, not a pass/fail.
TEST(Throughput, BytesVersusFloatVector) {
  std::vector<uint8_t> raw(1 << 20, 0x3c);
  std::vector<float> floats(256 * 1024, 0.5f);
  const rate r = round_trips_per_second(raw, raw.size(), 200);
  const rate f = round_trips_per_second(floats, floats.size() * sizeof(float), 20);
  std::printf("serialize+deserialize 1 MiB, MiB/s (wall | thread CPU):\n"
              "  std::vector<uint8_t> (1 Mi)   %7.0f | %7.0f\n"
              "  std::vector<float>   (256 Ki) %7.0f | %7.0f\n"
              "  bytes are %.1fx faster (CPU)\n",
              r.wall_mib_s, r.cpu_mib_s, f.wall_mib_s, f.cpu_mib_s, r.cpu_mib_s / f.cpu_mib_s);
}

}  // namespace
