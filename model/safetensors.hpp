// Read-only safetensors checkpoints: one file or HF shards through
// model.safetensors.index.json, memory-mapped, with every header checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tt {

enum class DType : uint8_t { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean };

const char* dtype_name(DType d);
size_t dtype_size(DType d);

struct TensorView {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // inside the mapping; valid while the Checkpoint lives
  size_t nbytes = 0;
  std::string file;  // which file holds it (for messages)

  int64_t numel() const;
  std::string shape_string() const;  // "[2, 3]"
};

// One memory-mapped .safetensors file.
class SafetensorsFile {
public:
  explicit SafetensorsFile(const std::string& path);  // throws tt::Error naming the file
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

private:
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A whole checkpoint directory (model.safetensors or sharded with an index),
// or a single .safetensors file path.
class Checkpoint {
public:
  static Checkpoint open(const std::string& path);

  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Throws tt::Error "<dir>: missing tensor '<name>'".
  const TensorView& get(const std::string& name) const;
  std::vector<std::string> names() const;
  size_t size() const { return index_.size(); }
  const std::string& path() const { return path_; }

  // Copy of a floating tensor widened to fp32 (F32, F16, BF16, F64).
  std::vector<float> read_f32(const std::string& name) const;
  // Checks the shape, naming the tensor and file in the error.
  const TensorView& get(const std::string& name, const std::vector<int64_t>& shape) const;

private:
  std::string path_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView*> index_;
};

// Widen a floating tensor to fp32; throws tt::Error naming it for other dtypes.
void convert_to_f32(const TensorView& t, float* out);
// Widen n elements of a floating dtype to fp32; false for non-floating dtypes.
bool widen_to_f32(DType dtype, const uint8_t* data, int64_t n, float* out);

}  // namespace tt
