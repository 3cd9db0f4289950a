#include "store/formats/wire/pickle_reader.h"

#include <bit>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "store/formats/wire/le_reader.h"

namespace re2po {
namespace {

using Kind = PickleValue::Kind;

class Machine {
 public:
  Machine(ByteSpan bytes, uint64_t start, const PickleLimits& limits)
      : reader_(bytes, start), limits_(limits) {}

  Result<Pickle> Run() {
    for (uint64_t step = 0; step < limits_.max_steps; ++step) {
      const uint64_t at = reader_.position();
      uint8_t op = 0;
      if (!reader_.Read(op)) return Fail("pickle runs past end of input", at);
      if (op == '.') return Finish(at);
      Status status = Step(op);
      if (!status.ok()) return status.WithContext("pickle opcode at offset " + std::to_string(at));
    }
    return Status::Corruption("pickle: more than " + std::to_string(limits_.max_steps) +
                              " opcodes");
  }

 private:
  static Status Fail(std::string_view what, uint64_t at) {
    return Status::Corruption(std::string(what) + " (offset " + std::to_string(at) + ")");
  }

  Result<Pickle> Finish(uint64_t at) {
    if (stack_.size() != 1 || !marks_.empty()) return Fail("pickle: STOP with a bad stack", at);
    pickle_.root = stack_.back();
    pickle_.end = reader_.position();
    return std::move(pickle_);
  }

  Result<uint32_t> New(Kind kind) {
    if (pickle_.values.size() >= limits_.max_values) {
      return Status::Corruption("pickle: more than " + std::to_string(limits_.max_values) +
                                " values");
    }
    pickle_.values.push_back(PickleValue{kind, 0, {}, {}, {}});
    return static_cast<uint32_t>(pickle_.values.size() - 1);
  }

  Status Push(Kind kind, int64_t integer = 0, std::string text = {}) {
    ASSIGN_OR_RETURN(const uint32_t index, New(kind));
    pickle_.values[index].integer = integer;
    pickle_.values[index].text = std::move(text);
    stack_.push_back(index);
    return Status::Ok();
  }

  Result<uint32_t> Pop() {
    if (stack_.size() <= StackFloor()) return Status::Corruption("stack underflow");
    const uint32_t top = stack_.back();
    stack_.pop_back();
    return top;
  }

  size_t StackFloor() const { return marks_.empty() ? 0 : marks_.back(); }

