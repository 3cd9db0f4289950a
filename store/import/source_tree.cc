#include "store/import/source_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <map>
#include <memory>

#include "store/base/names.h"

namespace re2po {
namespace fs = std::filesystem;
namespace {

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

Result<std::vector<std::string>> ListDirectory(const fs::path& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> handle(opendir(dir.c_str()), closedir);
  if (!handle) return Status::FromErrno(errno, "cannot read directory '" + dir.string() + "'");
  std::vector<std::string> names;
  while (dirent* entry = readdir(handle.get())) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status CheckReadable(const fs::path& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, "cannot read '" + path.string() + "'");
  close(fd);
  return Status::Ok();
}

class Scanner {
 public:
  Status ScanDirectory(const fs::path& dir, uint32_t index, const std::string& relative) {
    ASSIGN_OR_RETURN(auto names, ListDirectory(dir));
    for (const std::string& name : names) {
      std::string child_relative = relative.empty() ? name : relative + "/" + name;
      Status valid = ValidatePathComponent(name);
      if (!valid.ok()) return valid.WithContext("in '" + dir.string() + "'");
      RETURN_IF_ERROR(AddEntry(dir / name, index, name, child_relative));
    }
    return Status::Ok();
  }

  Status AddEntry(const fs::path& path, uint32_t parent, const std::string& name,
                  const std::string& relative) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0)
      return Status::FromErrno(errno, "cannot stat '" + path.string() + "'");
    TreeEntry entry;
    entry.name = name;
    entry.parent = parent;
    entry.mode = st.st_mode & 07777;
    entry.mtime_ns = MtimeNs(st);
    if (S_ISDIR(st.st_mode)) {
      entry.type = EntryType::kDirectory;
      tree_.entries.push_back(std::move(entry));
      return ScanDirectory(path, static_cast<uint32_t>(tree_.entries.size() - 1), relative);
    }
    if (S_ISREG(st.st_mode)) return AddFile(path, std::move(entry), st, relative);
    if (S_ISLNK(st.st_mode)) return AddSymlink(path, std::move(entry), relative);
    tree_.warnings.push_back("skipped '" + relative +
                             "': not a regular file, directory or symlink");
    return Status::Ok();
  }

  Status AddFile(const fs::path& path, TreeEntry entry, const struct stat& st,
                 const std::string& relative) {
    RETURN_IF_ERROR(CheckReadable(path));
    entry.type = EntryType::kFile;
    entry.size = static_cast<uint64_t>(st.st_size);
    tree_.total_bytes += entry.size;
    tree_.entries.push_back(std::move(entry));
    tree_.files.push_back({path, relative, static_cast<uint32_t>(tree_.entries.size() - 1)});
    return Status::Ok();
  }

  Status AddSymlink(const fs::path& path, TreeEntry entry, const std::string& relative) {
    std::error_code error;
    fs::path target = fs::read_symlink(path, error);
    if (error)
      return Status::FromErrno(error.value(), "cannot read symlink '" + path.string() + "'");
    std::string text = target.string();
    if (text.empty() || text.front() == '/') {
      return Status::InvalidArgument("refused symlink '" + relative + "' -> '" + text +
                                     "': absolute symlinks would point outside the version");
    }
    std::string link_dir =
        relative.substr(0, relative.rfind('/') == std::string::npos ? 0 : relative.rfind('/'));
    if (!SymlinkStaysInside(link_dir, text)) {
      return Status::InvalidArgument("refused symlink '" + relative + "' -> '" + text +
                                     "': it points outside the imported tree");
    }
    entry.type = EntryType::kSymlink;
    entry.mode = 0777;
    entry.size = text.size();
    entry.target = std::move(text);
    tree_.entries.push_back(std::move(entry));
    return Status::Ok();
  }

  SourceTree Take() { return std::move(tree_); }
  SourceTree& tree() { return tree_; }

 private:
  SourceTree tree_;
};

std::string RelativePathOf(const std::vector<TreeEntry>& entries, uint32_t index) {
  std::string path;
  while (index != 0) {
    path = path.empty() ? entries[index].name : entries[index].name + "/" + path;
    index = entries[index].parent;
  }
  return path;
}

