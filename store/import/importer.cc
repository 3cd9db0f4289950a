#include "store/import/importer.h"

#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "store/base/build_info.h"
#include "store/base/clock.h"
#include "store/base/coding.h"
#include "store/base/free_space.h"
#include "store/base/log.h"
#include "store/base/names.h"
#include "store/db/keys.h"
#include "store/db/meta.h"
#include "store/hooks/test_hooks.h"
#include "store/import/delta_bases.h"
#include "store/import/import_planner.h"

namespace re2po {
namespace fs = std::filesystem;
namespace {

Result<uint64_t> ChooseVersion(const CatalogSnapshot& catalog, const ImportRequest& request) {
  const ModelEntry* model = catalog.FindModel(request.model);
  if (request.version) {
    if (model && model->Find(*request.version)) {
      return Status::AlreadyExists("version " + request.model + "@" +
                                   std::to_string(*request.version) +
                                   " already exists; versions are immutable (rm it first)");
    }
    return *request.version;
  }
  if (!model || !model->Latest()) return uint64_t{1};
  return model->Latest()->version + 1;
}

// Stores one file unless an identical file is already stored.
class FileStorer {
 public:
  FileStorer(const ImportTarget& target, const ImportRequest& request, uint64_t total)
      : db_(target.db),
        request_(request),
        total_(total),
        writer_(
            target.db, request.codec, std::max(1u, std::thread::hardware_concurrency()),
            [dir = target.dir](uint64_t bytes) { return CheckFreeSpace(dir, bytes); },
            target.read_chunk, request.protect.get()),
        bases_(target.db, target.read_chunk) {}

  Status Store(const FilePlan& plan, TreeEntry& entry) {
    ByteSpan bytes = plan.mapped->bytes();
    // The whole-file digest (the file's name) runs beside the chunk work
    // rather than before it: a new file, the common case, is then stored in
    // the time of the slower of the two. A file that turns out to be stored
    // already wrote nothing, since the store had all its chunks.
    // A protected file is named by its key, as its chunks are, so it is
    // shared only with files protected by the same key.
    const SealingKey* seal = request_.protect.get();
    auto digest = std::async(
        std::launch::async, [bytes, seal] { return seal ? seal->NameOf(bytes) : Sha256Of(bytes); });
    std::unique_ptr<Chunker> chunker =
        plan.format == "generic" ? MakeGenericChunker() : MakeTensorAwareChunker();
    std::vector<PlannedChunk> chunks = chunker->Cut(bytes, plan.segments);
    std::vector<std::optional<ChunkBase>> bases;
    if (request_.delta && plan.format != "generic") {
      bases = bases_.ForFile(bytes, plan.segments, chunks);
    }
    const uint64_t delta_chunks_before = writer_.stats().delta_chunks;
    Result<Recipe> stored =
        writer_.StoreFile(bytes, chunks, bases, [this](uint64_t n) { Advance(n); });
    // A file's base files count once the writer found a delta worth storing.
    std::set<Digest> offered = bases_.TakeOfferedFiles();
    if (writer_.stats().delta_chunks > delta_chunks_before) base_files_.merge(offered);
    entry.digest = digest.get();
    RETURN_IF_ERROR(stored.status());
    ASSIGN_OR_RETURN(bool exists, db_.Contains(Cf::kRecipes, entry.digest.view()));
    if (exists) return Status::Ok();
    Recipe recipe = std::move(stored).value();
    FileInfo info{plan.format, plan.fallback_reason, TensorRecords(plan.segments, chunks, recipe)};
    WriteBatch batch(db_);
    batch.Put(Cf::kRecipes, entry.digest.view(), recipe.Encode());
    batch.Put(Cf::kFileInfo, entry.digest.view(), info.Encode());
    DeltaBases::IndexTensors(bytes, info.tensors, entry.digest, batch);
    return db_.Write(batch, /*durable=*/false);
  }

  const ChunkWriterStats& stats() const { return writer_.stats(); }
  const std::set<Digest>& base_files() const { return base_files_; }

 private:
  void Advance(uint64_t bytes) {
    done_ += bytes;
    if (request_.progress) request_.progress(done_, total_);
    CrashPointBytes(done_);
  }

