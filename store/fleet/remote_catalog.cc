#include "store/fleet/remote_catalog.h"

#include <cstring>

#include "store/base/coding.h"
#include "store/fleet/remote_keys.h"

namespace re2po {
namespace {

constexpr uint8_t kStateFormat = 1;

Status DecodeAccessEntries(Decoder& decoder, std::map<std::string, AccessEntry>& access) {
  uint64_t count = 0;
  RETURN_IF_ERROR(decoder.GetCount(3, count));
  for (uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(AccessEntry entry, AccessEntry::DecodeFrom(decoder));
    access[entry.model] = std::move(entry);
  }
  return Status::Ok();
}

}  // namespace

std::string RemoteCatalogState::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(kStateFormat));
  PutVarint(out, head_generation);
  PutLengthPrefixed(out, head_etag);
  PutVarint(out, entries.size());
  for (const auto& [key, entry] : entries) {
    PutLengthPrefixed(out, entry.model);
    PutVarint(out, entry.version);
    out.append(entry.object.view());
    PutVarint(out, entry.object_size);
    PutLengthPrefixed(out, entry.origin);
  }
  PutVarint(out, records.size());
  for (const std::string& record : records) PutLengthPrefixed(out, record);
  PutLengthPrefixed(out, verified_by);
  PutVarint(out, access.size());
  for (const auto& [model, entry] : access) entry.EncodeTo(out);
  return out;
}

Result<RemoteCatalogState> RemoteCatalogState::Decode(std::string_view bytes) {
  Decoder decoder(bytes, "remote catalog state");
  uint8_t format = 0;
  RETURN_IF_ERROR(decoder.GetByte(format));
  if (format != kStateFormat) return Status::Unsupported("remote catalog state format");
  RemoteCatalogState state;
  uint64_t count = 0;
  RETURN_IF_ERROR(decoder.GetVarint(state.head_generation));
  RETURN_IF_ERROR(decoder.GetString(state.head_etag));
  RETURN_IF_ERROR(decoder.GetVarint(count));
  for (uint64_t i = 0; i < count; ++i) {
    CatalogEntry entry;
    RETURN_IF_ERROR(decoder.GetString(entry.model));
    RETURN_IF_ERROR(decoder.GetVarint(entry.version));
    RETURN_IF_ERROR(decoder.GetDigest(entry.object));
    RETURN_IF_ERROR(decoder.GetVarint(entry.object_size));
    RETURN_IF_ERROR(decoder.GetString(entry.origin));
    state.entries.emplace(std::make_pair(entry.model, entry.version), std::move(entry));
  }
  RETURN_IF_ERROR(decoder.GetVarint(count));
  for (uint64_t i = 0; i < count; ++i) {
    std::string record;
    RETURN_IF_ERROR(decoder.GetString(record));
    state.records.insert(std::move(record));
  }
  // Absent in states written before keys were remembered: unverified.
  if (!decoder.done()) RETURN_IF_ERROR(decoder.GetString(state.verified_by));
  // Absent in states written before access was carried: none known.
  if (!decoder.done()) RETURN_IF_ERROR(DecodeAccessEntries(decoder, state.access));
  return state;
}

RemoteCatalogReader::RemoteCatalogReader(ObjectStore& remote, const PublicKey* trust,
                                         CatalogWarning warn)
    : remote_(remote), trust_(trust), warn_(std::move(warn)) {}

void RemoteCatalogReader::WarnOnce(const std::string& key, const std::string& message) {
  if (refused_.insert(key + "\n" + message).second && warn_) warn_(message);
}

bool RemoteCatalogReader::AddEntry(RemoteCatalogState& state, const CatalogEntry& entry) {
  auto [it, added] = state.entries.try_emplace({entry.model, entry.version}, entry);
  if (!added && it->second.object != entry.object) {
    WarnOnce(entry.origin, entry.model + "@" + std::to_string(entry.version) + " in " +
                               entry.origin + " differs from the one already shown (from " +
                               it->second.origin + "); keeping the first");
  }
  return added;
}

bool RemoteCatalogReader::ApplyAccess(RemoteCatalogState& state, const AccessEntry& entry) {
  auto [it, added] = state.access.try_emplace(entry.model, entry);
  if (added) return true;
  if (!entry.NewerThan(it->second)) return false;
  const bool changed = it->second.access != entry.access;
  it->second = entry;
  return changed;
}

Result<bool> RemoteCatalogReader::ApplyHead(RemoteCatalogState& state) {
  Result<std::optional<FetchedObject>> fetched =
      remote_.GetIfChanged(remote_keys::kHead, state.head_etag);
  if (!fetched.ok() && fetched.status().IsNotFound()) return false;  // nothing pushed yet
  if (!fetched.ok()) return fetched.status().WithContext("reading the catalog head");
  if (!fetched->has_value()) return false;  // unchanged
  refused_head_.clear();
  const std::string etag = (*fetched)->etag;
  Result<OpenedCatalogObject> opened =
      OpenCatalogObject(SignedKind::kHead, (*fetched)->bytes, trust_);
  if (!opened.ok()) {
    refused_head_ = opened.status().message();
    WarnOnce("head:" + etag, "refused the catalog head: " + refused_head_);
    return false;
  }
  ASSIGN_OR_RETURN(CatalogHead head, CatalogHead::Decode(opened->body));
  if (head.generation < state.head_generation) {
    refused_head_ = "generation " + std::to_string(head.generation) + " is older than " +
                    std::to_string(state.head_generation) + ", already seen (a rollback)";
    WarnOnce("head:" + etag, "refused the catalog head: " + refused_head_);
    return false;
  }
  bool changed = false;
  for (const CatalogEntry& entry : head.entries) changed |= AddEntry(state, entry);
  for (const AccessEntry& entry : head.access) changed |= ApplyAccess(state, entry);
  state.records.insert(head.records.begin(), head.records.end());
  state.head_generation = head.generation;
  state.head_etag = etag;
  return changed;
}

Result<bool> RemoteCatalogReader::ApplyNewRecords(RemoteCatalogState& state) {
  ASSIGN_OR_RETURN(std::vector<ListedObject> listed, remote_.List(remote_keys::kLogPrefix));
  bool changed = false;
  for (const ListedObject& object : listed) {  // sorted: older records first
    if (!remote_keys::IsLogRecord(object.key) || state.records.contains(object.key) ||
        skipped_records_.contains(object.key)) {
      continue;
    }
    ASSIGN_OR_RETURN(std::string bytes, remote_.Get(object.key));
    Result<OpenedCatalogObject> opened = OpenCatalogObject(SignedKind::kLogRecord, bytes, trust_);
    Result<LogRecord> record =
        opened.ok() ? LogRecord::Decode(opened->body) : Result<LogRecord>(opened.status());
    if (!record.ok()) {
      WarnOnce(object.key, "refused " + object.key + ": " + record.status().message());
      skipped_records_.insert(object.key);
      continue;
    }
    for (CatalogEntry entry : record->added) {
      entry.origin = object.key;
      changed |= AddEntry(state, entry);
    }
    for (AccessEntry entry : record->access) {
      entry.set_ms = record->time_ms;
      entry.origin = object.key;
      changed |= ApplyAccess(state, entry);
    }
    state.records.insert(object.key);
  }
  return changed;
}

Result<bool> RemoteCatalogReader::Update(RemoteCatalogState& state) {
  ASSIGN_OR_RETURN(bool from_head, ApplyHead(state));
  ASSIGN_OR_RETURN(bool from_records, ApplyNewRecords(state));
  return from_head || from_records;
}

}  // namespace re2po
