// libFuzzer target: the restricted unpickler and the .pdparams reader (parse_pdparams).
#include <cstddef>
#include <cstdint>

#include "ernie/checkpoint.h"
#include "ernie/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ernie::ReadLimits limits;
  limits.max_tensor_bytes = 64u << 20;   // keep single runs small; the limits themselves are tested
  try {
    ernie::parse_pdparams(data, size, "fuzz", limits);
  } catch (const ernie::Error&) {
  }
  return 0;
}