  // Pops everything above the last MARK.
  Result<std::vector<uint32_t>> PopMark() {
    if (marks_.empty()) return Status::Corruption("no MARK on the stack");
    std::vector<uint32_t> items(stack_.begin() + static_cast<ptrdiff_t>(marks_.back()),
                                stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }

  Result<PickleValue*> Top() {
    if (stack_.size() <= StackFloor()) return Status::Corruption("stack underflow");
    return &pickle_.values[stack_.back()];
  }

  template <typename T>
  Result<T> Arg() {
    T value{};
    if (!reader_.Read(value)) return Status::Corruption("opcode argument past end of input");
    return value;
  }

  Status PushText(Kind kind, uint64_t length) {
    std::string_view text;
    if (!reader_.ReadString(length, text)) return Status::Corruption("string past end of input");
    return Push(kind, 0, std::string(text));
  }

  Result<std::string> Line() {
    std::string line;
    char c = 0;
    while (reader_.Read(c) && c != '\n') {
      if (line.size() >= 4096) return Status::Corruption("GLOBAL name too long");
      line += c;
    }
    if (c != '\n') return Status::Corruption("GLOBAL name past end of input");
    return line;
  }

  Status PushLong(uint64_t length) {
    std::string_view raw;
    if (!reader_.ReadString(length, raw)) return Status::Corruption("LONG past end of input");
    if (length > 8) return Push(Kind::kString, 0, std::string(raw));
    uint64_t value = 0;
    std::memcpy(&value, raw.data(), raw.size());
    if (length > 0 && length < 8 && (raw.back() & 0x80) != 0) value |= ~uint64_t{0} << (8 * length);
    return Push(Kind::kInt, std::bit_cast<int64_t>(value));
  }

  Status Collection(Kind kind, std::vector<uint32_t> items, bool as_entries) {
    if (as_entries && items.size() % 2 != 0) return Status::Corruption("odd dict items");
    ASSIGN_OR_RETURN(const uint32_t index, New(kind));
    (as_entries ? pickle_.values[index].entries : pickle_.values[index].items) = std::move(items);
    stack_.push_back(index);
    return Status::Ok();
  }

  Status TupleOf(size_t count) {
    if (stack_.size() < StackFloor() + count) return Status::Corruption("stack underflow");
    std::vector<uint32_t> items(stack_.end() - static_cast<ptrdiff_t>(count), stack_.end());
    stack_.resize(stack_.size() - count);
    return Collection(Kind::kTuple, std::move(items), false);
  }

  Status Call(uint32_t callable, uint32_t args) {
    return Collection(Kind::kCall, {callable, args}, false);
  }

  // SETITEM(S) on a dict or on an object built by REDUCE (OrderedDict).
  Status AddEntries(std::vector<uint32_t> pairs) {
    if (pairs.size() % 2 != 0) return Status::Corruption("odd SETITEMS");
    ASSIGN_OR_RETURN(PickleValue * target, Top());
    target->entries.insert(target->entries.end(), pairs.begin(), pairs.end());
    return Status::Ok();
  }

  Status AddItems(std::vector<uint32_t> items) {
    ASSIGN_OR_RETURN(PickleValue * target, Top());
    target->items.insert(target->items.end(), items.begin(), items.end());
    return Status::Ok();
  }

  Status Memo(uint32_t key) {
    if (stack_.empty()) return Status::Corruption("PUT on an empty stack");
    if (memo_.size() >= limits_.max_values) return Status::Corruption("memo too large");
    memo_[key] = stack_.back();
    return Status::Ok();
  }

  Status Get(uint32_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) return Status::Corruption("GET of an unset memo slot");
    stack_.push_back(it->second);
    return Status::Ok();
  }

  Status Step(uint8_t op);
  Status StepStructure(uint8_t op);

