#include "store/fleet/signed_catalog.h"

#include <cstring>

#include "store/base/coding.h"
#include "store/fleet/remote_keys.h"

namespace re2po {
namespace {

constexpr std::string_view kMagic = "R2SG";
constexpr uint8_t kFormat = 1;
constexpr uint8_t kFormatWithAccess = 2;
constexpr std::string_view kSignedContext = "re2po signed catalog v1";

std::string SignedMessage(SignedKind kind, std::string_view body) {
  std::string message(kSignedContext);
  message.push_back(static_cast<char>(kind));
  message.append(body);
  return message;
}

void EncodeEntry(const CatalogEntry& entry, bool with_origin, std::string& out) {
  PutLengthPrefixed(out, entry.model);
  PutVarint(out, entry.version);
  out.append(entry.object.view());
  PutVarint(out, entry.object_size);
  if (with_origin) PutLengthPrefixed(out, entry.origin);
}

Status DecodeEntry(Decoder& decoder, bool with_origin, CatalogEntry& entry) {
  RETURN_IF_ERROR(decoder.GetString(entry.model));
  RETURN_IF_ERROR(decoder.GetVarint(entry.version));
  RETURN_IF_ERROR(decoder.GetDigest(entry.object));
  RETURN_IF_ERROR(decoder.GetVarint(entry.object_size));
  if (with_origin) {
    RETURN_IF_ERROR(decoder.GetString(entry.origin));
    if (!remote_keys::IsLogRecord(entry.origin)) {
      return Status::Corruption("catalog entry names a malformed log record");
    }
  }
  return Status::Ok();
}

Status DecodeEntries(Decoder& decoder, bool with_origin, std::vector<CatalogEntry>& entries) {
  uint64_t count = 0;
  RETURN_IF_ERROR(decoder.GetCount(35, count));
  entries.resize(count);
  for (CatalogEntry& entry : entries) RETURN_IF_ERROR(DecodeEntry(decoder, with_origin, entry));
  return Status::Ok();
}

// In a log record set_ms and origin are the record's own: only model and access.
void EncodeAccess(const std::vector<AccessEntry>& access, bool in_head, std::string& out) {
  PutVarint(out, access.size());
  for (const AccessEntry& entry : access) {
    if (in_head) {
      entry.EncodeTo(out);
      continue;
    }
    PutLengthPrefixed(out, entry.model);
    entry.access.EncodeTo(out);
  }
}

Status DecodeAccess(Decoder& decoder, bool in_head, std::vector<AccessEntry>& access) {
  uint64_t count = 0;
  RETURN_IF_ERROR(decoder.GetCount(2, count));
  access.resize(count);
  for (AccessEntry& entry : access) {
    if (in_head) {
      ASSIGN_OR_RETURN(entry, AccessEntry::DecodeFrom(decoder));
      continue;
    }
    RETURN_IF_ERROR(decoder.GetString(entry.model));
    ASSIGN_OR_RETURN(entry.access, ModelAccess::DecodeFrom(decoder));
  }
  return Status::Ok();
}

Status CheckFormat(uint8_t format, std::string_view what) {
  if (format == kFormat || format == kFormatWithAccess) return Status::Ok();
  return Status::Unsupported(std::string(what) + " format " + std::to_string(format));
}

Status Finished(const Decoder& decoder) {
  return decoder.done() ? Status::Ok() : Status::Corruption("catalog object has trailing bytes");
}

}  // namespace

void AccessEntry::EncodeTo(std::string& out) const {
  PutLengthPrefixed(out, model);
  access.EncodeTo(out);
  PutVarint(out, ZigZag(set_ms));
  PutLengthPrefixed(out, origin);
}

Result<AccessEntry> AccessEntry::DecodeFrom(Decoder& decoder) {
  AccessEntry entry;
  uint64_t set = 0;
  RETURN_IF_ERROR(decoder.GetString(entry.model));
  ASSIGN_OR_RETURN(entry.access, ModelAccess::DecodeFrom(decoder));
  RETURN_IF_ERROR(decoder.GetVarint(set));
  entry.set_ms = UnZigZag(set);
  RETURN_IF_ERROR(decoder.GetString(entry.origin));
  if (!remote_keys::IsLogRecord(entry.origin)) {
    return Status::Corruption("catalog access names a malformed log record");
  }
  return entry;
}

std::string LogRecord::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(access.empty() ? kFormat : kFormatWithAccess));
  PutVarint(out, ZigZag(time_ms));
  PutVarint(out, added.size());
  for (const CatalogEntry& entry : added) EncodeEntry(entry, /*with_origin=*/false, out);
  if (!access.empty()) EncodeAccess(access, /*in_head=*/false, out);
  return out;
}

