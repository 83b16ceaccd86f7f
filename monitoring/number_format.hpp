// How a metric value or bucket bound is written in the text exposition.
#pragma once

#include <string>

namespace tt::mon {

// "+Inf", "-Inf", "NaN"; whole numbers below 2^53 in plain digits ("1",
// "2000000", never "1e+06"); anything else as the shortest text that parses
// back to the same double ("0.005", "1e-05").
std::string format_number(double v);

}  // namespace tt::mon
