// Helpers for the packaging tests: reading the files under packaging/, a
// small systemd unit parser, the option names a CLI11 --help prints, and the
// .deb built once per build tree and extracted into a scratch root.
// Header-only: the test folder builds only *_test.cc files.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace stdfs = std::filesystem;

inline stdfs::path SourcePath(const std::string& relative) {
  return stdfs::path(RE2PO_SOURCE_DIR) / relative;
}

inline std::string ReadText(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The fields of the first fstab line in `doc` whose source is an s3:// URL
// (empty when there is none).
inline std::vector<std::string> RemoteFstabFields(const std::string& doc) {
  std::vector<std::string> fields;
  for (const std::string& line : Lines(ReadText(SourcePath(doc)))) {
    if (!line.starts_with("s3://") || line.find(" fuse.re2po ") == std::string::npos) continue;
    std::istringstream words(line);
    for (std::string word; words >> word;) fields.push_back(word);
    break;
  }
  return fields;
}

inline std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

// `which NAME` as a path, or "" when NAME is not installed.
inline std::string FindProgram(const std::string& name) {
  CommandResult found = RunCommand("command -v " + ShellQuote(name));
  return found.exit_code == 0 ? Trim(found.out) : "";
}

// A systemd unit file: section -> key -> values in order (keys may repeat).
using UnitFile = std::map<std::string, std::map<std::string, std::vector<std::string>>>;

inline UnitFile ParseUnit(const std::string& text) {
  UnitFile unit;
  std::string section;
  std::string pending;  // a line continued with a trailing backslash
  for (const std::string& raw : Lines(text)) {
    std::string line = pending + Trim(raw);
    pending.clear();
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.back() == '\\') {
      pending = line.substr(0, line.size() - 1) + " ";
      continue;
    }
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      unit[section];
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    unit[section][Trim(line.substr(0, eq))].push_back(Trim(line.substr(eq + 1)));
  }
  return unit;
}

// The single value of section/key, or "" (absent, or set more than once).
inline std::string UnitValue(const UnitFile& unit, const std::string& section,
                             const std::string& key) {
  auto s = unit.find(section);
  if (s == unit.end()) return "";
  auto k = s->second.find(key);
  return k != s->second.end() && k->second.size() == 1 ? k->second[0] : "";
}

// KEY=value assignments of an environment file or an Environment= line
// (space-separated, no quoting: what the packaged files use).
inline std::map<std::string, std::string> ParseAssignments(const std::string& text) {
  std::map<std::string, std::string> values;
  std::istringstream in(text);
  for (std::string word; in >> word;) {
    if (word[0] == '#') {
      std::string rest;
      std::getline(in, rest);
      continue;
    }
    const size_t eq = word.find('=');
    if (eq != std::string::npos) values[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return values;
}

// Splits a systemd command line into words the way systemd does for the
// forms the packaged units use: whitespace, single and double quotes,
// ${VAR} replaced whole by its value (one word), %f/%i by the instance.
inline std::vector<std::string> ExpandCommand(const std::string& line,
                                              const std::map<std::string, std::string>& env,
                                              const std::map<char, std::string>& specifiers) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
      continue;
    } else if (c == '$' && i + 1 < line.size() && line[i + 1] == '{') {
      const size_t close = line.find('}', i);
      auto value = env.find(line.substr(i + 2, close - i - 2));
      word += value == env.end() ? "" : value->second;
      i = close;
      in_word = true;
    } else if (c == '%' && i + 1 < line.size() && specifiers.contains(line[i + 1])) {
      word += specifiers.at(line[++i]);
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

// The long and short option names (--store, -o, ...) a CLI11 --help lists.
inline std::set<std::string> HelpOptions(const std::string& help) {
  std::set<std::string> options;
  static const std::regex kOption(R"((^|[ ,])(--?[A-Za-z][A-Za-z0-9-]*))");
  for (const std::string& line : Lines(help)) {
    const std::string text = Trim(line);
    if (text.empty() || text[0] != '-') continue;              // only the option rows
    const std::string names = text.substr(0, text.find(' '));  // "-l,--label"
    for (std::sregex_iterator it(names.begin(), names.end(), kOption), end; it != end; ++it) {
      options.insert((*it)[2]);
    }
  }
  return options;
}

// The subcommand names a CLI11 --help lists under "Subcommands:".
inline std::vector<std::string> HelpSubcommands(const std::string& help) {
  std::vector<std::string> names;
  bool in_list = false;
  for (const std::string& line : Lines(help)) {
    if (line.starts_with("Subcommands:")) {
      in_list = true;
    } else if (in_list && !Trim(line).empty()) {
      names.push_back(Trim(line).substr(0, Trim(line).find(' ')));
    } else if (in_list) {
      break;
    }
  }
  return names;
}

inline stdfs::file_time_type NewestInput() {
  stdfs::file_time_type newest{};
  auto consider = [&](const stdfs::path& path) {
    std::error_code ec;
    auto time = stdfs::last_write_time(path, ec);
    if (!ec && time > newest) newest = time;
  };
  consider(BuiltTool("re2po"));
  consider(BuiltTool("mount.re2po"));
  consider(SourcePath("docs/operations.md"));
  consider(SourcePath("docs/remote.md"));
  for (const auto& entry : stdfs::recursive_directory_iterator(SourcePath("packaging"))) {
    consider(entry.path());
  }
  return newest;
}

// The package version CPack was configured with (CPackConfig.cmake).
inline std::string ConfiguredPackageVersion() {
  static const std::regex kVersion(R"re(set\(CPACK_PACKAGE_VERSION "([^"]+)"\))re");
  const std::string config = ReadText(stdfs::path(RE2PO_BINARY_DIR) / "CPackConfig.cmake");
  std::smatch match;
  return std::regex_search(config, match, kVersion) ? match[1].str() : "";
}

// The package, built by `cpack` with the build tree's CPackConfig.cmake from
// the binaries already built, into <build>/packaging/test-deb/ once, and
// again only when a binary or a file under packaging/ is newer. Returns the
// .deb path, or "" with `error` set.
inline stdfs::path BuiltPackage(std::string& error) {
  const stdfs::path dir = stdfs::path(RE2PO_BINARY_DIR) / "packaging" / "test-deb";
  stdfs::create_directories(dir);
  FileLock lock(dir.parent_path() / "test-deb.lock");
  const std::string arch = Trim(RunCommand("dpkg --print-architecture").out);
  const stdfs::path deb = dir / ("re2po_" + ConfiguredPackageVersion() + "_" + arch + ".deb");
  if (stdfs::exists(deb) && stdfs::last_write_time(deb) > NewestInput()) return deb;
  // CPACK_CMAKE_GENERATOR=Ninja: a generator without a "preinstall" step, so
  // cpack packages the binaries as built instead of first building every
  // target of the tree; the install itself (cmake_install.cmake) is the same.
  const stdfs::path work = dir / "work";
  const std::string name = deb.filename().string();
  CommandResult built = RunCommand("cd " + ShellQuote(RE2PO_BINARY_DIR) +
                                   " && cpack -G DEB -D CPACK_CMAKE_GENERATOR=Ninja -B " +
                                   ShellQuote(work.string()) + " 2>&1");
  if (built.exit_code != 0 || !stdfs::exists(work / name)) {
    error = "cpack did not write " + (work / name).string() + " (exit " +
            std::to_string(built.exit_code) + "):\n" + built.out + built.err;
    return "";
  }
  stdfs::rename(work / name, deb);  // atomic: a test reading the old one keeps it
  return deb;
}

}  // namespace re2po::testing
