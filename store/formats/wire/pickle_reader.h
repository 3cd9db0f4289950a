// A bounded reader for the pickles that torch.save writes (protocol 2, plus
// the few protocol 3/4 opcodes that are trivial to follow). It executes the
// opcodes on a value graph without importing anything: GLOBALs stay names,
// REDUCE/NEWOBJ stay unevaluated calls and persistent ids stay tuples. That
// is enough to learn each storage's type and the state-dict key that uses
// it, and to find where a pickle ends inside a longer stream (legacy
// torch.save writes several pickles back to back).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/base/byte_span.h"
#include "store/base/status.h"

namespace re2po {

struct PickleValue {
  enum class Kind : uint8_t {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,  // str, bytes; a LONG that does not fit int64 keeps its raw bytes here
    kGlobal,  // text = "module.name"
    kTuple,
    kList,
    kDict,    // entries = key, value, key, value...
    kPersId,  // items = {pid}
    kCall,    // REDUCE / NEWOBJ: items = {callable, args}; entries from SETITEMS
    kSet,
  };
  Kind kind = Kind::kNone;
  int64_t integer = 0;
  std::string text;
  std::vector<uint32_t> items;
  std::vector<uint32_t> entries;
};

struct PickleLimits {
  uint64_t max_steps = uint64_t{1} << 26;   // opcodes executed
  uint64_t max_values = uint64_t{1} << 21;  // values created (bounds memory)
};

struct Pickle {
  std::vector<PickleValue> values;  // the value graph; indices refer into it
  uint32_t root = 0;                // the value left on the stack by STOP
  uint64_t end = 0;                 // offset just past the STOP opcode

  const PickleValue& at(uint32_t index) const { return values[index]; }
};

// Runs the pickle that starts at `start` up to its STOP. Fails on unknown
// opcodes, stack underflow, lengths past the end and exceeded limits.
Result<Pickle> ReadPickle(ByteSpan bytes, uint64_t start, const PickleLimits& limits = {});

}  // namespace re2po
