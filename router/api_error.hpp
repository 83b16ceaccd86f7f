// An OpenAI-style error: the HTTP status and the body
// {"error":{"message","type","param","code"}} every failed request gets.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace tt::router {

struct ApiError {
  int status = 400;
  std::string message;                        // one line a person can act on
  std::string type = "invalid_request_error";  // OpenAI's error type
  std::string param;                          // the offending field, empty when none
  std::string code;                           // a short machine-readable code, empty when none

  nlohmann::json to_json() const;
};

ApiError bad_request(std::string message, std::string param = {}, std::string code = {});
ApiError not_found(std::string message, std::string code = "not_found");

}  // namespace tt::router