Result<LogRecord> LogRecord::Decode(std::string_view body) {
  Decoder decoder(body, "log record");
  uint8_t format = 0;
  uint64_t time = 0;
  RETURN_IF_ERROR(decoder.GetByte(format));
  RETURN_IF_ERROR(CheckFormat(format, "log record"));
  LogRecord record;
  RETURN_IF_ERROR(decoder.GetVarint(time));
  record.time_ms = UnZigZag(time);
  RETURN_IF_ERROR(DecodeEntries(decoder, /*with_origin=*/false, record.added));
  if (format == kFormatWithAccess) {
    RETURN_IF_ERROR(DecodeAccess(decoder, /*in_head=*/false, record.access));
  }
  RETURN_IF_ERROR(Finished(decoder));
  return record;
}

std::string CatalogHead::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(access.empty() ? kFormat : kFormatWithAccess));
  PutVarint(out, generation);
  PutVarint(out, ZigZag(time_ms));
  PutVarint(out, records.size());
  for (const std::string& record : records) PutLengthPrefixed(out, record);
  PutVarint(out, entries.size());
  for (const CatalogEntry& entry : entries) EncodeEntry(entry, /*with_origin=*/true, out);
  if (!access.empty()) EncodeAccess(access, /*in_head=*/true, out);
  return out;
}

Result<CatalogHead> CatalogHead::Decode(std::string_view body) {
  Decoder decoder(body, "catalog head");
  uint8_t format = 0;
  uint64_t time = 0;
  uint64_t record_count = 0;
  RETURN_IF_ERROR(decoder.GetByte(format));
  RETURN_IF_ERROR(CheckFormat(format, "catalog head"));
  CatalogHead head;
  RETURN_IF_ERROR(decoder.GetVarint(head.generation));
  RETURN_IF_ERROR(decoder.GetVarint(time));
  head.time_ms = UnZigZag(time);
  RETURN_IF_ERROR(decoder.GetCount(1, record_count));
  head.records.resize(record_count);
  for (std::string& record : head.records) {
    RETURN_IF_ERROR(decoder.GetString(record));
    if (!remote_keys::IsLogRecord(record)) {
      return Status::Corruption("catalog head names a malformed log record");
    }
  }
  RETURN_IF_ERROR(DecodeEntries(decoder, /*with_origin=*/true, head.entries));
  if (format == kFormatWithAccess) {
    RETURN_IF_ERROR(DecodeAccess(decoder, /*in_head=*/true, head.access));
  }
  RETURN_IF_ERROR(Finished(decoder));
  return head;
}

Result<std::string> SealCatalogObject(SignedKind kind, std::string_view body,
                                      const SigningKey* key) {
  std::string out(kMagic);
  out.push_back(static_cast<char>(kFormat));
  out.push_back(static_cast<char>(kind));
  PutLengthPrefixed(out, body);
  if (key == nullptr) {
    PutLengthPrefixed(out, "");
    PutLengthPrefixed(out, "");
    return out;
  }
  ASSIGN_OR_RETURN(std::string signature, key->Sign(SignedMessage(kind, body)));
  PutLengthPrefixed(out, key->public_key().raw());
  PutLengthPrefixed(out, signature);
  return out;
}

Result<OpenedCatalogObject> OpenCatalogObject(SignedKind kind, std::string_view bytes,
                                              const PublicKey* trust) {
  if (!bytes.starts_with(kMagic)) return Status::Corruption("not a re2po catalog object");
  Decoder decoder(bytes.substr(kMagic.size()), "catalog object");
  uint8_t format = 0;
  uint8_t got_kind = 0;
  std::string_view body;
  std::string_view signer;
  std::string_view signature;
  RETURN_IF_ERROR(decoder.GetByte(format));
  RETURN_IF_ERROR(decoder.GetByte(got_kind));
  if (format != kFormat)
    return Status::Unsupported("catalog object format " + std::to_string(format));
  if (got_kind != static_cast<uint8_t>(kind))
    return Status::Corruption("catalog object of another kind");
  RETURN_IF_ERROR(decoder.GetLengthPrefixed(body));
  RETURN_IF_ERROR(decoder.GetLengthPrefixed(signer));
  RETURN_IF_ERROR(decoder.GetLengthPrefixed(signature));
  RETURN_IF_ERROR(Finished(decoder));
  OpenedCatalogObject opened{std::string(body), ""};
  Result<PublicKey> signer_key = PublicKey::FromRaw(signer);
  if (signer_key.ok()) opened.signer = signer_key->Id();
  if (trust == nullptr) return opened;
  if (signer.empty()) return Status::PermissionDenied("unsigned, but a signed catalog is required");
  if (!signer_key.ok() || signer_key->raw() != trust->raw()) {
    return Status::PermissionDenied("signed by key " +
                                    (signer_key.ok() ? signer_key->Id() : std::string("?")) +
                                    ", not by the trusted key " + trust->Id());
  }
  if (!trust->Verify(SignedMessage(kind, body), signature)) {
    return Status::PermissionDenied("its signature does not verify with the trusted key " +
                                    trust->Id());
  }
  return opened;
}

}  // namespace re2po