  LeReader reader_;
  PickleLimits limits_;
  Pickle pickle_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, uint32_t> memo_;
};

Status Machine::Step(uint8_t op) {
  switch (op) {
    case 0x80:
      return Arg<uint8_t>().status();
    case 0x95:
      return Arg<uint64_t>().status();
    case 'N':
      return Push(Kind::kNone);
    case 0x88:
      return Push(Kind::kBool, 1);
    case 0x89:
      return Push(Kind::kBool, 0);
    case 'K': {
      ASSIGN_OR_RETURN(uint8_t v, Arg<uint8_t>());
      return Push(Kind::kInt, v);
    }
    case 'M': {
      ASSIGN_OR_RETURN(uint16_t v, Arg<uint16_t>());
      return Push(Kind::kInt, v);
    }
    case 'J': {
      ASSIGN_OR_RETURN(int32_t v, Arg<int32_t>());
      return Push(Kind::kInt, v);
    }
    case 0x8a: {
      ASSIGN_OR_RETURN(uint8_t n, Arg<uint8_t>());
      return PushLong(n);
    }
    case 0x8b: {
      ASSIGN_OR_RETURN(uint32_t n, Arg<uint32_t>());
      return PushLong(n);
    }
    case 'G': {
      ASSIGN_OR_RETURN(uint64_t v, Arg<uint64_t>());
      (void)v;
      return Push(Kind::kFloat);
    }
    case 'X':
    case 'T':
    case 'B': {
      ASSIGN_OR_RETURN(uint32_t n, Arg<uint32_t>());
      return PushText(Kind::kString, n);
    }
    case 0x8c:
    case 'U':
    case 'C': {
      ASSIGN_OR_RETURN(uint8_t n, Arg<uint8_t>());
      return PushText(Kind::kString, n);
    }
    case 0x8d:
    case 0x8e: {
      ASSIGN_OR_RETURN(uint64_t n, Arg<uint64_t>());
      return PushText(Kind::kString, n);
    }
    case 'c': {
      ASSIGN_OR_RETURN(std::string module, Line());
      ASSIGN_OR_RETURN(std::string name, Line());
      return Push(Kind::kGlobal, 0, module + "." + name);
    }
    case 0x93: {
      ASSIGN_OR_RETURN(uint32_t name, Pop());
      ASSIGN_OR_RETURN(uint32_t module, Pop());
      return Push(Kind::kGlobal, 0, pickle_.values[module].text + "." + pickle_.values[name].text);
    }
    case 'q': {
      ASSIGN_OR_RETURN(uint8_t k, Arg<uint8_t>());
      return Memo(k);
    }
    case 'r': {
      ASSIGN_OR_RETURN(uint32_t k, Arg<uint32_t>());
      return Memo(k);
    }
    case 0x94:
      return Memo(static_cast<uint32_t>(memo_.size()));
    case 'h': {
      ASSIGN_OR_RETURN(uint8_t k, Arg<uint8_t>());
      return Get(k);
    }
    case 'j': {
      ASSIGN_OR_RETURN(uint32_t k, Arg<uint32_t>());
      return Get(k);
    }
    default:
      return StepStructure(op);
  }
}

Status Machine::StepStructure(uint8_t op) {
  switch (op) {
    case '(':
      marks_.push_back(stack_.size());
      return Status::Ok();
    case ')':
      return Collection(Kind::kTuple, {}, false);
    case 0x85:
      return TupleOf(1);
    case 0x86:
      return TupleOf(2);
    case 0x87:
      return TupleOf(3);
    case 't': {
      ASSIGN_OR_RETURN(auto items, PopMark());
      return Collection(Kind::kTuple, std::move(items), false);
    }
    case ']':
      return Collection(Kind::kList, {}, false);
    case 'l': {
      ASSIGN_OR_RETURN(auto items, PopMark());
      return Collection(Kind::kList, std::move(items), false);
    }
    case '}':
      return Collection(Kind::kDict, {}, true);
    case 'd': {
      ASSIGN_OR_RETURN(auto items, PopMark());
      return Collection(Kind::kDict, std::move(items), true);
    }
    case 0x8f:
      return Collection(Kind::kSet, {}, false);
    case 0x91: {
      ASSIGN_OR_RETURN(auto items, PopMark());
      return Collection(Kind::kSet, std::move(items), false);
    }
    case 'a': {
      ASSIGN_OR_RETURN(uint32_t v, Pop());
      return AddItems({v});
    }
    case 'e':
    case 0x90: {
      ASSIGN_OR_RETURN(auto items, PopMark());
      return AddItems(std::move(items));
    }
    case 's': {
      ASSIGN_OR_RETURN(uint32_t value, Pop());
      ASSIGN_OR_RETURN(uint32_t key, Pop());
      return AddEntries({key, value});
    }
    case 'u': {
      ASSIGN_OR_RETURN(auto items, PopMark());
      return AddEntries(std::move(items));
    }
    case 'Q': {
      ASSIGN_OR_RETURN(uint32_t pid, Pop());
      return Collection(Kind::kPersId, {pid}, false);
    }
    case 'R':
    case 0x81: {
      ASSIGN_OR_RETURN(uint32_t args, Pop());
      ASSIGN_OR_RETURN(uint32_t callable, Pop());
      return Call(callable, args);
    }
    case 0x92: {
      ASSIGN_OR_RETURN(uint32_t kwargs, Pop());
      (void)kwargs;
      ASSIGN_OR_RETURN(uint32_t args, Pop());
      ASSIGN_OR_RETURN(uint32_t callable, Pop());
      return Call(callable, args);
    }
    case 'b': {
      ASSIGN_OR_RETURN(uint32_t state, Pop());
      (void)state;
      return Top().status();
    }
    case '0':
      return Pop().status();
    case '1':
      return PopMark().status();
    case '2': {
      ASSIGN_OR_RETURN(PickleValue * top, Top());
      (void)top;
      stack_.push_back(stack_.back());
      return Status::Ok();
    }
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      return Status::Corruption(std::string("unsupported pickle opcode 0x") + kHex[op >> 4] +
                                kHex[op & 15]);
    }
  }
}

}  // namespace

Result<Pickle> ReadPickle(ByteSpan bytes, uint64_t start, const PickleLimits& limits) {
  if (start > bytes.size()) return Status::Corruption("pickle starts past end of input");
  return Machine(bytes, start, limits).Run();
}

}  // namespace re2po