  Db& db_;
  const ImportRequest& request_;
  uint64_t total_;
  uint64_t done_ = 0;
  ChunkWriter writer_;
  DeltaBases bases_;
  std::set<Digest> base_files_;
};

Status Commit(Db& db, const CatalogSnapshot& catalog, VersionRecord& record,
              const VersionTree& tree) {
  ASSIGN_OR_RETURN(uint64_t next_seq, ReadCounter(db, keys::kNextSeq));
  ASSIGN_OR_RETURN(uint64_t generation, ReadCounter(db, keys::kGeneration));
  WriteBatch batch(db);
  if (!catalog.FindModel(record.model)) {
    std::string model;
    PutVarint(model, next_seq++);
    PutVarint(model, static_cast<uint64_t>(record.created_ns));
    batch.Put(Cf::kCatalog, keys::Model(record.model), model);
  }
  record.seq = next_seq++;
  batch.Put(Cf::kCatalog, keys::Version(record.model, record.version), record.Encode());
  batch.Put(Cf::kCatalog, keys::Tree(record.model, record.version), tree.Encode());
  batch.Put(Cf::kMeta, keys::kNextSeq, Fixed64String(next_seq));
  batch.Put(Cf::kMeta, keys::kGeneration, Fixed64String(generation + 1));
  // Everything the version references must be durable before it is visible.
  RETURN_IF_ERROR(db.FlushAll());
  CrashPoint("before-commit");
  RETURN_IF_ERROR(db.Write(batch, /*durable=*/true));
  CrashPoint("after-commit");
  return db.FlushAll();
}

Result<std::optional<VersionParent>> ResolveParent(const CatalogSnapshot& catalog,
                                                   const ImportRequest& request) {
  if (!request.from_model) return std::optional<VersionParent>();
  const ModelEntry* model = catalog.FindModel(*request.from_model);
  const VersionRecord* parent = nullptr;
  if (model != nullptr) {
    parent = request.from_version ? model->Find(*request.from_version) : model->Latest();
  }
  if (parent == nullptr) {
    return Status::NotFound(
        "--from " + *request.from_model +
        (request.from_version ? "@" + std::to_string(*request.from_version) : std::string()) +
        ": no such version in the store");
  }
  return std::optional<VersionParent>(
      VersionParent{parent->model, parent->version, parent->digest});
}

}  // namespace

Result<ImportSummary> ImportVersion(const ImportTarget& target, const CatalogSnapshot& catalog,
                                    const ImportRequest& request) {
  auto started = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(ValidateModelName(request.model));
  ASSIGN_OR_RETURN(uint64_t version, ChooseVersion(catalog, request));
  ASSIGN_OR_RETURN(std::optional<VersionParent> parent, ResolveParent(catalog, request));
  ASSIGN_OR_RETURN(SourceTree source, ScanSource(request.source));
  RETURN_IF_ERROR(CheckFreeSpace(target.dir, 0));
  ASSIGN_OR_RETURN(std::vector<FilePlan> plans, PlanFiles(source, request.format_aware));

  ImportSummary summary;
  summary.warnings = source.warnings;
  FileStorer storer(target, request, source.total_bytes);
  for (FilePlan& plan : plans) {
    TreeEntry& entry = source.entries[plan.source->entry];
    Status stored = storer.Store(plan, entry);
    if (!stored.ok()) return stored.WithContext("importing '" + plan.source->relative + "'");
    summary.files_per_format[plan.format]++;
    uint64_t tensors = 0;
    for (const Segment& s : plan.segments) tensors += s.kind == SegmentKind::kTensor;
    summary.files.push_back(
        {plan.source->relative, plan.format, plan.fallback_reason, plan.mapped->size(), tensors});
  }
  VersionTree tree(std::move(source.entries));
  VersionRecord& record = summary.version;
  record.model = request.model;
  record.version = version;
  record.created_ns = NowNs();
  std::error_code error;
  record.source_path = fs::absolute(request.source, error).lexically_normal().string();
  record.labels = request.labels;
  record.logical_bytes = source.total_bytes;
  record.new_bytes = storer.stats().new_stored_bytes;
  record.file_count = source.files.size();
  record.digest = tree.ComputeDigest();
  record.provenance.user = CurrentUserName();
  record.provenance.host = CurrentHostName();
  record.provenance.tool = ToolVersion();
  if (request.protect) {
    record.protection =
        VersionProtection{request.protect->name(), std::string(request.protect->id())};
  }
  record.provenance.parent = std::move(parent);
  const std::set<Digest>& base_files = storer.base_files();
  record.provenance.delta_base_files.assign(base_files.begin(), base_files.end());
  RETURN_IF_ERROR(Commit(target.db, catalog, record, tree));
  summary.new_raw_bytes = storer.stats().new_raw_bytes;
  summary.chunks = storer.stats().chunks;
  summary.new_chunks = storer.stats().new_chunks;
  summary.delta_chunks = storer.stats().delta_chunks;
  summary.delta_raw_bytes = storer.stats().delta_raw_bytes;
  summary.derived_chunks = storer.stats().derived_chunks;
  summary.derived_raw_bytes = storer.stats().derived_raw_bytes;
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Logger("import")->info("{}@{}: {} files, {} bytes, {} new stored bytes", record.model,
                         record.version, record.file_count, record.logical_bytes, record.new_bytes);
  return summary;
}

}  // namespace re2po
