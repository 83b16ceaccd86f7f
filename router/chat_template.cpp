// Renders an OpenAI messages array with the plain template of chat_template.hpp.
#include "router/chat_template.hpp"

namespace tt::router {
namespace {

// "content" as a string or as an array of {"type":"text","text":...} parts.
std::variant<std::string, ApiError> content_of(const nlohmann::json& m, const std::string& where) {
  const auto it = m.find("content");
  if (it == m.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) return bad_request(where + ".content: must be a string or an array of text parts", "messages");
  std::string text;
  for (const auto& part : *it) {
    if (!part.is_object() || part.value("type", nlohmann::json()) != "text" || !part.contains("text") ||
        !part["text"].is_string())
      return bad_request(where + ".content: only parts {\"type\":\"text\",\"text\":...} are supported", "messages");
    text += part["text"].get<std::string>();
  }
  return text;
}

}  // namespace

std::variant<std::string, ApiError> render_chat(const nlohmann::json& messages) {
  if (!messages.is_array()) return bad_request("messages: must be an array", "messages");
  if (messages.empty()) return bad_request("messages: at least one message is needed", "messages");
  std::string prompt;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return bad_request(where + ": must be an object", "messages");
    const auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return bad_request(where + ".role: must be a string", "messages");
    const std::string r = role->get<std::string>();
    std::string label;
    if (r == "system" || r == "developer") label = "System";
    else if (r == "user") label = "User";
    else if (r == "assistant") label = "Assistant";
    else return bad_request(where + ".role: '" + r + "' is not system, developer, user or assistant", "messages");
    auto content = content_of(m, where);
    if (auto* e = std::get_if<ApiError>(&content)) return *e;
    prompt += label + ": " + std::get<std::string>(content) + "\n";
  }
  return prompt + "Assistant:";
}

}  // namespace tt::router
