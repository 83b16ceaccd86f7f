// Test helper: writes small safetensors files (and raw variants of them) so
// loader tests can build valid and deliberately broken checkpoints.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <unistd.h>

namespace tt::test {

struct RawTensor {
  std::string dtype;  // "F32", "BF16", "F16", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

inline RawTensor f32_tensor(std::vector<int64_t> shape, const std::vector<float>& values) {
  RawTensor t{"F32", std::move(shape), std::vector<uint8_t>(values.size() * 4)};
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

inline RawTensor bf16_tensor(std::vector<int64_t> shape, const std::vector<float>& values) {
  RawTensor t{"BF16", std::move(shape), std::vector<uint8_t>(values.size() * 2)};
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, &values[i], 4);
    uint16_t h = static_cast<uint16_t>(u >> 16);  // exact for values with <= 8 mantissa bits
    std::memcpy(&t.bytes[i * 2], &h, 2);
  }
  return t;
}

// Serialises tensors; `header_override` replaces the JSON header when non-empty.
inline std::string safetensors_bytes(const std::map<std::string, RawTensor>& tensors,
                                     const std::string& header_override = "") {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::string blob;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {blob.size(), blob.size() + t.bytes.size()}}};
    blob.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
  }
  std::string h = header_override.empty() ? header.dump() : header_override;
  while (h.size() % 8) h += ' ';
  uint64_t n = h.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + h + blob;
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A fresh empty directory under the system temp dir.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("twotower-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace tt::test
