// The plain chat template of /v1/chat/completions. The model is a base model,
// so the conversation is rendered as text it can continue:
//   System: <content>\n      (for each system message)
//   User: <content>\n
//   Assistant: <content>\n
//   Assistant:
// and generation stops at "\nUser:" unless the request names its own stops.
#pragma once

#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "router/api_error.hpp"

namespace tt::router {

inline constexpr const char* chat_default_stop = "\nUser:";

// `messages` -> the prompt text, or a 400 naming the bad message.
std::variant<std::string, ApiError> render_chat(const nlohmann::json& messages);

}  // namespace tt::router
