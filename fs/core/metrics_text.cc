#include "fs/core/metrics_text.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace re2po::fs {
namespace {

std::string Number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  return ec == std::errc() ? std::string(text, end) : "NaN";
}

std::string EscapeLabel(std::string_view value) {
  std::string escaped;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      escaped += '\\';
      escaped += c;
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

// Writes families: a HELP and a TYPE line, then the samples.
class Exposition {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    text_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    text_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }
  void Sample(std::string_view name, double value, std::string_view labels = "") {
    text_.append(name);
    if (!labels.empty()) text_.append("{").append(labels).append("}");
    text_.append(" ").append(Number(value)).append("\n");
  }
  void Counter(std::string_view name, std::string_view help, uint64_t value) {
    Family(name, "counter", help);
    Sample(name, static_cast<double>(value));
  }
  void Gauge(std::string_view name, std::string_view help, double value) {
    Family(name, "gauge", help);
    Sample(name, value);
  }
  // A histogram observed in nanoseconds, shown in seconds.
  void Seconds(const std::string& name, std::string_view help, const HistogramSnapshot& ns) {
    Family(name, "histogram", help);
    for (size_t i = 0; i < ns.bounds.size(); ++i) {
      Sample(name + "_bucket", static_cast<double>(ns.cumulative[i]),
             "le=\"" + Number(static_cast<double>(ns.bounds[i]) / 1e9) + "\"");
    }
    Sample(name + "_bucket", static_cast<double>(ns.count()), "le=\"+Inf\"");
    Sample(name + "_sum", static_cast<double>(ns.sum) / 1e9);
    Sample(name + "_count", static_cast<double>(ns.count()));
  }
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

void WriteFuse(Exposition& out, const MetricsSample& sample) {
  out.Family("re2po_fuse_requests_total", "counter", "FUSE requests received, by operation.");
  for (size_t op = 0; op < kFuseOpCount; ++op) {
    out.Sample("re2po_fuse_requests_total", static_cast<double>(sample.requests[op]),
               "operation=\"" + std::string(FuseOpName(static_cast<FuseOp>(op))) + "\"");
  }
  out.Family("re2po_fuse_reply_bytes_total", "counter",
             "Bytes replied, by operation (file data for read, entries for readdir).");
  for (size_t op = 0; op < kFuseOpCount; ++op) {
    out.Sample("re2po_fuse_reply_bytes_total", static_cast<double>(sample.bytes[op]),
               "operation=\"" + std::string(FuseOpName(static_cast<FuseOp>(op))) + "\"");
  }
  out.Seconds("re2po_fuse_read_duration_seconds",
              "Time from a read request to its reply, in seconds.", sample.read_ns);
  out.Family("re2po_fuse_eio_replies_total", "counter",
             "Requests answered EIO, by cause (corrupt_chunk, remote_timeout, "
             "remote_unavailable, missing_key, other).");
  for (size_t cause = 0; cause < kEioCauseCount; ++cause) {
    out.Sample("re2po_fuse_eio_replies_total", static_cast<double>(sample.eio[cause]),
               "cause=\"" + std::string(EioCauseName(static_cast<EioCause>(cause))) + "\"");
  }
  out.Family("re2po_model_opens_total", "counter",
             "Opens of model files, by model (past 1000 models, the rest as model=\"_other\").");
  for (const auto& [model, opens] : sample.model_opens) {
    out.Sample("re2po_model_opens_total", static_cast<double>(opens),
               "model=\"" + EscapeLabel(model) + "\"");
  }
}

void WriteCache(Exposition& out, const StoreCounters& store) {
  out.Counter("re2po_chunk_cache_hits_total",
              "Chunk lookups (reads and read-ahead) served from decoded chunks in memory.",
              store.cache_hits);
  out.Counter("re2po_chunk_cache_misses_total", "Chunk lookups that had to fetch the chunk.",
              store.cache_misses);
  out.Counter("re2po_chunk_cache_evictions_total",
              "Chunks dropped from memory to stay within cache_size.", store.cache_evictions);
  out.Gauge("re2po_chunk_cache_bytes", "Memory held by decoded chunks.",
            static_cast<double>(store.cache_bytes));
  out.Gauge("re2po_chunk_cache_capacity_bytes", "The bound on re2po_chunk_cache_bytes.",
            static_cast<double>(store.cache_capacity_bytes));
}

void WriteStore(Exposition& out, const MetricsSample& sample) {
  const StoreCounters& store = sample.store;
  out.Family("re2po_store_info", "gauge", "The store mounted: kind is local or remote (a node).");
  out.Sample("re2po_store_info", 1, "kind=\"" + EscapeLabel(sample.store_kind) + "\"");
  out.Counter("re2po_store_fetches_total",
              "Chunks fetched from this machine's storage (the store's database or a node's "
              "disk cache): read, checked and decoded.",
              store.fetches);
  out.Counter("re2po_store_fetch_bytes_total", "Bytes of those chunks as stored (compressed).",
              store.fetch_bytes);
  out.Counter("re2po_store_fetch_errors_total", "Chunk fetches that failed.", store.fetch_errors);
  out.Seconds("re2po_store_fetch_duration_seconds", "Time to fetch, check and decode a chunk.",
              store.fetch_seconds);
  if (sample.store_kind != "remote") return;
  out.Counter("re2po_remote_requests_total", "Requests sent to the remote, retries included.",
              store.remote_requests);
  out.Counter("re2po_remote_received_bytes_total", "Bytes received from the remote.",
              store.remote_bytes);
  out.Counter("re2po_remote_errors_total", "Remote calls that failed after their retries.",
              store.remote_errors);
  out.Counter("re2po_remote_retries_total", "Remote requests retried.", store.remote_retries);
  out.Seconds("re2po_remote_fetch_duration_seconds", "Time to fetch chunks from the remote.",
              store.remote_fetch_seconds);
  out.Gauge("re2po_node_cache_bytes", "Bytes held by the node's disk cache.",
            static_cast<double>(store.disk_cache_bytes));
  out.Gauge("re2po_node_cache_limit_bytes", "The bound on the node's disk cache.",
            static_cast<double>(store.disk_cache_limit_bytes));
}

void WriteBackground(Exposition& out, const MetricsSample& sample) {
  out.Gauge("re2po_catalog_generation", "The catalog generation the mount shows.",
            static_cast<double>(sample.catalog_generation));
  out.Gauge("re2po_catalog_refresh_age_seconds",
            "Seconds since the mount last caught up with the store.", sample.catalog_age_seconds);
  out.Counter("re2po_catalog_refresh_failures_total", "Catalog refreshes that failed.",
              sample.refresh_failures);
  out.Counter("re2po_readahead_queued_chunks_total", "Chunks queued for read-ahead.",
              sample.readahead.queued);
  out.Counter("re2po_readahead_fetched_chunks_total",
              "Chunks read ahead into the cache (or found there).", sample.readahead.fetched);
  out.Counter("re2po_readahead_dropped_chunks_total",
              "Chunks not read ahead because the queue was full.", sample.readahead.dropped);
  if (!sample.access_log) return;
  out.Counter("re2po_access_log_records_total", "Access log records written.",
              sample.access_records);
  out.Counter("re2po_access_log_lost_records_total",
              "Access log records dropped (queue full or write failed).", sample.access_lost);
}

}  // namespace

