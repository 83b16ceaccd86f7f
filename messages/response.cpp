// Names and validity of the response enums.
#include "messages/response.hpp"

namespace tt::msg {

std::string to_string(finish_reason r) {
  switch (r) {
    case finish_reason::running: return "running";
    case finish_reason::length: return "length";
    case finish_reason::stop: return "stop";
    case finish_reason::cancelled: return "cancelled";
  }
  return "finish_reason(" + std::to_string(static_cast<int>(r)) + ")";
}

bool is_known(finish_reason r) {
  switch (r) {
    case finish_reason::running:
    case finish_reason::length:
    case finish_reason::stop:
    case finish_reason::cancelled: return true;
  }
  return false;
}

std::string to_string(error_code c) {
  switch (c) {
    case error_code::bad_request: return "bad_request";
    case error_code::deadline: return "deadline";
    case error_code::overloaded: return "overloaded";
    case error_code::internal: return "internal";
    case error_code::peer_down: return "peer_down";
  }
  return "error_code(" + std::to_string(static_cast<int>(c)) + ")";
}

bool is_known(error_code c) {
  switch (c) {
    case error_code::bad_request:
    case error_code::deadline:
    case error_code::overloaded:
    case error_code::internal:
    case error_code::peer_down: return true;
  }
  return false;
}

}  // namespace tt::msg
