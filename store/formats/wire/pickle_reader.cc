#include "store/formats/wire/pickle_reader.h"

#include <bit>
#include <cstring>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "store/formats/wire/le_reader.h"
#include "store/formats/wire/pickle_opcodes.h"

namespace re2po {
namespace {

using Kind = PickleValue::Kind;
namespace op = pickle_op;

class Machine {
 public:
  Machine(ByteSpan bytes, uint64_t start, const PickleLimits& limits)
      : reader_(bytes, start), limits_(limits) {}

  Result<Pickle> Run() {
    for (uint64_t step = 0; step < limits_.max_steps; ++step) {
      const uint64_t at = reader_.position();
      uint8_t code = 0;
      if (!reader_.Read(code)) return Fail("pickle runs past end of input", at);
      if (code == op::kStop) return Finish(at);
      Status status = Step(code);
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

  template <typename T>
  Status PushInt() {
    ASSIGN_OR_RETURN(T value, Arg<T>());
    return Push(Kind::kInt, value);
  }

  template <typename Length>
  Status PushLongOf() {
    ASSIGN_OR_RETURN(Length length, Arg<Length>());
    return PushLong(length);
  }

  template <typename Length>
  Status PushTextOf() {
    ASSIGN_OR_RETURN(Length length, Arg<Length>());
    return PushText(Kind::kString, length);
  }

  // A float's value is never needed, only its place on the stack.
  Status PushFloat() {
    RETURN_IF_ERROR(Arg<uint64_t>().status());
    return Push(Kind::kFloat);
  }

  Status PushGlobalLines() {
    ASSIGN_OR_RETURN(std::string module, Line());
    ASSIGN_OR_RETURN(std::string name, Line());
    return Push(Kind::kGlobal, 0, module + "." + name);
  }

  Status PushStackGlobal() {
    ASSIGN_OR_RETURN(uint32_t name, Pop());
    ASSIGN_OR_RETURN(uint32_t module, Pop());
    return Push(Kind::kGlobal, 0, pickle_.values[module].text + "." + pickle_.values[name].text);
  }

  template <typename Key>
  Status MemoAt() {
    ASSIGN_OR_RETURN(Key key, Arg<Key>());
    return Memo(key);
  }

  template <typename Key>
  Status GetAt() {
    ASSIGN_OR_RETURN(Key key, Arg<Key>());
    return Get(key);
  }

  Status CollectionFromMark(Kind kind, bool as_entries) {
    ASSIGN_OR_RETURN(auto items, PopMark());
    return Collection(kind, std::move(items), as_entries);
  }

  Status AppendOne() {
    ASSIGN_OR_RETURN(uint32_t value, Pop());
    return AddItems({value});
  }

  Status AppendFromMark() {
    ASSIGN_OR_RETURN(auto items, PopMark());
    return AddItems(std::move(items));
  }

  Status SetOneItem() {
    ASSIGN_OR_RETURN(uint32_t value, Pop());
    ASSIGN_OR_RETURN(uint32_t key, Pop());
    return AddEntries({key, value});
  }

  Status SetItemsFromMark() {
    ASSIGN_OR_RETURN(auto items, PopMark());
    return AddEntries(std::move(items));
  }

  Status PersistentId() {
    ASSIGN_OR_RETURN(uint32_t pid, Pop());
    return Collection(Kind::kPersId, {pid}, false);
  }

  // REDUCE and NEWOBJ pop (callable, args); NEWOBJ_EX also kwargs, unused.
  Status CallWith(bool has_kwargs) {
    if (has_kwargs) RETURN_IF_ERROR(Pop().status());
    ASSIGN_OR_RETURN(uint32_t args, Pop());
    ASSIGN_OR_RETURN(uint32_t callable, Pop());
    return Call(callable, args);
  }

  Status Build() {
    RETURN_IF_ERROR(Pop().status());
    return Top().status();
  }

  Status Dup() {
    RETURN_IF_ERROR(Top().status());
    stack_.push_back(stack_.back());
    return Status::Ok();
  }

  // One opcode, by family; each returns nullopt for opcodes not its own.
  Status Step(uint8_t code);
  std::optional<Status> StepScalar(uint8_t code);
  std::optional<Status> StepText(uint8_t code);
  std::optional<Status> StepMemo(uint8_t code);
  std::optional<Status> StepCollection(uint8_t code);
  std::optional<Status> StepStack(uint8_t code);

  LeReader reader_;
  PickleLimits limits_;
  Pickle pickle_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, uint32_t> memo_;
};

Status Machine::Step(uint8_t code) {
  if (std::optional<Status> done = StepScalar(code)) return *std::move(done);
  if (std::optional<Status> done = StepText(code)) return *std::move(done);
  if (std::optional<Status> done = StepMemo(code)) return *std::move(done);
  if (std::optional<Status> done = StepCollection(code)) return *std::move(done);
  if (std::optional<Status> done = StepStack(code)) return *std::move(done);
  static constexpr char kHex[] = "0123456789abcdef";
  return Status::Corruption(std::string("unsupported pickle opcode 0x") + kHex[code >> 4] +
                            kHex[code & 15]);
}

std::optional<Status> Machine::StepScalar(uint8_t code) {
  switch (code) {
    case op::kProto:
      return Arg<uint8_t>().status();
    case op::kFrame:
      return Arg<uint64_t>().status();
    case op::kNone:
      return Push(Kind::kNone);
    case op::kNewTrue:
      return Push(Kind::kBool, 1);
    case op::kNewFalse:
      return Push(Kind::kBool, 0);
    case op::kBinInt1:
      return PushInt<uint8_t>();
    case op::kBinInt2:
      return PushInt<uint16_t>();
    case op::kBinInt:
      return PushInt<int32_t>();
    case op::kLong1:
      return PushLongOf<uint8_t>();
    case op::kLong4:
      return PushLongOf<uint32_t>();
    case op::kBinFloat:
      return PushFloat();
    default:
      return std::nullopt;
  }
}

std::optional<Status> Machine::StepText(uint8_t code) {
  switch (code) {
    case op::kBinUnicode:
    case op::kBinString:
    case op::kBinBytes:
      return PushTextOf<uint32_t>();
    case op::kShortBinUnicode:
    case op::kShortBinString:
    case op::kShortBinBytes:
      return PushTextOf<uint8_t>();
    case op::kBinUnicode8:
    case op::kBinBytes8:
      return PushTextOf<uint64_t>();
    case op::kGlobal:
      return PushGlobalLines();
    case op::kStackGlobal:
      return PushStackGlobal();
    default:
      return std::nullopt;
  }
}

std::optional<Status> Machine::StepMemo(uint8_t code) {
  switch (code) {
    case op::kBinPut:
      return MemoAt<uint8_t>();
    case op::kLongBinPut:
      return MemoAt<uint32_t>();
    case op::kMemoize:
      return Memo(static_cast<uint32_t>(memo_.size()));
    case op::kBinGet:
      return GetAt<uint8_t>();
    case op::kLongBinGet:
      return GetAt<uint32_t>();
    default:
      return std::nullopt;
  }
}

std::optional<Status> Machine::StepCollection(uint8_t code) {
  switch (code) {
    case op::kEmptyTuple:
      return Collection(Kind::kTuple, {}, false);
    case op::kTuple1:
      return TupleOf(1);
    case op::kTuple2:
      return TupleOf(2);
    case op::kTuple3:
      return TupleOf(3);
    case op::kTuple:
      return CollectionFromMark(Kind::kTuple, false);
    case op::kEmptyList:
      return Collection(Kind::kList, {}, false);
    case op::kList:
      return CollectionFromMark(Kind::kList, false);
    case op::kEmptyDict:
      return Collection(Kind::kDict, {}, true);
    case op::kDict:
      return CollectionFromMark(Kind::kDict, true);
    case op::kEmptySet:
      return Collection(Kind::kSet, {}, false);
    case op::kFrozenSet:
      return CollectionFromMark(Kind::kSet, false);
    case op::kAppend:
      return AppendOne();
    case op::kAppends:
    case op::kAddItems:
      return AppendFromMark();
    case op::kSetItem:
      return SetOneItem();
    case op::kSetItems:
      return SetItemsFromMark();
    default:
      return std::nullopt;
  }
}

std::optional<Status> Machine::StepStack(uint8_t code) {
  switch (code) {
    case op::kMark:
      marks_.push_back(stack_.size());
      return Status::Ok();
    case op::kBinPersId:
      return PersistentId();
    case op::kReduce:
    case op::kNewObj:
      return CallWith(/*has_kwargs=*/false);
    case op::kNewObjEx:
      return CallWith(/*has_kwargs=*/true);
    case op::kBuild:  // the state is dropped: only the object's place matters
      return Build();
    case op::kPop:
      return Pop().status();
    case op::kPopMark:
      return PopMark().status();
    case op::kDup:
      return Dup();
    default:
      return std::nullopt;
  }
}

}  // namespace

Result<Pickle> ReadPickle(ByteSpan bytes, uint64_t start, const PickleLimits& limits) {
  if (start > bytes.size()) return Status::Corruption("pickle starts past end of input");
  return Machine(bytes, start, limits).Run();
}

}  // namespace re2po
