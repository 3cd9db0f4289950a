// StoreTest: a fresh store in a temporary directory, with helpers to open,
// import, and read files back through the Store. Shared by the store_*_test
// files; not a test file itself.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"
#include "tests/testutil/status_testutil.h"

namespace re2po {

// What every store test uses, named once here.
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::RandomBytes;
using testing::ReadFileBytes;
using testing::Scaled;
using testing::TempDir;
using testing::WriteFileBytes;
using testing::WriteFileText;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(Store::Init(store_dir())); }

  fs::path store_dir() const { return tmp_.path() / "store"; }
  fs::path src(const std::string& relative) const { return tmp_.path() / "src" / relative; }

  Result<std::unique_ptr<Store>> Open(bool writer, std::chrono::seconds lock_timeout = 300s,
                                      std::function<void(const std::string&)> on_wait = {}) {
    StoreOptions options;
    options.dir = store_dir();
    options.writer = writer;
    options.lock_timeout = lock_timeout;
    options.on_lock_wait = std::move(on_wait);
    return Store::Open(options);
  }

  static Result<ImportSummary> Import(Store& store, const std::string& model,
                                      std::optional<uint64_t> version, const fs::path& source) {
    ImportRequest request;
    request.model = model;
    request.version = version;
    request.source = source;
    request.codec.zstd_level = 3;
    return store.Import(request);
  }

  // Reads a whole file of a version through ReadFile, `piece` bytes a call.
  static Result<std::vector<uint8_t>> ReadVersionFile(Store& store, std::string_view model,
                                                      uint64_t version, std::string_view path,
                                                      size_t piece = 100003) {
    const VersionRecord* record = store.Catalog()->FindVersion(model, version);
    if (record == nullptr) return Status::NotFound("no such version in the catalog");
    ASSIGN_OR_RETURN(auto tree, store.Tree(*record));
    std::optional<uint32_t> index = tree->Find(path);
    if (!index) return Status::NotFound("no such path in the tree");
    const TreeEntry& entry = tree->entry(*index);
    ASSIGN_OR_RETURN(auto recipe, store.FileRecipe(entry.digest));
    if (recipe->size() != entry.size) return Status::Corruption("recipe size != entry size");
    std::vector<uint8_t> out(entry.size);
    for (uint64_t done = 0; done < out.size();) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(piece, out.size() - done));
      ASSIGN_OR_RETURN(size_t got,
                       store.ReadFile(*recipe, done, std::span(out).subspan(done, want)));
      if (got == 0) return Status::Corruption("ReadFile returned 0 before EOF");
      done += got;
    }
    std::vector<uint8_t> past(16);
    ASSIGN_OR_RETURN(size_t past_eof, store.ReadFile(*recipe, entry.size, past));
    if (past_eof != 0) return Status::Corruption("ReadFile read past EOF");
    return out;
  }

  static Result<std::shared_ptr<const Recipe>> RecipeOf(Store& store, std::string_view model,
                                                        uint64_t version, std::string_view path) {
    const VersionRecord* record = store.Catalog()->FindVersion(model, version);
    if (record == nullptr) return Status::NotFound("no such version in the catalog");
    ASSIGN_OR_RETURN(auto tree, store.Tree(*record));
    std::optional<uint32_t> index = tree->Find(path);
    if (!index) return Status::NotFound("no such path in the tree");
    return store.FileRecipe(tree->entry(*index).digest);
  }

  // Every file below `dir`: relative path -> (size, mtime), to prove nothing changed.
  static std::map<std::string, std::pair<uint64_t, int64_t>> Listing(const fs::path& dir) {
    std::map<std::string, std::pair<uint64_t, int64_t>> listing;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      auto rel = fs::relative(entry.path(), dir).string();
      uint64_t size = entry.is_regular_file() ? entry.file_size() : 0;
      listing[rel] = {size, entry.last_write_time().time_since_epoch().count()};
    }
    return listing;
  }

  TempDir tmp_;
};

}  // namespace re2po
