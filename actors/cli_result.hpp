// The JSON object that describes one generation, shared by `generate --json`
// and `batch` so both print the same fields.
#pragma once

#include <nlohmann/json.hpp>

#include "model/engine_types.hpp"
#include "model/model.hpp"

namespace tt::cli {

nlohmann::json result_json(const Model& model, const GenerateRequest& request, const GenerateResult& result);

}  // namespace tt::cli