// Lexical checks cannot see through a symlink: with `a/up -> ..`, the
// target `up/../..` of a/x stays inside on paper and leaves the tree on
// disk. So targets are resolved the way the kernel will: every symlink of
// the tree that a target passes through is replaced by its own target.
constexpr int kMaxSymlinkExpansions = 40;

std::deque<std::string> Components(const std::string& path) {
  std::deque<std::string> parts;
  for (size_t start = 0; start <= path.size();) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string joined;
  for (const auto& part : parts) joined += (joined.empty() ? "" : "/") + part;
  return joined;
}

bool ResolvesInside(const std::map<std::string, std::string>& symlinks, const std::string& dir,
                    const std::string& target) {
  std::vector<std::string> stack;
  for (auto& part : Components(dir)) {
    if (!part.empty()) stack.push_back(part);
  }
  std::deque<std::string> pending = Components(target);
  int expansions = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (stack.empty()) return false;
      stack.pop_back();
      continue;
    }
    stack.push_back(part);
    auto link = symlinks.find(Join(stack));
    if (link == symlinks.end() || pending.empty()) continue;
    if (++expansions > kMaxSymlinkExpansions || link->second.starts_with("/")) return false;
    stack.pop_back();
    std::deque<std::string> expanded = Components(link->second);
    pending.insert(pending.begin(), expanded.begin(), expanded.end());
  }
  return true;
}

Status CheckSymlinksResolveInside(const SourceTree& tree) {
  std::map<std::string, std::string> symlinks;
  for (uint32_t i = 1; i < tree.entries.size(); ++i) {
    if (tree.entries[i].type == EntryType::kSymlink) {
      symlinks[RelativePathOf(tree.entries, i)] = tree.entries[i].target;
    }
  }
  for (const auto& [link, target] : symlinks) {
    std::string dir = link.substr(0, link.rfind('/') == std::string::npos ? 0 : link.rfind('/'));
    if (!ResolvesInside(symlinks, dir, target)) {
      return Status::InvalidArgument("refused symlink '" + link + "' -> '" + target +
                                     "': through other symlinks of the tree it leads outside it");
    }
  }
  return Status::Ok();
}

}  // namespace

bool SymlinkStaysInside(const std::string& link_dir, const std::string& target) {
  std::vector<std::string_view> stack;
  auto walk = [&stack](std::string_view path) {
    while (!path.empty()) {
      size_t slash = path.find('/');
      std::string_view part = path.substr(0, slash);
      path = slash == std::string_view::npos ? "" : path.substr(slash + 1);
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (stack.empty()) return false;
        stack.pop_back();
      } else {
        stack.push_back(part);
      }
    }
    return true;
  };
  return walk(link_dir) && walk(target);
}

Result<SourceTree> ScanSource(const fs::path& source) {
  struct stat st {};
  if (stat(source.c_str(), &st) != 0) {
    return Status::FromErrno(errno, "cannot import '" + source.string() + "'");
  }
  Scanner scanner;
  TreeEntry root;
  root.type = EntryType::kDirectory;
  root.mode = S_ISDIR(st.st_mode) ? (st.st_mode & 07777) : 0755;
  root.mtime_ns = MtimeNs(st);
  scanner.tree().entries.push_back(root);
  if (S_ISDIR(st.st_mode)) {
    RETURN_IF_ERROR(scanner.ScanDirectory(source, 0, ""));
  } else if (S_ISREG(st.st_mode)) {
    std::string name = source.filename().string();
    RETURN_IF_ERROR(ValidatePathComponent(name));
    RETURN_IF_ERROR(scanner.AddEntry(source, 0, name, name));
  } else {
    return Status::InvalidArgument("cannot import '" + source.string() +
                                   "': not a regular file or directory");
  }
  SourceTree tree = scanner.Take();
  RETURN_IF_ERROR(CheckSymlinksResolveInside(tree));
  return tree;
}

}  // namespace re2po