std::string MetricsText(const MetricsSample& sample) {
  Exposition out;
  WriteFuse(out, sample);
  WriteCache(out, sample.store);
  WriteStore(out, sample);
  WriteBackground(out, sample);
  return out.Take();
}

ScrapedMetrics ScrapedMetrics::Parse(std::string_view text) {
  ScrapedMetrics parsed;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? "" : text.substr(end + 1);
    if (line.empty() || line[0] == '#') continue;
    const size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) continue;
    std::string name(line.substr(0, name_end));
    Labels labels;
    size_t at = name_end;
    if (line[at] == '{') {
      // name="value" pairs; values may hold escaped quotes.
      ++at;
      while (at < line.size() && line[at] != '}') {
        const size_t eq = line.find("=\"", at);
        if (eq == std::string_view::npos) break;
        std::string key(line.substr(at, eq - at));
        std::string value;
        size_t i = eq + 2;
        for (; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
        }
        labels[key] = value;
        at = i + 1;
        if (at < line.size() && line[at] == ',') ++at;
      }
      ++at;
    }
    const std::string value_text(line.substr(std::min(at, line.size())));
    char* parsed_end = nullptr;
    const double value = std::strtod(value_text.c_str(), &parsed_end);
    if (parsed_end == value_text.c_str()) continue;
    parsed.samples_.emplace(std::move(name), std::make_pair(std::move(labels), value));
  }
  return parsed;
}

double ScrapedMetrics::Value(std::string_view name, const Labels& labels) const {
  auto [first, last] = samples_.equal_range(name);
  for (auto it = first; it != last; ++it) {
    if (it->second.first == labels) return it->second.second;
  }
  return 0;
}

double ScrapedMetrics::Sum(std::string_view name) const {
  double sum = 0;
  auto [first, last] = samples_.equal_range(name);
  for (auto it = first; it != last; ++it) sum += it->second.second;
  return sum;
}

std::vector<std::pair<ScrapedMetrics::Labels, double>> ScrapedMetrics::Series(
    std::string_view name) const {
  std::vector<std::pair<Labels, double>> series;
  auto [first, last] = samples_.equal_range(name);
  for (auto it = first; it != last; ++it) series.push_back(it->second);
  return series;
}

bool ScrapedMetrics::Has(std::string_view name) const { return samples_.contains(name); }

}  // namespace re2po::fs
