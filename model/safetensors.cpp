// safetensors container: u64 little-endian header length, JSON header,
// then the data blob; offsets are relative to the blob.
#include "model/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kernels/cpu/gemm.hpp"
#include "model/error.hpp"

namespace tt {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr uint64_t kMaxHeader = 100ull << 20;  // 100 MB, as the reference implementation

bool parse_dtype(const std::string& s, DType& d) {
  static const std::pair<const char*, DType> table[] = {
      {"F32", DType::f32}, {"F16", DType::f16},   {"BF16", DType::bf16}, {"F64", DType::f64},
      {"I64", DType::i64}, {"I32", DType::i32},   {"I16", DType::i16},   {"I8", DType::i8},
      {"U8", DType::u8},   {"BOOL", DType::boolean}};
  for (auto& [name, dt] : table) {
    if (s == name) {
      d = dt;
      return true;
    }
  }
  return false;
}

float half_to_f32(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | ((127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

const char* dtype_name(DType d) {
  switch (d) {
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::f64: return "F64";
    case DType::i64: return "I64";
    case DType::i32: return "I32";
    case DType::i16: return "I16";
    case DType::i8: return "I8";
    case DType::u8: return "U8";
    case DType::boolean: return "BOOL";
  }
  return "?";
}

size_t dtype_size(DType d) {
  switch (d) {
    case DType::f64:
    case DType::i64: return 8;
    case DType::f32:
    case DType::i32: return 4;
    case DType::f16:
    case DType::bf16:
    case DType::i16: return 2;
    case DType::i8:
    case DType::u8:
    case DType::boolean: return 1;
  }
  return 1;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorView::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open safetensors file (" + std::strerror(errno) + ")");
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw Error(path + ": cannot stat safetensors file");
  }
  map_size_ = static_cast<size_t>(st.st_size);
  if (map_size_ < 8) {
    ::close(fd);
    throw Error(path + ": truncated safetensors file (" + std::to_string(map_size_) +
                " bytes, no header)");
  }
  map_ = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw Error(path + ": cannot mmap safetensors file");
  }
  try {
    const auto* base = static_cast<const uint8_t*>(map_);
    uint64_t header_len = 0;
    std::memcpy(&header_len, base, 8);  // little-endian host assumed (x86-64, aarch64)
    if (header_len > kMaxHeader || header_len > map_size_ - 8)
      throw Error(path + ": corrupt safetensors header length " + std::to_string(header_len) +
                  " (file has " + std::to_string(map_size_) + " bytes)");
    json header;
    try {
      header = json::parse(reinterpret_cast<const char*>(base + 8),
                           reinterpret_cast<const char*>(base + 8 + header_len));
    } catch (const json::exception& e) {
      throw Error(path + ": corrupt safetensors header (malformed JSON: " + e.what() + ")");
    }
    if (!header.is_object()) throw Error(path + ": corrupt safetensors header (not an object)");
    const uint8_t* blob = base + 8 + header_len;
    const size_t blob_size = map_size_ - 8 - header_len;
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        if (entry.is_object()) {
          for (const auto& [k, v] : entry.items())
            if (v.is_string()) metadata_[k] = v.get<std::string>();
        }
        continue;
      }
      auto bad = [&](const std::string& why) {
        return Error(path + ": tensor '" + name + "': " + why);
      };
      if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
          !entry.contains("data_offsets"))
        throw bad("header entry needs dtype, shape and data_offsets");
      TensorView t;
      t.name = name;
      t.file = path;
      if (!entry["dtype"].is_string() || !parse_dtype(entry["dtype"].get<std::string>(), t.dtype))
        throw bad("unsupported dtype " + entry["dtype"].dump());
      if (!entry["shape"].is_array()) throw bad("shape must be an array");
      for (const auto& d : entry["shape"]) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0) throw bad("bad shape " + entry["shape"].dump());
        t.shape.push_back(d.get<int64_t>());
      }
      const auto& off = entry["data_offsets"];
      if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
          !off[1].is_number_unsigned())
        throw bad("data_offsets must be two non-negative integers");
      uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
      if (begin > end || end > blob_size)
        throw bad("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                  ") lie outside the data (" + std::to_string(blob_size) +
                  " bytes): file truncated or corrupt");
      t.nbytes = end - begin;
      uint64_t expect = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype);
      if (t.nbytes != expect)
        throw bad("holds " + std::to_string(t.nbytes) + " bytes but dtype " + dtype_name(t.dtype) +
                  " and shape " + t.shape_string() + " need " + std::to_string(expect));
      t.data = blob + begin;
      tensors_.emplace(name, std::move(t));
    }
    // Like the reference implementation: tensors tile the data exactly, in
    // offset order, with no overlap, gap or trailing bytes.
    std::vector<const TensorView*> order;
    for (const auto& [name, t] : tensors_) order.push_back(&t);
    std::sort(order.begin(), order.end(), [&](const TensorView* a, const TensorView* b) {
      return a->data != b->data ? a->data < b->data : a->nbytes < b->nbytes;
    });
    const uint8_t* expect = blob;
    for (const TensorView* t : order) {
      if (t->data != expect)
        throw Error(path + ": tensor '" + t->name + "': data_offsets start at " + std::to_string(t->data - blob) +
                    " but the previous tensor ends at " + std::to_string(expect - blob) +
                    " (tensors overlap or leave a gap): corrupt file");
      expect = t->data + t->nbytes;
    }
    if (expect != blob + blob_size)
      throw Error(path + ": " + std::to_string(blob + blob_size - expect) +
                  " bytes after the last tensor's data: corrupt file");
  } catch (...) {
    ::munmap(map_, map_size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

Checkpoint Checkpoint::open(const std::string& path) {
  Checkpoint c;
  c.path_ = path;
  std::vector<std::string> shard_paths;
  std::map<std::string, std::string> weight_map;
  if (fs::is_directory(path)) {
    fs::path dir(path);
    fs::path index = dir / "model.safetensors.index.json";
    fs::path single = dir / "model.safetensors";
    if (fs::exists(index)) {
      json j;
      try {
        j = json::parse(read_text(index.string()));
      } catch (const json::exception& e) {
        throw Error(index.string() + ": malformed JSON (" + e.what() + ")");
      }
      if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
        throw Error(index.string() + ": field 'weight_map' is missing or not an object");
      std::map<std::string, bool> seen;
      for (const auto& [name, shard] : j["weight_map"].items()) {
        if (!shard.is_string()) throw Error(index.string() + ": weight_map['" + name + "'] is not a file name");
        std::string s = shard.get<std::string>();
        if (s.find('/') != std::string::npos || s.find("..") != std::string::npos)
          throw Error(index.string() + ": weight_map['" + name + "'] names a file outside the directory");
        weight_map[name] = s;
        if (!seen[s]) {
          seen[s] = true;
          shard_paths.push_back((dir / s).string());
        }
      }
    } else if (fs::exists(single)) {
      shard_paths.push_back(single.string());
    } else {
      throw Error(path + ": no model.safetensors or model.safetensors.index.json");
    }
  } else if (fs::exists(path)) {
    shard_paths.push_back(path);
  } else {
    throw Error(path + ": no such checkpoint file or directory");
  }

  std::map<std::string, const SafetensorsFile*> by_name;
  for (const auto& p : shard_paths) {
    auto f = std::make_shared<SafetensorsFile>(p);
    by_name[fs::path(p).filename().string()] = f.get();
    for (const auto& [name, view] : f->tensors()) {
      if (c.index_.count(name)) throw Error(p + ": tensor '" + name + "' appears in two shards");
      c.index_[name] = &view;
    }
    c.files_.push_back(std::move(f));
  }
  for (const auto& [name, shard] : weight_map) {
    auto it = c.index_.find(name);
    if (it == c.index_.end())
      throw Error(path + ": index says tensor '" + name + "' is in " + shard + " but it is not there");
    if (fs::path(it->second->file).filename().string() != shard)
      throw Error(path + ": index says tensor '" + name + "' is in " + shard + " but it is in " +
                  it->second->file);
  }
  return c;
}

const TensorView& Checkpoint::get(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error(path_ + ": missing tensor '" + name + "'");
  return *it->second;
}

const TensorView& Checkpoint::get(const std::string& name, const std::vector<int64_t>& shape) const {
  const TensorView& t = get(name);
  if (t.shape != shape) {
    TensorView want;
    want.shape = shape;
    throw Error(t.file + ": tensor '" + name + "' has shape " + t.shape_string() + ", expected " +
                want.shape_string());
  }
  return t;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (const auto& [name, _] : index_) out.push_back(name);
  return out;
}

bool widen_to_f32(DType dtype, const uint8_t* data, int64_t n, float* out) {
  switch (dtype) {
    case DType::f32: std::memcpy(out, data, n * 4); return true;
    case DType::bf16: {
      const auto* p = reinterpret_cast<const uint16_t*>(data);
      for (int64_t i = 0; i < n; ++i) out[i] = cpu::bf16_to_f32(p[i]);
      return true;
    }
    case DType::f16: {
      const auto* p = reinterpret_cast<const uint16_t*>(data);
      for (int64_t i = 0; i < n; ++i) out[i] = half_to_f32(p[i]);
      return true;
    }
    case DType::f64: {
      for (int64_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, data + i * 8, 8);
        out[i] = static_cast<float>(v);
      }
      return true;
    }
    case DType::i64:
    case DType::i32:
    case DType::i16:
    case DType::i8:
    case DType::u8:
    case DType::boolean: break;
  }
  return false;
}

void convert_to_f32(const TensorView& t, float* out) {
  if (widen_to_f32(t.dtype, t.data, t.numel(), out)) return;
  throw Error(t.file + ": tensor '" + t.name + "' has dtype " + dtype_name(t.dtype) +
              ", expected a floating type (F32, F16, BF16)");
}

std::vector<float> Checkpoint::read_f32(const std::string& name) const {
  const TensorView& t = get(name);
  std::vector<float> out(static_cast<size_t>(t.numel()));
  convert_to_f32(t, out.data());
  return out;
}

}  // namespace tt
