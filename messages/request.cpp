// Names and validity of the request enums.
#include "messages/request.hpp"

namespace tt::msg {

std::string to_string(request_mode m) {
  switch (m) {
    case request_mode::diffusion: return "diffusion";
    case request_mode::ar: return "ar";
    case request_mode::mock_ar: return "mock-ar";
  }
  return "request_mode(" + std::to_string(static_cast<int>(m)) + ")";
}

bool is_known(request_mode m) {
  switch (m) {
    case request_mode::diffusion:
    case request_mode::ar:
    case request_mode::mock_ar: return true;
  }
  return false;
}

}  // namespace tt::msg
