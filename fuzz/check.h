// A property a fuzz target checks on every input: when it fails, say which one and abort, so that
// libFuzzer stops and keeps the input.
#pragma once
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(ok)                                                     \
  do {                                                                     \
    if (!(ok)) {                                                           \
      std::fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #ok); \
      std::abort();                                                        \
    }                                                                      \
  } while (0)
